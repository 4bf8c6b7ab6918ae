// convmat._convmat: the compiled core of the Python package convmat (python/convmat/).
//
// The package's public functions (convmat.conv2d, convmat.onnx_conv, convmat.conv_matrix, …) are
// thin Python wrappers: they turn "int or tuple" arguments into lists, resolve the layer with the
// PyTorch/ONNX rules of layer_args.hpp bound here, and call forward / layer_matrix. Errors:
// std::invalid_argument → ValueError (pybind11's translation, the C++ message unchanged), wrong
// dtypes → TypeError.

#include "bindings.hpp"

PYBIND11_MODULE(_convmat, m) {
  m.doc() = "convmat's C++ core (use the convmat package, not this module directly)";
  convmat::python::bind_layers(m);
  convmat::python::bind_matrices(m);
}

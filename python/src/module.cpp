// convmat._convmat: the compiled core of the Python package convmat (python/convmat/).
//
// The package's public functions (convmat.conv2d, convmat.onnx_conv, convmat.conv_matrix, …) are
// thin Python wrappers: they turn "int or tuple" arguments into lists, resolve the layer through
// the op table of layer_ops.hpp bound here, and call forward / layer_matrix. Errors:
// std::invalid_argument → ValueError (pybind11's translation, the C++ message unchanged),
// convmat::MemoryLimitExceeded → convmat.MemoryLimitExceeded (a MemoryError), wrong
// dtypes → TypeError.

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/memory_limit.hpp"

PYBIND11_MODULE(_convmat, m) {
  m.doc() = "convmat's C++ core (use the convmat package, not this module directly)";
  pybind11::register_exception<convmat::MemoryLimitExceeded>(m, "MemoryLimitExceeded",
                                                             PyExc_MemoryError);
  m.def("set_memory_limit", &convmat::python::set_memory_limit, pybind11::arg("bytes"));
  m.def("memory_limit", &convmat::python::memory_limit_bytes);
  convmat::python::bind_layers(m);
  convmat::python::bind_matrices(m);
  convmat::python::bind_analysis(m);
  convmat::python::bind_identities(m);
  convmat::python::bind_oracle(m);
  convmat::python::bind_solvers(m);
  convmat::python::bind_fields(m);
}

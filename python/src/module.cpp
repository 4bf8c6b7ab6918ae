// convmat._convmat: the compiled core of the Python package convmat (python/convmat/).
//
// The package's public functions (convmat.conv2d, convmat.onnx_conv, convmat.conv_matrix, …) are
// thin Python wrappers: they turn "int or tuple" arguments into lists, resolve the layer through
// the op table of layer_ops.hpp bound here, and call forward / layer_matrix. Errors:
// std::invalid_argument → ValueError (pybind11's translation, the C++ message unchanged),
// convmat::MemoryLimitExceeded → convmat.MemoryLimitExceeded (a MemoryError),
// convmat::EmptyOutput (xla_conv's empty output) → _convmat.EmptyOutput (a ValueError with the
// output's shape as `shape`), wrong dtypes → TypeError.

#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/core/xla.hpp"

PYBIND11_MODULE(_convmat, m) {
  m.doc() = "convmat's C++ core (use the convmat package, not this module directly)";
  m.attr("__version__") = CONVMAT_VERSION;  // the project's version, from CMake
  pybind11::register_exception<convmat::MemoryLimitExceeded>(m, "MemoryLimitExceeded",
                                                             PyExc_MemoryError);
  // The type lives as long as the module (pybind11 2.10's pattern for a translator's type).
  static const pybind11::exception<convmat::EmptyOutput> empty_output(m, "EmptyOutput",
                                                                      PyExc_ValueError);
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const convmat::EmptyOutput& e) {
      const pybind11::object type = pybind11::reinterpret_borrow<pybind11::object>(empty_output);
      pybind11::object error = type(e.what());
      error.attr("shape") = pybind11::tuple(pybind11::cast(e.shape));
      PyErr_SetObject(type.ptr(), error.ptr());
    }
  });
  m.def("set_memory_limit", &convmat::python::set_memory_limit, pybind11::arg("bytes"));
  m.def("memory_limit", &convmat::python::memory_limit_bytes);
  convmat::python::bind_layers(m);
  convmat::python::bind_matrices(m);
  convmat::python::bind_analysis(m);
  convmat::python::bind_identities(m);
  convmat::python::bind_oracle(m);
  convmat::python::bind_solvers(m);
  convmat::python::bind_fields(m);
  convmat::python::bind_quantized(m);
  convmat::python::bind_layer(m);
}

#include "arrays.hpp"

#include <optional>

namespace convmat::python {

namespace {

// float32 / float64 in native byte order (PyArray_EquivTypes, through array_t's check).
std::optional<Dtype> float_dtype(const py::array& a) {
  if (py::isinstance<py::array_t<float>>(a)) return Dtype::float32;
  if (py::isinstance<py::array_t<double>>(a)) return Dtype::float64;
  return std::nullopt;
}

}  // namespace

Dims shape_of(const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); }

std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

Dtype common_dtype(const std::string& op,
                   std::initializer_list<std::pair<const char*, const py::array*>> arrays) {
  const auto& [first_name, first] = *arrays.begin();
  const std::optional<Dtype> dtype = float_dtype(*first);
  if (!dtype) {
    throw py::type_error(op + ": " + first_name + " has dtype " + dtype_name(*first) +
                         ", but convmat computes in float32 or float64 (convert it with "
                         ".astype(numpy.float64) or .astype(numpy.float32))");
  }
  for (const auto& [name, array] : arrays) {
    if (array != nullptr && float_dtype(*array) != dtype) {
      throw py::type_error(op + ": " + name + " has dtype " + dtype_name(*array) + " but " +
                           first_name + " has dtype " + dtype_name(*first) +
                           "; they must have the same dtype (float32 or float64)");
    }
  }
  return *dtype;
}

}  // namespace convmat::python

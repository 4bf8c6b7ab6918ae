#pragma once
// NumPy ⇄ convmat at the module boundary: dtype dispatch, C-contiguous views, and 1-D arrays that
// view memory owned by a C++ object (no copy).
//
// convmat computes in float32 or float64. Every array argument must have one of those dtypes and
// all the arrays of one call the same one (PyTorch's rule: no implicit promotion); anything else
// raises TypeError naming the operation and the dtypes.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>

#include "convmat/conv_spec.hpp"

namespace convmat::python {

namespace py = pybind11;

enum class Dtype { float32, float64 };

// a.shape as Dims.
Dims shape_of(const py::array& a);

// "float64", "int32", "<U3", …: a dtype as NumPy prints it.
std::string dtype_name(const py::array& a);

// The common dtype of `arrays` (name → array; null arrays are skipped), the first one deciding.
// TypeError if it is not float32/float64 or if another array's dtype differs.
Dtype common_dtype(const std::string& op,
                   std::initializer_list<std::pair<const char*, const py::array*>> arrays);

// Calls f(Scalar{}) with Scalar = float or double.
template <class F>
decltype(auto) dispatch(Dtype dtype, F&& f) {
  if (dtype == Dtype::float32) return std::forward<F>(f)(float{});
  return std::forward<F>(f)(double{});
}

// `a` as a C-contiguous array of Scalar: the same array when it already is one (the usual case),
// otherwise one copy. The dtype must already be Scalar's (common_dtype checked it).
template <class Scalar>
py::array_t<Scalar, py::array::c_style> c_contiguous(const py::array& a) {
  auto c = py::array_t<Scalar, py::array::c_style>::ensure(a);
  if (!c) throw py::error_already_set();
  return c;
}

// A 1-D array viewing data[0 .. n) without copying; `owner` (a capsule holding the C++ object
// that owns the memory) stays alive as long as the array does.
template <class T>
py::array view(const T* data, Index n, const py::capsule& owner) {
  return py::array_t<T>({static_cast<py::ssize_t>(n)}, {static_cast<py::ssize_t>(sizeof(T))}, data,
                        owner);
}

// A capsule that takes over `held` and deletes it when collected: the owner for view().
template <class T>
py::capsule capsule_owning(std::unique_ptr<T> held) {
  py::capsule owner(held.get(), [](void* p) { delete static_cast<T*>(p); });
  held.release();
  return owner;
}

}  // namespace convmat::python

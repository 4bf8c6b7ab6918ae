#pragma once
// NumPy ⇄ convmat at the module boundary: dtype dispatch, C-contiguous views, and 1-D arrays that
// view memory owned by a C++ object (no copy).
//
// convmat computes in float32 or float64. Every array argument must have one of those dtypes and
// all the arrays of one call the same one (PyTorch's rule: no implicit promotion); anything else
// raises TypeError naming the operation and the dtypes.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/conv_storage.hpp"
#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/memory_limit.hpp"

namespace convmat::python {

namespace py = pybind11;

enum class Dtype { float32, float64 };

// a.shape as Dims.
Dims shape_of(const py::array& a);

// "float64", "int32", "<U3", …: a dtype as NumPy prints it.
std::string dtype_name(const py::array& a);

// The module's memory guard (convmat/memory_limit.hpp): MemoryLimitExceeded (Python's
// MemoryError) when W for `spec`, `value_bytes` per value, plus `array_bytes` would pass the
// limit that convmat.set_memory_limit sets (default: half the physical memory).
void require_memory(const ConvSpec& spec, std::uint64_t array_bytes, std::size_t value_bytes,
                    ConvStorage storage = ConvStorage::csr);
void set_memory_limit(std::optional<std::uint64_t> bytes);  // none: back to the default
std::uint64_t memory_limit_bytes();
// The limit itself, for the library's other guards (solver_memory.hpp, require_oracle_memory).
const MemoryLimit& memory_limit();

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

// Throws std::invalid_argument "<op>: <name> of shape AxB does not match the layer <spec>, which
// needs CxD" unless a's shape is `expected` (e.g. spec.weight_shape()).
void require_shape(const std::string& op, const char* name, const py::array& a,
                   const Dims& expected, const ConvSpec& spec);

// Sparse matrices cross the boundary as scipy's CSR arrays (data, indices, indptr) and a shape,
// indices and indptr int32 (scipy's choice below 2³¹ nonzeros; the Python side converts).
template <class Scalar>
using EigenCsr = typename CsrMatrix<Scalar>::RowMajorEigen;

// The CSR arrays of a rows × cols matrix → Eigen (one copy; the column indices of a row must be
// sorted and unique, which scipy's sum_duplicates() and sort_indices() ensure). data must have
// dtype Scalar, indices and indptr int32. Checks the array sizes, indptr's monotonicity and the
// column range: std::invalid_argument naming `what` otherwise.
template <class Scalar>
EigenCsr<Scalar> csr_from_arrays(const std::string& what, const py::array& data,
                                 const py::array& indices, const py::array& indptr, Index rows,
                                 Index cols);

// (data, indices, indptr, (rows, cols)) viewing the arrays of `m`, which the arrays then own (a
// capsule; Eigen 3.4's SparseMatrix has no move constructor, so `m` is swapped out, left empty).
template <class Scalar>
py::tuple csr_arrays(EigenCsr<Scalar>& m) {
  auto held = std::make_unique<EigenCsr<Scalar>>();
  m.makeCompressed();
  held->swap(m);
  const EigenCsr<Scalar>& csr = *held;
  const py::tuple shape = py::make_tuple(csr.rows(), csr.cols());
  const py::capsule owner = capsule_owning(std::move(held));
  return py::make_tuple(view(csr.valuePtr(), csr.nonZeros(), owner),
                        view(csr.innerIndexPtr(), csr.nonZeros(), owner),
                        view(csr.outerIndexPtr(), csr.rows() + 1, owner), shape);
}

// A std::vector handed to NumPy without a copy, reshaped to `shape` (C order).
template <class T>
py::array array_from(std::vector<T>&& values, const Dims& shape) {
  auto held = std::make_unique<std::vector<T>>(std::move(values));
  const T* data = held->data();
  const Index n = static_cast<Index>(held->size());
  const py::capsule owner = capsule_owning(std::move(held));
  py::tuple dims(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) dims[i] = py::int_(shape[i]);
  return view(data, n, owner).attr("reshape")(dims);
}

}  // namespace convmat::python

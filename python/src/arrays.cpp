#include "arrays.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>

#include "convmat/core/memory_limit.hpp"

namespace convmat::python {

namespace {

// float32 / float64 in native byte order (PyArray_EquivTypes, through array_t's check).
std::optional<Dtype> float_dtype(const py::array& a) {
  if (py::isinstance<py::array_t<float>>(a)) return Dtype::float32;
  if (py::isinstance<py::array_t<double>>(a)) return Dtype::float64;
  return std::nullopt;
}

// The limit of convmat.set_memory_limit, with the advice its message gives.
MemoryLimit& python_memory_limit() {
  static MemoryLimit limit = [] {
    MemoryLimit m = default_memory_limit();
    m.raise = "raise it with convmat.set_memory_limit(bytes) if the machine can hold it";
    m.method_format = "method='{}'";
    return m;
  }();
  return limit;
}

}  // namespace

void require_memory(const ConvSpec& spec, std::uint64_t array_bytes, std::size_t value_bytes,
                    ConvStorage storage) {
  convmat::require_memory(python_memory_limit(), spec, array_bytes, value_bytes, storage);
}

void set_memory_limit(std::optional<std::uint64_t> bytes) {
  MemoryLimit& limit = python_memory_limit();
  if (!bytes) {
    MemoryLimit reset = default_memory_limit();
    reset.raise = limit.raise;
    reset.method_format = limit.method_format;
    limit = reset;
    return;
  }
  if (*bytes == 0) throw std::invalid_argument("set_memory_limit: the limit must be > 0 bytes");
  limit.bytes = *bytes;
  limit.source = "convmat.set_memory_limit(" + std::to_string(*bytes) + ")";
}

std::uint64_t memory_limit_bytes() { return python_memory_limit().bytes; }

const MemoryLimit& memory_limit() { return python_memory_limit(); }

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

void require_shape(const std::string& op, const char* name, const py::array& a,
                   const Dims& expected, const ConvSpec& spec) {
  if (shape_of(a) != expected) {
    throw std::invalid_argument(op + ": " + name + " of shape " + dims_to_string(shape_of(a)) +
                                " does not match the layer " + spec.to_string() + ", which needs " +
                                dims_to_string(expected));
  }
}

template <class Scalar>
EigenCsr<Scalar> csr_from_arrays(const std::string& what, const py::array& data,
                                 const py::array& indices, const py::array& indptr, Index rows,
                                 Index cols) {
  const auto values = c_contiguous<Scalar>(data);
  const auto inner = py::array_t<std::int32_t, py::array::c_style>::ensure(indices);
  const auto outer = py::array_t<std::int32_t, py::array::c_style>::ensure(indptr);
  if (!inner || !outer) throw py::error_already_set();
  const auto fail = [&](const std::string& rule) {
    throw std::invalid_argument(what + ": not a valid CSR matrix of shape " + std::to_string(rows) +
                                "x" + std::to_string(cols) + ": " + rule);
  };
  if (rows < 0 || cols < 0 || rows >= (Index(1) << 31) || cols >= (Index(1) << 31)) {
    fail("the dimensions must be in [0, 2^31)");
  }
  if (outer.ndim() != 1 || outer.size() != rows + 1) {
    fail("indptr must have rows + 1 = " + std::to_string(rows + 1) + " entries, it has " +
         std::to_string(outer.size()));
  }
  const std::int32_t* p = outer.data();
  const Index nnz = values.size();
  if (values.ndim() != 1 || inner.ndim() != 1 || inner.size() != nnz || p[0] != 0 ||
      p[rows] != nnz) {
    fail("data and indices must have indptr[-1] = " + std::to_string(p[rows]) +
         " entries and indptr[0] must be 0, got " + std::to_string(nnz) + " and " +
         std::to_string(inner.size()) + " entries, indptr[0] = " + std::to_string(p[0]));
  }
  const std::int32_t* j = inner.data();
  for (Index r = 0; r < rows; ++r) {
    if (p[r + 1] < p[r]) fail("indptr must not decrease, row " + std::to_string(r));
    for (Index k = p[r]; k < p[r + 1]; ++k) {
      if (j[k] < 0 || j[k] >= cols || (k > p[r] && j[k] <= j[k - 1])) {
        fail("the column indices of row " + std::to_string(r) +
             " must be sorted, unique and in [0, cols)");
      }
    }
  }
  return Eigen::Map<const EigenCsr<Scalar>>(rows, cols, nnz, p, j, values.data());
}

template EigenCsr<float> csr_from_arrays<float>(const std::string&, const py::array&,
                                                const py::array&, const py::array&, Index, Index);
template EigenCsr<double> csr_from_arrays<double>(const std::string&, const py::array&,
                                                  const py::array&, const py::array&, Index, Index);

}  // namespace convmat::python

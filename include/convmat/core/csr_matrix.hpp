#pragma once
// CsrMatrix<Scalar>: a compressed-sparse-row matrix whose structure can be shared.
//
// The structure (SparsityPattern: row pointers and column indices) is immutable and held by
// shared_ptr, so matrices with the same structure and different values (a layer with new weights)
// share it. Row pointers are 64-bit, column indices 32-bit (see index.hpp).
//
// Products take dense blocks in NumPy's C order: a batch of `batch` vectors, each contiguous.
//   multiply:            y = A x     x: batch × cols,  y: batch × rows    (y = x @ A.T in NumPy)
//   multiply_transposed: y = Aᵀ x    x: batch × rows,  y: batch × cols
// Both run in parallel (OpenMP) above 2·64 Ki nonzeros; Aᵀx uses one private accumulator of
// length cols per thread, so no transposed copy of A is ever made. A batch is packed 16 vectors
// at a time into interleaved lanes, so A is read once per 16 vectors; those kernels exist for
// AVX2 and AVX-512 too and are picked at run time (detail/kernel_isa.hpp).

#include <Eigen/SparseCore>
#include <memory>

#include "convmat/core/buffer.hpp"
#include "convmat/core/conv_spec.hpp"
#include "convmat/core/detail/csr_product.hpp"
#include "convmat/core/linear_operator.hpp"

namespace convmat {

struct SparsityPattern {
  Index rows = 0;
  Index cols = 0;
  Buffer<RowPointer> row_ptr;  // rows + 1 entries; row r holds [row_ptr[r], row_ptr[r+1])
  Buffer<ColumnIndex> col;     // nnz entries, ascending within each row
  Index nnz() const { return rows == 0 ? 0 : row_ptr[static_cast<std::size_t>(rows)]; }
};

template <class Scalar>
class CsrMatrix {
 public:
  using RowMajorEigen = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;
  using ColMajorEigen = Eigen::SparseMatrix<Scalar, Eigen::ColMajor, int>;

  CsrMatrix() = default;
  // `values` has pattern->nnz() entries.
  CsrMatrix(std::shared_ptr<const SparsityPattern> pattern, Buffer<Scalar> values);

  Index rows() const { return pattern_ ? pattern_->rows : 0; }
  Index cols() const { return pattern_ ? pattern_->cols : 0; }
  Index nnz() const { return pattern_ ? pattern_->nnz() : 0; }
  const RowPointer* row_ptr() const { return pattern_->row_ptr.data(); }
  const ColumnIndex* col_index() const { return pattern_->col.data(); }
  const Scalar* values() const { return values_.data(); }
  Scalar* values() { return values_.data(); }
  const std::shared_ptr<const SparsityPattern>& pattern() const { return pattern_; }
  // Bytes held by the values and the structure.
  std::size_t memory_bytes() const;

  void multiply(const Scalar* x, Scalar* y, Index batch = 1) const;             // y = A x
  void multiply_transposed(const Scalar* x, Scalar* y, Index batch = 1) const;  // y = Aᵀ x

  // Copies into Eigen's formats (32-bit indices: throws std::length_error past 2³¹ − 1 nonzeros).
  RowMajorEigen to_eigen() const;             // A
  RowMajorEigen to_eigen_transposed() const;  // Aᵀ, built by one counting pass, no sort

 private:
  std::shared_ptr<const SparsityPattern> pattern_;
  Buffer<Scalar> values_;

  detail::CsrArrays<Scalar, RowPointer> arrays() const {
    return {rows(), cols(), row_ptr(), col_index(), values()};
  }
};

// A CsrMatrix: its parallel multiply and multiply_transposed.
template <class Scalar>
class CsrOperator final : public LinearOperator<Scalar> {
 public:
  explicit CsrOperator(const CsrMatrix<Scalar>& a) : a_(a) {}
  Index rows() const override { return a_.rows(); }
  Index cols() const override { return a_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override { a_.multiply(x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { a_.multiply_transposed(y, x); }

 private:
  const CsrMatrix<Scalar>& a_;
};

extern template class CsrMatrix<float>;
extern template class CsrMatrix<double>;

}  // namespace convmat

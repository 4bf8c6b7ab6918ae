#pragma once
// SparseRef<Scalar>: a borrowed compressed sparse matrix, CSR or CSC — what the factorizing
// solvers (QR, Cholesky) and lstsq take, whatever the matrix came as.
//
// Made implicitly from an Eigen::SparseMatrix<Scalar, RowMajor or ColMajor, int> (compressed),
// a CsrMatrix<Scalar>, or a ConvMatrix<Scalar> (its layer map M: a transposed layer's Wᵀ is W's
// CSR read as CSC — no copy). It copies nothing; what it refers to must outlive it. The solvers
// copy what they keep.

#include <Eigen/SparseCore>
#include <cstdint>
#include <stdexcept>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/detail/assert.hpp"
#include "convmat/core/linear_operator.hpp"

namespace convmat {

template <class Scalar>
class SparseRef {
 public:
  // Eigen, either storage order. Throws std::invalid_argument if `a` is not compressed.
  template <int Options>
  SparseRef(const Eigen::SparseMatrix<Scalar, Options, int>& a)  // NOLINT: implicit on purpose
      : rows_(a.rows()),
        cols_(a.cols()),
        row_major_(Options & Eigen::RowMajor),
        outer32_(a.outerIndexPtr()),
        inner_(a.innerIndexPtr()),
        values_(a.valuePtr()) {
    if (!a.isCompressed()) {
      throw std::invalid_argument(
          "the sparse matrix must be compressed (call makeCompressed() first)");
    }
  }
  SparseRef(const CsrMatrix<Scalar>& a)  // NOLINT
      : rows_(a.rows()),
        cols_(a.cols()),
        row_major_(true),
        outer64_(a.row_ptr()),
        inner_(a.col_index()),
        values_(a.values()) {}
  // The layer map M: W (CSR) for a convolution, Wᵀ (W's arrays read as CSC) for a transposed one.
  SparseRef(const ConvMatrix<Scalar>& m)  // NOLINT
      : SparseRef(m.spec().is_transposed() ? SparseRef(m.stored()).transposed()
                                           : SparseRef(m.stored())) {}

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  bool row_major() const { return row_major_; }  // CSR; else CSC
  Index outer_size() const { return row_major_ ? rows_ : cols_; }
  Index nnz() const { return outer(outer_size()); }
  // Entries of row (CSR) or column (CSC) j: positions [outer(j), outer(j + 1)).
  Index outer(Index j) const {
    CONVMAT_ASSERT(j >= 0 && j <= outer_size(), "SparseRef::outer: index out of range");
    return outer32_ ? Index(outer32_[j]) : Index(outer64_[j]);
  }
  Index inner(Index k) const {
    CONVMAT_ASSERT(k >= 0 && k < nnz(), "SparseRef::inner: index out of range");
    return inner_[k];
  }
  Scalar value(Index k) const {
    CONVMAT_ASSERT(k >= 0 && k < nnz(), "SparseRef::value: index out of range");
    return values_[k];
  }
  // The borrowed arrays: the outer indices are 32-bit (an Eigen matrix) or 64-bit (a CsrMatrix),
  // exactly one of the two pointers is set.
  const std::int32_t* outer_index32() const { return outer32_; }
  const std::int64_t* outer_index64() const { return outer64_; }
  const std::int32_t* inner_index() const { return inner_; }
  const Scalar* values() const { return values_; }

  // Aᵀ, the same arrays: CSR of A is CSC of Aᵀ.
  SparseRef transposed() const {
    SparseRef t(*this);
    std::swap(t.rows_, t.cols_);
    t.row_major_ = !row_major_;
    return t;
  }

 private:
  Index rows_ = 0, cols_ = 0;
  bool row_major_ = true;
  const std::int32_t* outer32_ = nullptr;  // exactly one of outer32_, outer64_ is set
  const std::int64_t* outer64_ = nullptr;
  const std::int32_t* inner_ = nullptr;
  const Scalar* values_ = nullptr;
};

// y = A x and x = Aᵀ y on a SparseRef, for the iterative solvers and the residual reports: the
// CSR products of CsrMatrix (detail/csr_product.hpp) on the borrowed arrays, in parallel both ways.
template <class Scalar>
void multiply(const SparseRef<Scalar>& a, const Scalar* x, Scalar* y);  // y = A x
template <class Scalar>
void multiply_transposed(const SparseRef<Scalar>& a, const Scalar* y, Scalar* x);  // x = Aᵀ y

// A SparseRef as a LinearOperator: whatever compressed matrix it borrows.
template <class Scalar>
class SparseRefOperator final : public LinearOperator<Scalar> {
 public:
  explicit SparseRefOperator(SparseRef<Scalar> a) : a_(a) {}
  Index rows() const override { return a_.rows(); }
  Index cols() const override { return a_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override { multiply(a_, x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { multiply_transposed(a_, y, x); }

 private:
  SparseRef<Scalar> a_;
};

extern template void multiply<float>(const SparseRef<float>&, const float*, float*);
extern template void multiply<double>(const SparseRef<double>&, const double*, double*);
extern template void multiply_transposed<float>(const SparseRef<float>&, const float*, float*);
extern template void multiply_transposed<double>(const SparseRef<double>&, const double*, double*);

}  // namespace convmat

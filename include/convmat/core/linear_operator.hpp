#pragma once
// LinearOperator<Scalar>: anything that gives y = A x and x = Aᵀ y — all that LSQR and LSMR need.
//
// The explicit matrix and a matrix-free map are interchangeable here (Ceres' LinearOperator,
// Spectra's MatOp). Each adapter stands next to what it wraps: EigenSparseOperator here,
// CsrOperator (csr_matrix.hpp), ConvOperator (conv_matrix.hpp: a layer's map M),
// DirectLoopsOperator (loops.hpp: the same M with no matrix), SparseRefOperator (sparse_ref.hpp).
// Both products overwrite their output (y = A x, not y += A x). Vectors are contiguous arrays.
//
// The adapters hold a reference to what they wrap: it must outlive them.

#include <Eigen/SparseCore>

#include "convmat/core/index.hpp"

namespace convmat {

template <class Scalar>
class LinearOperator {
 public:
  virtual ~LinearOperator() = default;
  virtual Index rows() const = 0;
  virtual Index cols() const = 0;
  // y = A x    x: cols() entries, y: rows() entries     (NumPy: y = A @ x)
  virtual void apply(const Scalar* x, Scalar* y) const = 0;
  // x = Aᵀ y   y: rows() entries, x: cols() entries     (NumPy: x = A.T @ y)
  virtual void apply_adjoint(const Scalar* y, Scalar* x) const = 0;
};

// An Eigen::SparseMatrix (any storage order and index type).
template <class SparseMatrixType>
class EigenSparseOperator final : public LinearOperator<typename SparseMatrixType::Scalar> {
 public:
  using Scalar = typename SparseMatrixType::Scalar;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  explicit EigenSparseOperator(const SparseMatrixType& a) : a_(a) {}
  Index rows() const override { return a_.rows(); }
  Index cols() const override { return a_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override {
    Eigen::Map<Vector>(y, a_.rows()).noalias() = a_ * Eigen::Map<const Vector>(x, a_.cols());
  }
  void apply_adjoint(const Scalar* y, Scalar* x) const override {
    Eigen::Map<Vector>(x, a_.cols()).noalias() =
        a_.transpose() * Eigen::Map<const Vector>(y, a_.rows());
  }

 private:
  const SparseMatrixType& a_;
};

template <class SparseMatrixType>
EigenSparseOperator(const SparseMatrixType&) -> EigenSparseOperator<SparseMatrixType>;

// Aᵀ of any operator (apply and apply_adjoint swapped). Deconvolving the adjoint direction —
// recovering y from x' = Wᵀ y — is least squares on this.
template <class Scalar>
class AdjointOperator final : public LinearOperator<Scalar> {
 public:
  explicit AdjointOperator(const LinearOperator<Scalar>& a) : a_(a) {}
  Index rows() const override { return a_.cols(); }
  Index cols() const override { return a_.rows(); }
  void apply(const Scalar* x, Scalar* y) const override { a_.apply_adjoint(x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { a_.apply(y, x); }

 private:
  const LinearOperator<Scalar>& a_;
};

}  // namespace convmat

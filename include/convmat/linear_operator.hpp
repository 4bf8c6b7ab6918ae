#pragma once
// LinearOperator<Scalar>: anything that gives y = A x and x = Aᵀ y — all that LSQR and LSMR need.
//
// The explicit matrix and a matrix-free map are interchangeable here (Ceres' LinearOperator,
// Spectra's MatOp): an Eigen sparse matrix, a CsrMatrix, a layer's ConvMatrix, the direct loops.
// Both products overwrite their output (y = A x, not y += A x). Vectors are contiguous arrays.
//
// The adapters hold a reference to what they wrap: it must outlive them.

#include <Eigen/SparseCore>
#include <vector>

#include "convmat/conv_matrix.hpp"
#include "convmat/conv_spec.hpp"
#include "convmat/csr_matrix.hpp"
#include "convmat/loops.hpp"
#include "convmat/sparse_ref.hpp"

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

// A SparseRef (sparse_ref.hpp): whatever compressed matrix it borrows.
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

// A layer's map M (conv_matrix.hpp): W for a convolution, Wᵀ for a transposed convolution —
// ConvMatrix::apply already applies Wᵀ for a transposed layer, so this is the layer, whichever
// kind it is, and apply_adjoint is its adjoint (the other kind).
template <class Scalar>
class ConvOperator final : public LinearOperator<Scalar> {
 public:
  explicit ConvOperator(const ConvMatrix<Scalar>& m) : m_(m) {}
  Index rows() const override { return m_.rows(); }
  Index cols() const override { return m_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override { m_.apply(x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { m_.apply_adjoint(y, x); }

 private:
  const ConvMatrix<Scalar>& m_;
};

// The same layer map M with no matrix at all: the direct loops of loops.hpp (direct_forward
// without bias, direct_adjoint). Keeps its own copy of the spec and the weight.
template <class Scalar>
class DirectLoopsOperator final : public LinearOperator<Scalar> {
 public:
  // weight: spec.weight_numel() values in PyTorch's layout (ConvSpec::weight_shape).
  DirectLoopsOperator(const ConvSpec& spec, const Scalar* weight)
      : spec_(spec), weight_(weight, weight + spec.weight_numel()) {}
  Index rows() const override { return spec_.output_numel(); }
  Index cols() const override { return spec_.input_numel(); }
  void apply(const Scalar* x, Scalar* y) const override {
    direct_forward(spec_, x, 1, weight_.data(), static_cast<const Scalar*>(nullptr), y);
  }
  void apply_adjoint(const Scalar* y, Scalar* x) const override {
    direct_adjoint(spec_, y, 1, weight_.data(), x);
  }

 private:
  ConvSpec spec_;
  std::vector<Scalar> weight_;
};

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

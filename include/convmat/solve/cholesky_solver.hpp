#pragma once
// CholeskySolver<Scalar>: damped least squares by a sparse Cholesky factorization (CHOLMOD).
//
//   normal_equations:  (AᵀA + λ²I) x = Aᵀb                  n × n   (MATLAB: (A'*A + λ²I) \ (A'*b))
//   min_norm:          x = Aᵀ (A Aᵀ + λ²I)⁻¹ b               m × m   (MATLAB: A' * ((A*A' + λ²I)
//   \ b))
//
// For λ > 0 both give the same x. For λ = 0 the normal equations need full column rank (they
// then give the least-squares solution) and the min-norm form needs full row rank (it then gives
// the minimum-norm solution of the consistent system A x = b). LsqOptions::cholesky_form picks
// one; `automatic` takes the smaller matrix. Neither product is formed explicitly:
// cholmod_l_factorize_p factorizes C Cᵀ + βI for an unsymmetric C, so C = Aᵀ or C = A, β = λ².
//
// The pattern is analyzed once (analyze_pattern, the fill-reducing ordering and the symbolic
// factor); factorize() reuses it for new values with the same pattern and set_damping() for a new
// λ. A matrix that is not numerically positive definite — CHOLMOD meets a pivot <= 0, or the
// estimate of rcond = λ_min/λ_max of the factored matrix (power and inverse iteration, a few
// products and solves) is <= n·ε, below which the factorization's backward error cannot
// tell it from singular — is LsqStatus::not_positive_definite, not an exception; solve() then
// returns zeros. The normal equations square the condition
// number: the error of x grows like ε·cond(A)², against ε·cond(A) for QR.
//
// SuiteSparse 5.12 has no single precision: for Scalar = float, A and B are copied to double,
// solved in double, and X is rounded to float.

#include <memory>

#include "convmat/solve/detail/lsq_solver_base.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat {

template <class Scalar>
class CholeskySolver : public detail::LsqSolverBase {
 public:
  explicit CholeskySolver(const LsqOptions& options = {});  // uses damp, cholesky_form, progress
  CholeskySolver(SparseRef<Scalar> a, const LsqOptions& options = {});  // and compute(a)
  ~CholeskySolver();
  CholeskySolver(CholeskySolver&&) noexcept;
  CholeskySolver& operator=(CholeskySolver&&) noexcept;

  // Validated. A new damp or cholesky_form takes effect at the next analyze_pattern/factorize.
  // (options(), info(), report(): see LsqSolverBase.)
  CholeskySolver& set_options(const LsqOptions& options) {
    assign(options);
    return *this;
  }

  // Orders and analyzes the pattern of A (values ignored): which form, the permutation, the
  // symbolic factor.
  CholeskySolver& analyze_pattern(SparseRef<Scalar> a);
  // Numeric factorization of A, which must have the analyzed shape and pattern (throws
  // std::invalid_argument otherwise). Throws std::invalid_argument for a non-finite A.
  CholeskySolver& factorize(SparseRef<Scalar> a);
  CholeskySolver& compute(SparseRef<Scalar> a) { return analyze_pattern(a).factorize(a); }
  // Refactorizes the same A with damping λ (same symbolic analysis; throws std::invalid_argument
  // for λ < 0 or NaN, std::logic_error before factorize()).
  CholeskySolver& set_damping(double damp);

  // X (n × k) for B (m × k). std::invalid_argument if B has not m rows or is not finite;
  // std::logic_error before factorize().
  DenseMatrix<Scalar> solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b);

  CholeskyForm form() const { return form_; }  // the form in use (never automatic)
  // Estimate of λ_min/λ_max of the last factored matrix (≈ 1/cond(A)², or of [A; λI]).
  double rcond() const { return rcond_; }
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CholeskyForm form_ = CholeskyForm::normal_equations;
  double rcond_ = 0;
  Index rows_ = 0, cols_ = 0;
  bool factorized_ = false;
  void refactorize();
};

extern template class CholeskySolver<float>;
extern template class CholeskySolver<double>;

}  // namespace convmat

#pragma once
// QrSolver<Scalar>: least squares by SuiteSparseQR, rank-revealing, minimum norm.
//
//   X = A⁺ B                         λ = 0   (MATLAB: lsqminnorm(A, B); NumPy: lstsq(A, B)[0])
//   X = [A; λI] \ [B; 0]             λ > 0   (the damped problem as one tall full-rank system)
//
// How, for an m × n matrix A with estimated rank r (SPQR's rank-revealing QR, Heath's method:
// a column whose remaining 2-norm is <= tol is taken as dependent — LsqOptions::qr_tolerance,
// SPQR's default 20·(p + q)·ε·max column norm):
//  - tall or square (m >= n): A E = Q R.        r = n: X = E R⁻¹ (QᵀB)[0:n]   (ordinary LS)
//  - wide (m < n): Aᵀ E = Q R, so A = E Rᵀ Qᵀ.   r = m: X = Q [R⁻ᵀ EᵀB; 0] (SuiteSparseQR_min2norm)
//  - rank deficient (r < min(m, n)): R (r × ·) has full row rank and the same sweep is applied
//    once more, to Rᵀ: a complete orthogonal decomposition, whose solution is the minimum-norm
//    one (E is a permutation and Q orthogonal, so they keep norms). SuiteSparseQR's own "basic"
//    solve (and min2norm on a rank-deficient A) are not minimum-norm; this is.
// The rank is an estimate: a matrix within tol of a lower-rank one counts as that rank.
// Fill-reducing ordering: AMD on FᵀF for the factorized F, or SPQR's default (COLAMD) when F
// has a row denser than 10·√(columns).
//
// SuiteSparse 5.12 has no single precision: for Scalar = float, A and B are copied to double,
// solved in double, and X is rounded to float.

#include <memory>

#include "convmat/solve/detail/lsq_solver_base.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat {

template <class Scalar>
class QrSolver : public detail::LsqSolverBase {
 public:
  explicit QrSolver(const LsqOptions& options = {});  // uses damp, qr_tolerance, progress
  QrSolver(SparseRef<Scalar> a, const LsqOptions& options = {});  // and compute(a)
  ~QrSolver();
  QrSolver(QrSolver&&) noexcept;
  QrSolver& operator=(QrSolver&&) noexcept;

  // Validated; takes effect at compute(). (options(), info(), report(): see LsqSolverBase.)
  QrSolver& set_options(const LsqOptions& options) {
    assign(options);
    return *this;
  }

  // Factorizes A (m × n, or [A; λI] when damp > 0). Throws std::invalid_argument for an empty
  // or non-finite A.
  QrSolver& compute(SparseRef<Scalar> a);

  // X (n × k) for B (m × k): the minimum-norm least-squares solution, one column per column of
  // B. Throws std::invalid_argument if B has not m rows or is not finite; std::logic_error before
  // compute().
  DenseMatrix<Scalar> solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b);

  Index rank() const { return info_.rank; }  // estimated rank of A ([A; λI] if damped)
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Index rows_ = 0, cols_ = 0;
};

extern template class QrSolver<float>;
extern template class QrSolver<double>;

}  // namespace convmat

#pragma once
// LSQR and LSMR: matrix-free least squares on any LinearOperator (the explicit matrix, a layer,
// the direct loops), x̂ = argmin ‖A x − b‖² + λ²‖x‖², written from the papers:
//   LSQR  C. C. Paige, M. A. Saunders, "LSQR: An algorithm for sparse linear equations and sparse
//         least squares", ACM TOMS 8(1), 1982 — conjugate gradients on the normal equations,
//         made stable by Golub–Kahan bidiagonalization; ‖r_k‖ decreases monotonically.
//   LSMR  D. C.-L. Fong, M. A. Saunders, "LSMR: An iterative algorithm for sparse least-squares
//         problems", SIAM J. Sci. Comput. 33(5), 2011 — MINRES on the normal equations, same
//         bidiagonalization; ‖Aᵀr_k‖ decreases monotonically, so it can stop earlier.
// Each iteration costs one A·v and one Aᵀ·u. Started from x₀ = 0 the iterates stay in range(Aᵀ),
// so for λ = 0 the limit is the minimum-norm solution A⁺b (in exact arithmetic).
//
// Stopping rules, istop codes and defaults are SciPy's (scipy.sparse.linalg.lsqr / lsmr):
//   0  x = 0 is the solution (b = 0, or Aᵀb = 0)
//   1  ‖r‖ <= btol·‖b‖ + atol·‖A‖·‖x‖: A x = b is solved, given atol and btol
//   2  ‖Aᵀr − λ²x‖ <= atol·‖A‖·‖r‖: the least-squares problem is solved, given atol
//   3  cond([A; λI]) >= conlim
//   4  as 1 with atol = btol = ε (machine precision)
//   5  as 2 with atol = ε
//   6  cond([A; λI]) >= 1/ε
//   7  the iteration limit was reached
// (‖A‖, cond and the norms are the algorithms' running estimates; ε is Scalar's epsilon.)
// Codes 0–2, 4, 5 are LsqStatus::success, 3 and 6 condition_limit, 7 iteration_limit.
//
// Vectors are kept in Scalar (float runs in float); the scalar recurrences and norms in double.

#include <string>
#include <vector>

#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/detail/lsq_solver_base.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat {

// What one LSQR/LSMR run on one right-hand side reports (its own running estimates).
struct KrylovReport {
  LsqStatus status = LsqStatus::success;
  int stop_code = 0;  // istop, above; −1 when cancelled or a NaN/Inf appeared
  std::string message;
  Index iterations = 0;
  double residual_norm = 0;              // estimate of ‖[b; 0] − [A; λI] x‖
  double normal_residual_norm = 0;       // estimate of ‖Aᵀr − λ²x‖
  double norm_estimate = 0;              // of ‖[A; λI]‖_F (LSQR) or ‖[A; λI]‖ (LSMR)
  double condition_estimate = 0;         // of cond([A; λI])
  double solution_norm = 0;              // ‖x‖
  std::vector<double> residual_history;  // residual_norm after 0, 1, …, iterations steps
};

// The meaning of an istop code, one line.
std::string krylov_stop_message(int stop_code);

// One right-hand side: b has a.rows() entries, x (output) a.cols(). `column`/`columns` only
// label the progress callbacks. Throws std::invalid_argument for invalid options.
template <class Scalar>
KrylovReport lsqr(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x,
                  const LsqOptions& options, Index column = 0, Index columns = 1);
template <class Scalar>
KrylovReport lsmr(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x,
                  const LsqOptions& options, Index column = 0, Index columns = 1);

// The solver object (Eigen style) for LsqMethod::lsqr or LsqMethod::lsmr: compute(A) keeps a
// reference to the operator (it must outlive the solver); solve(B) runs one column at a time.
template <class Scalar, LsqMethod method>
class KrylovSolver : public detail::LsqSolverBase {
  static_assert(method == LsqMethod::lsqr || method == LsqMethod::lsmr);

 public:
  explicit KrylovSolver(const LsqOptions& options = {});
  KrylovSolver(const LinearOperator<Scalar>& a, const LsqOptions& options = {});

  // Validated. (options(), info(), report(): see LsqSolverBase.)
  KrylovSolver& set_options(const LsqOptions& options) {
    assign(options);
    return *this;
  }

  KrylovSolver& compute(const LinearOperator<Scalar>& a);

  // X (cols × k) for B (rows × k). std::invalid_argument if B has not A.rows() rows or is not
  // finite; std::logic_error before compute().
  DenseMatrix<Scalar> solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b);

  Index iterations() const { return info_.iterations; }
  double residual_norm() const { return info_.residual_norm; }  // ‖B − A X‖_F, recomputed
  // Per right-hand side, from the last solve.
  const std::vector<KrylovReport>& column_reports() const { return columns_; }

 private:
  const LinearOperator<Scalar>* a_ = nullptr;
  std::vector<KrylovReport> columns_;
};

template <class Scalar>
using LsqrSolver = KrylovSolver<Scalar, LsqMethod::lsqr>;
template <class Scalar>
using LsmrSolver = KrylovSolver<Scalar, LsqMethod::lsmr>;

extern template class KrylovSolver<float, LsqMethod::lsqr>;
extern template class KrylovSolver<double, LsqMethod::lsqr>;
extern template class KrylovSolver<float, LsqMethod::lsmr>;
extern template class KrylovSolver<double, LsqMethod::lsmr>;

}  // namespace convmat

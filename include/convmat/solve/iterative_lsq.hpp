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
// and convmat's own
//   8  ‖b − A x‖ <= discrepancy_factor · noise_level · ‖b‖ (the discrepancy principle; only with
//      LsqOptions::noise_level > 0)
// Codes 0–2, 4, 5, 8 are LsqStatus::success, 3 and 6 condition_limit, 7 iteration_limit.
//
// A starting vector x0 (SciPy's x0) shifts the problem to the correction: r0 = b − A x0 is solved
// for dx and x = x0 + dx; the damping applies to dx (min ‖A x − b‖² + λ²‖x − x0‖²) and the tests
// still compare with ‖b‖. The iterates stay in x0 + range(Aᵀ): the minimum-norm limit needs x0
// in range(Aᵀ) (0, or an earlier solution).
//
// With a preconditioner (preconditioner.hpp) the methods iterate on the preconditioned problem;
// the limit is unchanged (see there). Rule 1, 4 and 8 then test the true residual ‖b − A x‖
// (with λ > 0: that of the augmented system), rules 2, 3, 5, 6 the preconditioned problem's own
// estimates (‖Ã‖, cond(Ã), ‖Ãᵀr̃‖), and residual_history records the true residual.
//
// Vectors are kept in Scalar (float runs in float); the scalar recurrences and norms in double.

#include <memory>
#include <string>
#include <vector>

#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/detail/lsq_solver_base.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/preconditioner.hpp"

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

// What one run takes beyond A, b and the options, all optional.
template <class Scalar>
struct KrylovSetup {
  const Scalar* x0 = nullptr;  // starting vector, a.cols() entries (default 0)
  const Preconditioner<Scalar>* preconditioner = nullptr;  // S on its side (default none)
  Index column = 0, columns = 1;                           // only label the progress callbacks
};

// One right-hand side: b has a.rows() entries, x (output) a.cols(). Throws
// std::invalid_argument for invalid options or a preconditioner of the wrong size. The options'
// `preconditioner` kind is not read here (lstsq builds a layer's); pass S in `setup`.
template <class Scalar>
KrylovReport lsqr(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x,
                  const LsqOptions& options, const KrylovSetup<Scalar>& setup = {});
template <class Scalar>
KrylovReport lsmr(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x,
                  const LsqOptions& options, const KrylovSetup<Scalar>& setup = {});

// What lstsq, deconvolve and the solver objects take beyond the options, for a block of
// right-hand sides: starting vectors (A.cols() × k, or empty for zero) and a user-supplied
// preconditioner (overrides LsqOptions::preconditioner).
template <class Scalar>
struct KrylovInputs {
  DenseMatrix<Scalar> x0;
  std::shared_ptr<const Preconditioner<Scalar>> preconditioner;
};

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
  // S for the following solves (null: none); it must outlive them.
  KrylovSolver& set_preconditioner(std::shared_ptr<const Preconditioner<Scalar>> s) {
    preconditioner_ = std::move(s);
    return *this;
  }

  // X (cols × k) for B (rows × k), from x0 = 0 or from the columns of X0 (cols × k).
  // std::invalid_argument if B has not A.rows() rows, X0 has not A.cols() × k entries, or either
  // is not finite; std::logic_error before compute().
  DenseMatrix<Scalar> solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b);
  DenseMatrix<Scalar> solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b,
                            const Eigen::Ref<const DenseMatrix<Scalar>>& x0);

  Index iterations() const { return info_.iterations; }
  double residual_norm() const { return info_.residual_norm; }  // ‖B − A X‖_F, recomputed
  // Per right-hand side, from the last solve.
  const std::vector<KrylovReport>& column_reports() const { return columns_; }

 private:
  DenseMatrix<Scalar> run(const Eigen::Ref<const DenseMatrix<Scalar>>& b,
                          const DenseMatrix<Scalar>* x0);

  const LinearOperator<Scalar>* a_ = nullptr;
  std::shared_ptr<const Preconditioner<Scalar>> preconditioner_;
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

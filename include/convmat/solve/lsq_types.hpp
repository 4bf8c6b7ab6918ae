#pragma once
// The vocabulary shared by every least-squares solver: method, status, options, progress, info.
//
// Every solver computes
//   x̂ = argmin_x ‖A x − b‖₂² + λ²‖x‖₂²        (λ = LsqOptions::damp ≥ 0)
// for each column b of a block B (one right-hand side per column), and among all minimizers the
// one of least ‖x‖₂ (with λ > 0 the minimizer is unique; with λ = 0 and A wide or rank deficient
// it is x̂ = A⁺b, NumPy's np.linalg.lstsq(A, b)[0], MATLAB's lsqminnorm(A, b)).
//
// Three error channels:
//  - invalid input (sizes that do not match, damp < 0, NaN in b, …) throws std::invalid_argument
//    naming the rule and the values;
//  - a numerical outcome (iteration limit, matrix not positive definite, …) is an LsqStatus in
//    LsqInfo, never an exception;
//  - calling solve() before compute() throws std::logic_error.

#include <Eigen/Core>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat {

// A block of right-hand sides or solutions, one vector per column. Column-major, so an n × batch
// block has the memory of a C-order (batch, n) array: a batch of layer inputs or outputs.
template <class Scalar>
using DenseMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

enum class LsqMethod {
  qr,        // SuiteSparseQR, rank-revealing; the minimum-norm solution (qr_solver.hpp)
  cholesky,  // CHOLMOD on AᵀA + λ²I or A Aᵀ + λ²I (cholesky_solver.hpp)
  lsqr,      // Paige & Saunders 1982, matrix-free (iterative_lsq.hpp: LsqrSolver)
  lsmr,      // Fong & Saunders 2011, matrix-free (iterative_lsq.hpp: LsmrSolver)
};

enum class LsqStatus {  // in increasing severity
  success,          // solved (iterative: stopped by a tolerance test, SciPy's istop 0, 1, 2, 4, 5)
  condition_limit,  // LSQR/LSMR: the estimate of cond([A; λI]) exceeded conlim or 1/ε (istop 3, 6)
  iteration_limit,        // LSQR/LSMR: the iteration limit was reached (istop 7)
  not_positive_definite,  // Cholesky: AᵀA + λ²I (or A Aᵀ + λ²I) is numerically singular
  cancelled,              // the progress callback returned false
  numerical_issue,        // a NaN/Inf appeared, or SuiteSparse failed (out of memory); see message
};

// Which matrix the Cholesky method factorizes.
enum class CholeskyForm {
  automatic,         // the smaller one: normal_equations when rows >= cols, else min_norm
  normal_equations,  // (AᵀA + λ²I) x = Aᵀb, n × n: needs full column rank when λ = 0
  min_norm,          // x = Aᵀ (A Aᵀ + λ²I)⁻¹ b, m × m: needs full row rank when λ = 0
};

// "qr" | "cholesky" | "lsqr" | "lsmr" (and back); anything else throws std::invalid_argument.
std::string to_string(LsqMethod method);
LsqMethod lsq_method_from_string(std::string_view name);
// "success", "condition_limit", "iteration_limit", "not_positive_definite", "cancelled",
// "numerical_issue".
std::string to_string(LsqStatus status);
// "automatic" | "normal_equations" | "min_norm" (and back).
std::string to_string(CholeskyForm form);
CholeskyForm cholesky_form_from_string(std::string_view name);
inline std::ostream& operator<<(std::ostream& os, LsqMethod m) { return os << to_string(m); }
inline std::ostream& operator<<(std::ostream& os, LsqStatus s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, CholeskyForm f) { return os << to_string(f); }

// Handed to LsqOptions::progress: after each LSQR/LSMR iteration, and before each phase of QR and
// Cholesky (analyze, factorize, solve).
struct LsqProgress {
  LsqMethod method = LsqMethod::lsqr;
  std::string_view phase;  // "iterate" | "analyze" | "factorize" | "solve"
  Index column = 0;        // which right-hand side (0-based) …
  Index columns = 1;       // … of how many
  Index iteration = 0;     // LSQR/LSMR: iterations done on this column
  Index iteration_limit = 0;
  double residual_norm = 0;      // LSQR/LSMR: the estimate of ‖[b; 0] − [A; λI] x_k‖
  double relative_residual = 0;  // residual_norm / ‖b‖
};

struct LsqOptions {
  double damp = 0;  // λ >= 0

  // LSQR and LSMR stop at the first of these (SciPy's rules and defaults):
  //   ‖r‖ <= btol·‖b‖ + atol·‖A‖·‖x‖    (istop 1: a consistent system is solved)
  //   ‖Aᵀr − λ²x‖ <= atol·‖A‖·‖r‖         (istop 2: a least-squares solution is found)
  //   cond([A; λI]) >= conlim              (istop 3; conlim = 0: no limit)
  // with ‖A‖, cond and the norms the algorithms' own running estimates. For a consistent system,
  // atol = 0 and btol = t stop at relative residual ‖r‖/‖b‖ <= t.
  double atol = 1e-6;
  double btol = 1e-6;
  double conlim = 1e8;
  Index iteration_limit = 0;  // per right-hand side; 0: 2·A.cols() (SciPy's lsqr default)

  // QR: columns of norm <= tol during the factorization count as dependent (rank-revealing).
  // Negative: SPQR's default, tol = 20·(p + q)·ε·(largest column norm) of the p × q matrix it
  // factorizes (A, or Aᵀ when A is wide). 0: only exactly dependent columns.
  double qr_tolerance = -1;

  CholeskyForm cholesky_form = CholeskyForm::automatic;

  // Optional. Called as described at LsqProgress; returning false stops the solve with
  // LsqStatus::cancelled (the solution is then the last iterate, or zero for QR/Cholesky).
  // Called every iteration: throttle inside the callback if printing.
  std::function<bool(const LsqProgress&)> progress;
};

// Throws std::invalid_argument unless: damp, atol, btol, conlim finite and >= 0;
// iteration_limit >= 0; qr_tolerance not NaN.
void validate(const LsqOptions& options);

// LSQR's and LSMR's iteration limit per right-hand side for an A of `cols` columns:
// options.iteration_limit, or 2·cols when it is 0 (SciPy's lsqr default).
Index iteration_limit(const LsqOptions& options, Index cols);

struct LsqInfo {
  LsqMethod method = LsqMethod::qr;
  LsqStatus status = LsqStatus::success;  // the most severe over the right-hand sides
  std::string message;                    // why it stopped, one line
  int stop_code = -1;    // LSQR/LSMR: SciPy's istop (0–7) behind `status`; −1 otherwise
  Index rank = -1;       // QR: the estimated rank of A ([A; λI] when λ > 0); −1: not computed
  Index iterations = 0;  // LSQR/LSMR: the largest count over the right-hand sides

  // Recomputed from the returned X (not the solvers' running estimates):
  double residual_norm = 0;  // ‖B − A X‖_F  (= ‖b − A x‖₂ for one right-hand side)
  double relative_residual = 0;  // residual_norm / ‖B‖_F  (0 when B = 0)
  double normal_residual_norm = 0;  // ‖Aᵀ(B − A X) − λ² X‖_F: the objective's gradient, 0 at x̂
  double solution_norm = 0;  // ‖X‖_F

  // An estimate of cond([A; λI]): LSQR/LSMR their running estimate; Cholesky √(λ_max/λ_min) of
  // the factored matrix (CholeskySolver::rcond). 0: not computed (QR).
  double condition_estimate = 0;
  double qr_tolerance = 0;  // QR: the rank tolerance SPQR used

  // LSQR/LSMR, one list per right-hand side: the estimate of ‖[b; 0] − [A; λI] x_k‖ for
  // k = 0 … iterations (= ‖b − A x_k‖ when λ = 0). Empty for QR and Cholesky.
  std::vector<std::vector<double>> residual_history;
};

// Its fields (core/fields.hpp).
template <class Visit>
void for_each_field(const LsqInfo& info, Visit&& visit) {
  visit("method", info.method);
  visit("status", info.status);
  visit("message", info.message);
  visit("stop_code", info.stop_code);
  visit("rank", info.rank);
  visit("iterations", info.iterations);
  visit("residual_norm", info.residual_norm);
  visit("relative_residual", info.relative_residual);
  visit("normal_residual_norm", info.normal_residual_norm);
  visit("solution_norm", info.solution_norm);
  visit("condition_estimate", info.condition_estimate);
  visit("qr_tolerance", info.qr_tolerance);
  visit("residual_history", info.residual_history);
}

template <class Scalar>
struct LsqResult {
  DenseMatrix<Scalar> x;  // A.cols() × B.cols()
  LsqInfo info;
};

}  // namespace convmat

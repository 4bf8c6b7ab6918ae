#include "convmat/solve/iterative_lsq.hpp"

#include <stdexcept>
#include <string>

#include "lsq_common.hpp"

namespace convmat {

std::string krylov_stop_message(int stop_code) {
  switch (stop_code) {
    case 0: return "x = 0 is the solution (b = 0 or Aᵀb = 0)";
    case 1: return "A x − b is small enough, given atol and btol";
    case 2: return "the least-squares solution is good enough, given atol";
    case 3: return "the estimate of cond([A; λI]) has exceeded conlim";
    case 4: return "A x − b is small enough for this machine precision";
    case 5: return "the least-squares solution is good enough for this machine precision";
    case 6: return "cond([A; λI]) seems too large for this machine precision";
    case 7: return "the iteration limit has been reached";
    case 8: return "the residual reached the noise level (discrepancy principle)";
  }
  return "unknown stop code " + std::to_string(stop_code);
}

template <class Scalar, LsqMethod method>
KrylovSolver<Scalar, method>::KrylovSolver(const LsqOptions& options) : LsqSolverBase(options) {}

template <class Scalar, LsqMethod method>
KrylovSolver<Scalar, method>::KrylovSolver(const LinearOperator<Scalar>& a,
                                           const LsqOptions& options)
    : KrylovSolver(options) {
  compute(a);
}

template <class Scalar, LsqMethod method>
KrylovSolver<Scalar, method>& KrylovSolver<Scalar, method>::compute(
    const LinearOperator<Scalar>& a) {
  if (a.rows() < 1 || a.cols() < 1) {
    throw std::invalid_argument(to_string(method) +
                                ": A must have at least one row and column, got " +
                                std::to_string(a.rows()) + "x" + std::to_string(a.cols()));
  }
  a_ = &a;
  reset_report(method);
  columns_.clear();
  return *this;
}

template <class Scalar, LsqMethod method>
DenseMatrix<Scalar> KrylovSolver<Scalar, method>::solve(
    const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  return run(b, nullptr);
}

template <class Scalar, LsqMethod method>
DenseMatrix<Scalar> KrylovSolver<Scalar, method>::solve(
    const Eigen::Ref<const DenseMatrix<Scalar>>& b,
    const Eigen::Ref<const DenseMatrix<Scalar>>& x0) {
  const std::string who = (method == LsqMethod::lsqr ? "LsqrSolver" : "LsmrSolver");
  if (!a_) throw std::logic_error(who + "::solve: no operator (call compute() first)");
  if (x0.rows() != a_->cols() || x0.cols() != b.cols()) {
    throw std::invalid_argument(
        who + "::solve: x0 must be A.cols() x k = " + std::to_string(a_->cols()) + "x" +
        std::to_string(b.cols()) + " (one starting vector per right-hand side), got " +
        std::to_string(x0.rows()) + "x" + std::to_string(x0.cols()));
  }
  detail::check_rhs<Scalar>((who + "::solve (x0)").c_str(), a_->cols(), x0);
  const DenseMatrix<Scalar> start = x0;
  return run(b, &start);
}

template <class Scalar, LsqMethod method>
DenseMatrix<Scalar> KrylovSolver<Scalar, method>::run(
    const Eigen::Ref<const DenseMatrix<Scalar>>& b, const DenseMatrix<Scalar>* x0) {
  const std::string who = (method == LsqMethod::lsqr ? "LsqrSolver" : "LsmrSolver");
  if (!a_) throw std::logic_error(who + "::solve: no operator (call compute() first)");
  detail::check_rhs<Scalar>((who + "::solve").c_str(), a_->rows(), b);
  const Index m = a_->rows(), n = a_->cols(), k = b.cols();
  const DenseMatrix<Scalar> bc = b;  // contiguous columns
  DenseMatrix<Scalar> x = DenseMatrix<Scalar>::Zero(n, k);
  reset_report(method);
  columns_.clear();
  if (preconditioner_) {
    info_.preconditioner = preconditioner_->name();
    info_.preconditioner_side = to_string(preconditioner_->side());
    info_.preconditioner_delta = preconditioner_->delta();
  }
  for (Index j = 0; j < k; ++j) {
    KrylovSetup<Scalar> setup;
    setup.x0 = x0 ? x0->col(j).data() : nullptr;
    setup.preconditioner = preconditioner_.get();
    setup.column = j;
    setup.columns = k;
    KrylovReport r = method == LsqMethod::lsqr
                         ? lsqr(*a_, bc.col(j).data(), x.col(j).data(), options_, setup)
                         : lsmr(*a_, bc.col(j).data(), x.col(j).data(), options_, setup);
    if (j == 0 || r.status > info_.status) {
      info_.status = r.status;
      info_.stop_code = r.stop_code;
      info_.message =
          (k > 1 ? "right-hand side " + std::to_string(j) + ": " : std::string()) + r.message;
    }
    info_.iterations = std::max(info_.iterations, r.iterations);
    info_.condition_estimate = std::max(info_.condition_estimate, r.condition_estimate);
    info_.residual_history.push_back(r.residual_history);
    const bool cancelled = r.status == LsqStatus::cancelled;
    columns_.push_back(std::move(r));
    if (cancelled) {  // the remaining columns stay at their start
      for (Index i = j + 1; i < k && x0; ++i) x.col(i) = x0->col(i);
      break;
    }
  }
  detail::fill_residuals(
      info_, m, n, bc.data(), x.data(), k, options_.damp,
      [&](const Scalar* in, Scalar* out) { a_->apply(in, out); },
      [&](const Scalar* in, Scalar* out) { a_->apply_adjoint(in, out); },
      x0 ? x0->data() : nullptr);
  return x;
}

template class KrylovSolver<float, LsqMethod::lsqr>;
template class KrylovSolver<double, LsqMethod::lsqr>;
template class KrylovSolver<float, LsqMethod::lsmr>;
template class KrylovSolver<double, LsqMethod::lsmr>;

}  // namespace convmat

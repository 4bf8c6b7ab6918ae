// CholeskySolver: CHOLMOD's LLᵀ of C Cᵀ + λ²I with C = Aᵀ (normal equations) or C = A
// (minimum-norm form); see cholesky_solver.hpp.

#include "convmat/solve/cholesky_solver.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "cholmod_wall.hpp"
#include "lsq_common.hpp"

namespace convmat {

template <class Scalar>
struct CholeskySolver<Scalar>::Impl {
  detail::CholmodCommon common;                  // first: destroyed last
  detail::SparsePtr c{nullptr, {common.get()}};  // C: Aᵀ (normal equations) or A (min_norm), CSC
  detail::FactorPtr l{nullptr, {common.get()}};
  bool has_values = false;  // factorize() has put A's values into c
};

namespace {

const char* product_name(CholeskyForm form) {
  return form == CholeskyForm::normal_equations ? "AᵀA + λ²I" : "A Aᵀ + λ²I";
}

bool same_pattern(const cholmod_sparse& a, const cholmod_sparse& b) {
  if (a.nrow != b.nrow || a.ncol != b.ncol) return false;
  const auto* ap = static_cast<const SuiteSparse_long*>(a.p);
  const auto* bp = static_cast<const SuiteSparse_long*>(b.p);
  if (!std::equal(ap, ap + a.ncol + 1, bp)) return false;
  return std::equal(static_cast<const SuiteSparse_long*>(a.i),
                    static_cast<const SuiteSparse_long*>(a.i) + ap[a.ncol],
                    static_cast<const SuiteSparse_long*>(b.i));
}

// The largest rcond = λ_min/λ_max of K at which K counts as singular: the factor is exact for
// K + ΔK with ‖ΔK‖ <= c·n·ε·‖K‖ (Cholesky's backward error), so a smaller λ_min cannot be told
// from 0. (On exactly singular test matrices the estimate comes out below 1e-28.)
double singular_rcond(Index n) { return double(n) * std::numeric_limits<double>::epsilon(); }

// λ_min/λ_max of K = C Cᵀ + βI, estimated from Rayleigh quotients: λ_max by 8 steps of power
// iteration (a lower bound), λ_min by 4 steps of inverse iteration through the factor L (an upper
// bound; inverse iteration finds the small end of the spectrum in a step or two when it is
// separated, and a value inside the cluster otherwise). Starting vectors are fixed pseudo-random
// signs, so the estimate is reproducible. (cholmod_l_rcond's (min Lᵢᵢ/max Lᵢᵢ)² misses exact
// singularity by many orders of magnitude when the small eigenvector is spread over many pivots.)
double estimate_rcond(cholmod_sparse* c, cholmod_factor* l, double beta,
                      detail::CholmodCommon& common) {
  const Index n = static_cast<Index>(c->nrow), m = static_cast<Index>(c->ncol);
  Eigen::VectorXd v(n), kv(n), t(m);
  auto apply_k = [&](const Eigen::VectorXd& x, Eigen::VectorXd& y) {  // y = C Cᵀ x + β x
    detail::multiply(c, true, x.data(), t.data(), 1, common);
    detail::multiply(c, false, t.data(), y.data(), 1, common);
    y += beta * x;
  };
  auto start = [&](unsigned seed) {
    std::minstd_rand sign(seed);
    for (Index i = 0; i < n; ++i) v(i) = sign() % 2 ? 1.0 : -1.0;
    v.normalize();
  };
  start(1);
  double lambda_max = 0;
  for (int k = 0; k < 8; ++k) {
    apply_k(v, kv);
    lambda_max = v.dot(kv);
    const double norm = kv.norm();
    if (norm == 0) return 0;
    v = kv / norm;
  }
  start(2);
  double lambda_min = lambda_max;
  for (int k = 0; k < 4; ++k) {
    cholmod_dense vv = detail::view(v.data(), n, 1);
    detail::DensePtr z = detail::own(cholmod_l_solve(CHOLMOD_A, l, &vv, common.get()), common);
    if (!z) detail::cholmod_failure("cholmod_l_solve", common);
    const Eigen::Map<const Eigen::VectorXd> zv(static_cast<const double*>(z->x), n);
    const double norm = zv.norm();
    if (!std::isfinite(norm)) return 0;
    v = zv / norm;
    apply_k(v, kv);
    lambda_min = std::min(lambda_min, v.dot(kv));
  }
  return lambda_max > 0 ? std::max(lambda_min, 0.0) / lambda_max : 0;
}

}  // namespace

template <class Scalar>
CholeskySolver<Scalar>::CholeskySolver(const LsqOptions& options) : LsqSolverBase(options) {}

template <class Scalar>
CholeskySolver<Scalar>::CholeskySolver(SparseRef<Scalar> a, const LsqOptions& options)
    : CholeskySolver(options) {
  compute(a);
}

template <class Scalar>
CholeskySolver<Scalar>::~CholeskySolver() = default;
template <class Scalar>
CholeskySolver<Scalar>::CholeskySolver(CholeskySolver&&) noexcept = default;
template <class Scalar>
CholeskySolver<Scalar>& CholeskySolver<Scalar>::operator=(CholeskySolver&&) noexcept = default;

template <class Scalar>
CholeskySolver<Scalar>& CholeskySolver<Scalar>::analyze_pattern(SparseRef<Scalar> a) {
  if (a.rows() < 1 || a.cols() < 1) {
    throw std::invalid_argument(
        "CholeskySolver::analyze_pattern: A must have at least one row and column, got " +
        std::to_string(a.rows()) + "x" + std::to_string(a.cols()));
  }
  impl_.reset();
  factorized_ = false;
  reset_report(LsqMethod::cholesky);
  rows_ = a.rows();
  cols_ = a.cols();
  form_ = options_.cholesky_form != CholeskyForm::automatic ? options_.cholesky_form
          : rows_ >= cols_                                  ? CholeskyForm::normal_equations
                                                            : CholeskyForm::min_norm;
  if (!proceed({LsqMethod::cholesky, "analyze"}, "analysis")) return *this;
  auto impl = std::make_unique<Impl>();
  detail::CholmodCommon::clear_message();
  try {
    impl->c = detail::to_cholmod(a, form_ == CholeskyForm::normal_equations, impl->common);
    impl->l = detail::own(cholmod_l_analyze(impl->c.get(), impl->common.get()), impl->common);
    if (!impl->l) detail::cholmod_failure("cholmod_l_analyze", impl->common);
  } catch (const detail::CholmodError& e) {
    report_failure(e);
    return *this;
  }
  impl_ = std::move(impl);
  return *this;
}

template <class Scalar>
CholeskySolver<Scalar>& CholeskySolver<Scalar>::factorize(SparseRef<Scalar> a) {
  detail::check_matrix("CholeskySolver::factorize", a);
  if (!impl_) {
    throw std::logic_error(
        "CholeskySolver::factorize: no analysis (call analyze_pattern() or "
        "compute() first)");
  }
  detail::SparsePtr c =
      detail::to_cholmod(a, form_ == CholeskyForm::normal_equations, impl_->common);
  if (!same_pattern(*c, *impl_->c)) {
    throw std::invalid_argument(
        "CholeskySolver::factorize: A must have the pattern given to analyze_pattern (" +
        std::to_string(rows_) + "x" + std::to_string(cols_) + ", " +
        std::to_string(static_cast<const SuiteSparse_long*>(impl_->c->p)[impl_->c->ncol]) +
        " nonzeros), got " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + ", " +
        std::to_string(a.nnz()) + " nonzeros");
  }
  impl_->c = std::move(c);
  impl_->has_values = true;
  refactorize();
  return *this;
}

template <class Scalar>
CholeskySolver<Scalar>& CholeskySolver<Scalar>::set_damping(double damp) {
  LsqOptions o = options_;
  o.damp = damp;
  validate(o);
  if (!impl_ || !impl_->has_values) {
    throw std::logic_error("CholeskySolver::set_damping: no matrix (call compute() first)");
  }
  options_ = o;
  refactorize();
  return *this;
}

template <class Scalar>
void CholeskySolver<Scalar>::refactorize() {
  factorized_ = false;
  reset_report(LsqMethod::cholesky);
  if (!proceed({LsqMethod::cholesky, "factorize"}, "factorization")) return;
  cholmod_common* cc = impl_->common.get();
  detail::CholmodCommon::clear_message();
  double beta[2] = {options_.damp * options_.damp, 0};
  const int ok = cholmod_l_factorize_p(impl_->c.get(), beta, nullptr, 0, impl_->l.get(), cc);
  const Index n = static_cast<Index>(impl_->l->n);
  const std::string what = std::string(product_name(form_)) + " (" + std::to_string(n) + "x" +
                           std::to_string(n) + ", λ = " + detail::number(options_.damp) + ")";
  if (!ok || cc->status < CHOLMOD_OK) {
    info_.status = LsqStatus::numerical_issue;
    info_.message =
        "CHOLMOD could not factorize " + what + ": " + detail::CholmodCommon::last_message();
    return;
  }
  if (cc->status == CHOLMOD_NOT_POSDEF) {
    rcond_ = 0;
    info_.status = LsqStatus::not_positive_definite;
    info_.message = "CHOLMOD: " + what + " is not positive definite (a pivot <= 0 at step " +
                    std::to_string(impl_->l->minor) + " of " + std::to_string(n) +
                    " of the factorization)";
    return;
  }
  try {
    rcond_ = estimate_rcond(impl_->c.get(), impl_->l.get(), beta[0], impl_->common);
  } catch (const detail::CholmodError& e) {
    report_failure(e);
    return;
  }
  info_.condition_estimate = rcond_ > 0 ? 1 / std::sqrt(rcond_) : INFINITY;
  const double limit = singular_rcond(n);
  if (!(rcond_ > limit)) {
    info_.status = LsqStatus::not_positive_definite;
    info_.message = "CHOLMOD: " + what + " is numerically singular (λ_min/λ_max ≈ " +
                    detail::number(rcond_) + " <= " + detail::number(limit) + ")";
    return;
  }
  info_.message = "CHOLMOD: LLᵀ of " + what + ", λ_min/λ_max ≈ " + detail::number(rcond_);
  factorized_ = true;
}

template <class Scalar>
DenseMatrix<Scalar> CholeskySolver<Scalar>::solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  if (!impl_ || !impl_->has_values) {
    throw std::logic_error("CholeskySolver::solve: no factorization (call compute() first)");
  }
  detail::check_rhs<Scalar>("CholeskySolver::solve", rows_, b);
  const Index k = b.cols();
  if (!factorized_) return DenseMatrix<Scalar>::Zero(cols_, k);  // info_ says why
  if (!proceed({LsqMethod::cholesky, "solve", 0, k}, "solve")) {
    factorized_ = false;
    return DenseMatrix<Scalar>::Zero(cols_, k);
  }
  Eigen::MatrixXd bd = b.template cast<double>();
  cholmod_sparse* c = impl_->c.get();
  detail::CholmodCommon& common = impl_->common;
  try {
    Eigen::MatrixXd xd(cols_, k);
    const bool normal = form_ == CholeskyForm::normal_equations;
    // normal: x = L⁻ᵀL⁻¹ (C b) with C = Aᵀ.   min_norm: x = Cᵀ L⁻ᵀL⁻¹ b with C = A.
    Eigen::MatrixXd rhs(normal ? cols_ : rows_, k);
    if (normal) {
      detail::multiply(c, false, bd.data(), rhs.data(), k, common);
    } else {
      rhs = bd;
    }
    cholmod_dense rv = detail::view(rhs);
    detail::DensePtr z =
        detail::own(cholmod_l_solve(CHOLMOD_A, impl_->l.get(), &rv, common.get()), common);
    if (!z) detail::cholmod_failure("cholmod_l_solve", common);
    if (normal) {
      xd = detail::to_eigen(*z);
    } else {
      const Eigen::MatrixXd zd = detail::to_eigen(*z);
      detail::multiply(c, true, zd.data(), xd.data(), k, common);
    }
    // A x = Cᵀ x (normal) or C x (min_norm).
    return detail::returned_solution<Scalar>(info_, xd, bd, options_.damp, c, normal, common);
  } catch (const detail::CholmodError& e) {
    report_failure(e);
    return DenseMatrix<Scalar>::Zero(cols_, k);
  }
}

template class CholeskySolver<float>;
template class CholeskySolver<double>;

}  // namespace convmat

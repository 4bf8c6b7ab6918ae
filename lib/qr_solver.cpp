// QrSolver: SuiteSparseQR's rank-revealing QR, applied until the triangle has full rank — a
// complete orthogonal decomposition giving the minimum-norm least-squares solution. The
// formulas are at the top of qr_solver.hpp.

#include "convmat/qr_solver.hpp"

#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cholmod_wall.hpp"
#include "lsq_common.hpp"

namespace convmat {

namespace detail {
namespace {

using RMap = Eigen::Map<const Eigen::SparseMatrix<double, Eigen::ColMajor, SuiteSparse_long>>;

// F E = Q R for a p × q sparse F (CSC), rank r: R is r × q with full row rank ("squeezed"
// upper trapezoidal when r < q), E a column permutation (E[k] = j: column k of F E is column j
// of F), Q p × p orthogonal, kept as Householder vectors.
class QrFactor {
 public:
  QrFactor(CholmodCommon& c, cholmod_sparse* f, double tol)
      : c_(c),
        p_(static_cast<Index>(f->nrow)),
        q_(static_cast<Index>(f->ncol)),
        r_(nullptr, {c.get()}),
        h_(nullptr, {c.get()}),
        tau_(nullptr, {c.get()}),
        e_(nullptr, {c.get(), f->ncol}),
        hpinv_(nullptr, {c.get(), f->nrow}) {
    cholmod_sparse *r = nullptr, *h = nullptr;
    cholmod_dense* tau = nullptr;
    SuiteSparse_long *e = nullptr, *hpinv = nullptr;
    // [Q, R, E] = qr(F) with Q in Householder form; econ = 0: R has rank(F) rows.
    const SuiteSparse_long rank = SuiteSparseQR<double>(SPQR_ORDERING_DEFAULT, tol, 0, f, &r, &e,
                                                        &h, &hpinv, &tau, c.get());
    r_.reset(r);
    h_.reset(h);
    tau_.reset(tau);
    e_.reset(e);
    hpinv_.reset(hpinv);
    if (rank < 0 || !r_ || !h_ || !tau_ || !hpinv_) cholmod_failure("SuiteSparseQR", c);
    rank_ = static_cast<Index>(rank);
    tol_used_ = c.get()->SPQR_tol_used;
    if (!r_->packed) throw CholmodError("SuiteSparseQR returned an unpacked R");
    if (!r_->sorted && !cholmod_l_sort(r_.get(), c.get())) cholmod_failure("cholmod_l_sort", c);
  }

  Index rows() const { return p_; }
  Index cols() const { return q_; }
  Index rank() const { return rank_; }
  double tolerance() const { return tol_used_; }
  Index permutation(Index k) const { return e_ ? static_cast<Index>(e_.get()[k]) : k; }
  cholmod_sparse* r() const { return r_.get(); }
  RMap r_map() const {
    return RMap(static_cast<Index>(r_->nrow), static_cast<Index>(r_->ncol),
                static_cast<Index>(static_cast<const SuiteSparse_long*>(r_->p)[r_->ncol]),
                static_cast<const SuiteSparse_long*>(r_->p),
                static_cast<const SuiteSparse_long*>(r_->i), static_cast<const double*>(r_->x));
  }

  // Qᵀ X (method SPQR_QTX) or Q X (SPQR_QX); X is p × k.
  Eigen::MatrixXd multiply_q(int method, Eigen::MatrixXd x) const {
    cholmod_dense xv = view(x);
    DensePtr y = own(SuiteSparseQR_qmult<double>(method, h_.get(), tau_.get(), hpinv_.get(), &xv,
                                                 c_.get()),
                     c_);
    if (!y) cholmod_failure("SuiteSparseQR_qmult", c_);
    return to_eigen(*y);
  }

 private:
  CholmodCommon& c_;
  Index p_, q_, rank_ = 0;
  double tol_used_ = 0;
  SparsePtr r_, h_;
  DensePtr tau_;
  LongArrayPtr e_, hpinv_;
};

// Minimum-norm least squares for one matrix A, factorizing F = A (tall) or F = Aᵀ (wide), and
// when F is rank deficient, once more on Rᵀ (the child).
class MinNormQr {
 public:
  MinNormQr(CholmodCommon& c, cholmod_sparse* f, bool wide, double tol)
      : wide_(wide), f_(c, f, tol) {
    if (f_.rank() > 0 && f_.rank() < f_.cols()) {
      // tall: the solutions satisfy R Eᵀx = (QᵀB)[0:r] — the minimum-norm one is the child's
      //       (matrix R, wide, factorized as Rᵀ);
      // wide: A = E Rᵀ Q₁ᵀ — least squares on Rᵀ (tall, factorized as itself), then x = Q₁ z.
      SparsePtr rt = own(cholmod_l_transpose(f_.r(), 1, c.get()), c);
      if (!rt) cholmod_failure("cholmod_l_transpose", c);
      child_ = std::make_unique<MinNormQr>(c, rt.get(), !wide, tol);
    }
  }

  // Rank of A: the last factorization's (a child only lowers it).
  Index rank() const { return child_ ? child_->rank() : f_.rank(); }
  double tolerance() const { return f_.tolerance(); }

  // max |Rᵢᵢ| / min |Rᵢᵢ| of the full-rank triangle at the end of the chain (0 if rank 0).
  double condition_estimate() const {
    if (child_) return child_->condition_estimate();
    if (f_.rank() == 0) return 0;
    const RMap r = f_.r_map();
    double lo = INFINITY, hi = 0;
    for (Index j = 0; j < r.cols(); ++j) {
      const double d = std::abs(r.coeff(j, j));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    return lo > 0 ? hi / lo : INFINITY;
  }

  // X (cols(A) × k) for B (rows(A) × k).
  Eigen::MatrixXd solve(const Eigen::MatrixXd& b) const {
    const Index p = f_.rows(), q = f_.cols(), r = f_.rank(), k = b.cols();
    if (r == 0) return Eigen::MatrixXd::Zero(wide_ ? p : q, k);
    const RMap rm = f_.r_map();
    if (!wide_) {
      // A E = Q R:  Y = R⁻¹ (QᵀB)[0:r]  (or the child's min-norm Y of R Y = (QᵀB)[0:r]);  X = E Y
      const Eigen::MatrixXd c = f_.multiply_q(SPQR_QTX, b).topRows(r);
      const Eigen::MatrixXd y = child_ ? child_->solve(c)
                                       : Eigen::MatrixXd(rm.triangularView<Eigen::Upper>().solve(c));
      Eigen::MatrixXd x(q, k);
      for (Index i = 0; i < q; ++i) x.row(f_.permutation(i)) = y.row(i);
      return x;
    }
    // Aᵀ E = Q R, A = E Rᵀ Qᵀ:  Z = R⁻ᵀ EᵀB  (or the child's least squares Rᵀ Z ≈ EᵀB);
    // X = Q [Z; 0]
    Eigen::MatrixXd d(q, k);
    for (Index i = 0; i < q; ++i) d.row(i) = b.row(f_.permutation(i));
    Eigen::MatrixXd z = Eigen::MatrixXd::Zero(p, k);
    z.topRows(r) = child_ ? child_->solve(d)
                          : Eigen::MatrixXd(rm.transpose().triangularView<Eigen::Lower>().solve(d));
    return f_.multiply_q(SPQR_QX, std::move(z));
  }

 private:
  bool wide_;
  QrFactor f_;
  std::unique_ptr<MinNormQr> child_;
};

// [A; λI] in CSC, from the CSC of A.
SparsePtr stack_damping(const cholmod_sparse& a, double damp, CholmodCommon& c) {
  const std::size_t m = a.nrow, n = a.ncol;
  const auto* ap = static_cast<const SuiteSparse_long*>(a.p);
  const auto* ai = static_cast<const SuiteSparse_long*>(a.i);
  const auto* ax = static_cast<const double*>(a.x);
  SparsePtr s = own(cholmod_l_allocate_sparse(m + n, n, static_cast<std::size_t>(ap[n]) + n, 1, 1,
                                              0, CHOLMOD_REAL, c.get()),
                    c);
  if (!s) cholmod_failure("cholmod_l_allocate_sparse", c);
  auto* sp = static_cast<SuiteSparse_long*>(s->p);
  auto* si = static_cast<SuiteSparse_long*>(s->i);
  auto* sx = static_cast<double*>(s->x);
  SuiteSparse_long nz = 0;
  for (std::size_t j = 0; j < n; ++j) {
    sp[j] = nz;
    for (SuiteSparse_long t = ap[j]; t < ap[j + 1]; ++t, ++nz) {
      si[nz] = ai[t];
      sx[nz] = ax[t];
    }
    si[nz] = static_cast<SuiteSparse_long>(m + j);
    sx[nz++] = damp;
  }
  sp[n] = nz;
  return s;
}

}  // namespace
}  // namespace detail

template <class Scalar>
struct QrSolver<Scalar>::Impl {
  detail::CholmodCommon common;  // first: destroyed last
  detail::SparsePtr a{nullptr, {common.get()}};  // CSC of A, for the residual report
  std::unique_ptr<detail::MinNormQr> qr;
  double damp = 0;
};

template <class Scalar>
QrSolver<Scalar>::QrSolver(const LsqOptions& options) : LsqSolverBase(options) {}

template <class Scalar>
QrSolver<Scalar>::QrSolver(SparseRef<Scalar> a, const LsqOptions& options) : QrSolver(options) {
  compute(a);
}

template <class Scalar>
QrSolver<Scalar>::~QrSolver() = default;
template <class Scalar>
QrSolver<Scalar>::QrSolver(QrSolver&&) noexcept = default;
template <class Scalar>
QrSolver<Scalar>& QrSolver<Scalar>::operator=(QrSolver&&) noexcept = default;

template <class Scalar>
QrSolver<Scalar>& QrSolver<Scalar>::compute(SparseRef<Scalar> a) {
  detail::check_matrix("QrSolver::compute", a);
  impl_.reset();
  reset_report(LsqMethod::qr);
  rows_ = a.rows();
  cols_ = a.cols();
  if (!detail::keep_going(options_, {LsqMethod::qr, "factorize"})) {
    info_.status = LsqStatus::cancelled;
    info_.message = "cancelled by the progress callback before the factorization";
    return *this;
  }
  auto impl = std::make_unique<Impl>();
  detail::CholmodCommon::clear_message();
  const double tol = options_.qr_tolerance < 0 ? SPQR_DEFAULT_TOL : options_.qr_tolerance;
  try {
    impl->damp = options_.damp;
    impl->a = detail::to_cholmod(a, false, impl->common);
    if (options_.damp > 0) {
      detail::SparsePtr s = detail::stack_damping(*impl->a, options_.damp, impl->common);
      impl->qr = std::make_unique<detail::MinNormQr>(impl->common, s.get(), false, tol);
    } else if (a.rows() >= a.cols()) {
      impl->qr = std::make_unique<detail::MinNormQr>(impl->common, impl->a.get(), false, tol);
    } else {
      detail::SparsePtr at = detail::to_cholmod(a, true, impl->common);
      impl->qr = std::make_unique<detail::MinNormQr>(impl->common, at.get(), true, tol);
    }
  } catch (const detail::CholmodError& e) {
    info_.status = LsqStatus::numerical_issue;
    info_.message = e.what();
    return *this;
  }
  info_.rank = impl->qr->rank();
  info_.qr_tolerance = impl->qr->tolerance();
  info_.condition_estimate = impl->qr->condition_estimate();
  const Index full = options_.damp > 0 ? a.cols() : std::min(a.rows(), a.cols());
  info_.message = "SuiteSparseQR: rank " + std::to_string(info_.rank) + " of " +
                  std::to_string(full) + (options_.damp > 0 ? " ([A; λI], " : " (") +
                  "tol " + detail::number(info_.qr_tolerance) + ")" +
                  (info_.rank < a.cols() ? ", minimum-norm solution" : "");
  impl_ = std::move(impl);
  return *this;
}

template <class Scalar>
DenseMatrix<Scalar> QrSolver<Scalar>::solve(const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  if (!impl_) {
    throw std::logic_error("QrSolver::solve: no factorization (call compute() first" +
                           std::string(info_.status != LsqStatus::success
                                           ? "; the last one ended with " + to_string(info_.status)
                                           : "") +
                           ")");
  }
  detail::check_rhs<Scalar>("QrSolver::solve", rows_, b);
  const Index k = b.cols();
  if (!detail::keep_going(options_, {LsqMethod::qr, "solve", 0, k})) {
    info_.status = LsqStatus::cancelled;
    info_.message = "cancelled by the progress callback before the solve";
    return DenseMatrix<Scalar>::Zero(cols_, k);
  }
  const Eigen::MatrixXd bd = b.template cast<double>();
  try {
    Eigen::MatrixXd xd;
    if (impl_->damp > 0) {
      Eigen::MatrixXd stacked = Eigen::MatrixXd::Zero(rows_ + cols_, k);
      stacked.topRows(rows_) = bd;
      xd = impl_->qr->solve(stacked);
    } else {
      xd = impl_->qr->solve(bd);
    }
    DenseMatrix<Scalar> x = xd.cast<Scalar>();
    info_.status = x.allFinite() ? LsqStatus::success : LsqStatus::numerical_issue;
    // The report is about the X returned (for float: after rounding), computed in double.
    const Eigen::MatrixXd xr = x.template cast<double>();
    detail::fill_residuals(
        info_, rows_, cols_, bd.data(), xr.data(), k, impl_->damp,
        [&](const double* in, double* out) {
          detail::multiply(impl_->a.get(), false, in, out, 1, impl_->common);
        },
        [&](const double* in, double* out) {
          detail::multiply(impl_->a.get(), true, in, out, 1, impl_->common);
        });
    return x;
  } catch (const detail::CholmodError& e) {
    info_.status = LsqStatus::numerical_issue;
    info_.message = e.what();
    return DenseMatrix<Scalar>::Zero(cols_, k);
  }
}

template class QrSolver<float>;
template class QrSolver<double>;

}  // namespace convmat

// LSQR, Paige & Saunders (1982), Algorithm LSQR of §4 with the damping of §2 eliminated by one
// extra rotation per step, and the norm and condition estimates of §5; the order of operations
// follows SciPy's lsqr so that its iteration counts are comparable.

#include <cmath>
#include <stdexcept>
#include <string>

#include "krylov_common.hpp"

namespace convmat {

template <class Scalar>
KrylovReport lsqr(const LinearOperator<Scalar>& a, const Scalar* b_data, Scalar* x_data,
                  const LsqOptions& o, Index column, Index columns) {
  using Vec = detail::KrylovVector<Scalar>;
  validate(o);
  const Index m = a.rows(), n = a.cols();
  const Index limit = detail::iteration_limit(o, n);
  const double eps = std::numeric_limits<Scalar>::epsilon();
  const double damp = o.damp, dampsq = damp * damp;
  const Eigen::Map<const Vec> b(b_data, m);
  Eigen::Map<Vec> x(x_data, n);
  x.setZero();
  KrylovReport rep;

  // Golub–Kahan start: β₁u₁ = b, α₁v₁ = Aᵀu₁.
  Vec u = b, v(n), w(n), au(m), atv(n);
  double beta = detail::norm2(u);
  const double bnorm = beta;
  double alpha = 0;
  if (beta > 0) {
    u /= Scalar(beta);
    a.apply_adjoint(u.data(), v.data());
    alpha = detail::norm2(v);
  } else {
    v.setZero();
  }
  if (alpha > 0) v /= Scalar(alpha);
  w = v;

  double rhobar = alpha, phibar = beta;
  double anorm = 0, acond = 0, ddnorm = 0, res2 = 0, xnorm = 0, xxnorm = 0, z = 0;
  double cs2 = -1, sn2 = 0;
  double rnorm = beta, arnorm = alpha * beta;
  rep.residual_history.push_back(rnorm);
  auto done = [&](int istop) {
    rep.residual_norm = rnorm;
    rep.normal_residual_norm = arnorm;
    rep.norm_estimate = anorm;
    rep.condition_estimate = acond;
    rep.solution_norm = xnorm;
    detail::finish(rep, istop);
    return rep;
  };
  if (arnorm == 0) return done(0);  // b = 0 or Aᵀb = 0: x = 0

  while (rep.iterations < limit) {
    ++rep.iterations;
    // β u = A v − α u,  α v = Aᵀ u − β v.
    a.apply(v.data(), au.data());
    u = au - Scalar(alpha) * u;
    beta = detail::norm2(u);
    if (beta > 0) {
      u /= Scalar(beta);
      anorm = std::sqrt(anorm * anorm + alpha * alpha + beta * beta + dampsq);
      a.apply_adjoint(u.data(), atv.data());
      v = atv - Scalar(beta) * v;
      alpha = detail::norm2(v);
      if (alpha > 0) v /= Scalar(alpha);
    }

    // Eliminate the damping: rotate (ρ̄, λ) into ρ̄₁; ψ carries the damped part of the residual.
    double rhobar1 = rhobar, psi = 0;
    if (damp > 0) {
      rhobar1 = std::hypot(rhobar, damp);
      const double cs1 = rhobar / rhobar1, sn1 = damp / rhobar1;
      psi = sn1 * phibar;
      phibar = cs1 * phibar;
    }

    // Rotation Q_k: eliminate β_{k+1} from the lower bidiagonal B_k.
    const detail::Rotation q = detail::sym_ortho(rhobar1, beta);
    const double rho = q.r, theta = q.s * alpha;
    rhobar = -q.c * alpha;
    const double phi = q.c * phibar;
    phibar = q.s * phibar;
    const double tau = q.s * phi;

    // x_k = x_{k−1} + (φ/ρ) w,  w = v − (θ/ρ) w;  ‖D_k‖_F² accumulates ‖w/ρ‖² for cond(A).
    ddnorm += double(w.squaredNorm()) / (rho * rho);
    x += Scalar(phi / rho) * w;
    w = v - Scalar(theta / rho) * w;

    // ‖x_k‖ from the lower-bidiagonal factor (§5.4), without forming x's norm.
    const double delta = sn2 * rho, gambar = -cs2 * rho;
    const double rhs = phi - delta * z, zbar = rhs / gambar;
    xnorm = std::sqrt(xxnorm + zbar * zbar);
    const double gamma = std::hypot(gambar, theta);
    cs2 = gambar / gamma;
    sn2 = theta / gamma;
    z = rhs / gamma;
    xxnorm += z * z;

    // ‖r̄_k‖² = φ̄² + Σψ², ‖Aᵀr̄_k‖ = α|τ|, cond = ‖A‖_F ‖D_k‖_F.
    acond = anorm * std::sqrt(ddnorm);
    res2 += psi * psi;
    rnorm = std::sqrt(phibar * phibar + res2);
    arnorm = alpha * std::abs(tau);
    rep.residual_history.push_back(rnorm);
    if (!std::isfinite(rnorm) || !std::isfinite(arnorm) || !std::isfinite(xnorm)) {
      done(0);
      detail::finish_non_finite(rep);
      return rep;
    }

    detail::StopTests t;
    t.test1 = rnorm / bnorm;
    t.test2 = arnorm / (anorm * rnorm + eps);
    t.test3 = 1 / (acond + eps);
    t.t1 = t.test1 / (1 + anorm * xnorm / bnorm);
    t.rtol = o.btol + o.atol * anorm * xnorm / bnorm;
    const int istop = detail::stop_code<Scalar>(rep.iterations, limit, t, o);
    if (istop != 0) return done(istop);
    if (!detail::keep_going(o, {LsqMethod::lsqr, "iterate", column, columns, rep.iterations,
                                limit, rnorm, rnorm / bnorm})) {
      done(0);
      detail::finish_cancelled(rep);
      return rep;
    }
  }
  return done(7);  // limit = 0 iterations asked for cannot happen (limit >= 1 for n >= 1)
}

template KrylovReport lsqr<float>(const LinearOperator<float>&, const float*, float*,
                                  const LsqOptions&, Index, Index);
template KrylovReport lsqr<double>(const LinearOperator<double>&, const double*, double*,
                                   const LsqOptions&, Index, Index);

}  // namespace convmat

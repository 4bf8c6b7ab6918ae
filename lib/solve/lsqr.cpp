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
  detail::KrylovRun<Scalar> run(a, b_data, x_data, o, LsqMethod::lsqr, column, columns);
  auto& x = run.x;
  auto& gk = run.gk;
  const double eps = std::numeric_limits<Scalar>::epsilon();
  const double damp = o.damp, dampsq = damp * damp;

  detail::KrylovVector<Scalar> w = gk.v;
  const double bnorm = gk.beta;
  double rhobar = gk.alpha, phibar = gk.beta;
  double anorm = 0, acond = 0, ddnorm = 0, res2 = 0, xnorm = 0, xxnorm = 0, z = 0;
  double cs2 = -1, sn2 = 0;
  double rnorm = gk.beta, arnorm = gk.alpha * gk.beta;
  auto done = [&](int istop) { return run.finish(istop, {rnorm, arnorm, anorm, acond, xnorm}); };
  if (arnorm == 0) return done(0);  // b = 0 or Aᵀb = 0: x = 0

  while (run.next_iteration()) {
    // ‖B_k‖_F grows by the α, β of this step (and λ).
    const double alpha_old = gk.alpha;
    gk.step();
    const double alpha = gk.alpha, beta = gk.beta;
    if (beta > 0) anorm = std::sqrt(anorm * anorm + alpha_old * alpha_old + beta * beta + dampsq);

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
    w = gk.v - Scalar(theta / rho) * w;

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

    const bool finite = std::isfinite(rnorm) && std::isfinite(arnorm) && std::isfinite(xnorm);
    const int next = run.after_iteration(
        detail::stop_tests(rnorm, bnorm, anorm, xnorm, arnorm / (anorm * rnorm + eps),
                           1 / (acond + eps), o),
        finite, rnorm, bnorm);
    if (next != 0) return done(next);
  }
  return done(7);  // limit = 0 iterations asked for cannot happen (limit >= 1 for n >= 1)
}

template KrylovReport lsqr<float>(const LinearOperator<float>&, const float*, float*,
                                  const LsqOptions&, Index, Index);
template KrylovReport lsqr<double>(const LinearOperator<double>&, const double*, double*,
                                   const LsqOptions&, Index, Index);

}  // namespace convmat

// LSMR, Fong & Saunders (2011): Algorithm LSMR of §2.6 (the damped form of §2.7 through the
// rotation Q̂ that folds λ into ᾱ), the ‖r_k‖ estimate of §3.1 and the ‖A‖, cond(A) estimates of
// §3.3–3.4; the order of operations follows SciPy's lsmr so that its iteration counts are
// comparable.

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "krylov_common.hpp"

namespace convmat {

template <class Scalar>
KrylovReport lsmr(const LinearOperator<Scalar>& a, const Scalar* b_data, Scalar* x_data,
                  const LsqOptions& o, Index column, Index columns) {
  using Vec = detail::KrylovVector<Scalar>;
  detail::KrylovRun<Scalar> run(a, b_data, x_data, o, LsqMethod::lsmr, column, columns);
  auto& x = run.x;
  auto& gk = run.gk;
  const Index n = a.cols();
  const double damp = o.damp;

  const double normb = gk.beta;

  // The bidiagonal QR (ρ, c, s), the second QR (ρ̄, c̄, s̄), and ζ̄: §2.3.
  double zetabar = gk.alpha * gk.beta, alphabar = gk.alpha;
  double rho = 1, rhobar = 1, cbar = 1, sbar = 0;
  Vec h = gk.v, hbar = Vec::Zero(n);
  // ‖r_k‖ estimate: §3.1.
  double betadd = gk.beta, betad = 0, rhodold = 1, tautildeold = 0, thetatilde = 0, zeta = 0, d = 0;
  // ‖A‖ and cond(A) estimates: §3.3–3.4.
  double norma2 = gk.alpha * gk.alpha, maxrbar = 0, minrbar = 1e100, norma = std::sqrt(norma2);
  double conda = 1, normx = 0;
  double normr = gk.beta, normar = gk.alpha * gk.beta;
  auto done = [&](int istop) { return run.finish(istop, {normr, normar, norma, conda, normx}); };
  if (normar == 0) return done(0);  // b = 0 or Aᵀb = 0: x = 0

  while (run.next_iteration()) {
    gk.step();
    const double alpha = gk.alpha, beta = gk.beta;

    // Q̂_{k,2k+1}: fold the damping into ᾱ_k.
    const detail::Rotation qhat = detail::sym_ortho(alphabar, damp);
    // Q_{k,k+1}: eliminate β_{k+1}.
    const double rhoold = rho;
    const detail::Rotation q = detail::sym_ortho(qhat.r, beta);
    rho = q.r;
    const double thetanew = q.s * alpha;
    alphabar = q.c * alpha;
    // Q̄_{k,k+1}: the second QR, of Rᵀ.
    const double rhobarold = rhobar, zetaold = zeta;
    const double thetabar = sbar * rho, rhotemp = cbar * rho;
    const detail::Rotation qbar = detail::sym_ortho(cbar * rho, thetanew);
    cbar = qbar.c;
    sbar = qbar.s;
    rhobar = qbar.r;
    zeta = cbar * zetabar;
    zetabar = -sbar * zetabar;

    // h̄_k = h_k − (θ̄ρ/(ρ_{k−1}ρ̄_{k−1})) h̄_{k−1},  x_k = x_{k−1} + (ζ/(ρρ̄)) h̄_k,
    // h_{k+1} = v_{k+1} − (θ_{k+1}/ρ) h_k.
    hbar = h - Scalar(thetabar * rho / (rhoold * rhobarold)) * hbar;
    x += Scalar(zeta / (rho * rhobar)) * hbar;
    h = gk.v - Scalar(thetanew / rho) * h;

    // ‖r_k‖: apply Q̂ and Q to (β̈, 0), then the rotation Q̃ of the upper-bidiagonal R̃.
    const double betaacute = qhat.c * betadd, betacheck = -qhat.s * betadd;
    const double betahat = q.c * betaacute;
    betadd = -q.s * betaacute;
    const double thetatildeold = thetatilde;
    const detail::Rotation qtilde = detail::sym_ortho(rhodold, thetabar);
    thetatilde = qtilde.s * rhobar;
    rhodold = qtilde.c * rhobar;
    betad = -qtilde.s * betad + qtilde.c * betahat;
    tautildeold = (zetaold - thetatildeold * tautildeold) / qtilde.r;
    const double taud = (zeta - thetatilde * tautildeold) / rhodold;
    d += betacheck * betacheck;
    normr = std::sqrt(d + (betad - taud) * (betad - taud) + betadd * betadd);

    // ‖A‖ (Frobenius norm of the bidiagonal so far) and cond(A) from the diagonal of R̄.
    norma2 += beta * beta;
    norma = std::sqrt(norma2);
    norma2 += alpha * alpha;
    maxrbar = std::max(maxrbar, rhobarold);
    if (run.iterations() > 1) minrbar = std::min(minrbar, rhobarold);
    conda = std::max(maxrbar, rhotemp) / std::min(minrbar, rhotemp);

    normar = std::abs(zetabar);
    normx = detail::norm2(x);

    const bool finite = std::isfinite(normr) && std::isfinite(normar) && std::isfinite(normx);
    const int next = run.after_iteration(
        detail::stop_tests(normr, normb, norma, normx,
                           norma * normr != 0 ? normar / (norma * normr) : INFINITY, 1 / conda, o),
        finite, normr, normb);
    if (next != 0) return done(next);
  }
  return done(7);
}

template KrylovReport lsmr<float>(const LinearOperator<float>&, const float*, float*,
                                  const LsqOptions&, Index, Index);
template KrylovReport lsmr<double>(const LinearOperator<double>&, const double*, double*,
                                   const LsqOptions&, Index, Index);

}  // namespace convmat

// LSQR, Paige & Saunders (1982), Algorithm LSQR of §4 with the damping of §2 eliminated by one
// extra rotation per step, and the norm and condition estimates of §5; the order of operations
// follows SciPy's lsqr so that its iteration counts are comparable. The starting vector and the
// preconditioner enter through KrylovProblem (krylov_problem.hpp).

#include <cmath>
#include <stdexcept>
#include <string>

#include "krylov_common.hpp"
#include "krylov_problem.hpp"

namespace convmat {

template <class Scalar>
KrylovReport lsqr(const LinearOperator<Scalar>& a_in, const Scalar* b_data, Scalar* x_data,
                  const LsqOptions& o, const KrylovSetup<Scalar>& setup) {
  using Vec = detail::KrylovVector<Scalar>;
  validate(o);
  const detail::KrylovProblem<Scalar> problem(a_in, b_data, setup.x0, o.damp,
                                              setup.preconditioner);
  const LinearOperator<Scalar>& a = problem.op();
  const bool preconditioned = problem.preconditioned();
  const Index n = a.cols();
  const Index limit = detail::iteration_limit(o, a_in.cols());
  const double eps = std::numeric_limits<Scalar>::epsilon();
  const double damp = problem.inner_damp(), dampsq = damp * damp;
  // Without a preconditioner x̃ is x itself, started at x0 (SciPy's order of operations).
  Vec xt = Vec::Zero(n);
  if (!preconditioned && setup.x0) xt = Eigen::Map<const Vec>(setup.x0, n);
  KrylovReport rep;
  detail::ResidualTracker<Scalar> tracker(problem);

  detail::Bidiagonalization<Scalar> gk(a, problem.rhs());
  Vec w = gk.v;
  // ‖b‖ of the tests: b's own (SciPy's, also with x0); the preconditioned right-hand side's
  // for the ratios of the preconditioned problem.
  const double bnorm = setup.x0 || preconditioned ? problem.b_norm() : gk.beta;
  const double rhs_norm = preconditioned ? gk.beta : bnorm;
  double rhobar = gk.alpha, phibar = gk.beta;
  double anorm = 0, acond = 0, ddnorm = 0, res2 = 0, xnorm = 0, xxnorm = 0, z = 0;
  double cs2 = -1, sn2 = 0;
  double rnorm = gk.beta, arnorm = gk.alpha * gk.beta;
  // The true residual: LSQR's own estimate, except on the left (tracked).
  double true_rnorm = tracker.on() ? detail::KrylovProblem<Scalar>::norm(problem.r0()) : rnorm;
  double direction = 0;  // θ/ρ of the last step: w ← v − (θ/ρ)w
  rep.residual_history.push_back(true_rnorm);
  auto done = [&](int istop) {
    problem.finish(preconditioned ? setup.x0 : nullptr, xt.data(), x_data);
    return detail::finish(rep, istop, {true_rnorm, arnorm, anorm, acond, xnorm});
  };
  if (arnorm == 0) return done(0);  // b = 0 or Aᵀb = 0: x = 0 (or x0)

  while (rep.iterations < limit) {
    ++rep.iterations;
    // ‖B_k‖_F grows by the α, β of this step (and λ).
    const double alpha_old = gk.alpha;
    gk.step();
    const double alpha = gk.alpha, beta = gk.beta;
    if (beta > 0) anorm = std::sqrt(anorm * anorm + alpha_old * alpha_old + beta * beta + dampsq);
    tracker.first_direction(direction);

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
    xt += Scalar(phi / rho) * w;
    const double tracked = tracker.step(phi / rho, false);
    w = gk.v - Scalar(theta / rho) * w;
    direction = theta / rho;

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
    true_rnorm = tracker.on() ? tracked : rnorm;

    detail::StopTests t;
    t.test1 = true_rnorm / bnorm;
    t.test2 = arnorm / (anorm * rnorm + eps);
    t.test3 = 1 / (acond + eps);
    t.t1 = t.test1 / (1 + anorm * xnorm / rhs_norm);
    t.rtol = o.btol + o.atol * anorm * xnorm / rhs_norm;
    const bool finite = std::isfinite(rnorm) && std::isfinite(arnorm) && std::isfinite(xnorm) &&
                        std::isfinite(true_rnorm);
    const int next = detail::after_iteration<Scalar>(rep, t, finite, o, LsqMethod::lsqr,
                                                     setup.column, setup.columns, limit,
                                                     true_rnorm, bnorm);
    if (next != 0) return done(next);
  }
  return done(7);  // limit = 0 iterations asked for cannot happen (limit >= 1 for n >= 1)
}

template KrylovReport lsqr<float>(const LinearOperator<float>&, const float*, float*,
                                  const LsqOptions&, const KrylovSetup<float>&);
template KrylovReport lsqr<double>(const LinearOperator<double>&, const double*, double*,
                                   const LsqOptions&, const KrylovSetup<double>&);

}  // namespace convmat

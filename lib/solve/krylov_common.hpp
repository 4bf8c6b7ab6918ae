#pragma once
// What LSQR and LSMR share: vectors, the stable Givens rotation, the stopping rules.

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "convmat/solve/iterative_lsq.hpp"
#include "krylov_problem.hpp"
#include "lsq_common.hpp"

namespace convmat::detail {

template <class Scalar>
using KrylovVector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// ‖v‖₂, accumulated in double.
template <class Derived>
double norm2(const Eigen::MatrixBase<Derived>& v) {
  if constexpr (std::is_same_v<typename Derived::Scalar, double>) {
    return v.norm();
  } else {
    double s = 0;
    for (Index i = 0; i < v.size(); ++i) s += double(v[i]) * double(v[i]);
    return std::sqrt(s);
  }
}

// Golub–Kahan bidiagonalization, the engine of both algorithms (P&S §3, F&S §2.1):
//   start:  β₁u₁ = b,  α₁v₁ = Aᵀu₁
//   step:   β_{k+1}u_{k+1} = A v_k − α_k u_k,  α_{k+1}v_{k+1} = Aᵀu_{k+1} − β_{k+1}v_k
// (a zero β or α stops the recurrence: the Krylov space is exhausted and the vectors stay.)
template <class Scalar>
class Bidiagonalization {
 public:
  using Vec = KrylovVector<Scalar>;
  Bidiagonalization(const LinearOperator<Scalar>& a, const Scalar* b)
      : a_(a), u(Eigen::Map<const Vec>(b, a.rows())), v(a.cols()), au_(a.rows()), atv_(a.cols()) {
    beta = norm2(u);
    if (beta > 0) {
      u /= Scalar(beta);
      a_.apply_adjoint(u.data(), v.data());
      alpha = norm2(v);
    } else {
      v.setZero();
    }
    if (alpha > 0) v /= Scalar(alpha);
  }

  void step() {
    a_.apply(v.data(), au_.data());
    u = au_ - Scalar(alpha) * u;
    beta = norm2(u);
    if (beta > 0) {
      u /= Scalar(beta);
      a_.apply_adjoint(u.data(), atv_.data());
      v = atv_ - Scalar(beta) * v;
      alpha = norm2(v);
      if (alpha > 0) v /= Scalar(alpha);
    }
  }

 private:
  const LinearOperator<Scalar>& a_;

 public:
  Vec u, v;
  double alpha = 0, beta = 0;

 private:
  Vec au_, atv_;
};

// The plane rotation [c s; −s c]·[a; b] = [r; 0] with r >= 0 computed without overflow
// (SciPy's _sym_ortho, from Choi's MINRES-QLP thesis).
struct Rotation {
  double c, s, r;
};
inline Rotation sym_ortho(double a, double b) {
  auto sign = [](double v) { return double((v > 0) - (v < 0)); };
  if (b == 0) return {sign(a), 0, std::abs(a)};
  if (a == 0) return {0, sign(b), std::abs(b)};
  if (std::abs(b) > std::abs(a)) {
    const double tau = a / b;
    const double s = sign(b) / std::sqrt(1 + tau * tau);
    return {s * tau, s, b / s};
  }
  const double tau = b / a;
  const double c = sign(a) / std::sqrt(1 + tau * tau);
  return {c, c * tau, a / c};
}

// The quantities the stopping rules compare (Paige & Saunders §6, Fong & Saunders §3.5):
//   test1 = ‖r‖/‖b‖,  test2 = ‖Aᵀr‖/(‖A‖‖r‖),  test3 = 1/cond(A),
//   t1 = test1 / (1 + ‖A‖‖x‖/‖b‖),  rtol = btol + atol·‖A‖‖x‖/‖b‖.
// With a preconditioner, ‖r‖ in test1 is the true residual and ‖b‖ b's own norm; ‖A‖, ‖x‖,
// cond(A) and test2 are the preconditioned problem's (iterative_lsq.hpp).
struct StopTests {
  double test1, test2, test3, t1, rtol;
};

// The tests from the running estimates of ‖r‖, ‖b‖, ‖A‖ and ‖x‖, with test2 and test3 as each
// algorithm forms them. `scale` is the norm of the right-hand side the iteration runs on, which
// ‖A‖‖x‖ is compared with: ‖b‖ itself, or with a preconditioner the preconditioned one.
inline StopTests stop_tests(double rnorm, double bnorm, double anorm, double xnorm, double test2,
                            double test3, const LsqOptions& o, double scale) {
  const double test1 = rnorm / bnorm;
  return {test1, test2, test3, test1 / (1 + anorm * xnorm / scale),
          o.btol + o.atol * anorm * xnorm / scale};
}

// SciPy's istop for iteration `itn` (0 = keep going); later rules take precedence, as there;
// the discrepancy principle (8, test1 <= τ·noise_level) before all of them.
// "1 + t <= 1" is evaluated in Scalar: machine precision is Scalar's.
template <class Scalar>
int stop_code(Index itn, Index limit, const StopTests& t, const LsqOptions& o) {
  auto negligible = [](double v) { return Scalar(1) + Scalar(v) <= Scalar(1); };
  const double ctol = o.conlim > 0 ? 1 / o.conlim : 0;
  int istop = 0;
  if (itn >= limit) istop = 7;
  if (negligible(t.test3)) istop = 6;
  if (negligible(t.test2)) istop = 5;
  if (negligible(t.t1)) istop = 4;
  if (t.test3 <= ctol) istop = 3;
  if (t.test2 <= o.atol) istop = 2;
  if (t.test1 <= t.rtol) istop = 1;
  if (o.noise_level > 0 && t.test1 <= o.discrepancy_factor * o.noise_level) istop = 8;
  return istop;
}

inline LsqStatus status_of(int istop) {
  switch (istop) {
    case 3:
    case 6: return LsqStatus::condition_limit;
    case 7: return LsqStatus::iteration_limit;
    default: return LsqStatus::success;
  }
}

// Codes beyond SciPy's, for finish(): both are reported as stop_code −1.
constexpr int cancelled = -1, non_finite = -2;

// After an iteration, with the tests' values: records ‖r̄_k‖ and returns SciPy's istop (> 0:
// stop), 0 to go on, `non_finite` when a NaN/Inf appeared, or `cancelled` when the progress
// callback said so.
template <class Scalar>
int after_iteration(KrylovReport& rep, const StopTests& t, bool finite, const LsqOptions& o,
                    LsqMethod method, Index column, Index columns, Index limit, double rnorm,
                    double bnorm) {
  rep.residual_history.push_back(rnorm);
  if (!finite) return non_finite;
  const int istop = stop_code<Scalar>(rep.iterations, limit, t, o);
  if (istop != 0) return istop;
  const bool go_on = keep_going(
      o, {method, "iterate", column, columns, rep.iterations, limit, rnorm, rnorm / bnorm});
  return go_on ? 0 : cancelled;
}

// The running estimates a finished run reports.
struct Estimates {
  double residual, normal_residual, norm, condition, solution;
};

// Sets status, stop_code, message and the estimates of a finished run.
inline KrylovReport finish(KrylovReport& r, int istop, const Estimates& e) {
  r.residual_norm = e.residual;
  r.normal_residual_norm = e.normal_residual;
  r.norm_estimate = e.norm;
  r.condition_estimate = e.condition;
  r.solution_norm = e.solution;
  r.stop_code = istop >= 0 ? istop : -1;
  if (istop == cancelled) {
    r.status = LsqStatus::cancelled;
    r.message =
        "cancelled by the progress callback after " + std::to_string(r.iterations) + " iterations";
  } else if (istop == non_finite) {
    r.status = LsqStatus::numerical_issue;
    r.message = "a NaN or Inf appeared at iteration " + std::to_string(r.iterations) +
                " (does the operator return finite values?)";
  } else {
    r.status = status_of(istop);
    r.message = krylov_stop_message(istop);
  }
  return r;
}

// One run of LSQR or LSMR on one right-hand side, what both algorithms do around their own
// recurrences: the options validated (first of all), the problem they iterate on (A, or with a
// starting vector and a preconditioner the shifted and preconditioned one: krylov_problem.hpp),
// the iteration limit, the bidiagonalization started from its right-hand side, the true
// residual (tracked on the left), the stopping tests, and x mapped back at the end. The report's
// residual history starts with ‖r₀‖ = ‖b − A x0‖.
template <class Scalar>
class KrylovRun {
 public:
  using Vec = KrylovVector<Scalar>;

  // x: a.cols() entries, written by finish(); setup: x0, S and the progress labels.
  KrylovRun(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x, const LsqOptions& o,
            LsqMethod method, const KrylovSetup<Scalar>& setup)
      : o_((validate(o), o)),
        method_(method),
        setup_(setup),
        x_out_(x),
        x_size_(a.cols()),
        problem(a, b, setup.x0, o.damp, setup.preconditioner),
        limit(iteration_limit(o, a.cols())),
        damp(problem.inner_damp()),
        xt(start(problem, setup.x0)),
        gk(problem.op(), problem.rhs()),
        tracker(problem),
        // ‖b‖ of the tests: b's own (SciPy's, also with x0); ‖A‖‖x‖ of the preconditioned
        // problem is compared with its own right-hand side.
        bnorm(setup.x0 || problem.preconditioned() ? problem.b_norm() : gk.beta),
        scale(problem.preconditioned() ? gk.beta : bnorm),
        true_rnorm(tracker.on() ? KrylovProblem<Scalar>::norm(problem.r0()) : gk.beta) {
    report_.residual_history.push_back(true_rnorm);
  }

  // Counts the next iteration; false at the iteration limit.
  bool next_iteration() {
    if (report_.iterations >= limit) return false;
    ++report_.iterations;
    return true;
  }
  Index iterations() const { return report_.iterations; }

  // The true residual after an iteration: the algorithm's own estimate `rnorm`, or the tracked
  // one on the left (`tracked`, what tracker.step returned).
  void set_residual(double rnorm, double tracked) { true_rnorm = tracker.on() ? tracked : rnorm; }

  // After an iteration (after_iteration above) with the algorithm's estimates of ‖A‖, ‖x̃‖, test2
  // and test3: 0 to go on, else the code to finish with.
  int after_iteration(double anorm, double xnorm, double test2, double test3, bool finite) {
    const StopTests t = stop_tests(true_rnorm, bnorm, anorm, xnorm, test2, test3, o_, scale);
    return detail::after_iteration<Scalar>(report_, t, finite && std::isfinite(true_rnorm), o_,
                                           method_, setup_.column, setup_.columns, limit,
                                           true_rnorm, bnorm);
  }
  // x from x̃ and the report of the finished run (finish above; its residual is the true one).
  KrylovReport finish(int istop, Estimates e) {
    problem.finish(problem.preconditioned() ? setup_.x0 : nullptr, xt.data(), x_out_);
    e.residual = true_rnorm;
    return detail::finish(report_, istop, e);
  }
  // SciPy's LSMR for b = 0 with a starting vector: x = 0 (not x0), reported as stop code 0.
  KrylovReport finish_at_zero(Estimates e) {
    Eigen::Map<Vec>(x_out_, x_size_).setZero();
    e.residual = true_rnorm;
    return detail::finish(report_, 0, e);
  }

 private:
  // x̃'s start: x0 itself without a preconditioner (SciPy's order of operations), else 0 (the
  // correction, x0 added back by finish).
  static Vec start(const KrylovProblem<Scalar>& p, const Scalar* x0) {
    Vec v = Vec::Zero(p.unknowns());
    if (!p.preconditioned() && x0) v = Eigen::Map<const Vec>(x0, v.size());
    return v;
  }

  const LsqOptions& o_;
  LsqMethod method_;
  KrylovSetup<Scalar> setup_;
  Scalar* x_out_;
  Index x_size_;
  KrylovReport report_;

 public:
  const KrylovProblem<Scalar> problem;
  const Index limit;
  const double damp;  // the damp the recurrences apply (0 when folded into the problem)
  Vec xt;             // the iterate of the problem's own unknowns
  Bidiagonalization<Scalar> gk;
  ResidualTracker<Scalar> tracker;
  const double bnorm, scale;
  double true_rnorm;
};

}  // namespace convmat::detail

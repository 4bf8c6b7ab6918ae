#pragma once
// What LSQR and LSMR share: vectors, the stable Givens rotation, the stopping rules.

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "convmat/solve/iterative_lsq.hpp"
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
struct StopTests {
  double test1, test2, test3, t1, rtol;
};

// The tests from the running estimates of ‖r‖, ‖b‖, ‖A‖ and ‖x‖, with test2 and test3 as each
// algorithm forms them.
inline StopTests stop_tests(double rnorm, double bnorm, double anorm, double xnorm, double test2,
                            double test3, const LsqOptions& o) {
  const double test1 = rnorm / bnorm;
  return {test1, test2, test3, test1 / (1 + anorm * xnorm / bnorm),
          o.btol + o.atol * anorm * xnorm / bnorm};
}

// SciPy's istop for iteration `itn` (0 = keep going); later rules take precedence, as there.
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
// recurrences: the options validated (first of all), x = 0, the iteration limit, the
// bidiagonalization started from b, and the report with ‖r₀‖ = ‖b‖ in its residual history.
template <class Scalar>
class KrylovRun {
 public:
  // x: a.cols() entries; `column`/`columns` only label the progress callbacks.
  KrylovRun(const LinearOperator<Scalar>& a, const Scalar* b, Scalar* x, const LsqOptions& o,
            LsqMethod method, Index column, Index columns)
      : o_((validate(o), o)),
        method_(method),
        column_(column),
        columns_(columns),
        limit(iteration_limit(o, a.cols())),
        x(zeroed(x, a.cols())),
        gk(a, b) {
    report_.residual_history.push_back(gk.beta);
  }

  // Counts the next iteration; false at the iteration limit.
  bool next_iteration() {
    if (report_.iterations >= limit) return false;
    ++report_.iterations;
    return true;
  }
  Index iterations() const { return report_.iterations; }

  // After an iteration (after_iteration above): 0 to go on, else the code to finish with.
  int after_iteration(const StopTests& t, bool finite, double rnorm, double bnorm) {
    return detail::after_iteration<Scalar>(report_, t, finite, o_, method_, column_, columns_,
                                           limit, rnorm, bnorm);
  }
  // The report of the finished run (finish above).
  KrylovReport finish(int istop, const Estimates& e) { return detail::finish(report_, istop, e); }

 private:
  static Eigen::Map<KrylovVector<Scalar>> zeroed(Scalar* x, Index n) {
    Eigen::Map<KrylovVector<Scalar>> v(x, n);
    v.setZero();
    return v;
  }

  const LsqOptions& o_;
  LsqMethod method_;
  Index column_, columns_;
  KrylovReport report_;

 public:
  const Index limit;
  Eigen::Map<KrylovVector<Scalar>> x;
  Bidiagonalization<Scalar> gk;
};

}  // namespace convmat::detail

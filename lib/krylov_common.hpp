#pragma once
// What LSQR and LSMR share: vectors, the stable Givens rotation, the stopping rules.

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <type_traits>

#include "convmat/iterative_lsq.hpp"
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

inline Index iteration_limit(const LsqOptions& o, Index cols) {
  return o.iteration_limit > 0 ? o.iteration_limit : 2 * cols;
}

// Sets status/stop_code/message of a finished run.
inline void finish(KrylovReport& r, int istop) {
  r.stop_code = istop;
  r.status = status_of(istop);
  r.message = krylov_stop_message(istop);
}
inline void finish_cancelled(KrylovReport& r) {
  r.stop_code = -1;
  r.status = LsqStatus::cancelled;
  r.message = "cancelled by the progress callback after " + std::to_string(r.iterations) +
              " iterations";
}
inline void finish_non_finite(KrylovReport& r) {
  r.stop_code = -1;
  r.status = LsqStatus::numerical_issue;
  r.message = "a NaN or Inf appeared at iteration " + std::to_string(r.iterations) +
              " (does the operator return finite values?)";
}

}  // namespace convmat::detail

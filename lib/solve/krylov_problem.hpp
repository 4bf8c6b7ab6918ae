#pragma once
// The problem LSQR and LSMR iterate on, given A, b, a starting vector x0 and a preconditioner S
// (preconditioner.hpp), and the way back to x:
//   no preconditioner  Ã = A,                 b̃ = r0 = b − A x0,   x = x0 + x̃   (λ inside LSQR)
//   left               Ã = S A   | S [A, λI],  b̃ = S r0,           x = x0 + x̃[:n]
//   right              Ã = A S   | [A; λI] S,  b̃ = r0 | [r0; 0],   x = x0 + S x̃
// With λ > 0 and a preconditioner the damping is folded into the augmented operator (consistent
// with full row rank on the left, full column rank on the right), so the preconditioned limit is
// the damped solution itself; LSQR/LSMR then run undamped. As in SciPy, x0 shifts the problem to
// the correction x − x0 (the damping applies to it).
//
// On the left the methods only see S r; the true residual r = r0 − A_λ x̃ (A_λ = A or [A, λI]) is
// kept alongside by mirroring their vector updates on the images A_λ v, which Ã caches as it
// applies S A_λ — two vector updates of length m per iteration, no extra product.

#include <Eigen/Core>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/iterative_lsq.hpp"
#include "convmat/solve/preconditioner.hpp"

namespace convmat::detail {

template <class Scalar>
class KrylovProblem {
 public:
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  KrylovProblem(const LinearOperator<Scalar>& a, const Scalar* b, const Scalar* x0, double damp,
                const Preconditioner<Scalar>* s)
      : a_(a), s_(s), damp_(damp), b_(Eigen::Map<const Vec>(b, a.rows())) {
    const Index m = a.rows(), n = a.cols();
    r0_ = b_;
    if (x0) {
      Vec ax(m);
      a.apply(x0, ax.data());
      r0_ -= ax;
    }
    if (!s_) {
      rhs_ = r0_;
      return;
    }
    const bool left = s_->side() == PreconditionerSide::left;
    const Index expected = left ? m : n;
    if (s_->rows() != expected || s_->cols() != expected) {
      throw std::invalid_argument(std::string("the ") + (left ? "left" : "right") +
                                  " preconditioner must be " + std::to_string(expected) + "x" +
                                  std::to_string(expected) + " (A is " + std::to_string(m) + "x" +
                                  std::to_string(n) + "), got " + std::to_string(s_->rows()) + "x" +
                                  std::to_string(s_->cols()));
    }
    if (left) {
      inner_ = std::make_unique<Augmented>(a, damp, /*wide=*/true);
      op_ = std::make_unique<Left>(*inner_, *s_);
      rhs_.resize(m);
      s_->apply(r0_.data(), rhs_.data());
    } else {
      inner_ = std::make_unique<Augmented>(a, damp, /*wide=*/false);
      op_ = std::make_unique<Right>(*inner_, *s_);
      rhs_ = Vec::Zero(inner_->rows());
      rhs_.head(m) = r0_;
    }
  }

  const LinearOperator<Scalar>& op() const { return s_ ? *op_ : a_; }
  const Scalar* rhs() const { return rhs_.data(); }
  Index unknowns() const { return op().cols(); }
  // The damp LSQR/LSMR apply themselves: λ without a preconditioner, 0 with one (folded in).
  double inner_damp() const { return s_ ? 0.0 : damp_; }
  double b_norm() const { return norm(b_); }
  bool preconditioned() const { return s_ != nullptr; }
  bool tracks_residual() const { return s_ && s_->side() == PreconditionerSide::left; }
  // Left: the starting residual r0 (length m) and the image A_λ v of the last Ã·v.
  const Vec& r0() const { return r0_; }
  const Vec& last_image() const { return static_cast<const Left&>(*op_).image(); }

  // x = x0 + (x̃ on the left, S x̃ on the right), for the unknowns x̃ of op().
  void finish(const Scalar* x0, const Scalar* xt, Scalar* x) const {
    const Index n = a_.cols();
    Eigen::Map<Vec> out(x, n);
    if (!s_ || s_->side() == PreconditionerSide::left) {
      out = Eigen::Map<const Vec>(xt, n);
    } else {
      s_->apply(xt, x);
    }
    if (x0) out += Eigen::Map<const Vec>(x0, n);
  }

  static double norm(const Vec& v) {
    double s = 0;
    for (Index i = 0; i < v.size(); ++i) s += double(v[i]) * double(v[i]);
    return std::sqrt(s);
  }

 private:
  // [A, λI] (wide, m × (n + m)) or [A; λI] (tall, (m + n) × n); A itself when λ = 0.
  class Augmented final : public LinearOperator<Scalar> {
   public:
    Augmented(const LinearOperator<Scalar>& a, double damp, bool wide)
        : a_(a),
          damp_(static_cast<Scalar>(damp)),
          wide_(wide && damp > 0),
          tall_(!wide && damp > 0) {}
    Index rows() const override { return a_.rows() + (tall_ ? a_.cols() : 0); }
    Index cols() const override { return a_.cols() + (wide_ ? a_.rows() : 0); }
    void apply(const Scalar* x, Scalar* y) const override {
      const Index m = a_.rows(), n = a_.cols();
      a_.apply(x, y);
      if (wide_) {
        for (Index i = 0; i < m; ++i) y[i] += damp_ * x[n + i];
      } else if (tall_) {
        for (Index i = 0; i < n; ++i) y[m + i] = damp_ * x[i];
      }
    }
    void apply_adjoint(const Scalar* y, Scalar* x) const override {
      const Index m = a_.rows(), n = a_.cols();
      a_.apply_adjoint(y, x);
      if (wide_) {
        for (Index i = 0; i < m; ++i) x[n + i] = damp_ * y[i];
      } else if (tall_) {
        for (Index i = 0; i < n; ++i) x[i] += damp_ * y[m + i];
      }
    }

   private:
    const LinearOperator<Scalar>& a_;
    Scalar damp_;
    bool wide_, tall_;
  };

  // S·A_λ, keeping A_λ v.
  class Left final : public LinearOperator<Scalar> {
   public:
    Left(const LinearOperator<Scalar>& a, const LinearOperator<Scalar>& s)
        : a_(a), s_(s), image_(a.rows()), t_(a.rows()) {}
    Index rows() const override { return a_.rows(); }
    Index cols() const override { return a_.cols(); }
    void apply(const Scalar* x, Scalar* y) const override {
      a_.apply(x, image_.data());
      s_.apply(image_.data(), y);
    }
    void apply_adjoint(const Scalar* y, Scalar* x) const override {
      s_.apply_adjoint(y, t_.data());
      a_.apply_adjoint(t_.data(), x);
    }
    const Vec& image() const { return image_; }

   private:
    const LinearOperator<Scalar>& a_;
    const LinearOperator<Scalar>& s_;
    mutable Vec image_, t_;
  };

  // A_λ·S.
  class Right final : public LinearOperator<Scalar> {
   public:
    Right(const LinearOperator<Scalar>& a, const LinearOperator<Scalar>& s)
        : a_(a), s_(s), t_(a.cols()) {}
    Index rows() const override { return a_.rows(); }
    Index cols() const override { return a_.cols(); }
    void apply(const Scalar* x, Scalar* y) const override {
      s_.apply(x, t_.data());
      a_.apply(t_.data(), y);
    }
    void apply_adjoint(const Scalar* y, Scalar* x) const override {
      a_.apply_adjoint(y, t_.data());
      s_.apply_adjoint(t_.data(), x);
    }

   private:
    const LinearOperator<Scalar>& a_;
    const LinearOperator<Scalar>& s_;
    mutable Vec t_;
  };

  const LinearOperator<Scalar>& a_;
  const Preconditioner<Scalar>* s_;
  double damp_;
  Eigen::Map<const Vec> b_;
  Vec r0_, rhs_;
  std::unique_ptr<LinearOperator<Scalar>> inner_, op_;
};

// The true residual r = r0 − A_λ x̃ of a left-preconditioned run, updated as the method updates
// x̃ through a direction d (x̃ += α d) built from v's (d = v − c·d'): LSQR has one direction
// (w), LSMR two (h and h̄). Idle without a left preconditioner.
template <class Scalar>
class ResidualTracker {
 public:
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  explicit ResidualTracker(const KrylovProblem<Scalar>& p) : p_(p), on_(p.tracks_residual()) {
    if (on_) {
      r_ = p.r0();
      d1_ = Vec::Zero(r_.size());
      d2_ = Vec::Zero(r_.size());
    }
  }
  bool on() const { return on_; }
  // d1 = A_λ v − c·d1 (v: the vector just multiplied).
  void first_direction(double c) {
    if (on_) d1_ = p_.last_image() - Scalar(c) * d1_;
  }
  // d2 = d1 − c·d2.
  void second_direction(double c) {
    if (on_) d2_ = d1_ - Scalar(c) * d2_;
  }
  // r −= α·(d1 or d2); returns ‖r‖.
  double step(double alpha, bool second) {
    if (!on_) return 0;
    r_ -= Scalar(alpha) * (second ? d2_ : d1_);
    return KrylovProblem<Scalar>::norm(r_);
  }

 private:
  const KrylovProblem<Scalar>& p_;
  bool on_;
  Vec r_, d1_, d2_;
};

}  // namespace convmat::detail

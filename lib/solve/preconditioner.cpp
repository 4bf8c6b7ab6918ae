#include "convmat/solve/preconditioner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "lsq_common.hpp"
#include "spectral_gram.hpp"

namespace convmat {

std::string to_string(PreconditionerSide side) {
  return side == PreconditionerSide::left ? "left" : "right";
}

template <class Scalar>
OperatorPreconditioner<Scalar>::OperatorPreconditioner(const LinearOperator<Scalar>& s,
                                                       PreconditionerSide side)
    : s_(s), side_(side) {
  if (s.rows() != s.cols() || s.rows() < 1) {
    throw std::invalid_argument("a preconditioner must be square and non-empty, got " +
                                std::to_string(s.rows()) + "x" + std::to_string(s.cols()));
  }
}

namespace {

// The side of the stored W that M's side of a layer is: M = W for a convolution (its rows are
// W's rows), M = Wᵀ for a transposed one (its rows are W's columns).
bool rows_of_w(const ConvSpec& spec, PreconditionerSide side) {
  return (side == PreconditionerSide::left) != spec.is_transposed();
}

PreconditionerKind resolve(const ConvSpec& spec, const detail::GramGenerator& g) {
  if (spec.padding_mode() == PaddingMode::circular) return PreconditionerKind::circulant;
  return g.mirror_symmetric() ? PreconditionerKind::dct : PreconditionerKind::circulant;
}

void check_number(const char* name, double v) {
  if (!(std::isfinite(v) && v >= 0)) {
    throw std::invalid_argument(std::string("LayerPreconditioner: ") + name +
                                " must be finite and >= 0, got " + detail::number(v));
  }
}

}  // namespace

template <class Scalar>
PreconditionerKind automatic_preconditioner(const ConvSpec& spec, const Scalar* weight,
                                            PreconditionerSide side) {
  if (weight == nullptr) throw std::invalid_argument("automatic_preconditioner needs a weight");
  return resolve(spec, detail::gram_generator(spec, weight, rows_of_w(spec, side)));
}

template <class Scalar>
LayerPreconditioner<Scalar>::LayerPreconditioner(const ConvSpec& spec, const Scalar* weight,
                                                 const LayerPreconditionerOptions& o)
    : delta_(o.delta), damp_(o.damp) {
  if (weight == nullptr) throw std::invalid_argument("LayerPreconditioner needs a weight tensor");
  if (o.kind == PreconditionerKind::none) {
    throw std::invalid_argument(
        "LayerPreconditioner: the kind must be dct, circulant or "
        "automatic, got none");
  }
  check_number("delta", o.delta);
  check_number("damp", o.damp);
  // The operator: M (output_numel × input_numel) or Mᵀ.
  const Index m = o.adjoint ? spec.input_numel() : spec.output_numel();
  const Index n = o.adjoint ? spec.output_numel() : spec.input_numel();
  side_ = o.side ? *o.side : preconditioner_side(m, n);
  // Mᵀ's rows are M's columns.
  const PreconditionerSide of_m =
      o.adjoint ? (side_ == PreconditionerSide::left ? PreconditionerSide::right
                                                     : PreconditionerSide::left)
                : side_;
  detail::GramGenerator g = detail::gram_generator(spec, weight, rows_of_w(spec, of_m));
  kind_ = o.kind == PreconditionerKind::automatic ? resolve(spec, g) : o.kind;
  size_ = side_ == PreconditionerSide::left ? m : n;
  gram_ = std::make_shared<const detail::SpectralGram>(std::move(g), kind_);
  rebuild();
}

template <class Scalar>
LayerPreconditioner<Scalar>::~LayerPreconditioner() = default;
template <class Scalar>
LayerPreconditioner<Scalar>::LayerPreconditioner(LayerPreconditioner&&) noexcept = default;
template <class Scalar>
LayerPreconditioner<Scalar>& LayerPreconditioner<Scalar>::operator=(
    LayerPreconditioner&&) noexcept = default;

template <class Scalar>
void LayerPreconditioner<Scalar>::set_delta(double delta) {
  check_number("delta", delta);
  delta_ = delta;
  rebuild();
}

template <class Scalar>
void LayerPreconditioner<Scalar>::rebuild() {
  // Eigenvalues below 10⁻¹⁴·max Λ (zeros of the symbol, rounding) are raised to that floor.
  const double top = gram_->max_eigenvalue();
  const double floor = top > 0 ? 1e-14 * top : 1.0;
  const double shift = damp_ * damp_ + delta_ * delta_;
  blocks_ = gram_->function_blocks(
      [&](double ev) { return 1.0 / std::sqrt(std::max(ev, floor) + shift); });
}

template <class Scalar>
void LayerPreconditioner<Scalar>::apply(const Scalar* x, Scalar* y) const {
  if constexpr (std::is_same_v<Scalar, double>) {
    gram_->apply_blocks(blocks_, x, y);
  } else {
    std::vector<double> in(x, x + size_), out(static_cast<std::size_t>(size_));
    gram_->apply_blocks(blocks_, in.data(), out.data());
    std::transform(out.begin(), out.end(), y, [](double v) { return static_cast<Scalar>(v); });
  }
}

template <class Scalar>
void LayerPreconditioner<Scalar>::apply_adjoint(const Scalar* y, Scalar* x) const {
  apply(y, x);
}

template <class Scalar>
SpectralEstimate spectral_singular_value_estimate(const ConvSpec& spec, const Scalar* weight,
                                                  PreconditionerKind kind) {
  if (weight == nullptr) {
    throw std::invalid_argument("spectral_singular_value_estimate needs a weight tensor");
  }
  if (kind == PreconditionerKind::none) {
    throw std::invalid_argument(
        "spectral_singular_value_estimate: the kind must be dct, "
        "circulant or automatic, got none");
  }
  const PreconditionerSide side = preconditioner_side(spec.output_numel(), spec.input_numel());
  detail::GramGenerator g = detail::gram_generator(spec, weight, rows_of_w(spec, side));
  SpectralEstimate e;
  e.kind = kind == PreconditionerKind::automatic ? resolve(spec, g) : kind;
  const detail::SpectralGram gram(std::move(g), e.kind);
  e.sigma_min = std::sqrt(std::max(gram.min_eigenvalue(), 0.0));
  e.sigma_max = std::sqrt(std::max(gram.max_eigenvalue(), 0.0));
  return e;
}

template class OperatorPreconditioner<float>;
template class OperatorPreconditioner<double>;
template class LayerPreconditioner<float>;
template class LayerPreconditioner<double>;
template PreconditionerKind automatic_preconditioner<float>(const ConvSpec&, const float*,
                                                            PreconditionerSide);
template PreconditionerKind automatic_preconditioner<double>(const ConvSpec&, const double*,
                                                             PreconditionerSide);
template SpectralEstimate spectral_singular_value_estimate<float>(const ConvSpec&, const float*,
                                                                  PreconditionerKind);
template SpectralEstimate spectral_singular_value_estimate<double>(const ConvSpec&, const double*,
                                                                   PreconditionerKind);

}  // namespace convmat

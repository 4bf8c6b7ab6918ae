#include "convmat/core/conv_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "convmat/core/memory_limit.hpp"

namespace convmat {

std::size_t conv_matrix_bytes(const ConvSpec& spec, std::size_t scalar_size) {
  const Index rows = spec.is_transposed() ? spec.input_numel() : spec.output_numel();
  const long double bytes = csr_matrix_bytes(static_cast<long double>(conv_matrix_nnz(spec)),
                                             static_cast<long double>(rows), scalar_size);
  return bytes >= static_cast<long double>(SIZE_MAX) ? SIZE_MAX : static_cast<std::size_t>(bytes);
}

template <class Scalar>
ConvMatrix<Scalar>::ConvMatrix(const ConvSpec& spec, const Scalar* weight)
    : ConvMatrix(std::make_shared<const ConvPattern>(spec), weight) {}

template <class Scalar>
ConvMatrix<Scalar>::ConvMatrix(std::shared_ptr<const ConvPattern> pattern, const Scalar* weight)
    : pattern_(std::move(pattern)) {
  if (!pattern_) throw std::invalid_argument("ConvMatrix needs a pattern");
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix needs a weight tensor");
  Buffer<Scalar> values(static_cast<std::size_t>(pattern_->nnz()));
  pattern_->fill(weight, values.data());
  w_ = CsrMatrix<Scalar>(pattern_->sparsity(), std::move(values));
  nan_rows_ = pattern_->nonfinite_padding_rows(weight);
  weight_.assign(weight, weight + spec().weight_numel());
}

template <class Scalar>
void ConvMatrix<Scalar>::refill(const Scalar* weight) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix::refill needs a weight tensor");
  pattern_->fill(weight, w_.values());
  nan_rows_ = pattern_->nonfinite_padding_rows(weight);
  weight_.assign(weight, weight + spec().weight_numel());
}

template <class Scalar>
void ConvMatrix<Scalar>::refold_gather(const Scalar* x, Scalar* y, Index batch) const {
  if (!pattern_->folds()) return;
  const Index rows = w_.rows(), cols = w_.cols();
  for (Index n = 0; n < batch; ++n) {
    const Scalar* xn = x + n * cols;
    if (std::all_of(xn, xn + cols, [](Scalar v) { return std::isfinite(v); })) continue;
    for (Index r = 0; r < rows; ++r) {
      bool meets = false;
      pattern_->for_each_tap(r, [&](Index, Index col, Index) { meets |= !std::isfinite(xn[col]); });
      if (!meets) continue;
      Scalar sum(0);
      pattern_->for_each_tap(
          r, [&](Index, Index col, Index w) { sum += weight_[w] * xn[col]; });
      y[n * rows + r] = sum;
    }
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::refold_scatter(const Scalar* x, Scalar* y, Index batch) const {
  if (!pattern_->folds()) return;
  const Index rows = w_.rows(), cols = w_.cols();
  std::vector<char> meets(static_cast<std::size_t>(cols));
  for (Index n = 0; n < batch; ++n) {
    const Scalar* xn = x + n * rows;
    Scalar* yn = y + n * cols;
    if (std::all_of(xn, xn + rows, [](Scalar v) { return std::isfinite(v); })) continue;
    std::fill(meets.begin(), meets.end(), 0);
    for (Index r = 0; r < rows; ++r) {
      if (!std::isfinite(xn[r]))
        pattern_->for_each_tap(r, [&](Index, Index col, Index) { meets[col] = 1; });
    }
    for (Index c = 0; c < cols; ++c) {
      if (meets[c]) yn[c] = Scalar(0);
    }
    for (Index r = 0; r < rows; ++r) {
      pattern_->for_each_tap(r, [&](Index, Index col, Index w) {
        if (meets[col]) yn[col] += weight_[w] * xn[r];
      });
    }
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::set_nonfinite_padding_rows(Scalar* y, Index batch) const {
  const Index rows = w_.rows();
  for (Index n = 0; n < batch; ++n) {
    for (Index r : nan_rows_) y[n * rows + r] = std::numeric_limits<Scalar>::quiet_NaN();
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::apply(const Scalar* x, Scalar* y, Index batch) const {
  if (spec().is_transposed()) {
    w_.multiply_transposed(x, y, batch);
    refold_scatter(x, y, batch);
  } else {
    w_.multiply(x, y, batch);
    refold_gather(x, y, batch);
    set_nonfinite_padding_rows(y, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::apply_adjoint(const Scalar* y, Scalar* x, Index batch) const {
  if (spec().is_transposed()) {
    w_.multiply(y, x, batch);
    refold_gather(y, x, batch);
    set_nonfinite_padding_rows(x, batch);
  } else {
    w_.multiply_transposed(y, x, batch);
    refold_scatter(y, x, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::forward(const Scalar* x, const Scalar* bias, Scalar* y,
                                 Index batch) const {
  apply(x, y, batch);
  if (bias == nullptr) return;
  const Index channels = spec().out_channels();
  const Index per_channel = rows() / channels;
  for (Index n = 0; n < batch; ++n) {
    for (Index c = 0; c < channels; ++c) {
      Scalar* yc = y + (n * channels + c) * per_channel;
      for (Index i = 0; i < per_channel; ++i) yc[i] += bias[c];
    }
  }
}

template <class Scalar>
typename ConvMatrix<Scalar>::Vector ConvMatrix<Scalar>::apply(const Vector& x) const {
  if (x.size() != cols()) {
    throw std::invalid_argument("apply: x must have " + std::to_string(cols()) +
                                " entries (the layer's input), got " + std::to_string(x.size()));
  }
  Vector y(rows());
  apply(x.data(), y.data(), 1);
  return y;
}

template <class Scalar>
typename ConvMatrix<Scalar>::Vector ConvMatrix<Scalar>::apply_adjoint(const Vector& y) const {
  if (y.size() != rows()) {
    throw std::invalid_argument("apply_adjoint: y must have " + std::to_string(rows()) +
                                " entries (the layer's output), got " + std::to_string(y.size()));
  }
  Vector x(cols());
  apply_adjoint(y.data(), x.data(), 1);
  return x;
}

template <class Scalar>
typename ConvMatrix<Scalar>::EigenMatrix ConvMatrix<Scalar>::matrix() const {
  return spec().is_transposed() ? w_.to_eigen_transposed() : w_.to_eigen();
}

template class ConvMatrix<float>;
template class ConvMatrix<double>;

}  // namespace convmat

#include "convmat/core/conv_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "convmat/core/memory_limit.hpp"

namespace convmat {

std::string to_string(ConvStorage storage) {
  switch (storage) {
    case ConvStorage::automatic: return "automatic";
    case ConvStorage::csr: return "csr";
    case ConvStorage::channel_blocked: return "channel_blocked";
  }
  return "?";
}

ConvStorage conv_storage_from_string(const std::string& name) {
  for (ConvStorage s : {ConvStorage::automatic, ConvStorage::csr, ConvStorage::channel_blocked}) {
    if (name == to_string(s)) return s;
  }
  throw std::invalid_argument("unknown storage '" + name +
                              "': expected automatic, csr or channel_blocked");
}

// The policy every front end asks for (ConvStorage::automatic: convmat.Layer, the Python layer
// functions, `convmat apply`): channel-blocked wherever a block of 2 or more channels fits. In the
// benchmark (bench/results/blocked/results.md, layers b and c, float32/float64, batch 1 and 16)
// it was faster than CSR or equal in every row but one, layer b's float64 Wᵀ·y at batch 1
// (0.94×, within the run's noise; layer c's same row was 1.37×), and it always uses less memory,
// so the policy makes no exception by dtype or batch.
ConvStorage resolve_storage(const ConvSpec& spec, ConvStorage requested) {
  if (requested != ConvStorage::automatic) return requested;
  const Index rows_per_group =
      (spec.is_transposed() ? spec.in_channels() : spec.out_channels()) / spec.groups();
  return ChannelBlocks::block_for(rows_per_group) > 1 ? ConvStorage::channel_blocked
                                                      : ConvStorage::csr;
}

std::size_t conv_matrix_bytes(const ConvSpec& spec, std::size_t scalar_size, ConvStorage storage) {
  if (resolve_storage(spec, storage) == ConvStorage::channel_blocked) {
    return channel_blocked_bytes(spec, scalar_size);
  }
  const Index rows = spec.is_transposed() ? spec.input_numel() : spec.output_numel();
  const long double bytes = csr_matrix_bytes(static_cast<long double>(conv_matrix_nnz(spec)),
                                             static_cast<long double>(rows), scalar_size);
  return bytes >= static_cast<long double>(SIZE_MAX) ? SIZE_MAX : static_cast<std::size_t>(bytes);
}

template <class Scalar>
ConvMatrix<Scalar>::ConvMatrix(const ConvSpec& spec, const Scalar* weight, ConvStorage storage)
    : spec_(spec) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix needs a weight tensor");
  if (resolve_storage(spec, storage) == ConvStorage::channel_blocked) {
    *this = ConvMatrix(std::make_shared<const ChannelBlocks>(spec), weight);
  } else {
    *this = ConvMatrix(std::make_shared<const ConvPattern>(spec), weight);
  }
}

namespace {

template <class T>
const T& required(const std::shared_ptr<const T>& p, const char* message) {
  if (!p) throw std::invalid_argument(message);
  return *p;
}

}  // namespace

template <class Scalar>
ConvMatrix<Scalar>::ConvMatrix(std::shared_ptr<const ConvPattern> pattern, const Scalar* weight)
    : spec_(required(pattern, "ConvMatrix needs a pattern").spec()), pattern_(std::move(pattern)) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix needs a weight tensor");
  storage_ = ConvStorage::csr;
  Buffer<Scalar> values(static_cast<std::size_t>(pattern_->nnz()));
  pattern_->fill(weight, values.data());
  w_ = CsrMatrix<Scalar>(pattern_->sparsity(), std::move(values));
  set_weight(weight);
}

template <class Scalar>
ConvMatrix<Scalar>::ConvMatrix(std::shared_ptr<const ChannelBlocks> blocks, const Scalar* weight)
    : spec_(required(blocks, "ConvMatrix needs a channel-blocked structure").spec()) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix needs a weight tensor");
  storage_ = ConvStorage::channel_blocked;
  blocked_ = ChannelBlockedMatrix<Scalar>(std::move(blocks), weight);
  set_weight(weight);
}

template <class Scalar>
void ConvMatrix<Scalar>::set_weight(const Scalar* weight) {
  weight_.assign(weight, weight + spec_.weight_numel());
  // Only a non-finite weight can give such rows: the pattern (for channel-blocked storage built
  // just for this) is asked only then.
  const bool finite =
      std::all_of(weight_.begin(), weight_.end(), [](Scalar v) { return std::isfinite(v); });
  nan_rows_ = finite ? std::vector<Index>{} : pattern()->nonfinite_padding_rows(weight);
}

template <class Scalar>
void ConvMatrix<Scalar>::refill(const Scalar* weight) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix::refill needs a weight tensor");
  if (storage_ == ConvStorage::channel_blocked) {
    blocked_.refill(weight);
    if (w_.nnz() > 0) blocked_.csr_values(w_.values());  // the CSR copy, if stored() made one
  } else {
    pattern_->fill(weight, w_.values());
  }
  set_weight(weight);
}

template <class Scalar>
const CsrMatrix<Scalar>& ConvMatrix<Scalar>::stored() const {
  if (storage_ == ConvStorage::channel_blocked) {
    std::call_once(*csr_made_, [&] { w_ = blocked_.to_csr(); });
  }
  return w_;
}

template <class Scalar>
const std::shared_ptr<const ConvPattern>& ConvMatrix<Scalar>::pattern() const {
  if (storage_ == ConvStorage::channel_blocked) {
    std::call_once(*pattern_made_, [&] { pattern_ = std::make_shared<const ConvPattern>(spec_); });
  }
  return pattern_;
}

template <class Scalar>
Index ConvMatrix<Scalar>::nnz() const {
  return storage_ == ConvStorage::channel_blocked ? blocked_.nnz() : w_.nnz();
}

template <class Scalar>
std::size_t ConvMatrix<Scalar>::memory_bytes() const {
  return (storage_ == ConvStorage::channel_blocked ? blocked_.memory_bytes() : 0) +
         w_.memory_bytes();
}

template <class Scalar>
bool ConvMatrix<Scalar>::folds() const {
  return storage_ == ConvStorage::channel_blocked ? blocked_.structure()->spatial_pattern().folds()
                                                  : pattern_->folds();
}

template <class Scalar>
void ConvMatrix<Scalar>::multiply(const Scalar* x, Scalar* y, Index batch) const {
  if (storage_ == ConvStorage::channel_blocked) {
    blocked_.multiply(x, y, batch);
  } else {
    w_.multiply(x, y, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::multiply_transposed(const Scalar* x, Scalar* y, Index batch) const {
  if (storage_ == ConvStorage::channel_blocked) {
    blocked_.multiply_transposed(x, y, batch);
  } else {
    w_.multiply_transposed(x, y, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::refold_gather(const Scalar* x, Scalar* y, Index batch) const {
  if (!folds()) return;
  const Index rows = stored_rows(), cols = stored_cols();
  for (Index n = 0; n < batch; ++n) {
    const Scalar* xn = x + n * cols;
    if (std::all_of(xn, xn + cols, [](Scalar v) { return std::isfinite(v); })) continue;
    const ConvPattern& pattern = *this->pattern();
    for (Index r = 0; r < rows; ++r) {
      bool meets = false;
      pattern.for_each_tap(r, [&](Index, Index col, Index) { meets |= !std::isfinite(xn[col]); });
      if (!meets) continue;
      Scalar sum(0);
      pattern.for_each_tap(r, [&](Index, Index col, Index w) { sum += weight_[w] * xn[col]; });
      y[n * rows + r] = sum;
    }
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::refold_scatter(const Scalar* x, Scalar* y, Index batch) const {
  if (!folds()) return;
  const Index rows = stored_rows(), cols = stored_cols();
  std::vector<char> meets(static_cast<std::size_t>(cols));
  for (Index n = 0; n < batch; ++n) {
    const Scalar* xn = x + n * rows;
    Scalar* yn = y + n * cols;
    if (std::all_of(xn, xn + rows, [](Scalar v) { return std::isfinite(v); })) continue;
    const ConvPattern& pattern = *this->pattern();
    std::fill(meets.begin(), meets.end(), 0);
    for (Index r = 0; r < rows; ++r) {
      if (!std::isfinite(xn[r]))
        pattern.for_each_tap(r, [&](Index, Index col, Index) { meets[col] = 1; });
    }
    for (Index c = 0; c < cols; ++c) {
      if (meets[c]) yn[c] = Scalar(0);
    }
    for (Index r = 0; r < rows; ++r) {
      pattern.for_each_tap(r, [&](Index, Index col, Index w) {
        if (meets[col]) yn[col] += weight_[w] * xn[r];
      });
    }
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::set_nonfinite_padding_rows(Scalar* y, Index batch) const {
  const Index rows = stored_rows();
  for (Index n = 0; n < batch; ++n) {
    for (Index r : nan_rows_) y[n * rows + r] = std::numeric_limits<Scalar>::quiet_NaN();
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::apply(const Scalar* x, Scalar* y, Index batch) const {
  if (spec().is_transposed()) {
    multiply_transposed(x, y, batch);
    refold_scatter(x, y, batch);
  } else {
    multiply(x, y, batch);
    refold_gather(x, y, batch);
    set_nonfinite_padding_rows(y, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::apply_adjoint(const Scalar* y, Scalar* x, Index batch) const {
  if (spec().is_transposed()) {
    multiply(y, x, batch);
    refold_gather(y, x, batch);
    set_nonfinite_padding_rows(x, batch);
  } else {
    multiply_transposed(y, x, batch);
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
  // Channel-blocked storage: from a CSR copy made for this and freed, not from stored()'s kept one.
  const CsrMatrix<Scalar> copy =
      storage_ == ConvStorage::channel_blocked ? blocked_.to_csr() : CsrMatrix<Scalar>();
  const CsrMatrix<Scalar>& w = storage_ == ConvStorage::channel_blocked ? copy : w_;
  return spec().is_transposed() ? w.to_eigen_transposed() : w.to_eigen();
}

template class ConvMatrix<float>;
template class ConvMatrix<double>;

}  // namespace convmat

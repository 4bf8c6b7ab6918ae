#include "convmat/conv_matrix.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace convmat {

namespace detail {

namespace {

// The input position that padded position q reads, or −1 for a zero.
Index fold(Index q, Index n, PaddingMode mode) {
  if (q >= 0 && q < n) return q;
  switch (mode) {
    case PaddingMode::zeros: return -1;
    case PaddingMode::reflect: return q < 0 ? -q : 2 * (n - 1) - q;  // |padding| < n: one bounce
    case PaddingMode::replicate: return q < 0 ? 0 : n - 1;
    case PaddingMode::circular: return q < 0 ? q + n : q - n;        // |padding| <= n: one wrap
  }
  return -1;
}

}  // namespace

AxisMap make_axis_map(Index rows, Index cols, Index kernel, Index stride, Index dilation,
                      Index pad_begin, PaddingMode mode) {
  AxisMap m;
  m.rows = rows;
  m.cols = cols;
  m.taps = kernel;
  m.entry_ptr.assign(1, 0);
  m.entry_col.clear();
  m.tap_ptr.assign(1, 0);
  m.tap.clear();
  std::vector<std::pair<Index, Index>> hits;  // (input position, tap)
  for (Index o = 0; o < rows; ++o) {
    hits.clear();
    for (Index k = 0; k < kernel; ++k) {
      const Index i = fold(o * stride - pad_begin + k * dilation, cols, mode);
      if (i >= 0) hits.emplace_back(i, k);
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t h = 0; h < hits.size(); ++h) {
      if (h == 0 || hits[h].first != hits[h - 1].first) {
        if (h != 0) m.tap_ptr.push_back(static_cast<Index>(m.tap.size()));
        m.entry_col.push_back(hits[h].first);
      } else {
        m.one_tap_per_entry = false;
      }
      m.tap.push_back(hits[h].second);
    }
    if (!hits.empty()) m.tap_ptr.push_back(static_cast<Index>(m.tap.size()));
    m.entry_ptr.push_back(static_cast<Index>(m.entry_col.size()));
  }
  return m;
}

namespace {

// {first, first + step, …} with `count` terms, ascending; the step is shared by all of them.
struct Progression {
  Index first = 0;
  Index count = 0;
};

Progression intersect(Progression a, Progression b, Index step) {
  if (a.count == 0 || b.count == 0) return {};
  const Index diff = a.first - b.first;
  if (diff % step != 0) return {};
  const Index lo = std::max(a.first, b.first);
  const Index hi = std::min(a.first + (a.count - 1) * step, b.first + (b.count - 1) * step);
  if (hi < lo) return {};
  return {lo, (hi - lo) / step + 1};
}

// entries(o) of make_axis_map for one row position, without listing the taps. With
// b = o·s − p0 the taps read q_k = b + k·d, k ∈ [0, K): those in [0, n) form the progression A;
// those below 0 (k < kb) and above n − 1 (k ≥ kc) fold, by `fold` above, onto progressions B
// and C (reflect: −q and 2(n−1) − q; circular: q + n and q − n; replicate: the points 0 and
// n − 1). |A ∪ B ∪ C| by inclusion–exclusion; within each set the positions are distinct.
Index axis_entries(Index o, Index cols, Index kernel, Index stride, Index dilation, Index pad_begin,
                   PaddingMode mode) {
  const Index n = cols, d = dilation, b = o * stride - pad_begin;
  const Index kb = b >= 0 ? 0 : std::min(kernel, (-b + d - 1) / d);
  const Index kc = b >= n ? 0 : std::min(kernel, (n - b + d - 1) / d);
  const Progression a = kc > kb ? Progression{b + kb * d, kc - kb} : Progression{};
  if (mode == PaddingMode::zeros) return a.count;
  const Index below = kb, above = kernel - std::max(kc, kb);
  Progression lo, hi;
  switch (mode) {
    case PaddingMode::reflect:
      if (below) lo = {-(b + (below - 1) * d), below};
      if (above) hi = {2 * (n - 1) - (b + (kernel - 1) * d), above};
      break;
    case PaddingMode::circular:
      if (below) lo = {b + n, below};
      if (above) hi = {b + (kernel - above) * d - n, above};
      break;
    case PaddingMode::replicate:
      if (below) lo = {0, 1};
      if (above) hi = {n - 1, 1};
      break;
    case PaddingMode::zeros: break;
  }
  const Progression ab = intersect(a, lo, d), ac = intersect(a, hi, d), bc = intersect(lo, hi, d);
  return a.count + lo.count + hi.count - ab.count - ac.count - bc.count +
         intersect(ab, hi, d).count;
}

}  // namespace

}  // namespace detail

ConvPattern::ConvPattern(const ConvSpec& spec) : spec_(spec) {
  // The stored convolution: for a transposed spec T, rows run over T's input, columns over T's
  // output, and the kernel walks T's output with T's stride, padding and dilation.
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  row_channels_ = t ? spec.in_channels() : spec.out_channels();
  col_channels_ = t ? spec.out_channels() : spec.in_channels();
  channels_per_group_ = col_channels_ / spec.groups();
  rows_per_group_ = row_channels_ / spec.groups();

  const int offset = 3 - spec.rank();
  for (int a = 0; a < spec.rank(); ++a) {
    axes_[static_cast<std::size_t>(offset + a)] = detail::make_axis_map(
        row_size[a], col_size[a], spec.kernel_size()[a], spec.stride()[a], spec.dilation()[a],
        spec.pad_begin()[a], spec.padding_mode());
  }

  auto s = std::make_shared<SparsityPattern>();
  const Index spatial_rows = axes_[0].rows * axes_[1].rows * axes_[2].rows;
  s->rows = row_channels_ * spatial_rows;
  s->cols = col_channels_ * axes_[0].cols * axes_[1].cols * axes_[2].cols;
  s->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(s->rows + 1));

  // Row r = (channel, o0, o1, o2) holds channels_per_group · Π entries(o_a) nonzeros: the same
  // count for every channel, so one spatial pass gives all row lengths.
  std::vector<RowPointer> spatial_count(static_cast<std::size_t>(spatial_rows));
  for (Index o0 = 0, r = 0; o0 < axes_[0].rows; ++o0) {
    for (Index o1 = 0; o1 < axes_[1].rows; ++o1) {
      for (Index o2 = 0; o2 < axes_[2].rows; ++o2, ++r) {
        spatial_count[static_cast<std::size_t>(r)] = channels_per_group_ * axes_[0].entries(o0) *
                                                     axes_[1].entries(o1) * axes_[2].entries(o2);
      }
    }
  }
  RowPointer total = 0;
  s->row_ptr[0] = 0;
  for (Index c = 0, r = 0; c < row_channels_; ++c) {
    for (Index q = 0; q < spatial_rows; ++q, ++r) {
      total += spatial_count[static_cast<std::size_t>(q)];
      s->row_ptr[static_cast<std::size_t>(r + 1)] = total;
    }
  }
  s->col = Buffer<ColumnIndex>(static_cast<std::size_t>(total));

  ColumnIndex* col = s->col.data();
  const RowPointer* row_ptr = s->row_ptr.data();
  const auto& a0 = axes_[0];
  const auto& a1 = axes_[1];
  const auto& a2 = axes_[2];
#pragma omp parallel for schedule(dynamic, 256)
  for (Index r = 0; r < s->rows; ++r) {
    const Index channel = r / spatial_rows;
    Index rest = r % spatial_rows;
    const Index o2 = rest % a2.rows;
    rest /= a2.rows;
    const Index o1 = rest % a1.rows;
    const Index o0 = rest / a1.rows;
    const Index first = channel / rows_per_group_ * channels_per_group_;
    ColumnIndex* out = col + row_ptr[r];
    for (Index c = 0; c < channels_per_group_; ++c) {
      const Index base = (first + c) * a0.cols;
      for (Index e0 = a0.entry_ptr[o0]; e0 < a0.entry_ptr[o0 + 1]; ++e0) {
        const Index b0 = (base + a0.entry_col[e0]) * a1.cols;
        for (Index e1 = a1.entry_ptr[o1]; e1 < a1.entry_ptr[o1 + 1]; ++e1) {
          const Index b1 = (b0 + a1.entry_col[e1]) * a2.cols;
          for (Index e2 = a2.entry_ptr[o2]; e2 < a2.entry_ptr[o2 + 1]; ++e2) {
            *out++ = static_cast<ColumnIndex>(b1 + a2.entry_col[e2]);
          }
        }
      }
    }
  }
  sparsity_ = std::move(s);
}

Index conv_matrix_nnz(const ConvSpec& spec) {
  // The same stored convolution as ConvPattern's constructor.
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  const Index row_channels = t ? spec.in_channels() : spec.out_channels();
  const Index col_channels = t ? spec.out_channels() : spec.in_channels();
  Index nnz = row_channels * (col_channels / spec.groups());
  for (int a = 0; a < spec.rank(); ++a) {
    Index sum = 0;
    for (Index o = 0; o < row_size[a]; ++o) {
      sum += detail::axis_entries(o, col_size[a], spec.kernel_size()[a], spec.stride()[a],
                          spec.dilation()[a], spec.pad_begin()[a], spec.padding_mode());
    }
    // ConvSpec bounds Π rows · Π kernel · channels in 64 bits, and this count is below that.
    nnz *= sum;
  }
  return nnz;
}

std::size_t conv_matrix_bytes(const ConvSpec& spec, std::size_t scalar_size) {
  const Index rows = spec.is_transposed() ? spec.input_numel() : spec.output_numel();
  const auto nnz = static_cast<std::size_t>(conv_matrix_nnz(spec));
  std::size_t values = 0, pointers = 0, total = 0;
  if (__builtin_mul_overflow(nnz, scalar_size + sizeof(ColumnIndex), &values) ||
      __builtin_mul_overflow(static_cast<std::size_t>(rows) + 1, sizeof(RowPointer), &pointers) ||
      __builtin_add_overflow(values, pointers, &total)) {
    return static_cast<std::size_t>(-1);
  }
  return total;
}

template <class Scalar>
void ConvPattern::fill(const Scalar* weight, Scalar* values) const {
  const Index rows = sparsity_->rows;
  const bool one_tap = axes_[0].one_tap_per_entry && axes_[1].one_tap_per_entry &&
                       axes_[2].one_tap_per_entry;
  if (one_tap) {
    // Zero padding (or no coinciding taps): every nonzero is one weight, W[nz] = weight[tap].
    const auto& a0 = axes_[0];
    const auto& a1 = axes_[1];
    const auto& a2 = axes_[2];
    const Index spatial_rows = a0.rows * a1.rows * a2.rows;
    const Index kernel_numel = a0.taps * a1.taps * a2.taps;
#pragma omp parallel for schedule(dynamic, 256)
    for (Index r = 0; r < rows; ++r) {
      const Index channel = r / spatial_rows;
      Index rest = r % spatial_rows;
      const Index o2 = rest % a2.rows;
      rest /= a2.rows;
      const Index o1 = rest % a1.rows;
      const Index o0 = rest / a1.rows;
      Scalar* out = values + sparsity_->row_ptr[static_cast<std::size_t>(r)];
      const Scalar* w = weight + channel * channels_per_group_ * kernel_numel;
      for (Index c = 0; c < channels_per_group_; ++c, w += kernel_numel) {
        for (Index e0 = a0.entry_ptr[o0]; e0 < a0.entry_ptr[o0 + 1]; ++e0) {
          const Scalar* w0 = w + a0.tap[e0] * a1.taps * a2.taps;
          for (Index e1 = a1.entry_ptr[o1]; e1 < a1.entry_ptr[o1 + 1]; ++e1) {
            const Scalar* w1 = w0 + a1.tap[e1] * a2.taps;
            for (Index e2 = a2.entry_ptr[o2]; e2 < a2.entry_ptr[o2 + 1]; ++e2) {
              *out++ = w1[a2.tap[e2]];
            }
          }
        }
      }
    }
    return;
  }
#pragma omp parallel for schedule(dynamic, 256)
  for (Index r = 0; r < rows; ++r) {
    const RowPointer begin = sparsity_->row_ptr[static_cast<std::size_t>(r)];
    const RowPointer end = sparsity_->row_ptr[static_cast<std::size_t>(r + 1)];
    std::fill(values + begin, values + end, Scalar(0));
    for_each_tap(r, [&](Index nz, Index, Index w) { values[nz] += weight[w]; });
  }
}

template void ConvPattern::fill<float>(const float*, float*) const;
template void ConvPattern::fill<double>(const double*, double*) const;

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
}

template <class Scalar>
void ConvMatrix<Scalar>::refill(const Scalar* weight) {
  if (weight == nullptr) throw std::invalid_argument("ConvMatrix::refill needs a weight tensor");
  pattern_->fill(weight, w_.values());
}

template <class Scalar>
void ConvMatrix<Scalar>::apply(const Scalar* x, Scalar* y, Index batch) const {
  if (spec().is_transposed()) {
    w_.multiply_transposed(x, y, batch);
  } else {
    w_.multiply(x, y, batch);
  }
}

template <class Scalar>
void ConvMatrix<Scalar>::apply_adjoint(const Scalar* y, Scalar* x, Index batch) const {
  if (spec().is_transposed()) {
    w_.multiply(y, x, batch);
  } else {
    w_.multiply_transposed(y, x, batch);
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

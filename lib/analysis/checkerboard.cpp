#include "convmat/analysis/checkerboard.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "convmat/core/conv_matrix.hpp"

namespace convmat {

namespace {

// C-order walk over the box [begin, end) of a rank-r grid of `size`: f(flat index, coordinates).
template <class F>
void for_each_in_box(const Dims& size, const Dims& begin, const Dims& end, F&& f) {
  const std::size_t rank = size.size();
  for (std::size_t a = 0; a < rank; ++a) {
    if (begin[a] >= end[a]) return;
  }
  Dims q(begin);
  for (;;) {
    Index flat = 0;
    for (std::size_t a = 0; a < rank; ++a) flat = flat * size[a] + q[a];
    f(flat, q);
    std::size_t a = rank;
    while (a > 0) {
      --a;
      if (++q[a] < end[a]) break;
      q[a] = begin[a];
      if (a == 0) return;
    }
  }
}

}  // namespace

Checkerboard checkerboard(const ConvSpec& spec) {
  if (spec.has_input_dilation()) {
    // Its period is the stride of a convolution or transposed convolution; an input-dilated
    // layer's coverage repeats with both the stride and the dilation.
    throw std::invalid_argument(
        "checkerboard: takes a convolution or transposed convolution without input dilation, "
        "got " +
        spec.to_string());
  }
  const ConvPattern pattern(spec);
  const ConvSpec conv = spec.as_convolution();  // the stored W: rows = sources, columns = positions
  const bool t = spec.is_transposed();
  const Dims& sources = t ? spec.input_size() : spec.output_size();
  Checkerboard c;
  c.size = t ? spec.output_size() : spec.input_size();
  c.channels = t ? spec.out_channels() : spec.in_channels();
  c.period = spec.stride();
  Index positions = 1, source_positions = 1;
  for (Index x : c.size) positions *= x;
  for (Index x : sources) source_positions *= x;

  // Rows of the first row channel; columns of the first column channel are [0, positions).
  c.tap_count.assign(static_cast<std::size_t>(positions), 0);
  for (Index r = 0; r < source_positions; ++r) {
    pattern.for_each_tap(r, [&](Index, Index col, Index) {
      if (col < positions) ++c.tap_count[static_cast<std::size_t>(col)];
    });
  }

  const bool folded = !t && spec.padding_mode() != PaddingMode::zeros;
  for (int a = 0; a < spec.rank(); ++a) {
    const Index k = conv.kernel_size()[a], s = conv.stride()[a], d = conv.dilation()[a];
    const Index p0 = conv.pad_begin()[a], p1 = conv.pad_end()[a], n = sources[a];
    Index begin = std::max<Index>((k - 1) * d - p0, 0);
    Index end = std::min<Index>((n - 1) * s - p0 + 1, c.size[a]);
    if (folded) {
      const Index margin = std::max(p0, p1) + 1;
      begin = std::max(begin, margin);
      end = std::min(end, c.size[a] - margin);
    }
    c.interior_begin.push_back(begin);
    c.interior_end.push_back(std::max(begin, end));
  }

  c.min_taps = std::numeric_limits<Index>::max();
  c.max_taps = 0;
  double sum = 0;
  for_each_in_box(c.size, c.interior_begin, c.interior_end, [&](Index flat, const Dims&) {
    const Index n = c.tap_count[static_cast<std::size_t>(flat)];
    c.min_taps = std::min(c.min_taps, n);
    c.max_taps = std::max(c.max_taps, n);
    sum += static_cast<double>(n);
    ++c.interior_positions;
  });
  if (c.interior_positions == 0) {
    c.min_taps = c.max_taps = 0;
    c.mean_taps = c.tap_amplitude = std::nan("");
  } else {
    c.mean_taps = sum / static_cast<double>(c.interior_positions);
    c.tap_amplitude = static_cast<double>(c.max_taps - c.min_taps) / c.mean_taps;
    c.even = c.min_taps == c.max_taps;
  }

  Dims tile_end;
  bool whole_period = c.interior_positions > 0;
  for (int a = 0; a < spec.rank(); ++a) {
    tile_end.push_back(c.interior_begin[a] + c.period[a]);
    whole_period = whole_period && tile_end[a] <= c.interior_end[a];
  }
  if (whole_period) {
    for_each_in_box(c.size, c.interior_begin, tile_end, [&](Index flat, const Dims&) {
      c.period_pattern.push_back(c.tap_count[static_cast<std::size_t>(flat)]);
    });
  }
  return c;
}

template <class Scalar>
Checkerboard checkerboard(const ConvSpec& spec, const Scalar* weight) {
  if (weight == nullptr) throw std::invalid_argument("checkerboard needs a weight tensor");
  Checkerboard c = checkerboard(spec);
  const ConvMatrix<Scalar> m(spec, weight);
  // The scatter map: the transposed layer itself, or a convolution's adjoint.
  const bool t = spec.is_transposed();
  const std::vector<Scalar> ones(static_cast<std::size_t>(t ? m.cols() : m.rows()), Scalar(1));
  std::vector<Scalar> sums(static_cast<std::size_t>(t ? m.rows() : m.cols()));
  if (t) {
    m.apply(ones.data(), sums.data());
  } else {
    m.apply_adjoint(ones.data(), sums.data());
  }
  c.weight_sum.assign(sums.begin(), sums.end());
  const Index positions = static_cast<Index>(c.tap_count.size());
  for (Index ch = 0; ch < c.channels; ++ch) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, total = 0;
    for_each_in_box(c.size, c.interior_begin, c.interior_end, [&](Index flat, const Dims&) {
      const double v = c.weight_sum[static_cast<std::size_t>(ch * positions + flat)];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      total += v;
    });
    const double mean = total / static_cast<double>(c.interior_positions);
    c.weight_amplitude.push_back(c.interior_positions == 0 ? std::nan("")
                                                           : (hi - lo) / std::abs(mean));
  }
  return c;
}

template Checkerboard checkerboard<float>(const ConvSpec&, const float*);
template Checkerboard checkerboard<double>(const ConvSpec&, const double*);

}  // namespace convmat

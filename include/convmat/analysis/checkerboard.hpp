#pragma once
// The checkerboard of a transposed convolution (Odena, Dumoulin & Olah, "Deconvolution and
// Checkerboard Artifacts", Distill 2016; seed 002: "这正是 checkerboard 来源"): every input pixel
// splats the kernel at stride spacing, so where the kernel size is not a multiple of the stride,
// output positions are reached by unequal numbers of kernel taps.
//
// Positions are the transposed layer's output positions — the columns of its stored W. For a
// convolution they are its input positions: the pattern of its adjoint (the gradient with
// respect to the input, itself a transposed convolution).
//
// Along one axis (source size n, kernel k, stride s, dilation d, padding p0) position q is
// reached by tap t from source position i when i·s − p0 + t·d = q. The interior is where every
// tap could reach, i.e. only divisibility decides: (k − 1)d − p0 <= q <= (n − 1)s − p0 (and, for
// a convolution with reflect / replicate / circular padding, at least max(p0, p1) + 1 away from
// both ends, where folded taps land). There the tap count is #{t : t·d ≡ q + p0 (mod s)}: for
// d = 1 it is ⌊k/s⌋ or ⌈k/s⌉, even exactly when s divides k (proved over a grid of k, s, 1-d and
// 2-d by tests/analysis/test_checkerboard.cpp); in general even exactly when gcd(d, s) = 1 and
// s | k.

#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/fields.hpp"

namespace convmat {

struct Checkerboard {
  Dims size;  // spatial size of the positions (C order below)
  // Kernel taps reaching each position from one input channel, read from the structure
  // (ConvPattern::for_each_tap): Π size entries.
  std::vector<Index> tap_count;
  Index channels = 0;  // output channels of the transposed layer (a convolution: input)
  // The layer applied to an all-ones input (a convolution: its adjoint applied to all-ones),
  // channels × Π size: the total weight reaching each position. Empty without weights.
  std::vector<double> weight_sum;
  Dims interior_begin, interior_end;  // per axis, [begin, end); empty when begin >= end somewhere
  Index interior_positions = 0;
  Index min_taps = 0, max_taps = 0;  // over the interior
  double mean_taps = 0;
  double tap_amplitude = 0;  // (max − min)/mean of tap_count over the interior (NaN if empty)
  std::vector<double> weight_amplitude;  // per channel: (max − min)/|mean| of weight_sum there
  bool even = false;                     // a non-empty interior with one tap count
  Dims period;                           // the stride: the pattern repeats with this period
  // Tap counts over one period (Π stride positions, C order) from interior_begin; empty when
  // the interior is shorter than the stride along some axis.
  std::vector<Index> period_pattern;
};

// Its fields (core/fields.hpp): the per-position ones with their shapes.
template <class Visit>
void for_each_field(const Checkerboard& c, Visit&& visit) {
  Dims channel_size = c.size;
  channel_size.insert(channel_size.begin(), c.channels);
  visit("size", c.size);
  visit("tap_count", ShapedValues<Index>{c.tap_count, c.size});
  visit("channels", c.channels);
  visit("weight_sum", ShapedValues<double>{c.weight_sum, channel_size});
  visit("interior_begin", c.interior_begin);
  visit("interior_end", c.interior_end);
  visit("interior_positions", c.interior_positions);
  visit("min_taps", c.min_taps);
  visit("max_taps", c.max_taps);
  visit("mean_taps", c.mean_taps);
  visit("tap_amplitude", c.tap_amplitude);
  visit("weight_amplitude", c.weight_amplitude);
  visit("even", c.even);
  visit("period", c.period);
  visit("period_pattern", ShapedValues<Index>{c.period_pattern, c.period});
}

// Structure only: tap counts, interior, amplitude of the counts (weight fields empty).
Checkerboard checkerboard(const ConvSpec& spec);
// Also the weight sums and their amplitudes; weight in PyTorch's layout.
template <class Scalar>
Checkerboard checkerboard(const ConvSpec& spec, const Scalar* weight);

}  // namespace convmat

#pragma once
// AxisMap: which input positions and kernel taps meet, along one spatial axis.
//
// Padding (all four modes) acts on each axis separately, so W's structure is a product of
// one-dimensional maps. For the row position o along an axis, the taps k = 0 … K−1 read the
// padded position q = o·s − p0 + k·d, which lands on input position i = fold(q) or, with zero
// padding outside [0, n), nowhere. Taps landing on the same position are grouped into one entry
// (with reflect, replicate or circular padding and a small input several taps can coincide; their
// weights are summed into one nonzero of W). With input dilation l the padded position q is
// position q + p0 of the dilated input, which is input position (q + p0)/l where l divides it and
// one of the inserted zeros (nowhere) otherwise; l > 1 only with zero padding (ConvSpec's rule).

#include <cstdint>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/detail/assert.hpp"

namespace convmat::detail {

struct AxisMap {
  Index rows = 1;  // row positions along this axis (the convolution's output size)
  Index cols = 1;  // column positions (the convolution's input size)
  Index taps = 1;  // kernel size
  // Row position o owns the entries [entry_ptr[o], entry_ptr[o+1]), in ascending column order.
  std::vector<Index> entry_ptr{0, 1};
  std::vector<Index> entry_col{0};
  // Entry e sums the taps [tap_ptr[e], tap_ptr[e+1]).
  std::vector<Index> tap_ptr{0, 1};
  std::vector<Index> tap{0};
  bool one_tap_per_entry = true;

  Index entries(Index o) const {
    CONVMAT_ASSERT(o >= 0 && o < rows, "AxisMap row position out of range");
    return entry_ptr[o + 1] - entry_ptr[o];
  }
};

// The map along one axis of a convolution with `rows` output positions (which may be fewer than
// the formula's, see ConvSpec::as_convolution) and `cols` input positions, dilated by
// `input_dilation`.
AxisMap make_axis_map(Index rows, Index cols, Index kernel, Index stride, Index dilation,
                      Index pad_begin, PaddingMode mode, Index input_dilation);

}  // namespace convmat::detail

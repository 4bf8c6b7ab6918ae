#pragma once
// XLA's general convolution — StableHLO `convolution`, XLA ConvGeneralDilated,
// jax.lax.conv_general_dilated — as a LayerCall: a ConvSpec and the layouts of its tensors.
//
// Attributes, per spatial dimension in the order of the kernel's spatial letters (JAX matches
// window_strides[0] with the first spatial letter of the rhs string):
//   window_strides       the convolution's stride
//   padding              (low, high) pairs, negative allowed (a crop), or JAX's strings:
//                        "SAME" total P = max((⌈n/s⌉ − 1)s + d(k − 1) + 1 − n, 0), ⌊P/2⌋ low;
//                        "SAME_LOWER" the same total, ⌊P/2⌋ high; "VALID" none (any case)
//   lhs_dilation         the input dilation (l − 1 zeros between input elements): with
//                        window_strides 1, the transposed convolution of stride l; with a
//                        window stride too, ConvSpec's input_dilation (a convolution reading
//                        the dilated input)
//   rhs_dilation         the kernel's dilation
//   window_reversal      whether the window is reversed along a dimension: the kernel read
//                        backwards (a reversed axis of the weight's layout)
//   dimension_numbers    three strings (lhs "N", "C"; rhs "O", "I"; out "N", "C"; the same other
//                        letters for the spatial axes, layout.hpp's conv_dimension_numbers);
//                        empty: ("NC…", "OI…", "NC…"), jax's default
//   feature_group_count  the groups (StableHLO splits lhs's features and rhs's output features)
//   batch_group_count    G > 1 (the weight-gradient form): StableHLO splits lhs along its batch
//                        and rhs along its output features, convolves the pieces and
//                        concatenates them along the output features: here a layer with G
//                        groups over N/G samples of G·C channels, whose input layout moves the
//                        channel group into the batch axis (Layout::with_group_move)
// Every rule StableHLO states (C1–C25) is checked and named by its number.

#include <stdexcept>
#include <string>
#include <utility>

#include "convmat/core/layer_args.hpp"

namespace convmat {

struct XlaConvArgs {
  Dims window_strides;   // empty: all 1
  std::string padding;   // "SAME", "SAME_LOWER", "VALID", or "" for `pads`
  Dims pads;             // low0, high0, low1, high1, …; empty: all 0
  Dims lhs_dilation;     // empty: all 1
  Dims rhs_dilation;     // empty: all 1
  Dims window_reversal;  // 0 or 1 per spatial dimension; empty: all 0
  // "NHWC,HWIO,NHWC": lhs, rhs and out separated by commas; empty: convmat's order.
  std::string dimension_numbers;
  Index feature_group_count = 1;
  Index batch_group_count = 1;
};

// The general convolution's output is empty: a spatial size of 0 — StableHLO's number of
// windows, 0 where the dilated window is longer than the padded, dilated input — or a batch of
// 0. XLA computes it as an empty array; convmat has no matrix for it (a ConvSpec's output sizes
// are >= 1). Front ends that compute or check outputs (apply, check, diagnose) give or expect the
// empty array of `shape` (in dimension_numbers' out order); the others report the message.
struct EmptyOutput : std::invalid_argument {
  EmptyOutput(const std::string& message, Dims shape, Index out_channels)
      : std::invalid_argument(message), shape(std::move(shape)), out_channels(out_channels) {}
  Dims shape;
  Index out_channels;  // rhs's output features (a bias has one value per output channel)
};

// lhs and rhs shapes as stored (in dimension_numbers' orders) → the layer, whose layouts are
// dimension_numbers': the output is returned in the out string's order. Every rule is checked
// first; then an empty output throws EmptyOutput, and a padded input shorter than 0
// (dilated size + low + high < 0) std::invalid_argument, as jax refuses it.
LayerCall xla_conv(const Dims& lhs_shape, const Dims& rhs_shape, const XlaConvArgs& args);

}  // namespace convmat

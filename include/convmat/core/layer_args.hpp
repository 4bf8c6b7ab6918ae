#pragma once
// PyTorch's and ONNX's ways of describing a layer, turned into a ConvSpec.
//
// The Python module and the command-line program both go through these functions, so the two
// front ends accept exactly the same arguments and reject them with the same messages
// (std::invalid_argument naming the rule and the values).
//
//  - torch.nn.functional.conv{1,2,3}d(input, weight, bias, stride, padding, dilation, groups),
//    padding an int/tuple or "same"/"valid", plus nn.ConvNd's padding_mode;
//  - torch.nn.functional.conv_transpose{1,2,3}d(input, weight, bias, stride, padding,
//    output_padding, groups, dilation);
//  - ONNX Conv and ConvTranspose (attributes auto_pad, dilations, group, kernel_shape, pads,
//    strides; output_padding and output_shape for ConvTranspose), as the operator documentation
//    defines them (opsets 11–22).

#include <string>

#include "convmat/core/conv_spec.hpp"

namespace convmat {

// (batch, *sample) when batched, else `sample`: the shape of a call's input or output.
Dims batched_shape(const Dims& sample, Index batch, bool batched);

// The layer a call describes, and how its input was given.
struct LayerCall {
  ConvSpec spec;
  Index batch = 1;      // N, or 1 for an unbatched input
  bool batched = true;  // input (N, C, *spatial); false: (C, *spatial) as PyTorch also accepts

  Dims input_shape() const { return batched_shape(spec.input_shape(), batch, batched); }
  Dims output_shape() const { return batched_shape(spec.output_shape(), batch, batched); }
};

struct TorchConvArgs {
  // Each spatial vector: one entry (used for every dimension) or one per spatial dimension.
  Dims stride{1};
  Dims padding{0};
  Dims dilation{1};
  Dims output_padding{0};    // transposed only
  std::string padding_name;  // "same" or "valid" instead of `padding` (convolution only)
  Index groups = 1;
  PaddingMode padding_mode = PaddingMode::zeros;  // convolution only
};

// input_shape: (N, C_in, *spatial) or (C_in, *spatial); weight_shape: PyTorch's layout.
// rank: the function's spatial rank (conv2d → 2), or 0 to take it from the weight.
// padding "same" (stride 1 only) pads d(k−1) in total per dimension, ⌊·/2⌋ at the begin and the
// rest at the end, as PyTorch does.
LayerCall torch_conv(const Dims& input_shape, const Dims& weight_shape, const TorchConvArgs& args,
                     int rank = 0);
LayerCall torch_conv_transpose(const Dims& input_shape, const Dims& weight_shape,
                               const TorchConvArgs& args, int rank = 0);

struct OnnxConvAttributes {
  std::string auto_pad = "NOTSET";  // NOTSET | SAME_UPPER | SAME_LOWER | VALID
  Dims dilations;                   // empty: all 1
  Index group = 1;
  Dims kernel_shape;    // empty: from the weight; otherwise must match it
  Dims pads;            // begin…, end…; empty: all 0
  Dims strides;         // empty: all 1
  Dims output_padding;  // ConvTranspose: empty all 0
  Dims output_shape;    // ConvTranspose: spatial (or N, M, spatial) output shape
};

// Conv: X (N, C, *spatial), W (M, C/group, *k).
//   SAME_UPPER / SAME_LOWER: output = ⌈n/s⌉, total padding max(0, (⌈n/s⌉−1)s + d(k−1) + 1 − n),
//   the odd one at the end for SAME_UPPER, at the begin for SAME_LOWER; VALID: no padding.
LayerCall onnx_conv(const Dims& x_shape, const Dims& w_shape, const OnnxConvAttributes& attrs);
// ConvTranspose: X (N, C, *spatial), W (C, M/group, *k).
//   With output_shape (or SAME_*, whose output_shape is n·s), the total padding is
//   s(n−1) + output_padding + d(k−1) + 1 − output_shape; SAME_UPPER puts ⌊total/2⌋ at the begin,
//   otherwise the begin gets total − ⌊total/2⌋ (floor division: a negative total adds zero rows).
//   Given pads are then ignored, as the operator's documentation says. A full output_shape
//   (N, M, *spatial) must name X's N and the layer's M.
LayerCall onnx_conv_transpose(const Dims& x_shape, const Dims& w_shape,
                              const OnnxConvAttributes& attrs);

// Throws unless a bias of `size` entries fits the layer (one per output channel).
void check_bias(const ConvSpec& spec, Index size);
// Throws unless a bias tensor of shape `shape` fits the layer: 1-D, one value per output channel
// (PyTorch's rule for conv*d's bias, ONNX's B of shape (M)).
void check_bias(const ConvSpec& spec, const Dims& shape);

}  // namespace convmat

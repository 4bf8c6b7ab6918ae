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
//    output_padding, groups, dilation), plus nn.ConvTransposeNd's padding_mode ("zeros" only);
//  - ONNX Conv and ConvTranspose (attributes auto_pad, dilations, group, kernel_shape, pads,
//    strides; output_padding and output_shape for ConvTranspose), as the operator documentation
//    defines them (opsets 11–22).

#include <string>
#include <utility>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/layout.hpp"

namespace convmat {

// (batch, *sample) when batched, else `sample`: the shape of a call's input or output.
Dims batched_shape(const Dims& sample, Index batch, bool batched);

// The layer a call describes, and how its input was given.
struct LayerCall {
  LayerCall(ConvSpec spec, Index batch = 1, bool batched = true)
      : spec(std::move(spec)), batch(batch), batched(batched) {}

  ConvSpec spec;
  Index batch = 1;      // N, or 1 for an unbatched input
  bool batched = true;  // input (N, C, *spatial); false: (C, *spatial) as PyTorch also accepts

  // How the caller stores the tensors (layout.hpp), relative to convmat's order of a batched
  // input (N, C, *spatial), the weight (ConvSpec::weight_shape) and a batched output; empty:
  // convmat's own order.
  Layout input_layout;
  Layout weight_layout;
  Layout output_layout;
  // The weight's shape as the caller gave it, when it is not the weight layout's permutation of
  // spec.weight_shape() but holds the same elements in the same order (TensorFlow's depthwise
  // filter (h, w, C, multiplier) is the (h, w, C·multiplier, 1) of the layout "HWOI"). Empty
  // otherwise.
  Dims weight_shape_given;

  // In convmat's order, batched_shape of the spec's shapes.
  Dims input_shape() const { return batched_shape(spec.input_shape(), batch, batched); }
  Dims output_shape() const { return batched_shape(spec.output_shape(), batch, batched); }

  // The layouts of the tensors as passed (the batch axis dropped for an unbatched input), and the
  // shapes in them: what the caller passes and receives.
  Layout given_input_layout() const;
  Layout given_output_layout() const;
  Dims given_input_shape() const {
    return given_input_layout().shape_from_canonical(input_shape());
  }
  Dims given_output_shape() const {
    return given_output_layout().shape_from_canonical(output_shape());
  }
  Dims given_weight_shape() const;
  // An index of the input, weight or output in convmat's order (as the oracle's blame names
  // them; the input's and output's with a batch axis when the call is batched) → the same element's
  // index in the tensor as the caller stores it.
  enum class Tensor { input, weight, output };
  // "input", "weight", "output", and back (std::invalid_argument naming the three otherwise).
  static const char* tensor_name(Tensor tensor);
  static Tensor tensor_from_name(const std::string& name);
  Dims given_index(Tensor tensor, const Dims& index) const;
  // A tensor's shape in convmat's order (input_shape, spec.weight_shape, output_shape) and as
  // the caller stores it (given_*_shape); whether the two orders are the same.
  Dims canonical_shape(Tensor tensor) const;
  Dims given_shape(Tensor tensor) const;
  bool is_canonical(Tensor tensor) const;
  // Whether any tensor is stored in an order other than convmat's.
  bool has_layouts() const;
  // A tensor's values (C order) as the caller stores it → in convmat's order, and back: the
  // permutations of given_input_layout / weight_layout / given_output_layout. The size must be
  // the tensor's (std::invalid_argument naming it otherwise).
  std::vector<double> to_canonical(Tensor tensor, std::vector<double> given) const;
  std::vector<double> from_canonical(Tensor tensor, std::vector<double> canonical) const;
  // The same into a separate array of the tensor's size (float or double; no size check).
  template <class Scalar>
  void to_canonical(Tensor tensor, const Scalar* given, Scalar* canonical) const;
  template <class Scalar>
  void from_canonical(Tensor tensor, const Scalar* canonical, Scalar* given) const;
};

struct TorchConvArgs {
  // Each spatial vector: one entry (used for every dimension) or one per spatial dimension.
  Dims stride{1};
  Dims padding{0};
  Dims dilation{1};
  Dims output_padding{0};    // transposed only
  std::string padding_name;  // "same" or "valid" instead of `padding` (convolution only)
  Index groups = 1;
  PaddingMode padding_mode = PaddingMode::zeros;  // transposed: zeros only (PyTorch's rule)
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

// TensorFlow's convolutions, as the documentation of tf.nn defines them (tf.nn.convolution and
// conv{1,2,3}d, tf.nn.conv_transpose and conv{2,3}d_transpose, tf.nn.depthwise_conv2d), on
// shapes already in convmat's order: the op table (layer_ops.hpp) turns the data_format and
// TensorFlow's filter order — [*k, in, out]; transposed [*k, out, in]; depthwise
// [*k, in, multiplier] — into it (layout.hpp).
//   SAME   output ⌈n/s⌉, total padding P = max((⌈n/s⌉ − 1)s + d(k − 1) + 1 − n, 0), ⌊P/2⌋ at
//          the begin and the odd one at the end (ONNX's SAME_UPPER; SAME_LOWER differs);
//   VALID  no padding, output ⌈(n − d(k − 1))/s⌉;
//   an explicit padding: (before, after) for every dimension of data_format, 0 for N and C.
// A transposed layer is the gradient of the convolution of an input of output_shape: that
// convolution (the rules above on output_shape) must give the input's size n, and the transposed
// layer is its Wᵀ — total padding P split ⌊P/2⌋ at the begin, never negative, and the r rows
// that the convolution's windows do not reach, (m + P − d(k − 1) − 1) − (n − 1)s, as
// output_padding. (ONNX ConvTranspose with output_shape splits the same total the other way,
// the odd one at the begin unless SAME_UPPER, and lets it go negative.)
struct TfConvArgs {
  std::string data_format = "NHWC";  // the order of strides, dilations, paddings with N+2 entries
  Dims strides;  // empty (all 1), one value, one per spatial axis, or N+2 (N and C entries 1)
  std::string padding = "VALID";  // "SAME", "VALID", or "EXPLICIT" with explicit_paddings
  Dims explicit_paddings;         // 2(N+2) values: (before, after) per dimension of data_format
  Dims dilations;                 // as strides
  Dims output_shape;              // transposed: N+2 values in data_format order, or N spatial
};

// input (N, C, *n); filter (C_out, C_in/groups, *k): TensorFlow's grouped convolution, groups =
// C / filter in_channels. Strides > 1 and dilations > 1 together are refused (tf.nn.convolution).
LayerCall tf_conv(const Dims& input_shape, const Dims& filter_shape, const TfConvArgs& args,
                  const std::string& op = "tf.nn.convolution");
// input (N, C_in, *n); filter (C_in, C_out, *k).
LayerCall tf_conv_transpose(const Dims& input_shape, const Dims& filter_shape,
                            const TfConvArgs& args);
// input (N, C, h, w); filter (multiplier, C, kh, kw) — TensorFlow's [kh, kw, C, multiplier] in
// convmat's order. Output channel k·multiplier + q reads input channel k with filter[…, k, q]:
// the convolution with groups = C and weight (C·multiplier, 1, kh, kw), which is the filter as
// stored ("HWOI" of that weight; LayerCall::weight_shape_given keeps TensorFlow's shape).
LayerCall tf_depthwise_conv2d(const Dims& input_shape, const Dims& filter_shape,
                              const TfConvArgs& args);

// Throws unless a bias of `size` entries fits the layer (one per output channel).
void check_bias(const ConvSpec& spec, Index size);
// Throws unless a bias tensor of shape `shape` fits the layer: 1-D, one value per output channel
// (PyTorch's rule for conv*d's bias, ONNX's B of shape (M)).
void check_bias(const ConvSpec& spec, const Dims& shape);
// The same for a layer of `out_channels` output channels (one without a ConvSpec: xla.hpp's
// EmptyOutput).
void check_bias(Index out_channels, const Dims& shape);

}  // namespace convmat

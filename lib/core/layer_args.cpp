#include "convmat/core/layer_args.hpp"

#include <algorithm>
#include <stdexcept>

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

// A total padding split as PyTorch's "same" and ONNX's SAME_UPPER do — ⌊total/2⌋ at the begin,
// the rest (the odd one) at the end — or, with odd_at_end false, as SAME_LOWER does. ⌊·⌋ rounds
// toward −∞: a negative total (ONNX ConvTranspose's output_shape above the natural size) adds
// ⌈|total|/2⌉ zero rows at the begin under SAME_UPPER.
void split_padding(Index total, bool odd_at_end, Index& begin, Index& end) {
  const Index half = total >= 0 ? total / 2 : -((-total + 1) / 2);
  begin = odd_at_end ? half : total - half;
  end = total - begin;
}

// One entry broadcast to `rank`, or exactly `rank` entries (PyTorch's _ntuple).
Dims expand(const Dims& v, int rank, const char* name, const std::string& op) {
  if (v.size() == 1) return Dims(static_cast<std::size_t>(rank), v[0]);
  if (v.size() != static_cast<std::size_t>(rank)) {
    fail(op + ": expected " + name + " to be a single integer value or a list of " +
         std::to_string(rank) + " values to match the convolution dimensions, but got " + name +
         "=" + dims_to_list(v));
  }
  return v;
}

// Splits an input shape into (batch, channels, spatial) for a layer of spatial rank `rank`.
void split_input(const Dims& input_shape, int rank, const std::string& op, LayerCall& call,
                 Index& channels, Dims& spatial) {
  const std::size_t n = input_shape.size();
  if (n == static_cast<std::size_t>(rank) + 2) {
    call.batched = true;
    call.batch = input_shape[0];
    channels = input_shape[1];
    spatial.assign(input_shape.begin() + 2, input_shape.end());
  } else if (n == static_cast<std::size_t>(rank) + 1) {
    call.batched = false;
    call.batch = 1;
    channels = input_shape[0];
    spatial.assign(input_shape.begin() + 1, input_shape.end());
  } else {
    fail(op + ": expected " + std::to_string(rank + 1) + "D (unbatched) or " +
         std::to_string(rank + 2) + "D (batched) input, but got input of shape " +
         dims_to_list(input_shape));
  }
  if (call.batch < 0) fail(op + ": the batch size must be >= 0, got " + std::to_string(call.batch));
  for (Index s : spatial) {
    if (s < 1)
      fail(op + ": every spatial size of the input must be >= 1, got input of shape " +
           dims_to_list(input_shape));
  }
}

int weight_rank(const Dims& weight_shape, int rank, const std::string& op) {
  const int r = static_cast<int>(weight_shape.size()) - 2;
  if (rank == 0 && (r < 1 || r > 3)) {
    fail(op +
         ": the weight must have 3, 4 or 5 dimensions (channels, channels, *kernel), got "
         "weight of shape " +
         dims_to_list(weight_shape));
  }
  if (rank != 0 && r != rank) {
    fail(op + ": expected a " + std::to_string(rank + 2) + "D weight, got weight of shape " +
         dims_to_list(weight_shape));
  }
  for (Index s : weight_shape) {
    if (s < 1)
      fail(op + ": every dimension of the weight must be >= 1, got weight of shape " +
           dims_to_list(weight_shape));
  }
  return r;
}

void require_nonnegative(const Dims& v, const std::string& op, const char* what) {
  for (Index x : v) {
    if (x < 0)
      fail(op + ": negative " + what + " is not supported, got " + what + "=" + dims_to_list(v));
  }
}

// PyTorch's messages for a stride or dilation below one.
void require_stride_and_dilation(const ConvParams& p, const std::string& op) {
  for (Index s : p.stride) {
    if (s < 1)
      fail(op + ": non-positive stride is not supported, got stride=" + dims_to_list(p.stride));
  }
  for (Index d : p.dilation) {
    if (d < 1)
      fail(op + ": dilation should be greater than zero, got dilation=" + dims_to_list(p.dilation));
  }
}

std::string torch_name(const char* base, int rank) {
  return std::string(base) + std::to_string(rank) + "d";
}

// PyTorch's rules for groups, in its order and words: groups >= 1; the input has the channels the
// weight expects (convolution (C_out, C_in/groups, *k): groups · C_in/groups; transposed
// (C_in, C_out/groups, *k): C_in); the weight's dimension 0 divisible by groups.
void check_groups(const std::string& op, Index groups, const Dims& input_shape,
                  const Dims& weight_shape, Index channels, bool transposed) {
  if (groups < 1)
    fail(op + ": non-positive groups is not supported, got groups=" + std::to_string(groups));
  const Index expected = transposed ? weight_shape[0] : weight_shape[1] * groups;
  if (channels != expected) {
    fail(op + ": given " + (transposed ? "transposed=1" : "groups=" + std::to_string(groups)) +
         ", weight of size " + dims_to_list(weight_shape) + ", expected input" +
         dims_to_list(input_shape) + " to have " + std::to_string(expected) +
         " channels, but got " + std::to_string(channels) + " channels instead");
  }
  if (weight_shape[0] % groups != 0) {
    fail(op + ": given groups=" + std::to_string(groups) + ", expected weight to be divisible by " +
         std::to_string(groups) + " at dimension 0, but got weight of size " +
         dims_to_list(weight_shape));
  }
}

}  // namespace

Dims batched_shape(const Dims& sample, Index batch, bool batched) {
  Dims shape = sample;
  if (batched) shape.insert(shape.begin(), batch);
  return shape;
}

Layout LayerCall::given_input_layout() const {
  return batched ? input_layout : input_layout.without_axis(0);
}

Layout LayerCall::given_output_layout() const {
  return batched ? output_layout : output_layout.without_axis(0);
}

Dims LayerCall::given_weight_shape() const {
  return weight_shape_given.empty() ? weight_layout.shape_from_canonical(spec.weight_shape())
                                    : weight_shape_given;
}

Dims LayerCall::given_index(Tensor tensor, const Dims& index) const {
  if (tensor == Tensor::input) {
    return given_input_layout().index_from_canonical(index, input_shape());
  }
  if (tensor == Tensor::output) {
    return given_output_layout().index_from_canonical(index, output_shape());
  }
  const Dims stored = weight_layout.index_from_canonical(index, spec.weight_shape());
  if (weight_shape_given.empty()) return stored;
  const Dims shape = weight_layout.shape_from_canonical(spec.weight_shape());
  Index flat = 0;
  for (std::size_t a = 0; a < shape.size(); ++a) flat = flat * shape[a] + stored[a];
  return unravel_index(flat, weight_shape_given);
}

namespace {

// The layout and convmat's shape of one of a call's tensors, and its name for messages.
struct TensorLayout {
  Layout layout;
  Dims canonical;
  const char* name;
};
TensorLayout tensor_layout(const LayerCall& call, LayerCall::Tensor tensor) {
  switch (tensor) {
    case LayerCall::Tensor::input:
      return {call.given_input_layout(), call.input_shape(), LayerCall::tensor_name(tensor)};
    case LayerCall::Tensor::weight:
      return {call.weight_layout, call.spec.weight_shape(), LayerCall::tensor_name(tensor)};
    case LayerCall::Tensor::output:
      return {call.given_output_layout(), call.output_shape(), LayerCall::tensor_name(tensor)};
  }
  return {{}, {}, "?"};
}

std::vector<double> permuted(const LayerCall& call, LayerCall::Tensor tensor,
                             std::vector<double> values, bool to_canonical) {
  const TensorLayout t = tensor_layout(call, tensor);
  Index n = 1;
  for (Index d : t.canonical) n *= d;
  if (static_cast<Index>(values.size()) != n) {
    fail("the " + std::string(t.name) + " has " + std::to_string(values.size()) +
         " elements, the layer's " + t.name + " " + dims_to_list(t.canonical) + " has " +
         std::to_string(n));
  }
  if (t.layout.is_identity()) return values;
  std::vector<double> out(values.size());
  if (to_canonical) {
    permute_to_canonical(values.data(), t.canonical, t.layout, out.data());
  } else {
    permute_from_canonical(values.data(), t.canonical, t.layout, out.data());
  }
  return out;
}

}  // namespace

const char* LayerCall::tensor_name(Tensor tensor) {
  switch (tensor) {
    case Tensor::input: return "input";
    case Tensor::weight: return "weight";
    case Tensor::output: return "output";
  }
  return "?";
}

LayerCall::Tensor LayerCall::tensor_from_name(const std::string& name) {
  for (Tensor t : {Tensor::input, Tensor::weight, Tensor::output}) {
    if (name == tensor_name(t)) return t;
  }
  fail("tensor must be 'input', 'weight' or 'output', got '" + name + "'");
}

Dims LayerCall::canonical_shape(Tensor tensor) const {
  return tensor_layout(*this, tensor).canonical;
}

Dims LayerCall::given_shape(Tensor tensor) const {
  switch (tensor) {
    case Tensor::input: return given_input_shape();
    case Tensor::weight: return given_weight_shape();
    case Tensor::output: return given_output_shape();
  }
  return {};
}

bool LayerCall::is_canonical(Tensor tensor) const {
  return tensor_layout(*this, tensor).layout.is_identity();
}

template <class Scalar>
void LayerCall::to_canonical(Tensor tensor, const Scalar* given, Scalar* canonical) const {
  const TensorLayout t = tensor_layout(*this, tensor);
  permute_to_canonical(given, t.canonical, t.layout, canonical);
}

template <class Scalar>
void LayerCall::from_canonical(Tensor tensor, const Scalar* canonical, Scalar* given) const {
  const TensorLayout t = tensor_layout(*this, tensor);
  permute_from_canonical(canonical, t.canonical, t.layout, given);
}

template void LayerCall::to_canonical(Tensor, const float*, float*) const;
template void LayerCall::to_canonical(Tensor, const double*, double*) const;
template void LayerCall::from_canonical(Tensor, const float*, float*) const;
template void LayerCall::from_canonical(Tensor, const double*, double*) const;

std::vector<double> LayerCall::to_canonical(Tensor tensor, std::vector<double> given) const {
  return permuted(*this, tensor, std::move(given), true);
}

std::vector<double> LayerCall::from_canonical(Tensor tensor, std::vector<double> canonical) const {
  return permuted(*this, tensor, std::move(canonical), false);
}

bool LayerCall::has_layouts() const {
  return !input_layout.is_identity() || !weight_layout.is_identity() ||
         !output_layout.is_identity();
}

LayerCall torch_conv(const Dims& input_shape, const Dims& weight_shape, const TorchConvArgs& args,
                     int rank) {
  const int r = weight_rank(weight_shape, rank, rank ? torch_name("conv", rank) : "conv");
  const std::string op = torch_name("conv", r);
  LayerCall call{ConvSpec::convolution(1, 1, {1}, {1}), 1, true};
  Index channels = 0;
  Dims spatial;
  split_input(input_shape, r, op, call, channels, spatial);

  check_groups(op, args.groups, input_shape, weight_shape, channels, false);

  ConvParams p;
  p.kind = ConvKind::convolution;
  p.in_channels = channels;
  p.out_channels = weight_shape[0];
  p.groups = args.groups;
  p.input_size = spatial;
  p.kernel_size.assign(weight_shape.begin() + 2, weight_shape.end());
  p.stride = expand(args.stride, r, "stride", op);
  p.dilation = expand(args.dilation, r, "dilation", op);
  p.padding_mode = args.padding_mode;
  require_nonnegative(p.stride, op, "stride");
  require_stride_and_dilation(p, op);
  if (args.padding_name.empty()) {
    p.pad_begin = expand(args.padding, r, "padding", op);
    require_nonnegative(p.pad_begin, op, "padding");
    p.pad_end = p.pad_begin;
  } else if (args.padding_name == "valid") {
    p.pad_begin.assign(static_cast<std::size_t>(r), 0);
    p.pad_end = p.pad_begin;
  } else if (args.padding_name == "same") {
    for (Index s : p.stride) {
      if (s != 1)
        fail(op + ": padding='same' is not supported for strided convolutions, got stride=" +
             dims_to_list(p.stride));
    }
    p.pad_begin.resize(static_cast<std::size_t>(r));
    p.pad_end.resize(static_cast<std::size_t>(r));
    for (int i = 0; i < r; ++i) {
      // The output keeps the input's size (stride 1): d(k−1) in total, the odd one at the end.
      const Index n = p.input_size[i];
      split_padding(conv_padding_for_output<Index>(n, p.kernel_size[i], 1, p.dilation[i], n), true,
                    p.pad_begin[i], p.pad_end[i]);
    }
  } else {
    fail(op + ": invalid padding string '" + args.padding_name +
         "', should be one of {'valid', 'same'}");
  }
  for (Index a : args.output_padding) {
    if (a != 0) fail(op + ": output_padding applies to transposed convolutions only");
  }
  call.spec = ConvSpec(p);
  return call;
}

LayerCall torch_conv_transpose(const Dims& input_shape, const Dims& weight_shape,
                               const TorchConvArgs& args, int rank) {
  const int r =
      weight_rank(weight_shape, rank, rank ? torch_name("conv_transpose", rank) : "conv_transpose");
  const std::string op = torch_name("conv_transpose", r);
  LayerCall call{ConvSpec::convolution(1, 1, {1}, {1}), 1, true};
  Index channels = 0;
  Dims spatial;
  split_input(input_shape, r, op, call, channels, spatial);

  if (!args.padding_name.empty()) {
    fail(op + ": padding must be an int or a tuple of ints, string padding ('" + args.padding_name +
         "') is not supported for transposed convolutions");
  }
  if (args.padding_mode != PaddingMode::zeros) {
    fail(op + ": only 'zeros' padding mode is supported for transposed convolutions, got '" +
         to_string(args.padding_mode) + "'");
  }
  check_groups(op, args.groups, input_shape, weight_shape, channels, true);

  ConvParams p;
  p.kind = ConvKind::transposed;
  p.in_channels = channels;
  p.out_channels = weight_shape[1] * args.groups;
  p.groups = args.groups;
  p.input_size = spatial;
  p.kernel_size.assign(weight_shape.begin() + 2, weight_shape.end());
  p.stride = expand(args.stride, r, "stride", op);
  p.dilation = expand(args.dilation, r, "dilation", op);
  p.pad_begin = expand(args.padding, r, "padding", op);
  p.pad_end = p.pad_begin;
  p.output_padding = expand(args.output_padding, r, "output_padding", op);
  require_stride_and_dilation(p, op);
  require_nonnegative(p.pad_begin, op, "padding");
  require_nonnegative(p.output_padding, op, "output_padding");
  call.spec = ConvSpec(p);
  return call;
}

namespace {

struct OnnxCommon {
  int rank = 0;
  Dims kernel, strides, dilations;

  // The layer without its padding: X's channels and spatial size, W's kernel, these strides and
  // dilations.
  ConvParams params(ConvKind kind, const Dims& x_shape, Index out_channels, Index group) const {
    ConvParams p;
    p.kind = kind;
    p.in_channels = x_shape[1];
    p.out_channels = out_channels;
    p.groups = group;
    p.input_size.assign(x_shape.begin() + 2, x_shape.end());
    p.kernel_size = kernel;
    p.stride = strides;
    p.dilation = dilations;
    return p;
  }
};

OnnxCommon onnx_common(const Dims& x_shape, const Dims& w_shape, const OnnxConvAttributes& a,
                       const std::string& op) {
  if (x_shape.size() < 3 || x_shape.size() > 5) {
    fail(op + ": X must have shape (N, C, D1[, D2[, D3]]), got " + dims_to_list(x_shape));
  }
  OnnxCommon c;
  c.rank = static_cast<int>(x_shape.size()) - 2;
  if (w_shape.size() != x_shape.size()) {
    fail(op + ": W must have as many dimensions as X (" + std::to_string(x_shape.size()) +
         "), got W of shape " + dims_to_list(w_shape));
  }
  for (Index s : x_shape) {
    if (s < 0) fail(op + ": X has a negative dimension: " + dims_to_list(x_shape));
  }
  for (Index s : w_shape) {
    if (s < 1) fail(op + ": every dimension of W must be >= 1, got " + dims_to_list(w_shape));
  }
  c.kernel.assign(w_shape.begin() + 2, w_shape.end());
  if (!a.kernel_shape.empty() && a.kernel_shape != c.kernel) {
    fail(op + ": kernel_shape " + dims_to_list(a.kernel_shape) +
         " does not match W's spatial shape " + dims_to_list(c.kernel));
  }
  auto spatial = [&](const Dims& v, const char* name, Index fill) {
    if (v.empty()) return Dims(static_cast<std::size_t>(c.rank), fill);
    if (v.size() != static_cast<std::size_t>(c.rank)) {
      fail(op + ": " + name + " must have " + std::to_string(c.rank) + " values, got " +
           dims_to_list(v));
    }
    return v;
  };
  c.strides = spatial(a.strides, "strides", 1);
  c.dilations = spatial(a.dilations, "dilations", 1);
  for (Index s : c.strides) {
    if (s < 1) fail(op + ": strides must be >= 1, got " + dims_to_list(c.strides));
  }
  for (Index d : c.dilations) {
    if (d < 1) fail(op + ": dilations must be >= 1, got " + dims_to_list(c.dilations));
  }
  if (a.group < 1) fail(op + ": group must be >= 1, got " + std::to_string(a.group));
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
      a.auto_pad != "VALID") {
    fail(op + ": auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + a.auto_pad +
         "'");
  }
  if (!a.pads.empty()) {
    if (a.pads.size() != static_cast<std::size_t>(2 * c.rank)) {
      fail(op + ": pads must have " + std::to_string(2 * c.rank) +
           " values (begin of each axis, then end of each axis), got " + dims_to_list(a.pads));
    }
    for (Index p : a.pads) {
      if (p < 0) fail(op + ": pads must be >= 0, got " + dims_to_list(a.pads));
    }
    bool nonzero = false;
    for (Index p : a.pads) nonzero = nonzero || p != 0;
    if (nonzero && a.auto_pad != "NOTSET") {
      fail(op + ": pads " + dims_to_list(a.pads) +
           " cannot be used together with auto_pad=" + a.auto_pad);
    }
  }
  return c;
}

}  // namespace

LayerCall onnx_conv(const Dims& x_shape, const Dims& w_shape, const OnnxConvAttributes& a) {
  const std::string op = "Conv";
  const OnnxCommon c = onnx_common(x_shape, w_shape, a, op);
  if (!a.output_padding.empty() || !a.output_shape.empty()) {
    fail(op + ": output_padding and output_shape are ConvTranspose attributes");
  }
  if (x_shape[1] != w_shape[1] * a.group) {
    fail(op + ": X has " + std::to_string(x_shape[1]) + " channels but W of shape " +
         dims_to_list(w_shape) + " with group=" + std::to_string(a.group) + " expects " +
         std::to_string(w_shape[1] * a.group));
  }
  if (w_shape[0] % a.group != 0) {
    fail(op + ": group=" + std::to_string(a.group) +
         " must divide M = W.shape[0] = " + std::to_string(w_shape[0]));
  }
  ConvParams p = c.params(ConvKind::convolution, x_shape, w_shape[0], a.group);
  p.pad_begin.assign(static_cast<std::size_t>(c.rank), 0);
  p.pad_end = p.pad_begin;
  if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
    for (int i = 0; i < c.rank; ++i) {
      const Index n = p.input_size[i], s = c.strides[i];
      const Index out = (n + s - 1) / s;
      const Index total =
          std::max<Index>(0, conv_padding_for_output(n, c.kernel[i], s, c.dilations[i], out));
      split_padding(total, a.auto_pad == "SAME_UPPER", p.pad_begin[i], p.pad_end[i]);
    }
  } else if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
    p.pad_begin.assign(a.pads.begin(), a.pads.begin() + c.rank);
    p.pad_end.assign(a.pads.begin() + c.rank, a.pads.end());
  }
  LayerCall call{ConvSpec(p), x_shape[0], true};
  return call;
}

LayerCall onnx_conv_transpose(const Dims& x_shape, const Dims& w_shape,
                              const OnnxConvAttributes& a) {
  const std::string op = "ConvTranspose";
  const OnnxCommon c = onnx_common(x_shape, w_shape, a, op);
  if (x_shape[1] != w_shape[0]) {
    fail(op + ": X has " + std::to_string(x_shape[1]) + " channels but W of shape " +
         dims_to_list(w_shape) + " expects C = W.shape[0] = " + std::to_string(w_shape[0]));
  }
  if (w_shape[0] % a.group != 0) {
    fail(op + ": group=" + std::to_string(a.group) +
         " must divide C = W.shape[0] = " + std::to_string(w_shape[0]));
  }
  ConvParams p = c.params(ConvKind::transposed, x_shape, w_shape[1] * a.group, a.group);
  if (a.output_padding.empty()) {
    p.output_padding.assign(static_cast<std::size_t>(c.rank), 0);
  } else if (a.output_padding.size() == static_cast<std::size_t>(c.rank)) {
    p.output_padding = a.output_padding;
  } else {
    fail(op + ": output_padding must have " + std::to_string(c.rank) + " values, got " +
         dims_to_list(a.output_padding));
  }
  for (Index v : p.output_padding) {
    if (v < 0) fail(op + ": output_padding must be >= 0, got " + dims_to_list(p.output_padding));
  }

  Dims target;  // the requested output spatial shape, if any
  if (!a.output_shape.empty()) {
    if (a.output_shape.size() == static_cast<std::size_t>(c.rank)) {
      target = a.output_shape;
    } else if (a.output_shape.size() == static_cast<std::size_t>(c.rank) + 2) {
      if (a.output_shape[0] != x_shape[0] || a.output_shape[1] != p.out_channels) {
        fail(op + ": output_shape " + dims_to_list(a.output_shape) +
             " given as (N, M, *spatial) must " + "start with X's N = " +
             std::to_string(x_shape[0]) + " and the layer's M = " + std::to_string(p.out_channels));
      }
      target.assign(a.output_shape.begin() + 2, a.output_shape.end());
    } else {
      fail(op + ": output_shape must have " + std::to_string(c.rank) + " spatial values, got " +
           dims_to_list(a.output_shape));
    }
    for (Index v : target) {
      if (v < 1) fail(op + ": output_shape must be >= 1, got " + dims_to_list(a.output_shape));
    }
  } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
    target.resize(static_cast<std::size_t>(c.rank));
    for (int i = 0; i < c.rank; ++i) target[i] = p.input_size[i] * c.strides[i];
  }

  p.pad_begin.assign(static_cast<std::size_t>(c.rank), 0);
  p.pad_end = p.pad_begin;
  if (!target.empty()) {
    for (int i = 0; i < c.rank; ++i) {
      split_padding(transposed_padding_for_output(p.input_size[i], c.kernel[i], c.strides[i],
                                                  c.dilations[i], p.output_padding[i], target[i]),
                    a.auto_pad == "SAME_UPPER", p.pad_begin[i], p.pad_end[i]);
    }
    // pads, if given, are ignored: "If output_shape is specified pads values are ignored"
    // (the operator's documentation; ONNX Runtime does the same).
  } else if (!a.pads.empty()) {
    p.pad_begin.assign(a.pads.begin(), a.pads.begin() + c.rank);
    p.pad_end.assign(a.pads.begin() + c.rank, a.pads.end());
  }
  LayerCall call{ConvSpec(p), x_shape[0], true};
  return call;
}

namespace {

// The spatial entries of a TensorFlow list given with 1, N or N+2 values (data_format order, the
// N and C entries `neutral`); empty: `fallback` for every axis.
Dims tf_spatial(const Dims& v, int rank, const std::string& data_format, const char* name,
                Index neutral, const std::string& op) {
  const auto r = static_cast<std::size_t>(rank);
  if (v.empty()) return Dims(r, neutral);
  if (v.size() == 1) return Dims(r, v[0]);
  if (v.size() == r) return v;
  if (v.size() == r + 2) {
    Dims spatial;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (data_format[i] == 'N' || data_format[i] == 'C') {
        if (v[i] != neutral) {
          fail(op + ": " + name + " must be " + std::to_string(neutral) +
               " in the batch and channel dimensions, got " + name + "=" + dims_to_list(v) +
               " with data_format " + data_format);
        }
      } else {
        spatial.push_back(v[i]);
      }
    }
    return spatial;
  }
  fail(op + ": " + name + " must have 1, " + std::to_string(rank) + " or " +
       std::to_string(rank + 2) + " values, got " + name + "=" + dims_to_list(v));
}

// The padding of one spatial dimension of size n under TensorFlow's padding rule.
void tf_padding(const TfConvArgs& a, int rank, std::size_t axis, Index n, Index k, Index s, Index d,
                Index& begin, Index& end, const std::string& op) {
  if (a.padding == "VALID") {
    begin = end = 0;
  } else if (a.padding == "SAME") {
    const Index out = (n + s - 1) / s;
    split_padding(std::max<Index>(0, conv_padding_for_output(n, k, s, d, out)), true, begin, end);
  } else if (a.padding == "EXPLICIT") {
    const auto full = static_cast<std::size_t>(rank) + 2;
    if (a.explicit_paddings.size() != 2 * full) {
      fail(op + ": an explicit padding must have a (before, after) pair for each of the " +
           std::to_string(full) + " dimensions of " + a.data_format + ", got " +
           dims_to_list(a.explicit_paddings));
    }
    std::size_t spatial = 0;
    for (std::size_t i = 0; i < full; ++i) {
      const Index before = a.explicit_paddings[2 * i], after = a.explicit_paddings[2 * i + 1];
      if (a.data_format[i] == 'N' || a.data_format[i] == 'C') {
        if (before != 0 || after != 0) {
          fail(op + ": the explicit padding of the batch and channel dimensions must be 0, got " +
               dims_to_list(a.explicit_paddings) + " with data_format " + a.data_format);
        }
      } else if (spatial++ == axis) {
        if (before < 0 || after < 0) {
          fail(op + ": an explicit padding must be >= 0, got " + dims_to_list(a.explicit_paddings));
        }
        begin = before;
        end = after;
      }
    }
  } else {
    fail(op + ": padding must be 'SAME', 'VALID' or a list of (before, after) pairs, got '" +
         a.padding + "'");
  }
}

struct TfGeometry {
  int rank = 0;
  Dims strides, dilations;
};

TfGeometry tf_geometry(const Dims& input_shape, const Dims& filter_shape, const TfConvArgs& a,
                       const std::string& op) {
  TfGeometry g;
  g.rank = static_cast<int>(filter_shape.size()) - 2;
  if (input_shape.size() != filter_shape.size()) {
    fail(op + ": the input must have " + std::to_string(filter_shape.size()) +
         " dimensions (batch, channels and one per filter axis), got input of shape " +
         dims_to_list(input_shape));
  }
  if (a.data_format.size() != input_shape.size()) {
    fail(op + ": data_format " + a.data_format + " does not describe a " +
         std::to_string(input_shape.size()) + "D input");
  }
  g.strides = tf_spatial(a.strides, g.rank, a.data_format, "strides", 1, op);
  g.dilations = tf_spatial(a.dilations, g.rank, a.data_format, "dilations", 1, op);
  for (Index v : g.strides) {
    if (v < 1) fail(op + ": strides must be >= 1, got " + dims_to_list(a.strides));
  }
  for (Index v : g.dilations) {
    if (v < 1) fail(op + ": dilations must be >= 1, got " + dims_to_list(a.dilations));
  }
  return g;
}

bool any_above_one(const Dims& v) {
  return std::any_of(v.begin(), v.end(), [](Index x) { return x > 1; });
}

}  // namespace

LayerCall tf_conv(const Dims& input_shape, const Dims& filter_shape, const TfConvArgs& a,
                  const std::string& op) {
  const TfGeometry g = tf_geometry(input_shape, filter_shape, a, op);
  if (any_above_one(g.strides) && any_above_one(g.dilations)) {
    fail(op + ": strides > 1 not supported in conjunction with dilations > 1, got strides=" +
         dims_to_list(g.strides) + " and dilations=" + dims_to_list(g.dilations));
  }
  const Index channels = input_shape[1], filter_in = filter_shape[1], out = filter_shape[0];
  if (channels % filter_in != 0 || out % (channels / filter_in) != 0) {
    fail(op + ": the input depth " + std::to_string(channels) +
         " must be a multiple of the filter's in_channels " + std::to_string(filter_in) +
         " (the groups), and the groups must divide out_channels " + std::to_string(out));
  }
  ConvParams p;
  p.in_channels = channels;
  p.out_channels = out;
  p.groups = channels / filter_in;
  p.input_size.assign(input_shape.begin() + 2, input_shape.end());
  p.kernel_size.assign(filter_shape.begin() + 2, filter_shape.end());
  p.stride = g.strides;
  p.dilation = g.dilations;
  p.pad_begin.resize(static_cast<std::size_t>(g.rank));
  p.pad_end.resize(static_cast<std::size_t>(g.rank));
  for (std::size_t i = 0; i < p.pad_begin.size(); ++i) {
    tf_padding(a, g.rank, i, p.input_size[i], p.kernel_size[i], p.stride[i], p.dilation[i],
               p.pad_begin[i], p.pad_end[i], op);
  }
  return LayerCall(ConvSpec(p), input_shape[0], true);
}

LayerCall tf_conv_transpose(const Dims& input_shape, const Dims& filter_shape,
                            const TfConvArgs& a) {
  const std::string op = "tf.nn.conv_transpose";
  const TfGeometry g = tf_geometry(input_shape, filter_shape, a, op);
  const auto rank = static_cast<std::size_t>(g.rank);
  if (input_shape[1] != filter_shape[0]) {
    fail(op + ": the input has " + std::to_string(input_shape[1]) +
         " channels but the filter's in_channels (its last dimension) is " +
         std::to_string(filter_shape[0]));
  }
  Dims m;  // the output's spatial size
  if (a.output_shape.size() == rank + 2) {
    for (std::size_t i = 0; i < rank + 2; ++i) {
      const char axis = a.data_format[i];
      const Index v = a.output_shape[i];
      if (axis == 'N' && v != input_shape[0]) {
        fail(op + ": output_shape " + dims_to_list(a.output_shape) +
             " must have the input's batch " + std::to_string(input_shape[0]));
      } else if (axis == 'C' && v != filter_shape[1]) {
        fail(op + ": output_shape " + dims_to_list(a.output_shape) +
             " must have the filter's output_channels " + std::to_string(filter_shape[1]));
      } else if (axis != 'N' && axis != 'C') {
        m.push_back(v);
      }
    }
  } else if (a.output_shape.size() == rank) {
    m = a.output_shape;
  } else {
    fail(op + ": output_shape must have " + std::to_string(rank + 2) + " values (" + a.data_format +
         ") or " + std::to_string(rank) + " spatial ones, got " + dims_to_list(a.output_shape));
  }
  for (Index v : m) {
    if (v < 1) fail(op + ": output_shape must be >= 1, got " + dims_to_list(a.output_shape));
  }
  ConvParams p;
  p.kind = ConvKind::transposed;
  p.in_channels = filter_shape[0];
  p.out_channels = filter_shape[1];
  p.input_size.assign(input_shape.begin() + 2, input_shape.end());
  p.kernel_size.assign(filter_shape.begin() + 2, filter_shape.end());
  p.stride = g.strides;
  p.dilation = g.dilations;
  p.pad_begin.resize(rank);
  p.pad_end.resize(rank);
  p.output_padding.resize(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const Index n = p.input_size[i], k = p.kernel_size[i], s = p.stride[i], d = p.dilation[i];
    Index begin = 0, end = 0;
    tf_padding(a, g.rank, i, m[i], k, s, d, begin, end, op);
    const Index reach = m[i] + begin + end - d * (k - 1) - 1;  // the convolution's last window
    const Index forward = reach < 0 ? 0 : reach / s + 1;       // its output size
    if (forward != n) {
      fail(op + ": the convolution of an input of output_shape " + dims_to_list(m) + " (padding " +
           a.padding + ") has " + std::to_string(forward) + " positions in " +
           std::string(spatial_axis_name(g.rank, static_cast<int>(i))) + ", but the input has " +
           std::to_string(n));
    }
    p.pad_begin[i] = begin;
    p.pad_end[i] = end;
    p.output_padding[i] = reach - (n - 1) * s;
  }
  return LayerCall(ConvSpec(p), input_shape[0], true);
}

LayerCall tf_depthwise_conv2d(const Dims& input_shape, const Dims& filter_shape,
                              const TfConvArgs& a) {
  const std::string op = "tf.nn.depthwise_conv2d";
  if (filter_shape.size() != 4) {
    fail(op +
         ": the filter must be 4-D [filter_height, filter_width, in_channels, "
         "channel_multiplier], got " +
         std::to_string(filter_shape.size()) + " dimensions");
  }
  const Index multiplier = filter_shape[0], channels = filter_shape[1];
  if (input_shape.size() != 4 || input_shape[1] != channels) {
    fail(op + ": the input must be 4-D with in_channels = " + std::to_string(channels) +
         " (the filter's third dimension), got input of shape " + dims_to_list(input_shape));
  }
  TfGeometry g = tf_geometry(input_shape, filter_shape, a, op);
  if (any_above_one(g.strides) && any_above_one(g.dilations)) {
    fail(op + ": dilations greater than 1 need all strides to be 1, got strides=" +
         dims_to_list(g.strides) + " and dilations=" + dims_to_list(g.dilations));
  }
  // The grouped convolution: weight (C·multiplier, 1, kh, kw).
  LayerCall call =
      tf_conv(input_shape, {channels * multiplier, 1, filter_shape[2], filter_shape[3]}, a, op);
  call.weight_layout = weight_layout("HWOI", 2, ConvKind::convolution);
  call.weight_shape_given = {filter_shape[2], filter_shape[3], channels, multiplier};
  return call;
}

void check_bias(const ConvSpec& spec, Index size) {
  if (size != spec.out_channels()) {
    throw std::invalid_argument("bias must have one value per output channel (" +
                                std::to_string(spec.out_channels()) + "), got " +
                                std::to_string(size));
  }
}

void check_bias(const ConvSpec& spec, const Dims& shape) { check_bias(spec.out_channels(), shape); }

void check_bias(Index out_channels, const Dims& shape) {
  if (shape.size() != 1 || shape[0] != out_channels) {
    fail("expected bias to be 1-dimensional with " + std::to_string(out_channels) +
         " elements (one per output channel), but got bias of shape " + dims_to_list(shape));
  }
}

}  // namespace convmat

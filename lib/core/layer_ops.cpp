#include "convmat/core/layer_ops.hpp"

#include <stdexcept>

#include "convmat/core/xla.hpp"

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

std::string text_of(const KeywordValue& v) {
  if (const Index* i = std::get_if<Index>(&v)) return std::to_string(*i);
  if (const Dims* d = std::get_if<Dims>(&v)) return dims_to_list(*d);
  return "'" + std::get<std::string>(v) + "'";
}

// Whether `v` is a value of `kind`; "an integer", … for the message otherwise.
const char* wanted(KeywordKind kind, const KeywordValue& v) {
  const bool name = std::holds_alternative<std::string>(v);
  switch (kind) {
    case KeywordKind::ints:
    case KeywordKind::optional_ints: return name ? "integers" : nullptr;
    case KeywordKind::ints_or_name: return nullptr;
    case KeywordKind::integer: return std::holds_alternative<Index>(v) ? nullptr : "an integer";
    case KeywordKind::name: return name ? nullptr : "a name";
  }
  return nullptr;
}

// The keywords of a translation, complete (LayerOp::resolve filled in the defaults).
const KeywordValue& value(const LayerKeywords& k, std::string_view name) {
  return k.find(name)->second;
}
Dims ints(const LayerKeywords& k, std::string_view name) {
  const KeywordValue& v = value(k, name);
  if (const Index* i = std::get_if<Index>(&v)) return Dims{*i};
  return std::get<Dims>(v);
}
Index integer(const LayerKeywords& k, std::string_view name) {
  return std::get<Index>(value(k, name));
}
const std::string& text(const LayerKeywords& k, std::string_view name) {
  return std::get<std::string>(value(k, name));
}

// ---------------------------------------------------------------------------------------------
// The translations, one per convention.

// torch.nn.functional.conv*d / conv_transpose*d (layer_args.hpp: torch_conv, torch_conv_transpose).
LayerCall torch_translation(const LayerOp& op, const Dims& input_shape, const Dims& weight_shape,
                            const LayerKeywords& k) {
  TorchConvArgs a;
  a.stride = ints(k, "stride");
  if (const auto* name = std::get_if<std::string>(&value(k, "padding"))) {
    if (name->empty()) {
      fail(std::string(op.name) +
           ": invalid padding string '', should be one of {'valid', 'same'}");
    }
    a.padding_name = *name;
  } else {
    a.padding = ints(k, "padding");
  }
  a.dilation = ints(k, "dilation");
  a.groups = integer(k, "groups");
  a.padding_mode = padding_mode_from_string(text(k, "padding_mode"));
  if (op.kind == ConvKind::transposed) {
    a.output_padding = ints(k, "output_padding");
    return torch_conv_transpose(input_shape, weight_shape, a, op.rank);
  }
  return torch_conv(input_shape, weight_shape, a, op.rank);
}

// ONNX Conv / ConvTranspose (layer_args.hpp: onnx_conv, onnx_conv_transpose).
LayerCall onnx_translation(const LayerOp& op, const Dims& x_shape, const Dims& w_shape,
                           const LayerKeywords& k) {
  OnnxConvAttributes a;
  a.auto_pad = text(k, "auto_pad");
  a.dilations = ints(k, "dilations");
  a.group = integer(k, "group");
  a.kernel_shape = ints(k, "kernel_shape");
  a.pads = ints(k, "pads");
  a.strides = ints(k, "strides");
  if (op.kind == ConvKind::transposed) {
    a.output_padding = ints(k, "output_padding");
    a.output_shape = ints(k, "output_shape");
    return onnx_conv_transpose(x_shape, w_shape, a);
  }
  return onnx_conv(x_shape, w_shape, a);
}

// TensorFlow's tf.nn.convolution, conv_transpose, depthwise_conv2d (layer_args.hpp: tf_conv, …).
LayerCall tf_translation(const LayerOp& op, const Dims& input_shape, const Dims& filter_shape,
                         const LayerKeywords& k) {
  TfConvArgs a;
  a.data_format = text(k, "data_format");
  a.strides = ints(k, "strides");
  a.dilations = ints(k, "dilations");
  if (const auto* name = std::get_if<std::string>(&value(k, "padding"))) {
    a.padding = *name;
  } else {
    a.padding = "EXPLICIT";
    a.explicit_paddings = ints(k, "padding");
  }
  if (op.name == "tf_depthwise_conv2d") return tf_depthwise_conv2d(input_shape, filter_shape, a);
  if (op.kind == ConvKind::transposed) {
    a.output_shape = ints(k, "output_shape");
    return tf_conv_transpose(input_shape, filter_shape, a);
  }
  return tf_conv(input_shape, filter_shape, a);
}

// XLA's general convolution (xla.hpp: xla_conv); padding "SAME" / "SAME_LOWER" / "VALID" or the
// (low, high) pairs, flattened.
LayerCall xla_translation(const LayerOp&, const Dims& lhs_shape, const Dims& rhs_shape,
                          const LayerKeywords& k) {
  XlaConvArgs a;
  a.window_strides = ints(k, "window_strides");
  if (const auto* name = std::get_if<std::string>(&value(k, "padding"))) {
    a.padding = *name;
  } else {
    a.pads = ints(k, "padding");
  }
  a.lhs_dilation = ints(k, "lhs_dilation");
  a.rhs_dilation = ints(k, "rhs_dilation");
  a.dimension_numbers = text(k, "dimension_numbers");
  a.feature_group_count = integer(k, "feature_group_count");
  a.batch_group_count = integer(k, "batch_group_count");
  a.window_reversal = ints(k, "window_reversal");
  return xla_conv(lhs_shape, rhs_shape, a);
}

// ---------------------------------------------------------------------------------------------
// The rows.

std::vector<LayerKeyword> torch_keywords(ConvKind kind) {
  const TorchConvArgs d;  // PyTorch's defaults
  if (kind == ConvKind::transposed) {
    return {{"stride", KeywordKind::ints, d.stride},
            {"padding", KeywordKind::ints_or_name, d.padding},
            {"output_padding", KeywordKind::ints, d.output_padding},
            {"groups", KeywordKind::integer, d.groups},
            {"dilation", KeywordKind::ints, d.dilation},
            // nn.ConvTransposeNd's: "zeros", the only mode it supports
            {"padding_mode", KeywordKind::name, to_string(d.padding_mode)}};
  }
  return {{"stride", KeywordKind::ints, d.stride},
          {"padding", KeywordKind::ints_or_name, d.padding},
          {"dilation", KeywordKind::ints, d.dilation},
          {"groups", KeywordKind::integer, d.groups},
          {"padding_mode", KeywordKind::name, to_string(d.padding_mode)}};
}

std::vector<LayerKeyword> onnx_keywords(ConvKind kind) {
  const OnnxConvAttributes d;  // ONNX's defaults (an empty list: absent)
  std::vector<LayerKeyword> k{{"auto_pad", KeywordKind::name, d.auto_pad},
                              {"dilations", KeywordKind::optional_ints, d.dilations, 1},
                              {"group", KeywordKind::integer, d.group},
                              {"kernel_shape", KeywordKind::optional_ints, d.kernel_shape, 1},
                              {"pads", KeywordKind::optional_ints, d.pads, 2},
                              {"strides", KeywordKind::optional_ints, d.strides, 1}};
  if (kind == ConvKind::transposed) {
    k.push_back({"output_padding", KeywordKind::optional_ints, d.output_padding, 1});
    k.push_back({"output_shape", KeywordKind::optional_ints, d.output_shape});
  }
  return k;
}

// TensorFlow's arguments, in its order; padding "SAME"/"VALID" or the explicit pairs, flattened.
std::vector<LayerKeyword> tf_keywords(std::string_view name, ConvKind kind) {
  std::vector<LayerKeyword> k;
  if (kind == ConvKind::transposed) {
    k.push_back({"output_shape", KeywordKind::optional_ints, Dims{}});
  }
  k.push_back({"strides", KeywordKind::optional_ints, Dims{}});
  k.push_back({"padding", KeywordKind::ints_or_name,
               std::string(kind == ConvKind::transposed ? "SAME" : "VALID")});
  k.push_back({"data_format", KeywordKind::name, std::string()});
  k.push_back({"dilations", KeywordKind::optional_ints, Dims{}});
  (void)name;
  return k;
}

// Channels last by default; filters [*k, in, out] ("*IO"), transposed [*k, out, in] ("*OI"),
// depthwise [*k, in, multiplier] (read as "*IO": I the channels, O the multiplier).
LayerOp tf_op(std::string_view name, std::string_view alias, ConvKind kind, int rank) {
  return {name,           {alias}, "TensorFlow",
          "argument",     kind,    rank,
          true,           "",      tf_keywords(name, kind),
          tf_translation, true,    kind == ConvKind::transposed ? "*OI" : "*IO"};
}

// jax.lax.conv_general_dilated's arguments, then StableHLO's window_reversal; the layouts are
// dimension_numbers' (data_format and weight_format are refused).
LayerOp xla_op() {
  const XlaConvArgs d;
  LayerOp op{"xla_conv",
             {"conv_general_dilated"},
             "XLA",
             "attribute",
             ConvKind::convolution,
             0,
             true,
             "feature_group_count",
             {{"window_strides", KeywordKind::optional_ints, d.window_strides, 1},
              {"padding", KeywordKind::ints_or_name, std::string("VALID")},
              {"lhs_dilation", KeywordKind::optional_ints, d.lhs_dilation, 1},
              {"rhs_dilation", KeywordKind::optional_ints, d.rhs_dilation, 1},
              {"dimension_numbers", KeywordKind::name, d.dimension_numbers},
              {"feature_group_count", KeywordKind::integer, d.feature_group_count},
              {"batch_group_count", KeywordKind::integer, d.batch_group_count},
              {"window_reversal", KeywordKind::optional_ints, d.window_reversal, 1}},
             xla_translation,
             false,
             ""};
  op.layouts_from_keywords = true;
  return op;
}

LayerOp torch_op(std::string_view name, ConvKind kind, int rank) {
  return {name,  {},    "PyTorch", "argument",           kind,
          rank,  false, "groups",  torch_keywords(kind), torch_translation,
          false, ""};
}

LayerOp onnx_op(std::string_view name, std::string_view alias, ConvKind kind) {
  return {name,  {alias}, "ONNX",  "attribute",         kind,
          0,     true,    "group", onnx_keywords(kind), onnx_translation,
          false, ""};
}

// The keywords given, checked against the op's, with the defaults of the others.
LayerKeywords complete(const LayerOp& op, const LayerKeywords& given) {
  LayerKeywords k;
  for (const LayerKeyword& keyword : op.keywords) k.emplace(keyword.name, keyword.default_value);
  for (const auto& [name, v] : given) {
    const LayerKeyword* keyword = op.keyword(name);
    if (!keyword) {
      fail("op " + std::string(op.name) + " takes the keywords " + op.keyword_names() + "; got '" +
           name + "'");
    }
    if (const char* want = wanted(keyword->kind, v)) {
      fail("op " + std::string(op.name) + ": " + name + " must be " + want + ", got " + text_of(v));
    }
    k[name] = v;
  }
  return k;
}

// The layout keywords of a call (layout_keywords()) taken out of the op's own keywords — kept
// there too, data_format resolved to a format, when the op lists them — and the layouts they
// name for a weight of `weight_shape`. `any` is false when every tensor is in convmat's order.
struct OpLayouts {
  LayerKeywords own;
  bool any = false;
  Layout data, weight;
};

OpLayouts op_layouts(const LayerOp& op, const Dims& weight_shape, const LayerKeywords& given) {
  OpLayouts l;
  std::string formats[2];
  l.any = op.channels_last || !op.weight_format.empty();
  const auto& layout = layout_keywords();
  for (const auto& [name, v] : given) {
    const std::size_t f = name == layout[0].name ? 0 : name == layout[1].name ? 1 : 2;
    if (f < 2) {
      const auto* text = std::get_if<std::string>(&v);
      if (!text)
        fail("op " + std::string(op.name) + ": " + name + " must be a name, got " + text_of(v));
      formats[f] = *text;
      l.any = l.any || !text->empty();
      if (!op.keyword(name)) continue;
    }
    l.own.emplace(name, v);
  }
  if (!l.any) return l;
  const int rank = static_cast<int>(weight_shape.size()) - 2;
  if (rank < 1 || rank > 3) {
    fail("op " + std::string(op.name) +
         ": the weight must have 3, 4 or 5 dimensions (two of channels and the kernel's), got "
         "weight of shape " +
         dims_to_list(weight_shape));
  }
  if (formats[0].empty()) formats[0] = data_format_name(rank, op.channels_last);
  if (formats[1].empty()) {
    for (char c : op.weight_format) {
      formats[1] += c == '*' ? std::string(spatial_letters(rank)) : std::string(1, c);
    }
  }
  l.data = data_layout(formats[0], rank);
  l.weight = weight_layout(formats[1], rank, op.kind);  // rank + 2 letters: the weight's
  if (op.keyword(layout[0].name)) l.own[std::string(layout[0].name)] = formats[0];
  return l;
}

}  // namespace

std::string to_string(KeywordKind kind) {
  switch (kind) {
    case KeywordKind::ints: return "ints";
    case KeywordKind::ints_or_name: return "ints_or_name";
    case KeywordKind::integer: return "integer";
    case KeywordKind::name: return "name";
    case KeywordKind::optional_ints: return "optional_ints";
  }
  return "?";
}

const LayerKeyword* LayerOp::keyword(std::string_view keyword_name) const {
  for (const LayerKeyword& k : keywords) {
    if (k.name == keyword_name) return &k;
  }
  return nullptr;
}

std::string LayerOp::keyword_names() const {
  std::string s;
  for (const LayerKeyword& k : keywords) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

const std::vector<LayerKeyword>& layout_keywords() {
  static const std::vector<LayerKeyword> k{{"data_format", KeywordKind::name, std::string()},
                                           {"weight_format", KeywordKind::name, std::string()}};
  return k;
}

LayerCall LayerOp::resolve(const Dims& input_shape, const Dims& weight_shape,
                           const LayerKeywords& given) const {
  if (layouts_from_keywords) {
    for (const LayerKeyword& k : layout_keywords()) {
      if (given.count(k.name)) {
        fail("op " + std::string(name) + " takes its layouts from dimension_numbers, not " +
             std::string(k.name));
      }
    }
  }
  const OpLayouts l = op_layouts(*this, weight_shape, given);
  if (!l.any) return translate(*this, input_shape, weight_shape, complete(*this, l.own));
  const int rank = static_cast<int>(weight_shape.size()) - 2;
  const bool unbatched =
      input_shape.size() == static_cast<std::size_t>(rank) + 1 && !batch_required;
  const Layout input = unbatched ? l.data.without_axis(0) : l.data;
  if (input_shape.size() != input.axes().size()) {
    fail("op " + std::string(name) + ": data_format '" + l.data.format() + "' describes a " +
         std::to_string(rank + 2) + "D input" +
         (batch_required ? "" : " (or " + std::to_string(rank + 1) + "D unbatched)") +
         ", got input of shape " + dims_to_list(input_shape));
  }
  LayerCall call = translate(*this, input.to_canonical(input_shape),
                             l.weight.to_canonical(weight_shape), complete(*this, l.own));
  call.input_layout = call.output_layout = l.data;
  if (call.weight_shape_given.empty()) {
    call.weight_layout = l.weight;
  } else if (call.given_weight_shape() != weight_shape) {  // a translation's own filter order
    fail("op " + std::string(name) + " takes its weight as " +
         dims_to_list(call.given_weight_shape()) + " here, got weight of shape " +
         dims_to_list(weight_shape) + " (weight_format " + l.weight.format() + ")");
  }
  return call;
}

Dims LayerOp::input_shape_for_size(const Dims& given_weight_shape, const Dims& size,
                                   std::optional<Index> batch, const LayerKeywords& given) const {
  const auto rank = static_cast<Index>(given_weight_shape.size()) - 2;
  const auto n = static_cast<Index>(size.size());
  if (rank < 1 || (n != 1 && n != rank)) return size;
  if (layouts_from_keywords) {
    const auto dn = given.find("dimension_numbers");
    if (dn != given.end() && dn->second != KeywordValue(std::string())) {
      fail("op " + std::string(name) +
           " derives an input shape from a spatial size only in "
           "convmat's order (no dimension_numbers); give the full input shape");
    }
  }
  const OpLayouts l = op_layouts(*this, given_weight_shape, given);
  const Dims weight_shape = l.weight.to_canonical(given_weight_shape);
  // PyTorch's weight layout, which ONNX shares: (C_out, C_in/groups, *k), transposed
  // (C_in, C_out/groups, *k).
  const Index channels =
      kind == ConvKind::transposed
          ? weight_shape[0]
          : weight_shape[1] *
                (groups_keyword.empty() ? 1 : integer(complete(*this, l.own), groups_keyword));
  Dims shape;
  if (batch || batch_required) shape.push_back(batch.value_or(1));
  shape.push_back(channels);
  for (Index a = 0; a < rank; ++a) shape.push_back(size[n == 1 ? 0 : static_cast<std::size_t>(a)]);
  // In the caller's data layout (spatial sizes in convmat's order D, H, W).
  return (shape.size() == static_cast<std::size_t>(rank) + 2 ? l.data : l.data.without_axis(0))
      .from_canonical(shape);
}

const std::vector<LayerOp>& layer_ops() {
  static const std::vector<LayerOp> ops{
      torch_op("conv", ConvKind::convolution, 0),
      torch_op("conv1d", ConvKind::convolution, 1),
      torch_op("conv2d", ConvKind::convolution, 2),
      torch_op("conv3d", ConvKind::convolution, 3),
      torch_op("conv_transpose", ConvKind::transposed, 0),
      torch_op("conv_transpose1d", ConvKind::transposed, 1),
      torch_op("conv_transpose2d", ConvKind::transposed, 2),
      torch_op("conv_transpose3d", ConvKind::transposed, 3),
      onnx_op("onnx_conv", "Conv", ConvKind::convolution),
      onnx_op("onnx_conv_transpose", "ConvTranspose", ConvKind::transposed),
      tf_op("tf_conv", "tf.nn.convolution", ConvKind::convolution, 0),
      tf_op("tf_conv_transpose", "tf.nn.conv_transpose", ConvKind::transposed, 0),
      tf_op("tf_depthwise_conv2d", "tf.nn.depthwise_conv2d", ConvKind::convolution, 2),
      xla_op(),
  };
  return ops;
}

const LayerOp* find_layer_op(std::string_view name) {
  for (const LayerOp& op : layer_ops()) {
    if (op.name == name) return &op;
    for (std::string_view alias : op.aliases) {
      if (alias == name) return &op;
    }
  }
  return nullptr;
}

const LayerOp& layer_op(std::string_view name) {
  if (const LayerOp* op = find_layer_op(name)) return *op;
  fail("unknown op '" + std::string(name) + "'; expected one of " + layer_op_names());
}

std::string layer_op_names(bool with_aliases) {
  std::string s;
  for (const LayerOp& op : layer_ops()) {
    s += (s.empty() ? "" : ", ") + std::string(op.name);
    if (with_aliases) {
      for (std::string_view alias : op.aliases) s += ", " + std::string(alias);
    }
  }
  return s;
}

}  // namespace convmat

#include "convmat/core/layer_ops.hpp"

#include <stdexcept>

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
  if (op.kind == ConvKind::transposed) {
    a.output_padding = ints(k, "output_padding");
    return torch_conv_transpose(input_shape, weight_shape, a, op.rank);
  }
  a.padding_mode = padding_mode_from_string(text(k, "padding_mode"));
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

// ---------------------------------------------------------------------------------------------
// The rows.

std::vector<LayerKeyword> torch_keywords(ConvKind kind) {
  const TorchConvArgs d;  // PyTorch's defaults
  if (kind == ConvKind::transposed) {
    return {{"stride", KeywordKind::ints, d.stride},
            {"padding", KeywordKind::ints_or_name, d.padding},
            {"output_padding", KeywordKind::ints, d.output_padding},
            {"groups", KeywordKind::integer, d.groups},
            {"dilation", KeywordKind::ints, d.dilation}};
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

LayerOp torch_op(std::string_view name, ConvKind kind, int rank) {
  return {name, {},    "PyTorch", "argument",           kind,
          rank, false, "groups",  torch_keywords(kind), torch_translation};
}

LayerOp onnx_op(std::string_view name, std::string_view alias, ConvKind kind) {
  return {name, {alias}, "ONNX",  "attribute",         kind,
          0,    true,    "group", onnx_keywords(kind), onnx_translation};
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

LayerCall LayerOp::resolve(const Dims& input_shape, const Dims& weight_shape,
                           const LayerKeywords& given) const {
  return translate(*this, input_shape, weight_shape, complete(*this, given));
}

Dims LayerOp::input_shape_for_size(const Dims& weight_shape, const Dims& size,
                                   std::optional<Index> batch, const LayerKeywords& given) const {
  const auto rank = static_cast<Index>(weight_shape.size()) - 2;
  const auto n = static_cast<Index>(size.size());
  if (rank < 1 || (n != 1 && n != rank)) return size;
  // PyTorch's weight layout, which ONNX shares: (C_out, C_in/groups, *k), transposed
  // (C_in, C_out/groups, *k).
  const Index channels = kind == ConvKind::transposed
                             ? weight_shape[0]
                             : weight_shape[1] * integer(complete(*this, given), groups_keyword);
  Dims shape;
  if (batch || batch_required) shape.push_back(batch.value_or(1));
  shape.push_back(channels);
  for (Index a = 0; a < rank; ++a) shape.push_back(size[n == 1 ? 0 : static_cast<std::size_t>(a)]);
  return shape;
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

#pragma once
// The ops a layer can be named by, one row each, and the keywords each takes: what Python's op=
// and the command line's --op both look up.
//
//   conv1d, conv2d, conv3d                       torch.nn.functional.conv*d
//   conv_transpose1d, conv_transpose2d, …3d      torch.nn.functional.conv_transpose*d
//   conv, conv_transpose                         the same, the rank taken from the weight
//   onnx_conv (Conv), onnx_conv_transpose        ONNX Conv, ConvTranspose
//     (ConvTranspose)
//   tf_conv, tf_conv_transpose,                  tf.nn.convolution, tf.nn.conv_transpose,
//     tf_depthwise_conv2d                          tf.nn.depthwise_conv2d (channels last and
//                                                  TensorFlow's filter order by default)
//   xla_conv (conv_general_dilated)              StableHLO convolution, jax.lax.conv_general_
//                                                  dilated (xla.hpp; layouts from
//                                                  dimension_numbers)
//
// Adding an op (another framework's convention) is adding a row to layer_ops() and its
// translation function, which turns the shapes and the keywords into a LayerCall — usually by
// way of layer_args.hpp, where each convention's rules live. The front ends parse a keyword's
// value by its KeywordKind and report the ops and keywords from this table.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "convmat/core/layer_args.hpp"

namespace convmat {

// A keyword's value: an integer, a list of integers, or a name.
using KeywordValue = std::variant<Index, Dims, std::string>;
// Keyword name → value.
using LayerKeywords = std::map<std::string, KeywordValue, std::less<>>;

// What a keyword takes.
enum class KeywordKind {
  ints,           // one integer for every spatial axis, or one per axis (PyTorch's stride)
  ints_or_name,   // the same, or a name (PyTorch's padding: "same", "valid")
  integer,        // one integer (groups, group)
  name,           // a name (padding_mode, auto_pad)
  optional_ints,  // a list of integers, empty when absent (ONNX's attributes; Python's None)
};
// "ints" | "ints_or_name" | "integer" | "name" | "optional_ints".
std::string to_string(KeywordKind kind);

struct LayerKeyword {
  std::string_view name;
  KeywordKind kind = KeywordKind::ints;
  KeywordValue default_value;
  // ONNX's attributes list exactly this many values per spatial axis (pads: 2); the command line
  // repeats a single value given for them. 0: no such rule (PyTorch's keywords broadcast a
  // single value themselves; ONNX's output_shape).
  int per_axis = 0;
};

struct LayerOp;
// Input and weight shapes and the complete keywords (every keyword of the op, defaults filled
// in) → the layer; std::invalid_argument naming the rule and the values when they do not fit.
using LayerTranslation = LayerCall (*)(const LayerOp& op, const Dims& input_shape,
                                       const Dims& weight_shape, const LayerKeywords& keywords);

struct LayerOp {
  std::string_view name;                  // "conv2d", "onnx_conv"
  std::vector<std::string_view> aliases;  // other names it answers to: "Conv"
  std::string_view convention;            // whose keywords: "PyTorch", "ONNX"
  std::string_view keyword_noun;          // what that convention calls them: "argument"
  ConvKind kind = ConvKind::convolution;
  int rank = 0;                     // 1–3, or 0: from the weight (PyTorch) or the input (ONNX)
  bool batch_required = false;      // the input must be (N, C, *spatial); else also (C, *spatial)
  std::string_view groups_keyword;  // the keyword that holds the groups ("groups", "group"), or
                                    // "" (TensorFlow: from the channels)
  std::vector<LayerKeyword> keywords;  // in the documented order
  LayerTranslation translate = nullptr;
  // The convention's layouts (layout.hpp) when data_format / weight_format are not given:
  // channels last (N…C) or first (NC…), and the weight's format with '*' for the spatial
  // letters ("*IO": TensorFlow's HWIO), "" for convmat's own (PyTorch's).
  bool channels_last = false;
  std::string_view weight_format;
  // The layouts come from the op's own keywords (XLA's dimension_numbers): the translation sets
  // them, and data_format / weight_format are refused.
  bool layouts_from_keywords = false;

  // The keyword `name`, or nullptr when the op does not take it.
  const LayerKeyword* keyword(std::string_view name) const;
  // "stride, padding, dilation, groups, padding_mode": the keywords for messages.
  std::string keyword_names() const;

  // The layer: `keywords` (a subset of the op's, the rest default) checked against their kinds,
  // then translated. std::invalid_argument for a keyword the op does not take, a value of
  // another kind, and everything the convention's rules refuse.
  // Every op also takes the layout keywords (layout_keywords()): the shapes are then in those
  // layouts, translated into convmat's order before the op's translation sees them (which also
  // gets data_format, resolved to a format, when the op lists it), and the LayerCall records them.
  LayerCall resolve(const Dims& input_shape, const Dims& weight_shape,
                    const LayerKeywords& keywords = {}) const;

  // The input shape of an input of spatial size `size` — one value for every axis, or one per
  // axis, the rank being the weight's — with the channels that the weight and the groups imply:
  // (C_in, *size), or (batch, C_in, *size) when a batch is given or the op requires one (then 1).
  // A `size` of another length is returned as it is: a full shape, or one resolve() refuses.
  Dims input_shape_for_size(const Dims& weight_shape, const Dims& size, std::optional<Index> batch,
                            const LayerKeywords& keywords = {}) const;
};

// Their fields (core/fields.hpp): what the front ends read of the table.
template <class Visit>
void for_each_field(const LayerKeyword& k, Visit&& visit) {
  visit("name", k.name);
  visit("kind", k.kind);
  visit("default", k.default_value);
  visit("per_axis", k.per_axis);
}
template <class Visit>
void for_each_field(const LayerOp& op, Visit&& visit) {
  visit("name", op.name);
  visit("aliases", op.aliases);
  visit("convention", op.convention);
  visit("kind", op.kind);
  visit("rank", op.rank);
  visit("batch_required", op.batch_required);
  visit("keywords", op.keywords);
  visit("channels_last", op.channels_last);
  visit("weight_format", op.weight_format);
}

// The keywords every op takes besides its own, names of layouts (layout.hpp): data_format
// ("NCHW", "NHWC", …; the op's channels_last says which when absent) and weight_format ("OIHW",
// "HWIO", …; the op's weight_format when absent).
const std::vector<LayerKeyword>& layout_keywords();

// Every op, in the order of the table above.
const std::vector<LayerOp>& layer_ops();
// The op named `name` (or one of its aliases), or nullptr.
const LayerOp* find_layer_op(std::string_view name);
// The same; std::invalid_argument "unknown op 'conv4d'; expected conv, conv1d, …" otherwise.
const LayerOp& layer_op(std::string_view name);
// Every op's name, aliases included when asked: "conv, conv1d, …, onnx_conv_transpose".
std::string layer_op_names(bool with_aliases = false);

}  // namespace convmat

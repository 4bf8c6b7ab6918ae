#include "flags.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "convmat/core/layer_ops.hpp"
#include "convmat/core/memory_limit.hpp"

namespace convmat::cli {

std::string long_name(const std::string& names) {
  std::size_t start = 0;
  while (start < names.size()) {
    const std::size_t comma = names.find(',', start);
    const std::string name =
        names.substr(start, comma == std::string::npos ? comma : comma - start);
    if (name.compare(0, 2, "--") == 0) return name;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Values

namespace {

bool parse_integer(std::string_view s, Index& out) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  const std::size_t digits = i;
  Index v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    if (v > max_vector_length) return false;
    ++i;
  }
  if (i == digits) return false;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i != s.size()) return false;
  out = negative ? -v : v;
  return true;
}

}  // namespace

Dims parse_dims(std::string_view flag, const std::string& text) {
  std::string_view s = text;
  if (s.size() >= 2 &&
      ((s.front() == '(' && s.back() == ')') || (s.front() == '[' && s.back() == ']'))) {
    s = s.substr(1, s.size() - 2);
  }
  Dims d;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    const std::string_view item =
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    Index v = 0;
    if (!parse_integer(item, v)) {
      throw UsageError(
          std::string(flag) +
          ": expected integers (at most 2147483647 in magnitude) separated by commas, got '" +
          text + "'");
    }
    d.push_back(v);
    if (d.size() > 16)
      throw UsageError(std::string(flag) + ": more than 16 values in '" + text + "'");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return d;
}

Index parse_index(std::string_view flag, const std::string& text) {
  Index v = 0;
  if (!parse_integer(text, v))
    throw UsageError(std::string(flag) + ": expected an integer, got '" + text + "'");
  return v;
}

double parse_nonnegative(std::string_view flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) ||
      v < 0) {
    throw UsageError(std::string(flag) + ": expected a finite number >= 0, got '" + text + "'");
  }
  return v;
}

std::uint64_t parse_bytes(std::string_view flag, const std::string& text,
                          std::uint64_t physical_memory) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit(end ? end : "");
  double scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "%") {
    scale = static_cast<double>(physical_memory) / 100;
  } else {
    const std::string units = "KMGT";
    const std::size_t k = units.find(unit[0]);
    const std::string rest = k == std::string::npos ? unit : unit.substr(1);
    if (k != std::string::npos && (rest.empty() || rest == "B" || rest == "iB"))
      scale = std::ldexp(1.0, 10 * static_cast<int>(k + 1));
  }
  if (text.empty() || end == text.c_str() || errno == ERANGE || !std::isfinite(v) || v <= 0 ||
      scale == 0 || v * scale >= 1.8e19) {
    throw UsageError(std::string(flag) +
                     ": expected a size such as 512M, 16G, 1.5GiB or 75%, got '" + text + "'");
  }
  return static_cast<std::uint64_t>(v * scale);
}

std::string parse_choice(std::string_view flag, const std::string& text,
                         const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  throw UsageError(std::string(flag) + ": expected " + list + ", got '" + text + "'");
}

CLI::Option* add_text(CLI::App& app, const std::string& names, std::optional<std::string>& target,
                      const std::string& metavar, const std::string& help) {
  return add_parsed<std::string>(
      app, names, target, [](const std::string&, const std::string& text) { return text; }, metavar,
      help);
}

CLI::Option* add_flag(CLI::App& app, const std::string& names, bool& target,
                      const std::string& help) {
  return app.add_flag(names, target, help)
      ->disable_flag_override()
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

// ---------------------------------------------------------------------------------------------
// The layer's keyword flags, from the op table

namespace {

std::string flag_of(std::string_view keyword) {
  std::string flag(keyword);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// How the help shows a keyword flag. The table decides which flags exist; these are the texts
// of the ones it has today (a keyword without one is shown by its convention and kind).
struct KeywordHelp {
  std::string_view flag, metavar, help;
};
constexpr KeywordHelp keyword_help[] = {
    {"stride", "S[,S...]", "stride: one value for every spatial axis, or one per axis (default 1)"},
    {"padding", "P[,P...]|same|valid",
     "PyTorch padding on both sides of each axis (default 0); 'same' (stride 1) and 'valid' as "
     "in PyTorch. tf_*: SAME | VALID or (before, after) pairs of every data_format axis; "
     "xla_conv: SAME | SAME_LOWER | VALID or low,high pairs per spatial axis (negative: a crop)"},
    {"dilation", "D[,D...]", "dilation, 1 = none (default 1)"},
    {"groups", "G", "groups (default 1)"},
    {"output-padding", "A[,A...]", "transposed ops: extra output rows at the end (default 0)"},
    {"padding-mode", "MODE",
     "PyTorch convolutions: zeros | reflect | replicate | circular (default zeros)"},
    {"auto-pad", "MODE", "ONNX ops: NOTSET | SAME_UPPER | SAME_LOWER | VALID (default NOTSET)"},
    {"pads", "B...,E...",
     "ONNX ops: the begin values of every axis, then the end values (default 0; one value: all)"},
    {"output-shape", "O[,O...]",
     "onnx_conv_transpose: the spatial output shape (sets the padding; --pads are then ignored, "
     "as ONNX says); tf_conv_transpose: the output's shape, N+2 values in data_format's order "
     "or the spatial sizes"},
    {"kernel-shape", "K[,K...]", "ONNX ops: checked against the weight's spatial shape"},
    {"window-strides", "S[,S...]", "xla_conv: the window stride of each spatial axis (default 1)"},
    {"lhs-dilation", "L[,L...]",
     "xla_conv: L - 1 zeros between input elements (with window strides 1 the transposed "
     "convolution of stride L; default 1)"},
    {"rhs-dilation", "D[,D...]", "xla_conv: the kernel's dilation (default 1)"},
    {"window-reversal", "0|1[,...]",
     "xla_conv: the window read backwards along an axis (default 0)"},
    {"dimension-numbers", "LHS,RHS,OUT",
     "xla_conv: the three layouts, e.g. NHWC,HWIO,NHWC (spatial letters matched by letter; "
     "default NC..,OI..,NC..)"},
    {"feature-group-count", "G", "xla_conv: feature groups (default 1)"},
    {"batch-group-count", "G",
     "xla_conv: batch groups, the weight gradient's form: N/G samples out (default 1)"},
    {"data-format", "FORMAT",
     "every op but xla_conv (whose layouts are --dimension-numbers): the layout of --input, the "
     "output and the candidate, e.g. NHWC (NCW, NWC, NCHW, NHWC, NCDHW, NDHWC or any order of N, "
     "C and the spatial letters; default the op's: NCHW, channels last for the TensorFlow ops); "
     "reports name indices in it"},
    {"weight-format", "FORMAT",
     "every op but xla_conv: the layout of --weight, e.g. HWIO, OHWI, IOHW (O and I the layer's "
     "output and input channels; default the op's: PyTorch's, TensorFlow's filter order for "
     "tf_*)"},
};

// One flag: a keyword's name, and the names of the same keyword in other conventions (a name
// that differs by a final 's': PyTorch's stride, dilation, groups are ONNX's strides,
// dilations, group).
struct KeywordFlag {
  std::string name;
  std::vector<std::string> aliases;
  KeywordKind kind;
  std::string conventions;  // "PyTorch", "ONNX", "PyTorch and ONNX"
  std::string noun;         // "argument", "attribute"
};

bool same_keyword(std::string_view a, std::string_view b) {
  return a == b || (a.size() + 1 == b.size() && b.back() == 's' && b.substr(0, a.size()) == a) ||
         (b.size() + 1 == a.size() && a.back() == 's' && a.substr(0, b.size()) == b);
}

const std::vector<KeywordFlag>& keyword_flags() {
  static const std::vector<KeywordFlag> flags = [] {
    std::vector<KeywordFlag> all;
    for (const LayerOp& op : layer_ops()) {
      for (const LayerKeyword& k : op.keywords) {
        const std::string name = flag_of(k.name);
        auto it = std::find_if(all.begin(), all.end(),
                               [&](const KeywordFlag& f) { return same_keyword(f.name, name); });
        if (it == all.end()) {
          all.push_back(
              {name, {}, k.kind, std::string(op.convention), std::string(op.keyword_noun)});
          continue;
        }
        if (it->name != name &&
            std::find(it->aliases.begin(), it->aliases.end(), name) == it->aliases.end())
          it->aliases.push_back(name);
        if (it->conventions.find(op.convention) == std::string::npos)
          it->conventions += " and " + std::string(op.convention);
      }
    }
    // The layout keywords, which every op takes (layout_keywords()).
    for (const LayerKeyword& k : layout_keywords()) {
      const std::string name = flag_of(k.name);
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const KeywordFlag& f) { return f.name == name; });
      if (it == all.end()) all.push_back({name, {}, k.kind, "every op's", "keyword"});
    }
    // In the help's order: the documented flags first, as they were, then any others.
    std::stable_sort(all.begin(), all.end(), [](const KeywordFlag& a, const KeywordFlag& b) {
      const auto rank = [](const KeywordFlag& f) {
        for (std::size_t i = 0; i < std::size(keyword_help); ++i)
          if (keyword_help[i].flag == f.name) return i;
        return std::size(keyword_help);
      };
      return rank(a) < rank(b);
    });
    return all;
  }();
  return flags;
}

// The flag that gives `keyword`, or nullptr.
const KeywordFlag* flag_for(std::string_view keyword) {
  const std::string name = flag_of(keyword);
  for (const KeywordFlag& f : keyword_flags()) {
    if (f.name == name || std::find(f.aliases.begin(), f.aliases.end(), name) != f.aliases.end())
      return &f;
  }
  return nullptr;
}

std::string metavar_of(KeywordKind kind) {
  switch (kind) {
    case KeywordKind::ints: return "N[,N...]";
    case KeywordKind::ints_or_name: return "N[,N...]|NAME";
    case KeywordKind::integer: return "N";
    case KeywordKind::name: return "NAME";
    case KeywordKind::optional_ints: return "N[,N...]";
  }
  return "VALUE";
}

// Why flag `f` does not apply to `op`: another convention's keyword, or not one of op's.
UsageError not_a_keyword_of(const KeywordFlag& f, const LayerOp& op) {
  std::string flags;
  for (const LayerKeyword& k : op.keywords)
    flags += (flags.empty() ? "--" : ", --") + flag_of(k.name);
  const std::string takes = std::string(op.name) + " takes " + std::string(op.convention) + "'s " +
                            std::string(op.keyword_noun) + "s " + flags;
  for (const LayerOp& other : layer_ops()) {
    if (other.convention == op.convention) continue;
    for (const LayerKeyword& k : other.keywords) {
      if (flag_for(k.name) != &f) continue;
      const char article = other.convention.empty() ? 'x' : other.convention[0];
      return UsageError("--" + f.name + " is " +
                        (std::string("AEIOU").find(article) != std::string::npos ? "an " : "a ") +
                        std::string(other.convention) + " " + std::string(other.keyword_noun) +
                        "; " + takes);
    }
  }
  return UsageError("--" + f.name + " does not apply to " + std::string(op.name) + "; " + takes);
}

// The keyword flags as the op's keywords, each read by its kind. ONNX's per-axis attributes
// take one value for every axis here too (`rank` axes).
LayerKeywords keywords_from(const LayerFlags& flags, const LayerOp& op, std::size_t rank) {
  for (const KeywordFlag& f : keyword_flags()) {
    if (!flags.keywords.count(f.name)) continue;
    bool taken = false;
    for (const LayerKeyword& k : op.keywords) taken = taken || flag_for(k.name) == &f;
    for (const LayerKeyword& k : layout_keywords()) taken = taken || flag_for(k.name) == &f;
    if (!taken) throw not_a_keyword_of(f, op);
  }
  // The op's keywords, then the layout keywords that every op takes and it does not list.
  std::vector<LayerKeyword> accepted = op.keywords;
  for (const LayerKeyword& k : layout_keywords()) {
    if (!op.keyword(k.name)) accepted.push_back(k);
  }
  LayerKeywords keywords;
  for (const LayerKeyword& k : accepted) {
    const KeywordFlag* f = flag_for(k.name);
    const auto given = f ? flags.keywords.find(f->name) : flags.keywords.end();
    if (given == flags.keywords.end()) continue;
    const std::string flag = "--" + f->name;
    const std::string& text = given->second;
    switch (k.kind) {
      case KeywordKind::ints: keywords[std::string(k.name)] = parse_dims(flag, text); break;
      case KeywordKind::ints_or_name:
        if (!text.empty() && text.find_first_of("0123456789") == std::string::npos) {
          keywords[std::string(k.name)] = text;  // "same", "valid"; the translation names others
        } else {
          keywords[std::string(k.name)] = parse_dims(flag, text);
        }
        break;
      case KeywordKind::integer: keywords[std::string(k.name)] = parse_index(flag, text); break;
      case KeywordKind::name: keywords[std::string(k.name)] = text; break;
      case KeywordKind::optional_ints: {
        Dims d = parse_dims(flag, text);
        if (k.per_axis > 0 && d.size() == 1) {
          const Index value = d[0];  // a copy: assign() must not read the vector it overwrites
          d.assign(static_cast<std::size_t>(k.per_axis) * rank, value);
        }
        keywords[std::string(k.name)] = d;
        break;
      }
    }
  }
  return keywords;
}

}  // namespace

void add_layer_options(CLI::App& app, LayerFlags& flags) {
  static const std::string op_help =
      "one of " + layer_op_names() +
      ": torch.nn.functional's conv*d and conv_transpose*d (conv and conv_transpose take the "
      "rank from the weight), ONNX's Conv and ConvTranspose, TensorFlow's tf_conv, "
      "tf_conv_transpose and tf_depthwise_conv2d, and XLA's xla_conv, each with its own options; "
      "for "
      "apply, check and diagnose also the quantized onnx_conv_integer (ConvInteger) and "
      "onnx_qlinear_conv "
      "(QLinearConv), compared exactly";
  CLI::Option* op = add_text(app, "--op", flags.op, "NAME", op_help);
  std::vector<CLI::Option*> keyword_options;
  for (const KeywordFlag& f : keyword_flags()) {
    std::string names = "--" + f.name;
    for (const std::string& a : f.aliases) names += ",--" + a;
    std::string metavar = metavar_of(f.kind);
    std::string help = f.conventions + " " + f.noun + " (" + to_string(f.kind) + ")";
    for (const KeywordHelp& h : keyword_help) {
      if (h.flag == f.name) {
        metavar = h.metavar;
        help = h.help;
      }
    }
    CLI::Option* option = app.add_option_function<std::string>(
        names, [&flags, name = f.name](const std::string& text) { flags.keywords[name] = text; },
        help);
    option->type_name(metavar);
    keyword_options.push_back(option);
  }
  CLI::Option* desc = add_text(
      app, "--desc", flags.desc, "DESCRIPTOR",
      "the layer as a oneDNN benchdnn descriptor instead of --op and the layer options, e.g. "
      "g1mb1ic16ih7iw7oc16kh3kw3sh1sw1ph1pw1 (dilation written benchdnn's way: PyTorch's d - 1); "
      "the accepted subset is in 'convmat shape --help'");
  desc->excludes(op);
  for (CLI::Option* k : keyword_options) desc->excludes(k);
  add_flag(app, "--deconv", flags.deconv,
           "with --desc: the descriptor is for benchdnn's --deconv driver (a transposed "
           "convolution)")
      ->needs(desc);
}

void add_quantized_options(CLI::App& app, QuantizedFlags& flags) {
  for (const QuantizedInput& q : quantized_inputs()) {
    if (!q.scalar_flag) continue;  // B: --bias
    const bool scale = q.type == QuantizedInputType::scale;
    std::string help =
        std::string(q.requantizing ? "onnx_qlinear_conv" : "the quantized ops") + ": ONNX's " +
        std::string(q.name) + ", " +
        (scale ? "a number (read as float32, ONNX's type)" : "an integer of its tensor's type") +
        (q.per_channel ? " or one per output channel (N,N,...)" : "") + ", or a .npy file" +
        (scale ? " (float32)" : "");
    if (q.type == QuantizedInputType::output_type)
      help += "; a number has x's type (a .npy file sets the output's type: int8 or uint8)";
    if (!q.required || !q.requantizing) help += q.requantizing ? "" : " (default 0)";
    CLI::Option* option = app.add_option_function<std::string>(
        "--" + flag_of(q.name),
        [&flags, name = std::string(q.name)](const std::string& text) {
          flags.inputs[name] = text;
        },
        help);
    option->type_name(q.per_channel ? "V[,V...]|FILE.npy" : "V|FILE.npy");
  }
}

const QuantizedOp* quantized_op_of(const LayerFlags& flags) {
  return flags.op ? find_quantized_op(*flags.op) : nullptr;
}

LayerDescription resolve_quantized_layer(const LayerFlags& flags, const Dims& x_shape,
                                         const Dims& w_shape) {
  const QuantizedOp* q = quantized_op_of(flags);
  const LayerOp& op = layer_op("onnx_conv");
  LayerDescription out{
      LayerCall{ConvSpec::convolution(1, 1, {1}, {1}), 1, true}, "", std::nullopt, {}, {}};
  out.op = std::string(q ? q->name : op.name);
  const std::size_t rank = x_shape.size() > 2 ? x_shape.size() - 2 : 1;
  out.call = op.resolve(x_shape, w_shape, keywords_from(flags, op, rank));
  out.input_shape = out.call.given_input_shape();
  out.output_shape = out.call.given_output_shape();
  return out;
}

LayerDescription resolve_layer(const LayerFlags& flags, const std::optional<Dims>& input_shape,
                               const std::optional<Dims>& weight_shape) {
  LayerDescription out{
      LayerCall{ConvSpec::convolution(1, 1, {1}, {1}), 1, true}, "", std::nullopt, {}, {}};
  if (flags.desc) {
    const ConvKind kind = flags.deconv ? ConvKind::transposed : ConvKind::convolution;
    BenchdnnDescriptor d = parse_benchdnn_descriptor(*flags.desc, kind);
    const ConvSpec spec = d.spec();
    out.op = kind == ConvKind::transposed ? "benchdnn deconv" : "benchdnn conv";
    out.call.spec = spec;
    out.call.batch = d.minibatch;
    out.call.batched = true;
    if (input_shape) {
      const Dims& s = *input_shape;
      const Dims sample = spec.input_shape();
      const bool batched = s.size() == sample.size() + 1 && Dims(s.begin() + 1, s.end()) == sample;
      const bool unbatched = s == sample;
      if (!batched && !unbatched) {
        throw UsageError("the input's shape " + dims_to_tuple(s) +
                         " does not fit the descriptor, which needs (N, " +
                         dims_to_tuple(sample).substr(1));
      }
      out.call.batched = batched;
      out.call.batch = batched ? s[0] : 1;
      if (batched && d.minibatch_given && s[0] != d.minibatch) {
        throw UsageError("the input's batch " + std::to_string(s[0]) +
                         " differs from the descriptor's mb" + std::to_string(d.minibatch));
      }
    }
    if (weight_shape && *weight_shape != spec.weight_shape()) {
      throw UsageError("the weight's shape " + dims_to_tuple(*weight_shape) +
                       " does not fit the descriptor, which needs " +
                       dims_to_tuple(spec.weight_shape()) + " (PyTorch's layout" +
                       (kind == ConvKind::transposed ? ": (C_in, C_out/groups, *k)"
                                                     : ": (C_out, C_in/groups, *k)") +
                       ")");
    }
    out.descriptor = std::move(d);
  } else {
    if (!flags.op)
      throw UsageError("describe the layer with --op NAME (and its options) or --desc DESCRIPTOR");
    const std::string& name = *flags.op;
    const LayerOp* op = find_layer_op(name);
    if (!op && find_quantized_op(name)) {
      throw UsageError("--op " + name +
                       ": a quantized op, taken by convmat apply, check and diagnose only");
    }
    if (!op) {
      throw UsageError("--op: unknown op '" + name + "'; expected one of " + layer_op_names());
    }
    if (!input_shape || !weight_shape) {
      throw UsageError(std::string("--op ") + name +
                       " needs the input's and the weight's shapes: give " +
                       (input_shape ? "" : "--input (or --input-shape)") +
                       (!input_shape && !weight_shape ? " and " : "") +
                       (weight_shape ? "" : "--weight (or --weight-shape)"));
    }
    out.op = name;
    const std::size_t rank = input_shape->size() > 2 ? input_shape->size() - 2 : 1;
    out.call = op->resolve(*input_shape, *weight_shape, keywords_from(flags, *op, rank));
  }
  out.input_shape = out.call.given_input_shape();
  out.output_shape = out.call.given_output_shape();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data, memory, output

void add_data_options(CLI::App& app, DataFlags& flags, unsigned which) {
  const Parser<Dims> dims = [](const std::string& flag, const std::string& text) {
    return parse_dims(flag, text);
  };
  CLI::Option *input = nullptr, *weight = nullptr;
  if (which & data_input) {
    input = add_text(app, "--input", flags.input, "X.npy",
                     "the input x: (N, C_in, *spatial), or (C_in, *spatial) for the PyTorch ops; "
                     "float16/32/64 (integer and bool arrays are converted to float64, with a "
                     "note)");
  }
  if (which & data_weight) {
    weight = add_text(app, "--weight", flags.weight, "W.npy",
                      "the weight in PyTorch's layout: convolution (C_out, C_in/groups, *k), "
                      "transposed convolution (C_in, C_out/groups, *k); ONNX uses the same "
                      "layouts");
  }
  if (which & data_bias) add_text(app, "--bias", flags.bias, "B.npy", "the bias: (C_out,)");
  if (which & data_input_shape) {
    CLI::Option* o = add_parsed(app, "--input-shape", flags.input_shape, dims, "N,C,...",
                                "the input's shape, instead of --input");
    if (input) input->excludes(o);
  }
  if (which & data_weight_shape) {
    CLI::Option* o = add_parsed(app, "--weight-shape", flags.weight_shape, dims, "A,B,...",
                                "the weight's shape, instead of --weight");
    if (weight) weight->excludes(o);
  }
}

void add_max_memory(CLI::App& app, std::optional<ByteSize>& target) {
  add_parsed<ByteSize>(
      app, "--max-memory", target,
      [](const std::string& flag, const std::string& text) {
        return ByteSize{parse_bytes(flag, text, physical_memory_bytes()), text};
      },
      "SIZE",
      "refuse a W (plus the arrays) above SIZE bytes: 512M, 16G, 2T or a percentage of the "
      "physical memory such as 80% (default 50%)");
}

void add_singular_value_count(CLI::App& app, std::optional<Index>& target) {
  add_parsed<Index>(
      app, "--count", target,
      [](const std::string& flag, const std::string& text) {
        const Index count = parse_index(flag, text);
        if (count < 1 || count > 100)
          throw UsageError(flag + ": expected 1 to 100 singular values, got " + text);
        return count;
      },
      "N", "Lanczos: how many of the largest and of the smallest singular values (default 3)");
}

void add_observed(CLI::App& app, std::optional<std::string>& target) {
  add_text(app, "--observed", target, "Y.npy",
           "the layer's output to invert: (N, C_out, *o), or (C_out, *o) for an unbatched "
           "PyTorch layer");
}

void add_output(CLI::App& app, std::optional<std::string>& target) {
  add_text(app, "--output,-o", target, "FILE",
           "where to write the result (written to a temporary file and renamed; through a "
           "symbolic link; directly into a device, a FIFO or stdout, the report then on stderr)");
}

void add_dtype(CLI::App& app, std::optional<std::string>& target) {
  add_parsed<std::string>(
      app, "--dtype", target,
      [](const std::string& flag, const std::string& text) {
        return parse_choice(flag, text, {"float32", "float64"});
      },
      "TYPE",
      "float32 | float64: the output's dtype (default float64 if any input is float64 or "
      "integer, else float32)");
}

void add_json(CLI::App& app, bool& target) {
  add_flag(app, "--json", target,
           "write the result as JSON on stdout (errors too: {\"error\": ...})");
}

void add_solver_options(CLI::App& app, SolverFlags& flags) {
  const Parser<double> nonnegative = [](const std::string& flag, const std::string& text) {
    return parse_nonnegative(flag, text);
  };
  add_parsed<LsqMethod>(
      app, "--method", flags.method,
      [](const std::string& flag, const std::string& text) {
        return lsq_method_from_string(parse_choice(flag, text, {"qr", "cholesky", "lsqr", "lsmr"}));
      },
      "NAME",
      "qr | cholesky | lsqr | lsmr (default qr): SuiteSparseQR, CHOLMOD, or the iterative LSQR "
      "/ LSMR");
  add_parsed(app, "--damp", flags.damp, nonnegative, "LAMBDA",
             "Tikhonov damping: minimize |M x - y|^2 + LAMBDA^2 |x|^2 (default 0)");
  add_parsed(app, "--atol", flags.atol, nonnegative, "A",
             "lsqr/lsmr: stop when |M^T r - damp^2 x| <= A*|M|*|r| (default 1e-6; SciPy's atol)");
  add_parsed(app, "--btol", flags.btol, nonnegative, "B",
             "lsqr/lsmr: stop when |r| <= B*|y| + atol*|M|*|x| (default 1e-6; SciPy's btol)");
  add_parsed(app, "--conlim", flags.conlim, nonnegative, "C",
             "lsqr/lsmr: stop when the estimate of cond([M; damp*I]) exceeds C (default 1e8; 0: "
             "no limit)");
  add_parsed<Index>(
      app, "--max-iterations", flags.max_iterations,
      [](const std::string& flag, const std::string& text) {
        const Index v = parse_index(flag, text);
        if (v < 1) throw UsageError(flag + ": expected at least 1, got " + text);
        return v;
      },
      "N", "lsqr/lsmr: iterations per sample (default 2 * the number of unknowns)");
  add_parsed<PreconditionerKind>(
      app, "--preconditioner", flags.preconditioner,
      [](const std::string& flag, const std::string& text) {
        return preconditioner_kind_from_string(
            parse_choice(flag, text, {"none", "auto", "dct", "circulant"}));
      },
      "NAME",
      "lsqr/lsmr: none | auto | dct | circulant (default none): precondition with the layer's "
      "FFT-diagonalized Gram matrix; the limit is still the minimum-norm solution");
  add_parsed(app, "--preconditioner-delta", flags.preconditioner_delta, nonnegative, "DELTA",
             "lsqr/lsmr with --preconditioner: invert G + DELTA^2 I instead of the Gram matrix G "
             "(noisy data; default 0)");
}

}  // namespace convmat::cli

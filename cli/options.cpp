#include "options.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "convmat/core/layer_ops.hpp"
#include "convmat/oracle/check.hpp"

namespace convmat::cli {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<OptionSpec>& option_table() {
  // The ops of the library's table (layer_ops.hpp), each with its own keywords as options.
  static const std::string op_help =
      "one of " + layer_op_names() +
      ": torch.nn.functional's conv*d and conv_transpose*d (conv and conv_transpose take the "
      "rank from the weight) and ONNX's Conv and ConvTranspose, each with its own options";
  static const std::string blame_help =
      "blame the N worst elements (default " + std::to_string(CheckOptions{}.max_blamed) + ")";
  static const std::string blame_terms_help =
      "list the N largest terms of each blamed element (default " +
      std::to_string(CheckOptions{}.max_terms) + ")";
  static const std::vector<OptionSpec> table{
      {Opt::op, "op", "", "NAME", op_help},
      {Opt::desc, "desc", "", "DESCRIPTOR",
       "the layer as a oneDNN benchdnn descriptor instead of --op and the layer options, e.g. "
       "g1mb1ic16ih7iw7oc16kh3kw3sh1sw1ph1pw1 (dilation written benchdnn's way: PyTorch's d - 1); "
       "the accepted subset is in 'convmat shape --help'"},
      {Opt::deconv, "deconv", "", "",
       "with --desc: the descriptor is for benchdnn's --deconv driver (a transposed convolution)"},
      {Opt::stride, "stride", "strides", "S[,S...]",
       "stride: one value for every spatial axis, or one per axis (default 1)"},
      {Opt::padding, "padding", "", "P[,P...]|same|valid",
       "PyTorch padding on both sides of each axis (default 0); 'same' (stride 1) and 'valid' as "
       "in PyTorch"},
      {Opt::dilation, "dilation", "dilations", "D[,D...]", "dilation, 1 = none (default 1)"},
      {Opt::groups, "groups", "group", "G", "groups (default 1)"},
      {Opt::output_padding, "output-padding", "", "A[,A...]",
       "transposed ops: extra output rows at the end (default 0)"},
      {Opt::padding_mode, "padding-mode", "", "MODE",
       "PyTorch convolutions: zeros | reflect | replicate | circular (default zeros)"},
      {Opt::auto_pad, "auto-pad", "", "MODE",
       "ONNX ops: NOTSET | SAME_UPPER | SAME_LOWER | VALID (default NOTSET)"},
      {Opt::pads, "pads", "", "B...,E...",
       "ONNX ops: the begin values of every axis, then the end values (default 0; one value: all)"},
      {Opt::output_shape, "output-shape", "", "O[,O...]",
       "onnx_conv_transpose: the spatial output shape (sets the padding; --pads are then ignored, "
       "as ONNX says)"},
      {Opt::kernel_shape, "kernel-shape", "", "K[,K...]",
       "ONNX ops: checked against the weight's spatial shape"},
      {Opt::input, "input", "", "X.npy",
       "the input x: (N, C_in, *spatial), or (C_in, *spatial) for the PyTorch ops; float16/32/64 "
       "(integer and bool arrays are converted to float64, with a note)"},
      {Opt::weight, "weight", "", "W.npy",
       "the weight in PyTorch's layout: convolution (C_out, C_in/groups, *k), transposed "
       "convolution (C_in, C_out/groups, *k); ONNX uses the same layouts"},
      {Opt::bias, "bias", "", "B.npy", "the bias: (C_out,)"},
      {Opt::input_shape, "input-shape", "", "N,C,...", "the input's shape, instead of --input"},
      {Opt::weight_shape, "weight-shape", "", "A,B,...", "the weight's shape, instead of --weight"},
      {Opt::candidate, "candidate", "", "Y.npy",
       "the output of the implementation under test; its dtype sets the default precision"},
      {Opt::output, "output", "o", "FILE",
       "where to write the result (written to a temporary file and renamed; through a symbolic "
       "link; directly into a device, a FIFO or stdout, the report then on stderr)"},
      {Opt::dtype, "dtype", "", "TYPE",
       "float32 | float64: the output's dtype (default float64 if any input is float64 or integer, "
       "else float32)"},
      {Opt::transpose, "transpose", "", "",
       "write the transpose of the layer's matrix (the adjoint)"},
      {Opt::atol, "atol", "", "A", "absolute tolerance, replaces (n+1)*lambda"},
      {Opt::rtol, "rtol", "", "R",
       "relative tolerance (times sum|w*x|), replaces (n+1)*eps + eps_out"},
      {Opt::precision, "precision", "", "P",
       "the precision the candidate summed in: float16 | bfloat16 | tfloat32 | float32 | float64 "
       "(default: the candidate's dtype)"},
      {Opt::blame, "blame", "", "N", blame_help},
      {Opt::blame_terms, "blame-terms", "", "N", blame_terms_help},
      {Opt::weight_fill, "weight-fill", "", "ones|random[:SEED]",
       "instead of --weight: every weight 1, or uniform in [-1, 1] from std::mt19937_64 seeded "
       "with SEED "
       "(default 0); the shape from --weight-shape or --desc"},
      {Opt::spectrum, "spectrum", "", "MODE",
       "auto | dense | lanczos | largest: all singular values by a dense SVD, the largest and "
       "smallest "
       "--count by Lanczos, or the largest only (default auto: dense when M has at most 2^22 "
       "entries "
       "and the SVD fits the memory limit)"},
      {Opt::count, "count", "", "N",
       "Lanczos: how many of the largest and of the smallest singular values (default 3)"},
      {Opt::observed, "observed", "", "Y.npy",
       "the layer's output to invert: (N, C_out, *o), or (C_out, *o) for an unbatched PyTorch "
       "layer"},
      {Opt::method, "method", "", "NAME",
       "qr | cholesky | lsqr | lsmr (default qr): SuiteSparseQR, CHOLMOD, or the iterative LSQR / "
       "LSMR"},
      {Opt::damp, "damp", "", "LAMBDA",
       "Tikhonov damping: minimize |M x - y|^2 + LAMBDA^2 |x|^2 (default 0)"},
      {Opt::lsq_atol, "atol", "", "A",
       "lsqr/lsmr: stop when |M^T r - damp^2 x| <= A*|M|*|r| (default 1e-6; SciPy's atol)"},
      {Opt::lsq_btol, "btol", "", "B",
       "lsqr/lsmr: stop when |r| <= B*|y| + atol*|M|*|x| (default 1e-6; SciPy's btol)"},
      {Opt::conlim, "conlim", "", "C",
       "lsqr/lsmr: stop when the estimate of cond([M; damp*I]) exceeds C (default 1e8; 0: no "
       "limit)"},
      {Opt::max_iterations, "max-iterations", "", "N",
       "lsqr/lsmr: iterations per sample (default 2 * the number of unknowns)"},
      {Opt::max_memory, "max-memory", "", "SIZE",
       "refuse a W (plus the arrays) above SIZE bytes: 512M, 16G, 2T or a percentage of the "
       "physical memory such as 80% (default 50%)"},
      {Opt::json, "json", "", "",
       "write the result as JSON on stdout (errors too: {\"error\": ...})"},
      {Opt::help, "help", "h", "", "describe the command"},
  };
  return table;
}

const OptionSpec& option_spec(Opt id) {
  for (const OptionSpec& s : option_table()) {
    if (s.id == id) return s;
  }
  throw std::logic_error("option missing from the table");
}

std::string option_name(Opt id) { return "--" + std::string(option_spec(id).name); }

const std::string& Arguments::get(Opt o) const {
  const auto it = values.find(o);
  if (it == values.end()) throw UsageError(option_name(o) + " is required");
  return it->second;
}

Arguments parse_arguments(std::string_view command, const std::vector<std::string>& args,
                          const std::vector<Opt>& allowed) {
  Arguments a;
  std::string where = "'convmat ";
  where.append(command);
  where += '\'';
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string name, value;
    bool inline_value = false;
    if (arg == "-o" || arg == "-h") {
      name.assign(1, arg[1]);
    } else if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      const std::size_t eq = arg.find('=');
      name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        inline_value = true;
      }
    } else {
      throw UsageError("unexpected argument '" + arg + "' for " + where +
                       " (options start with --)");
    }
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : option_table()) {
      const bool named = s.name == name || (!s.alias.empty() && s.alias == name);
      const bool accepted = std::find(allowed.begin(), allowed.end(), s.id) != allowed.end();
      if (named && (!spec || accepted)) spec = &s;
    }
    if (!spec) {
      std::string suggestion;
      std::size_t best = 3;
      for (Opt o : allowed) {
        const OptionSpec& s = option_spec(o);
        for (std::string_view n : {s.name, s.alias}) {
          if (n.size() < 2) continue;
          const std::size_t d = edit_distance(name, n);
          if (d < best) {
            best = d;
            suggestion = std::string(n);
          }
        }
      }
      throw UsageError("unknown option '" + arg.substr(0, arg.find('=')) + "' for " + where +
                       (suggestion.empty() ? "" : " (did you mean --" + suggestion + "?)") +
                       "; see convmat " + std::string(command) + " --help");
    }
    const std::string shown = name.size() == 1 ? "-" + name : "--" + name;
    if (std::find(allowed.begin(), allowed.end(), spec->id) == allowed.end()) {
      throw UsageError("option " + shown + " does not apply to " + where + "; see convmat " +
                       std::string(command) + " --help");
    }
    if (a.has(spec->id)) throw UsageError("option " + option_name(spec->id) + " is given twice");
    if (spec->metavar.empty()) {
      if (inline_value) throw UsageError("option " + shown + " takes no value, got '" + arg + "'");
    } else if (!inline_value) {
      if (i + 1 >= args.size())
        throw UsageError("option " + shown + " needs a value (" + std::string(spec->metavar) + ")");
      value = args[++i];
      if (value.size() > 2 && value.compare(0, 2, "--") == 0) {
        throw UsageError("option " + shown + " needs a value (" + std::string(spec->metavar) +
                         "), got the option '" + value + "'");
      }
    }
    a.values[spec->id] = value;
  }
  return a;
}

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

Dims parse_dims(Opt o, const std::string& text) {
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
          option_name(o) +
          ": expected integers (at most 2147483647 in magnitude) separated by commas, got '" +
          text + "'");
    }
    d.push_back(v);
    if (d.size() > 16) throw UsageError(option_name(o) + ": more than 16 values in '" + text + "'");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return d;
}

Index parse_index(Opt o, const std::string& text) {
  Index v = 0;
  if (!parse_integer(text, v))
    throw UsageError(option_name(o) + ": expected an integer, got '" + text + "'");
  return v;
}

double parse_nonnegative(Opt o, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v) ||
      v < 0) {
    throw UsageError(option_name(o) + ": expected a finite number >= 0, got '" + text + "'");
  }
  return v;
}

std::uint64_t parse_bytes(Opt o, const std::string& text, std::uint64_t physical_memory) {
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
    const std::size_t k = unit.empty() ? std::string::npos : units.find(unit[0]);
    const std::string rest = k == std::string::npos ? unit : unit.substr(1);
    if (k != std::string::npos && (rest.empty() || rest == "B" || rest == "iB"))
      scale = std::ldexp(1.0, 10 * static_cast<int>(k + 1));
  }
  if (text.empty() || end == text.c_str() || errno == ERANGE || !std::isfinite(v) || v <= 0 ||
      scale == 0 || v * scale >= 1.8e19) {
    throw UsageError(option_name(o) + ": expected a size such as 512M, 16G, 1.5GiB or 75%, got '" +
                     text + "'");
  }
  return static_cast<std::uint64_t>(v * scale);
}

// ---------------------------------------------------------------------------------------------
// The layer

namespace {

const std::vector<Opt> layer_flags{
    Opt::stride,       Opt::padding,  Opt::dilation, Opt::groups,       Opt::output_padding,
    Opt::padding_mode, Opt::auto_pad, Opt::pads,     Opt::output_shape, Opt::kernel_shape};

// The option that gives `keyword` (PyTorch's and ONNX's names are the options' names or aliases,
// '-' for '_'), if any.
std::optional<Opt> option_for(std::string_view keyword) {
  std::string flag(keyword);
  std::replace(flag.begin(), flag.end(), '_', '-');
  for (Opt o : layer_flags) {
    const OptionSpec& s = option_spec(o);
    if (s.name == flag || s.alias == flag) return o;
  }
  return std::nullopt;
}

std::string flag_of(std::string_view keyword) {
  std::string flag = "--" + std::string(keyword);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// Why option `o` does not apply to `op`: another convention's keyword, or not one of op's.
UsageError not_a_keyword_of(Opt o, const LayerOp& op) {
  std::string flags;
  for (const LayerKeyword& k : op.keywords) flags += (flags.empty() ? "" : ", ") + flag_of(k.name);
  const std::string takes = std::string(op.name) + " takes " + std::string(op.convention) + "'s " +
                            std::string(op.keyword_noun) + "s " + flags;
  for (const LayerOp& other : layer_ops()) {
    if (other.convention == op.convention) continue;
    for (const LayerKeyword& k : other.keywords) {
      if (option_for(k.name) != o) continue;
      const char article = other.convention.empty() ? 'x' : other.convention[0];
      return UsageError(option_name(o) + " is " +
                        (std::string("AEIOU").find(article) != std::string::npos ? "an " : "a ") +
                        std::string(other.convention) + " " + std::string(other.keyword_noun) +
                        "; " + takes);
    }
  }
  return UsageError(option_name(o) + " does not apply to " + std::string(op.name) + "; " + takes);
}

// The layer options as the op's keywords, each parsed by its kind. ONNX's per-axis attributes
// take one value for every axis here too (`rank` axes).
LayerKeywords keywords_from(const Arguments& args, const LayerOp& op, std::size_t rank) {
  for (Opt o : layer_flags) {
    if (!args.has(o)) continue;
    bool taken = false;
    for (const LayerKeyword& k : op.keywords) taken = taken || option_for(k.name) == o;
    if (!taken) throw not_a_keyword_of(o, op);
  }
  LayerKeywords keywords;
  for (const LayerKeyword& k : op.keywords) {
    const std::optional<Opt> o = option_for(k.name);
    if (!o || !args.has(*o)) continue;
    const std::string& text = args.get(*o);
    switch (k.kind) {
      case KeywordKind::ints: keywords[std::string(k.name)] = parse_dims(*o, text); break;
      case KeywordKind::ints_or_name:
        if (!text.empty() && text.find_first_of("0123456789") == std::string::npos) {
          keywords[std::string(k.name)] = text;  // "same", "valid"; the translation names others
        } else {
          keywords[std::string(k.name)] = parse_dims(*o, text);
        }
        break;
      case KeywordKind::integer: keywords[std::string(k.name)] = parse_index(*o, text); break;
      case KeywordKind::name: keywords[std::string(k.name)] = text; break;
      case KeywordKind::optional_ints: {
        Dims d = parse_dims(*o, text);
        if (k.per_axis > 0 && d.size() == 1)
          d.assign(static_cast<std::size_t>(k.per_axis) * rank, d[0]);
        keywords[std::string(k.name)] = d;
        break;
      }
    }
  }
  return keywords;
}

}  // namespace

LayerDescription resolve_layer(const Arguments& args, const std::optional<Dims>& input_shape,
                               const std::optional<Dims>& weight_shape) {
  LayerDescription out{
      LayerCall{ConvSpec::convolution(1, 1, {1}, {1}), 1, true}, "", std::nullopt, {}, {}};
  if (args.has(Opt::desc)) {
    if (args.has(Opt::op))
      throw UsageError("give the layer either as --op with its options or as --desc, not both");
    for (Opt o : layer_flags) {
      if (args.has(o))
        throw UsageError(option_name(o) +
                         " cannot be combined with --desc (the descriptor holds the whole layer)");
    }
    const ConvKind kind = args.has(Opt::deconv) ? ConvKind::transposed : ConvKind::convolution;
    BenchdnnDescriptor d = parse_benchdnn_descriptor(args.get(Opt::desc), kind);
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
    if (args.has(Opt::deconv)) throw UsageError("--deconv goes with --desc");
    if (!args.has(Opt::op))
      throw UsageError("describe the layer with --op NAME (and its options) or --desc DESCRIPTOR");
    const std::string& name = args.get(Opt::op);
    const LayerOp* op = find_layer_op(name);
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
    out.call = op->resolve(*input_shape, *weight_shape, keywords_from(args, *op, rank));
  }
  out.input_shape = out.call.input_shape();
  out.output_shape = out.call.output_shape();
  return out;
}

}  // namespace convmat::cli

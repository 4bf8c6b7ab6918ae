// `convmat check` and `convmat diagnose`: the oracle of oracle.hpp on .npy files, as text or JSON.

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "commands.hpp"
#include "convmat/core/xla.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view check_description =
    "Reads the layer's inputs and --candidate, the output of the implementation under test, "
    "computes\n"
    "the oracle W x + b in float64 and compares element by element under the tolerance below.\n"
    "For the worst elements outside it: the index, the candidate's value, the oracle's sum, and "
    "the\n"
    "input positions and kernel taps that feed the element (read off W's row), largest first.\n"
    "Exit status 0 when every element agrees, 1 when some do not (or the shape differs), 2 on\n"
    "usage or input errors.";

constexpr std::string_view check_details =
    "Tolerance, for each output element i, which sums n_i products w*x (the kernel taps that meet "
    "it):\n"
    "  |candidate_i - oracle_i| <= atol + rtol * s_i,   s_i = sum over those taps of |w|*|x|, plus "
    "|bias|\n"
    "  rtol = (n_i + 1)*eps + eps_out and atol = (n_i + 1)*lambda, unless --rtol / --atol are "
    "given;\n"
    "  eps:     machine epsilon of the precision the candidate summed in (--precision; default "
    "its\n"
    "           dtype): float16 2^-10, bfloat16 2^-7, tfloat32 2^-10, float32 2^-23, float64 "
    "2^-52;\n"
    "  eps_out: that of the candidate's dtype (the rounding of the stored result);\n"
    "  lambda:  the smallest normal number (float16 2^-14; float32, bfloat16, tfloat32 2^-126;\n"
    "           float64 2^-1022), for products flushed to zero.\n"
    "  (n+1)*eps bounds the error of summing n+1 terms in that precision in any order (Higham,\n"
    "  Accuracy and Stability of Numerical Algorithms, sec. 3.1). Algorithms that transform the "
    "data\n"
    "  (Winograd, FFT) need a larger --rtol. NaN or infinity where the oracle has another value is "
    "an\n"
    "  error; the same NaN or infinity agrees. A (C, *o) candidate compares with a (1, C, *o) "
    "output.\n"
    "\n"
    "examples:\n"
    "  convmat check --op conv2d --input x.npy --weight w.npy --bias b.npy --padding 1 --candidate "
    "y.npy\n"
    "  convmat check --desc mb2ic16ih14oc32oh7kh3sh2ph1 --input x.npy --weight w.npy --candidate "
    "y.npy --json\n";

constexpr std::string_view diagnose_description =
    "Runs check; when the candidate disagrees, recomputes the layer with each mistake of the\n"
    "catalogue below injected and names those that reproduce the candidate within the "
    "tolerance.\n"
    "Exit status 0 when the candidate agrees with the oracle (nothing to diagnose), 1 when it "
    "does\n"
    "not (whether or not a mistake was named), 2 on usage or input errors.";

constexpr std::string_view diagnose_details =
    "The catalogue (single mistakes; the ids are what diagnose prints):\n"
    "  kernel_flipped            the kernel reversed along every spatial axis: a true convolution "
    "instead of\n"
    "                            cross-correlation, or a transposed convolution computed as a "
    "convolution of\n"
    "                            the stride-dilated input without flipping the kernel; "
    "kernel_flipped[h] etc.:\n"
    "                            along one axis only\n"
    "  pads_swapped              begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER)\n"
    "  pad_begin+1, pad_begin-1  padding off by one at the begin (all axes; [h], [w], ...: one "
    "axis)\n"
    "  pad_end+1, pad_end-1      padding off by one at the end\n"
    "  output_padding_at_begin   transposed: output_padding added at the begin instead of the end\n"
    "  weight_channels_swapped   in/out channels swapped in the weight within each group: a "
    "transposed\n"
    "                            weight read as (g, C_out/g, C_in/g, k...), oneDNN's deconvolution "
    "layout,\n"
    "                            instead of PyTorch's (C_in, C_out/g, k...); a convolution weight "
    "read as\n"
    "                            (g, C_in/g, C_out/g, k...)\n"
    "  groups_wrong_axis_input   groups sliced along the wrong axis: the channel axis seen as "
    "(C/g, g)\n"
    "  groups_wrong_axis_output  instead of (g, C/g), channel c in group c mod g; on the input "
    "side,\n"
    "  groups_wrong_axis_both    the output side, or both\n"
    "  dilation-1, dilation+1    dilation taken as d-1 (axes with d > 1) or d+1\n"
    "  bias_missing, bias_twice  the bias left out or added twice\n"
    "  stride_dilation_swapped   stride and dilation swapped\n"
    "  padding_mode_zeros        reflect/replicate/circular padding done as zeros\n"
    "A mistake that changes the output size is also tried \"(size kept)\": the mistaken loop run "
    "over\n"
    "the candidate's output positions. Each entry is recomputed by the oracle with the mistake\n"
    "injected and compared under check's tolerance (see convmat check --help); the ones that\n"
    "reproduce the candidate are named. Several can be named when they coincide for this layer.\n";

constexpr std::string_view diagnose_examples =
    "\n"
    "examples:\n"
    "  convmat diagnose --op conv_transpose2d --input x.npy --weight w.npy --stride 2 --padding 1 "
    "--candidate y.npy\n"
    "  convmat diagnose --op onnx_conv --input x.npy --weight w.npy --auto-pad SAME_UPPER "
    "--strides 2,2 --candidate y.npy --json\n"
    "  convmat diagnose --op QLinearConv --input x.npy --weight w.npy --x-scale 0.5 "
    "--x-zero-point 128 --w-scale 0.25 --w-zero-point 0 --y-scale 1 --y-zero-point 100 --pads 1 "
    "--candidate y.npy\n";

// The quantized ops' catalogue (diagnose.hpp: quantized_mistakes), one line each.
std::string quantized_catalogue_help() {
  std::string s =
      "\nThe quantized ops (onnx_conv_integer, onnx_qlinear_conv) have their own catalogue, each "
      "mistake\ncomputed exactly from the integers and compared exactly (the applicable ones are "
      "tried):\n";
  for (const QuantizedMistake& m : quantized_mistakes()) {
    std::string id(m.id);
    id.resize(std::max<std::size_t>(id.size() + 1, 31), ' ');
    s += "  " + id + std::string(m.summary) + "\n";
  }
  return s;
}

struct Flags {
  LayerFlags layer;
  QuantizedFlags quantized;
  DataFlags data;
  std::optional<std::string> candidate;
  std::optional<double> atol, rtol;
  std::optional<Precision> precision;
  std::optional<Index> blame, blame_terms;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

Precision precision_of(const NpyHeader& h) {
  if (!h.is_float()) return Precision::float64;
  return h.item_size == 2   ? Precision::float16
         : h.item_size == 4 ? Precision::float32
                            : Precision::float64;
}

// Everything check and diagnose read, in the order that refuses early: headers, layer, memory,
// then the data.
struct Problem {
  LayerDescription layer;
  std::optional<NpyInput> input, weight, bias, candidate;
  CheckOptions options;
  Dims candidate_shape;  // in convmat's order (candidate_to_canonical)
};

// The tolerance the flags and the candidate's dtype set.
Tolerance tolerance_of(const Flags& f, const NpyHeader& candidate) {
  Tolerance t;
  t.storage = precision_of(candidate);
  t.arithmetic = f.precision ? *f.precision : t.storage;
  t.atol = f.atol;
  t.rtol = f.rtol;
  return t;
}

Problem read_problem(const Flags& f, Context& ctx, bool diagnose) {
  Problem p{
      LayerDescription{
          LayerCall{ConvSpec::convolution(1, 1, {1}, {1}), 1, true}, "", std::nullopt, {}, {}},
      npy_input(f.data.input),
      npy_input(f.data.weight),
      npy_input(f.data.bias),
      npy_input(f.candidate),
      diagnose ? diagnose_check_options() : CheckOptions{},
      {}};
  if (!p.input) throw UsageError("needs --input X.npy");
  if (!p.weight) throw UsageError("needs --weight W.npy");
  if (!p.candidate) throw UsageError("needs --candidate Y.npy (the output to check)");
  p.layer = layer_from(f.layer, f.data, p.input, p.weight, p.bias);
  require_oracle_memory(memory_limit(f.max_memory), p.layer.call.spec, p.layer.call.batch,
                        p.candidate->header.numel, diagnose);

  p.options.tolerance = tolerance_of(f, p.candidate->header);
  if (f.blame) p.options.max_blamed = *f.blame;
  if (f.blame_terms) p.options.max_terms = *f.blame_terms;

  p.input->load(ctx, p.layer.call, LayerCall::Tensor::input);
  p.weight->load(ctx, p.layer.call, LayerCall::Tensor::weight);
  if (p.bias) p.bias->load(ctx);
  p.candidate->load(ctx);
  p.candidate_shape =
      candidate_to_canonical(p.layer.call, p.candidate->data, p.candidate->header.shape);
  return p;
}

LayerData layer_data(Problem& p) {
  return LayerData(p.layer.call.spec, p.layer.call.batch, std::move(p.input->data),
                   std::move(p.weight->data),
                   p.bias ? std::move(p.bias->data) : std::vector<double>{}, p.layer.call.batched);
}

std::string tolerance_text(const Tolerance& t, const CheckReport& r) {
  std::ostringstream s;
  s << "tolerance: |candidate - oracle| <= atol + rtol * sum|w*x| for each element, which sums n "
       "products"
    << " (n = " << r.min_terms;
  if (r.max_terms != r.min_terms) s << ".." << r.max_terms;
  s << ")\n  rtol = ";
  if (t.rtol) {
    s << number(*t.rtol) << " (--rtol)";
  } else {
    s << "(n+1)*eps + eps_out = " << number(t.rtol_for(r.max_terms)) << " at n = " << r.max_terms
      << " (eps of " << to_string(t.arithmetic) << " arithmetic, eps_out of "
      << to_string(t.storage) << " output)";
  }
  s << ", atol = ";
  if (t.atol) {
    s << number(*t.atol) << " (--atol)";
  } else {
    s << "(n+1)*lambda = " << number(t.atol_for(r.max_terms)) << " at n = " << r.max_terms;
  }
  s << "\n";
  return s.str();
}

void print_check(Context& ctx, const std::string& candidate, const LayerDescription& layer,
                 const Tolerance& t, const CheckReport& r) {
  std::ostream& o = ctx.out;
  const std::string spec = layer.call.spec.to_string();
  o << "layer: " << spec;
  if (spec.compare(0, layer.op.size(), layer.op) != 0) o << "  (" << layer.op << ")";
  o << "\n";
  o << "candidate: " << candidate << " " << dims_to_tuple(r.candidate_shape)
    << " against the oracle " << (layer.call.spec.is_transposed() ? "W^T x + b" : "W x + b")
    << " in float64 " << dims_to_tuple(r.expected_shape) << "\n";
  if (!r.shape_matches) {
    o << "result: FAIL, the candidate's shape " << dims_to_tuple(r.candidate_shape)
      << " differs from the layer's output shape " << dims_to_tuple(r.expected_shape)
      << " (convmat diagnose tries the mistakes that change the output size)\n";
    return;
  }
  o << tolerance_text(t, r);
  if (const std::string ieee = ieee_note(r, t); !ieee.empty()) o << "IEEE: " << ieee << "\n";
  if (r.passed) {
    o << "result: ok, all " << r.elements << " elements within the tolerance (max abs error "
      << number(r.max_abs_error) << ", max rel error " << number(r.max_rel_error)
      << ", worst error/tolerance " << number(r.max_error_ratio) << ")\n";
    return;
  }
  o << "result: FAIL, " << r.bad << " of " << r.elements << " elements outside the tolerance";
  if (r.nonfinite)
    o << " (" << r.nonfinite
      << " NaN or infinite in the candidate or the oracle, not alike in both)";
  o << "\n  max abs error " << number(r.max_abs_error) << ", max rel error "
    << number(r.max_rel_error) << ", worst error/tolerance " << number(r.max_error_ratio) << "\n";
  if (r.worst.empty()) return;
  o << "worst elements (index in the output; the terms that W's row sums, largest |x*w| first):\n";
  for (const Blame& b : r.worst) {
    o << "  y" << dims_to_list(b.index) << ": candidate " << number(b.candidate) << ", oracle "
      << number(b.oracle) << " (error " << number(b.error) << ", tolerance " << number(b.tolerance)
      << ")\n";
    o << "    oracle = " << (b.has_bias ? "bias " + number(b.bias) + " + " : "") << "sum of "
      << b.term_count << " terms";
    if (b.term_count == 0) o << " (every tap of this output falls into the padding)";
    o << (b.terms.empty() ? "\n" : ":\n");
    for (const BlameTerm& t : b.terms) {
      o << "      x" << dims_to_list(t.input_index) << " = " << number(t.input) << "  *  w"
        << dims_to_list(t.weight_index) << " = " << number(t.weight) << "\n";
    }
    if (static_cast<Index>(b.terms.size()) < b.term_count) {
      o << "      ... and " << b.term_count - static_cast<Index>(b.terms.size())
        << " more (--blame-terms)\n";
    }
  }
}

// The check's JSON: the command's own keys, the report's fields (CheckReport, with Blame and
// BlameTerm) and the tolerance used (ToleranceReport; the term counts again, as before).
Json json_check(const std::string& candidate, const std::string& op, const std::string& layer,
                const Tolerance& t, const CheckReport& r) {
  Json j{{"op", op}, {"layer", layer}, {"candidate", candidate}};
  add_fields(j, r);
  Json tolerance = Json::object();
  add_fields(tolerance, tolerance_report(t, r));
  tolerance["min_terms"] = r.min_terms;
  tolerance["max_terms"] = r.max_terms;
  j["tolerance"] = std::move(tolerance);
  return j;
}
Json json_check(const std::string& candidate, const LayerDescription& layer, const Tolerance& t,
                const CheckReport& r) {
  return json_check(candidate, layer.op, layer.call.spec.to_string(), t, r);
}

// --blame and --blame-terms: counts >= 0 (check.hpp's rule).
Index blame_count(const std::string& flag, const std::string& text) {
  const Index v = parse_index(flag, text);
  try {
    require_blame_count(flag, v);
  } catch (const std::invalid_argument&) {
    throw UsageError(flag + ": expected an integer >= 0, got '" + text + "'");
  }
  return v;
}

// The flags check and diagnose share; check adds --blame and --blame-terms.
std::shared_ptr<Flags> declare_flags(CLI::App& sub, bool blame) {
  auto f = std::make_shared<Flags>();
  const Parser<double> nonnegative = [](const std::string& flag, const std::string& text) {
    return parse_nonnegative(flag, text);
  };
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_bias);
  add_quantized_options(sub, f->quantized);
  add_text(sub, "--candidate", f->candidate, "Y.npy",
           "the output of the implementation under test; its dtype sets the default precision");
  add_parsed(sub, "--atol", f->atol, nonnegative, "A", "absolute tolerance, replaces (n+1)*lambda");
  add_parsed(sub, "--rtol", f->rtol, nonnegative, "R",
             "relative tolerance (times sum|w*x|), replaces (n+1)*eps + eps_out");
  add_parsed<Precision>(
      sub, "--precision", f->precision,
      [](const std::string&, const std::string& text) { return precision_from_string(text); }, "P",
      "the precision the candidate summed in: float16 | bfloat16 | tfloat32 | float32 | "
      "float64 (default: the candidate's dtype)");
  if (blame) {
    add_parsed<Index>(
        sub, "--blame", f->blame, blame_count, "N",
        "blame the N worst elements (default " + std::to_string(CheckOptions{}.max_blamed) + ")");
    add_parsed<Index>(sub, "--blame-terms", f->blame_terms, blame_count, "N",
                      "list the N largest terms of each blamed element (default " +
                          std::to_string(CheckOptions{}.max_terms) + ")");
  }
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return f;
}

}  // namespace

// A quantized op: the candidate's integers against the op's definition, exactly. Read in the
// order that refuses early: headers, flags, the inputs' rules and the candidate's type, then the
// candidate's data.
struct QuantizedRun {
  QuantizedProblem p;
  NpyInput candidate;
  std::string output_type;  // ONNX's (quantized_parameters)
  bool shape_matches = false;
  std::vector<std::int64_t> values;  // the candidate's, when its shape matches
};

QuantizedRun read_quantized_run(const Flags& f) {
  std::optional<NpyInput> x = npy_input(f.data.input), w = npy_input(f.data.weight),
                          bias = npy_input(f.data.bias), candidate = npy_input(f.candidate);
  if (!x) throw UsageError("needs --input X.npy");
  if (!w) throw UsageError("needs --weight W.npy");
  if (!candidate) throw UsageError("needs --candidate Y.npy (the output to check)");
  const std::string op = *f.layer.op;
  if (f.atol || f.rtol || f.precision) {
    throw UsageError("--op " + op +
                     " compares integers exactly; --atol, --rtol and --precision do not apply");
  }
  QuantizedRun r{read_quantized(f.layer, f.quantized, *x, *w, bias, memory_limit(f.max_memory)),
                 std::move(*candidate),
                 "",
                 false,
                 {}};
  r.output_type = quantized_parameters(*r.p.op, r.p.data).output_type;
  try {
    require_quantized_output_type(*r.p.op, r.output_type, r.candidate.header.type_name());
  } catch (const QuantizedTypeError& e) {
    throw UsageError("--candidate " + r.candidate.path + ": " + e.what());
  }
  r.shape_matches = r.candidate.header.shape == r.p.layer.output_shape;
  if (r.shape_matches) {
    const std::vector<double> v =
        read_npy_data(FileSource(r.candidate.path), r.candidate.header, r.candidate.path);
    r.values.assign(v.begin(), v.end());
  }
  return r;
}

Json json_quantized_check(const Flags& f, const QuantizedRun& r, const QuantizedOutput& out,
                          const QuantizedComparison& c) {
  const Dims& shape = r.p.layer.output_shape;
  Json worst = Json::array();
  for (const QuantizedMismatch& m : c.worst) {
    worst.push_back(Json{{"index", unravel_index(m.index, shape)},
                         {"expected", m.expected},
                         {"candidate", m.candidate},
                         {"accumulator", m.accumulator},
                         {"real", out.real.empty() ? Json(nullptr) : Json(m.real)}});
  }
  return Json{{"op", *f.layer.op},
              {"layer", r.p.layer.call.spec.to_string()},
              {"candidate", r.candidate.path},
              {"passed", r.shape_matches && c.mismatches == 0},
              {"dtype", r.output_type},
              {"expected_shape", shape},
              {"candidate_shape", r.candidate.header.shape},
              {"shape_matches", r.shape_matches},
              {"elements", c.elements},
              {"mismatches", c.mismatches},
              {"off_by_one", c.off_by_one},
              {"max_difference", c.max_difference},
              {"worst", worst}};
}

void print_quantized_check(Context& ctx, const Flags& f, const QuantizedRun& r,
                           const QuantizedOutput& out, const QuantizedComparison& c) {
  const Dims& shape = r.p.layer.output_shape;
  std::ostream& o = ctx.out;
  o << "layer: " << r.p.layer.call.spec.to_string() << "  (" << *f.layer.op << ", " << r.p.op->alias
    << ")\n";
  o << "candidate: " << r.candidate.path << " " << dims_to_tuple(r.candidate.header.shape) << " "
    << r.candidate.header.type_name() << " against " << r.p.op->alias << "'s definition, exactly ("
    << r.output_type << " " << dims_to_tuple(shape) << ")\n";
  if (!r.shape_matches) {
    o << "result: FAIL, the candidate's shape " << dims_to_tuple(r.candidate.header.shape)
      << " differs from the layer's output shape " << dims_to_tuple(shape) << "\n";
    return;
  }
  if (c.mismatches == 0) {
    o << "result: ok, all " << c.elements << " elements equal\n";
    return;
  }
  o << "result: FAIL, " << c.mismatches << " of " << c.elements << " elements differ ("
    << c.off_by_one << " by one unit), max difference " << c.max_difference << "\n";
  o << "worst elements (index in the output; the int32 accumulator"
    << (out.real.empty() ? "" : " and the real value acc * x_scale*w_scale/y_scale before rounding")
    << "):\n";
  for (const QuantizedMismatch& m : c.worst) {
    const std::int64_t d = m.candidate - m.expected;
    o << "  y" << dims_to_list(unravel_index(m.index, shape)) << ": candidate " << m.candidate
      << ", expected " << m.expected << (d == 1 || d == -1 ? " (one unit)" : "") << "; accumulator "
      << m.accumulator;
    if (!out.real.empty()) o << ", real " << number(m.real);
    o << "\n";
  }
}

int run_quantized_check(const Flags& f, Context& ctx) {
  const QuantizedRun r = read_quantized_run(f);
  QuantizedOutput out;
  QuantizedComparison c;
  if (r.shape_matches) {
    out = quantized_apply(*r.p.op, r.p.data, r.p.layer.call);
    c = compare_quantized(out.values, r.values, out.accumulators, out.real,
                          f.blame.value_or(CheckOptions{}.max_blamed));
  }
  const bool passed = r.shape_matches && c.mismatches == 0;
  if (f.json) {
    emit(ctx, json_quantized_check(f, r, out, c));
  } else {
    print_quantized_check(ctx, f, r, out, c);
    if (!passed)
      ctx.out << "next: convmat diagnose with the same arguments tries the common mistakes\n";
  }
  return passed ? exit_ok : exit_disagreement;
}

// diagnose of a quantized op: the check, then the catalogue of int8 mistakes (diagnose.hpp:
// diagnose_quantized), each recomputed exactly and named when it equals the candidate.
int run_quantized_diagnose(const Flags& f, Context& ctx) {
  const QuantizedRun r = read_quantized_run(f);
  QuantizedDiagnosis d;
  if (r.shape_matches)
    d = diagnose_quantized(*r.p.op, r.p.data, r.values, diagnose_check_options().max_blamed,
                           r.p.layer.call);
  const bool passed = r.shape_matches && d.check.mismatches == 0;
  if (f.json) {
    Json j{{"check", json_quantized_check(f, r, d.expected, d.check)},
           {"tried", to_json(d.tried)},
           {"reproducing", to_json(d.reproducing)}};
    emit(ctx, j);
    return passed ? exit_ok : exit_disagreement;
  }
  print_quantized_check(ctx, f, r, d.expected, d.check);
  if (!r.shape_matches) {
    ctx.out << "diagnosis: no mistake of the quantized catalogue changes the output's shape\n";
    return exit_disagreement;
  }
  if (passed) {
    ctx.out << "diagnosis: the candidate equals " << r.p.op->alias
            << "'s output; nothing to diagnose\n";
    return exit_ok;
  }
  ctx.out << "diagnosis: tried " << d.tried.size()
          << " single mistakes of the quantized catalogue, each computed exactly\n";
  if (!d.reproducing.empty()) {
    ctx.out << "reproduced exactly by:\n";
    for (const QuantizedHypothesis& h : d.tried) {
      if (h.reproduces) ctx.out << "  " << h.id << ": " << h.description << "\n";
    }
    return exit_disagreement;
  }
  ctx.out << "no single mistake of the catalogue reproduces the candidate; the closest (elements "
             "that differ):\n";
  std::vector<const QuantizedHypothesis*> close;
  for (const QuantizedHypothesis& h : d.tried) close.push_back(&h);
  std::stable_sort(close.begin(), close.end(),
                   [](const auto* a, const auto* b) { return a->mismatches < b->mismatches; });
  for (std::size_t i = 0; i < close.size() && i < 3; ++i) {
    ctx.out << "  " << close[i]->id << ": " << close[i]->mismatches << " elements differ (max "
            << close[i]->max_difference << ")\n";
  }
  return exit_disagreement;
}

namespace {

// xla_conv where no window fits (core/xla.hpp: EmptyOutput): nothing to compare, the candidate's
// shape against the empty output's (check_empty_output); diagnose has no mistake to try.
int run_empty_check(const Flags& f, Context& ctx, const EmptyOutput& empty, bool diagnose) {
  std::optional<NpyInput> bias = npy_input(f.data.bias), candidate = npy_input(f.candidate);
  require_bias_fits(empty.out_channels, bias);
  const Tolerance t = tolerance_of(f, candidate->header);
  const CheckReport r = check_empty_output(empty.shape, candidate->header.shape);
  if (f.json) {
    Json j = json_check(candidate->path, *f.layer.op, empty.what(), t, r);
    if (diagnose) j = Json{{"check", j}, {"tried", Json::array()}, {"reproducing", Json::array()}};
    emit(ctx, j);
  } else {
    ctx.out << "layer: " << empty.what() << "\n";
    ctx.out << "candidate: " << candidate->path << " " << dims_to_tuple(r.candidate_shape)
            << " against the empty output " << dims_to_tuple(r.expected_shape) << "\n";
    if (r.passed) {
      ctx.out << "result: ok, the output is empty and the candidate has its shape\n";
    } else {
      ctx.out << "result: FAIL, the candidate's shape " << dims_to_tuple(r.candidate_shape)
              << " differs from the layer's output shape " << dims_to_tuple(r.expected_shape)
              << "\n";
    }
    if (diagnose)
      ctx.out << "diagnosis: the output is empty; no mistake of the catalogue applies\n";
  }
  return r.passed ? exit_ok : exit_disagreement;
}

// read_problem, or the empty output's check when no window fits.
template <class Run>
int with_problem(const Flags& f, Context& ctx, bool diagnose, Run&& run) {
  std::optional<Problem> p;
  try {
    p.emplace(read_problem(f, ctx, diagnose));
  } catch (const EmptyOutput& empty) {
    return run_empty_check(f, ctx, empty, diagnose);
  }
  return run(*p);
}

}  // namespace

int run_checked(const Flags& f, Context& ctx, Problem& p);

int run_check(const Flags& f, Context& ctx) {
  if (quantized_op_of(f.layer)) return run_quantized_check(f, ctx);
  return with_problem(f, ctx, false, [&](Problem& p) { return run_checked(f, ctx, p); });
}

int run_checked(const Flags& f, Context& ctx, Problem& p) {
  const LayerData layer = layer_data(p);
  CheckReport r = check_output(layer, p.candidate->data.data(), p.candidate_shape, p.options);
  report_in_given_layouts(p.layer.call, p.candidate->header.shape, r);
  if (f.json) {
    emit(ctx, json_check(p.candidate->path, p.layer, p.options.tolerance, r));
  } else {
    print_check(ctx, p.candidate->path, p.layer, p.options.tolerance, r);
    if (!r.passed)
      ctx.out << "next: convmat diagnose with the same arguments tries the common mistakes\n";
  }
  return r.passed ? exit_ok : exit_disagreement;
}

int run_diagnosed(const Flags& f, Context& ctx, Problem& p);

int run_diagnose(const Flags& f, Context& ctx) {
  if (quantized_op_of(f.layer)) return run_quantized_diagnose(f, ctx);
  return with_problem(f, ctx, true, [&](Problem& p) { return run_diagnosed(f, ctx, p); });
}

int run_diagnosed(const Flags& f, Context& ctx, Problem& p) {
  const LayerData layer = layer_data(p);
  Diagnosis d = diagnose(layer, p.candidate->data.data(), p.candidate_shape, p.options);
  report_in_given_layouts(p.layer.call, p.candidate->header.shape, d);
  if (f.json) {
    // Diagnosis's fields, its check as check's JSON.
    Json j = Json::object();
    for_each_field(d, [&](const char* name, const auto& value) {
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, CheckReport>) {
        j[name] = json_check(p.candidate->path, p.layer, p.options.tolerance, value);
      } else {
        j[name] = to_json(value);
      }
    });
    emit(ctx, j);
    return d.check.passed ? exit_ok : exit_disagreement;
  }
  print_check(ctx, p.candidate->path, p.layer, p.options.tolerance, d.check);
  if (d.check.passed) {
    ctx.out << "diagnosis: the candidate agrees with the oracle; nothing to diagnose\n";
    return exit_ok;
  }
  ctx.out << "diagnosis: tried " << d.tried.size() << " single mistakes of the catalogue\n";
  if (!d.reproducing.empty()) {
    ctx.out << "reproduced exactly (within the tolerance) by:\n";
    for (const Hypothesis& h : d.tried) {
      if (h.reproduces) ctx.out << "  " << h.id << ": " << h.description << "\n";
    }
    return exit_disagreement;
  }
  ctx.out << "no single mistake of the catalogue reproduces the candidate; the closest (worst "
             "error/tolerance):\n";
  std::vector<const Hypothesis*> close;
  for (const Hypothesis& h : d.tried) {
    if (h.comparable) close.push_back(&h);
  }
  std::sort(close.begin(), close.end(), [](const Hypothesis* a, const Hypothesis* b) {
    return a->max_error_ratio < b->max_error_ratio;
  });
  for (std::size_t i = 0; i < close.size() && i < 3; ++i) {
    ctx.out << "  " << close[i]->id << ": " << number(close[i]->max_error_ratio) << " ("
            << close[i]->bad << " elements outside)\n";
  }
  return exit_disagreement;
}

namespace {

Runner declare_check(CLI::App& sub) {
  sub.description(std::string(check_description));
  sub.footer(std::string(check_details));
  auto f = declare_flags(sub, true);
  return [f](Context& ctx) { return run_check(*f, ctx); };
}

Runner declare_diagnose(CLI::App& sub) {
  sub.description(std::string(diagnose_description));
  sub.footer(std::string(diagnose_details) + quantized_catalogue_help() +
             std::string(diagnose_examples));
  auto f = declare_flags(sub, false);
  return [f](Context& ctx) { return run_diagnose(*f, ctx); };
}

}  // namespace

const CommandDecl check_command{
    "check",
    "compare another implementation's output with the oracle W x + b; blame the worst elements",
    declare_check};

const CommandDecl diagnose_command{
    "diagnose", "name the common mistake(s) that reproduce a wrong output", declare_diagnose};

}  // namespace convmat::cli

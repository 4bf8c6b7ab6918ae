// `convmat check` and `convmat diagnose`: the oracle of oracle.hpp on .npy files, as text or JSON.

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "commands.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "json.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

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
};

Problem read_problem(const Arguments& args, Context& ctx, bool diagnose) {
  Problem p{
      LayerDescription{
          LayerCall{ConvSpec::convolution(1, 1, {1}, {1}), 1, true}, "", std::nullopt, {}, {}},
      npy_input(args, Opt::input),
      npy_input(args, Opt::weight),
      npy_input(args, Opt::bias),
      npy_input(args, Opt::candidate),
      diagnose ? diagnose_check_options() : CheckOptions{}};
  if (!p.input) throw UsageError("needs --input X.npy");
  if (!p.weight) throw UsageError("needs --weight W.npy");
  if (!p.candidate) throw UsageError("needs --candidate Y.npy (the output to check)");
  p.layer = layer_from(args, p.input, p.weight, p.bias);
  require_oracle_memory(memory_limit(args), p.layer.call.spec, p.layer.call.batch,
                        p.candidate->header.numel, diagnose);

  Tolerance& t = p.options.tolerance;
  t.storage = precision_of(p.candidate->header);
  t.arithmetic =
      args.has(Opt::precision) ? precision_from_string(args.get(Opt::precision)) : t.storage;
  if (args.has(Opt::atol)) t.atol = parse_nonnegative(Opt::atol, args.get(Opt::atol));
  if (args.has(Opt::rtol)) t.rtol = parse_nonnegative(Opt::rtol, args.get(Opt::rtol));
  const auto count = [&](Opt o) {
    const Index v = parse_index(o, args.get(o));
    try {
      require_blame_count(option_name(o), v);
    } catch (const std::invalid_argument&) {
      throw UsageError(option_name(o) + ": expected an integer >= 0, got '" + args.get(o) + "'");
    }
    return v;
  };
  if (args.has(Opt::blame)) p.options.max_blamed = count(Opt::blame);
  if (args.has(Opt::blame_terms)) p.options.max_terms = count(Opt::blame_terms);

  p.input->load(ctx);
  p.weight->load(ctx);
  if (p.bias) p.bias->load(ctx);
  p.candidate->load(ctx);
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
void json_check(JsonWriter& j, const std::string& candidate, const LayerDescription& layer,
                const Tolerance& t, const CheckReport& r) {
  j.field("op", layer.op).field("layer", layer.call.spec.to_string());
  j.field("candidate", candidate);
  write_fields(j, r);
  j.key("tolerance").begin_object();
  write_fields(j, tolerance_report(t, r));
  j.field("min_terms", r.min_terms).field("max_terms", r.max_terms).end_object();
}

}  // namespace

int run_check(const Arguments& args, Context& ctx) {
  Problem p = read_problem(args, ctx, false);
  const LayerData layer = layer_data(p);
  const CheckReport r =
      check_output(layer, p.candidate->data.data(), p.candidate->header.shape, p.options);
  if (args.has(Opt::json)) {
    JsonWriter j;
    j.begin_object();
    json_check(j, p.candidate->path, p.layer, p.options.tolerance, r);
    j.end_object();
    emit(ctx, j);
  } else {
    print_check(ctx, p.candidate->path, p.layer, p.options.tolerance, r);
    if (!r.passed)
      ctx.out << "next: convmat diagnose with the same arguments tries the common mistakes\n";
  }
  return r.passed ? exit_ok : exit_disagreement;
}

int run_diagnose(const Arguments& args, Context& ctx) {
  Problem p = read_problem(args, ctx, true);
  const LayerData layer = layer_data(p);
  const Diagnosis d =
      diagnose(layer, p.candidate->data.data(), p.candidate->header.shape, p.options);
  if (args.has(Opt::json)) {
    JsonWriter j;
    j.begin_object();
    for_each_field(d, [&](const char* name, const auto& value) {
      j.key(name);
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, CheckReport>) {
        j.begin_object();
        json_check(j, p.candidate->path, p.layer, p.options.tolerance, value);
        j.end_object();
      } else {
        write_value(j, value);
      }
    });
    j.end_object();
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

}  // namespace convmat::cli

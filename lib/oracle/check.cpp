#include "convmat/oracle/check.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_args.hpp"
#include "evaluation.hpp"

namespace convmat {

// ---------------------------------------------------------------------------------------------
// Precision and tolerance

std::string to_string(Precision p) {
  switch (p) {
    case Precision::float16: return "float16";
    case Precision::bfloat16: return "bfloat16";
    case Precision::tfloat32: return "tfloat32";
    case Precision::float32: return "float32";
    case Precision::float64: return "float64";
  }
  return "?";
}

const std::vector<PrecisionName>& precision_names() {
  static const std::vector<PrecisionName> names{
      {Precision::float16, "float16", {"half", "fp16", "f16"}},
      {Precision::bfloat16, "bfloat16", {"bf16"}},
      {Precision::tfloat32, "tfloat32", {"tf32"}},
      {Precision::float32, "float32", {"float", "fp32", "f32"}},
      {Precision::float64, "float64", {"double", "fp64", "f64"}},
  };
  return names;
}

std::string precision_names_text() {
  std::string s;
  for (const PrecisionName& p : precision_names()) {
    s += (s.empty() ? "" : ", ") + std::string(p.name);
    for (std::size_t i = 0; i < p.aliases.size(); ++i)
      s += (i == 0 ? " (or " : ", ") + std::string(p.aliases[i]);
    if (!p.aliases.empty()) s += ")";
  }
  return s;
}

Precision precision_from_string(std::string_view name) {
  for (const PrecisionName& p : precision_names()) {
    if (p.name == name) return p.precision;
    for (std::string_view alias : p.aliases) {
      if (alias == name) return p.precision;
    }
  }
  throw std::invalid_argument("precision must be one of " + precision_names_text() + ", got '" +
                              std::string(name) + "'");
}

double machine_epsilon(Precision p) {
  switch (p) {
    case Precision::float16: return std::ldexp(1.0, -10);
    case Precision::bfloat16: return std::ldexp(1.0, -7);
    case Precision::tfloat32: return std::ldexp(1.0, -10);
    case Precision::float32: return std::ldexp(1.0, -23);
    case Precision::float64: return std::ldexp(1.0, -52);
  }
  return 0;
}

double smallest_normal(Precision p) {
  switch (p) {
    case Precision::float16: return std::ldexp(1.0, -14);
    case Precision::bfloat16:
    case Precision::tfloat32:
    case Precision::float32: return std::ldexp(1.0, -126);
    case Precision::float64: return std::ldexp(1.0, -1022);
  }
  return 0;
}

double overflow_threshold(Precision p) {
  if (p == Precision::float64) return std::numeric_limits<double>::infinity();
  const int emax = p == Precision::float16 ? 15 : 127;
  return std::ldexp(2.0 - machine_epsilon(p) / 2, emax);
}

double Tolerance::atol_for(Index terms) const {
  if (atol) return *atol;
  return static_cast<double>(terms + 1) *
         std::max(smallest_normal(arithmetic), smallest_normal(storage));
}

double Tolerance::rtol_for(Index terms) const {
  if (rtol) return *rtol;
  return static_cast<double>(terms + 1) * machine_epsilon(arithmetic) + machine_epsilon(storage);
}

// ---------------------------------------------------------------------------------------------
// LayerData

namespace {

void require_size(const char* what, std::size_t given, Index expected, const std::string& why) {
  if (given != static_cast<std::size_t>(expected)) {
    throw std::invalid_argument(std::string(what) + " must have " + std::to_string(expected) +
                                " values (" + why + "), got " + std::to_string(given));
  }
}

}  // namespace

LayerData::LayerData(ConvSpec spec_, Index batch_, std::vector<double> input_,
                     std::vector<double> weight_, std::vector<double> bias_, bool batched_)
    : spec(std::move(spec_)),
      batch(batch_),
      batched(batched_),
      input(std::move(input_)),
      weight(std::move(weight_)),
      bias(std::move(bias_)) {
  if (batch < 0) throw std::invalid_argument("batch must be >= 0, got " + std::to_string(batch));
  if (!batched && batch != 1) {
    throw std::invalid_argument("an unbatched layer has batch 1, got batch " +
                                std::to_string(batch));
  }
  require_size("input", input.size(), batch * spec.input_numel(),
               "batch " + std::to_string(batch) + " × input " + dims_to_string(spec.input_shape()));
  require_size("weight", weight.size(), spec.weight_numel(),
               "shape " + dims_to_string(spec.weight_shape()));
  if (!bias.empty()) check_bias(spec, static_cast<Index>(bias.size()));
}

Dims LayerData::input_shape() const { return batched_shape(spec.input_shape(), batch, batched); }
Dims LayerData::output_shape() const { return batched_shape(spec.output_shape(), batch, batched); }

// ---------------------------------------------------------------------------------------------
// The oracle

namespace detail {

std::shared_ptr<const ConvPattern> pattern_for(const ConvSpec& spec,
                                               const std::shared_ptr<const ConvPattern>& cached) {
  if (cached && cached->spec() == spec) return cached;
  return std::make_shared<const ConvPattern>(spec);
}

OracleOutput evaluate(const LayerData& layer, const std::shared_ptr<const ConvPattern>& pattern) {
  const ConvSpec& spec = layer.spec;
  const Index out = spec.output_numel(), in = spec.input_numel();
  const auto total = static_cast<std::size_t>(layer.batch * out);
  OracleOutput r;
  r.shape = layer.output_shape();
  r.value.assign(total, 0.0);
  r.magnitude.assign(total, 0.0);
  r.terms.assign(static_cast<std::size_t>(out), 0);

  ConvMatrix<double> m(pattern, layer.weight.data());
  const double* bias = layer.bias.empty() ? nullptr : layer.bias.data();
  m.forward(layer.input.data(), bias, r.value.data(), layer.batch);
  // A convolution whose non-finite weights meet zero padding: ConvMatrix gave NaN on those rows;
  // the sums without the padded taps are W's own rows. A transposed convolution's Wᵀ·y skips
  // the gaps of its gather form: NaN is set here where they meet a non-finite weight
  // (ConvPattern::nonfinite_gap_columns: W's columns are the layer's outputs).
  const std::vector<Index> gaps = spec.is_transposed()
                                      ? pattern->nonfinite_gap_columns(layer.weight.data())
                                      : std::vector<Index>{};
  const bool padded_nan =
      spec.is_transposed() ? !gaps.empty() : !m.nonfinite_padding_rows().empty();
  const auto without_padded_taps = [&](const double* x, const double* b, double* y) {
    m.stored().multiply(x, y, layer.batch);
    if (!b) return;
    const Index per_channel = out / spec.out_channels();
    for (std::size_t i = 0; i < total; ++i) y[i] += b[static_cast<Index>(i) % out / per_channel];
  };
  if (padded_nan && spec.is_transposed()) {
    r.without_padded_taps = r.value;
    for (Index n = 0; n < layer.batch; ++n)
      for (Index o : gaps) r.value[static_cast<std::size_t>(n * out + o)] = std::nan("");
  } else if (padded_nan) {
    r.without_padded_taps.resize(total);
    without_padded_taps(layer.input.data(), bias, r.without_padded_taps.data());
  }

  // s = |M|·|x| + |b|: W filled with |w| sums |w_t| over the taps that fold onto one entry.
  std::vector<double> abs_weight(layer.weight.size()), abs_input(layer.input.size());
  std::transform(layer.weight.begin(), layer.weight.end(), abs_weight.begin(),
                 [](double v) { return std::fabs(v); });
  std::transform(layer.input.begin(), layer.input.end(), abs_input.begin(),
                 [](double v) { return std::fabs(v); });
  std::vector<double> abs_bias(layer.bias.size());
  std::transform(layer.bias.begin(), layer.bias.end(), abs_bias.begin(),
                 [](double v) { return std::fabs(v); });
  m.refill(abs_weight.data());
  if (padded_nan && !spec.is_transposed()) {  // the padded taps add nothing to the magnitude
    without_padded_taps(abs_input.data(), abs_bias.empty() ? nullptr : abs_bias.data(),
                        r.magnitude.data());
  } else {
    m.forward(abs_input.data(), abs_bias.empty() ? nullptr : abs_bias.data(), r.magnitude.data(),
              layer.batch);
  }

  // n = M₁·1: W filled with ones counts the taps of every element (exact small integers).
  std::vector<double> ones_weight(layer.weight.size(), 1.0),
      ones_input(static_cast<std::size_t>(in), 1.0);
  std::vector<double> count(static_cast<std::size_t>(out));
  m.refill(ones_weight.data());
  m.apply(ones_input.data(), count.data(), 1);
  for (std::size_t i = 0; i < count.size(); ++i)
    r.terms[i] = static_cast<Index>(std::llround(count[i]));
  return r;
}

namespace {

// Whether the candidate's non-finite v may come from a finite oracle value o (sum of terms of
// magnitude s) by overflow: ±inf when a value within the tolerance of o rounds to ±inf in the
// output precision; +inf (−inf) when the positive (negative) terms, P = (s + o)/2
// (N = (s − o)/2), may overflow the arithmetic precision in a partial sum; NaN when both may.
bool overflow_allows(double o, double s, Index terms, const Tolerance& tol, double v) {
  const double rtol = tol.rtol_for(terms), atol = tol.atol_for(terms);
  const double arithmetic = overflow_threshold(tol.arithmetic);
  const bool positive = (s + o) / 2 * (1 + rtol) + atol >= arithmetic;
  const bool negative = (s - o) / 2 * (1 + rtol) + atol >= arithmetic;
  if (std::isnan(v)) return positive && negative;
  const bool rounds = o != 0 && (v > 0) == (o > 0) &&
                      std::fabs(o) + atol + rtol * s >= overflow_threshold(tol.storage);
  return rounds || (v > 0 ? positive : negative);
}

}  // namespace

Comparison compare(const OracleOutput& oracle, const double* candidate, const Tolerance& tol,
                   Index keep) {
  Comparison c;
  const std::size_t n = oracle.value.size();
  const std::size_t per_sample = oracle.terms.size();
  if (per_sample) {
    const auto [lo, hi] = std::minmax_element(oracle.terms.begin(), oracle.terms.end());
    c.min_terms = *lo;
    c.max_terms = *hi;
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    const double o = oracle.value[i], v = candidate[i];
    const Index terms = oracle.terms[i % per_sample];
    const double bound = tol.bound(terms, oracle.magnitude[i]);
    double error = 0, ratio = 0;
    bool nonfinite = false;
    const auto within = [&](double expected) {
      error = std::fabs(v - expected);
      ratio = error == 0 ? 0 : (bound > 0 ? error / bound : inf);
    };
    const bool padded = !oracle.without_padded_taps.empty() && std::isnan(o) &&
                        !std::isnan(oracle.without_padded_taps[i]);
    if (padded) ++c.padded_nonfinite;
    if (std::isfinite(o) && std::isfinite(v)) {
      within(o);
    } else if ((std::isnan(o) && std::isnan(v)) || o == v) {
      error = 0;  // the same NaN or the same infinity
    } else if (padded && std::isfinite(v)) {
      within(oracle.without_padded_taps[i]);  // the padded taps skipped
      if (ratio <= 1) ++c.padding_skipped;
    } else if (padded && v == oracle.without_padded_taps[i]) {
      ++c.padding_skipped;  // skipped, and the other taps' infinity
    } else if (std::isfinite(o) && overflow_allows(o, oracle.magnitude[i], terms, tol, v)) {
      ++c.overflow;
    } else {
      error = ratio = inf;
      nonfinite = true;
    }
    c.max_abs = std::max(c.max_abs, error);
    if (o != 0 && !std::isnan(o)) c.max_rel = std::max(c.max_rel, error / std::fabs(o));
    c.max_ratio = std::max(c.max_ratio, ratio);
    if (ratio > 1) {
      ++c.bad;
      if (nonfinite) ++c.nonfinite;
      if (keep > 0) c.worst.emplace_back(ratio, static_cast<Index>(i));
    }
  }
  const auto k =
      std::min<std::size_t>(c.worst.size(), static_cast<std::size_t>(std::max<Index>(keep, 0)));
  std::partial_sort(c.worst.begin(), c.worst.begin() + static_cast<std::ptrdiff_t>(k),
                    c.worst.end(), [](const auto& a, const auto& b) {
                      return a.first > b.first || (a.first == b.first && a.second < b.second);
                    });
  c.worst.resize(k);
  return c;
}

// The terms of the blamed elements, read off the stored W: row j for a convolution, column j
// (every row's taps, kept where the column is j) for a transposed convolution.
void collect_terms(const LayerData& layer, const ConvPattern& pattern, const CheckOptions& options,
                   std::vector<Blame>& blamed, const std::vector<Index>& flat) {
  const ConvSpec& spec = layer.spec;
  const Index out = spec.output_numel(), in = spec.input_numel();
  const Dims input_shape = layer.input_shape();
  const Dims weight_shape = spec.weight_shape();
  struct Raw {
    Index input_flat, weight_index;
  };
  std::vector<std::vector<Raw>> raw(blamed.size());
  if (!spec.is_transposed()) {
    for (std::size_t b = 0; b < blamed.size(); ++b) {
      const Index sample = flat[b] / out, row = flat[b] % out;
      pattern.for_each_tap(row, [&](Index, Index col, Index w) {
        raw[b].push_back({sample * in + col, w});
      });
    }
  } else {
    std::unordered_map<Index, std::vector<std::size_t>> by_column;
    for (std::size_t b = 0; b < blamed.size(); ++b) by_column[flat[b] % out].push_back(b);
    for (Index row = 0; row < pattern.rows(); ++row) {
      pattern.for_each_tap(row, [&](Index, Index col, Index w) {
        const auto it = by_column.find(col);
        if (it == by_column.end()) return;
        for (std::size_t b : it->second) raw[b].push_back({flat[b] / out * in + row, w});
      });
    }
  }
  for (std::size_t b = 0; b < blamed.size(); ++b) {
    Blame& bl = blamed[b];
    std::vector<Raw>& r = raw[b];
    const auto product = [&](const Raw& t) {
      return std::fabs(layer.input[static_cast<std::size_t>(t.input_flat)] *
                       layer.weight[static_cast<std::size_t>(t.weight_index)]);
    };
    const auto keep = std::min<std::size_t>(
        r.size(), static_cast<std::size_t>(std::max<Index>(options.max_terms, 0)));
    std::partial_sort(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(keep), r.end(),
                      [&](const Raw& a, const Raw& c) { return product(a) > product(c); });
    for (std::size_t t = 0; t < keep; ++t) {
      BlameTerm term;
      term.input_index = unravel_index(r[t].input_flat, input_shape);
      term.weight_index = unravel_index(r[t].weight_index, weight_shape);
      term.input = layer.input[static_cast<std::size_t>(r[t].input_flat)];
      term.weight = layer.weight[static_cast<std::size_t>(r[t].weight_index)];
      bl.terms.push_back(std::move(term));
    }
  }
}

CheckReport report(const LayerData& layer, const OracleOutput& oracle, const ConvPattern& pattern,
                   const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options) {
  CheckReport rep;
  rep.expected_shape = oracle.shape;
  rep.candidate_shape = candidate_shape;
  rep.shape_matches = shapes_match(oracle.shape, candidate_shape);
  if (!rep.shape_matches) return rep;
  const Comparison c = compare(oracle, candidate, options.tolerance, options.max_blamed);
  rep.elements = static_cast<Index>(oracle.value.size());
  rep.bad = c.bad;
  rep.nonfinite = c.nonfinite;
  rep.overflow = c.overflow;
  rep.padded_nonfinite = c.padded_nonfinite;
  rep.padding_skipped = c.padding_skipped;
  rep.max_abs_error = c.max_abs;
  rep.max_rel_error = c.max_rel;
  rep.max_error_ratio = c.max_ratio;
  rep.min_terms = c.min_terms;
  rep.max_terms = c.max_terms;
  rep.passed = c.bad == 0;
  const Index out = layer.spec.output_numel();
  std::vector<Index> flat;
  for (const auto& [ratio, i] : c.worst) {
    Blame b;
    b.index = unravel_index(i, oracle.shape);
    const auto u = static_cast<std::size_t>(i);
    b.oracle = oracle.value[u];
    b.candidate = candidate[u];
    b.error = std::isfinite(ratio) ? std::fabs(b.candidate - b.oracle)
                                   : std::numeric_limits<double>::infinity();
    b.term_count = oracle.terms[static_cast<std::size_t>(i % out)];
    b.tolerance = options.tolerance.bound(b.term_count, oracle.magnitude[u]);
    if (!layer.bias.empty()) {
      b.has_bias = true;
      const Index per_channel = out / layer.spec.out_channels();
      b.bias = layer.bias[static_cast<std::size_t>(i % out / per_channel)];
    }
    rep.worst.push_back(std::move(b));
    flat.push_back(i);
  }
  collect_terms(layer, pattern, options, rep.worst, flat);
  return rep;
}

}  // namespace detail

using detail::compare;
using detail::evaluate;
using detail::pattern_for;
using detail::report;
using detail::validate;

OracleOutput oracle_forward(const LayerData& layer) {
  return evaluate(layer, pattern_for(layer.spec, nullptr));
}

Dims candidate_to_canonical(const LayerCall& call, std::vector<double>& candidate,
                            const Dims& candidate_shape) {
  const Layout layout = call.given_output_layout();
  if (layout.is_identity()) return candidate_shape;
  const std::size_t axes = layout.axes().size();
  Dims shape = candidate_shape;
  while (shape.size() > axes && shape.front() == 1) shape.erase(shape.begin());
  while (shape.size() < axes) shape.insert(shape.begin(), 1);
  Index n = 1;
  for (Index d : shape) n *= d;
  // A layout beyond a permutation (XLA's reversed windows, batch groups) reads only the call's
  // own output shape.
  const bool readable =
      layout.is_permutation() ||
      (shape.size() == axes && shape == layout.shape_from_canonical(call.output_shape()));
  if (shape.size() != axes || n != static_cast<Index>(candidate.size()) || !readable) {
    Dims unmatched = candidate_shape;  // an empty last axis: no output has one
    unmatched.push_back(0);
    return unmatched;
  }
  const Dims canonical = layout.is_permutation() ? layout.to_canonical(shape) : call.output_shape();
  std::vector<double> out(candidate.size());
  permute_to_canonical(candidate.data(), canonical, layout, out.data());
  candidate = std::move(out);
  return canonical;
}

void report_in_given_layouts(const LayerCall& call, const Dims& candidate_shape,
                             CheckReport& report) {
  report.candidate_shape = candidate_shape;
  if (!call.has_layouts()) return;
  report.expected_shape = call.given_output_shape();
  for (Blame& b : report.worst) {
    b.index = call.given_index(LayerCall::Tensor::output, b.index);
    for (BlameTerm& t : b.terms) {
      t.input_index = call.given_index(LayerCall::Tensor::input, t.input_index);
      t.weight_index = call.given_index(LayerCall::Tensor::weight, t.weight_index);
    }
  }
}

bool shapes_match(const Dims& expected, const Dims& candidate) {
  auto strip = [](const Dims& d) {
    std::size_t i = 0;
    while (i < d.size() && d[i] == 1) ++i;
    return Dims(d.begin() + static_cast<std::ptrdiff_t>(i), d.end());
  };
  return strip(expected) == strip(candidate);
}

CheckReport check_empty_output(const Dims& expected_shape, const Dims& candidate_shape) {
  CheckReport r;
  r.expected_shape = expected_shape;
  r.candidate_shape = candidate_shape;
  r.shape_matches = shapes_match(expected_shape, candidate_shape);
  r.passed = r.shape_matches;
  return r;
}

namespace detail {

// A tolerance or blame count that could only hide disagreements (a negative or NaN bound passes
// nothing consistently, an infinite one passes everything) is refused, as the CLI refuses it.
void validate(const CheckOptions& options) {
  const auto bound = [](const char* name, const std::optional<double>& v) {
    if (v && !(std::isfinite(*v) && *v >= 0)) {
      std::ostringstream s;
      s.precision(17);
      s << name << " must be a finite number >= 0, got " << *v;
      throw std::invalid_argument(s.str());
    }
  };
  bound("atol", options.tolerance.atol);
  bound("rtol", options.tolerance.rtol);
  require_blame_count("max_blamed (the number of elements blamed)", options.max_blamed);
  require_blame_count("max_terms (the number of terms listed per blamed element)",
                      options.max_terms);
}

}  // namespace detail

ToleranceReport tolerance_report(const Tolerance& tolerance, const CheckReport& report) {
  ToleranceReport t;
  t.arithmetic = tolerance.arithmetic;
  t.storage = tolerance.storage;
  t.eps = machine_epsilon(tolerance.arithmetic);
  t.eps_out = machine_epsilon(tolerance.storage);
  t.rtol = tolerance.rtol;
  t.atol = tolerance.atol;
  t.rtol_at_max_terms = tolerance.rtol_for(report.max_terms);
  t.atol_at_max_terms = tolerance.atol_for(report.max_terms);
  return t;
}

std::string ieee_note(const CheckReport& r, const Tolerance& t) {
  const auto elements = [](Index n) {
    return std::to_string(n) + (n == 1 ? " element is" : " elements are");
  };
  std::string s;
  if (r.padded_nonfinite) {
    s += elements(r.padded_nonfinite) +
         " NaN in the oracle because an infinite or NaN weight meets zero padding (or, "
         "transposed, an inserted zero; IEEE: 0*inf = NaN), accepted as NaN or as the sum "
         "without the padded taps (" +
         std::to_string(r.padding_skipped) + " computed so)";
  }
  if (r.overflow) {
    s += std::string(s.empty() ? "" : "; ") + std::to_string(r.overflow) +
         (r.overflow == 1 ? " element overflows" : " elements overflow") +
         " the candidate's precision: its infinity (or NaN) accepted (" + to_string(t.storage) +
         " output, " + to_string(t.arithmetic) + " arithmetic)";
  }
  return s;
}

CheckOptions diagnose_check_options() {
  CheckOptions o;
  o.max_blamed = 3;
  o.max_terms = 4;
  return o;
}

void require_blame_count(const std::string& name, Index count) {
  if (count < 0) throw std::invalid_argument(name + " must be >= 0, got " + std::to_string(count));
}

void require_oracle_memory(const MemoryLimit& limit, const ConvSpec& spec, Index batch,
                           Index candidate_numel, bool diagnose) {
  const auto in = static_cast<long double>(batch) * static_cast<long double>(spec.input_numel());
  const auto out = static_cast<long double>(batch) * static_cast<long double>(spec.output_numel());
  const auto weight = static_cast<long double>(spec.weight_numel());
  const long double arrays = 8.0L * ((diagnose ? 2 : 1) * (2 * in + 3 * out + 3 * weight) +
                                     static_cast<long double>(candidate_numel));
  require_memory(limit, spec, arrays >= 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(arrays),
                 sizeof(double));
}

CheckReport check_output(const LayerData& layer, const double* candidate,
                         const Dims& candidate_shape, const CheckOptions& options) {
  validate(options);
  const auto pattern = pattern_for(layer.spec, nullptr);
  return report(layer, evaluate(layer, pattern), *pattern, candidate, candidate_shape, options);
}

}  // namespace convmat

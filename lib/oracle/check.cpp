#include "convmat/oracle/check.hpp"

#include <algorithm>
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

Precision precision_from_string(std::string_view name) {
  if (name == "float16" || name == "half" || name == "fp16" || name == "f16")
    return Precision::float16;
  if (name == "bfloat16" || name == "bf16") return Precision::bfloat16;
  if (name == "tfloat32" || name == "tf32") return Precision::tfloat32;
  if (name == "float32" || name == "float" || name == "fp32" || name == "f32")
    return Precision::float32;
  if (name == "float64" || name == "double" || name == "fp64" || name == "f64")
    return Precision::float64;
  throw std::invalid_argument(
      "precision must be one of float16, bfloat16, tfloat32, float32, float64, got '" +
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
  m.forward(layer.input.data(), layer.bias.empty() ? nullptr : layer.bias.data(), r.value.data(),
            layer.batch);

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
  m.forward(abs_input.data(), abs_bias.empty() ? nullptr : abs_bias.data(), r.magnitude.data(),
            layer.batch);

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
    if (std::isfinite(o) && std::isfinite(v)) {
      error = std::fabs(v - o);
      ratio = error == 0 ? 0 : (bound > 0 ? error / bound : inf);
    } else if ((std::isnan(o) && std::isnan(v)) || o == v) {
      error = 0;  // the same NaN or the same infinity
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

bool shapes_match(const Dims& expected, const Dims& candidate) {
  auto strip = [](const Dims& d) {
    std::size_t i = 0;
    while (i < d.size() && d[i] == 1) ++i;
    return Dims(d.begin() + static_cast<std::ptrdiff_t>(i), d.end());
  };
  return strip(expected) == strip(candidate);
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

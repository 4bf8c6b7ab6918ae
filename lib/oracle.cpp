#include "convmat/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "convmat/conv_matrix.hpp"
#include "convmat/layer_args.hpp"

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
  if (name == "float16" || name == "half" || name == "fp16" || name == "f16") return Precision::float16;
  if (name == "bfloat16" || name == "bf16") return Precision::bfloat16;
  if (name == "tfloat32" || name == "tf32") return Precision::tfloat32;
  if (name == "float32" || name == "float" || name == "fp32" || name == "f32") return Precision::float32;
  if (name == "float64" || name == "double" || name == "fp64" || name == "f64") return Precision::float64;
  throw std::invalid_argument("precision must be one of float16, bfloat16, tfloat32, float32, float64, got '" +
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
  return static_cast<double>(terms + 1) * std::max(smallest_normal(arithmetic), smallest_normal(storage));
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

Dims with_batch(Index batch, bool batched, const Dims& sample) {
  Dims d;
  if (batched) d.push_back(batch);
  d.insert(d.end(), sample.begin(), sample.end());
  return d;
}

Dims unravel(Index flat, const Dims& shape) {
  Dims index(shape.size());
  for (std::size_t a = shape.size(); a-- > 0;) {
    index[a] = shape[a] ? flat % shape[a] : 0;
    flat = shape[a] ? flat / shape[a] : 0;
  }
  return index;
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
    throw std::invalid_argument("an unbatched layer has batch 1, got batch " + std::to_string(batch));
  }
  require_size("input", input.size(), batch * spec.input_numel(),
               "batch " + std::to_string(batch) + " × input " + dims_to_string(spec.input_shape()));
  require_size("weight", weight.size(), spec.weight_numel(), "shape " + dims_to_string(spec.weight_shape()));
  if (!bias.empty()) check_bias(spec, static_cast<Index>(bias.size()));
}

Dims LayerData::input_shape() const { return with_batch(batch, batched, spec.input_shape()); }
Dims LayerData::output_shape() const { return with_batch(batch, batched, spec.output_shape()); }

// ---------------------------------------------------------------------------------------------
// The oracle

namespace {

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
  m.forward(layer.input.data(), layer.bias.empty() ? nullptr : layer.bias.data(), r.value.data(), layer.batch);

  // s = |M|·|x| + |b|: W filled with |w| sums |w_t| over the taps that fold onto one entry.
  std::vector<double> abs_weight(layer.weight.size()), abs_input(layer.input.size());
  std::transform(layer.weight.begin(), layer.weight.end(), abs_weight.begin(), [](double v) { return std::fabs(v); });
  std::transform(layer.input.begin(), layer.input.end(), abs_input.begin(), [](double v) { return std::fabs(v); });
  std::vector<double> abs_bias(layer.bias.size());
  std::transform(layer.bias.begin(), layer.bias.end(), abs_bias.begin(), [](double v) { return std::fabs(v); });
  m.refill(abs_weight.data());
  m.forward(abs_input.data(), abs_bias.empty() ? nullptr : abs_bias.data(), r.magnitude.data(), layer.batch);

  // n = M₁·1: W filled with ones counts the taps of every element (exact small integers).
  std::vector<double> ones_weight(layer.weight.size(), 1.0), ones_input(static_cast<std::size_t>(in), 1.0);
  std::vector<double> count(static_cast<std::size_t>(out));
  m.refill(ones_weight.data());
  m.apply(ones_input.data(), count.data(), 1);
  for (std::size_t i = 0; i < count.size(); ++i) r.terms[i] = static_cast<Index>(std::llround(count[i]));
  return r;
}

// The candidate against one oracle output: counts, maxima and the worst elements.
struct Comparison {
  Index bad = 0, nonfinite = 0;
  double max_abs = 0, max_rel = 0, max_ratio = 0;
  Index min_terms = 0, max_terms = 0;
  std::vector<std::pair<double, Index>> worst;  // (error / tolerance, flat index), failing only
};

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
  const auto k = std::min<std::size_t>(c.worst.size(), static_cast<std::size_t>(std::max<Index>(keep, 0)));
  std::partial_sort(c.worst.begin(), c.worst.begin() + static_cast<std::ptrdiff_t>(k), c.worst.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
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
      pattern.for_each_tap(row, [&](Index, Index col, Index w) { raw[b].push_back({sample * in + col, w}); });
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
      return std::fabs(layer.input[static_cast<std::size_t>(t.input_flat)] * layer.weight[static_cast<std::size_t>(t.weight_index)]);
    };
    const auto keep = std::min<std::size_t>(r.size(), static_cast<std::size_t>(std::max<Index>(options.max_terms, 0)));
    std::partial_sort(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(keep), r.end(),
                      [&](const Raw& a, const Raw& c) { return product(a) > product(c); });
    for (std::size_t t = 0; t < keep; ++t) {
      BlameTerm term;
      term.input_index = unravel(r[t].input_flat, input_shape);
      term.weight_index = unravel(r[t].weight_index, weight_shape);
      term.input = layer.input[static_cast<std::size_t>(r[t].input_flat)];
      term.weight = layer.weight[static_cast<std::size_t>(r[t].weight_index)];
      bl.terms.push_back(std::move(term));
    }
  }
}

CheckReport report(const LayerData& layer, const OracleOutput& oracle, const ConvPattern& pattern,
                   const double* candidate, const Dims& candidate_shape, const CheckOptions& options) {
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
    b.index = unravel(i, oracle.shape);
    const auto u = static_cast<std::size_t>(i);
    b.oracle = oracle.value[u];
    b.candidate = candidate[u];
    b.error = std::isfinite(ratio) ? std::fabs(b.candidate - b.oracle) : std::numeric_limits<double>::infinity();
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

}  // namespace

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

namespace {

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
  const auto count = [](const char* name, Index v) {
    if (v < 0) throw std::invalid_argument(std::string(name) + " must be >= 0, got " + std::to_string(v));
  };
  count("max_blamed (the number of elements blamed)", options.max_blamed);
  count("max_terms (the number of terms listed per blamed element)", options.max_terms);
}

}  // namespace

CheckReport check_output(const LayerData& layer, const double* candidate, const Dims& candidate_shape,
                         const CheckOptions& options) {
  validate(options);
  const auto pattern = pattern_for(layer.spec, nullptr);
  return report(layer, evaluate(layer, pattern), *pattern, candidate, candidate_shape, options);
}

// ---------------------------------------------------------------------------------------------
// diagnose

namespace {

std::string list(const Dims& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

std::string axis_name(int rank, int a) {
  static const char* names[3][3] = {{"w", "", ""}, {"h", "w", ""}, {"d", "h", "w"}};
  return names[rank - 1][a];
}

// A catalogue entry made concrete: how to build the mistaken layer, and how the mistaken
// implementation rearranges its output.
struct Mistake {
  std::string id, description;
  bool geometry = false;  // changes ConvParams: also tried with the output size kept
  bool keep_shape_variant = true;
  std::function<std::optional<LayerData>(const LayerData&)> make;
  std::function<void(const LayerData&, std::vector<double>&)> rearrange_output;  // or empty
};

std::optional<LayerData> with_params(const LayerData& l, const ConvParams& p) {
  try {
    return LayerData(ConvSpec(p), l.batch, l.input, l.weight, l.bias, l.batched);
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // the mistaken layer does not exist (e.g. an empty output)
  }
}

// Reverses the weight along the spatial axes in `flip` (one flag per axis).
std::vector<double> flipped_weight(const ConvSpec& spec, const std::vector<double>& w, const std::vector<bool>& flip) {
  const Dims& k = spec.kernel_size();
  const Index taps = spec.kernel_numel();
  std::vector<double> out(w.size());
  for (Index base = 0; base < static_cast<Index>(w.size()); base += taps) {
    for (Index t = 0; t < taps; ++t) {
      Dims idx = unravel(t, k);
      for (std::size_t a = 0; a < k.size(); ++a) {
        if (flip[a]) idx[a] = k[a] - 1 - idx[a];
      }
      Index src = 0;
      for (std::size_t a = 0; a < k.size(); ++a) src = src * k[a] + idx[a];
      out[static_cast<std::size_t>(base + t)] = w[static_cast<std::size_t>(base + src)];
    }
  }
  return out;
}

// Channel c of a (g, C/g) channel axis read as (C/g, g): the implementation's group j, member i
// is channel i·g + j, where PyTorch's is j·(C/g) + i. permuted[j·(C/g) + i] = data[i·g + j].
void interleave_channels(std::vector<double>& data, Index outer, Index channels, Index groups, Index inner,
                         bool inverse) {
  const Index per = channels / groups;
  std::vector<double> tmp(static_cast<std::size_t>(channels * inner));
  for (Index n = 0; n < outer; ++n) {
    double* base = data.data() + n * channels * inner;
    std::copy(base, base + channels * inner, tmp.begin());
    for (Index j = 0; j < groups; ++j) {
      for (Index i = 0; i < per; ++i) {
        const Index grouped = j * per + i, interleaved = i * groups + j;
        const Index to = inverse ? interleaved : grouped, from = inverse ? grouped : interleaved;
        std::copy(tmp.begin() + from * inner, tmp.begin() + (from + 1) * inner, base + to * inner);
      }
    }
  }
}

std::vector<Mistake> catalogue(const LayerData& layer) {
  const ConvSpec& spec = layer.spec;
  const ConvParams& p = spec.params();
  const int rank = spec.rank();
  const bool t = spec.is_transposed();
  std::vector<Mistake> out;

  // Kernel flipped / not flipped.
  {
    bool any = false;
    for (Index k : p.kernel_size) any = any || k > 1;
    if (any) {
      Mistake m;
      m.id = "kernel_flipped";
      m.description = t ? "kernel not flipped: the transposed convolution computed as a convolution of the "
                          "stride-dilated input with the kernel unreversed (equivalently, the kernel "
                          "reversed along every spatial axis)"
                        : "kernel flipped: a true convolution (kernel reversed along every spatial axis) "
                          "instead of PyTorch's cross-correlation";
      m.make = [](const LayerData& l) -> std::optional<LayerData> {
        LayerData r = l;
        r.weight = flipped_weight(l.spec, l.weight, std::vector<bool>(static_cast<std::size_t>(l.spec.rank()), true));
        return r;
      };
      out.push_back(m);
      if (rank > 1) {
        for (int a = 0; a < rank; ++a) {
          if (p.kernel_size[static_cast<std::size_t>(a)] < 2) continue;
          Mistake ma;
          ma.id = "kernel_flipped[" + axis_name(rank, a) + "]";
          ma.description = "kernel reversed along axis " + axis_name(rank, a) + " only";
          ma.make = [a](const LayerData& l) -> std::optional<LayerData> {
            std::vector<bool> flip(static_cast<std::size_t>(l.spec.rank()), false);
            flip[static_cast<std::size_t>(a)] = true;
            LayerData r = l;
            r.weight = flipped_weight(l.spec, l.weight, flip);
            return r;
          };
          out.push_back(ma);
        }
      }
    }
  }

  // Begin and end padding swapped.
  if (p.pad_begin != p.pad_end) {
    Mistake m;
    m.id = "pads_swapped";
    m.description = "begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER): begin " + list(p.pad_end) +
                    ", end " + list(p.pad_begin) + " instead of begin " + list(p.pad_begin) + ", end " +
                    list(p.pad_end);
    m.geometry = true;
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      std::swap(q.pad_begin, q.pad_end);
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Padding off by one at the begin or the end: all axes, then one axis at a time.
  for (int side = 0; side < 2; ++side) {
    for (int delta : {+1, -1}) {
      for (int a = -1; a < (rank > 1 ? rank : 0); ++a) {
        const bool begin = side == 0;
        const std::string which = begin ? "pad_begin" : "pad_end";
        const Dims& base = begin ? p.pad_begin : p.pad_end;
        Dims changed = base;
        for (int b = 0; b < rank; ++b) {
          if (a < 0 || a == b) changed[static_cast<std::size_t>(b)] += delta;
        }
        Mistake m;
        m.id = which + (delta > 0 ? "+1" : "-1") + (a >= 0 ? "[" + axis_name(rank, a) + "]" : "");
        m.description = std::string("padding off by one at the ") + (begin ? "begin" : "end") +
                        (a >= 0 ? " of axis " + axis_name(rank, a) : "") + ": " + list(changed) +
                        " instead of " + list(base);
        m.geometry = true;
        m.keep_shape_variant = begin;  // the end padding only sets the output size
        m.make = [begin, changed](const LayerData& l) {
          ConvParams q = l.spec.params();
          (begin ? q.pad_begin : q.pad_end) = changed;
          return with_params(l, q);
        };
        out.push_back(m);
      }
    }
  }

  // output_padding at the begin.
  if (t) {
    bool any = false;
    for (Index a : p.output_padding) any = any || a > 0;
    if (any) {
      Mistake m;
      m.id = "output_padding_at_begin";
      m.description = "output_padding " + list(p.output_padding) + " added at the begin of the output instead of the end";
      m.geometry = true;
      m.make = [](const LayerData& l) {
        ConvParams q = l.spec.params();
        for (std::size_t a = 0; a < q.pad_begin.size(); ++a) {
          q.pad_begin[a] -= q.output_padding[a];
          q.pad_end[a] += q.output_padding[a];
        }
        return with_params(l, q);
      };
      out.push_back(m);
    }
  }

  // The weight's channel axes swapped within each group.
  {
    const Dims ws = spec.weight_shape();
    const Index g = spec.groups(), a_per = ws[0] / g, b = ws[1];
    if (a_per > 1 && b > 1) {
      Mistake m;
      m.id = "weight_channels_swapped";
      m.description = t ? "in/out channels swapped in the transposed weight: read as (groups, C_out/groups, "
                          "C_in/groups, k...) = " + list({g, b, a_per}) + " (oneDNN's deconvolution layout) "
                          "instead of PyTorch's (C_in, C_out/groups, k...) = " + list({ws[0], b})
                        : "in/out channels swapped in the weight: read as (groups, C_in/groups, C_out/groups, k...) "
                          "= " + list({g, b, a_per}) + " instead of (C_out, C_in/groups, k...) = " + list({ws[0], b});
      m.make = [g, a_per, b](const LayerData& l) -> std::optional<LayerData> {
        // W'[gi·a + ai, bi, k] = buffer[((gi·b + bi)·a + ai)·K + k]
        const Index taps = l.spec.kernel_numel();
        LayerData r = l;
        for (Index gi = 0; gi < g; ++gi) {
          for (Index ai = 0; ai < a_per; ++ai) {
            for (Index bi = 0; bi < b; ++bi) {
              const Index to = ((gi * a_per + ai) * b + bi) * taps, from = ((gi * b + bi) * a_per + ai) * taps;
              std::copy(l.weight.begin() + from, l.weight.begin() + from + taps, r.weight.begin() + to);
            }
          }
        }
        return r;
      };
      out.push_back(m);
    }
  }

  // Groups sliced along the wrong axis of the channel axis.
  if (spec.groups() > 1) {
    const Index g = spec.groups();
    const bool in_side = spec.in_channels() / g > 1, out_side = spec.out_channels() / g > 1;
    const Index in_inner = spec.input_numel() / spec.in_channels();
    const Index out_inner = spec.output_numel() / spec.out_channels();
    auto input_mistake = [g, in_inner](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      interleave_channels(r.input, l.batch, l.spec.in_channels(), g, in_inner, false);
      return r;
    };
    auto output_rearrange = [g, out_inner](const LayerData& l, std::vector<double>& y) {
      interleave_channels(y, l.batch, l.spec.out_channels(), g, out_inner, true);
    };
    const std::string rule = "(channel c in group c mod " + std::to_string(g) + " instead of c / (C/" + std::to_string(g) + "))";
    if (in_side) {
      Mistake m;
      m.id = "groups_wrong_axis_input";
      m.description = "groups sliced along the wrong axis of the input channels " + rule;
      m.make = input_mistake;
      out.push_back(m);
    }
    if (out_side) {
      Mistake m;
      m.id = "groups_wrong_axis_output";
      m.description = "groups sliced along the wrong axis of the output channels " + rule;
      m.make = [](const LayerData& l) -> std::optional<LayerData> { return l; };
      m.rearrange_output = output_rearrange;
      out.push_back(m);
    }
    if (in_side && out_side) {
      Mistake m;
      m.id = "groups_wrong_axis_both";
      m.description = "groups sliced along the wrong axis of both the input and the output channels " + rule;
      m.make = input_mistake;
      m.rearrange_output = output_rearrange;
      out.push_back(m);
    }
  }

  // Dilation off by one.
  for (int delta : {-1, +1}) {
    Dims changed = p.dilation;
    bool any = false;
    for (Index& d : changed) {
      if (delta < 0 && d == 1) continue;
      d += delta;
      any = true;
    }
    if (!any) continue;
    Mistake m;
    m.id = delta > 0 ? "dilation+1" : "dilation-1";
    m.description = std::string("dilation taken as d") + (delta > 0 ? "+1" : "-1") + ": " + list(changed) +
                    " instead of " + list(p.dilation);
    m.geometry = true;
    m.make = [changed](const LayerData& l) {
      ConvParams q = l.spec.params();
      q.dilation = changed;
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Bias missing or added twice.
  bool nonzero_bias = false;
  for (double b : layer.bias) nonzero_bias = nonzero_bias || b != 0;
  if (nonzero_bias) {
    Mistake missing;
    missing.id = "bias_missing";
    missing.description = "bias left out";
    missing.make = [](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      r.bias.clear();
      return r;
    };
    out.push_back(missing);
    Mistake twice;
    twice.id = "bias_twice";
    twice.description = "bias added twice";
    twice.make = [](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      for (double& b : r.bias) b *= 2;
      return r;
    };
    out.push_back(twice);
  }

  // Stride and dilation swapped.
  if (p.stride != p.dilation) {
    Mistake m;
    m.id = "stride_dilation_swapped";
    m.description = "stride and dilation swapped: stride " + list(p.dilation) + ", dilation " + list(p.stride) +
                    " instead of stride " + list(p.stride) + ", dilation " + list(p.dilation);
    m.geometry = true;
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      std::swap(q.stride, q.dilation);
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Padding mode ignored.
  if (p.padding_mode != PaddingMode::zeros) {
    Mistake m;
    m.id = "padding_mode_zeros";
    m.description = "padding_mode '" + to_string(p.padding_mode) + "' done as zeros";
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      q.padding_mode = PaddingMode::zeros;
      return with_params(l, q);
    };
    out.push_back(m);
  }
  return out;
}

// The mistaken layer with its end padding changed so that its spatial output size equals the
// candidate's: conv p₁ = (o−1)s − n − p₀ + d(k−1) + 1; transposed p₁ = (n−1)s − p₀ + d(k−1) + a + 1 − o.
std::optional<LayerData> keep_output_size(const LayerData& l, const Dims& candidate_shape) {
  const ConvSpec& s = l.spec;
  const int rank = s.rank();
  if (candidate_shape.size() < static_cast<std::size_t>(rank) + 1) return std::nullopt;
  ConvParams q = s.params();
  for (int a = 0; a < rank; ++a) {
    const auto u = static_cast<std::size_t>(a);
    const Index o = candidate_shape[candidate_shape.size() - static_cast<std::size_t>(rank) + u];
    const Index n = q.input_size[u], k = q.kernel_size[u], st = q.stride[u], d = q.dilation[u];
    q.pad_end[u] = s.is_transposed() ? (n - 1) * st - q.pad_begin[u] + d * (k - 1) + q.output_padding[u] + 1 - o
                                     : (o - 1) * st - n - q.pad_begin[u] + d * (k - 1) + 1;
  }
  return with_params(l, q);
}

}  // namespace

Diagnosis diagnose(const LayerData& layer, const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options) {
  validate(options);
  Diagnosis dg;
  const auto pattern = pattern_for(layer.spec, nullptr);
  dg.check = report(layer, evaluate(layer, pattern), *pattern, candidate, candidate_shape, options);
  if (dg.check.passed) return dg;

  auto try_layer = [&](const std::string& id, const std::string& description, const LayerData& mistaken,
                       const Mistake& m) {
    Hypothesis h;
    h.id = id;
    h.description = description;
    OracleOutput y = evaluate(mistaken, pattern_for(mistaken.spec, pattern));
    if (m.rearrange_output) {
      // n_i is the same for every channel (each reads channels_per_group · taps), so only the
      // values and magnitudes move.
      m.rearrange_output(mistaken, y.value);
      m.rearrange_output(mistaken, y.magnitude);
    }
    h.shape = y.shape;
    h.comparable = shapes_match(y.shape, candidate_shape);
    if (h.comparable) {
      const Comparison c = compare(y, candidate, options.tolerance, 0);
      h.bad = c.bad;
      h.max_error_ratio = c.max_ratio;
      h.reproduces = c.bad == 0;
    } else {
      h.max_error_ratio = std::numeric_limits<double>::infinity();
    }
    if (h.reproduces) dg.reproducing.push_back(h.id);
    dg.tried.push_back(std::move(h));
  };

  for (const Mistake& m : catalogue(layer)) {
    const std::optional<LayerData> mistaken = m.make(layer);
    if (!mistaken) continue;
    try_layer(m.id, m.description, *mistaken, m);
    if (m.geometry && m.keep_shape_variant && !dg.tried.back().comparable) {
      const std::optional<LayerData> kept = keep_output_size(*mistaken, candidate_shape);
      if (kept) {
        try_layer(m.id + " (size kept)", m.description + ", looping over the output positions of size " +
                                             dims_to_string(kept->spec.output_size()),
                  *kept, m);
      }
    }
  }
  return dg;
}

}  // namespace convmat

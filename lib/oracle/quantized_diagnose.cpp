// diagnose for the quantized ops (diagnose.hpp): each mistake recomputed exactly from the
// integers and compared with the candidate element by element.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/oracle/diagnose.hpp"

namespace convmat {

const std::vector<QuantizedMistake>& quantized_mistakes() {
  static const std::vector<QuantizedMistake> catalogue{
      {"x_zero_point_ignored", "x's zero point not subtracted: sums of x*(w - w_zero_point)"},
      {"w_zero_point_ignored", "w's zero point not subtracted: sums of (x - x_zero_point)*w"},
      {"padding_zero_not_x_zero_point",
       "the padding filled with 0 instead of x_zero_point (a padded tap adds -x_zero_point*(w - "
       "w_zero_point) instead of 0)"},
      {"w_zero_point_first_for_all", "per-channel w_zero_point: the first value used for all"},
      {"w_zero_point_wrong_axis",
       "per-channel w_zero_point read along w's axis 1 (input channels) instead of axis 0"},
      {"w_scale_first_for_all", "per-channel w_scale: the first value used for all"},
      {"w_scale_wrong_axis",
       "per-channel w_scale read along w's axis 1 (input channels) instead of axis 0"},
      {"bias_missing", "B left out"},
      {"bias_after_scaling",
       "B added after the scaling, round(acc*multiplier + B), instead of to the int32 "
       "accumulator"},
      {"float32_accumulation",
       "the sums accumulated in float32 instead of int32 (they pass 2^24, where float32 stops "
       "holding every integer)"},
      {"int16_pair_saturation",
       "uint8 x times int8 w summed in pairs of input channels saturated to int16 (x86's "
       "vpmaddubsw, int8 kernels on CPUs without VNNI), then in int32"},
      {"rounding_half_away_from_zero",
       "requantization rounds half away from zero (C's round) instead of half to even"},
      {"rounding_half_up",
       "requantization rounds half up (floor(v + 1/2)) instead of half to even"},
      {"rounding_toward_zero", "requantization truncates toward zero (a cast) instead of rounding"},
      {"rounding_down", "requantization rounds down (floor, an arithmetic shift) instead"},
      {"no_saturation",
       "no saturation: the result wrapped around modulo 256 instead of clamped to the output "
       "type's range"},
  };
  return catalogue;
}

namespace {

using Ints = std::vector<std::int64_t>;
using Reals = std::vector<double>;

std::string text(double v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

template <class T>
std::string list(const std::vector<T>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + text(static_cast<double>(v[i]));
  return s + "]";
}

template <class T>
bool all_equal(const std::vector<T>& v) {
  return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end();
}

enum class Rounding { half_to_even, half_away_from_zero, half_up, toward_zero, down };

double round_by(double v, Rounding r) {
  switch (r) {
    case Rounding::half_to_even:
      return std::nearbyint(v);  // the default rounding mode: ties to even
    case Rounding::half_away_from_zero: return std::round(v);
    case Rounding::half_up: return std::floor(v + 0.5);
    case Rounding::toward_zero: return std::trunc(v);
    case Rounding::down: return std::floor(v);
  }
  return v;
}

// The layer and the checked inputs, and what every hypothesis starts from.
struct Problem {
  const QuantizedOp& op;
  const QuantizedData& d;
  QuantizedParameters p;
  Index channels, per_channel_output, weights_per_channel;
  std::vector<double> multipliers;  // per output channel (QLinearConv)

  Problem(const QuantizedOp& o, const QuantizedData& data)
      : op(o),
        d(data),
        p(quantized_parameters(o, data)),
        channels(data.spec.out_channels()),
        per_channel_output(data.spec.output_numel() / data.spec.out_channels()),
        weights_per_channel(data.spec.weight_numel() / data.spec.out_channels()) {
    if (op.requantizes) {
      multipliers = requantization_multipliers(p.x_scale, p.w_scale, p.y_scale, channels);
    }
  }

  std::size_t channel_of_output(std::size_t i) const {
    return static_cast<std::size_t>(static_cast<Index>(i) % d.spec.output_numel() /
                                    per_channel_output);
  }
  std::int64_t w_zero(std::size_t m) const {
    return p.w_zero_point[p.w_zero_point.size() == 1 ? 0 : m];
  }

  // x − zero (every element).
  Reals x_minus(std::int64_t zero) const {
    Reals out(d.x.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(d.x[i] - zero);
    return out;
  }
  // w[m, c, k…] − zero(m, c).
  template <class Zero>
  Reals w_minus(Zero zero) const {
    Reals out(d.w.size());
    const auto per_m = static_cast<std::size_t>(weights_per_channel);
    const auto per_c = static_cast<std::size_t>(d.spec.kernel_numel());
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<double>(d.w[i] - zero(i / per_m, i % per_m / per_c));
    return out;
  }
  Reals w_shifted() const {
    return w_minus([&](std::size_t m, std::size_t) { return w_zero(m); });
  }

  // Σ over each output element's taps of x·w (W in float64: every partial sum of these integers
  // is exact), plus `bias` per output channel when given.
  Reals sums(const Reals& x, const Reals& w, const Ints& bias) const {
    Reals b(bias.begin(), bias.end()), y(static_cast<std::size_t>(d.batch * d.spec.output_numel()));
    ConvMatrix<double>(d.spec, w.data())
        .forward(x.data(), b.empty() ? nullptr : b.data(), y.data(), d.batch);
    return y;
  }

  // The output from the accumulators: ConvInteger's are the output; QLinearConv requantizes.
  Ints output(const Reals& acc, Rounding r = Rounding::half_to_even, bool saturate = true) const {
    if (!op.requantizes) return Ints(acc.begin(), acc.end());
    Reals real(acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i)
      real[i] = acc[i] * multipliers[channel_of_output(i)];
    return from_real(real, r, saturate);
  }
  // round(real) + y_zero_point, saturated, or wrapped around into the output type's range.
  Ints from_real(const Reals& real, Rounding r, bool saturate) const {
    const QuantizedRange range = p.output_range;
    const double lo = static_cast<double>(range.lo), hi = static_cast<double>(range.hi);
    Ints y(real.size());
    for (std::size_t i = 0; i < real.size(); ++i) {
      const double q = round_by(real[i], r) + static_cast<double>(p.y_zero_point);
      if (saturate || !(std::fabs(q) < 0x1p62)) {
        y[i] = static_cast<std::int64_t>(std::clamp(q, lo, hi));
      } else {
        const std::int64_t span = range.hi - range.lo + 1;
        const std::int64_t v = (static_cast<std::int64_t>(q) - range.lo) % span;
        y[i] = (v < 0 ? v + span : v) + range.lo;
      }
    }
    return y;
  }
};

// One entry's result against the candidate: equal where `lo[i] <= candidate[i] <= hi[i]`.
QuantizedHypothesis compared(std::string_view id, std::string description, const Ints& lo,
                             const Ints& hi, const Ints& candidate) {
  QuantizedHypothesis h;
  h.id = std::string(id);
  h.description = std::move(description);
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    const std::int64_t gap = candidate[i] < lo[i]   ? lo[i] - candidate[i]
                             : candidate[i] > hi[i] ? candidate[i] - hi[i]
                                                    : 0;
    if (gap == 0) continue;
    ++h.mismatches;
    h.max_difference = std::max(h.max_difference, gap);
  }
  h.reproduces = h.mismatches == 0;
  return h;
}

bool has_padding(const ConvSpec& spec) {
  const auto positive = [](const Dims& d) {
    return std::any_of(d.begin(), d.end(), [](Index v) { return v > 0; });
  };
  return positive(spec.pad_begin()) || positive(spec.pad_end());
}

}  // namespace

QuantizedDiagnosis diagnose_quantized(const QuantizedOp& op, const QuantizedData& data,
                                      const std::vector<std::int64_t>& candidate,
                                      Index max_listed) {
  QuantizedDiagnosis dg;
  dg.expected = quantized_apply(op, data);
  if (candidate.size() != dg.expected.values.size()) {
    throw std::invalid_argument("diagnose: the candidate has " + std::to_string(candidate.size()) +
                                " values, " + std::string(op.alias) + "'s output " +
                                std::to_string(dg.expected.values.size()));
  }
  dg.check = compare_quantized(dg.expected.values, candidate, dg.expected.accumulators,
                               dg.expected.real, max_listed);
  if (dg.check.mismatches == 0) return dg;

  const Problem pr(op, data);
  const QuantizedParameters& p = pr.p;
  const ConvSpec& spec = data.spec;
  const Reals x_shifted = pr.x_minus(p.x_zero_point), w_shifted = pr.w_shifted();
  const Reals acc(dg.expected.accumulators.begin(), dg.expected.accumulators.end());
  const bool per_channel_zero = !all_equal(p.w_zero_point);
  const bool per_channel_scale = op.requantizes && !all_equal(p.w_scale);
  // w's axis 1 has as many entries as a per-channel input only when C_in/groups == C_out.
  const bool axis1_fits = spec.in_channels() / spec.groups() == pr.channels;
  const bool has_bias =
      std::any_of(p.bias.begin(), p.bias.end(), [](std::int64_t b) { return b != 0; });
  const std::string xz = std::to_string(p.x_zero_point);

  const auto name = [](std::size_t k) { return quantized_mistakes()[k].id; };
  const auto add = [&](std::size_t k, std::string description, const Ints& y) {
    dg.tried.push_back(compared(name(k), std::move(description), y, y, candidate));
  };
  std::size_t k = 0;  // the catalogue's entries, in order

  // x_zero_point ignored: x·(w − w_zero_point) summed, the padding adding 0.
  if (p.x_zero_point != 0) {
    add(k, "x_zero_point " + xz + " not subtracted: the sums of x*(w - w_zero_point)",
        pr.output(pr.sums(pr.x_minus(0), w_shifted, p.bias)));
  }
  ++k;
  // w_zero_point ignored.
  if (!all_equal(p.w_zero_point) || p.w_zero_point[0] != 0) {
    add(k,
        "w_zero_point " + list(p.w_zero_point) + " not subtracted: the sums of (x - " + xz + ")*w",
        pr.output(
            pr.sums(x_shifted, pr.w_minus([](std::size_t, std::size_t) { return 0; }), p.bias)));
  }
  ++k;
  // The padding holding 0 instead of x_zero_point: every tap of the window, padded or not,
  // adds (x − x_zero_point)(w − w_zero_point) with x = 0 in the padding, that is the sum of
  // x·(w − w_zero_point) minus x_zero_point·Σ_window (w − w_zero_point) for channel m.
  if (p.x_zero_point != 0 && has_padding(spec)) {
    Reals y = pr.sums(pr.x_minus(0), w_shifted, p.bias);
    Reals window(static_cast<std::size_t>(pr.channels), 0.0);
    for (std::size_t i = 0; i < w_shifted.size(); ++i)
      window[i / static_cast<std::size_t>(pr.weights_per_channel)] += w_shifted[i];
    for (std::size_t i = 0; i < y.size(); ++i)
      y[i] -= static_cast<double>(p.x_zero_point) * window[pr.channel_of_output(i)];
    add(k,
        "the padding filled with 0 instead of x_zero_point " + xz + ": each padded tap adds -" +
            xz + "*(w - w_zero_point) instead of 0",
        pr.output(y));
  }
  ++k;
  // Per-channel w_zero_point: the first for all, or read along w's axis 1.
  if (per_channel_zero) {
    add(k,
        "w_zero_point[0] = " + std::to_string(p.w_zero_point[0]) +
            " used for every output channel instead of " + list(p.w_zero_point),
        pr.output(pr.sums(x_shifted,
                          pr.w_minus([&](std::size_t, std::size_t) { return p.w_zero_point[0]; }),
                          p.bias)));
  }
  ++k;
  if (per_channel_zero && axis1_fits) {
    add(k,
        "w_zero_point " + list(p.w_zero_point) +
            " indexed by the input channel (w's axis 1) instead of the output channel (axis 0)",
        pr.output(pr.sums(x_shifted,
                          pr.w_minus([&](std::size_t, std::size_t c) { return p.w_zero_point[c]; }),
                          p.bias)));
  }
  ++k;
  // Per-channel w_scale: the first for all, or read along w's axis 1 (the weights dequantized
  // with w_scale[c]: real = (Σ_c w_scale[c]·acc_c + B[m]·w_scale[m])·x_scale/y_scale, acc_c the
  // sum over input channel c's taps; B keeps its own scale x_scale·w_scale[m]).
  if (per_channel_scale) {
    Reals real(acc.size());
    for (std::size_t i = 0; i < acc.size(); ++i) real[i] = acc[i] * pr.multipliers[0];
    add(k,
        "w_scale[0] = " + text(p.w_scale[0]) + " used for every output channel instead of " +
            list(p.w_scale),
        pr.from_real(real, Rounding::half_to_even, true));
  }
  ++k;
  if (per_channel_scale && axis1_fits) {
    const auto per_c = static_cast<std::size_t>(spec.kernel_numel());
    const auto inputs = static_cast<std::size_t>(spec.in_channels() / spec.groups());
    Reals real(acc.size(), 0.0);
    for (std::size_t c = 0; c < inputs; ++c) {
      Reals w_c = w_shifted;  // only input channel c's taps
      for (std::size_t i = 0; i < w_c.size(); ++i) {
        if (i % static_cast<std::size_t>(pr.weights_per_channel) / per_c != c) w_c[i] = 0;
      }
      const Reals acc_c = pr.sums(x_shifted, w_c, {});
      for (std::size_t i = 0; i < real.size(); ++i) real[i] += p.w_scale[c] * acc_c[i];
    }
    for (std::size_t i = 0; i < real.size(); ++i) {
      const std::size_t m = pr.channel_of_output(i);
      const double b = p.bias.empty() ? 0.0 : static_cast<double>(p.bias[m]) * p.w_scale[m];
      real[i] = (real[i] + b) * p.x_scale / p.y_scale;
    }
    add(k,
        "w_scale " + list(p.w_scale) +
            " indexed by the input channel (w's axis 1) instead of the output channel (axis 0)",
        pr.from_real(real, Rounding::half_to_even, true));
  }
  ++k;
  // B left out, or added after the scaling (in the output's units instead of x_scale·w_scale's).
  if (has_bias) {
    add(k, "B " + list(p.bias) + " left out", pr.output(pr.sums(x_shifted, w_shifted, {})));
  }
  ++k;
  if (has_bias && op.requantizes) {
    const Reals plain = pr.sums(x_shifted, w_shifted, {});
    Reals real(plain.size());
    for (std::size_t i = 0; i < real.size(); ++i) {
      const std::size_t m = pr.channel_of_output(i);
      real[i] = plain[i] * pr.multipliers[m] + static_cast<double>(p.bias[m]);
    }
    add(k,
        "B " + list(p.bias) +
            " added after the scaling, round(acc*multiplier + B), instead of to the int32 "
            "accumulator, round((acc + B)*multiplier) (B's scale is x_scale*w_scale)",
        pr.from_real(real, Rounding::half_to_even, true));
  }
  ++k;
  // float32 accumulation: in any order, a float32 sum of n terms lies within
  // γ_n·Σ|terms| of the exact one (γ_n = n·u/(1 − n·u), u = 2^-24; Higham, sec. 3.1), and is
  // exact while every partial sum stays below 2^24. The candidate reproduces when each element
  // lies between the outputs of acc − e and acc + e (requantization is monotone).
  {
    Reals abs_x(x_shifted.size()), abs_w(w_shifted.size());
    std::transform(x_shifted.begin(), x_shifted.end(), abs_x.begin(),
                   [](double v) { return std::fabs(v); });
    std::transform(w_shifted.begin(), w_shifted.end(), abs_w.begin(),
                   [](double v) { return std::fabs(v); });
    Ints abs_bias(p.bias.size());
    std::transform(p.bias.begin(), p.bias.end(), abs_bias.begin(),
                   [](std::int64_t v) { return v < 0 ? -v : v; });
    const Reals magnitude = pr.sums(abs_x, abs_w, abs_bias);
    const double largest =
        magnitude.empty() ? 0.0 : *std::max_element(magnitude.begin(), magnitude.end());
    if (largest > 0x1p24) {
      const double n = static_cast<double>(pr.weights_per_channel + (p.bias.empty() ? 0 : 1));
      const double u = 0x1p-24, gamma = n * u / (1 - n * u);
      Reals below(acc.size()), above(acc.size());
      for (std::size_t i = 0; i < acc.size(); ++i) {
        const double e = gamma * magnitude[i];
        below[i] = op.requantizes ? acc[i] - e : std::ceil(acc[i] - e);
        above[i] = op.requantizes ? acc[i] + e : std::floor(acc[i] + e);
      }
      dg.tried.push_back(compared(
          name(k),
          "the sums accumulated in float32 instead of int32: every element within float32's "
          "rounding of the exact sum (n = " +
              text(n) + " terms, gamma_n*sum|terms| up to " + text(gamma * largest) +
              "; the largest sum|terms| " + text(largest) + " passes 2^24 = 16777216)",
          pr.output(below), pr.output(above), candidate));
    }
  }
  ++k;
  // int16 pair saturation: x86's vpmaddubsw multiplies unsigned bytes by signed bytes and adds
  // adjacent products into a saturated int16; int8 kernels on CPUs without VNNI (oneDNN's,
  // PyTorch's onednn engine) pair input channels 2j and 2j + 1 of a group at each tap, with x
  // as stored (the zero point is subtracted afterwards as x_zero_point·Σw, in int32). Tried for
  // uint8 x, int8 w with zero w_zero_point, where some pair leaves int16.
  if (data.x_type == "uint8" && data.w_type == "int8" &&
      std::all_of(p.w_zero_point.begin(), p.w_zero_point.end(),
                  [](std::int64_t z) { return z == 0; })) {
    const ConvPattern pattern(spec);
    const Index taps = spec.kernel_numel(), per_group = spec.in_channels() / spec.groups();
    const Index pairs = (per_group + 1) / 2;
    const Index out = spec.output_numel(), in = spec.input_numel();
    std::vector<std::int64_t> pair_sum(static_cast<std::size_t>(taps * pairs));
    Reals saturated = acc;
    std::int64_t pairs_saturated = 0;
    for (Index n = 0; n < data.batch; ++n) {
      for (Index row = 0; row < out; ++row) {
        std::fill(pair_sum.begin(), pair_sum.end(), 0);
        pattern.for_each_tap(row, [&](Index, Index col, Index weight) {
          const Index c = weight % (per_group * taps) / taps, tap = weight % taps;
          pair_sum[static_cast<std::size_t>(tap * pairs + c / 2)] +=
              data.x[static_cast<std::size_t>(n * in + col)] *
              data.w[static_cast<std::size_t>(weight)];
        });
        std::int64_t lost = 0;
        for (const std::int64_t v : pair_sum) {
          const std::int64_t clamped = std::clamp<std::int64_t>(v, -32768, 32767);
          lost += clamped - v;
          pairs_saturated += clamped != v;
        }
        saturated[static_cast<std::size_t>(n * out + row)] += static_cast<double>(lost);
      }
    }
    if (pairs_saturated > 0) {
      add(k,
          "uint8 x times int8 w summed in pairs of input channels (2j, 2j + 1 at each tap) "
          "saturated to int16, as x86's vpmaddubsw does (int8 kernels on CPUs without VNNI, "
          "e.g. oneDNN on AVX2), then in int32: " +
              std::to_string(pairs_saturated) + " pair(s) of products leave [-32768, 32767]",
          pr.output(saturated));
    }
  }
  ++k;
  // Requantization: the rounding and the saturation.
  if (op.requantizes) {
    for (const auto& [rounding, words] :
         {std::pair(Rounding::half_away_from_zero,
                    "rounds half away from zero (C's round: 2.5 -> 3, -2.5 -> -3)"),
          std::pair(Rounding::half_up, "rounds half up (floor(v + 1/2): 2.5 -> 3, -2.5 -> -2)"),
          std::pair(Rounding::toward_zero, "truncates toward zero (a cast: 2.7 -> 2, -2.7 -> -2)"),
          std::pair(Rounding::down, "rounds down (floor, an arithmetic shift: -2.5 -> -3)")}) {
      add(k++,
          std::string("requantization ") + words +
              " instead of rounding half to even (ONNX's QuantizeLinear: 2.5 -> 2, 3.5 -> 4)",
          pr.output(acc, rounding));
    }
    const QuantizedRange r = p.output_range;
    add(k,
        "no saturation: round(acc*multiplier) + y_zero_point wrapped around modulo " +
            std::to_string(r.hi - r.lo + 1) + " into [" + std::to_string(r.lo) + ", " +
            std::to_string(r.hi) + "] instead of clamped to " + p.output_type + "'s range",
        pr.output(acc, Rounding::half_to_even, false));
  }
  for (const QuantizedHypothesis& h : dg.tried) {
    if (h.reproduces) dg.reproducing.push_back(h.id);
  }
  return dg;
}

QuantizedDiagnosis diagnose_quantized(const QuantizedOp& op, const QuantizedData& data,
                                      const std::vector<std::int64_t>& candidate, Index max_listed,
                                      const LayerCall& call) {
  using Tensor = LayerCall::Tensor;
  if (!call.has_layouts()) return diagnose_quantized(op, data, candidate, max_listed);
  std::vector<std::int64_t> canonical = candidate;
  if (candidate.size() == static_cast<std::size_t>(call.batch * data.spec.output_numel()) &&
      !call.is_canonical(Tensor::output)) {
    const std::vector<double> c =
        call.to_canonical(Tensor::output, std::vector<double>(candidate.begin(), candidate.end()));
    canonical.assign(c.begin(), c.end());
  }
  QuantizedDiagnosis dg =
      diagnose_quantized(op, quantized_data_to_canonical(call, data), canonical, max_listed);
  // The comparison again in the caller's order, so that its worst elements are chosen and
  // indexed there; the counts are the same.
  quantized_output_to_given(call, dg.expected);
  dg.check = compare_quantized(dg.expected.values, candidate, dg.expected.accumulators,
                               dg.expected.real, max_listed);
  return dg;
}

}  // namespace convmat

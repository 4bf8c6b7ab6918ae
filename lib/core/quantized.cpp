#include "convmat/core/quantized.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "convmat/core/conv_matrix.hpp"

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

void require_count(const char* what, std::size_t given, Index expected, bool per_tensor) {
  const auto n = static_cast<std::size_t>(expected);
  if (given == n || (per_tensor && given == 1)) return;
  fail(std::string(what) + " must have " + (per_tensor ? "1 (per tensor) or " : "") +
       std::to_string(expected) + (per_tensor ? " (per output channel)" : "") + " values, got " +
       std::to_string(given));
}

}  // namespace

const std::vector<QuantizedOp>& quantized_ops() {
  static const std::vector<QuantizedOp> ops{{"onnx_conv_integer", "ConvInteger", false},
                                            {"onnx_qlinear_conv", "QLinearConv", true}};
  return ops;
}

std::vector<std::int64_t> conv_integer(const ConvSpec& spec, Index batch,
                                       const std::vector<std::int64_t>& x,
                                       std::int64_t x_zero_point,
                                       const std::vector<std::int64_t>& w,
                                       const std::vector<std::int64_t>& w_zero_point,
                                       const std::vector<std::int64_t>& bias) {
  if (spec.is_transposed()) fail("conv_integer: the layer must be a convolution");
  if (batch < 0) fail("conv_integer: batch must be >= 0, got " + std::to_string(batch));
  require_count("x", x.size(), batch * spec.input_numel(), false);
  require_count("w", w.size(), spec.weight_numel(), false);
  require_count("w_zero_point", w_zero_point.size(), spec.out_channels(), true);
  if (!bias.empty()) require_count("B", bias.size(), spec.out_channels(), false);

  // (x − x_zero_point) and (w − w_zero_point[m]) in float64: exact small integers.
  std::vector<double> xd(x.size()), wd(w.size()), bd(bias.begin(), bias.end());
  std::transform(x.begin(), x.end(), xd.begin(),
                 [&](std::int64_t v) { return static_cast<double>(v - x_zero_point); });
  const Index per_channel = spec.weight_numel() / spec.out_channels();
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::int64_t zp =
        w_zero_point[w_zero_point.size() == 1 ? 0 : i / static_cast<std::size_t>(per_channel)];
    wd[i] = static_cast<double>(w[i] - zp);
  }
  std::vector<double> acc(static_cast<std::size_t>(batch * spec.output_numel()));
  ConvMatrix<double>(spec, wd.data())
      .forward(xd.data(), bd.empty() ? nullptr : bd.data(), acc.data(), batch);

  std::vector<std::int64_t> out(acc.size());
  constexpr double lo = std::numeric_limits<std::int32_t>::min(),
                   hi = std::numeric_limits<std::int32_t>::max();
  for (std::size_t i = 0; i < acc.size(); ++i) {
    if (!(acc[i] >= lo && acc[i] <= hi)) {
      std::ostringstream s;
      s.precision(17);
      s << "the int32 accumulator overflows: element " << i << " (C order) sums to " << acc[i]
        << ", outside [" << lo << ", " << hi << "]";
      fail(s.str());
    }
    out[i] = static_cast<std::int64_t>(acc[i]);
  }
  return out;
}

std::int64_t requantize(std::int64_t acc, double multiplier, std::int64_t zero_point,
                        QuantizedRange range) {
  // std::nearbyint rounds half to even in the default rounding mode.
  const double rounded = std::nearbyint(static_cast<double>(acc) * multiplier);
  const double shifted = rounded + static_cast<double>(zero_point);
  return static_cast<std::int64_t>(
      std::clamp(shifted, static_cast<double>(range.lo), static_cast<double>(range.hi)));
}

std::vector<double> requantization_multipliers(double x_scale, const std::vector<double>& w_scale,
                                               double y_scale, Index out_channels) {
  require_count("w_scale", w_scale.size(), out_channels, true);
  const auto positive = [](const char* name, double v) {
    if (!(std::isfinite(v) && v > 0)) {
      std::ostringstream s;
      s.precision(9);
      s << name << " must be finite and > 0, got " << v;
      fail(s.str());
    }
  };
  positive("x_scale", x_scale);
  positive("y_scale", y_scale);
  for (double s : w_scale) positive("w_scale", s);
  std::vector<double> m(static_cast<std::size_t>(out_channels));
  for (std::size_t c = 0; c < m.size(); ++c)
    m[c] = x_scale * w_scale[w_scale.size() == 1 ? 0 : c] / y_scale;
  return m;
}

std::vector<std::int64_t> qlinear_requantize(const ConvSpec& spec,
                                             const std::vector<std::int64_t>& acc,
                                             const std::vector<double>& multipliers,
                                             std::int64_t y_zero_point, QuantizedRange range) {
  require_count("multipliers", multipliers.size(), spec.out_channels(), false);
  if (y_zero_point < range.lo || y_zero_point > range.hi) {
    fail("y_zero_point must lie in the output type's range [" + std::to_string(range.lo) + ", " +
         std::to_string(range.hi) + "], got " + std::to_string(y_zero_point));
  }
  const Index per_channel = spec.output_numel() / spec.out_channels();
  std::vector<std::int64_t> y(acc.size());
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const auto c =
        static_cast<std::size_t>(static_cast<Index>(i) % spec.output_numel() / per_channel);
    y[i] = requantize(acc[i], multipliers[c], y_zero_point, range);
  }
  return y;
}

QuantizedComparison compare_quantized(const std::vector<std::int64_t>& expected,
                                      const std::vector<std::int64_t>& candidate,
                                      const std::vector<std::int64_t>& accumulators,
                                      const std::vector<double>& real, Index max_listed) {
  if (candidate.size() != expected.size() || accumulators.size() != expected.size() ||
      (!real.empty() && real.size() != expected.size())) {
    fail("compare_quantized: the candidate has " + std::to_string(candidate.size()) +
         " values, the expected output " + std::to_string(expected.size()));
  }
  QuantizedComparison c;
  c.elements = static_cast<Index>(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::int64_t d =
        candidate[i] > expected[i] ? candidate[i] - expected[i] : expected[i] - candidate[i];
    if (d == 0) continue;
    ++c.mismatches;
    if (d == 1) ++c.off_by_one;
    c.max_difference = std::max(c.max_difference, d);
    c.worst.push_back({static_cast<Index>(i), expected[i], candidate[i], accumulators[i],
                       real.empty() ? std::numeric_limits<double>::quiet_NaN() : real[i]});
  }
  const auto gap = [](const QuantizedMismatch& m) {
    return m.candidate > m.expected ? m.candidate - m.expected : m.expected - m.candidate;
  };
  std::stable_sort(c.worst.begin(), c.worst.end(),
                   [&](const auto& a, const auto& b) { return gap(a) > gap(b); });
  c.worst.resize(std::min<std::size_t>(c.worst.size(),
                                       static_cast<std::size_t>(std::max<Index>(max_listed, 0))));
  return c;
}

const QuantizedOp* find_quantized_op(std::string_view name) {
  for (const QuantizedOp& op : quantized_ops()) {
    if (op.name == name || op.alias == name) return &op;
  }
  return nullptr;
}

const std::vector<QuantizedInput>& quantized_inputs() {
  using T = QuantizedInputType;
  static const std::vector<QuantizedInput> inputs{
      {"x_scale", T::scale, false, true, true},
      {"x_zero_point", T::x_type, false, false, true},
      {"w_scale", T::scale, true, true, true},
      {"w_zero_point", T::w_type, true, false, true},
      {"y_scale", T::scale, false, true, true},
      {"y_zero_point", T::output_type, false, true, true},
      {"B", T::int32, false, true, false, false},
  };
  return inputs;
}

const QuantizedInput* find_quantized_input(std::string_view name) {
  for (const QuantizedInput& q : quantized_inputs()) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

QuantizedValue quantized_value_from_numbers(const QuantizedInput& input,
                                            const std::vector<double>& numbers,
                                            std::string_view x_type, std::string_view w_type) {
  QuantizedValue v;
  switch (input.type) {
    case QuantizedInputType::scale:
      for (double s : numbers) v.values.push_back(static_cast<double>(static_cast<float>(s)));
      v.type = "float32";
      return v;
    case QuantizedInputType::w_type: v.type = w_type; break;
    case QuantizedInputType::x_type:
    case QuantizedInputType::output_type: v.type = x_type; break;
    case QuantizedInputType::int32: v.type = "int32"; break;
  }
  v.values = numbers;
  return v;
}

QuantizedRange quantized_range(std::string_view type, std::string_view what) {
  if (type == "int8") return {-128, 127};
  if (type == "uint8") return {0, 255};
  throw QuantizedTypeError(std::string(what) +
                           " must have dtype int8 or uint8 (ONNX's T1/T2/T3), got " +
                           std::string(type));
}

namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

// The integers of a zero point or B, each within [lo, hi].
std::vector<std::int64_t> integers_in(const std::string& what, const std::vector<double>& values,
                                      std::int64_t lo, std::int64_t hi, const std::string& type) {
  std::vector<std::int64_t> out;
  for (double v : values) {
    if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != std::floor(v)) {
      fail(what + " must hold integers of " + type + " ([" + std::to_string(lo) + ", " +
           std::to_string(hi) + "]), got " + number_text(v));
    }
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

}  // namespace

QuantizedParameters quantized_parameters(const QuantizedOp& op, const QuantizedData& d) {
  const std::string name(op.alias);
  const QuantizedRange x_range = quantized_range(d.x_type, name + ": x");
  const QuantizedRange w_range = quantized_range(d.w_type, name + ": w");
  // x and w hold integers of their types (a uint8 x of −1 would silently be read as −1, where
  // ONNX's tensor holds 255).
  for (const auto& [values, range, what, type] :
       {std::tuple(&d.x, x_range, "x", &d.x_type), std::tuple(&d.w, w_range, "w", &d.w_type)}) {
    const auto bad = std::find_if(values->begin(), values->end(),
                                  [&](std::int64_t v) { return v < range.lo || v > range.hi; });
    if (bad != values->end()) {
      fail(name + ": " + what + " must hold integers of " + *type + " ([" +
           std::to_string(range.lo) + ", " + std::to_string(range.hi) + "]), got " +
           std::to_string(*bad) + " at flat index " + std::to_string(bad - values->begin()));
    }
  }
  for (const auto& [given, value] : d.inputs) {
    const QuantizedInput* known = find_quantized_input(given);
    if (!known) fail(name + ": unknown input '" + given + "'");
    if (known->requantizing && !op.requantizes)
      fail(name + " has no input " + given + " (it is QLinearConv's)");
  }
  QuantizedParameters p;
  if (op.requantizes) p.output_range = {};  // set from y_zero_point's type below
  for (const QuantizedInput& q : quantized_inputs()) {
    const auto it = d.inputs.find(q.name);
    const std::string what = name + ": " + std::string(q.name);
    if (it == d.inputs.end()) {
      if (q.required && op.requantizes) fail(what + " is required");
      continue;
    }
    const QuantizedValue& v = it->second;
    const Index channels = d.spec.out_channels();
    const auto n = static_cast<Index>(v.values.size());
    if (q.type == QuantizedInputType::int32 ? n != channels
                                            : !(n == 1 || (q.per_channel && n == channels))) {
      fail(what + " must have " +
           (q.type == QuantizedInputType::int32
                ? std::to_string(channels) + " values (one per output channel)"
            : q.per_channel
                ? "1 value (per tensor) or " + std::to_string(channels) + " (per output channel)"
                : std::string("1 value (a scalar)")) +
           ", got " + std::to_string(n));
    }
    switch (q.type) {
      case QuantizedInputType::x_type:
      case QuantizedInputType::w_type: {
        const std::string& tensor_type = q.type == QuantizedInputType::x_type ? d.x_type : d.w_type;
        if (v.type != tensor_type) {
          throw QuantizedTypeError(what + " must have the dtype of its tensor (" + tensor_type +
                                   "), got " + v.type);
        }
        const QuantizedRange r = quantized_range(tensor_type, what);
        const std::vector<std::int64_t> z = integers_in(what, v.values, r.lo, r.hi, tensor_type);
        if (q.type == QuantizedInputType::x_type) {
          p.x_zero_point = z[0];
        } else {
          p.w_zero_point = z;
        }
        break;
      }
      case QuantizedInputType::output_type:
        p.output_range = quantized_range(v.type, what);
        p.output_type = v.type;
        p.y_zero_point =
            integers_in(what, v.values, p.output_range.lo, p.output_range.hi, v.type)[0];
        break;
      case QuantizedInputType::scale:
        if (v.type != "float32")
          throw QuantizedTypeError(what + " must have dtype float32 (ONNX's tensor(float)), got " +
                                   v.type);
        if (q.name == "x_scale") {
          p.x_scale = v.values[0];
        } else if (q.name == "y_scale") {
          p.y_scale = v.values[0];
        } else {
          p.w_scale = v.values;
        }
        break;
      case QuantizedInputType::int32:
        if (v.type != "int32")
          throw QuantizedTypeError(what + " must have dtype int32, got " + v.type);
        p.bias = integers_in(what, v.values, std::numeric_limits<std::int32_t>::min(),
                             std::numeric_limits<std::int32_t>::max(), "int32");
        break;
    }
  }
  if (op.requantizes) {
    requantization_multipliers(p.x_scale, p.w_scale, p.y_scale, d.spec.out_channels());  // checks
  }
  return p;
}

void require_quantized_output_type(const QuantizedOp& op, std::string_view output_type,
                                   std::string_view candidate_type) {
  if (candidate_type == output_type) return;
  throw QuantizedTypeError(std::string(op.alias) + "'s output has ONNX's type " +
                           std::string(output_type) + (op.requantizes ? " (y_zero_point's)" : "") +
                           "; the candidate must have it, got " + std::string(candidate_type));
}

QuantizedOutput quantized_apply(const QuantizedOp& op, const QuantizedData& d) {
  const QuantizedParameters p = quantized_parameters(op, d);
  QuantizedOutput out;
  out.type = p.output_type;
  out.accumulators =
      conv_integer(d.spec, d.batch, d.x, p.x_zero_point, d.w, p.w_zero_point, p.bias);
  if (!op.requantizes) {
    out.values = out.accumulators;
    return out;
  }
  const std::vector<double> m =
      requantization_multipliers(p.x_scale, p.w_scale, p.y_scale, d.spec.out_channels());
  out.values = qlinear_requantize(d.spec, out.accumulators, m, p.y_zero_point, p.output_range);
  const Index per_channel = d.spec.output_numel() / d.spec.out_channels();
  out.real.resize(out.accumulators.size());
  for (std::size_t i = 0; i < out.real.size(); ++i) {
    const auto c =
        static_cast<std::size_t>(static_cast<Index>(i) % d.spec.output_numel() / per_channel);
    out.real[i] = static_cast<double>(out.accumulators[i]) * m[c];
  }
  return out;
}

namespace {

using Tensor = LayerCall::Tensor;

std::vector<std::int64_t> permuted_integers(const LayerCall& call, Tensor tensor,
                                            const std::vector<std::int64_t>& v, bool to_canonical) {
  std::vector<double> d(v.begin(), v.end());  // 8-bit values and int32 sums: exact
  d = to_canonical ? call.to_canonical(tensor, std::move(d))
                   : call.from_canonical(tensor, std::move(d));
  return std::vector<std::int64_t>(d.begin(), d.end());
}

}  // namespace

QuantizedData quantized_data_to_canonical(const LayerCall& call, QuantizedData data) {
  if (!call.is_canonical(Tensor::input))
    data.x = permuted_integers(call, Tensor::input, data.x, true);
  if (!call.is_canonical(Tensor::weight))
    data.w = permuted_integers(call, Tensor::weight, data.w, true);
  return data;
}

void quantized_output_to_given(const LayerCall& call, QuantizedOutput& out) {
  if (call.is_canonical(Tensor::output)) return;
  out.values = permuted_integers(call, Tensor::output, out.values, false);
  out.accumulators = permuted_integers(call, Tensor::output, out.accumulators, false);
  if (!out.real.empty()) out.real = call.from_canonical(Tensor::output, std::move(out.real));
}

QuantizedOutput quantized_apply(const QuantizedOp& op, const QuantizedData& data,
                                const LayerCall& call) {
  QuantizedOutput out = quantized_apply(op, quantized_data_to_canonical(call, data));
  quantized_output_to_given(call, out);
  return out;
}

}  // namespace convmat

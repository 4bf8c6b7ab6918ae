// ONNX ConvInteger and QLinearConv (quantized.hpp): the accumulators against a plain integer
// loop written here from ONNX's definition (pad x with x_zero_point, slide the window, sum
// (x − x_zp)(w − w_zp) in int64), the requantization's rounding (half to even) and saturation,
// the int32 overflow refusal and the exact comparison.
#define BOOST_TEST_MODULE quantized
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "convmat/core/layer_ops.hpp"
#include "convmat/core/quantized.hpp"
#include "test_util.hpp"

using namespace convmat;
using Ints = std::vector<std::int64_t>;

namespace {

// ONNX Conv on the padded input, one output at a time, ranks 1–3 (run as rank 3).
Ints reference_accumulators(const ConvSpec& s, Index batch, const Ints& x, std::int64_t xz,
                            const Ints& w, const Ints& wz, const Ints& bias) {
  Dims in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, st{1, 1, 1}, d{1, 1, 1}, p{0, 0, 0};
  const auto off = static_cast<std::size_t>(3 - s.rank());
  for (std::size_t a = 0; a < static_cast<std::size_t>(s.rank()); ++a) {
    in[off + a] = s.input_size()[a];
    out[off + a] = s.output_size()[a];
    k[off + a] = s.kernel_size()[a];
    st[off + a] = s.stride()[a];
    d[off + a] = s.dilation()[a];
    p[off + a] = s.pad_begin()[a];
  }
  const Index cin_g = s.in_channels() / s.groups(), cout_g = s.out_channels() / s.groups();
  Ints y;
  for (Index n = 0; n < batch; ++n) {
    for (Index m = 0; m < s.out_channels(); ++m) {
      const std::int64_t zp = wz[wz.size() == 1 ? 0 : static_cast<std::size_t>(m)];
      for (Index o0 = 0; o0 < out[0]; ++o0)
        for (Index o1 = 0; o1 < out[1]; ++o1)
          for (Index o2 = 0; o2 < out[2]; ++o2) {
            std::int64_t acc = bias.empty() ? 0 : bias[static_cast<std::size_t>(m)];
            for (Index j = 0; j < cin_g; ++j) {
              const Index c = m / cout_g * cin_g + j;
              for (Index k0 = 0; k0 < k[0]; ++k0)
                for (Index k1 = 0; k1 < k[1]; ++k1)
                  for (Index k2 = 0; k2 < k[2]; ++k2) {
                    const Index i0 = o0 * st[0] + k0 * d[0] - p[0];
                    const Index i1 = o1 * st[1] + k1 * d[1] - p[1];
                    const Index i2 = o2 * st[2] + k2 * d[2] - p[2];
                    const bool inside =
                        i0 >= 0 && i1 >= 0 && i2 >= 0 && i0 < in[0] && i1 < in[1] && i2 < in[2];
                    const std::int64_t xv =
                        inside
                            ? x[static_cast<std::size_t>(
                                  (((n * s.in_channels() + c) * in[0] + i0) * in[1] + i1) * in[2] +
                                  i2)]
                            : xz;
                    const std::int64_t wv = w[static_cast<std::size_t>(
                        (((m * cin_g + j) * k[0] + k0) * k[1] + k1) * k[2] + k2)];
                    acc += (xv - xz) * (wv - zp);
                  }
            }
            y.push_back(acc);
          }
    }
  }
  return y;
}

Ints random_ints(Index n, std::int64_t lo, std::int64_t hi) {
  Ints v(static_cast<std::size_t>(n));
  for (auto& e : v) e = test::uniform(lo, hi);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(accumulators_equal_the_integer_loop) {
  int per_channel = 0, layers = 0;
  for (int trial = 0; trial < 1200; ++trial) {
    ConvSpec spec = test::random_spec();
    if (spec.is_transposed() || spec.padding_mode() != PaddingMode::zeros) continue;
    const bool is_unsigned = trial % 2 == 0;  // uint8 [0, 255] or int8 [−128, 127]
    const std::int64_t lo = is_unsigned ? 0 : -128, hi = is_unsigned ? 255 : 127;
    const Index batch = test::uniform(1, 2);
    const Ints x = random_ints(batch * spec.input_numel(), lo, hi);
    const Ints w = random_ints(spec.weight_numel(), lo, hi);
    const std::int64_t xz = test::uniform(lo, hi);
    const Ints wz = random_ints(trial % 3 == 0 ? spec.out_channels() : 1, lo, hi);
    per_channel += wz.size() > 1;
    ++layers;
    const Ints bias = trial % 4 == 0 ? Ints{} : random_ints(spec.out_channels(), -100000, 100000);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const Ints acc = conv_integer(spec, batch, x, xz, w, wz, bias);
      const Ints ref = reference_accumulators(spec, batch, x, xz, w, wz, bias);
      BOOST_TEST(acc == ref, boost::test_tools::per_element());
    }
  }
  BOOST_TEST(layers > 100);  // the generator's convolutions with zero padding
  BOOST_TEST(per_channel > 25);
}

BOOST_AUTO_TEST_CASE(requantization_rounds_half_to_even_then_saturates) {
  const QuantizedRange int8{-128, 127}, uint8{0, 255};
  BOOST_TEST(requantize(5, 0.5, 0, int8) == 2);    // 2.5 → 2
  BOOST_TEST(requantize(7, 0.5, 0, int8) == 4);    // 3.5 → 4
  BOOST_TEST(requantize(-5, 0.5, 0, int8) == -2);  // −2.5 → −2
  BOOST_TEST(requantize(-7, 0.5, 0, int8) == -4);  // −3.5 → −4
  BOOST_TEST(requantize(5, 0.5, 1, int8) == 3);    // the zero point after the rounding
  BOOST_TEST(requantize(11, 0.3, 0, int8) == 3);   // 3.3 → 3
  BOOST_TEST(requantize(1000, 1.0, 0, int8) == 127);
  BOOST_TEST(requantize(-1000, 1.0, 0, int8) == -128);
  BOOST_TEST(requantize(-5, 1.0, 3, uint8) == 0);
  BOOST_TEST(requantize(300, 1.0, 0, uint8) == 255);
  // Per output channel: channel m uses its own multiplier.
  const ConvSpec spec = ConvSpec::convolution(1, 2, {1}, {1});
  const std::vector<double> m = requantization_multipliers(0.5, {1.0, 2.0}, 0.5, 2);
  BOOST_TEST(m == (std::vector<double>{1.0, 2.0}), boost::test_tools::per_element());
  BOOST_TEST(qlinear_requantize(spec, {3, 3}, m, 10, int8) == (Ints{13, 16}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_the_rule) {
  const ConvSpec spec = ConvSpec::convolution(2, 3, {4}, {2});
  const Ints x(8, 1), w(12, 1);
  test::expect_error(
      [&] {
        conv_integer(spec, 1, x, 0, w, {0, 0});
      },
      "w_zero_point must have 1 (per tensor) or 3 (per output channel) values, "
      "got 2");
  test::expect_error([&] { conv_integer(spec, 1, Ints(7), 0, w, {0}); },
                     "x must have 8 values, got 7");
  test::expect_error([&] { requantization_multipliers(0.0, {1.0}, 1.0, 3); },
                     "x_scale must be finite and > 0, got 0");
  test::expect_error(
      [&] {
        requantization_multipliers(1.0, {1.0, 1.0}, 1.0, 3);
      },
      "w_scale must have 1 (per tensor) or 3 (per output channel) values, got 2");
  test::expect_error(
      [&] {
        qlinear_requantize(spec, Ints(9), {1, 1, 1}, 300, QuantizedRange{0, 255});
      },
      "y_zero_point must lie in the output type's range [0, 255], got 300");
  // 33100 taps of 255·255 sum to 2152327500 > 2³¹ − 1: the int32 accumulator overflows.
  const ConvSpec wide = ConvSpec::convolution(33100, 1, {1}, {1});
  test::expect_error([&] { conv_integer(wide, 1, Ints(33100, 255), 0, Ints(33100, 255), {0}); },
                     "the int32 accumulator overflows: element 0 (C order) sums to 2152327500");
  BOOST_TEST(conv_integer(wide, 1, Ints(33100, 255), 0, Ints(33100, 254), {0})[0] ==
             33100LL * 255 * 254);  // 2143890600 fits
}

BOOST_AUTO_TEST_CASE(an_exact_comparison_names_one_unit_with_its_accumulator) {
  const QuantizedComparison c =
      compare_quantized({10, 20, 30, 40}, {10, 21, 30, 37}, {100, 201, 300, 400}, {});
  BOOST_TEST(c.elements == 4);
  BOOST_TEST(c.mismatches == 2);
  BOOST_TEST(c.off_by_one == 1);
  BOOST_TEST(c.max_difference == 3);
  BOOST_TEST(c.worst.size() == 2u);
  BOOST_TEST(c.worst[0].index == 3);  // the larger difference first
  BOOST_TEST(c.worst[1].index == 1);
  BOOST_TEST(c.worst[1].accumulator == 201);
  BOOST_TEST(std::isnan(c.worst[1].real));
  test::expect_error(
      [] {
        compare_quantized({1, 2}, {1}, {1, 2}, {});
      },
      "compare_quantized: the candidate has 1 values, the expected output 2");
}

BOOST_AUTO_TEST_CASE(quantized_apply_checks_the_inputs_by_the_table) {
  // 1-d ConvInteger / QLinearConv by hand from ONNX's definition: x = [3, 5, 9] (uint8, zero
  // point 1), w = [[2, 4]] (int8, zero point 1): acc = (3−1)(2−1) + (5−1)(4−1) = 14,
  // (5−1)(1) + (9−1)(3) = 28; + B = 1: 15, 29; × 0.5·1/1 = 7.5, 14.5 → half to even 8, 14.
  const ConvSpec spec = ConvSpec::convolution(1, 1, {3}, {2});
  const QuantizedOp& integer = *find_quantized_op("ConvInteger");
  const QuantizedOp& qlinear = *find_quantized_op("onnx_qlinear_conv");
  QuantizedData d{spec, 1, {3, 5, 9}, {2, 4}, "uint8", "int8", {}};
  d.inputs["x_zero_point"] = {{1}, "uint8"};
  d.inputs["w_zero_point"] = {{1}, "int8"};
  const QuantizedOutput acc = quantized_apply(integer, d);
  BOOST_TEST(acc.type == "int32");
  BOOST_TEST(acc.values == (std::vector<std::int64_t>{14, 28}), boost::test_tools::per_element());
  BOOST_TEST(acc.real.empty());
  test::expect_error([&] { quantized_apply(qlinear, d); }, "QLinearConv: x_scale is required");
  d.inputs["x_scale"] = {{0.5}, "float32"};
  d.inputs["w_scale"] = {{1}, "float32"};
  d.inputs["y_scale"] = {{1}, "float32"};
  d.inputs["y_zero_point"] = {{0}, "uint8"};
  d.inputs["B"] = {{1}, "int32"};
  test::expect_error([&] { quantized_apply(integer, d); },
                     "ConvInteger has no input B (it is QLinearConv's)");
  const QuantizedOutput y = quantized_apply(qlinear, d);
  BOOST_TEST(y.type == "uint8");
  BOOST_TEST(y.values == (std::vector<std::int64_t>{8, 14}), boost::test_tools::per_element());
  BOOST_TEST(y.accumulators == (std::vector<std::int64_t>{15, 29}),
             boost::test_tools::per_element());
  BOOST_TEST(y.real == (std::vector<double>{7.5, 14.5}), boost::test_tools::per_element());
  // The rules, each named with the values.
  QuantizedData bad = d;
  bad.inputs["x_zero_point"] = {{1}, "int8"};
  test::expect_error(
      [&] { quantized_apply(qlinear, bad); },
      "QLinearConv: x_zero_point must have the dtype of its tensor (uint8), got int8");
  bad = d;
  bad.inputs["x_zero_point"] = {{256}, "uint8"};
  test::expect_error([&] { quantized_apply(qlinear, bad); },
                     "x_zero_point must hold integers of uint8 ([0, 255]), got 256");
  bad = d;
  bad.inputs["y_scale"] = {{1}, "float64"};
  test::expect_error([&] { quantized_apply(qlinear, bad); },
                     "y_scale must have dtype float32 (ONNX's tensor(float)), got float64");
  bad = d;
  bad.inputs["w_zero_point"] = {{1, 1}, "int8"};
  test::expect_error(
      [&] { quantized_apply(qlinear, bad); },
      "w_zero_point must have 1 value (per tensor) or 1 (per output channel), got 2");
  bad = d;
  bad.x_type = "int16";
  test::expect_error([&] { quantized_apply(qlinear, bad); },
                     "x must have dtype int8 or uint8 (ONNX's T1/T2/T3), got int16");
}

// An int8 kernel's layouts (NWC data and output, WIO weights) through the call: the same integers
// as in ONNX's NCW/OIW, transposed — the reference loop's output, written out by index here.
BOOST_AUTO_TEST_CASE(layouts_are_the_call_s) {
  const QuantizedOp& integer = *find_quantized_op("ConvInteger");
  // x (N=1, C=2, W=3) in NCW: channel 0 = 1 2 3, channel 1 = 4 5 6; w (M=2, C=2, k=2) in OIW.
  const Ints x_ncw{1, 2, 3, 4, 5, 6}, w_oiw{1, 0, 0, 1, 2, 1, 1, 2};
  const LayerCall call = layer_op("onnx_conv")
                             .resolve({1, 3, 2}, {2, 2, 2},
                                      {{"data_format", KeywordValue(std::string("NWC"))},
                                       {"weight_format", KeywordValue(std::string("WIO"))}});
  BOOST_TEST(call.has_layouts());
  Ints x_nwc(6), w_wio(8);
  for (Index c = 0; c < 2; ++c)
    for (Index i = 0; i < 3; ++i)
      x_nwc[static_cast<std::size_t>(i * 2 + c)] = x_ncw[static_cast<std::size_t>(c * 3 + i)];
  for (Index m = 0; m < 2; ++m)
    for (Index c = 0; c < 2; ++c)
      for (Index t = 0; t < 2; ++t)
        w_wio[static_cast<std::size_t>((t * 2 + c) * 2 + m)] =
            w_oiw[static_cast<std::size_t>((m * 2 + c) * 2 + t)];
  QuantizedData d{call.spec, 1, x_nwc, w_wio, "int8", "int8", {}};
  const QuantizedOutput y = quantized_apply(integer, d, call);
  // NCW output: m=0: x0[i] + x1[i+1] = 1+5, 2+6; m=1: 2x0[i] + x0[i+1] + x1[i] + 2x1[i+1]
  // = 2+2+4+10, 4+3+5+12. In NWC: (i, m).
  const Ints ncw = reference_accumulators(call.spec, 1, x_ncw, 0, w_oiw, {0}, {});
  BOOST_TEST(ncw == (Ints{6, 8, 18, 24}), boost::test_tools::per_element());
  BOOST_TEST(y.values == (Ints{6, 18, 8, 24}), boost::test_tools::per_element());
  BOOST_TEST(y.accumulators == y.values, boost::test_tools::per_element());
  // The comparison's indices are the caller's: element (i=1, m=0) is flat 2 in NWC.
  Ints candidate = y.values;
  candidate[2] += 1;
  const QuantizedComparison c = compare_quantized(y.values, candidate, y.accumulators, y.real, 5);
  BOOST_TEST(c.mismatches == 1);
  BOOST_TEST(c.worst.at(0).index == 2);
}

// QLinearConv through a call: values, accumulators and the real values before rounding all in
// the call's output layout (NWC here); with ONNX's own layouts the call changes nothing.
BOOST_AUTO_TEST_CASE(qlinear_outputs_follow_the_call_s_layout) {
  const QuantizedOp& qlinear = *find_quantized_op("QLinearConv");
  const Ints x_ncw{1, 2, 3, 4, 5, 6}, w_oiw{1, 0, 0, 1, 2, 1, 1, 2};
  const auto call_of = [](const std::string& data, const std::string& weight) {
    return layer_op("onnx_conv").resolve(data == "NWC" ? Dims{1, 3, 2} : Dims{1, 2, 3},
                                         Dims{2, 2, 2},  // (O, I, k) and (k, I, O) alike
                                         {{"data_format", KeywordValue(data)},
                                          {"weight_format", KeywordValue(weight)}});
  };
  const LayerCall ncw = call_of("NCW", "OIW"), nwc = call_of("NWC", "WIO");
  BOOST_TEST(!ncw.has_layouts());
  QuantizedData d{ncw.spec, 1, x_ncw, w_oiw, "int8", "int8", {}};
  d.inputs["x_scale"] = {{0.5}, "float32"};
  d.inputs["x_zero_point"] = {{0}, "int8"};
  d.inputs["w_scale"] = {{0.5, 0.25}, "float32"};
  d.inputs["w_zero_point"] = {{0, 0}, "int8"};
  d.inputs["y_scale"] = {{1}, "float32"};
  d.inputs["y_zero_point"] = {{0}, "int8"};
  d.inputs["B"] = {{1, -2}, "int32"};
  const QuantizedOutput plain = quantized_apply(qlinear, d);
  const QuantizedOutput same = quantized_apply(qlinear, d, ncw);
  BOOST_TEST(same.values == plain.values, boost::test_tools::per_element());
  BOOST_TEST(same.accumulators == plain.accumulators, boost::test_tools::per_element());
  BOOST_TEST(same.real == plain.real, boost::test_tools::per_element());
  // NCW accumulators (layouts_are_the_call_s's + B): 7 9 | 16 22; multipliers 1/4, 1/8.
  BOOST_TEST(plain.accumulators == (Ints{7, 9, 16, 22}), boost::test_tools::per_element());
  BOOST_TEST(plain.real == (std::vector<double>{1.75, 2.25, 2, 2.75}),
             boost::test_tools::per_element());
  BOOST_TEST(plain.values == (Ints{2, 2, 2, 3}), boost::test_tools::per_element());
  QuantizedData given = d;
  given.x = {1, 4, 2, 5, 3, 6};        // NWC
  given.w = {1, 2, 0, 1, 0, 1, 1, 2};  // WIO: (t, c, m)
  const QuantizedOutput y = quantized_apply(qlinear, given, nwc);
  BOOST_TEST(y.accumulators == (Ints{7, 16, 9, 22}), boost::test_tools::per_element());
  BOOST_TEST(y.real == (std::vector<double>{1.75, 2, 2.25, 2.75}),
             boost::test_tools::per_element());
  BOOST_TEST(y.values == (Ints{2, 2, 2, 3}), boost::test_tools::per_element());
}

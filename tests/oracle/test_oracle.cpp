// The oracle: W·x + b and its tolerance terms against the direct loops; check's verdicts and
// blame against an independent enumeration of the taps; diagnose against candidates made with
// each catalogue mistake by the loops on a modified layer.
#define BOOST_TEST_MODULE oracle
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_ops.hpp"
#include "convmat/core/loops.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "test_util.hpp"

using namespace convmat;
namespace tt = boost::test_tools;
using convmat::test::integer_tensor;
using convmat::test::random_spec;
using convmat::test::uniform;

namespace {

using Values = std::vector<double>;

Values loops(const ConvSpec& spec, const Values& x, Index batch, const Values& w, const Values& b) {
  Values y(static_cast<std::size_t>(batch * spec.output_numel()));
  direct_forward(spec, x.data(), batch, w.data(), b.empty() ? nullptr : b.data(), y.data());
  return y;
}

Values absolute(Values v) {
  for (double& x : v) x = std::fabs(x);
  return v;
}

LayerData random_layer(const ConvSpec& spec, Index batch, bool bias) {
  return LayerData(spec, batch, integer_tensor<double>(batch * spec.input_numel()),
                   integer_tensor<double>(spec.weight_numel()),
                   bias ? integer_tensor<double>(spec.out_channels()) : Values{});
}

Tolerance exact_arithmetic() {
  Tolerance t;
  t.arithmetic = t.storage = Precision::float64;
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oracle)

BOOST_AUTO_TEST_CASE(value_magnitude_and_terms_equal_the_loops) {
  // Integer data: every sum is exact, so ==.
  for (int trial = 0; trial < 600; ++trial) {
    const ConvSpec spec = random_spec();
    const LayerData layer = random_layer(spec, 2, trial % 2 == 0);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const OracleOutput y = oracle_forward(layer);
      Dims shape{2};
      for (Index d : spec.output_shape()) shape.push_back(d);
      BOOST_TEST(y.shape == shape, tt::per_element());
      BOOST_TEST(y.value == loops(spec, layer.input, 2, layer.weight, layer.bias),
                 tt::per_element());
      BOOST_TEST(y.magnitude == loops(spec, absolute(layer.input), 2, absolute(layer.weight),
                                      absolute(layer.bias)),
                 tt::per_element());
      // n_i: the loops on all-ones data count the products summed into each element.
      const Values count = loops(spec, Values(static_cast<std::size_t>(spec.input_numel()), 1.0), 1,
                                 Values(static_cast<std::size_t>(spec.weight_numel()), 1.0), {});
      std::vector<Index> expected(count.size());
      std::transform(count.begin(), count.end(), expected.begin(),
                     [](double v) { return static_cast<Index>(v); });
      BOOST_TEST(y.terms == expected, tt::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(tolerance_formula) {
  Tolerance t;  // float32 arithmetic and storage
  const double eps = std::ldexp(1.0, -23);
  BOOST_TEST(t.rtol_for(9) == 10 * eps + eps);
  BOOST_TEST(t.atol_for(9) == 10 * std::ldexp(1.0, -126));
  BOOST_TEST(t.bound(9, 4.0) == t.atol_for(9) + t.rtol_for(9) * 4.0);
  t.arithmetic = Precision::float32;
  t.storage = Precision::float16;  // fp16 output, fp32 accumulation
  BOOST_TEST(t.rtol_for(9) == 10 * eps + std::ldexp(1.0, -10));
  BOOST_TEST(t.atol_for(0) == std::ldexp(1.0, -14));
  t.rtol = 1e-3;
  t.atol = 1e-6;
  BOOST_TEST(t.bound(1000, 2.0) == 1e-6 + 2e-3);
  BOOST_TEST(machine_epsilon(Precision::bfloat16) == std::ldexp(1.0, -7));
  BOOST_TEST(machine_epsilon(Precision::tfloat32) == std::ldexp(1.0, -10));
  BOOST_TEST(machine_epsilon(Precision::float64) == std::ldexp(1.0, -52));
  BOOST_CHECK(precision_from_string("bf16") == Precision::bfloat16);
  BOOST_CHECK_THROW(precision_from_string("float8"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(precision_names_and_aliases_are_one_table) {
  // Every name and alias of the table answers to its precision, and the refusal lists them all.
  int answered = 0;
  for (const PrecisionName& p : precision_names()) {
    BOOST_CHECK(precision_from_string(p.name) == p.precision);
    BOOST_TEST(to_string(p.precision) == std::string(p.name));
    for (std::string_view alias : p.aliases) {
      BOOST_CHECK(precision_from_string(alias) == p.precision);
      ++answered;
    }
  }
  BOOST_TEST(answered == 11);
  BOOST_TEST(precision_names_text() ==
             "float16 (or half, fp16, f16), bfloat16 (or bf16), tfloat32 (or tf32), float32 (or "
             "float, fp32, f32), float64 (or double, fp64, f64)");
  test::expect_error([] { precision_from_string("BF16"); },
                     "precision must be one of float16 (or half, fp16, f16), bfloat16 (or bf16), "
                     "tfloat32 (or tf32), float32 (or float, fp32, f32), float64 (or double, "
                     "fp64, f64), got 'BF16'");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check)

BOOST_AUTO_TEST_CASE(a_float32_implementation_passes_and_float64_tolerance_rejects_it) {
  // A candidate computed in float32 (by the loops, a different summation order from W) with
  // real-valued data must pass the float32 tolerance; held to float64's it must fail somewhere,
  // so the tolerance is not vacuous.
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int rejected_at_float64 = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const ConvSpec spec = random_spec(9);
    const Index batch = 2;
    std::vector<float> xf(static_cast<std::size_t>(batch * spec.input_numel())),
        wf(static_cast<std::size_t>(spec.weight_numel())),
        bf(static_cast<std::size_t>(spec.out_channels()));
    for (auto* v : {&xf, &wf, &bf}) {
      for (float& f : *v) f = static_cast<float>(u(g));
    }
    std::vector<float> yf(static_cast<std::size_t>(batch * spec.output_numel()));
    direct_forward(spec, xf.data(), batch, wf.data(), bf.data(), yf.data());
    const LayerData layer(spec, batch, Values(xf.begin(), xf.end()), Values(wf.begin(), wf.end()),
                          Values(bf.begin(), bf.end()));
    const Values candidate(yf.begin(), yf.end());
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const CheckReport r = check_output(layer, candidate.data(), layer.output_shape());
      BOOST_TEST(r.passed);
      BOOST_TEST(r.bad == 0);
      BOOST_TEST(r.max_error_ratio <= 1.0);
      CheckOptions strict;
      strict.tolerance = exact_arithmetic();
      rejected_at_float64 +=
          check_output(layer, candidate.data(), layer.output_shape(), strict).bad > 0;
    }
  }
  BOOST_TEST(rejected_at_float64 > 100);
}

BOOST_AUTO_TEST_CASE(the_arithmetic_term_covers_a_long_sequential_float32_sum) {
  // Positive data makes the partial sums grow, so sequential float32 summation errs by about
  // n/4·u·s: far above the output rounding ε_out·s alone, within (n + 1)·ε·s.
  const ConvSpec spec = ConvSpec::convolution(512, 2, {12}, {9});  // n = 4608 terms
  std::mt19937_64 g(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> xf(static_cast<std::size_t>(spec.input_numel())),
      wf(static_cast<std::size_t>(spec.weight_numel()));
  for (float& f : xf) f = u(g);
  for (float& f : wf) f = u(g);
  std::vector<float> yf(static_cast<std::size_t>(spec.output_numel()));
  direct_forward(spec, xf.data(), 1, wf.data(), static_cast<const float*>(nullptr), yf.data());
  const LayerData layer(spec, 1, Values(xf.begin(), xf.end()), Values(wf.begin(), wf.end()));
  const Values candidate(yf.begin(), yf.end());
  const CheckReport r = check_output(layer, candidate.data(), layer.output_shape());
  BOOST_TEST(r.passed);
  BOOST_TEST(r.min_terms == 4608);
  CheckOptions storage_only;
  storage_only.tolerance.arithmetic = Precision::float64;  // keeps only ε_out of float32
  BOOST_TEST(check_output(layer, candidate.data(), layer.output_shape(), storage_only).bad > 0);
}

// The taps feeding output element (n, c, o…) by the definitions, for zero padding:
// convolution  x[n, ci, o·s − p0 + k·d] · w[c, ci − g·C_in/G, k]  for ci in c's group;
// transposed   x[n, ci, i] · w[ci, c − g·C_out/G, k]  with i·s + k·d − p0 = o.
std::set<std::pair<Dims, Dims>> taps_by_definition(const ConvSpec& s, const Dims& out_index) {
  std::set<std::pair<Dims, Dims>> taps;
  const int rank = s.rank();
  const Index n = out_index[0], c = out_index[1];
  const Index g_in = s.in_channels() / s.groups(), g_out = s.out_channels() / s.groups();
  const Index group = c / g_out;
  const Dims& ks = s.kernel_size();
  for (Index t = 0; t < s.kernel_numel(); ++t) {
    Dims k(static_cast<std::size_t>(rank));
    Index rest = t;
    for (int a = rank - 1; a >= 0; --a) {
      k[static_cast<std::size_t>(a)] = rest % ks[static_cast<std::size_t>(a)];
      rest /= ks[static_cast<std::size_t>(a)];
    }
    Dims pos(static_cast<std::size_t>(rank));
    bool inside = true;
    for (int a = 0; a < rank; ++a) {
      const auto u = static_cast<std::size_t>(a);
      const Index o = out_index[u + 2];
      if (!s.is_transposed()) {
        pos[u] = o * s.stride()[u] - s.pad_begin()[u] + k[u] * s.dilation()[u];
        inside = inside && pos[u] >= 0 && pos[u] < s.input_size()[u];
      } else {
        const Index num = o + s.pad_begin()[u] - k[u] * s.dilation()[u];
        inside = inside && num >= 0 && num % s.stride()[u] == 0 &&
                 num / s.stride()[u] < s.input_size()[u];
        pos[u] = num / s.stride()[u];
      }
    }
    if (!inside) continue;
    for (Index j = 0; j < g_in; ++j) {
      const Index ci = group * g_in + j;
      Dims in{n, ci};
      in.insert(in.end(), pos.begin(), pos.end());
      Dims w = s.is_transposed() ? Dims{ci, c - group * g_out} : Dims{c, j};
      w.insert(w.end(), k.begin(), k.end());
      taps.insert({in, w});
    }
  }
  return taps;
}

BOOST_AUTO_TEST_CASE(one_wrong_element_is_blamed_with_its_taps) {
  int tried = 0;
  for (int trial = 0; tried < 300; ++trial) {
    const ConvSpec spec = random_spec();
    if (spec.padding_mode() != PaddingMode::zeros) continue;
    ++tried;
    const LayerData layer = random_layer(spec, 2, true);
    Values candidate = loops(spec, layer.input, 2, layer.weight, layer.bias);
    const Index wrong = uniform(0, static_cast<Index>(candidate.size()) - 1);
    candidate[static_cast<std::size_t>(wrong)] += 1.0;
    CheckOptions options;
    options.max_terms = 1 << 20;
    BOOST_TEST_CONTEXT(spec.to_string() << " element " << wrong) {
      const CheckReport r = check_output(layer, candidate.data(), layer.output_shape(), options);
      BOOST_TEST(!r.passed);
      BOOST_TEST(r.bad == 1);
      BOOST_TEST(r.max_abs_error == 1.0);
      BOOST_REQUIRE(r.worst.size() == 1u);
      const Blame& b = r.worst[0];
      Dims expected_index(layer.output_shape().size());
      Index rest = wrong;
      for (std::size_t a = expected_index.size(); a-- > 0;) {
        expected_index[a] = rest % layer.output_shape()[a];
        rest /= layer.output_shape()[a];
      }
      BOOST_TEST(b.index == expected_index, tt::per_element());
      BOOST_TEST(b.candidate == b.oracle + 1.0);
      BOOST_TEST(b.error == 1.0);
      BOOST_TEST(b.has_bias);
      BOOST_TEST(b.bias == layer.bias[static_cast<std::size_t>(expected_index[1])]);
      // The terms are the taps of the definition, and they sum (with the bias) to the oracle.
      std::set<std::pair<Dims, Dims>> listed;
      double sum = b.bias;
      for (const BlameTerm& t : b.terms) {
        listed.insert({t.input_index, t.weight_index});
        sum += t.input * t.weight;
      }
      BOOST_TEST(b.terms.size() == static_cast<std::size_t>(b.term_count));
      BOOST_TEST((listed == taps_by_definition(spec, b.index)));
      BOOST_TEST(sum == b.oracle);
      for (std::size_t t = 1; t < b.terms.size(); ++t) {
        BOOST_TEST(std::fabs(b.terms[t - 1].input * b.terms[t - 1].weight) >=
                   std::fabs(b.terms[t].input * b.terms[t].weight));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(blame_lists_the_worst_first_and_caps_the_terms) {
  const ConvSpec spec = ConvSpec::convolution(3, 2, {6, 6}, {3, 3});
  const LayerData layer = random_layer(spec, 1, false);
  Values candidate = loops(spec, layer.input, 1, layer.weight, layer.bias);
  candidate[5] += 1;
  candidate[17] -= 4;
  candidate[30] += 2;
  CheckOptions options;
  options.max_blamed = 2;
  options.max_terms = 4;
  const CheckReport r = check_output(layer, candidate.data(), layer.output_shape(), options);
  BOOST_TEST(r.bad == 3);
  BOOST_REQUIRE(r.worst.size() == 2u);
  BOOST_TEST(r.worst[0].error == 4.0);
  BOOST_TEST(r.worst[1].error == 2.0);
  BOOST_TEST(r.worst[0].term_count == 27);
  BOOST_TEST(r.worst[0].terms.size() == 4u);
}

BOOST_AUTO_TEST_CASE(tolerances_and_blame_counts_that_would_hide_errors_are_refused) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {4}, {2});
  const LayerData layer = random_layer(spec, 1, false);
  const Values candidate = loops(spec, layer.input, 1, layer.weight, layer.bias);
  const auto with = [&](auto change) {
    CheckOptions o;
    change(o);
    return
        [&layer, &candidate, o] { check_output(layer, candidate.data(), layer.output_shape(), o); };
  };
  const auto refused = [](auto call, const std::string& message) {
    BOOST_CHECK_EXCEPTION(call(), std::invalid_argument,
                          [&](const std::invalid_argument& e) { return e.what() == message; });
  };
  refused(with([](CheckOptions& o) { o.tolerance.atol = -1.0; }),
          "atol must be a finite number >= 0, got -1");
  refused(with([](CheckOptions& o) { o.tolerance.atol = -1e-20; }),
          "atol must be a finite number >= 0, got -9.9999999999999995e-21");
  refused(with([](CheckOptions& o) { o.tolerance.rtol = std::nan(""); }),
          "rtol must be a finite number >= 0, got nan");
  refused(with([](CheckOptions& o) { o.tolerance.atol = HUGE_VAL; }),
          "atol must be a finite number >= 0, got inf");
  refused(with([](CheckOptions& o) { o.max_blamed = -1; }),
          "max_blamed (the number of elements blamed) must be >= 0, got -1");
  BOOST_CHECK_THROW(diagnose(layer, candidate.data(), layer.output_shape(),
                             [] {
                               CheckOptions o;
                               o.max_terms = -2;
                               return o;
                             }()),
                    std::invalid_argument);
  CheckOptions zero;  // zero tolerances and no blame are legitimate
  zero.tolerance.atol = 0.0;
  zero.tolerance.rtol = 0.0;
  zero.max_blamed = 0;
  BOOST_TEST(check_output(layer, candidate.data(), layer.output_shape(), zero).passed);
}

BOOST_AUTO_TEST_CASE(non_finite_values_and_shapes) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {4, 4}, {2, 2});
  const LayerData layer = random_layer(spec, 1, false);
  Values candidate = loops(spec, layer.input, 1, layer.weight, layer.bias);
  candidate[2] = std::nan("");
  candidate[3] = INFINITY;
  const CheckReport r = check_output(layer, candidate.data(), layer.output_shape());
  BOOST_TEST(r.bad == 2);
  BOOST_TEST(r.nonfinite == 2);
  BOOST_TEST(std::isinf(r.worst[0].error));
  // An unbatched (C, H, W) candidate compares with a (1, C, H, W) output; another shape fails.
  candidate = loops(spec, layer.input, 1, layer.weight, layer.bias);
  BOOST_TEST(check_output(layer, candidate.data(), {1, 3, 3}).passed);
  const CheckReport wrong = check_output(layer, candidate.data(), {1, 1, 9});
  BOOST_TEST(!wrong.passed);
  BOOST_TEST(!wrong.shape_matches);
  BOOST_TEST(wrong.expected_shape == (Dims{1, 1, 3, 3}), tt::per_element());
  BOOST_CHECK_THROW(LayerData(spec, 1, Values(15), Values(4)), std::invalid_argument);
  BOOST_CHECK_THROW(LayerData(spec, 1, Values(16), Values(4), Values(2)), std::invalid_argument);
}

// IEEE special values (check.hpp): the values below are IEEE arithmetic done by hand and match
// PyTorch 2's F.conv1d on the same data.
namespace {

LayerData conv1d_layer(Values x, Values w, Index padding) {
  const auto n = static_cast<Index>(x.size()), k = static_cast<Index>(w.size());
  return LayerData(ConvSpec::convolution(1, 1, {n}, {k}, {1}, {padding}), 1, std::move(x),
                   std::move(w));
}

Tolerance precision(Precision p) {
  Tolerance t;
  t.arithmetic = t.storage = p;
  return t;
}

CheckReport check_with(const LayerData& layer, const Values& candidate, const Tolerance& t) {
  CheckOptions o;
  o.tolerance = t;
  return check_output(layer, candidate.data(), layer.output_shape(), o);
}

bool same_values(const Values& a, const Values& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!((std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i])) return false;
  }
  return true;
}

const double inf = std::numeric_limits<double>::infinity();
const double nan = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// conv_transpose1d x = [1, 2, 3], w = [inf, 1, 1], stride 2, padding 1 (XLA: lhs_dilation 2,
// padding (1, 1)). The scatter y[2i + t − 1] += x[i]·w[t] gives [1, inf, 2, inf, 3]; the gather
// of the definition reads, for output o and tap t, the dilated and padded input at o + 1 − t,
// which is an inserted zero (odd) for the inf tap at o = 0, 2, 4: NaN there, IEEE.
BOOST_AUTO_TEST_CASE(a_non_finite_weight_meeting_a_transposed_layer_s_gaps_gives_nan) {
  const LayerData layer(ConvSpec::transposed(1, 1, {3}, {3}, {2}, {1}), 1, {1, 2, 3}, {inf, 1, 1});
  const OracleOutput y = oracle_forward(layer);
  BOOST_TEST(same_values(y.value, {nan, inf, nan, inf, nan}));
  BOOST_TEST(same_values(y.without_padded_taps, {1, inf, 2, inf, 3}));
  const CheckReport gather =
      check_with(layer, {nan, inf, nan, inf, nan}, precision(Precision::float64));
  BOOST_TEST(gather.passed);
  BOOST_TEST(gather.padded_nonfinite == 3);
  const CheckReport scatter = check_with(layer, {1, inf, 2, inf, 3}, precision(Precision::float64));
  BOOST_TEST(scatter.passed);
  BOOST_TEST(scatter.padding_skipped == 3);
  BOOST_TEST(!check_with(layer, {1, inf, 2, inf, 4}, precision(Precision::float64)).passed);
  BOOST_TEST(!check_with(layer, {1, nan, 2, inf, 3}, precision(Precision::float64)).passed);
}

BOOST_AUTO_TEST_CASE(a_non_finite_weight_meeting_zero_padding_gives_nan) {
  // conv1d x = [1, 2, 3], w = [inf, 1, 1], padding 1: y[0] = inf·0 + 1·1 + 1·2 = NaN.
  const LayerData layer = conv1d_layer({1, 2, 3}, {inf, 1, 1}, 1);
  const OracleOutput y = oracle_forward(layer);
  BOOST_TEST(same_values(y.value, {nan, inf, inf}));
  BOOST_TEST(same_values(y.without_padded_taps, {3, inf, inf}));
  const CheckReport ieee = check_with(layer, {nan, inf, inf}, precision(Precision::float32));
  BOOST_TEST(ieee.passed);
  BOOST_TEST(ieee.padded_nonfinite == 1);
  BOOST_TEST(ieee.padding_skipped == 0);
  // An implementation that skips the padded taps: accepted, and counted.
  const CheckReport skipped = check_with(layer, {3, inf, inf}, precision(Precision::float32));
  BOOST_TEST(skipped.passed);
  BOOST_TEST(skipped.padding_skipped == 1);
  // Neither: a wrong sum there, or an infinity, fails.
  const CheckReport wrong = check_with(layer, {4, inf, inf}, precision(Precision::float32));
  BOOST_TEST(!wrong.passed);
  BOOST_TEST(wrong.bad == 1);
  BOOST_TEST(!check_with(layer, {inf, inf, inf}, precision(Precision::float32)).passed);
  // A NaN weight does the same; with finite weights nothing is padded-NaN.
  BOOST_TEST(std::isnan(oracle_forward(conv1d_layer({1, 2, 3}, {1, 1, nan}, 1)).value[2]));
  const OracleOutput finite = oracle_forward(conv1d_layer({1, 2, 3}, {1, 1, 1}, 1));
  BOOST_TEST(finite.without_padded_taps.empty());
  // Without padding the weight's infinity only meets the input: no NaN.
  BOOST_TEST(same_values(oracle_forward(conv1d_layer({1, 2, 3}, {inf, 1, 1}, 0)).value, {inf}));
}

BOOST_AUTO_TEST_CASE(nan_and_infinite_inputs_propagate_as_in_ieee_arithmetic) {
  // w = [1, 2, 1]: without padding y = [inf + 2 − inf, 1 − 2inf + 2] = [NaN, −inf]; with
  // padding 1: [0 + 2inf + 1, NaN, −inf, −inf + 4 + 0] = [inf, NaN, −inf, −inf].
  BOOST_TEST(same_values(oracle_forward(conv1d_layer({inf, 1, -inf, 2}, {1, 2, 1}, 0)).value,
                         {nan, -inf}));
  const LayerData padded = conv1d_layer({inf, 1, -inf, 2}, {1, 2, 1}, 1);
  BOOST_TEST(same_values(oracle_forward(padded).value, {inf, nan, -inf, -inf}));
  BOOST_TEST(check_with(padded, {inf, nan, -inf, -inf}, precision(Precision::float32)).passed);
  const CheckReport sign =
      check_with(padded, {-inf, nan, -inf, -inf}, precision(Precision::float32));
  BOOST_TEST(!sign.passed);
  BOOST_TEST(sign.nonfinite == 1);
  // A NaN input: every element that reads it is NaN, and a finite candidate there fails.
  const LayerData with_nan = conv1d_layer({1, nan, 3, 4}, {1, 1}, 0);
  BOOST_TEST(same_values(oracle_forward(with_nan).value, {nan, nan, 7}));
  BOOST_TEST(check_with(with_nan, {nan, nan, 7}, precision(Precision::float32)).passed);
  BOOST_TEST(check_with(with_nan, {1, nan, 7}, precision(Precision::float32)).nonfinite == 1);
  // 0·inf in the data itself (not padding) is NaN too: W stores the zero weight.
  BOOST_TEST(same_values(oracle_forward(conv1d_layer({inf, 1}, {0, 1}, 0)).value, {nan}));
}

BOOST_AUTO_TEST_CASE(signed_zeros_compare_equal) {
  // A sum's sign of zero is not defined by the layer (PyTorch starts its sums at +0 and gives
  // +0 for x = [−0], w = [1]); the oracle computes +0 and accepts either sign.
  const LayerData layer = conv1d_layer({-0.0}, {1}, 0);
  const OracleOutput y = oracle_forward(layer);
  BOOST_TEST(y.value[0] == 0.0);
  BOOST_TEST(!std::signbit(y.value[0]));
  BOOST_TEST(check_with(layer, {-0.0}, precision(Precision::float64)).passed);
  BOOST_TEST(check_with(layer, {0.0}, precision(Precision::float64)).passed);
}

BOOST_AUTO_TEST_CASE(overflow_in_the_candidates_precision_is_accepted_and_reported) {
  BOOST_TEST(overflow_threshold(Precision::float32) == std::ldexp(2.0 - std::ldexp(1.0, -24), 127));
  BOOST_TEST(overflow_threshold(Precision::float16) == 65520.0);  // 65504 + 32/2
  BOOST_TEST(std::isinf(overflow_threshold(Precision::float64)));
  // float32: 3e38 + 3e38 = 6e38 rounds to inf (PyTorch and convmat.conv1d give inf).
  const LayerData big = conv1d_layer({3e38, 3e38}, {1, 1}, 0);
  const CheckReport r = check_with(big, {inf}, precision(Precision::float32));
  BOOST_TEST(r.passed);
  BOOST_TEST(r.overflow == 1);
  BOOST_TEST(r.bad == 0);
  BOOST_TEST(!check_with(big, {-inf}, precision(Precision::float32)).passed);  // the wrong sign
  BOOST_TEST(!check_with(big, {nan}, precision(Precision::float32)).passed);
  // In float64 6e38 is finite: inf is wrong.
  const CheckReport wide = check_with(big, {inf}, precision(Precision::float64));
  BOOST_TEST(!wide.passed);
  BOOST_TEST(wide.nonfinite == 1);
  // 1e38 + 1e38 = 2e38 is a float32 number: inf is wrong.
  BOOST_TEST(
      !check_with(conv1d_layer({1e38, 1e38}, {1, 1}, 0), {inf}, precision(Precision::float32))
           .passed);
  // float16 output: 40000 + 40000 overflows 65504.
  BOOST_TEST(
      check_with(conv1d_layer({40000, 40000}, {1, 1}, 0), {inf}, precision(Precision::float16))
          .passed);
  // A float32 accumulator whose partial sums may overflow: 3e38 + 3e38 − 3e38 is 3e38 summed
  // from the right, inf from the left (PyTorch gives inf). Only the positive terms can overflow,
  // so −inf and NaN (inf − inf) are wrong.
  const LayerData partial = conv1d_layer({3e38, 3e38, -3e38}, {1, 1, 1}, 0);
  for (double v : {3e38, inf}) {
    const CheckReport p = check_with(partial, {v}, precision(Precision::float32));
    BOOST_TEST_CONTEXT("candidate " << v) {
      BOOST_TEST(p.passed);
      BOOST_TEST(p.overflow == (std::isfinite(v) ? 0 : 1));
    }
  }
  BOOST_TEST(!check_with(partial, {-inf}, precision(Precision::float32)).passed);
  BOOST_TEST(!check_with(partial, {nan}, precision(Precision::float32)).passed);
  // Both signs may overflow: 3e38 + 3e38 − 3e38 − 3e38 is 0, ±inf or NaN by the order.
  const LayerData both = conv1d_layer({3e38, 3e38, -3e38, -3e38}, {1, 1, 1, 1}, 0);
  for (double v : {0.0, inf, -inf, nan}) {
    BOOST_TEST_CONTEXT("candidate " << v) {
      BOOST_TEST(check_with(both, {v}, precision(Precision::float32)).passed);
    }
  }
  // Stored in float32 but summed in float64: no partial sum overflows, and 3e38 is finite.
  Tolerance mixed;
  mixed.arithmetic = Precision::float64;
  mixed.storage = Precision::float32;
  BOOST_TEST(!check_with(partial, {inf}, mixed).passed);
}

BOOST_AUTO_TEST_CASE(blame_counts) {
  // Counts >= 0, zero included; diagnose blames fewer (its report lists the catalogue too).
  BOOST_CHECK_NO_THROW(require_blame_count("blame", 0));
  test::expect_error([] { require_blame_count("--blame", -1); }, "--blame must be >= 0, got -1");
  const CheckOptions c, d = diagnose_check_options();
  BOOST_TEST(c.max_blamed == 5);
  BOOST_TEST(c.max_terms == 8);
  BOOST_TEST(d.max_blamed == 3);
  BOOST_TEST(d.max_terms == 4);
}

BOOST_AUTO_TEST_CASE(memory_guard_counts_w_and_the_arrays) {
  // W in float64 and, per layer held, x and |x|, three weight-sized and three output-sized arrays;
  // the candidate once; diagnose holds two layers.
  const ConvSpec spec = ConvSpec::convolution(2, 3, {10, 10}, {3, 3});
  const Index batch = 4, candidate = 4 * 3 * 8 * 8;
  for (bool diagnose : {false, true}) {
    const std::uint64_t arrays =
        8 * ((diagnose ? 2 : 1) * (2 * batch * spec.input_numel() +
                                   3 * batch * spec.output_numel() + 3 * spec.weight_numel()) +
             candidate);
    MemoryLimit limit;
    limit.bytes = conv_matrix_bytes(spec, sizeof(double)) + arrays;
    BOOST_CHECK_NO_THROW(require_oracle_memory(limit, spec, batch, candidate, diagnose));
    limit.bytes -= 1;
    BOOST_CHECK_THROW(require_oracle_memory(limit, spec, batch, candidate, diagnose),
                      MemoryLimitExceeded);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// diagnose: each candidate is made by the loops with the mistake written out here, independently
// of the catalogue's own construction.

namespace {

struct Case {
  std::string name;
  ConvParams params;
  Index batch = 2;
  bool bias = true;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  Case conv{"conv2d groups=2 stride=2,1 dilation=1,2 pads 1,0 / 2,1", {}};
  conv.params.in_channels = 4;
  conv.params.out_channels = 6;
  conv.params.groups = 2;
  conv.params.input_size = {9, 8};
  conv.params.kernel_size = {3, 2};
  conv.params.stride = {2, 1};
  conv.params.dilation = {1, 2};
  conv.params.pad_begin = {1, 0};
  conv.params.pad_end = {2, 1};
  out.push_back(conv);
  Case tconv{"conv_transpose2d groups=2 stride=2 output_padding=1 dilation=1,2", {}};
  tconv.params.kind = ConvKind::transposed;
  tconv.params.in_channels = 4;
  tconv.params.out_channels = 6;
  tconv.params.groups = 2;
  tconv.params.input_size = {4, 5};
  tconv.params.kernel_size = {3, 3};
  tconv.params.stride = {2, 2};
  tconv.params.dilation = {1, 2};
  tconv.params.pad_begin = {1, 2};
  tconv.params.pad_end = {1, 2};
  tconv.params.output_padding = {1, 1};
  out.push_back(tconv);
  Case reflect{"conv1d reflect", {}};
  reflect.params.in_channels = 2;
  reflect.params.out_channels = 3;
  reflect.params.input_size = {10};
  reflect.params.kernel_size = {3};
  reflect.params.stride = {1};
  reflect.params.dilation = {2};
  reflect.params.pad_begin = {2};
  reflect.params.pad_end = {1};
  reflect.params.padding_mode = PaddingMode::reflect;
  out.push_back(reflect);
  return out;
}

// The ONNX corners: ConvTranspose SAME_UPPER with no output_shape, n = 5, k = 2, s = 4: output
// n·s = 20 from a full splat of (5 − 1)·4 + 2 = 18, total padding −2 (−1 at each end); and
// output_padding 2 >= stride 1, below dilation 3.
std::vector<Case> onnx_corner_cases() {
  Case same{"onnx ConvTranspose SAME_UPPER, negative padding", {}};
  same.params.kind = ConvKind::transposed;
  same.params.in_channels = 2;
  same.params.out_channels = 2;
  same.params.input_size = {5};
  same.params.kernel_size = {2};
  same.params.stride = {4};
  same.params.pad_begin = {-1};
  same.params.pad_end = {-1};
  Case wide{"conv_transpose1d output_padding 2 >= stride 1, < dilation 3", {}};
  wide.params.kind = ConvKind::transposed;
  wide.params.in_channels = 2;
  wide.params.out_channels = 3;
  wide.params.input_size = {6};
  wide.params.kernel_size = {3};
  wide.params.dilation = {3};
  wide.params.pad_begin = {1};
  wide.params.pad_end = {1};
  wide.params.output_padding = {2};
  return {same, wide};
}

// w[a, b, k…] reversed along the axes in `axes`.
Values flip(const ConvSpec& s, const Values& w, const std::vector<int>& axes) {
  const Dims shape = s.weight_shape();
  Values out(w.size());
  for (Index i = 0; i < static_cast<Index>(w.size()); ++i) {
    Dims idx(shape.size());
    Index rest = i;
    for (std::size_t a = shape.size(); a-- > 0;) {
      idx[a] = rest % shape[a];
      rest /= shape[a];
    }
    for (int a : axes)
      idx[static_cast<std::size_t>(a + 2)] =
          shape[static_cast<std::size_t>(a + 2)] - 1 - idx[static_cast<std::size_t>(a + 2)];
    Index j = 0;
    for (std::size_t a = 0; a < shape.size(); ++a) j = j * shape[a] + idx[a];
    out[static_cast<std::size_t>(i)] = w[static_cast<std::size_t>(j)];
  }
  return out;
}

// Channel axis (g, C/g) read as (C/g, g): result[j·(C/g) + i] = v[i·g + j] for each sample.
Values interleaved(const Values& v, Index channels, Index groups, Index inner,
                   bool inverse = false) {
  Values out(v.size());
  const Index per = channels / groups;
  for (Index s = 0; s < static_cast<Index>(v.size()) / (channels * inner); ++s) {
    for (Index j = 0; j < groups; ++j) {
      for (Index i = 0; i < per; ++i) {
        const Index a = j * per + i, b = i * groups + j;
        for (Index e = 0; e < inner; ++e) {
          const Index to = (s * channels + (inverse ? b : a)) * inner + e;
          const Index from = (s * channels + (inverse ? a : b)) * inner + e;
          out[static_cast<std::size_t>(to)] = v[static_cast<std::size_t>(from)];
        }
      }
    }
  }
  return out;
}

void expect_named(const LayerData& layer, const Values& candidate, const Dims& shape,
                  const std::string& id) {
  CheckOptions options;
  options.tolerance = exact_arithmetic();
  const Diagnosis d = diagnose(layer, candidate.data(), shape, options);
  BOOST_TEST_CONTEXT(layer.spec.to_string() << ", mistake " << id) {
    BOOST_TEST(!d.check.passed);
    const bool named =
        std::find(d.reproducing.begin(), d.reproducing.end(), id) != d.reproducing.end();
    std::string all;
    for (const auto& r : d.reproducing) all += r + "; ";
    BOOST_TEST(named, "reproducing: " << all);
  }
}

Dims output_shape(const ConvSpec& s, Index batch) {
  Dims d{batch};
  const Dims o = s.output_shape();
  d.insert(d.end(), o.begin(), o.end());
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diagnose_catalogue)

BOOST_AUTO_TEST_CASE(every_mistake_is_named) {
  for (const Case& c : cases()) {
    const ConvSpec spec(c.params);
    const LayerData layer = random_layer(spec, c.batch, c.bias);
    const ConvParams& p = c.params;
    const bool t = spec.is_transposed();
    const Index batch = c.batch;
    auto run = [&](const ConvParams& q, const Values& x, const Values& w, const Values& b) {
      const ConvSpec s(q);
      return std::make_pair(loops(s, x, batch, w, b), output_shape(s, batch));
    };
    auto expect = [&](const std::pair<Values, Dims>& y, const std::string& id) {
      expect_named(layer, y.first, y.second, id);
    };
    const Values& x = layer.input;
    const Values& w = layer.weight;
    const Values& b = layer.bias;

    // A correct candidate: check passes and nothing is tried.
    {
      const Values y = loops(spec, x, batch, w, b);
      CheckOptions options;
      options.tolerance = exact_arithmetic();
      const Diagnosis d = diagnose(layer, y.data(), layer.output_shape(), options);
      BOOST_TEST(d.check.passed);
      BOOST_TEST(d.tried.empty());
      // Noise reproduces nothing.
      Values noise = integer_tensor<double>(static_cast<Index>(y.size()), -50, 50);
      const Diagnosis n = diagnose(layer, noise.data(), layer.output_shape(), options);
      BOOST_TEST(n.reproducing.empty());
      BOOST_TEST(!n.tried.empty());
    }

    std::vector<int> all_axes;
    for (int a = 0; a < spec.rank(); ++a) all_axes.push_back(a);
    expect(run(p, x, flip(spec, w, all_axes), b), "kernel_flipped");
    if (spec.rank() == 2) expect(run(p, x, flip(spec, w, {1}), b), "kernel_flipped[w]");

    if (p.pad_begin != p.pad_end) {
      ConvParams q = p;
      std::swap(q.pad_begin, q.pad_end);
      expect(run(q, x, w, b), "pads_swapped");
    }
    {
      ConvParams q = p;
      for (Index& v : q.pad_begin) v += 1;
      // For a transposed layer the output shrinks; the buggy loop with the right output size
      // shifts instead: begin + 1, end − 1.
      expect(run(q, x, w, b), "pad_begin+1");
      for (Index& v : q.pad_end) v -= 1;
      if (t) expect(run(q, x, w, b), "pad_begin+1 (size kept)");
    }
    {
      ConvParams q = p;
      q.pad_end.back() -= 1;
      if (spec.rank() > 1) expect(run(q, x, w, b), "pad_end-1[w]");
      ConvParams r = p;
      for (Index& v : r.pad_end) v += 1;
      expect(run(r, x, w, b), "pad_end+1");
    }
    if (t) {
      // output_padding at the begin: the full scatter (no padding) cropped from p − a instead of p.
      ConvParams full = p;
      full.pad_begin.assign(p.pad_begin.size(), 0);
      full.pad_end.assign(p.pad_end.size(), 0);
      full.output_padding.assign(p.output_padding.size(), 0);
      const ConvSpec fs(full);
      const Values y = loops(fs, x, batch, w, b.empty() ? Values{} : Values(b.size(), 0.0));
      const Dims& fo = fs.output_size();
      const Dims& o = spec.output_size();
      Values cropped(static_cast<std::size_t>(batch * spec.output_numel()), 0.0);
      for (Index n = 0; n < batch * spec.out_channels(); ++n) {
        for (Index i = 0; i < o[0]; ++i) {
          for (Index j = 0; j < o[1]; ++j) {
            const Index si = i + p.pad_begin[0] - p.output_padding[0],
                        sj = j + p.pad_begin[1] - p.output_padding[1];
            double v = 0;
            if (si >= 0 && si < fo[0] && sj >= 0 && sj < fo[1])
              v = y[static_cast<std::size_t>((n * fo[0] + si) * fo[1] + sj)];
            cropped[static_cast<std::size_t>((n * o[0] + i) * o[1] + j)] =
                v + (b.empty() ? 0 : b[static_cast<std::size_t>(n % spec.out_channels())]);
          }
        }
      }
      expect({cropped, layer.output_shape()}, "output_padding_at_begin");
    }
    {
      // Weight channel axes swapped: the buffer read as (g, B, A/g, k…).
      const Dims ws = spec.weight_shape();
      const Index g = spec.groups(), a_per = ws[0] / g, bb = ws[1], taps = spec.kernel_numel();
      Values swapped(w.size());
      for (Index gi = 0; gi < g; ++gi)
        for (Index ai = 0; ai < a_per; ++ai)
          for (Index bi = 0; bi < bb; ++bi)
            for (Index k = 0; k < taps; ++k)
              swapped[static_cast<std::size_t>(((gi * a_per + ai) * bb + bi) * taps + k)] =
                  w[static_cast<std::size_t>(((gi * bb + bi) * a_per + ai) * taps + k)];
      if (a_per > 1 && bb > 1) expect(run(p, x, swapped, b), "weight_channels_swapped");
    }
    if (spec.groups() > 1) {
      const Index in_inner = spec.input_numel() / spec.in_channels();
      const Index out_inner = spec.output_numel() / spec.out_channels();
      const Values xi = interleaved(x, spec.in_channels(), spec.groups(), in_inner);
      expect(run(p, xi, w, b), "groups_wrong_axis_input");
      const Values y = loops(spec, x, batch, w, b);
      expect({interleaved(y, spec.out_channels(), spec.groups(), out_inner, true),
              layer.output_shape()},
             "groups_wrong_axis_output");
      const Values yb = loops(spec, xi, batch, w, b);
      expect({interleaved(yb, spec.out_channels(), spec.groups(), out_inner, true),
              layer.output_shape()},
             "groups_wrong_axis_both");
    }
    {
      ConvParams q = p;
      for (Index& d : q.dilation) d += 1;
      expect(run(q, x, w, b), "dilation+1");
      ConvParams r = p;
      bool any = false;
      for (Index& d : r.dilation) {
        if (d > 1) {
          d -= 1;
          any = true;
        }
      }
      bool valid = true;
      try {
        ConvSpec check(r);
      } catch (const std::invalid_argument&) {
        valid = false;
      }
      if (any && valid) expect(run(r, x, w, b), "dilation-1");
    }
    if (c.bias) {
      expect(run(p, x, w, {}), "bias_missing");
      Values twice = b;
      for (double& v : twice) v *= 2;
      expect(run(p, x, w, twice), "bias_twice");
    }
    if (p.stride != p.dilation) {
      ConvParams q = p;
      std::swap(q.stride, q.dilation);
      expect(run(q, x, w, b), "stride_dilation_swapped");
    }
    if (p.padding_mode != PaddingMode::zeros) {
      ConvParams q = p;
      q.padding_mode = PaddingMode::zeros;
      expect(run(q, x, w, b), "padding_mode_zeros");
    }
  }
}

// The families of diagnose.hpp, in the order listed there: every hypothesis belongs to one, and
// they are tried in that order (Diagnosis::tried is in catalogue order).
BOOST_AUTO_TEST_CASE(the_catalogue_is_tried_in_the_documented_order) {
  const std::vector<std::string> documented = {"kernel_flipped",
                                               "pads_swapped",
                                               "pad_begin",
                                               "pad_end",
                                               "output_padding_at_begin",
                                               "weight_channels_swapped",
                                               "groups_wrong_axis",
                                               "dilation",
                                               "bias_missing",
                                               "bias_twice",
                                               "stride_dilation_swapped",
                                               "padding_mode_zeros",
                                               "negative_padding_clamped",
                                               "output_padding_clamped"};
  // "pad_begin+1[h] (size kept)" -> "pad_begin", "groups_wrong_axis_both" -> "groups_wrong_axis".
  auto family = [](const std::string& id) {
    std::string f = id.substr(0, id.find_first_of("[+- ("));
    return f.rfind("groups_wrong_axis", 0) == 0 ? std::string("groups_wrong_axis") : f;
  };
  std::set<std::string> seen;
  std::vector<Case> all = cases();
  for (const Case& c : onnx_corner_cases()) all.push_back(c);
  for (const Case& c : all) {
    const ConvSpec spec(c.params);
    const LayerData layer = random_layer(spec, c.batch, c.bias);
    const Values noise = integer_tensor<double>(c.batch * spec.output_numel(), -50, 50);
    const Diagnosis d = diagnose(layer, noise.data(), layer.output_shape());
    BOOST_TEST_CONTEXT(c.name) {
      std::size_t next = 0;  // the families before `next` are done
      for (const Hypothesis& h : d.tried) {
        const auto at = std::find(documented.begin(), documented.end(), family(h.id));
        BOOST_TEST_REQUIRE((at != documented.end()), "undocumented family: " << h.id);
        const auto index = static_cast<std::size_t>(at - documented.begin());
        BOOST_TEST((index + 1 >= next), "out of order: " << h.id);
        next = std::max(next, index + 1);
        seen.insert(*at);
      }
    }
  }
  BOOST_TEST(seen.size() == documented.size());  // the cases exercise every family
}

BOOST_AUTO_TEST_CASE(onnx_corners_are_named) {
  const std::vector<Case> c = onnx_corner_cases();
  {
    // ONNX Runtime's reading: the padding clamped to 0, the splat of 18 rows, not 20.
    const ConvSpec spec(c[0].params);
    BOOST_TEST(spec.output_size()[0] == 20);
    const LayerData layer = random_layer(spec, 2, true);
    const ConvSpec clamped = ConvSpec::transposed(2, 2, {5}, {2}, {4}, {0});
    BOOST_TEST(clamped.output_size()[0] == 18);
    expect_named(layer, loops(clamped, layer.input, 2, layer.weight, layer.bias),
                 output_shape(clamped, 2), "negative_padding_clamped");
  }
  {
    const ConvSpec spec(c[1].params);
    const LayerData layer = random_layer(spec, 2, true);
    ConvParams q = c[1].params;
    q.output_padding = {0};  // stride 1: output_padding < stride means 0
    const ConvSpec clamped(q);
    BOOST_TEST(clamped.output_size()[0] + 2 == spec.output_size()[0]);
    expect_named(layer, loops(clamped, layer.input, 2, layer.weight, layer.bias),
                 output_shape(clamped, 2), "output_padding_clamped");
  }
}

BOOST_AUTO_TEST_CASE(a_mistake_that_changes_the_output_size_is_also_tried_with_the_size_kept) {
  // conv1d, dilation 2 taken as 3 inside a loop over the correct 6 output positions: the
  // candidate is the first 6 outputs of a layer with dilation 3 and enough end padding.
  ConvParams p;
  p.input_size = {11};
  p.kernel_size = {3};
  p.dilation = {2};
  const ConvSpec spec(p);
  const LayerData layer = random_layer(spec, 1, false);
  ConvParams q = p;
  q.dilation = {3};
  q.pad_end = {2};
  const ConvSpec wide(q);  // 11 + 2 − 3·2 = 7 outputs; keep the first 7 − 1 = 6
  Values y = loops(wide, layer.input, 1, layer.weight, {});
  BOOST_REQUIRE(wide.output_size()[0] == 7);
  y.resize(6);
  expect_named(layer, y, layer.output_shape(), "dilation+1 (size kept)");
}

BOOST_AUTO_TEST_SUITE_END()

// diagnose for the quantized ops: each mistake injected by a small int8 implementation written
// here (direct loops over a 2-d layer, the mistake a switch), independently of the library's
// hypotheses, and named first; a correct candidate names none.
BOOST_AUTO_TEST_SUITE(quantized_diagnose)

namespace {

using Ints = std::vector<std::int64_t>;

// A 2-d layer, groups 1, C_in == C_out (so that w's axis 1 can hold a per-channel parameter).
struct Int8Layer {
  Index c = 3, h = 6, w = 7, k = 3, pad = 1, stride = 1;
  Ints x, weight, wz, bias;  // wz: per output channel
  std::int64_t xz = 128, yz = 10;
  double x_scale = 1, y_scale = 2;
  std::vector<double> w_scale{0.25, 0.5, 0.125};  // multipliers 1/8, 1/4, 1/16: many ties
  bool int8_output = true;
  Index oh() const { return (h + 2 * pad - k) / stride + 1; }
  Index ow() const { return (w + 2 * pad - k) / stride + 1; }
};

// The implementation under test, with one switch per mistake.
struct Int8Impl {
  bool subtract_xz = true, subtract_wz = true, pad_with_xz = true, wz_first = false,
       wz_axis1 = false, ws_first = false, ws_axis1 = false, bias = true, bias_after = false,
       float32_sums = false, saturate = true, int16_pairs = false;
  double (*round)(double) = std::nearbyint;
};

Ints run_int8(const Int8Layer& L, const Int8Impl& impl, bool requantize) {
  Ints y;
  for (Index m = 0; m < L.c; ++m) {
    for (Index i = 0; i < L.oh(); ++i) {
      for (Index j = 0; j < L.ow(); ++j) {
        // An implementation that ignores x's zero point does not pad with it either.
        const std::int64_t xz_used = impl.subtract_xz ? L.xz : 0;
        std::int64_t acc = 0;
        float acc32 = 0;
        std::vector<std::int64_t> per_input(static_cast<std::size_t>(L.c), 0);
        for (Index ci = 0; ci < L.c; ++ci) {
          for (Index a = 0; a < L.k; ++a) {
            for (Index b = 0; b < L.k; ++b) {
              const Index r = i * L.stride + a - L.pad, s = j * L.stride + b - L.pad;
              const bool inside = r >= 0 && r < L.h && s >= 0 && s < L.w;
              const std::int64_t xv = inside
                                          ? L.x[static_cast<std::size_t>((ci * L.h + r) * L.w + s)]
                                          : (impl.pad_with_xz ? xz_used : 0);
              const std::int64_t wzv = L.wz[static_cast<std::size_t>(impl.wz_first   ? 0
                                                                     : impl.wz_axis1 ? ci
                                                                                     : m)];
              const std::int64_t wv =
                  L.weight[static_cast<std::size_t>(((m * L.c + ci) * L.k + a) * L.k + b)];
              const std::int64_t term = (xv - xz_used) * (wv - (impl.subtract_wz ? wzv : 0));
              acc += term;
              acc32 += static_cast<float>(term);
              per_input[static_cast<std::size_t>(ci)] += term;
            }
          }
        }
        if (impl.int16_pairs) {  // x86's vpmaddubsw: x as stored times w, two channels a pair
          for (Index a = 0; a < L.k; ++a) {
            for (Index b = 0; b < L.k; ++b) {
              const Index r = i * L.stride + a - L.pad, s = j * L.stride + b - L.pad;
              if (r < 0 || r >= L.h || s < 0 || s >= L.w) continue;
              for (Index c0 = 0; c0 < L.c; c0 += 2) {
                std::int64_t pair = 0;
                for (Index ci = c0; ci < std::min<Index>(c0 + 2, L.c); ++ci)
                  pair += L.x[static_cast<std::size_t>((ci * L.h + r) * L.w + s)] *
                          L.weight[static_cast<std::size_t>(((m * L.c + ci) * L.k + a) * L.k + b)];
                acc += std::clamp<std::int64_t>(pair, -32768, 32767) - pair;
              }
            }
          }
        }
        const std::int64_t b =
            requantize && impl.bias && !L.bias.empty() ? L.bias[static_cast<std::size_t>(m)] : 0;
        if (impl.float32_sums)
          acc = static_cast<std::int64_t>(acc32 + static_cast<float>(b));
        else if (!impl.bias_after)
          acc += b;
        if (!requantize) {
          y.push_back(acc);
          continue;
        }
        const double ws = L.w_scale[static_cast<std::size_t>(impl.ws_first ? 0 : m)];
        double real = static_cast<double>(acc) * (L.x_scale * ws / L.y_scale);
        if (impl.ws_axis1) {
          real = static_cast<double>(b) * L.w_scale[static_cast<std::size_t>(m)];
          for (Index ci = 0; ci < L.c; ++ci)
            real += L.w_scale[static_cast<std::size_t>(ci)] *
                    static_cast<double>(per_input[static_cast<std::size_t>(ci)]);
          real *= L.x_scale / L.y_scale;
        }
        if (impl.bias_after) real += static_cast<double>(b);
        const auto q = static_cast<std::int64_t>(impl.round(real)) + L.yz;
        if (impl.saturate) {
          y.push_back(L.int8_output ? std::clamp<std::int64_t>(q, -128, 127)
                                    : std::clamp<std::int64_t>(q, 0, 255));
        } else {  // an integer cast: two's complement wrap-around
          y.push_back(L.int8_output ? static_cast<std::int64_t>(static_cast<std::int8_t>(q))
                                    : static_cast<std::int64_t>(static_cast<std::uint8_t>(q)));
        }
      }
    }
  }
  return y;
}

QuantizedData data_of(const Int8Layer& L, bool requantize) {
  ConvParams p;
  p.kind = ConvKind::convolution;
  p.in_channels = p.out_channels = L.c;
  p.input_size = {L.h, L.w};
  p.kernel_size = {L.k, L.k};
  p.stride = {L.stride, L.stride};
  p.pad_begin = p.pad_end = {L.pad, L.pad};
  QuantizedData d{ConvSpec(p), 1, L.x, L.weight, "uint8", "int8", {}};
  d.inputs["x_zero_point"] = {{static_cast<double>(L.xz)}, "uint8"};
  d.inputs["w_zero_point"] = {std::vector<double>(L.wz.begin(), L.wz.end()), "int8"};
  if (requantize) {
    d.inputs["x_scale"] = {{L.x_scale}, "float32"};
    d.inputs["w_scale"] = {L.w_scale, "float32"};
    d.inputs["y_scale"] = {{L.y_scale}, "float32"};
    d.inputs["y_zero_point"] = {{static_cast<double>(L.yz)}, L.int8_output ? "int8" : "uint8"};
    if (!L.bias.empty())
      d.inputs["B"] = {std::vector<double>(L.bias.begin(), L.bias.end()), "int32"};
  }
  return d;
}

Int8Layer random_int8_layer() {
  Int8Layer L;
  L.x = test::integer_tensor<std::int64_t>(L.c * L.h * L.w, 0, 255);
  L.weight = test::integer_tensor<std::int64_t>(L.c * L.c * L.k * L.k, -3, 3);
  L.wz = {1, -1, 0};
  return L;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_quantized_mistake_is_named_first) {
  const QuantizedOp& conv_integer_op = *find_quantized_op("ConvInteger");
  const QuantizedOp& qlinear = *find_quantized_op("QLinearConv");
  Int8Layer L = random_int8_layer();
  L.bias = {100, -50, 7};
  const auto named_first = [&](const QuantizedOp& op, const Int8Impl& impl, const char* id) {
    const bool rq = op.requantizes;
    const QuantizedDiagnosis d = diagnose_quantized(op, data_of(L, rq), run_int8(L, impl, rq));
    BOOST_TEST_CONTEXT(op.alias << " " << id) {
      BOOST_TEST(d.check.mismatches > 0);
      BOOST_TEST_REQUIRE(!d.reproducing.empty());
      BOOST_TEST(d.reproducing.front() == id);
    }
  };
  // A correct implementation: nothing to diagnose.
  for (const QuantizedOp* op : {&conv_integer_op, &qlinear}) {
    const QuantizedDiagnosis d =
        diagnose_quantized(*op, data_of(L, op->requantizes), run_int8(L, {}, op->requantizes));
    BOOST_TEST(d.check.mismatches == 0);
    BOOST_TEST(d.tried.empty());
    BOOST_TEST(d.reproducing.empty());
  }
  for (const QuantizedOp* op : {&conv_integer_op, &qlinear}) {
    Int8Impl i;
    i.subtract_xz = false;
    named_first(*op, i, "x_zero_point_ignored");
    i = {};
    i.subtract_wz = false;
    named_first(*op, i, "w_zero_point_ignored");
    i = {};
    i.pad_with_xz = false;
    named_first(*op, i, "padding_zero_not_x_zero_point");
    i = {};
    i.wz_first = true;
    named_first(*op, i, "w_zero_point_first_for_all");
    i = {};
    i.wz_axis1 = true;
    named_first(*op, i, "w_zero_point_wrong_axis");
  }
  Int8Impl i;
  i.ws_first = true;
  named_first(qlinear, i, "w_scale_first_for_all");
  i = {};
  i.ws_axis1 = true;
  named_first(qlinear, i, "w_scale_wrong_axis");
  i = {};
  i.bias = false;
  named_first(qlinear, i, "bias_missing");
  i = {};
  i.bias_after = true;
  named_first(qlinear, i, "bias_after_scaling");
  i = {};
  i.round = [](double v) { return std::round(v); };
  named_first(qlinear, i, "rounding_half_away_from_zero");
  i.round = [](double v) { return std::floor(v + 0.5); };
  named_first(qlinear, i, "rounding_half_up");
  i.round = [](double v) { return std::trunc(v); };
  named_first(qlinear, i, "rounding_toward_zero");
  i.round = [](double v) { return std::floor(v); };
  named_first(qlinear, i, "rounding_down");
  i = {};
  i.saturate = false;
  named_first(qlinear, i, "no_saturation");
  L.int8_output = false;  // uint8: wraps modulo 256 into [0, 255]
  L.yz = 100;
  named_first(qlinear, i, "no_saturation");
}

// The catalogue on an int8 kernel's layouts (NHWC data and output, OHWI weights) through the
// call: x, w and the candidate given in them, the mistake named as in NCHW, the expected output
// and the worst element in NHWC.
BOOST_AUTO_TEST_CASE(quantized_diagnosis_in_the_caller_s_layouts) {
  const QuantizedOp& qlinear = *find_quantized_op("QLinearConv");
  Int8Layer L = random_int8_layer();
  L.bias = {100, -50, 7};
  const LayerCall call = layer_op("onnx_conv")
                             .resolve({1, L.h, L.w, L.c}, {L.c, L.k, L.k, L.c},
                                      {{"pads", KeywordValue(Dims{L.pad, L.pad, L.pad, L.pad})},
                                       {"data_format", KeywordValue(std::string("NHWC"))},
                                       {"weight_format", KeywordValue(std::string("OHWI"))}});
  // (C, H, W) → (H, W, C) and (O, I, kh, kw) → (O, kh, kw, I), written by index.
  const auto chw_to_hwc = [](const Ints& v, Index c, Index h, Index w) {
    Ints out(v.size());
    for (Index ci = 0; ci < c; ++ci)
      for (Index i = 0; i < h; ++i)
        for (Index j = 0; j < w; ++j)
          out[static_cast<std::size_t>((i * w + j) * c + ci)] =
              v[static_cast<std::size_t>((ci * h + i) * w + j)];
    return out;
  };
  Ints w_ohwi(L.weight.size());
  for (Index m = 0; m < L.c; ++m) {
    const Ints block(L.weight.begin() + m * L.c * L.k * L.k,
                     L.weight.begin() + (m + 1) * L.c * L.k * L.k);
    const Ints t = chw_to_hwc(block, L.c, L.k, L.k);
    std::copy(t.begin(), t.end(), w_ohwi.begin() + m * L.c * L.k * L.k);
  }
  QuantizedData given = data_of(L, true);
  given.x = chw_to_hwc(L.x, L.c, L.h, L.w);
  given.w = w_ohwi;
  const QuantizedData nchw = data_of(L, true);
  Int8Impl ignored;
  ignored.subtract_xz = false;
  const Ints candidate_nchw = run_int8(L, ignored, true);
  const Ints candidate = chw_to_hwc(candidate_nchw, L.c, L.oh(), L.ow());
  const QuantizedDiagnosis in_nchw = diagnose_quantized(qlinear, nchw, candidate_nchw);
  const QuantizedDiagnosis d = diagnose_quantized(qlinear, given, candidate, 5, call);
  BOOST_TEST_REQUIRE(!d.reproducing.empty());
  BOOST_TEST(d.reproducing.front() == "x_zero_point_ignored");
  BOOST_TEST(d.reproducing == in_nchw.reproducing, boost::test_tools::per_element());
  BOOST_TEST(d.check.mismatches == in_nchw.check.mismatches);
  BOOST_TEST(d.expected.values == chw_to_hwc(in_nchw.expected.values, L.c, L.oh(), L.ow()),
             boost::test_tools::per_element());
  BOOST_TEST(
      d.expected.accumulators == chw_to_hwc(in_nchw.expected.accumulators, L.c, L.oh(), L.ow()),
      boost::test_tools::per_element());
  // The worst element: the largest difference, the first in NHWC order among equals.
  Index first = -1;
  std::int64_t largest = -1;
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    const std::int64_t diff = std::abs(candidate[i] - d.expected.values[i]);
    if (diff > largest) largest = diff, first = static_cast<Index>(i);
  }
  BOOST_TEST_REQUIRE(!d.check.worst.empty());
  BOOST_TEST(d.check.worst.front().index == first);
  BOOST_TEST(d.check.max_difference == largest);
}

BOOST_AUTO_TEST_CASE(float32_accumulation_is_named_where_the_sums_pass_2_to_the_24) {
  // 100 channels of a 3x3 kernel: 900 terms of about 228·(−114) sum to ~−2.3e7, past 2^24,
  // where a float32 accumulator drops low bits.
  Int8Layer L;
  L.c = 100;
  L.h = L.w = 4;
  L.pad = 0;
  L.xz = 0;
  L.x = test::integer_tensor<std::int64_t>(L.c * L.h * L.w, 200, 255);
  L.weight = test::integer_tensor<std::int64_t>(L.c * L.c * L.k * L.k, -128, -100);
  L.wz = Ints(static_cast<std::size_t>(L.c), 0);
  QuantizedData d = data_of(L, false);
  d.inputs.erase("x_zero_point");
  d.inputs["w_zero_point"] = {{0}, "int8"};
  Int8Impl f32;
  f32.float32_sums = true;
  const Ints candidate = run_int8(L, f32, false);
  const QuantizedOp& op = *find_quantized_op("onnx_conv_integer");
  QuantizedDiagnosis dg = diagnose_quantized(op, d, candidate);
  BOOST_TEST(dg.check.mismatches > 0);  // float32 did lose bits
  BOOST_TEST(dg.reproducing == std::vector<std::string>{"float32_accumulation"});
  // An error larger than float32's rounding bound (n·u·Σ|terms| ≈ 1.3e3 here) is not blamed on
  // it.
  Ints off = candidate;
  off[0] += 100000;
  dg = diagnose_quantized(op, d, off);
  BOOST_TEST(dg.reproducing.empty());
  // Its uint8 x near 228 times int8 w near −114 also leave int16 in pairs: that entry is tried.
  BOOST_TEST_REQUIRE(dg.tried.size() == 2u);
  BOOST_TEST(dg.tried[0].id == "float32_accumulation");
  BOOST_TEST(dg.tried[1].id == "int16_pair_saturation");
  // Small sums (below 2^24) are exact in float32: the entry does not apply.
  Int8Layer s = random_int8_layer();
  const QuantizedDiagnosis small = diagnose_quantized(op, data_of(s, false), [&] {
    Ints y = run_int8(s, {}, false);
    y[3] += 1;
    return y;
  }());
  for (const QuantizedHypothesis& h : small.tried) BOOST_TEST(h.id != "float32_accumulation");
}

BOOST_AUTO_TEST_CASE(int16_pair_saturation_is_named_where_pairs_leave_int16) {
  // uint8 x up to 255 times int8 w of magnitude 100..127: two products pass 32767 often. An
  // implementation that adds channels 0 and 1 of a tap into a saturated int16 (channel 2 alone)
  // is named; one that does not is not, and small weights never try the entry.
  Int8Layer L;
  L.x = test::integer_tensor<std::int64_t>(L.c * L.h * L.w, 0, 255);
  L.weight = test::integer_tensor<std::int64_t>(L.c * L.c * L.k * L.k, 100, 127);
  for (std::size_t i = 0; i < L.weight.size(); i += 3) L.weight[i] = -L.weight[i];
  L.wz = {0, 0, 0};
  L.bias = {1000, -2000, 0};
  Int8Impl pairs;
  pairs.int16_pairs = true;
  for (const char* alias : {"ConvInteger", "QLinearConv"}) {
    const QuantizedOp& op = *find_quantized_op(alias);
    const bool rq = op.requantizes;
    BOOST_TEST_CONTEXT(alias) {
      const Ints candidate = run_int8(L, pairs, rq);
      const QuantizedDiagnosis d = diagnose_quantized(op, data_of(L, rq), candidate);
      BOOST_TEST(d.check.mismatches > 0);
      BOOST_TEST_REQUIRE(!d.reproducing.empty());
      BOOST_TEST(d.reproducing.front() == "int16_pair_saturation");
      Ints other = run_int8(L, {}, rq);
      other[0] += 1;
      const QuantizedDiagnosis o = diagnose_quantized(op, data_of(L, rq), other);
      const bool named = std::find(o.reproducing.begin(), o.reproducing.end(),
                                   "int16_pair_saturation") != o.reproducing.end();
      BOOST_TEST(!named);
    }
  }
  Int8Layer small = random_int8_layer();  // |w| <= 3: no pair leaves int16
  small.wz = {0, 0, 0};
  Ints y = run_int8(small, {}, false);
  y[2] -= 5;
  const QuantizedDiagnosis d =
      diagnose_quantized(*find_quantized_op("ConvInteger"), data_of(small, false), y);
  for (const QuantizedHypothesis& h : d.tried) BOOST_TEST(h.id != "int16_pair_saturation");
}

BOOST_AUTO_TEST_CASE(the_quantized_catalogue_lists_every_id_once_and_refuses_a_wrong_size) {
  std::set<std::string> ids;
  for (const QuantizedMistake& m : quantized_mistakes()) {
    BOOST_TEST(ids.insert(std::string(m.id)).second);
    BOOST_TEST(!m.summary.empty());
  }
  Int8Layer L = random_int8_layer();
  BOOST_CHECK_THROW(
      diagnose_quantized(*find_quantized_op("ConvInteger"), data_of(L, false), Ints(5, 0)),
      std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

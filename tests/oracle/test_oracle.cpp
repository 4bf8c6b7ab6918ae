// The oracle: W·x + b and its tolerance terms against the direct loops; check's verdicts and
// blame against an independent enumeration of the taps; diagnose against candidates made with
// each catalogue mistake by the loops on a modified layer.
#define BOOST_TEST_MODULE oracle
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "convmat/core/conv_matrix.hpp"
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
                                               "padding_mode_zeros"};
  // "pad_begin+1[h] (size kept)" -> "pad_begin", "groups_wrong_axis_both" -> "groups_wrong_axis".
  auto family = [](const std::string& id) {
    std::string f = id.substr(0, id.find_first_of("[+- ("));
    return f.rfind("groups_wrong_axis", 0) == 0 ? std::string("groups_wrong_axis") : f;
  };
  std::set<std::string> seen;
  for (const Case& c : cases()) {
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

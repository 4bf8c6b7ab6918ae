// The checkerboard of transposed convolutions: tap counts against a brute-force count over
// (source position, tap) pairs, weight sums against the loops on an all-ones input, and the
// claim — for dilation 1 the interior is even exactly when the stride divides the kernel size —
// over a grid of kernel sizes and strides in 1-d and 2-d (and its general-dilation form).
#define BOOST_TEST_MODULE checkerboard
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <numeric>
#include <optional>

#include "convmat/analysis/checkerboard.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

// Taps of a zero-padded transposed layer reaching each output position, by brute force over
// every (input position, tap) pair: i·s − p0 + t·d = q, per axis, multiplied over the axes.
std::vector<Index> brute_force_taps(const ConvSpec& t) {
  std::vector<std::vector<Index>> per_axis;
  for (int a = 0; a < t.rank(); ++a) {
    std::vector<Index> c(static_cast<std::size_t>(t.output_size()[a]), 0);
    for (Index i = 0; i < t.input_size()[a]; ++i) {
      for (Index k = 0; k < t.kernel_size()[a]; ++k) {
        const Index q = i * t.stride()[a] - t.pad_begin()[a] + k * t.dilation()[a];
        if (q >= 0 && q < t.output_size()[a]) ++c[static_cast<std::size_t>(q)];
      }
    }
    per_axis.push_back(c);
  }
  std::vector<Index> taps{1};
  for (const auto& c : per_axis) {
    std::vector<Index> next;
    for (Index x : taps) {
      for (Index y : c) next.push_back(x * y);
    }
    taps = next;
  }
  return taps;
}

// Input size large enough that the interior spans at least one period plus a margin.
Index roomy_input(Index k, Index s, Index d) { return d * (k - 1) / s + 4; }

}  // namespace

BOOST_AUTO_TEST_CASE(tap_counts_match_brute_force_on_random_transposed_layers) {
  int layers = 0;
  while (layers < 800) {
    const ConvSpec t = test::random_spec(6);
    if (!t.is_transposed()) continue;
    ++layers;
    BOOST_TEST_CONTEXT(t.to_string()) {
      const Checkerboard c = checkerboard(t);
      BOOST_TEST(c.size == t.output_size(), boost::test_tools::per_element());
      BOOST_TEST(c.tap_count == brute_force_taps(t), boost::test_tools::per_element());
      // Weight sums: the scatter loops applied to an all-ones input.
      const auto w = test::integer_tensor<double>(t.weight_numel());
      const Checkerboard cw = checkerboard(t, w.data());
      std::vector<double> ones(static_cast<std::size_t>(t.input_numel()), 1.0),
          y(static_cast<std::size_t>(t.output_numel()));
      direct_forward(t, ones.data(), 1, w.data(), static_cast<const double*>(nullptr), y.data());
      BOOST_TEST(cw.weight_sum == y, boost::test_tools::per_element());
      BOOST_TEST(cw.channels == t.out_channels());
    }
  }
}

// The claim, dilation 1: interior even ⇔ s | k, for k = 1..8, s = 1..5, several paddings, 1-d
// and 2-d (even in 2-d ⇔ even along both axes). The interior counts are ⌊k/s⌋ and ⌈k/s⌉.
BOOST_AUTO_TEST_CASE(dilation_one_is_even_exactly_when_the_stride_divides_the_kernel) {
  int even = 0, uneven = 0;
  for (Index k = 1; k <= 8; ++k) {
    for (Index s = 1; s <= 5; ++s) {
      for (Index p : {Index(0), Index(1), k - 1}) {
        const Index n = roomy_input(k, s, 1);
        const ConvSpec t = ConvSpec::transposed(1, 1, {n}, {k}, {s}, {p});
        const Checkerboard c = checkerboard(t);
        BOOST_TEST_CONTEXT(t.to_string()) {
          BOOST_REQUIRE(c.interior_end[0] - c.interior_begin[0] >= s);  // a whole period
          BOOST_TEST(c.even == (k % s == 0));
          BOOST_TEST(c.min_taps == k / s);
          BOOST_TEST(c.max_taps == (k + s - 1) / s);
          BOOST_TEST(c.period_pattern.size() == static_cast<std::size_t>(s));
          (c.even ? even : uneven)++;
        }
        for (Index k1 : {Index(2), Index(3), Index(4)}) {
          for (Index s1 : {Index(1), Index(2), Index(3)}) {
            const ConvSpec t2 =
                ConvSpec::transposed(1, 1, {n, roomy_input(k1, s1, 1)}, {k, k1}, {s, s1}, {p, 0});
            const Checkerboard c2 = checkerboard(t2);
            BOOST_TEST_CONTEXT(t2.to_string()) {
              BOOST_TEST(c2.even == (k % s == 0 && k1 % s1 == 0));
              BOOST_TEST(c2.tap_count == brute_force_taps(t2), boost::test_tools::per_element());
            }
          }
        }
      }
    }
  }
  BOOST_TEST(even > 20);
  BOOST_TEST(uneven > 20);
}

// General dilation: the interior count is #{t < k : t·d ≡ r (mod s)}, even ⇔ gcd(d, s) = 1 and s |
// k.
BOOST_AUTO_TEST_CASE(dilation_general_rule) {
  for (Index k = 1; k <= 6; ++k) {
    for (Index s = 1; s <= 4; ++s) {
      for (Index d = 1; d <= 4; ++d) {
        const ConvSpec t =
            ConvSpec::transposed(1, 1, {roomy_input(k, s, d)}, {k}, {s}, {0}, {}, 1, {d});
        const Checkerboard c = checkerboard(t);
        BOOST_TEST_CONTEXT(t.to_string()) {
          BOOST_TEST(c.even == (std::gcd(d, s) == 1 && k % s == 0));
        }
      }
    }
  }
}

// Odena et al.'s example: kernel 3, stride 2. 1-d, input 6: output 13, interior [2, 11) with
// counts 2, 1, 2, …, 2 (mean 14/9, amplitude (2 − 1)/(14/9) = 9/14). 2-d with padding 1: the
// interior starts at 1 (= k − 1 − p), where q + p is even and taps 0 and 2 arrive: the tile
// [[4, 2], [2, 1]]. With all-ones weights the weight sums are the tap counts.
BOOST_AUTO_TEST_CASE(kernel_three_stride_two) {
  const ConvSpec t1 = ConvSpec::transposed(1, 1, {6}, {3}, {2});
  const Checkerboard c1 = checkerboard(t1);
  BOOST_TEST(c1.tap_count == (std::vector<Index>{1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(c1.interior_begin[0] == 2);
  BOOST_TEST(c1.interior_end[0] == 11);
  BOOST_TEST(c1.interior_positions == 9);
  BOOST_TEST(std::abs(c1.mean_taps - 14.0 / 9.0) <= 1e-15);
  BOOST_TEST(std::abs(c1.tap_amplitude - 9.0 / 14.0) <= 1e-15);
  BOOST_TEST(c1.period_pattern == (std::vector<Index>{2, 1}), boost::test_tools::per_element());

  const ConvSpec t2 = ConvSpec::transposed(1, 1, {8, 8}, {3, 3}, {2}, {1}, {1});
  const std::vector<double> ones(9, 1.0);
  const Checkerboard c2 = checkerboard(t2, ones.data());
  BOOST_TEST(c2.period_pattern == (std::vector<Index>{4, 2, 2, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(c2.min_taps == 1);
  BOOST_TEST(c2.max_taps == 4);
  for (std::size_t i = 0; i < c2.tap_count.size(); ++i) {
    BOOST_TEST(c2.weight_sum[i] == static_cast<double>(c2.tap_count[i]));
  }
  BOOST_TEST(c2.weight_amplitude.size() == 1u);
  BOOST_TEST(std::abs(c2.weight_amplitude[0] - c2.tap_amplitude) <= 1e-15);
  // Seed 002's layer, kernel 2 and stride 2: one tap everywhere, no checkerboard.
  const Checkerboard seed = checkerboard(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2}));
  BOOST_TEST(seed.even);
  BOOST_TEST(seed.tap_amplitude == 0.0);
  BOOST_TEST(seed.tap_count == std::vector<Index>(16, 1), boost::test_tools::per_element());
}

// A convolution's pattern is its adjoint's: the transposed layer with the same geometry.
BOOST_AUTO_TEST_CASE(convolution_is_read_through_its_adjoint) {
  int compared = 0;
  for (int trial = 0; trial < 1000; ++trial) {
    const ConvSpec conv = test::random_spec(6);
    if (conv.is_transposed() || conv.padding_mode() != PaddingMode::zeros) continue;
    ConvParams tp = conv.params();
    tp.kind = ConvKind::transposed;
    tp.in_channels = conv.out_channels();
    tp.out_channels = conv.in_channels();
    tp.input_size = conv.output_size();
    // The transposed layer's output may fall short of the convolution's input (positions no
    // window reaches) or not exist at all: compare where it has the same size.
    std::optional<ConvSpec> t;
    try {
      t.emplace(tp);
    } catch (const std::invalid_argument&) {
      continue;
    }
    if (t->output_size() != conv.input_size()) continue;
    ++compared;
    const Checkerboard a = checkerboard(conv), b = checkerboard(*t);
    BOOST_TEST_CONTEXT(conv.to_string()) {
      BOOST_TEST(a.size == conv.input_size(), boost::test_tools::per_element());
      BOOST_TEST(a.tap_count == b.tap_count, boost::test_tools::per_element());
      BOOST_TEST(a.interior_begin == b.interior_begin, boost::test_tools::per_element());
      BOOST_TEST(a.interior_end == b.interior_end, boost::test_tools::per_element());
    }
  }
  BOOST_TEST(compared > 30);
}

// With reflect / replicate / circular padding, folded taps land near the ends; the interior
// excludes them, so its counts are those of the zero-padded convolution.
BOOST_AUTO_TEST_CASE(folded_padding_stays_out_of_the_interior) {
  for (PaddingMode mode : {PaddingMode::reflect, PaddingMode::replicate, PaddingMode::circular}) {
    const ConvSpec folded = ConvSpec::convolution(1, 1, {17}, {3}, {2}, {2}, {1}, 1, mode);
    const ConvSpec zeros = ConvSpec::convolution(1, 1, {17}, {3}, {2}, {2});
    const Checkerboard a = checkerboard(folded), b = checkerboard(zeros);
    BOOST_TEST_CONTEXT(folded.to_string()) {
      BOOST_TEST(a.interior_positions > 0);
      for (Index q = a.interior_begin[0]; q < a.interior_end[0]; ++q) {
        BOOST_TEST(a.tap_count[static_cast<std::size_t>(q)] ==
                   b.tap_count[static_cast<std::size_t>(q)]);
      }
    }
  }
}

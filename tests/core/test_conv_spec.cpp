// ConvSpec: output sizes (the formulas, seed 001's cases, Dumoulin & Visin's relationships 1–15)
// and one test per validation rule, asserting the message.
#define BOOST_TEST_MODULE conv_spec
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>

#include "convmat/core/conv_spec.hpp"

using namespace convmat;

namespace {

// Asserts that `params` is rejected with a message containing every one of `parts`.
void expect_rejected(const ConvParams& params, std::initializer_list<std::string> parts) {
  try {
    ConvSpec spec(params);
    BOOST_ERROR("accepted an invalid spec: " << spec.to_string());
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) {
      BOOST_TEST_CONTEXT("message: " << message) {
        BOOST_TEST(message.find(part) != std::string::npos, "missing '" << part << "'");
      }
    }
  }
}

ConvParams conv2d(Index n = 5, Index k = 3) {
  ConvParams p;
  p.in_channels = 2;
  p.out_channels = 4;
  p.input_size = {n, n};
  p.kernel_size = {k, k};
  return p;
}

ConvParams transposed2d(Index n = 3, Index k = 3) {
  ConvParams p = conv2d(n, k);
  p.kind = ConvKind::transposed;
  return p;
}

Index conv_o(Index i, Index k, Index s = 1, Index p = 0, Index d = 1) {
  return ConvSpec::convolution(1, 1, {i}, {k}, {s}, {p}, {d}).output_size()[0];
}

Index transposed_o(Index i, Index k, Index s = 1, Index p = 0, Index a = 0, Index d = 1) {
  return ConvSpec::transposed(1, 1, {i}, {k}, {s}, {p}, {a}, 1, {d}).output_size()[0];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(output_size)

BOOST_AUTO_TEST_CASE(formulas_with_asymmetric_padding) {
  // o = ⌊(n + p0 + p1 − d(k−1) − 1)/s⌋ + 1 = ⌊(10 + 1 + 2 − 2·2 − 1)/3⌋ + 1 = 3
  ConvParams p = conv2d();
  p.input_size = {10, 7};
  p.kernel_size = {3, 2};
  p.stride = {3, 2};
  p.dilation = {2, 1};
  p.pad_begin = {1, 0};
  p.pad_end = {2, 3};
  const ConvSpec c(p);
  BOOST_TEST(c.output_size() == (Dims{3, 5}), boost::test_tools::per_element());
  // o = (n−1)s − p0 − p1 + d(k−1) + a + 1 = 9·3 − 3 + 4 + 1 + 1 = 30; 6·2 − 3 + 1 + 1 + 1 = 12
  p.kind = ConvKind::transposed;
  p.output_padding = {1, 1};
  const ConvSpec t(p);
  BOOST_TEST(t.output_size() == (Dims{30, 12}), boost::test_tools::per_element());
  BOOST_TEST(t.weight_shape() == (Dims{2, 4, 3, 2}), boost::test_tools::per_element());
  BOOST_TEST(c.weight_shape() == (Dims{4, 2, 3, 2}), boost::test_tools::per_element());
}

// Seed 001: every Conv2d and ConvTranspose2d shape case, with its input and output sizes.
BOOST_AUTO_TEST_CASE(seed_001_shape_cases) {
  struct Case {
    bool transposed;
    Index n, k, s, p, expected;
  };
  const Case cases[] = {
      {false, 4, 3, 1, 0, 2},  // nn.Conv2d(1,1,3): [4,4] -> [2,2]
      {false, 5, 4, 1, 2, 6},  // nn.Conv2d(1,1,4,padding=2): [5,5] -> [6,6]
      {true, 2, 3, 1, 0, 4},   // nn.ConvTranspose2d(1,1,3): [2,2] -> [4,4]
      {true, 6, 4, 1, 2, 5},   // nn.ConvTranspose2d(1,1,4,padding=2): [6,6] -> [5,5]
      {true, 7, 3, 1, 2, 5},   // nn.ConvTranspose2d(1,1,3,padding=2): [7,7] -> [5,5]
      {true, 2, 3, 2, 0, 5},   // nn.ConvTranspose2d(1,1,3,stride=2): [2,2] -> [5,5]
      {true, 3, 3, 2, 1, 5},   // nn.ConvTranspose2d(1,1,3,stride=2,padding=1): [3,3] -> [5,5]
  };
  for (const Case& c : cases) {
    const ConvSpec spec = c.transposed
                              ? ConvSpec::transposed(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p})
                              : ConvSpec::convolution(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p});
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST(spec.output_size() == (Dims{c.expected, c.expected}),
                 boost::test_tools::per_element());
    }
  }
}

// Seed 000: conv(10→20, k5, p2, s3) on 16×16, then the transposed layer with the same
// hyperparameters, gives back the input's shape: tconv(conv(X)).shape == X.shape.
BOOST_AUTO_TEST_CASE(seed_000_transposed_restores_shape) {
  const ConvSpec conv = ConvSpec::convolution(10, 20, {16, 16}, {5, 5}, {3}, {2});
  BOOST_TEST(conv.output_shape() == (Dims{20, 6, 6}), boost::test_tools::per_element());
  const ConvSpec tconv = ConvSpec::transposed(20, 10, conv.output_size(), {5, 5}, {3}, {2});
  BOOST_TEST(tconv.output_shape() == conv.input_shape(), boost::test_tools::per_element());
}

// Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016): each
// relationship as a predicate on (i, k, s, p, d) and the size it claims, checked over a grid.
BOOST_AUTO_TEST_CASE(dumoulin_visin_relationships) {
  struct Relationship {
    int number;
    const char* name;
    std::function<bool(Index i, Index k, Index s, Index p, Index d)> applies;
    std::function<Index(Index i, Index k, Index s, Index p, Index d)> claimed;
    std::function<Index(Index i, Index k, Index s, Index p, Index d)> computed;
  };
  // For the transposed relationships the transposed layer takes the convolution's output i' = o
  // and must return i (or, with a = (i + 2p − k) mod s, reach it through output_padding).
  const auto o_of = [](Index i, Index k, Index s, Index p, Index d) {
    return conv_o(i, k, s, p, d);
  };
  const Relationship table[] = {
      {1, "no padding, unit strides: o = i − k + 1",
       [](Index, Index, Index s, Index p, Index d) { return s == 1 && p == 0 && d == 1; },
       [](Index i, Index k, Index, Index, Index) { return i - k + 1; },
       [](Index i, Index k, Index, Index, Index) { return conv_o(i, k); }},
      {2, "zero padding, unit strides: o = i − k + 2p + 1",
       [](Index, Index, Index s, Index, Index d) { return s == 1 && d == 1; },
       [](Index i, Index k, Index, Index p, Index) { return i - k + 2 * p + 1; },
       [](Index i, Index k, Index, Index p, Index) { return conv_o(i, k, 1, p); }},
      {3, "half padding (k odd, p = ⌊k/2⌋): o = i",
       [](Index, Index k, Index s, Index p, Index d) {
         return k % 2 == 1 && p == k / 2 && s == 1 && d == 1;
       },
       [](Index i, Index, Index, Index, Index) { return i; },
       [](Index i, Index k, Index, Index p, Index) { return conv_o(i, k, 1, p); }},
      {4, "full padding (p = k − 1): o = i + k − 1",
       [](Index, Index k, Index s, Index p, Index d) { return p == k - 1 && s == 1 && d == 1; },
       [](Index i, Index k, Index, Index, Index) { return i + k - 1; },
       [](Index i, Index k, Index, Index p, Index) { return conv_o(i, k, 1, p); }},
      {5, "no padding, strides: o = ⌊(i − k)/s⌋ + 1",
       [](Index, Index, Index, Index p, Index d) { return p == 0 && d == 1; },
       [](Index i, Index k, Index s, Index, Index) { return (i - k) / s + 1; },
       [](Index i, Index k, Index s, Index, Index) { return conv_o(i, k, s); }},
      {6, "padding, strides: o = ⌊(i + 2p − k)/s⌋ + 1",
       [](Index, Index, Index, Index, Index d) { return d == 1; },
       [](Index i, Index k, Index s, Index p, Index) { return (i + 2 * p - k) / s + 1; },
       [](Index i, Index k, Index s, Index p, Index) { return conv_o(i, k, s, p); }},
      {7, "pooling (window k, stride s, a kernel of ones): o = ⌊(i − k)/s⌋ + 1",
       [](Index, Index, Index, Index p, Index d) { return p == 0 && d == 1; },
       [](Index i, Index k, Index s, Index, Index) { return (i - k) / s + 1; },
       [](Index i, Index k, Index s, Index, Index) { return conv_o(i, k, s); }},
      {8, "transposed, no padding, unit strides: o' = i' + k − 1",
       [](Index, Index, Index s, Index p, Index d) { return s == 1 && p == 0 && d == 1; },
       [=](Index i, Index k, Index s, Index p, Index d) { return o_of(i, k, s, p, d) + k - 1; },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k);
       }},
      {9, "transposed, padding, unit strides: o' = i' + k − 1 − 2p",
       [](Index, Index, Index s, Index, Index d) { return s == 1 && d == 1; },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return o_of(i, k, s, p, d) + k - 1 - 2 * p;
       },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, 1, p);
       }},
      {10, "transposed, half padding: o' = i'",
       [](Index, Index k, Index s, Index p, Index d) {
         return k % 2 == 1 && p == k / 2 && s == 1 && d == 1;
       },
       [=](Index i, Index k, Index s, Index p, Index d) { return o_of(i, k, s, p, d); },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, 1, p);
       }},
      {11, "transposed, full padding: o' = i' − (k − 1)",
       [](Index, Index k, Index s, Index p, Index d) { return p == k - 1 && s == 1 && d == 1; },
       [=](Index i, Index k, Index s, Index p, Index d) { return o_of(i, k, s, p, d) - (k - 1); },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, 1, p);
       }},
      {12, "transposed, no padding, strides, s | i − k: o' = s(i' − 1) + k",
       [](Index i, Index k, Index s, Index p, Index d) {
         return p == 0 && d == 1 && (i - k) % s == 0;
       },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return s * (o_of(i, k, s, p, d) - 1) + k;
       },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, s);
       }},
      {13, "transposed, padding, strides, s | i + 2p − k: o' = s(i' − 1) + k − 2p",
       [](Index i, Index k, Index s, Index p, Index d) {
         return d == 1 && (i + 2 * p - k) % s == 0;
       },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return s * (o_of(i, k, s, p, d) - 1) + k - 2 * p;
       },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, s, p);
       }},
      {14, "transposed, padding, strides, a = (i + 2p − k) mod s: o' = s(i' − 1) + a + k − 2p = i",
       [](Index, Index, Index, Index, Index d) { return d == 1; },
       [](Index i, Index, Index, Index, Index) { return i; },
       [=](Index i, Index k, Index s, Index p, Index d) {
         return transposed_o(o_of(i, k, s, p, d), k, s, p, (i + 2 * p - k) % s);
       }},
      {15, "dilation: o = ⌊(i + 2p − k − (k − 1)(d − 1))/s⌋ + 1",
       [](Index, Index, Index, Index, Index) { return true; },
       [](Index i, Index k, Index s, Index p, Index d) {
         return (i + 2 * p - k - (k - 1) * (d - 1)) / s + 1;
       },
       [](Index i, Index k, Index s, Index p, Index d) { return conv_o(i, k, s, p, d); }},
  };
  for (const Relationship& r : table) {
    int checked = 0;
    for (Index i = 1; i <= 12; ++i) {
      for (Index k = 1; k <= 5; ++k) {
        for (Index s = 1; s <= 3; ++s) {
          for (Index p = 0; p <= 4; ++p) {
            for (Index d = 1; d <= 3; ++d) {
              // Only layers whose kernel fits the padded input.
              if (i + 2 * p < d * (k - 1) + 1 || !r.applies(i, k, s, p, d)) continue;
              BOOST_TEST_CONTEXT("relationship " << r.number << " (" << r.name << ") i=" << i
                                                 << " k=" << k << " s=" << s << " p=" << p
                                                 << " d=" << d) {
                if (r.claimed(i, k, s, p, d) < 1) continue;
                BOOST_TEST(r.computed(i, k, s, p, d) == r.claimed(i, k, s, p, d));
                ++checked;
              }
            }
          }
        }
      }
    }
    BOOST_TEST_CONTEXT("relationship " << r.number) { BOOST_TEST(checked > 5); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validation)

BOOST_AUTO_TEST_CASE(rank_must_be_1_to_3) {
  ConvParams p = conv2d();
  p.input_size = {2, 2, 2, 2};
  p.kernel_size = {1, 1, 1, 1};
  expect_rejected(p, {"rank must be 1, 2 or 3", "4 entries"});
  p.input_size = {};
  expect_rejected(p, {"rank must be 1, 2 or 3", "0 entries"});
}

BOOST_AUTO_TEST_CASE(vectors_need_one_entry_per_dimension) {
  ConvParams p = conv2d();
  p.stride = {1, 2, 3};
  expect_rejected(
      p, {"stride must have one entry (for every dimension) or one per spatial dimension (2)",
          "got 3"});
  p.stride = {2};
  BOOST_TEST(ConvSpec(p).stride() == (Dims{2, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(kernel_size_is_required) {
  ConvParams p = conv2d();
  p.kernel_size = {};
  expect_rejected(p, {"kernel_size is required"});
}

BOOST_AUTO_TEST_CASE(channels_must_be_positive) {
  ConvParams p = conv2d();
  p.in_channels = 0;
  expect_rejected(p, {"in_channels must be >= 1, got 0"});
  p = conv2d();
  p.out_channels = -2;
  expect_rejected(p, {"out_channels must be >= 1, got -2"});
  p = conv2d();
  p.groups = 0;
  expect_rejected(p, {"groups must be >= 1, got 0"});
}

BOOST_AUTO_TEST_CASE(sizes_must_be_positive) {
  ConvParams p = conv2d();
  p.input_size = {5, 0};
  expect_rejected(p, {"input_size must be >= 1", "input_size[1] = 0"});
  p = conv2d();
  p.kernel_size = {0, 3};
  expect_rejected(p, {"kernel_size must be >= 1", "kernel_size[0] = 0"});
}

BOOST_AUTO_TEST_CASE(stride_must_be_positive) {
  ConvParams p = conv2d();
  p.stride = {1, 0};
  expect_rejected(p, {"stride must be >= 1 in every dimension, got stride[1] = 0"});
}

BOOST_AUTO_TEST_CASE(dilation_must_be_positive) {
  ConvParams p = conv2d();
  p.dilation = {-1, 1};
  expect_rejected(p, {"dilation must be >= 1 in every dimension, got dilation[0] = -1"});
}

BOOST_AUTO_TEST_CASE(groups_must_divide_both_channel_counts) {
  ConvParams p = conv2d();
  p.in_channels = 3;
  p.groups = 2;
  expect_rejected(p, {"groups must divide in_channels", "in_channels = 3", "groups = 2"});
  p = conv2d();
  p.out_channels = 5;
  p.groups = 2;
  expect_rejected(p, {"groups must divide out_channels", "out_channels = 5", "groups = 2"});
}

BOOST_AUTO_TEST_CASE(output_padding_only_for_transposed) {
  ConvParams p = conv2d();
  p.output_padding = {0, 1};
  expect_rejected(
      p, {"output_padding applies to transposed convolutions only", "output_padding[1] = 1"});
}

BOOST_AUTO_TEST_CASE(output_padding_smaller_than_stride_or_dilation) {
  ConvParams p = transposed2d();
  p.stride = {2, 2};
  p.dilation = {1, 3};
  p.output_padding = {1, 2};  // 1 < stride 2; 2 < dilation 3: both allowed
  BOOST_CHECK_NO_THROW(ConvSpec{p});
  p.output_padding = {2, 2};
  expect_rejected(p, {"output_padding must be smaller than either stride or dilation",
                      "output_padding[0] = 2", "stride[0] = 2", "dilation[0] = 1"});
  p.output_padding = {-1, 0};
  expect_rejected(p, {"output_padding must be >= 0", "output_padding[0] = -1"});
}

BOOST_AUTO_TEST_CASE(padding_modes_only_for_convolution) {
  ConvParams p = transposed2d();
  p.padding_mode = PaddingMode::reflect;
  expect_rejected(p, {"padding_mode 'reflect' is not supported for transposed convolutions"});
}

BOOST_AUTO_TEST_CASE(reflect_padding_smaller_than_input) {
  ConvParams p = conv2d(4, 3);
  p.padding_mode = PaddingMode::reflect;
  p.pad_begin = {4, 1};
  p.pad_end = {1, 1};
  expect_rejected(p, {"reflect padding must be smaller than the input size", "pad_begin[0] = 4",
                      "input_size[0] = 4"});
  p.pad_begin = {3, 3};
  p.pad_end = {1, 3};
  BOOST_CHECK_NO_THROW(ConvSpec{p});
}

BOOST_AUTO_TEST_CASE(circular_padding_at_most_input) {
  ConvParams p = conv2d(4, 3);
  p.padding_mode = PaddingMode::circular;
  p.pad_begin = {4, 4};
  p.pad_end = {1, 5};
  expect_rejected(p, {"circular padding must not exceed the input size", "pad_end[1] = 5",
                      "input_size[1] = 4"});
  p.pad_end = {4, 4};
  BOOST_CHECK_NO_THROW(ConvSpec{p});
}

BOOST_AUTO_TEST_CASE(negative_padding_only_with_zeros) {
  ConvParams p = conv2d(6, 3);
  p.pad_begin = {-1, 0};
  BOOST_CHECK_NO_THROW(ConvSpec{p});  // crops one row
  p.padding_mode = PaddingMode::replicate;
  expect_rejected(p, {"padding must be >= 0 with padding_mode 'replicate'", "pad_begin[0] = -1"});
}

// XLA's lhs_dilation: n becomes (n − 1)l + 1 in the convolution's formula; convolutions with zeros
// padding only.
BOOST_AUTO_TEST_CASE(input_dilation_rules_and_output_size) {
  ConvParams p = conv2d(4, 3);
  p.stride = {4, 2};
  p.input_dilation = {2, 3};
  const ConvSpec s{p};
  // ⌊(7 − 3)/4⌋ + 1 = 2 and ⌊(10 − 3)/2⌋ + 1 = 4
  BOOST_TEST(s.output_size() == (Dims{2, 4}), boost::test_tools::per_element());
  BOOST_TEST(s.has_input_dilation());
  BOOST_TEST(s.to_string().find("input_dilation=2x3") != std::string::npos);
  BOOST_TEST(!ConvSpec(conv2d(4, 3)).has_input_dilation());
  ConvParams q = p;
  q.input_dilation = {2, 1};
  BOOST_TEST((ConvSpec(q) != s));  // part of the spec's identity
  q.input_dilation = {0, 1};
  expect_rejected(q, {"input_dilation must be >= 1", "input_dilation[0] = 0"});
  q.input_dilation = {1, 2};
  q.padding_mode = PaddingMode::replicate;
  expect_rejected(q, {"input_dilation above 1 needs padding_mode 'zeros'", "'replicate'",
                      "input_dilation[1] = 2"});
  ConvParams t = transposed2d();
  t.input_dilation = {2};
  expect_rejected(t, {"input_dilation applies to convolutions only", "input_dilation[0] = 2"});
  t.input_dilation = {1};
  BOOST_CHECK_NO_THROW(ConvSpec{t});
  // The dilated size lets a kernel fit that the plain input would not.
  p = conv2d(2, 3);
  expect_rejected(p, {"output size must be >= 1"});
  p.input_dilation = {2, 2};
  BOOST_TEST(ConvSpec(p).output_size() == (Dims{1, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(output_size_at_least_one) {
  ConvParams p = conv2d(3, 5);
  expect_rejected(
      p, {"output size must be >= 1, got -1 in dimension 0", "input_size 3", "kernel_size 5"});
  p = transposed2d(1, 1);
  p.pad_begin = {1, 0};
  p.pad_end = {0, 0};
  expect_rejected(p, {"output size must be >= 1, got 0 in dimension 0"});
}

BOOST_AUTO_TEST_CASE(index_counts_must_fit_the_index_type) {
  ConvParams p = conv2d();
  p.in_channels = 1 << 16;
  p.out_channels = 1;
  p.input_size = {1 << 8, 1 << 8};  // 2³² input elements
  p.kernel_size = {1, 1};
  expect_rejected(p, {"the input element count overflows", "> 2147483647"});
  p = conv2d();
  p.in_channels = 1 << 20;
  p.out_channels = 1 << 12;
  p.input_size = {1, 1};
  p.kernel_size = {1, 1};
  expect_rejected(p, {"the weight element count overflows"});
  p = conv2d();
  p.input_size = {Index{1} << 45, 1};
  expect_rejected(p, {"must be below 2^30 in magnitude", "input_size[0] = 35184372088832"});
  // Terms whose product would overflow 64 bits before any element count is formed.
  p = transposed2d();
  p.stride = {INT64_MAX / 2, 1};
  expect_rejected(p, {"must be below 2^30 in magnitude", "stride[0]"});
  p = transposed2d();
  p.pad_begin = {INT64_MIN, 0};
  expect_rejected(p, {"must be below 2^30 in magnitude", "pad_begin[0]"});
  p = conv2d();
  p.dilation = {Index{1} << 30, 1};
  expect_rejected(p, {"must be below 2^30 in magnitude", "dilation[0] = 1073741824"});
}

// One layer with a mistake against every rule, repaired one rule at a time: each repair brings
// the next rule's message, so the rules are checked in the order ConvSpec documents.
BOOST_AUTO_TEST_CASE(rules_are_checked_in_order) {
  ConvParams p = conv2d(4, 3);
  p.input_size = {4, 4, 4, 4};
  p.kernel_size = {};
  p.stride = {1, 2, 3};
  p.in_channels = 0;
  p.groups = 2;
  p.padding_mode = PaddingMode::reflect;
  expect_rejected(p, {"rank must be 1, 2 or 3"});
  p.input_size = {4, 0};
  expect_rejected(p, {"kernel_size is required"});
  p.kernel_size = {3};
  expect_rejected(p, {"stride must have one entry"});
  p.stride = {1, 0};
  expect_rejected(p, {"in_channels must be >= 1, got 0"});
  p.in_channels = 3;
  expect_rejected(p, {"groups must divide in_channels"});
  p.in_channels = 4;
  expect_rejected(p, {"input_size must be >= 1", "input_size[1] = 0"});
  p.input_size = {4, 4};
  expect_rejected(p, {"stride must be >= 1", "stride[1] = 0"});
  p.stride = {1, 1};
  // Per dimension: the padding's sign, then output_padding; dimension 0 before dimension 1.
  p.pad_begin = {0, -1};
  p.output_padding = {1, 0};
  expect_rejected(
      p, {"output_padding applies to transposed convolutions only", "output_padding[0] = 1"});
  p.output_padding = {};
  expect_rejected(p, {"padding must be >= 0 with padding_mode 'reflect'", "pad_begin[1] = -1"});
  p.pad_begin = {4, 0};
  p.pad_end = {0, 0};
  p.dilation = {Index{1} << 30, 1};
  expect_rejected(p, {"reflect padding must be smaller than the input size", "pad_begin[0] = 4"});
  p.pad_begin = {0, 0};
  expect_rejected(p, {"must be below 2^30 in magnitude", "dilation[0] = 1073741824"});
  p.dilation = {2, 1};
  expect_rejected(p, {"output size must be >= 1, got 0 in dimension 0"});
  p.dilation = {1, 1};
  p.in_channels = 1 << 16;
  p.out_channels = 2;
  p.input_size = {1 << 8, 1 << 8};
  p.kernel_size = {1};
  expect_rejected(p, {"the input element count overflows"});
  p.input_size = {4, 4};
  BOOST_CHECK_NO_THROW(ConvSpec{p});
}

BOOST_AUTO_TEST_CASE(padding_mode_names) {
  BOOST_TEST(padding_mode_from_string("circular") == PaddingMode::circular);
  try {
    padding_mode_from_string("mirror");
    BOOST_ERROR("accepted 'mirror'");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()) ==
               "padding_mode must be one of zeros, reflect, replicate, circular, got 'mirror'");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// The output-size formulas solved for the padding: every total padding round-trips through the
// output-size formulas, and for a convolution it is the smallest total giving that size.
BOOST_AUTO_TEST_SUITE(padding_from_output_size)

BOOST_AUTO_TEST_CASE(round_trip_through_the_output_size_formulas) {
  for (Index n = 1; n <= 9; ++n) {
    for (Index k = 1; k <= 4; ++k) {
      for (Index s = 1; s <= 3; ++s) {
        for (Index d = 1; d <= 3; ++d) {
          for (Index o = 1; o <= 12; ++o) {
            for (Index p0 = -2; p0 <= 2; ++p0) {
              BOOST_TEST_CONTEXT("n " << n << " k " << k << " s " << s << " d " << d << " o " << o
                                      << " p0 " << p0) {
                const Index total = conv_padding_for_output(n, k, s, d, o);
                BOOST_TEST(conv_output_size(n, k, s, d, p0, total - p0) == o);
                BOOST_TEST(conv_output_size(n, k, s, d, p0, total - p0 - 1) == o - 1);
                BOOST_TEST(conv_output_size(n, k, s, d, p0, total - p0 + s - 1) == o);
                BOOST_TEST(padding_for_output(ConvKind::convolution, n, k, s, d, Index{0}, o) ==
                           total);
                for (Index a = 0; a < s; ++a) {
                  const Index t = transposed_padding_for_output(n, k, s, d, a, o);
                  BOOST_TEST(transposed_output_size(n, k, s, d, p0, t - p0, a) == o);
                  BOOST_TEST(padding_for_output(ConvKind::transposed, n, k, s, d, a, o) == t);
                }
              }
            }
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_layer_made_with_it_has_the_output_size) {
  // The layer ConvSpec builds from the solved padding has the requested size (2-d, asymmetric).
  ConvParams p = conv2d(9, 3);
  p.stride = {2, 3};
  p.dilation = {2, 1};
  p.pad_begin = {1, 0};
  p.pad_end = {
      conv_padding_for_output<Index>(9, 3, 2, 2, 5) - 1,
      conv_padding_for_output<Index>(9, 3, 3, 1, 4),
  };
  BOOST_TEST(ConvSpec(p).output_size() == (Dims{5, 4}), boost::test_tools::per_element());
  ConvParams t = transposed2d(4, 3);
  t.stride = {2, 2};
  t.output_padding = {1, 0};
  t.pad_begin = {0, 2};
  t.pad_end = {transposed_padding_for_output<Index>(4, 3, 2, 1, 1, 7),
               transposed_padding_for_output<Index>(4, 3, 2, 1, 0, 6) - 2};
  BOOST_TEST(ConvSpec(t).output_size() == (Dims{7, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_wider_integer_gives_the_same_totals) {
  // benchdnn's descriptors take 31-bit values whose products pass 2⁶³: the formulas are templates.
  __extension__ using Wide = __int128;
  for (Index n : {1, 7, 100})
    for (Index s : {1, 2, 5})
      for (Index o : {1, 3, 60}) {
        BOOST_TEST(static_cast<Index>(conv_padding_for_output<Wide>(n, 3, s, 2, o)) ==
                   conv_padding_for_output<Index>(n, 3, s, 2, o));
        BOOST_TEST(static_cast<Index>(transposed_padding_for_output<Wide>(n, 3, s, 2, 1, o)) ==
                   transposed_padding_for_output<Index>(n, 3, s, 2, 1, o));
      }
  // Beyond 2⁶³: n = k = s = m = 2³¹ − 1, d = 2m, o = 1 give (m − 1)m + 2m(m − 1) = 3m(m − 1),
  // about 1.5·2⁶³, exact in 128 bits.
  const Wide m = (Wide{1} << 31) - 1;
  const Wide total = transposed_padding_for_output<Wide>(m, m, m, 2 * m, 0, 1);
  BOOST_TEST((total > (Wide{1} << 63)));
  BOOST_TEST(static_cast<Index>(total - 3 * m * (m - 1)) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

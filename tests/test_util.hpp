#pragma once
// Shared test helpers: seeded random layers and integer-valued tensors.
//
// Integer-valued data in [-3, 3] keeps every sum in these tests exact in float and double (the
// largest sums have far fewer than 2²⁴ / 9 terms), so matrix and loop results are compared with ==.

#include <Eigen/Core>
#include <boost/test/unit_test.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat::test {

inline std::mt19937_64& rng() {
  static std::mt19937_64 engine(20261122);
  return engine;
}

inline Index uniform(Index lo, Index hi) {  // inclusive
  return std::uniform_int_distribution<Index>(lo, hi)(rng());
}

template <class Scalar>
std::vector<Scalar> integer_tensor(Index n, Index lo = -3, Index hi = 3) {
  std::vector<Scalar> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<Scalar>(uniform(lo, hi));
  return v;
}

template <class Scalar>
double dot(const std::vector<Scalar>& a, const std::vector<Scalar>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
  return s;
}

// A random valid layer covering every field: rank 1–3, both kinds, groups, stride, dilation,
// asymmetric (and for zero padding sometimes negative) padding, output_padding, every padding
// mode. `max_size` bounds the spatial input size per dimension. With `input_dilation`, half of
// the zero-padded convolutions also dilate their input by 1–3 per axis (XLA's lhs_dilation with a
// window stride); the draws without it are unchanged.
inline ConvSpec random_spec(Index max_size = 7, bool input_dilation = false) {
  for (;;) {
    ConvParams p;
    const int rank = static_cast<int>(uniform(1, 3));
    p.kind = uniform(0, 1) ? ConvKind::transposed : ConvKind::convolution;
    p.groups = uniform(1, 3);
    p.in_channels = p.groups * uniform(1, 2);
    p.out_channels = p.groups * uniform(1, 2);
    const Index size_limit = rank == 3 ? std::min<Index>(max_size, 5) : max_size;
    if (p.kind == ConvKind::convolution) p.padding_mode = static_cast<PaddingMode>(uniform(0, 3));
    for (int a = 0; a < rank; ++a) {
      p.input_size.push_back(uniform(1, size_limit));
      p.kernel_size.push_back(uniform(1, rank == 3 ? 3 : 4));
      p.stride.push_back(uniform(1, 3));
      p.dilation.push_back(uniform(1, 3));
      const bool negative = p.padding_mode == PaddingMode::zeros && uniform(0, 9) == 0;
      // Padding within what the mode allows (reflect < n, circular <= n).
      const Index n = p.input_size.back();
      const Index max_pad = p.padding_mode == PaddingMode::reflect    ? std::min<Index>(3, n - 1)
                            : p.padding_mode == PaddingMode::circular ? std::min<Index>(3, n)
                                                                      : 3;
      p.pad_begin.push_back(negative ? -uniform(1, 2) : uniform(0, max_pad));
      p.pad_end.push_back(negative ? -uniform(0, 2) : uniform(0, max_pad));
      const Index max_a = std::max(p.stride.back(), p.dilation.back()) - 1;
      p.output_padding.push_back(p.kind == ConvKind::transposed ? uniform(0, max_a) : 0);
    }
    if (input_dilation && p.kind == ConvKind::convolution &&
        p.padding_mode == PaddingMode::zeros && uniform(0, 1) == 0) {
      for (int a = 0; a < rank; ++a) p.input_dilation.push_back(uniform(1, 3));
    }
    try {
      return ConvSpec(p);
    } catch (const std::invalid_argument&) {
      // e.g. reflect padding >= input size, or an empty output: draw again
    }
  }
}

// Asserts that f() throws std::invalid_argument with a message containing `part`.
template <class F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    BOOST_ERROR("accepted input that should fail with '" << part << "'");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST_CONTEXT("message: " << e.what()) {
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos);
    }
  }
}

}  // namespace convmat::test

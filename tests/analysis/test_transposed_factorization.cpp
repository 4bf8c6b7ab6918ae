// "Transposed convolution can be turned into a convolution" (seed 000): M_T = C·P·Z exactly,
// over random transposed layers covering rank 1–3, groups, dilation, asymmetric and negative
// padding and output_padding; the factors Z and P against index arithmetic written here.
#define BOOST_TEST_MODULE identities
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>

#include "convmat/analysis/transposed_factorization.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

using Dense = Eigen::MatrixXd;

ConvSpec random_transposed(Index max_size = 6) {
  for (;;) {
    const ConvSpec s = test::random_spec(max_size);
    if (s.is_transposed()) return s;
  }
}

// Flat C-order index of `q` in a grid of `size`, or −1 when q is outside.
Index flat(const Dims& q, const Dims& size) {
  Index f = 0;
  for (std::size_t a = 0; a < size.size(); ++a) {
    if (q[a] < 0 || q[a] >= size[a]) return -1;
    f = f * size[a] + q[a];
  }
  return f;
}

Dims coordinates(Index f, const Dims& size) {
  Dims q(size.size());
  for (std::size_t a = size.size(); a-- > 0;) {
    q[a] = f % size[a];
    f /= size[a];
  }
  return q;
}

}  // namespace

// Seed 000's picture: trans_conv([[0, 1], [2, 3]], K = [[0, 1], [2, 3]]) is the convolution of
// the input padded by k − 1 = 1 with the flipped kernel [[3, 2], [1, 0]].
BOOST_AUTO_TEST_CASE(seed_000_padding_and_flipped_kernel) {
  const ConvSpec t = ConvSpec::transposed(1, 1, {2, 2}, {2, 2});
  const std::vector<double> x{0, 1, 2, 3}, k{0, 1, 2, 3};
  const auto f = transposed_as_convolution(t, k.data());
  BOOST_TEST(f.convolution_weight == (std::vector<double>{3, 2, 1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(f.convolution_spec.input_size() == (Dims{4, 4}), boost::test_tools::per_element());
  const Eigen::Map<const Eigen::VectorXd> xv(x.data(), 4);
  const Eigen::VectorXd padded = f.padding * (f.zero_insertion * xv);
  const Eigen::VectorXd seed_padded =
      (Eigen::VectorXd(16) << 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 3, 0, 0, 0, 0, 0).finished();
  BOOST_TEST((padded == seed_padded));
  const Eigen::VectorXd y = f.product() * xv;
  const Eigen::VectorXd seed_y = (Eigen::VectorXd(9) << 0, 0, 1, 0, 4, 6, 4, 12, 9).finished();
  BOOST_TEST((y == seed_y));
}

// Seed 000's stride-2 case: zero insertion puts one zero between the inputs.
BOOST_AUTO_TEST_CASE(seed_000_stride_two) {
  const ConvSpec t = ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2});
  const std::vector<double> x{0, 1, 2, 3}, k{0, 1, 2, 3};
  const auto f = transposed_as_convolution(t, k.data());
  const Eigen::VectorXd z = f.zero_insertion * Eigen::Map<const Eigen::VectorXd>(x.data(), 4);
  BOOST_TEST((z == (Eigen::VectorXd(9) << 0, 0, 1, 0, 0, 0, 2, 0, 3).finished()));
  const Eigen::VectorXd y = f.product() * Eigen::Map<const Eigen::VectorXd>(x.data(), 4);
  BOOST_TEST(
      (y == (Eigen::VectorXd(16) << 0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9).finished()));
}

// Z and P against the definitions z[c, i·s] = x[c, i] and p[c, i + b] = x[c, i], entry by entry.
BOOST_AUTO_TEST_CASE(zero_insertion_and_padding_by_index_arithmetic) {
  for (int trial = 0; trial < 200; ++trial) {
    const int rank = static_cast<int>(test::uniform(1, 3));
    const Index channels = test::uniform(1, 3);
    Dims n, s, b, e, inserted, padded;
    for (int a = 0; a < rank; ++a) {
      n.push_back(test::uniform(1, 5));
      s.push_back(test::uniform(1, 3));
      b.push_back(test::uniform(-2, 3));
      e.push_back(test::uniform(-2, 3));
      if (n.back() + b.back() + e.back() < 1) e.back() = 1 - n.back() - b.back();
      inserted.push_back((n.back() - 1) * s.back() + 1);
      padded.push_back(n.back() + b.back() + e.back());
    }
    const Dense z(zero_insertion_matrix<double>(channels, n, s));
    const Dense p(zero_padding_matrix<double>(channels, n, b, e));
    Index in = 1, ins = 1, pad = 1;
    for (int a = 0; a < rank; ++a) {
      in *= n[a];
      ins *= inserted[a];
      pad *= padded[a];
    }
    Dense z_ref = Dense::Zero(channels * ins, channels * in);
    Dense p_ref = Dense::Zero(channels * pad, channels * in);
    for (Index c = 0; c < channels; ++c) {
      for (Index i = 0; i < in; ++i) {
        Dims q = coordinates(i, n), qz = q, qp = q;
        for (int a = 0; a < rank; ++a) {
          qz[a] *= s[a];
          qp[a] += b[a];
        }
        z_ref(c * ins + flat(qz, inserted), c * in + i) = 1;
        if (flat(qp, padded) >= 0) p_ref(c * pad + flat(qp, padded), c * in + i) = 1;
      }
    }
    BOOST_TEST_CONTEXT("n=" << dims_to_string(n) << " s=" << dims_to_string(s)
                            << " channels=" << channels) {
      BOOST_TEST((z == z_ref));
      BOOST_TEST((p == p_ref));
    }
  }
}

// The identity itself: C·P·Z equals the transposed layer's matrix entry by entry, and applied to
// an input equals the scatter loops. Integer data: exact.
BOOST_AUTO_TEST_CASE(transposed_convolution_is_a_convolution_on_random_layers) {
  int by_rank[3] = {0, 0, 0}, grouped = 0, dilated = 0, cropped = 0, output_padded = 0;
  const int layers = 1500;
  for (int i = 0; i < layers; ++i) {
    const ConvSpec t = random_transposed();
    BOOST_TEST_CONTEXT("layer " << i << ": " << t.to_string()) {
      const auto weight = test::integer_tensor<double>(t.weight_numel());
      const auto f = transposed_as_convolution(t, weight.data());
      BOOST_TEST(f.convolution_spec.output_size() == t.output_size(),
                 boost::test_tools::per_element());
      const Dense product(f.product());
      const Dense layer(ConvMatrix<double>(t, weight.data()).matrix());
      BOOST_REQUIRE(product.rows() == layer.rows());
      BOOST_REQUIRE(product.cols() == layer.cols());
      BOOST_TEST((product == layer));
      const auto x = test::integer_tensor<double>(t.input_numel());
      std::vector<double> y(static_cast<std::size_t>(t.output_numel()));
      direct_forward(t, x.data(), 1, weight.data(), static_cast<const double*>(nullptr), y.data());
      const Eigen::VectorXd by_product =
          f.product() * Eigen::Map<const Eigen::VectorXd>(x.data(), t.input_numel());
      BOOST_TEST((by_product == Eigen::Map<const Eigen::VectorXd>(y.data(), t.output_numel())));
    }
    ++by_rank[t.rank() - 1];
    grouped += t.groups() > 1;
    bool d = false, c = false, a = false;
    for (int ax = 0; ax < t.rank(); ++ax) {
      d = d || t.dilation()[ax] > 1;
      c = c || t.dilation()[ax] * (t.kernel_size()[ax] - 1) < t.pad_begin()[ax] ||
          t.dilation()[ax] * (t.kernel_size()[ax] - 1) + t.output_padding()[ax] < t.pad_end()[ax];
      a = a || t.output_padding()[ax] > 0;
    }
    dilated += d;
    cropped += c;  // P crops somewhere (a negative amount)
    output_padded += a;
  }
  for (int r : by_rank) BOOST_TEST(r > layers / 5);
  BOOST_TEST(grouped > layers / 4);
  BOOST_TEST(dilated > layers / 4);
  BOOST_TEST(cropped > layers / 20);
  BOOST_TEST(output_padded > layers / 5);
}

// flipped_weight: the PyTorch recipe w.flip(spatial).view(g, C_in/g, C_out/g, *k).transpose(1, 2),
// written here index by index for a 2-d grouped layer.
BOOST_AUTO_TEST_CASE(flipped_weight_swaps_channels_within_groups) {
  const ConvSpec t =
      ConvSpec::transposed(4, 6, {3, 3}, {2, 3}, {1}, {0}, {}, 2);  // weight (4, 3, 2, 3)
  std::vector<double> w(static_cast<std::size_t>(t.weight_numel()));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>(i);
  const auto f = flipped_weight(t, w.data());  // (6, 2, 2, 3)
  for (Index o = 0; o < 6; ++o) {
    for (Index i = 0; i < 2; ++i) {
      for (Index k0 = 0; k0 < 2; ++k0) {
        for (Index k1 = 0; k1 < 3; ++k1) {
          const Index g = o / 3;
          const Index src = (((g * 2 + i) * 3 + o % 3) * 2 + (1 - k0)) * 3 + (2 - k1);
          BOOST_TEST(f[static_cast<std::size_t>(((o * 2 + i) * 2 + k0) * 3 + k1)] ==
                     w[static_cast<std::size_t>(src)]);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_arguments_are_rejected_with_the_rule) {
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3}, {2});
  BOOST_CHECK_EXCEPTION(
      flipped_convolution(conv), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()).find("needs a transposed convolution") != std::string::npos;
      });
  BOOST_CHECK_EXCEPTION(zero_padding_matrix<double>(1, {3}, {-2}, {-1}), std::invalid_argument,
                        [](const std::invalid_argument& e) {
                          return std::string(e.what()).find(
                                     "padded size must be >= 1, got size[0] + pad_begin + pad_end "
                                     "= 3 + -2 + -1 = 0") != std::string::npos;
                        });
  BOOST_CHECK_EXCEPTION(zero_insertion_matrix<double>(1, {3, 3}, {1, 0}), std::invalid_argument,
                        [](const std::invalid_argument& e) {
                          return std::string(e.what()).find("stride[1] = 0") != std::string::npos;
                        });
  BOOST_CHECK_THROW(zero_insertion_matrix<double>(1, {3, 3}, {1, 2, 3}), std::invalid_argument);
}

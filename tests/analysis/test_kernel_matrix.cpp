// The kernel-side matrix A(x): y = A(x)·vec(weight) against the direct loops, A(x)ᵀ·g against the
// weight gradient taken from the loops (⟨g, layer(x; e_j)⟩ for unit weight tensors e_j), on
// random layers of both kinds and every padding mode; least squares on A(x) recovers a kernel.
#define BOOST_TEST_MODULE kernel_matrix
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "analysis_test_util.hpp"
#include "convmat/analysis/kernel_matrix.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

template <class Scalar>
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
Eigen::Map<const Vec<Scalar>> view(const std::vector<Scalar>& v) {
  return Eigen::Map<const Vec<Scalar>>(v.data(), static_cast<Index>(v.size()));
}

template <class Scalar>
std::vector<Scalar> forward(const ConvSpec& spec, const std::vector<Scalar>& x, Index batch,
                            const std::vector<Scalar>& weight) {
  std::vector<Scalar> y(static_cast<std::size_t>(batch * spec.output_numel()));
  direct_forward(spec, x.data(), batch, weight.data(), static_cast<const Scalar*>(nullptr),
                 y.data());
  return y;
}

template <class Scalar>
void check_layer(const ConvSpec& spec, bool full_gradient) {
  const Index batch = test::uniform(1, 3);
  const auto x = test::integer_tensor<Scalar>(batch * spec.input_numel());
  const auto weight = test::integer_tensor<Scalar>(spec.weight_numel());
  const auto g = test::integer_tensor<Scalar>(batch * spec.output_numel());
  const auto a = kernel_matrix(spec, x.data(), batch);
  BOOST_REQUIRE(a.rows() == batch * spec.output_numel());
  BOOST_REQUIRE(a.cols() == spec.weight_numel());

  // y = A(x)·vec(K) is the layer.
  const Vec<Scalar> y = a * view(weight);
  BOOST_TEST((y == view(forward(spec, x, batch, weight))));

  // ⟨A(x)ᵀg, δK⟩ = ⟨g, layer(x; δK)⟩ for a random integer δK.
  const Vec<Scalar> grad = a.transpose() * view(g);
  const auto dk = test::integer_tensor<Scalar>(spec.weight_numel());
  BOOST_TEST(double(grad.dot(view(dk))) == test::dot(g, forward(spec, x, batch, dk)));

  // Every component: (A(x)ᵀg)_j = ⟨g, layer(x; e_j)⟩ — the weight gradient from the loops.
  if (full_gradient) {
    std::vector<Scalar> e(static_cast<std::size_t>(spec.weight_numel()), Scalar(0));
    bool all_equal = true;
    for (Index j = 0; j < spec.weight_numel(); ++j) {
      e[static_cast<std::size_t>(j)] = 1;
      all_equal = all_equal && double(grad(j)) == test::dot(g, forward(spec, x, batch, e));
      e[static_cast<std::size_t>(j)] = 0;
    }
    BOOST_TEST(all_equal);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(kernel_matrix_is_the_layer_and_its_transpose_the_weight_gradient) {
  int by_kind[2] = {0, 0}, by_mode[4] = {0, 0, 0, 0};
  const int layers = 1200;
  for (int n = 0; n < layers; ++n) {
    const ConvSpec spec = test::random_spec(6);
    BOOST_TEST_CONTEXT("layer " << n << ": " << spec.to_string()) {
      if (n % 2 == 0) {
        check_layer<double>(spec, n % 4 == 0);
      } else {
        check_layer<float>(spec, false);
      }
    }
    ++by_kind[spec.is_transposed()];
    ++by_mode[static_cast<int>(spec.padding_mode())];
  }
  for (int c : by_kind) BOOST_TEST(c > layers / 4);
  for (int c : by_mode) BOOST_TEST(c > layers / 20);
}

// Seed 000's kernel2matrix example read the other way: X = arange(9) 3×3, K 2×2, Y = [[27, 37],
// [57, 67]]. A(X) holds the four 2×2 patches [0 1 3 4] + (3i + j): they span only {[0 1 3 4],
// [1 1 1 1]}, so one ramp image cannot determine a 2×2 kernel — rank 2, and the minimum-norm
// estimate reproduces Y without being K.
BOOST_AUTO_TEST_CASE(seed_000_ramp_determines_only_two_directions) {
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const std::vector<double> x{0, 1, 2, 3, 4, 5, 6, 7, 8}, y{27, 37, 57, 67};
  const Eigen::MatrixXd a(kernel_matrix(conv, x.data()));
  Eigen::MatrixXd patches(4, 4);
  patches << 0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8;
  BOOST_TEST((a == patches));
  const KernelEstimate e = estimate_kernel(conv, x.data(), y.data());
  BOOST_TEST(e.rank == 2);
  BOOST_TEST(e.relative_residual <= 1e-14);
  const Eigen::Map<const Eigen::VectorXd> w(e.weight.data(), 4);
  BOOST_TEST((w - Eigen::Vector4d(1, 2, 3, 4)).norm() > 0.1);  // not K …
  // … but the minimum-norm one: orthogonal to null(A(X)).
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(patches);
  BOOST_TEST((lu.kernel().transpose() * w).norm() <= 1e-12);
}

// Recovery: a random real kernel from one input/output pair with more outputs than weights,
// convolution and transposed convolution, 1-d to 3-d, groups. Tolerance: the solve is backward
// stable, so ‖ŵ − w‖/‖w‖ <= c·κ(A)·ε with κ(A) from the singular values of A(x).
BOOST_AUTO_TEST_CASE(least_squares_recovers_the_kernel) {
  std::mt19937_64 engine(7);
  const ConvSpec specs[] = {
      ConvSpec::convolution(1, 1, {8, 8}, {3, 3}),
      ConvSpec::convolution(2, 4, {7, 6}, {3, 2}, {2, 1}, {1}, {1}, 2),
      ConvSpec::convolution(1, 2, {20}, {5}, {1}, {2}, {2}, 1, PaddingMode::reflect),
      ConvSpec::transposed(2, 2, {5, 5}, {3, 3}, {2}, {1}),
      ConvSpec::transposed(1, 1, {3, 3, 3}, {2, 2, 2}, {1}),
  };
  for (const ConvSpec& spec : specs) {
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const auto x = test::random_real(spec.input_numel(), engine);
      const auto w = test::random_real(spec.weight_numel(), engine);
      const auto y = forward(spec, x, 1, w);
      const KernelEstimate e = estimate_kernel(spec, x.data(), y.data());
      BOOST_TEST(e.rank == spec.weight_numel());
      const Eigen::JacobiSVD<Eigen::MatrixXd> svd(Eigen::MatrixXd(kernel_matrix(spec, x.data())));
      const auto& s = svd.singularValues();
      const double kappa = s(0) / s(s.size() - 1);
      const double err = (view(e.weight) - view(w)).norm() / view(w).norm();
      BOOST_TEST(err <= 10 * kappa * std::numeric_limits<double>::epsilon() *
                            static_cast<double>(y.size()));
      BOOST_TEST(e.relative_residual <=
                 10 * std::numeric_limits<double>::epsilon() * static_cast<double>(y.size()));
    }
  }
}

BOOST_AUTO_TEST_CASE(estimate_kernel_refuses_large_problems) {
  // A(x) is 67600 × 288 (outputs × weights): more than 2²² entries.
  const ConvSpec spec = ConvSpec::convolution(8, 4, {130, 130}, {3, 3}, {1}, {1});
  const std::vector<float> x(static_cast<std::size_t>(spec.input_numel()), 1.0f);
  const std::vector<float> y(static_cast<std::size_t>(spec.output_numel()), 1.0f);
  BOOST_CHECK_EXCEPTION(
      estimate_kernel(spec, x.data(), y.data()), std::invalid_argument,
      [](const std::invalid_argument& e) {
        return std::string(e.what()).find("estimate_kernel: a dense 67600x288 matrix") !=
                   std::string::npos &&
               std::string(e.what()).find("dense limit of 4194304 (2^22) entries") !=
                   std::string::npos;
      });
  BOOST_CHECK_THROW(kernel_matrix(spec, static_cast<const float*>(nullptr)), std::invalid_argument);
  BOOST_CHECK_THROW(kernel_matrix(spec, x.data(), 0), std::invalid_argument);
}

// SLEPc's extreme singular values of the distributed W (convmat/distributed/spectrum.hpp), under
// mpirun with 1, 2 and 3 ranks, against the serial dense SVD (LAPACK) and the serial Lanczos
// (Spectra) on the same layers: convolutions and transposed layers, tall and wide, a
// rank-deficient one, the benchmark's ill-conditioned Gaussian blur; zeros, and invalid options.
#define BOOST_TEST_MODULE distributed_spectrum
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "convmat/analysis/spectrum.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/distributed.hpp"
#include "mpi_fixture.hpp"
#include "test_util.hpp"

using namespace convmat;
using namespace convmat::distributed;

BOOST_TEST_GLOBAL_FIXTURE(MpiSession);

namespace {

MPI_Comm world() { return PETSC_COMM_WORLD; }

// Lanczos-type methods may return a repeated singular value fewer times than its multiplicity
// (spectrum.hpp), so `got` (largest: descending, smallest: ascending) is checked against the
// dense values σ (descending) by what holds regardless: the first is σ₁ (σ_min), every value is
// within tol of one of σ, and the i-th is no further out than σ's i-th from that end.
void check_extremes(const Eigen::VectorXd& got, const Eigen::VectorXd& sigma, bool largest,
                    double tol) {
  const Index k = sigma.size();
  auto from_end = [&](Index i) { return largest ? sigma(i) : sigma(k - 1 - i); };
  BOOST_TEST(std::abs(got(0) - from_end(0)) <= tol);
  for (Index i = 0; i < got.size(); ++i) {
    BOOST_TEST_CONTEXT("value " << i << " = " << got(i)) {
      BOOST_TEST((sigma.array() - got(i)).abs().minCoeff() <= tol);
      BOOST_TEST((largest ? got(i) <= from_end(i) + tol : got(i) >= from_end(i) - tol));
      if (i > 0) BOOST_TEST((largest ? got(i) <= got(i - 1) : got(i) >= got(i - 1)));
    }
  }
}

// The distributed extreme values against the dense SVD's, within tol = 1e-8·σ₁ (the Lanczos
// tolerance is relative; squaring in the Gram matrix costs √ε·σ₁ at the small end).
void check_against_dense(const ConvSpec& spec, const std::vector<double>& weight,
                         SmallestMethod method, Index count = 3) {
  const ConvMatrix<double> serial(spec, weight.data());
  const SingularValues dense = singular_values(serial);
  const Index k = dense.values.size();
  const double s1 = dense.values(0), tol = 1e-8 * s1;
  const DistributedConvMatrix d(world(), spec, weight.data());
  PartialSpectrumOptions o;
  o.count = count;
  const PartialSingularValues hi = largest_singular_values(d, o);
  const PartialSingularValues lo = smallest_singular_values(d, o, method);
  BOOST_TEST_CONTEXT(spec.to_string() << "\ndense σ: " << dense.values.transpose()
                                      << "\nlargest: " << hi.values.transpose()
                                      << "\nsmallest: " << lo.values.transpose()) {
    BOOST_TEST_REQUIRE((hi.status == SpectrumStatus::converged));
    BOOST_TEST_REQUIRE((lo.status == SpectrumStatus::converged));
    BOOST_TEST_REQUIRE(hi.values.size() == count);
    BOOST_TEST_REQUIRE(lo.values.size() == count);
    BOOST_TEST(hi.gram_size == std::min(serial.rows(), serial.cols()));
    check_extremes(hi.values, dense.values, true, tol);
    check_extremes(lo.values, dense.values, false, tol);
    const ConditionEstimate c = condition_number(d, o, method);
    BOOST_TEST((c.status == SpectrumStatus::converged));
    BOOST_TEST(std::abs(c.sigma_max - s1) <= tol);
    BOOST_TEST(std::abs(c.sigma_min - dense.values(k - 1)) <= tol);
  }
}

// The benchmark's blur: a 7×7 Gaussian (σ = 1) normalized to sum 1 on an n×n image.
std::vector<double> gaussian() {
  std::vector<double> k(49);
  double sum = 0;
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < 7; ++j) {
      sum += k[std::size_t(i * 7 + j)] =
          std::exp(-double((i - 3) * (i - 3) + (j - 3) * (j - 3)) / 2);
    }
  }
  for (double& v : k) v /= sum;
  return k;
}

}  // namespace

BOOST_AUTO_TEST_CASE(extreme_values_equal_the_dense_svd) {
  const std::vector<ConvSpec> specs{
      ConvSpec::convolution(2, 3, {9, 8}, {3, 3}, {1}, {1}),                  // tall
      ConvSpec::convolution(3, 2, {10, 7}, {3, 2}, {2, 1}, {0, 1}, {1, 2}),   // wide, stride
      ConvSpec::transposed(4, 2, {6, 5}, {3, 3}, {2, 1}, {1, 0}, {1, 0}, 2),  // groups
      ConvSpec::convolution(2, 2, {12}, {3}, {1}, {1}, {1}, 1, PaddingMode::reflect),
      ConvSpec::transposed(2, 3, {3, 3, 4}, {2, 2, 3}, {2, 1, 2}),
  };
  for (const ConvSpec& spec : specs) {
    const auto w = test::integer_tensor<double>(spec.weight_numel());
    check_against_dense(spec, w, SmallestMethod::shift_invert);
    check_against_dense(spec, w, SmallestMethod::lanczos, 2);
  }
}

BOOST_AUTO_TEST_CASE(rank_deficient_and_ill_conditioned_layers) {
  // Seed 000's 3×3 → 2×2 convolution repeated over channels: wide, σ_min > 0; and a 1×1 layer
  // with two equal output channels: rank deficient, σ_min = 0 (up to rounding).
  const ConvSpec twice = ConvSpec::convolution(2, 2, {6, 6}, {1, 1});
  const std::vector<double> equal{1, 2, 1, 2};
  const ConvMatrix<double> serial(twice, equal.data());
  const DistributedConvMatrix d(world(), twice, equal.data());
  PartialSpectrumOptions o;
  o.count = 2;
  const PartialSingularValues lo = smallest_singular_values(d, o);
  BOOST_TEST((lo.status == SpectrumStatus::converged));
  const double s1 = singular_values(serial).values(0);
  BOOST_TEST(lo.values(0) <= 1e-7 * s1);  // √(δ) level: rank deficiency is resolved as ~0
  // The blur of the benchmark's deconvolution problem on 24×24 (324 × 576): against the dense
  // SVD, and the condition number against the serial Lanczos (Spectra, shift-invert).
  const ConvSpec blur = ConvSpec::convolution(1, 1, {24, 24}, {7, 7});
  const std::vector<double> g = gaussian();
  const ConvMatrix<double> sb(blur, g.data());
  const DistributedConvMatrix db(world(), blur, g.data());
  const SingularValues dense = singular_values(sb);
  o.count = 3;
  const PartialSingularValues lo3 = smallest_singular_values(db, o);
  const PartialSingularValues hi3 = largest_singular_values(db, o);
  BOOST_TEST_REQUIRE(lo3.values.size() == 3);
  BOOST_TEST_REQUIRE(hi3.values.size() == 3);
  check_extremes(hi3.values, dense.values, true, 1e-9 * dense.values(0));
  check_extremes(lo3.values, dense.values, false, 1e-9 * dense.values(0));
  const ConditionEstimate c = condition_number(db, o);
  const ConditionEstimate cs = condition_number(layer_matrix(sb), o);
  BOOST_TEST(c.value > 100.0);
  BOOST_TEST(std::abs(c.value - cs.value) <= 1e-6 * cs.value);
}

BOOST_AUTO_TEST_CASE(zero_layer_and_invalid_options) {
  const ConvSpec spec = ConvSpec::convolution(1, 2, {8, 8}, {3, 3});
  const std::vector<double> zero(static_cast<std::size_t>(spec.weight_numel()), 0.0);
  const DistributedConvMatrix d(world(), spec, zero.data());
  const PartialSingularValues z = largest_singular_values(d);
  BOOST_TEST((z.status == SpectrumStatus::converged));
  BOOST_TEST(z.values.size() == 6);
  BOOST_TEST(z.values.norm() == 0.0);
  PartialSpectrumOptions bad;
  bad.count = 64;  // W is 72 × 64
  test::expect_error([&] { largest_singular_values(d, bad); },
                     "largest_singular_values: count must satisfy 1 <= count < min(rows, cols) = "
                     "64, got count = 64");
  bad.count = 2;
  bad.tolerance = 0;
  test::expect_error([&] { smallest_singular_values(d, bad); }, "tolerance > 0");
}

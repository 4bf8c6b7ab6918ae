// Singular values: the dense path against Eigen's JacobiSVD (an independent algorithm), rank and
// nullity on layers with known null spaces, Spectra's largest / smallest against the dense
// values, and the circular-convolution FFT formula (Sedghi, Gupta & Long) against the dense SVD
// of the explicit W.
//
// Tolerances: two backward-stable SVDs of A agree to within c·ε·‖A‖₂·max(m, n); we use c = 8.
#define BOOST_TEST_MODULE spectrum
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "analysis_test_util.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

Eigen::VectorXd jacobi_values(const SparseMatrixd& a) {
  return Eigen::JacobiSVD<Eigen::MatrixXd>(Eigen::MatrixXd(a)).singularValues();
}

double svd_tolerance(const Eigen::VectorXd& sigma, Index rows, Index cols) {
  return 8 * eps * (sigma.size() ? sigma(0) : 0.0) * static_cast<double>(std::max(rows, cols));
}

SparseMatrixd layer(const ConvSpec& spec, const std::vector<double>& w) {
  return ConvMatrix<double>(spec, w.data()).matrix();
}

// A random same-size circular convolution: p0 + p1 = d(k − 1), each <= n.
ConvSpec random_circular() {
  for (;;) {
    ConvParams p;
    const int rank = static_cast<int>(test::uniform(1, 3));
    p.groups = test::uniform(1, 2);
    p.in_channels = p.groups * test::uniform(1, 2);
    p.out_channels = p.groups * test::uniform(1, 3);
    p.padding_mode = PaddingMode::circular;
    bool ok = true;
    for (int a = 0; a < rank; ++a) {
      const Index n = test::uniform(2, rank == 3 ? 4 : 6), k = test::uniform(1, rank == 3 ? 2 : 3);
      const Index d = test::uniform(1, 2), total = d * (k - 1), p0 = test::uniform(0, total);
      p.input_size.push_back(n);
      p.kernel_size.push_back(k);
      p.dilation.push_back(d);
      p.pad_begin.push_back(p0);
      p.pad_end.push_back(total - p0);
      ok = ok && p0 <= n && total - p0 <= n;
    }
    if (ok) return ConvSpec(p);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dense)

// JacobiSVD is slow (O(n³) sweeps, about 12 s at 512 × 512), so layers up to 160 rows and columns.
BOOST_AUTO_TEST_CASE(agrees_with_jacobi_svd_on_random_layers) {
  int compared = 0;
  while (compared < 300) {
    const ConvSpec spec = test::random_spec(4);
    if (std::max(spec.input_numel(), spec.output_numel()) > 160) continue;
    ++compared;
    const auto w = test::integer_tensor<double>(spec.weight_numel());
    const SparseMatrixd a = layer(spec, w);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const SingularValues s = singular_values(a);
      BOOST_TEST((s.status == SpectrumStatus::converged));
      const Eigen::VectorXd ref = jacobi_values(a);
      BOOST_REQUIRE(s.values.size() == std::min(a.rows(), a.cols()));
      BOOST_TEST((s.values - ref).cwiseAbs().maxCoeff() <= svd_tolerance(ref, a.rows(), a.cols()));
      BOOST_TEST(s.tolerance == default_rank_tolerance(a.rows(), a.cols(), s.values(0)));
      BOOST_TEST(s.rank == (ref.array() > s.tolerance).count());
      BOOST_TEST(s.nullity == a.cols() - s.rank);
      // The ConvMatrix overload is the same matrix.
      BOOST_TEST((singular_values(ConvMatrix<double>(spec, w.data())).values == s.values));
    }
  }
}

// Seed 000: the 3×3 → 2×2 convolution W (4×9) has rank 4 and a 5-dimensional null space — it is
// not invertible; the transposed layer (9×4) has full column rank.
BOOST_AUTO_TEST_CASE(seed_000_ranks) {
  const std::vector<double> k{1, 2, 3, 4};
  const SingularValues conv =
      singular_values(layer(ConvSpec::convolution(1, 1, {3, 3}, {2, 2}), k));
  BOOST_TEST(conv.rank == 4);
  BOOST_TEST(conv.nullity == 5);
  BOOST_TEST(std::isfinite(conv.condition_number));
  const SingularValues t = singular_values(layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}), k));
  BOOST_TEST(t.rank == 4);
  BOOST_TEST(t.nullity == 0);
  BOOST_TEST((t.values - conv.values).cwiseAbs().maxCoeff() <= svd_tolerance(conv.values, 9, 4));
}

// The circular difference kernel [1, −1] annihilates constants: rank n − 1, nullity 1,
// condition number ∞, effective condition number σ_1/σ_{n−1} = 1/sin(π/n) (σ_f = 2|sin(πf/n)|).
// A zero kernel has rank 0.
BOOST_AUTO_TEST_CASE(known_null_spaces) {
  const Index n = 12;
  const ConvSpec same = test::circular_difference(n);
  const SingularValues s = singular_values(layer(same, {1, -1}));
  BOOST_TEST(s.rank == n - 1);
  BOOST_TEST(s.nullity == 1);
  BOOST_TEST(std::isinf(s.condition_number));
  const double pi = std::acos(-1.0);
  BOOST_TEST(std::abs(s.effective_condition_number - 1 / std::sin(pi / n)) <= 64 * eps);
  const SingularValues zero =
      singular_values(layer(ConvSpec::convolution(1, 2, {5}, {3}), {0, 0, 0, 0, 0, 0}));
  BOOST_TEST(zero.rank == 0);
  BOOST_TEST(zero.nullity == 5);
  BOOST_TEST(std::isinf(zero.condition_number));
  BOOST_TEST(std::isinf(zero.effective_condition_number));
  // A stated tolerance replaces the default.
  // σ_f > 1.9 ⇔ sin(πf/12) > 0.95: f = 5, 6, 7 (75°, 90°, 105°).
  BOOST_TEST(singular_values(layer(same, {1, -1}), 1.9).rank == 3);
}

BOOST_AUTO_TEST_CASE(refuses_matrices_past_the_dense_limit) {
  SparseMatrixd big(4096, 1025);
  BOOST_CHECK_EXCEPTION(
      singular_values(big), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()) ==
               "singular_values: a dense 4096x1025 matrix has 4198400 entries, more than the dense "
               "limit of 4194304 (2^22) entries";
      });
  BOOST_CHECK_NO_THROW(singular_values(SparseMatrixd(4096, 1024)));
}

// NaN or infinity in A is an input error named with its entry, before LAPACK or Spectra see it.
BOOST_AUTO_TEST_CASE(refuses_non_finite_entries) {
  SparseMatrixd a(3, 4);
  a.insert(0, 0) = 1;
  a.insert(2, 1) = std::numeric_limits<double>::quiet_NaN();
  a.makeCompressed();
  test::expect_error([&] { singular_values(a); },
                     "singular_values: A must be finite, got A(2, 1) = nan");
  test::expect_error([&] { largest_singular_values(a); },
                     "largest_singular_values: A must be finite, got A(2, 1) = nan");
  test::expect_error([&] { smallest_singular_values(a); },
                     "smallest_singular_values: A must be finite, got A(2, 1) = nan");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lanczos)

// Largest and smallest six against the dense values, for a wide W, a tall transposed layer and a
// multi-channel strided layer (random real kernels: distinct singular values).
BOOST_AUTO_TEST_CASE(largest_and_smallest_agree_with_dense) {
  std::mt19937_64 engine(11);
  const ConvSpec specs[] = {
      ConvSpec::convolution(1, 1, {20, 20}, {3, 3}),
      ConvSpec::transposed(1, 1, {18, 18}, {3, 3}),
      ConvSpec::convolution(2, 3, {12, 12}, {3, 3}, {2}, {1}),
      ConvSpec::convolution(1, 1, {300}, {7}, {1}, {3}),
  };
  for (const ConvSpec& spec : specs) {
    const SparseMatrixd a = layer(spec, test::random_real(spec.weight_numel(), engine));
    const Eigen::VectorXd all = singular_values(a).values;
    const Index k = all.size();
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const PartialSingularValues hi = largest_singular_values(a);
      const PartialSingularValues lo = smallest_singular_values(a);
      BOOST_TEST((hi.status == SpectrumStatus::converged));
      BOOST_TEST((lo.status == SpectrumStatus::converged));
      BOOST_REQUIRE(hi.values.size() == 6);
      BOOST_REQUIRE(lo.values.size() == 6);
      BOOST_TEST(hi.gram_size == k);
      const double tol = 1e-8 * all(0);
      BOOST_TEST((hi.values - all.head(6)).cwiseAbs().maxCoeff() <= tol);
      BOOST_TEST((lo.values - all.tail(6).reverse()).cwiseAbs().maxCoeff() <= tol);
      const ConditionEstimate c = condition_number(a);
      BOOST_TEST((c.status == SpectrumStatus::converged));
      BOOST_TEST(std::abs(c.value - all(0) / all(k - 1)) <= 1e-7 * all(0) / all(k - 1));
    }
  }
}

// Rank-deficient A: the shifted Gram matrix is still positive definite; the zero singular value
// comes out at rounding level (below √ε·σ_1).
BOOST_AUTO_TEST_CASE(smallest_of_a_rank_deficient_layer) {
  const SparseMatrixd a = layer(test::circular_difference(200), {1, -1});
  PartialSpectrumOptions one;
  one.count = 1;
  const PartialSingularValues lo = smallest_singular_values(a, one);
  BOOST_TEST((lo.status == SpectrumStatus::converged));
  BOOST_REQUIRE(lo.values.size() == 1);
  BOOST_TEST(lo.values(0) <= std::sqrt(eps) * 2.0);  // σ_1 = 2
  // A = 0 (Lanczos would break down): zeros, converged.
  for (const PartialSingularValues& zero : {smallest_singular_values(SparseMatrixd(30, 40), one),
                                            largest_singular_values(SparseMatrixd(30, 40), one)}) {
    BOOST_TEST((zero.status == SpectrumStatus::converged));
    BOOST_TEST(zero.values.size() == 1);
    BOOST_TEST(zero.values(0) == 0.0);
  }
}

// Numerical outcomes are statuses: one restart with an unreachable tolerance does not converge.
BOOST_AUTO_TEST_CASE(non_convergence_is_a_status) {
  std::mt19937_64 engine(3);
  const ConvSpec spec = ConvSpec::convolution(1, 1, {40, 40}, {3, 3});
  const SparseMatrixd a = layer(spec, test::random_real(9, engine));
  PartialSpectrumOptions o;
  o.max_iterations = 1;
  o.tolerance = 1e-15;
  o.subspace = 13;
  const PartialSingularValues hi = largest_singular_values(a, o);
  BOOST_TEST((hi.status == SpectrumStatus::not_converged));
  BOOST_TEST(hi.values.size() < 6);
}

// The statuses' names, as every front end writes them (the enumerators' own names).
BOOST_AUTO_TEST_CASE(status_names) {
  BOOST_TEST(to_string(SpectrumStatus::converged) == "converged");
  BOOST_TEST(to_string(SpectrumStatus::not_converged) == "not_converged");
  BOOST_TEST(to_string(SpectrumStatus::numerical_issue) == "numerical_issue");
}

BOOST_AUTO_TEST_CASE(invalid_options_are_rejected_with_the_rule) {
  const SparseMatrixd a = layer(ConvSpec::convolution(1, 1, {6}, {2}), {1, 2});  // 5×6
  PartialSpectrumOptions o;
  o.count = 5;
  BOOST_CHECK_EXCEPTION(
      largest_singular_values(a, o), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()).find(
                   "count must satisfy 1 <= count < min(rows, cols) = 5, got count = 5") !=
               std::string::npos;
      });
  o.count = 2;
  o.subspace = 2;
  BOOST_CHECK_EXCEPTION(
      smallest_singular_values(a, o), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()).find(
                   "subspace must satisfy count < subspace <= min(rows, cols) = 5") !=
               std::string::npos;
      });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(circular)

// Sedghi, Gupta & Long: the FFT formula against the dense SVD of the explicit W, float64, over
// random same-size circular layers (rank 1–3, channels, groups, dilation, asymmetric padding).
BOOST_AUTO_TEST_CASE(fft_formula_equals_the_dense_svd) {
  std::mt19937_64 engine(5);
  int by_rank[3] = {0, 0, 0}, grouped = 0, dilated = 0;
  for (int i = 0; i < 300; ++i) {
    const ConvSpec spec = random_circular();
    const auto w = test::random_real(spec.weight_numel(), engine);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const CircularSpectrum fft = circular_singular_values(spec, w.data());
      const SparseMatrixd a = layer(spec, w);
      const Eigen::VectorXd dense = singular_values(a).values;
      Index spatial = 1;
      for (Index n : spec.input_size()) spatial *= n;
      BOOST_TEST(fft.by_frequency.rows() == spatial);
      BOOST_TEST(fft.by_frequency.cols() == std::min(spec.in_channels(), spec.out_channels()));
      BOOST_REQUIRE(fft.values.size() == dense.size());
      BOOST_TEST((fft.values - dense).cwiseAbs().maxCoeff() <=
                 svd_tolerance(dense, a.rows(), a.cols()));
    }
    ++by_rank[spec.rank() - 1];
    grouped += spec.groups() > 1;
    for (Index d : spec.dilation()) dilated += d > 1;
  }
  for (int r : by_rank) BOOST_TEST(r > 50);
  BOOST_TEST(grouped > 50);
  BOOST_TEST(dilated > 50);
}

// The float overload reads float weights; integer weights make it the same matrix.
BOOST_AUTO_TEST_CASE(float_weights) {
  ConvParams p;
  p.in_channels = 2;
  p.out_channels = 3;
  p.input_size = {5, 4};
  p.kernel_size = {3, 2};
  p.pad_begin = {1, 0};
  p.pad_end = {1, 1};
  p.padding_mode = PaddingMode::circular;
  const ConvSpec spec(p);
  const auto wf = test::integer_tensor<float>(spec.weight_numel());
  const std::vector<double> wd(wf.begin(), wf.end());
  BOOST_TEST((circular_singular_values(spec, wf.data()).values ==
              circular_singular_values(spec, wd.data()).values));
}

BOOST_AUTO_TEST_CASE(rejects_other_layers_with_the_rule) {
  const std::vector<double> w(9, 1.0);
  const auto rejected = [&](const ConvSpec& spec, const std::string& part) {
    try {
      circular_singular_values(spec, w.data());
      BOOST_ERROR("accepted " << spec.to_string());
    } catch (const std::invalid_argument& e) {
      BOOST_TEST_CONTEXT(e.what()) {
        BOOST_TEST(std::string(e.what()).find(part) != std::string::npos);
      }
    }
  };
  rejected(ConvSpec::convolution(1, 1, {6}, {3}, {1}, {1}), "needs circular padding");
  rejected(ConvSpec::convolution(1, 1, {6}, {3}, {2}, {1}, {1}, 1, PaddingMode::circular),
           "needs stride 1");
  rejected(ConvSpec::convolution(1, 1, {6}, {3}, {1}, {0}, {1}, 1, PaddingMode::circular),
           "needs output size = input size");
  rejected(ConvSpec::transposed(1, 1, {6}, {3}, {1}, {1}), "needs a convolution");
  // No padding at all (kernel 1): every padding mode is the same, accepted.
  BOOST_TEST(
      circular_singular_values(ConvSpec::convolution(1, 1, {6}, {1}), w.data()).values.size() == 6);
}

BOOST_AUTO_TEST_SUITE_END()

// Transposed versus inverse: the pseudo-inverse against Eigen's CompleteOrthogonalDecomposition
// (an independent factorization), the orthogonal-rows case Wᵀ = c·W⁺ (stride = kernel size, one
// channel) exactly on integer data, and the reconstruction errors against the matrix-free layer.
// Tolerance for dense comparisons: 64·ε·κ-free bound max(m, n)·‖A‖·‖A⁺‖·ε, stated per test.
#define BOOST_TEST_MODULE pseudo_inverse
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "analysis_test_util.hpp"
#include "convmat/analysis/pseudo_inverse.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

Eigen::VectorXd vec(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Index>(v.size()));
}

}  // namespace

// Stride = kernel size, one output channel: the windows do not overlap, W Wᵀ = ‖k‖²·I exactly,
// so Wᵀ = 30·W⁺ for k = [[1, 2], [3, 4]] (‖Wᵀ − W⁺‖_F/‖W⁺‖_F = |c − 1| = 29). The transposed
// layer (seed 002's, 2×2 → 4×4) has orthogonal columns: WᵀW x = 30x, so reconstructing x by the
// transpose is off by exactly 29·‖x‖, by the scaled transpose or the pseudo-inverse not at all.
BOOST_AUTO_TEST_CASE(stride_equal_to_kernel_size_has_orthogonal_rows) {
  const std::vector<double> k{1, 2, 3, 4};
  const ConvMatrix<double> conv(ConvSpec::convolution(1, 1, {6, 6}, {2, 2}, {2}), k.data());
  const TransposeVersusInverse c = transpose_versus_inverse(conv);
  BOOST_TEST((c.status == SpectrumStatus::converged));
  BOOST_TEST(c.rows == 9);
  BOOST_TEST(c.cols == 36);
  BOOST_TEST(c.rank == 9);
  BOOST_TEST(c.scale == 30.0);
  BOOST_TEST(c.gram_error == 0.0);
  BOOST_TEST(c.orthogonal_rows);
  BOOST_TEST(!c.orthogonal_columns);
  BOOST_TEST(std::abs(c.relative_difference - 29) <= 64 * eps * 29);
  BOOST_TEST(c.scaled_relative_difference <= 64 * eps);
  BOOST_TEST(std::abs(c.scaled_transpose_reconstruction_error - c.inverse_reconstruction_error) <=
             64 * eps);
  BOOST_TEST(c.inverse_reconstruction_error > 0.1);  // wide: x's part in null(W) is lost

  const ConvMatrix<double> t(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2}), k.data());
  const TransposeVersusInverse tt = transpose_versus_inverse(t);
  BOOST_TEST(tt.rows == 16);
  BOOST_TEST(tt.cols == 4);
  BOOST_TEST(tt.orthogonal_columns);
  BOOST_TEST(!tt.orthogonal_rows);
  BOOST_TEST(tt.scale == 30.0);
  BOOST_TEST(std::abs(tt.transpose_reconstruction_error - 29) <= 64 * eps * 29);
  BOOST_TEST(tt.scaled_transpose_reconstruction_error <= 64 * eps);
  BOOST_TEST(tt.inverse_reconstruction_error <= 64 * eps);

  // Random real kernels, 1-d to 3-d: orthogonal up to rounding, within the default tolerance.
  std::mt19937_64 engine(1);
  const ConvSpec specs[] = {ConvSpec::convolution(1, 1, {12}, {3}, {3}),
                            ConvSpec::convolution(2, 1, {6, 4}, {3, 2}, {3, 2}),
                            ConvSpec::convolution(1, 1, {4, 4, 4}, {2, 2, 2}, {2})};
  for (const ConvSpec& spec : specs) {
    const ConvMatrix<double> w(spec, test::random_real(spec.weight_numel(), engine).data());
    const TransposeVersusInverse r = transpose_versus_inverse(w);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST(r.orthogonal_rows);
      BOOST_TEST(r.scaled_relative_difference <= 64 * eps * static_cast<double>(r.cols));
    }
  }
}

// Overlapping windows (seed 000's 3×3 → 2×2 layer) or several output channels: not orthogonal,
// Wᵀ is not a multiple of W⁺.
BOOST_AUTO_TEST_CASE(overlap_or_channels_break_orthogonality) {
  const std::vector<double> k{1, 2, 3, 4};
  const TransposeVersusInverse seed = transpose_versus_inverse(
      ConvMatrix<double>(ConvSpec::convolution(1, 1, {3, 3}, {2, 2}), k.data()));
  BOOST_TEST(!seed.orthogonal_rows);
  BOOST_TEST(seed.gram_error > 0.1);
  BOOST_TEST(seed.scaled_relative_difference > 0.1);
  std::mt19937_64 engine(2);
  const ConvSpec two = ConvSpec::convolution(1, 2, {6, 6}, {2, 2}, {2});
  const TransposeVersusInverse r =
      transpose_versus_inverse(ConvMatrix<double>(two, test::random_real(8, engine).data()));
  BOOST_TEST(!r.orthogonal_rows);
}

// Against an independent factorization: A⁺ from CompleteOrthogonalDecomposition, and the
// reconstruction errors recomputed with the matrix-free layer (apply / apply_adjoint) and
// COD's minimum-norm solve. Full-rank layers (random real kernels); tolerance
// 64·ε·max(m, n)·κ(A).
BOOST_AUTO_TEST_CASE(agrees_with_complete_orthogonal_decomposition) {
  std::mt19937_64 engine(3);
  int checked = 0;
  while (checked < 150) {
    const ConvSpec spec = test::random_spec(4);
    if (std::max(spec.input_numel(), spec.output_numel()) > 200) continue;
    const ConvMatrix<double> layer(spec, test::random_real(spec.weight_numel(), engine).data());
    const SparseMatrixd a = layer_matrix(layer);
    const SingularValues sv = singular_values(a);
    if (sv.rank < std::min(a.rows(), a.cols())) continue;  // COD and SVD may differ in rank there
    ++checked;
    const double kappa = sv.condition_number;
    const double tol = 64 * eps * static_cast<double>(std::max(a.rows(), a.cols())) * kappa;
    const Eigen::MatrixXd dense(a);
    const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(dense);
    const Eigen::MatrixXd pinv = cod.pseudoInverse();
    const auto x = test::random_real(a.cols(), engine);
    BOOST_TEST_CONTEXT(spec.to_string() << " κ = " << kappa) {
      BOOST_TEST((pseudo_inverse(a) - pinv).norm() <= tol * pinv.norm());
      const TransposeVersusInverse r = transpose_versus_inverse(layer, vec(x));
      BOOST_TEST(
          std::abs(r.relative_difference - (dense.transpose() - pinv).norm() / pinv.norm()) <=
          tol * (1 + r.relative_difference));
      const Eigen::VectorXd y = layer.apply(vec(x));
      const Eigen::VectorXd back = layer.apply_adjoint(y);
      BOOST_TEST(
          std::abs(r.transpose_reconstruction_error - (back - vec(x)).norm() / vec(x).norm()) <=
          tol * (1 + r.transpose_reconstruction_error));
      BOOST_TEST(std::abs(r.inverse_reconstruction_error -
                          (cod.solve(y) - vec(x)).norm() / vec(x).norm()) <= tol);
      if (a.rows() >= a.cols())
        BOOST_TEST(r.inverse_reconstruction_error <= tol);  // full column rank
    }
  }
}

// Rank-deficient A: pinv ignores σ <= tolerance (the circular difference kernel kills constants).
BOOST_AUTO_TEST_CASE(rank_deficient_pseudo_inverse) {
  const std::vector<double> k{1, -1};
  const SparseMatrixd a = layer_matrix(ConvMatrix<double>(test::circular_difference(8), k.data()));
  const Eigen::MatrixXd pinv = pseudo_inverse(a);
  const Eigen::MatrixXd dense(a);
  // Penrose conditions: A A⁺ A = A, A⁺ A A⁺ = A⁺, and A⁺ annihilates the constants' image.
  BOOST_TEST((dense * pinv * dense - dense).norm() <= 64 * eps * 8);
  BOOST_TEST((pinv * dense * pinv - pinv).norm() <= 64 * eps * 8);
  BOOST_TEST((pinv * dense * Eigen::VectorXd::Ones(8)).norm() <= 64 * eps * 8);
  const TransposeVersusInverse r = transpose_versus_inverse(a);
  BOOST_TEST(r.rank == 7);
}

BOOST_AUTO_TEST_CASE(invalid_arguments_are_rejected_with_the_rule) {
  const std::vector<double> k{1, 2};
  const ConvMatrix<double> w(ConvSpec::convolution(1, 1, {5}, {2}), k.data());
  BOOST_CHECK_EXCEPTION(
      transpose_versus_inverse(w, Eigen::VectorXd::Zero(4)), std::invalid_argument,
      [](const std::invalid_argument& e) {
        return std::string(e.what()) ==
               "transpose_versus_inverse: x must have 5 entries (the columns of A), got 4";
      });
  const ConvMatrix<float> big(ConvSpec::convolution(1, 1, {64, 64}, {1, 1}),
                              std::vector<float>{1.0f}.data());
  BOOST_CHECK_EXCEPTION(
      transpose_versus_inverse(big), std::invalid_argument, [](const std::invalid_argument& e) {
        return std::string(e.what()).find("transpose_versus_inverse: a dense 4096x4096 matrix") !=
               std::string::npos;
      });
  BOOST_CHECK_THROW(pseudo_inverse(SparseMatrixd(4097, 1024)), std::invalid_argument);
  // The default input is fixed: two calls agree.
  BOOST_TEST(transpose_versus_inverse(w).transpose_reconstruction_error ==
             transpose_versus_inverse(w).transpose_reconstruction_error);
}

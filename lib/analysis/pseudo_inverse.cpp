#include "convmat/analysis/pseudo_inverse.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "../solve/lsq_common.hpp"
#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/detail/dense_svd.hpp"

namespace convmat {

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

struct Pinv {
  Eigen::MatrixXd matrix;
  double tolerance = 0;
  Index rank = 0;
  bool converged = true;
};

Pinv compute_pinv(const char* function, const SparseMatrixd& a, std::optional<double> tolerance) {
  check_dense_size(function, a.rows(), a.cols());
  detail::check_finite<double>(function, a);  // LAPACK rejects NaN (and prints)
  Pinv p;
  p.matrix = Eigen::MatrixXd::Zero(a.cols(), a.rows());
  if (a.rows() == 0 || a.cols() == 0) return p;
  const detail::DenseSvd svd = detail::dense_svd(Eigen::MatrixXd(a), true);
  p.converged = svd.converged;
  const Eigen::VectorXd& sigma = svd.values;
  p.tolerance = tolerance ? *tolerance : default_rank_tolerance(a.rows(), a.cols(), sigma(0));
  if (!(p.tolerance >= 0)) {
    throw std::invalid_argument(std::string(function) + ": tolerance must be >= 0, got " +
                                std::to_string(p.tolerance));
  }
  p.rank = (sigma.array() > p.tolerance).count();  // σ descending: the first `rank` ones
  const Index r = p.rank;
  p.matrix = svd.vt.topRows(r).transpose() * sigma.head(r).cwiseInverse().asDiagonal() *
             svd.u.leftCols(r).transpose();
  if (!p.converged) p.matrix.setConstant(std::nan(""));
  return p;
}

Eigen::VectorXd default_input(Index n) {
  std::mt19937_64 engine(0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Eigen::VectorXd x(n);
  for (Index i = 0; i < n; ++i) x(i) = uniform(engine);
  return x;
}

template <class Scalar>
SparseMatrixd checked_layer_matrix(const ConvMatrix<Scalar>& layer) {
  check_dense_size("transpose_versus_inverse", layer.rows(), layer.cols());
  return layer_matrix(layer);
}

}  // namespace

Eigen::MatrixXd pseudo_inverse(const SparseMatrixd& a, std::optional<double> tolerance) {
  return compute_pinv("pseudo_inverse", a, tolerance).matrix;
}

TransposeVersusInverse transpose_versus_inverse(const SparseMatrixd& a, const Eigen::VectorXd& x,
                                                std::optional<double> rank_tolerance,
                                                std::optional<double> orthogonality_tolerance) {
  const char* fn = "transpose_versus_inverse";
  if (x.size() != a.cols()) {
    throw std::invalid_argument(std::string(fn) + ": x must have " + std::to_string(a.cols()) +
                                " entries (the columns of A), got " + std::to_string(x.size()));
  }
  const Pinv pinv = compute_pinv(fn, a, rank_tolerance);
  const Eigen::MatrixXd dense(a);
  TransposeVersusInverse r;
  r.rows = a.rows();
  r.cols = a.cols();
  r.rank = pinv.rank;
  r.tolerance = pinv.tolerance;
  r.status = pinv.converged ? SpectrumStatus::converged : SpectrumStatus::not_converged;
  const Eigen::MatrixXd at = dense.transpose();
  const double pinv_norm = pinv.matrix.norm();
  r.relative_difference = (at - pinv.matrix).norm() / pinv_norm;  // NaN for A = 0

  const bool wide = r.rows <= r.cols;
  const Index k = std::min(r.rows, r.cols);
  const Eigen::MatrixXd g = wide ? Eigen::MatrixXd(dense * at) : Eigen::MatrixXd(at * dense);
  r.scale = k > 0 ? g.trace() / static_cast<double>(k) : 0.0;
  r.gram_error = (g - r.scale * Eigen::MatrixXd::Identity(k, k)).norm() / g.norm();
  r.orthogonality_tolerance = orthogonality_tolerance
                                  ? *orthogonality_tolerance
                                  : 16.0 * static_cast<double>(std::max(r.rows, r.cols)) * eps;
  const bool orthogonal = r.gram_error <= r.orthogonality_tolerance;
  r.orthogonal_rows = orthogonal && r.rows <= r.cols;
  r.orthogonal_columns = orthogonal && r.rows >= r.cols;
  r.scaled_relative_difference = (at / r.scale - pinv.matrix).norm() / pinv_norm;

  const Eigen::VectorXd y = dense * x;
  const double x_norm = x.norm();
  const Eigen::VectorXd aty = at * y;
  r.transpose_reconstruction_error = (aty - x).norm() / x_norm;
  r.scaled_transpose_reconstruction_error = (aty / r.scale - x).norm() / x_norm;
  r.inverse_reconstruction_error = (pinv.matrix * y - x).norm() / x_norm;
  return r;
}

TransposeVersusInverse transpose_versus_inverse(const SparseMatrixd& a) {
  return transpose_versus_inverse(a, default_input(a.cols()));
}

template <class Scalar>
TransposeVersusInverse transpose_versus_inverse(const ConvMatrix<Scalar>& layer,
                                                const Eigen::VectorXd& x,
                                                std::optional<double> rank_tolerance,
                                                std::optional<double> orthogonality_tolerance) {
  return transpose_versus_inverse(checked_layer_matrix(layer), x, rank_tolerance,
                                  orthogonality_tolerance);
}

template <class Scalar>
TransposeVersusInverse transpose_versus_inverse(const ConvMatrix<Scalar>& layer) {
  return transpose_versus_inverse(checked_layer_matrix(layer));
}

template TransposeVersusInverse transpose_versus_inverse<float>(const ConvMatrix<float>&,
                                                                const Eigen::VectorXd&,
                                                                std::optional<double>,
                                                                std::optional<double>);
template TransposeVersusInverse transpose_versus_inverse<double>(const ConvMatrix<double>&,
                                                                 const Eigen::VectorXd&,
                                                                 std::optional<double>,
                                                                 std::optional<double>);
template TransposeVersusInverse transpose_versus_inverse<float>(const ConvMatrix<float>&);
template TransposeVersusInverse transpose_versus_inverse<double>(const ConvMatrix<double>&);

}  // namespace convmat

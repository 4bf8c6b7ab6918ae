#include "convmat/analysis/kernel_matrix.hpp"

#include <Eigen/Dense>
#include <limits>
#include <stdexcept>
#include <string>

#include "convmat/analysis/dense_limit.hpp"

namespace convmat {

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen kernel_matrix(const ConvPattern& pattern, const Scalar* x,
                                                        Index batch) {
  const ConvSpec& spec = pattern.spec();
  if (x == nullptr) throw std::invalid_argument("kernel_matrix needs an input tensor");
  if (batch < 1) {
    throw std::invalid_argument("kernel_matrix: batch must be >= 1, got " + std::to_string(batch));
  }
  const Index rows = spec.output_numel(), cols = spec.input_numel();
  if (batch * rows > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("kernel_matrix: batch * output_numel must be < 2^31, got " +
                                std::to_string(batch) + " * " + std::to_string(rows));
  }
  const bool transposed = spec.is_transposed();
  std::vector<Eigen::Triplet<Scalar, int>> entries;
  entries.reserve(static_cast<std::size_t>(batch * pattern.nnz()));
  for (Index b = 0; b < batch; ++b) {
    const Scalar* xb = x + b * cols;
    const Index row0 = b * rows;
    for (Index r = 0; r < pattern.rows(); ++r) {
      pattern.for_each_tap(r, [&](Index, Index c, Index w) {
        // The stored W is rows × columns of the convolution; a transposed layer runs it as Wᵀ.
        if (transposed) {
          entries.emplace_back(static_cast<int>(row0 + c), static_cast<int>(w), xb[r]);
        } else {
          entries.emplace_back(static_cast<int>(row0 + r), static_cast<int>(w), xb[c]);
        }
      });
    }
  }
  typename CsrMatrix<Scalar>::RowMajorEigen a(batch * rows, spec.weight_numel());
  a.setFromTriplets(entries.begin(), entries.end());
  return a;
}

template <class Scalar>
KernelEstimate estimate_kernel(const ConvSpec& spec, const Scalar* x, const Scalar* y,
                               Index batch) {
  if (y == nullptr) throw std::invalid_argument("estimate_kernel needs an output tensor");
  const auto a = kernel_matrix(spec, x, batch);
  check_dense_size("estimate_kernel", a.rows(), a.cols());
  const Eigen::MatrixXd dense = Eigen::MatrixXd(a.template cast<double>());
  const Eigen::VectorXd b = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(y, a.rows())
                                .template cast<double>();
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(dense);
  // Eigen's default threshold is ε·size relative to the largest pivot; state it explicitly.
  const double eps = std::numeric_limits<double>::epsilon();
  cod.setThreshold(eps * static_cast<double>(std::max(a.rows(), a.cols())));
  KernelEstimate e;
  const Eigen::VectorXd w = cod.solve(b);
  e.weight.assign(w.data(), w.data() + w.size());
  e.rank = cod.rank();
  e.tolerance = cod.threshold() * std::abs(cod.maxPivot());
  const double norm_b = b.norm();
  e.relative_residual = norm_b > 0 ? (dense * w - b).norm() / norm_b : (dense * w).norm();
  return e;
}

template CsrMatrix<float>::RowMajorEigen kernel_matrix<float>(const ConvPattern&, const float*,
                                                              Index);
template CsrMatrix<double>::RowMajorEigen kernel_matrix<double>(const ConvPattern&, const double*,
                                                                Index);
template KernelEstimate estimate_kernel<float>(const ConvSpec&, const float*, const float*, Index);
template KernelEstimate estimate_kernel<double>(const ConvSpec&, const double*, const double*,
                                                Index);

}  // namespace convmat

#include "convmat/solve/regularization.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/detail/dense_svd.hpp"
#include "lsq_common.hpp"
#include "spectral_gram.hpp"

namespace convmat {

namespace {

// The spectral data of B on the preconditioner's side: per eigenvalue λ_i of Λ, the energy c_i²
// of the right-hand sides along the corresponding left singular direction (summed over the
// columns), the eigenvalue's multiplicity, ‖P⊥B‖² (the part no λ can fit), ‖B‖², and the
// dimension m.
struct SpectralData {
  std::vector<double> eigenvalue, energy, count;
  double orthogonal = 0, total = 0;
  double base = 0;  // the part of trace(I − H_λ) no σ reaches: m − #σ
  double top = 0;   // σ₁²
};

template <class Scalar>
SpectralData spectral_data(const LayerPreconditioner<Scalar>& p, const LinearOperator<Scalar>& m,
                           const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  const detail::SpectralGram& g = p.gram();
  const bool left = p.side() == PreconditionerSide::left;
  if (b.rows() != m.rows() || p.rows() != (left ? m.rows() : m.cols())) {
    throw std::invalid_argument(
        "the damp of the diagonalized problem needs b with M.rows() = " + std::to_string(m.rows()) +
        " rows and the layer's own "
        "preconditioner, got b with " +
        std::to_string(b.rows()) + " rows");
  }
  SpectralData d;
  d.base = left ? 0.0 : static_cast<double>(m.rows() - m.cols());
  d.top = g.max_eigenvalue();
  const Index per_frequency = g.generator().groups * g.generator().block;
  d.eigenvalue = g.eigenvalues();
  d.count.resize(d.eigenvalue.size());
  // The transform grid may be larger than the side (a strided layer's polyphase grid): count
  // each eigenvalue in proportion.
  const double stored =
      static_cast<double>(g.generator().groups * g.generator().block * g.generator().grid[0] *
                          g.generator().grid[1] * g.generator().grid[2]);
  const double scale = static_cast<double>(g.size()) / stored;
  for (std::size_t i = 0; i < d.count.size(); ++i) {
    d.count[i] = g.multiplicity()[i / static_cast<std::size_t>(per_frequency)] * scale;
  }
  d.energy.assign(d.eigenvalue.size(), 0.0);
  const double floor = 1e-14 * g.max_eigenvalue();
  std::vector<double> column(static_cast<std::size_t>(p.rows()));
  std::vector<Scalar> scratch(static_cast<std::size_t>(m.cols()));
  for (Index j = 0; j < b.cols(); ++j) {
    const DenseMatrix<Scalar> bj = b.col(j);
    const double bb = bj.template cast<double>().squaredNorm();
    d.total += bb;
    if (left) {
      for (Index i = 0; i < p.rows(); ++i) column[i] = static_cast<double>(bj(i));
      const std::vector<double> e = g.eigen_energies(column.data());
      for (std::size_t i = 0; i < e.size(); ++i) d.energy[i] += e[i];
    } else {
      // c_i = u_iᵀb = v_iᵀ(Mᵀb)/σ_i: the energies of Mᵀb divided by λ_i.
      m.apply_adjoint(bj.data(), scratch.data());
      for (Index i = 0; i < p.rows(); ++i) column[i] = static_cast<double>(scratch[i]);
      const std::vector<double> e = g.eigen_energies(column.data());
      double fitted = 0;
      for (std::size_t i = 0; i < e.size(); ++i) {
        const double c2 = d.eigenvalue[i] > floor ? e[i] / d.eigenvalue[i] : 0.0;
        d.energy[i] += c2;
        fitted += c2;
      }
      d.orthogonal += std::max(bb - fitted, 0.0);
    }
  }
  return d;
}

// ‖b − A x_λ‖² (summed over the columns) and trace(I − A (AᵀA + λ²)⁻¹ Aᵀ) at λ² = mu.
std::pair<double, double> residual_and_trace(const SpectralData& d, double mu) {
  double r2 = d.orthogonal, trace = d.base;
  for (std::size_t i = 0; i < d.eigenvalue.size(); ++i) {
    const double f = mu / (std::max(d.eigenvalue[i], 0.0) + mu);
    r2 += f * f * d.energy[i];
    trace += f * d.count[i];
  }
  return {r2, trace};
}

// The exact spectral data of the direct problem: the dense SVD of A.
template <class Scalar>
SpectralData dense_data(SparseRef<Scalar> a, const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  check_dense_size("gcv_damp", a.rows(), a.cols());
  detail::check_matrix("gcv_damp", a);
  detail::check_rhs<Scalar>("gcv_damp", a.rows(), b);
  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(a.rows(), a.cols());
  for (Index j = 0; j < a.outer_size(); ++j) {
    for (Index k = a.outer(j); k < a.outer(j + 1); ++k) {
      const Index r = a.row_major() ? j : a.inner(k), c = a.row_major() ? a.inner(k) : j;
      dense(r, c) += static_cast<double>(a.value(k));
    }
  }
  const detail::DenseSvd svd = detail::dense_svd(std::move(dense), true);
  SpectralData d;
  const Index k = svd.values.size();
  d.eigenvalue.resize(static_cast<std::size_t>(k));
  d.energy.assign(static_cast<std::size_t>(k), 0.0);
  d.count.assign(static_cast<std::size_t>(k), 1.0);
  for (Index i = 0; i < k; ++i) d.eigenvalue[i] = svd.values(i) * svd.values(i);
  d.base = static_cast<double>(a.rows() - k);
  d.top = k > 0 ? d.eigenvalue[0] : 0.0;
  const Eigen::MatrixXd bd = b.template cast<double>();
  const Eigen::MatrixXd c = svd.u.transpose() * bd;  // k × columns
  for (Index j = 0; j < bd.cols(); ++j) {
    const double bb = bd.col(j).squaredNorm();
    d.total += bb;
    double fitted = 0;
    for (Index i = 0; i < k; ++i) {
      d.energy[i] += c(i, j) * c(i, j);
      fitted += c(i, j) * c(i, j);
    }
    // With as many singular values as rows, U is square: nothing is orthogonal to range(A)
    // (bb − fitted would only be rounding, and near λ = 0 it would dominate the GCV ratio).
    if (k < a.rows()) d.orthogonal += std::max(bb - fitted, 0.0);
  }
  return d;
}

double minimize_gcv(const SpectralData& d) {
  if (!(d.top > 0) || d.total == 0) return 0;
  const auto gcv = [&](double log_mu) {
    const auto [r2, trace] = residual_and_trace(d, std::exp(log_mu));
    return trace > 0 ? r2 / (trace * trace) : std::numeric_limits<double>::infinity();
  };
  // A log grid over λ² ∈ [10⁻¹⁴, 1]·σ₁², then golden-section search around its best point.
  const double lo = std::log(1e-14 * d.top), hi = std::log(d.top);
  const int points = 200;
  int best = 0;
  double best_value = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= points; ++i) {
    const double v = gcv(lo + (hi - lo) * i / points);
    if (v < best_value) {
      best_value = v;
      best = i;
    }
  }
  double a = lo + (hi - lo) * std::max(best - 1, 0) / points;
  double c = lo + (hi - lo) * std::min(best + 1, points) / points;
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  double x1 = c - ratio * (c - a), x2 = a + ratio * (c - a);
  double f1 = gcv(x1), f2 = gcv(x2);
  for (int it = 0; it < 80 && c - a > 1e-10; ++it) {
    if (f1 < f2) {
      c = x2;
      x2 = x1;
      f2 = f1;
      x1 = c - ratio * (c - a);
      f1 = gcv(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + ratio * (c - a);
      f2 = gcv(x2);
    }
  }
  return std::sqrt(std::exp(0.5 * (a + c)));
}

}  // namespace

template <class Scalar>
double gcv_damp(SparseRef<Scalar> a,
                const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b) {
  return minimize_gcv(dense_data(a, b));
}

template <class Scalar>
double gcv_damp(const LayerPreconditioner<Scalar>& p, const LinearOperator<Scalar>& m,
                const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b) {
  return minimize_gcv(spectral_data(p, m, b));
}

template <class Scalar>
double discrepancy_damp(const LayerPreconditioner<Scalar>& p, const LinearOperator<Scalar>& m,
                        const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b,
                        double noise_level, double discrepancy_factor) {
  if (!(noise_level > 0 && noise_level < 1 && discrepancy_factor >= 1)) {
    throw std::invalid_argument(
        "discrepancy_damp: noise_level must be in (0, 1) and "
        "discrepancy_factor >= 1, got " +
        detail::number(noise_level) + " and " + detail::number(discrepancy_factor));
  }
  const SpectralData d = spectral_data(p, m, b);
  const double target = std::pow(discrepancy_factor * noise_level, 2) * d.total;
  if (!(d.top > 0) || d.total == 0) return 0;
  double lo = std::log(1e-16 * d.top), hi = std::log(1e16 * d.top);
  if (residual_and_trace(d, std::exp(lo)).first >= target) return 0;
  if (residual_and_trace(d, std::exp(hi)).first <= target) {
    return std::numeric_limits<double>::infinity();
  }
  for (int it = 0; it < 200 && hi - lo > 1e-12; ++it) {  // the residual grows with λ
    const double mid = 0.5 * (lo + hi);
    (residual_and_trace(d, std::exp(mid)).first < target ? lo : hi) = mid;
  }
  return std::sqrt(std::exp(0.5 * (lo + hi)));
}

template double gcv_damp<float>(SparseRef<float>, const Eigen::Ref<const DenseMatrix<float>>&);
template double gcv_damp<double>(SparseRef<double>, const Eigen::Ref<const DenseMatrix<double>>&);
template double gcv_damp<float>(const LayerPreconditioner<float>&, const LinearOperator<float>&,
                                const Eigen::Ref<const DenseMatrix<float>>&);
template double gcv_damp<double>(const LayerPreconditioner<double>&, const LinearOperator<double>&,
                                 const Eigen::Ref<const DenseMatrix<double>>&);
template double discrepancy_damp<float>(const LayerPreconditioner<float>&,
                                        const LinearOperator<float>&,
                                        const Eigen::Ref<const DenseMatrix<float>>&, double,
                                        double);
template double discrepancy_damp<double>(const LayerPreconditioner<double>&,
                                         const LinearOperator<double>&,
                                         const Eigen::Ref<const DenseMatrix<double>>&, double,
                                         double);

}  // namespace convmat

#include "convmat/analysis/spectrum.hpp"

#include <Spectra/SymEigsShiftSolver.h>
#include <Spectra/SymEigsSolver.h>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <unsupported/Eigen/FFT>

#include "../solve/cholmod_wall.hpp"
#include "../solve/lsq_common.hpp"
#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/detail/dense_svd.hpp"
#include "convmat/analysis/spectrum_method.hpp"

namespace convmat {

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double infinity = std::numeric_limits<double>::infinity();

// ---- Spectra operators on the smaller Gram matrix G ------------------------------------------

// y = G x, G = A Aᵀ (wide A) or AᵀA (tall A), never formed.
class GramProduct {
 public:
  using Scalar = double;
  explicit GramProduct(const SparseMatrixd& a) : a_(a), wide_(gram_of_rows(a.rows(), a.cols())) {}
  Eigen::Index rows() const { return wide_ ? a_.rows() : a_.cols(); }
  Eigen::Index cols() const { return rows(); }
  void perform_op(const double* x_in, double* y_out) const {
    const Eigen::Map<const Eigen::VectorXd> x(x_in, rows());
    Eigen::Map<Eigen::VectorXd> y(y_out, rows());
    if (wide_) {
      tmp_.noalias() = a_.transpose() * x;
      y.noalias() = a_ * tmp_;
    } else {
      tmp_.noalias() = a_ * x;
      y.noalias() = a_.transpose() * tmp_;
    }
  }

 private:
  const SparseMatrixd& a_;
  bool wide_;
  mutable Eigen::VectorXd tmp_;
};

// y = (G − σI)⁻¹ x by CHOLMOD's supernodal Cholesky factor of C Cᵀ − σI, where C = A for
// G = A Aᵀ and C = Aᵀ for G = AᵀA: G itself is never formed (cholmod_l_factorize_p factors
// C Cᵀ + βI for an unsymmetric C, as CholeskySolver does). The pattern is analyzed once.
class GramShiftInvert {
 public:
  using Scalar = double;
  GramShiftInvert(const SparseMatrixd& a, bool rows_gram)
      : n_(rows_gram ? a.rows() : a.cols()),
        c_(detail::to_cholmod(SparseRef<double>(a), !rows_gram, common_)) {
    l_ = detail::own(cholmod_l_analyze(c_.get(), common_.get()), common_);
    if (!l_) detail::cholmod_failure("cholmod_l_analyze", common_);
  }
  Eigen::Index rows() const { return n_; }
  Eigen::Index cols() const { return n_; }
  void set_shift(const double& sigma) {
    double beta[2] = {-sigma, 0};
    const int ok = cholmod_l_factorize_p(c_.get(), beta, nullptr, 0, l_.get(), common_.get());
    ok_ = ok && common_.get()->status == CHOLMOD_OK;
  }
  bool ok() const { return ok_; }
  void perform_op(const double* x_in, double* y_out) const {
    cholmod_dense x = detail::view(const_cast<double*>(x_in), n_, 1);
    detail::DensePtr y =
        detail::own(cholmod_l_solve(CHOLMOD_A, l_.get(), &x, common_.get()), common_);
    if (!y) detail::cholmod_failure("cholmod_l_solve", common_);
    std::copy_n(static_cast<const double*>(y->x), n_, y_out);
  }

 private:
  Index n_;
  mutable detail::CholmodCommon common_;  // before the objects it frees
  detail::SparsePtr c_;
  detail::FactorPtr l_{nullptr, {common_.get()}};
  bool ok_ = false;
};

// An upper bound on ‖G‖₁ without forming G: ‖ |A|ᵀ|A| 1 ‖_∞ for G = AᵀA (each column sum of |G|
// is at most that of |A|ᵀ|A|), ‖ |A| |A|ᵀ 1 ‖_∞ for G = A Aᵀ.
double gram_norm1_bound(const SparseMatrixd& a, bool rows_gram) {
  const SparseMatrixd abs_a = a.cwiseAbs();
  Eigen::VectorXd sums =
      rows_gram ? Eigen::VectorXd(abs_a * (abs_a.transpose() * Eigen::VectorXd::Ones(a.rows())))
                : Eigen::VectorXd(abs_a.transpose() * (abs_a * Eigen::VectorXd::Ones(a.cols())));
  return sums.size() ? sums.maxCoeff() : 0.0;
}

SpectrumStatus status_of(Spectra::CompInfo info) {
  switch (info) {
    case Spectra::CompInfo::Successful: return SpectrumStatus::converged;
    case Spectra::CompInfo::NumericalIssue: return SpectrumStatus::numerical_issue;
    default: return SpectrumStatus::not_converged;
  }
}

Eigen::VectorXd square_roots(const Eigen::VectorXd& lambda) {
  return lambda.cwiseMax(0.0).cwiseSqrt();
}

// A = 0: every singular value is 0 (Lanczos would break down on the zero operator).
bool all_zero(const SparseMatrixd& a) {
  SparseMatrixd c = a;
  c.makeCompressed();
  return (c.coeffs() == 0.0).all();
}

// Runs a Spectra solver; Spectra reports some breakdowns (NaN in the tridiagonal eigenproblem)
// by throwing std::runtime_error: that is a numerical outcome, a status here.
template <class Solver>
PartialSingularValues run(Solver& eigs, Spectra::SortRule selection, Spectra::SortRule sorting,
                          const PartialSpectrumOptions& o, Index gram_size) {
  PartialSingularValues r;
  r.gram_size = gram_size;
  try {
    eigs.init();
    eigs.compute(selection, o.max_iterations, o.tolerance, sorting);
  } catch (const std::runtime_error&) {
    r.status = SpectrumStatus::numerical_issue;
    return r;
  }
  r.values = square_roots(eigs.eigenvalues());
  r.status = status_of(eigs.info());
  r.iterations = eigs.num_iterations();
  r.operations = eigs.num_operations();
  return r;
}

}  // namespace

std::string to_string(SpectrumStatus status) {
  switch (status) {
    case SpectrumStatus::converged: return "converged";
    case SpectrumStatus::not_converged: return "not_converged";
    case SpectrumStatus::numerical_issue: return "numerical_issue";
  }
  return "?";
}

template <class Scalar>
SparseMatrixd layer_matrix(const ConvMatrix<Scalar>& layer) {
  if constexpr (std::is_same_v<Scalar, double>) {
    return layer.matrix();
  } else {
    return layer.matrix().template cast<double>();
  }
}

double default_rank_tolerance(Index rows, Index cols, double sigma_max) {
  return static_cast<double>(std::max(rows, cols)) * eps * sigma_max;
}

SingularValues singular_values(const SparseMatrixd& a, std::optional<double> tolerance) {
  check_dense_size("singular_values", a.rows(), a.cols());
  detail::check_finite<double>("singular_values", a);  // LAPACK rejects NaN (and prints)
  SingularValues s;
  s.rows = a.rows();
  s.cols = a.cols();
  detail::DenseSvd svd = detail::dense_svd(Eigen::MatrixXd(a), false);
  s.values = std::move(svd.values);
  s.status = svd.converged ? SpectrumStatus::converged : SpectrumStatus::not_converged;
  const Index k = s.values.size();
  const double sigma_max = k > 0 ? s.values(0) : 0.0;
  s.tolerance = tolerance ? *tolerance : default_rank_tolerance(s.rows, s.cols, sigma_max);
  if (!(s.tolerance >= 0)) {
    throw std::invalid_argument("singular_values: tolerance must be >= 0, got " +
                                std::to_string(s.tolerance));
  }
  s.rank = (s.values.array() > s.tolerance).count();
  s.nullity = s.cols - s.rank;
  s.condition_number = s.rank == k && k > 0 ? sigma_max / s.values(k - 1) : infinity;
  s.effective_condition_number = s.rank > 0 ? sigma_max / s.values(s.rank - 1) : infinity;
  return s;
}

template <class Scalar>
SingularValues singular_values(const ConvMatrix<Scalar>& layer, std::optional<double> tolerance) {
  check_dense_size("singular_values", layer.rows(), layer.cols());
  return singular_values(layer_matrix(layer), tolerance);
}

PartialSingularValues zero_singular_values(Index count, Index gram_size) {
  PartialSingularValues r;
  r.values = Eigen::VectorXd::Zero(count);
  r.status = SpectrumStatus::converged;
  r.gram_size = gram_size;
  return r;
}

Index lanczos_subspace(const char* function, const PartialSpectrumOptions& o, Index n) {
  if (o.count < 1 || o.count >= n) {
    throw std::invalid_argument(
        std::string(function) +
        ": count must satisfy 1 <= count < min(rows, cols) = " + std::to_string(n) +
        ", got count = " + std::to_string(o.count) + " (singular_values gives all of them)");
  }
  const Index ncv =
      o.subspace == 0 ? std::min(n, std::max<Index>(2 * o.count + 1, 20)) : o.subspace;
  if (ncv <= o.count || ncv > n) {
    throw std::invalid_argument(
        std::string(function) +
        ": subspace must satisfy count < subspace <= min(rows, cols) = " + std::to_string(n) +
        ", got subspace = " + std::to_string(ncv) + " with count = " + std::to_string(o.count));
  }
  if (o.max_iterations < 1 || !(o.tolerance > 0)) {
    throw std::invalid_argument(
        std::string(function) + ": max_iterations must be >= 1 and tolerance > 0, got " +
        std::to_string(o.max_iterations) + " and " + std::to_string(o.tolerance));
  }
  return ncv;
}

PartialSingularValues largest_singular_values(const SparseMatrixd& a,
                                              const PartialSpectrumOptions& options) {
  detail::check_finite<double>("largest_singular_values", a);
  GramProduct op(a);
  const Index ncv = lanczos_subspace("largest_singular_values", options, op.rows());
  if (all_zero(a)) return zero_singular_values(options.count, op.rows());
  Spectra::SymEigsSolver<GramProduct> eigs(op, options.count, ncv);
  return run(eigs, Spectra::SortRule::LargestAlge, Spectra::SortRule::LargestAlge, options,
             op.rows());
}

PartialSingularValues smallest_singular_values(const SparseMatrixd& a,
                                               const PartialSpectrumOptions& options) {
  detail::check_finite<double>("smallest_singular_values", a);
  const bool wide = gram_of_rows(a.rows(), a.cols());
  const Index n = wide ? a.rows() : a.cols();
  const Index ncv = lanczos_subspace("smallest_singular_values", options, n);
  if (all_zero(a)) return zero_singular_values(options.count, n);
  const double shift = -gram_shift * gram_norm1_bound(a, wide);
  // A factorization that fails (out of memory, or G + δI not numerically positive definite)
  // is a numerical issue of this method, reported in the status like Lanczos' own.
  try {
    GramShiftInvert op(a, wide);
    Spectra::SymEigsShiftSolver<GramShiftInvert> eigs(op, options.count, ncv, shift);
    if (op.ok())
      return run(eigs, Spectra::SortRule::LargestMagn, Spectra::SortRule::SmallestAlge, options, n);
  } catch (const detail::CholmodError&) {
  }
  PartialSingularValues r;
  r.gram_size = n;
  r.status = SpectrumStatus::numerical_issue;
  return r;
}

template <class Scalar>
PartialSingularValues largest_singular_values(const ConvMatrix<Scalar>& layer,
                                              const PartialSpectrumOptions& options) {
  return largest_singular_values(layer_matrix(layer), options);
}

template <class Scalar>
PartialSingularValues smallest_singular_values(const ConvMatrix<Scalar>& layer,
                                               const PartialSpectrumOptions& options) {
  return smallest_singular_values(layer_matrix(layer), options);
}

ConditionEstimate condition_number(const SparseMatrixd& a, const PartialSpectrumOptions& options) {
  PartialSpectrumOptions one = options;
  one.count = 1;
  const PartialSingularValues hi = largest_singular_values(a, one);
  return condition_estimate(hi, smallest_singular_values(a, one));
}

ConditionEstimate condition_estimate(const PartialSingularValues& largest,
                                     const PartialSingularValues& smallest) {
  ConditionEstimate c;
  c.status = largest.status != SpectrumStatus::converged ? largest.status : smallest.status;
  c.sigma_max = largest.values.size() ? largest.values(0) : std::nan("");
  c.sigma_min = smallest.values.size() ? smallest.values(0) : std::nan("");
  c.value = c.status == SpectrumStatus::converged ? c.sigma_max / c.sigma_min : std::nan("");
  return c;
}

// ---- circular convolution ---------------------------------------------------------------------

template <class Scalar>
CircularSpectrum circular_singular_values(const ConvSpec& spec, const Scalar* weight) {
  const auto reject = [&](const std::string& rule) {
    throw std::invalid_argument("circular_singular_values: " + rule + ", got " + spec.to_string());
  };
  if (spec.is_transposed()) reject("needs a convolution");
  if (weight == nullptr) reject("needs a weight tensor");
  bool padded = false;
  for (int a = 0; a < spec.rank(); ++a) {
    padded = padded || spec.pad_begin()[a] != 0 || spec.pad_end()[a] != 0;
    if (spec.input_dilation()[a] != 1) reject("needs input dilation 1 in every dimension");
    if (spec.stride()[a] != 1) reject("needs stride 1 in every dimension");
    if (spec.output_size()[a] != spec.input_size()[a]) {
      reject("needs output size = input size (pad_begin + pad_end = dilation * (kernel - 1))");
    }
  }
  if (padded && spec.padding_mode() != PaddingMode::circular) reject("needs circular padding");

  // Right-align the spatial axes into three.
  Index n[3] = {1, 1, 1}, k[3] = {1, 1, 1}, d[3] = {1, 1, 1}, p0[3] = {0, 0, 0};
  const int offset = 3 - spec.rank();
  for (int a = 0; a < spec.rank(); ++a) {
    n[offset + a] = spec.input_size()[a];
    k[offset + a] = spec.kernel_size()[a];
    d[offset + a] = spec.dilation()[a];
    p0[offset + a] = spec.pad_begin()[a];
  }
  const Index spatial = n[0] * n[1] * n[2];
  const Index cout = spec.out_channels(), cin = spec.in_channels(), g = spec.groups();
  const Index cout_g = cout / g, cin_g = cin / g, taps = k[0] * k[1] * k[2];
  using Complex = std::complex<double>;

  // h for every channel pair of a group, then its 3-d DFT in place, one axis at a time.
  std::vector<Complex> h(static_cast<std::size_t>(cout * cin_g * spatial));
  const auto wrap = [](Index q, Index m) { return ((q % m) + m) % m; };
  for (Index pair = 0; pair < cout * cin_g; ++pair) {
    Complex* hp = h.data() + pair * spatial;
    for (Index t = 0; t < taps; ++t) {
      const Index t2 = t % k[2], t1 = t / k[2] % k[1], t0 = t / (k[1] * k[2]);
      const Index j0 = wrap(t0 * d[0] - p0[0], n[0]);
      const Index j1 = wrap(t1 * d[1] - p0[1], n[1]);
      const Index j2 = wrap(t2 * d[2] - p0[2], n[2]);
      hp[(j0 * n[1] + j1) * n[2] + j2] += static_cast<double>(weight[pair * taps + t]);
    }
  }
  Eigen::FFT<double> fft;
  std::vector<Complex> line, transformed;
  const Index strides[3] = {n[1] * n[2], n[2], 1};
  for (int axis = 0; axis < 3; ++axis) {
    const Index len = n[axis], step = strides[axis];
    if (len == 1) continue;
    line.resize(static_cast<std::size_t>(len));
    for (Index pair = 0; pair < cout * cin_g; ++pair) {
      Complex* hp = h.data() + pair * spatial;
      // Every line along `axis`: start positions have coordinate 0 on that axis.
      for (Index start = 0; start < spatial; ++start) {
        if (start / step % len != 0) continue;
        for (Index j = 0; j < len; ++j) line[static_cast<std::size_t>(j)] = hp[start + j * step];
        fft.fwd(transformed, line);
        for (Index j = 0; j < len; ++j)
          hp[start + j * step] = transformed[static_cast<std::size_t>(j)];
      }
    }
  }

  const Index per_frequency = std::min(cout, cin);
  CircularSpectrum s;
  s.by_frequency.resize(spatial, per_frequency);
  Eigen::MatrixXcd p = Eigen::MatrixXcd::Zero(cout, cin);
  for (Index f = 0; f < spatial; ++f) {
    for (Index o = 0; o < cout; ++o) {
      const Index group = o / cout_g;
      for (Index i = 0; i < cin_g; ++i) {
        p(o, group * cin_g + i) = h[static_cast<std::size_t>((o * cin_g + i) * spatial + f)];
      }
    }
    s.by_frequency.row(f) = Eigen::JacobiSVD<Eigen::MatrixXcd>(p).singularValues().transpose();
  }
  s.values = Eigen::Map<const Eigen::VectorXd>(s.by_frequency.data(), s.by_frequency.size());
  std::sort(s.values.data(), s.values.data() + s.values.size(), std::greater<double>());
  return s;
}

template SparseMatrixd layer_matrix<float>(const ConvMatrix<float>&);
template SparseMatrixd layer_matrix<double>(const ConvMatrix<double>&);
template SingularValues singular_values<float>(const ConvMatrix<float>&, std::optional<double>);
template SingularValues singular_values<double>(const ConvMatrix<double>&, std::optional<double>);
template PartialSingularValues largest_singular_values<float>(const ConvMatrix<float>&,
                                                              const PartialSpectrumOptions&);
template PartialSingularValues largest_singular_values<double>(const ConvMatrix<double>&,
                                                               const PartialSpectrumOptions&);
template PartialSingularValues smallest_singular_values<float>(const ConvMatrix<float>&,
                                                               const PartialSpectrumOptions&);
template PartialSingularValues smallest_singular_values<double>(const ConvMatrix<double>&,
                                                                const PartialSpectrumOptions&);
template CircularSpectrum circular_singular_values<float>(const ConvSpec&, const float*);
template CircularSpectrum circular_singular_values<double>(const ConvSpec&, const double*);

}  // namespace convmat

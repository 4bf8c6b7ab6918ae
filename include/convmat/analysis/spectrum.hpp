#pragma once
// Singular values of a layer's matrix (or of any sparse A, m × n): all of them densely for small
// A, the largest and smallest few with Spectra (Lanczos) for large A; rank, nullity and condition
// numbers; and for circular convolutions the FFT formula of Sedghi, Gupta & Long (ICLR 2019).
//
// Conventions: A has min(m, n) singular values σ_1 >= … >= σ_min(m,n) >= 0 (the |m − n| further
// zeros of the larger Gram matrix are not counted). A layer given as a ConvMatrix is its map M
// (W for a convolution, Wᵀ for a transposed convolution) in double.

#include <Eigen/Core>
#include <optional>
#include <ostream>
#include <string>

#include "convmat/core/conv_matrix.hpp"

namespace convmat {

using SparseMatrixd =
    CsrMatrix<double>::RowMajorEigen;  // Eigen::SparseMatrix<double, RowMajor, int>

// Numerical outcomes (never exceptions).
enum class SpectrumStatus {
  converged,       // every requested value converged
  not_converged,   // iteration limit reached (Lanczos: `values` holds the ones that converged;
                   // dense: LAPACK's bidiagonal QR failed, practically never)
  numerical_issue  // the factorization of G + δI failed, or the Lanczos process broke down
};
// "converged" | "not_converged" | "numerical_issue".
std::string to_string(SpectrumStatus status);
inline std::ostream& operator<<(std::ostream& os, SpectrumStatus s) { return os << to_string(s); }

// M in double: the layer's map (W, or Wᵀ for a transposed convolution) as an Eigen matrix.
template <class Scalar>
SparseMatrixd layer_matrix(const ConvMatrix<Scalar>& layer);

// ----------------------------------------------------------------------------------------------
// Dense: every singular value (LAPACK's dgesdd, values only: about 5 s for 2048 × 2048 on the
// 2-core development machine). A may have at most dense_entry_limit entries (dense_limit.hpp: 2²²,
// e.g. 2048 × 2048); larger A throws std::invalid_argument.

// MATLAB's rank() and NumPy's matrix_rank default: tol = max(m, n) · ε · σ_1 (ε = 2⁻⁵²).
double default_rank_tolerance(Index rows, Index cols, double sigma_max);

struct SingularValues {
  Index rows = 0, cols = 0;
  SpectrumStatus status = SpectrumStatus::converged;
  Eigen::VectorXd values;  // the min(m, n) singular values, descending
  double tolerance = 0;    // the rank tolerance used
  Index rank = 0;          // #{σ_i > tolerance}
  Index nullity = 0;       // n − rank = dim null(A)
  // σ_1 / σ_min(m,n), +∞ when rank < min(m, n) (MATLAB's cond(A) for full rank A).
  double condition_number = 0;
  // σ_1 / σ_rank: the condition of A on its row space (+∞ for rank 0).
  double effective_condition_number = 0;
};
// Its fields (core/fields.hpp).
template <class Visit>
void for_each_field(const SingularValues& s, Visit&& visit) {
  visit("rows", s.rows);
  visit("cols", s.cols);
  visit("status", s.status);
  visit("values", s.values);
  visit("tolerance", s.tolerance);
  visit("rank", s.rank);
  visit("nullity", s.nullity);
  visit("condition_number", s.condition_number);
  visit("effective_condition_number", s.effective_condition_number);
}

// `tolerance` defaults to default_rank_tolerance.
SingularValues singular_values(const SparseMatrixd& a, std::optional<double> tolerance = {});
template <class Scalar>
SingularValues singular_values(const ConvMatrix<Scalar>& layer,
                               std::optional<double> tolerance = {});

// ----------------------------------------------------------------------------------------------
// Large A: a few singular values by Spectra's implicitly restarted Lanczos method on the smaller
// Gram matrix G (A Aᵀ when m <= n, else AᵀA; size min(m, n)), σ = √λ(G).
//  - largest: SymEigsSolver on G applied matrix-free (x ↦ A(Aᵀx) or Aᵀ(Ax));
//  - smallest: SymEigsShiftSolver (shift-invert) on G around the shift −δ, δ = 10⁻¹⁰ times an
//    upper bound on ‖G‖₁ (the largest column sum of |A|ᵀ|A|, or |A||A|ᵀ), so that G + δI is
//    positive definite even when A is rank-deficient; (G + δI)⁻¹ by CHOLMOD's supernodal
//    Cholesky factor of C Cᵀ + δI (C = A or Aᵀ; G itself is never formed), the pattern
//    analyzed once with CHOLMOD's fill-reducing ordering.
// Accuracy: squaring costs precision at the small end — σ below about √ε·σ_1 ≈ 1.5·10⁻⁸·σ_1 is
// at rounding level (reported as such, never as an error). Like any single-vector Lanczos
// method, a repeated singular value may be returned fewer times than its multiplicity; the
// dense singular_values is exact about multiplicities.

struct PartialSpectrumOptions {
  Index count = 6;     // how many singular values (1 <= count < min(m, n))
  Index subspace = 0;  // Lanczos basis size (Spectra's ncv); 0: min(min(m,n), max(2·count + 1, 20))
  Index max_iterations = 1000;  // restarts
  double tolerance = 1e-10;     // Spectra's relative tolerance on the Ritz values
};

struct PartialSingularValues {
  Eigen::VectorXd values;  // converged values: largest descending, smallest ascending
  SpectrumStatus status = SpectrumStatus::not_converged;
  Index iterations = 0;  // Spectra's restarts
  Index operations = 0;  // products with G (largest) or solves with G + δI (smallest)
  Index gram_size = 0;   // min(m, n)
};
template <class Visit>
void for_each_field(const PartialSingularValues& s, Visit&& visit) {
  visit("values", s.values);
  visit("status", s.status);
  visit("iterations", s.iterations);
  visit("operations", s.operations);
  visit("gram_size", s.gram_size);
}

// The Lanczos basis size for `options` on a Gram matrix of size gram_size = min(m, n), after
// checking them: std::invalid_argument (naming `function`) unless 1 <= count < gram_size,
// count < subspace <= gram_size (subspace 0: min(gram_size, max(2·count + 1, 20))),
// max_iterations >= 1 and tolerance > 0. (The distributed spectrum, convmat/distributed/, checks
// its options with it too.)
Index lanczos_subspace(const char* function, const PartialSpectrumOptions& options,
                       Index gram_size);

// The answer for a zero matrix, where Lanczos would divide by zero: `count` zeros, converged.
PartialSingularValues zero_singular_values(Index count, Index gram_size);

// The shift of the smallest values' shift-invert: G + δI with δ = gram_shift · (a bound on ‖G‖₁).
inline constexpr double gram_shift = 1e-10;

// Throws std::invalid_argument unless 1 <= count < min(m, n) and count < subspace <= min(m, n).
PartialSingularValues largest_singular_values(const SparseMatrixd& a,
                                              const PartialSpectrumOptions& options = {});
PartialSingularValues smallest_singular_values(const SparseMatrixd& a,
                                               const PartialSpectrumOptions& options = {});
template <class Scalar>
PartialSingularValues largest_singular_values(const ConvMatrix<Scalar>& layer,
                                              const PartialSpectrumOptions& options = {});
template <class Scalar>
PartialSingularValues smallest_singular_values(const ConvMatrix<Scalar>& layer,
                                               const PartialSpectrumOptions& options = {});

// σ_1 / σ_min(m,n) from one largest and one smallest value (status: the first that did not
// converge, if any; value NaN unless both converged, and NaN = 0/0 for A = 0).
struct ConditionEstimate {
  double sigma_max = 0, sigma_min = 0, value = 0;
  SpectrumStatus status = SpectrumStatus::not_converged;
};
template <class Visit>
void for_each_field(const ConditionEstimate& c, Visit&& visit) {
  visit("sigma_max", c.sigma_max);
  visit("sigma_min", c.sigma_min);
  visit("value", c.value);
  visit("status", c.status);
}
ConditionEstimate condition_number(const SparseMatrixd& a,
                                   const PartialSpectrumOptions& options = {});
// The estimate from the largest and the smallest values already computed (condition_number's
// last step).
ConditionEstimate condition_estimate(const PartialSingularValues& largest,
                                     const PartialSingularValues& smallest);

// ----------------------------------------------------------------------------------------------
// Circular convolution (Sedghi, Gupta & Long, "The singular values of convolutional layers",
// ICLR 2019). For a stride-1 convolution with circular padding whose output has the input's size
// (p0 + p1 = d(k − 1) per axis), over spatial size N = n_0 × … and channels C_out × C_in, the DFT
// block-diagonalizes W: with the shifted, dilated, zero-padded kernel
//   h[o, i, j] = Σ { weight[o, i, k] : (k·d − p0) mod n = j }   (per axis, j ∈ [0, n))
// and its DFT P(f) = Σ_j h[:, :, j]·exp(−2πi Σ_a f_a j_a / n_a) (a C_out × C_in matrix per
// frequency f; zero outside the group blocks), W's singular values are the union over the N
// frequencies of the singular values of P(f): N · min(C_out, C_in) values. (NumPy:
// np.linalg.svd(np.fft.fftn(h, axes=spatial).transpose(spatial…, 0, 1), compute_uv=False).)
// Computed with Eigen's FFT (kissfft) and a complex JacobiSVD per frequency, in double.

struct CircularSpectrum {
  Eigen::VectorXd values;  // all N · min(C_out, C_in), descending
  Eigen::MatrixXd
      by_frequency;  // N × min(C_out, C_in): row f (C order over frequencies), descending
};
template <class Visit>
void for_each_field(const CircularSpectrum& s, Visit&& visit) {
  visit("values", s.values);
  visit("by_frequency", s.by_frequency);
}

// Throws std::invalid_argument unless spec is a convolution with circular padding (or no
// padding at all), stride 1 and output size = input size.
template <class Scalar>
CircularSpectrum circular_singular_values(const ConvSpec& spec, const Scalar* weight);

}  // namespace convmat

#pragma once
// Transposed versus inverse: how far is the transposed layer Aᵀ from the pseudo-inverse A⁺
// (seed 000: "反卷积才是卷积的逆运算" — deconvolution, not transposed convolution, is the
// inverse)? Dense, for small layers: A may have at most dense_entry_limit entries
// (dense_limit.hpp: 2²², e.g. 2048 × 2048); larger A throws std::invalid_argument.
//
// A is a layer's map M (W for a convolution, Wᵀ for a transposed convolution) or any sparse
// matrix, m × n. With G the smaller Gram matrix (A Aᵀ when m <= n, else AᵀA, size min(m, n)) and
// c = trace(G)/min(m, n) = ‖A‖_F² / min(m, n), the least-squares fit of G by c·I:
//   if G = c·I (orthogonal rows of equal norm √c for wide A, orthogonal columns for tall A),
//   then A⁺ = Aᵀ/c, i.e. Aᵀ = c·A⁺ — e.g. stride = kernel size with one channel, where the
//   kernel windows do not overlap and c = ‖kernel‖².

#include <Eigen/Core>
#include <optional>

#include "convmat/analysis/spectrum.hpp"

namespace convmat {

// A⁺ = V Σ⁺ Uᵀ by LAPACK's dgesdd (dgesvd as fallback), singular values <= tolerance treated as
// zero (default: default_rank_tolerance, MATLAB's pinv). n × m, dense; all NaN in the (practically
// unseen) case that the SVD does not converge.
Eigen::MatrixXd pseudo_inverse(const SparseMatrixd& a, std::optional<double> tolerance = {});

struct TransposeVersusInverse {
  Index rows = 0, cols = 0;
  SpectrumStatus status = SpectrumStatus::converged;  // of the SVD behind A⁺
  Index rank = 0;                                     // with the tolerance below
  double tolerance = 0;  // rank tolerance of A⁺ (default_rank_tolerance unless given)
  // ‖Aᵀ − A⁺‖_F / ‖A⁺‖_F (NaN when A = 0).
  double relative_difference = 0;
  // c = trace(G)/min(m, n), and ‖G − c·I‖_F / ‖G‖_F (0 exactly when G = c·I).
  double scale = 0;
  double gram_error = 0;
  // gram_error <= orthogonality_tolerance (default 16·max(m, n)·ε — the rounding of the
  // computed G): then Aᵀ = c·A⁺. orthogonal_rows for m <= n, orthogonal_columns for m >= n.
  double orthogonality_tolerance = 0;
  bool orthogonal_rows = false;
  bool orthogonal_columns = false;
  // ‖Aᵀ/c − A⁺‖_F / ‖A⁺‖_F: ≈ 0 when orthogonal (up to rounding).
  double scaled_relative_difference = 0;
  // Reconstructing x from y = A x (relative to ‖x‖):
  double transpose_reconstruction_error = 0;         // ‖Aᵀ y − x‖ / ‖x‖
  double scaled_transpose_reconstruction_error = 0;  // ‖Aᵀ y / c − x‖ / ‖x‖
  double inverse_reconstruction_error = 0;  // ‖A⁺ y − x‖ / ‖x‖: 0 for full column rank;
                                            // else the part of x in null(A)
};
// Its fields (core/fields.hpp).
template <class Visit>
void for_each_field(const TransposeVersusInverse& r, Visit&& visit) {
  visit("rows", r.rows);
  visit("cols", r.cols);
  visit("status", r.status);
  visit("rank", r.rank);
  visit("tolerance", r.tolerance);
  visit("relative_difference", r.relative_difference);
  visit("scale", r.scale);
  visit("gram_error", r.gram_error);
  visit("orthogonality_tolerance", r.orthogonality_tolerance);
  visit("orthogonal_rows", r.orthogonal_rows);
  visit("orthogonal_columns", r.orthogonal_columns);
  visit("scaled_relative_difference", r.scaled_relative_difference);
  visit("transpose_reconstruction_error", r.transpose_reconstruction_error);
  visit("scaled_transpose_reconstruction_error", r.scaled_transpose_reconstruction_error);
  visit("inverse_reconstruction_error", r.inverse_reconstruction_error);
}

// x: the test input (n entries). Without x, a fixed one: uniform in [−1, 1] from
// std::mt19937_64 seeded with 0.
TransposeVersusInverse transpose_versus_inverse(const SparseMatrixd& a, const Eigen::VectorXd& x,
                                                std::optional<double> rank_tolerance = {},
                                                std::optional<double> orthogonality_tolerance = {});
TransposeVersusInverse transpose_versus_inverse(const SparseMatrixd& a);
template <class Scalar>
TransposeVersusInverse transpose_versus_inverse(const ConvMatrix<Scalar>& layer,
                                                const Eigen::VectorXd& x,
                                                std::optional<double> rank_tolerance = {},
                                                std::optional<double> orthogonality_tolerance = {});
template <class Scalar>
TransposeVersusInverse transpose_versus_inverse(const ConvMatrix<Scalar>& layer);

}  // namespace convmat

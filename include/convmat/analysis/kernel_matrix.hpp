#pragma once
// The kernel-side matrix A(x): the layer is linear in its weight too,
//   y = M(weight)·x = A(x)·vec(weight)
// with A(x) (batch·output_numel × weight_numel) — im2col as a sparse matrix (for a transposed
// convolution, its col2im counterpart). It is read off the same structure as W
// (ConvPattern::for_each_tap gives every (nonzero, column, weight index)):
//   convolution:  W[r, c] = Σ weight[w]  ⇒  A(x)[r, w] += x[c]
//   transposed:   y = Wᵀ x              ⇒  A(x)[c, w] += x[r]
// so every padding mode, stride, dilation, group and output_padding is covered. Consequences:
//   A(x)ᵀ·g is the weight gradient ∂⟨g, y⟩/∂weight (PyTorch: the layer's weight.grad for
//   output gradient g), and least squares on A(x) estimates a kernel from an input/output pair.
// Entries are stored where the structure has a tap, even when x is zero there.

#include <optional>
#include <vector>

#include "convmat/core/conv_matrix.hpp"

namespace convmat {

// x: batch samples of the layer's input (batch × input_numel, C order). Rows of A(x) are
// (sample, out_channel, *output_position), columns the weight in PyTorch's layout.
template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen kernel_matrix(const ConvPattern& pattern, const Scalar* x,
                                                        Index batch = 1);
template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen kernel_matrix(const ConvSpec& spec, const Scalar* x,
                                                        Index batch = 1) {
  return kernel_matrix(ConvPattern(spec), x, batch);
}

struct KernelEstimate {
  std::vector<double> weight;    // weight_numel values, PyTorch's layout
  Index rank = 0;                // numerical rank of A(x) (rank-revealing QR, the tolerance below)
  double tolerance = 0;          // |R_ii| threshold used: max(m, n)·ε·|R_11|
  double relative_residual = 0;  // ‖A(x)·weight − y‖ / ‖y‖ (0 when y = 0)
};
// Its fields (core/fields.hpp); the weight flat, in PyTorch's layout.
template <class Visit>
void for_each_field(const KernelEstimate& e, Visit&& visit) {
  visit("weight", e.weight);
  visit("rank", e.rank);
  visit("tolerance", e.tolerance);
  visit("relative_residual", e.relative_residual);
}

// The minimum-norm least-squares kernel: argmin ‖A(x)·w − y‖₂ (the smallest ‖w‖ among the
// minimizers when A(x) is rank-deficient), by Eigen's CompleteOrthogonalDecomposition in
// double — a dense solve, so A(x) may have at most dense_entry_limit entries
// (dense_limit.hpp); larger problems throw std::invalid_argument (use the sparse solvers on
// kernel_matrix instead). y: batch × output_numel, the layer's output without bias.
template <class Scalar>
KernelEstimate estimate_kernel(const ConvSpec& spec, const Scalar* x, const Scalar* y,
                               Index batch = 1);

extern template CsrMatrix<float>::RowMajorEigen kernel_matrix<float>(const ConvPattern&,
                                                                     const float*, Index);
extern template CsrMatrix<double>::RowMajorEigen kernel_matrix<double>(const ConvPattern&,
                                                                       const double*, Index);

}  // namespace convmat

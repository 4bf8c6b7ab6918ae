#pragma once
// Deconvolution: the real inverse of a layer, as least squares — not the transposed convolution.
//
// A layer is the linear map M (conv_matrix.hpp): M = W for a convolution, M = Wᵀ for a
// transposed convolution. Deconvolution solves, for each sample,
//   deconvolve:          x̂ = argmin ‖M x − y‖² + λ²‖x‖²      recover the input x from y = M x
//   deconvolve_adjoint:  ŷ = argmin ‖Mᵀ y − g‖² + λ²‖y‖²     recover y from g = Mᵀ y (for a
//                        convolution: undo the transposed convolution g = Wᵀ y)
// with the minimum-norm solution when λ = 0 and the map loses information. Whether it does: a
// convolution with more inputs than outputs (3×3 → 2×2 in seed 000) has a null space, so x̂ is
// the x of least norm with W x = y, not the x that produced y; a transposed convolution with
// full column rank (seed 000's 2×2 → 3×3) is inverted exactly (to rounding). The transposed
// convolution Wᵀ itself is the inverse only when W has orthonormal rows.
//
// Batches: y is M.rows() × batch, one sample per column — the memory of a C-order
// (batch, C_out, *output_size) array; x̂ is M.cols() × batch, likewise (batch, C_in, *input_size).
// QR and Cholesky factorize W's own CSR arrays (no copy of M in convmat; SuiteSparse copies to
// double); LSQR and LSMR use ConvMatrix's parallel products.

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/conv_spec.hpp"
#include "convmat/solve/lsq.hpp"

namespace convmat {

// LSQR/LSMR on a layer take options.preconditioner (preconditioner.hpp): dct, circulant or
// automatic build the layer's preconditioner from its spec and weight (on the side that keeps the
// minimum-norm answer); its δ is options.preconditioner_delta, or automatic — 0, or with a noise
// level the discrepancy-principle damp of the FFT-diagonalized problem (regularization.hpp). A
// preconditioner in `inputs` overrides all of that. damp_rule = gcv chooses λ by GCV: exactly
// (dense SVD) when M fits the dense limit, on the FFT-diagonalized problem otherwise.
template <class Scalar>
LsqResult<Scalar> deconvolve(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& y,
                             LsqMethod method, const LsqOptions& options = {},
                             const KrylovInputs<Scalar>& inputs = {});

template <class Scalar>
LsqResult<Scalar> deconvolve_adjoint(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& g,
                                     LsqMethod method, const LsqOptions& options = {},
                                     const KrylovInputs<Scalar>& inputs = {});

// From the layer's description: weight has spec.weight_numel() values in PyTorch's layout.
template <class Scalar>
LsqResult<Scalar> deconvolve(const ConvSpec& spec, const Scalar* weight, const RhsRef<Scalar>& y,
                             LsqMethod method, const LsqOptions& options = {},
                             const KrylovInputs<Scalar>& inputs = {}) {
  return deconvolve(ConvMatrix<Scalar>(spec, weight), y, method, options, inputs);
}
template <class Scalar>
LsqResult<Scalar> deconvolve_adjoint(const ConvSpec& spec, const Scalar* weight,
                                     const RhsRef<Scalar>& g, LsqMethod method,
                                     const LsqOptions& options = {},
                                     const KrylovInputs<Scalar>& inputs = {}) {
  return deconvolve_adjoint(ConvMatrix<Scalar>(spec, weight), g, method, options, inputs);
}

extern template LsqResult<float> deconvolve<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                                   LsqMethod, const LsqOptions&,
                                                   const KrylovInputs<float>&);
extern template LsqResult<double> deconvolve<double>(const ConvMatrix<double>&,
                                                     const RhsRef<double>&, LsqMethod,
                                                     const LsqOptions&,
                                                     const KrylovInputs<double>&);
extern template LsqResult<float> deconvolve_adjoint<float>(const ConvMatrix<float>&,
                                                           const RhsRef<float>&, LsqMethod,
                                                           const LsqOptions&,
                                                           const KrylovInputs<float>&);
extern template LsqResult<double> deconvolve_adjoint<double>(const ConvMatrix<double>&,
                                                             const RhsRef<double>&, LsqMethod,
                                                             const LsqOptions&,
                                                             const KrylovInputs<double>&);

}  // namespace convmat

#pragma once
// The Tikhonov damp λ of x_λ = argmin ‖A x − b‖² + λ²‖x‖² for noisy data, chosen from the data:
//   GCV          argmin_λ  Σ_j ‖b_j − A x_λ,j‖² / trace(I − A (AᵀA + λ²I)⁻¹ Aᵀ)²
//                (Golub, Heath & Wahba 1979; no noise level needed), over λ² from 10⁻¹⁴·σ₁² to
//                σ₁², a log grid of 200 points refined by golden-section search;
//   discrepancy  the λ with Σ_j ‖b_j − A x_λ,j‖² = (τ·noise_level)² Σ_j ‖b_j‖² (Morozov; the
//                residual grows with λ, so it is unique: 0 when even λ → 0 leaves more, +∞ when
//                b itself is below it).
// Both are functions of the singular values σ_i of A and of the coefficients u_iᵀb:
//   ‖b − A x_λ‖² = ‖P⊥b‖² + Σ_i (λ²/(σ_i² + λ²))² (u_iᵀb)²,
//   trace(I − H_λ) = (m − #σ) + Σ_i λ²/(σ_i² + λ²).
// They come from
//   the direct problem   the dense SVD of A (exact; at most dense_entry_limit entries), or
//   the FFT-diagonalized problem   a layer's preconditioner (preconditioner.hpp): the eigenvalues
//                        Λ of its Gram matrix stand for σ², the transform coefficients for u_iᵀb
//                        (on the right, v_iᵀ(Aᵀb)/σ_i, one product with Aᵀ) — O(n log n) for any
//                        size, exact when the transform diagonalizes the layer exactly (circular
//                        padding, stride 1), an approximation otherwise.

#include <Eigen/Core>
#include <type_traits>

#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/preconditioner.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat {

// The direct problem: B is A.rows() × k. Throws std::invalid_argument beyond the dense limit.
template <class Scalar>
double gcv_damp(SparseRef<Scalar> a,
                const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b);

// The FFT-diagonalized problem of `m` (the layer's map, or its adjoint — whatever `p` was built
// for), B m.rows() × k.
template <class Scalar>
double gcv_damp(const LayerPreconditioner<Scalar>& p, const LinearOperator<Scalar>& m,
                const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b);
template <class Scalar>
double discrepancy_damp(const LayerPreconditioner<Scalar>& p, const LinearOperator<Scalar>& m,
                        const std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>& b,
                        double noise_level, double discrepancy_factor = 1.01);

}  // namespace convmat

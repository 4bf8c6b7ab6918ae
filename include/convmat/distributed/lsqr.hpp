#pragma once
// Least squares on distributed matrices by PETSc's KSPLSQR (Paige & Saunders' LSQR, no
// preconditioner), stopped by convmat's rules — SciPy's lsqr istop codes, LsqOptions' damp, atol,
// btol, conlim and iteration limit, LsqStatus (iterative_lsq.hpp, lsq_types.hpp) — so that a
// distributed solve reports what the serial LsqrSolver reports:
//   x̂ = argmin ‖A x − b‖² + λ²‖x‖²   (λ = options.damp; for λ = 0 and A wide or rank deficient
//                                       the iterates from x₀ = 0 tend to the minimum-norm x̂)
//
// KSPLSQR provides the bidiagonalization's estimates of ‖r‖ (φ̄), ‖Aᵀr‖ and ‖A‖_F — the same
// recurrences as the serial LSQR — and convmat's convergence test adds ‖x‖ (computed) and
// cond(A) ≈ ‖A‖_F·‖D_k‖_F with ‖D_k‖_F² = Σ ‖x_i − x_{i−1}‖²/φ_i², φ_i² = φ̄_{i−1}² − φ̄_i² (P&S
// §5.3: x_i − x_{i−1} = (φ_i/ρ_i) w_i, and D_k's columns are w_i/ρ_i). For λ > 0, KSPLSQR runs on
// the stacked [A; λI] (a shell matrix: one product with A or Aᵀ each), whose bidiagonalization
// has, in exact arithmetic, the damped LSQR's iterates, residuals and norm estimates.
//
// Invalid input throws std::invalid_argument on every rank (validate(options); b not finite on
// any rank; sizes); numerical outcomes are the LsqInfo's status, never exceptions. The progress
// callback, if any, is called on every rank; the solve stops when any rank's returns false.

#include <petscmat.h>

#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat::distributed {

// x̂ for A (any assembled or shell PETSc matrix, m × n) and b (A's row layout) into x (A's column
// layout). info.residual_norm, relative_residual, normal_residual_norm and solution_norm are
// recomputed from x̂ (one product with A and one with Aᵀ); info.residual_history holds KSPLSQR's
// φ̄ per iteration (‖[b; 0] − [A; λI] x_k‖).
LsqInfo lsqr(Mat a, Vec b, Vec x, const LsqOptions& options = {});

// The layer: x̂ from its output y = M x (deconvolution), and ŷ from g = Mᵀ y.
// y, g: output / input vectors of the layer (create_output(), create_input()).
LsqInfo deconvolve(const DistributedConvMatrix& m, Vec y, Vec x, const LsqOptions& options = {});
LsqInfo deconvolve_adjoint(const DistributedConvMatrix& m, Vec g, Vec y,
                           const LsqOptions& options = {});

}  // namespace convmat::distributed

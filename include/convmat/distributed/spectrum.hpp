#pragma once
// The extreme singular values and the condition number of a distributed W by SLEPc, the
// distributed counterparts of spectrum.hpp's largest_singular_values, smallest_singular_values and
// condition_number (the same options, results and statuses). W and Wᵀ have the same singular
// values, so a layer's M is answered by its stored W.
//  - largest: SLEPc's thick-restart Lanczos bidiagonalization (SVDTRLANCZOS), matrix-free;
//  - smallest, SmallestMethod::shift_invert (the default, as the serial code): the smaller Gram
//    matrix G (W Wᵀ when W is wide, else WᵀW) formed as a distributed product, SLEPc's
//    Krylov–Schur on (G + δI)⁻¹ with δ = gram_shift·‖G‖₁ (spectrum.hpp) and G + δI factored by
//    MUMPS' parallel Cholesky; σ = √λ. Resolves σ down to about √ε·σ₁, like the serial code; the
//    factor's memory grows with fill (a 3-d layer's can be many times W's);
//  - smallest, SmallestMethod::lanczos: SVDTRLANCZOS for the smallest, matrix-free (no factor),
//    but slow to converge when the small singular values cluster (an ill-conditioned blur).
// Invalid options throw std::invalid_argument on every rank (lanczos_subspace's rules); not
// converging within max_iterations, or a failed factorization, is the status.

#include <petscmat.h>

#include "convmat/analysis/spectrum.hpp"
#include "convmat/distributed/conv_matrix.hpp"

namespace convmat::distributed {

enum class SmallestMethod { shift_invert, lanczos };

// A: any assembled PETSc matrix (MATMPIAIJ, also MATTRANSPOSEVIRTUAL of one). Collective.
PartialSingularValues largest_singular_values(Mat a, const PartialSpectrumOptions& options = {});
PartialSingularValues smallest_singular_values(
    Mat a, const PartialSpectrumOptions& options = {},
    SmallestMethod method = SmallestMethod::shift_invert);
ConditionEstimate condition_number(Mat a, const PartialSpectrumOptions& options = {},
                                   SmallestMethod method = SmallestMethod::shift_invert);

// The layer's M (its stored W).
PartialSingularValues largest_singular_values(const DistributedConvMatrix& m,
                                              const PartialSpectrumOptions& options = {});
PartialSingularValues smallest_singular_values(
    const DistributedConvMatrix& m, const PartialSpectrumOptions& options = {},
    SmallestMethod method = SmallestMethod::shift_invert);
ConditionEstimate condition_number(const DistributedConvMatrix& m,
                                   const PartialSpectrumOptions& options = {},
                                   SmallestMethod method = SmallestMethod::shift_invert);

}  // namespace convmat::distributed

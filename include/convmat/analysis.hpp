#pragma once
// convmat analysis: how far Wᵀ is from the inverse, and the textbook identities as matrices.
#include "convmat/analysis/checkerboard.hpp"     // taps per output of a transposed convolution
#include "convmat/analysis/dense_limit.hpp"      // dense_entry_limit: the cap of dense work
#include "convmat/analysis/kernel_matrix.hpp"    // A(x) with y = A(x)·vec(weight) (im2col)
#include "convmat/analysis/pseudo_inverse.hpp"   // transposed versus inverse: Aᵀ against A⁺
#include "convmat/analysis/spectrum.hpp"         // singular values (dense, Lanczos, FFT), rank
#include "convmat/analysis/spectrum_method.hpp"  // dense or Lanczos, their memory, Lanczos's rank
#include "convmat/analysis/transposed_factorization.hpp"  // transposed convolution = C·P·Z
#include "convmat/analysis/upsampling.hpp"                // PyTorch's upsampling as matrices

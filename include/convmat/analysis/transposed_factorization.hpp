#pragma once
// "Transposed convolution can be turned into a convolution" (seed 000), as explicit sparse
// matrices. For a transposed layer T (input n, kernel k, stride s, dilation d, padding p0/p1,
// output_padding a, per spatial axis), its matrix M_T = Wᵀ factors as
//
//   M_T = C · P · Z
//
//   Z  zero insertion: s − 1 zeros between neighbouring inputs, n → (n − 1)s + 1;
//   P  zero padding by d(k − 1) − p0 at the begin and d(k − 1) − p1 + a at the end
//      (a negative amount crops);
//   C  the stride-1, unpadded convolution with the spatially flipped kernel, input and output
//      channels swapped within each group, the same dilation and groups.
//
// (Dumoulin & Visin 2016, §4: a transposed convolution is a direct convolution on a
// zero-inserted, zero-padded input.) Z and P are 0/1 selection matrices built here directly,
// C is ConvMatrix of flipped_convolution(T) with flipped_weight(T, weight); the identity holds
// exactly (every entry of the product is a single weight),
// tests/analysis/test_transposed_factorization.cpp checks it.

#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/csr_matrix.hpp"

namespace convmat {

// Z: (channels · Π((n_a − 1)s_a + 1)) × (channels · Π n_a), z[c, i·s] = x[c, i], zero elsewhere.
// Spatial vectors as in ConvParams (one entry per axis; stride may have one entry for all).
template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen zero_insertion_matrix(Index channels, const Dims& size,
                                                                const Dims& stride);

// P: (channels · Π(n_a + b_a + e_a)) × (channels · Π n_a), p[c, i + b] = x[c, i]: b_a zeros
// before and e_a after each axis (NumPy: np.pad(x, [(0, 0), (b0, e0), …])); a negative amount
// crops that many entries instead. Every padded size must stay >= 1.
template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen zero_padding_matrix(Index channels, const Dims& size,
                                                              const Dims& pad_begin,
                                                              const Dims& pad_end);

// C's spec for a transposed spec T: convolution, in = T.in_channels, out = T.out_channels,
// groups = T.groups, input size = T's input size after Z and P, kernel and dilation of T,
// stride 1, no padding. Its output size is T's. Throws std::invalid_argument unless T is
// transposed.
ConvSpec flipped_convolution(const ConvSpec& transposed);

// C's weight (C_out, C_in/g, *k) from T's weight (C_in, C_out/g, *k) in PyTorch's layout:
//   C[g·C_out/g + o, i, κ] = T[g·C_in/g + i, o, k − 1 − κ]   (κ flipped in every spatial axis)
// (PyTorch: w.flip(spatial dims).view(g, C_in/g, C_out/g, *k).transpose(1, 2).reshape(C_out,
// C_in/g, *k)).
template <class Scalar>
std::vector<Scalar> flipped_weight(const ConvSpec& transposed, const Scalar* weight);

template <class Scalar>
struct TransposedAsConvolution {
  using Matrix = typename CsrMatrix<Scalar>::RowMajorEigen;
  ConvSpec convolution_spec;               // flipped_convolution(T)
  std::vector<Scalar> convolution_weight;  // flipped_weight(T, weight)
  Matrix zero_insertion;                   // Z
  Matrix padding;                          // P
  Matrix convolution;                      // C
  Matrix product() const { return Matrix(convolution * Matrix(padding * zero_insertion)); }
};

// The three factors of the transposed layer `transposed` with `weight` (PyTorch layout).
template <class Scalar>
TransposedAsConvolution<Scalar> transposed_as_convolution(const ConvSpec& transposed,
                                                          const Scalar* weight);

}  // namespace convmat

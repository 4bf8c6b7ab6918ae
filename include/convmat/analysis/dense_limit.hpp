#pragma once
// The size limit of every dense computation in convmat's analysis: all singular values, the
// pseudo-inverse, dense least squares. These hold the matrix densely (and an SVD holds up to two
// more factors of the same size), so they accept at most dense_entry_limit = 2²² entries —
// 32 MiB in double, e.g. 2048 × 2048 or 16384 × 256. Larger problems throw std::invalid_argument
// naming the size and the limit; use the sparse paths instead (largest_singular_values /
// smallest_singular_values, or the sparse least-squares solvers).

#include "convmat/core/conv_spec.hpp"

namespace convmat {

inline constexpr Index dense_entry_limit = Index(1) << 22;

// Throws std::invalid_argument when rows · cols > dense_entry_limit, e.g.
// "singular_values: a dense 14884x16384 matrix has 243859456 entries, more than the dense limit
//  of 4194304 (2^22) entries".
void check_dense_size(const char* what, Index rows, Index cols);

}  // namespace convmat

#pragma once
// SlabLayout: how a layer's W is spread over P processes (ranks) — a slab of the spatial domain
// per rank, every channel on every rank, so that a product exchanges only a halo.
//
// The slabs are cut along spatial axis 0 (L of NCL, H of NCHW, D of NCDHW). Along it W has R row
// positions and n column positions (R = the stored convolution's output size, n its input size;
// for a transposed layer T, R is T's input size and n its output size, see conv_pattern.hpp).
// Rank p owns
//   W's rows    with row position    o ∈ [a_p, a_{p+1}),  a_p = ⌊p·R/P⌋,
//   W's columns with column position i ∈ [b_p, b_{p+1}),  b_p = clamp(a_p·s − p₀ + δ, 0, n),
//                                                          b_0 = 0, b_P = n,
// every channel and every position along the other axes, where s, k, d, p₀ are the stride,
// kernel size, dilation and begin padding along axis 0 and δ = max(0, ⌊((k−1)d + 1 − s)/2⌋).
// Row o reads the column positions o·s − p₀ + j·d (j < k), so the rows of rank p reach
// δ positions below b_p and (k−1)d + 1 − s − δ above b_{p+1} − 1: away from the borders, with zero
// padding and a slab of at least that many positions, W·x receives from each neighbour
//   halo = ((k−1)·d + 1 − s) · C_cols · Π_{a≥1} n_a  values per interface, split over the two faces
// (C_cols = W's column channels, n_a the column positions along the other axes; circular padding
// adds p₀ + p₁ positions between the first and the last rank). halo() counts it exactly, from
// the structure, for any layer and any P — also P > R, where ranks own no rows.
//
// PETSc numbers each rank's rows and columns contiguously (rank-major): rank p's vector entries
// are the slab x[:, b_p:b_{p+1}, …] in C order, and its global index is the local one plus the
// sizes of the ranks before it. convmat numbers them channel-major (conv_matrix.hpp): VectorLayout
// converts between the two and gives each rank's share of a (C, *spatial) sample.

#include <vector>

#include "convmat/core/conv_pattern.hpp"
#include "convmat/core/conv_spec.hpp"

namespace convmat::distributed {

// The entries of one side of W (its rows or its columns) over the ranks: channels × positions
// along axis 0 × inner (the positions along the other axes), cut into slabs along axis 0.
class VectorLayout {
 public:
  VectorLayout() = default;
  // begin: P + 1 nondecreasing cut points, begin[0] = 0, begin[P] = positions.
  VectorLayout(Index channels, Index positions, Index inner, std::vector<Index> begin);

  int ranks() const { return static_cast<int>(begin_.size()) - 1; }
  Index channels() const { return channels_; }
  Index positions() const { return positions_; }  // along axis 0
  Index inner() const { return inner_; }          // per position of axis 0, per channel
  Index size() const { return channels_ * positions_ * inner_; }

  // Rank p's positions along axis 0: [begin(p), begin(p + 1)).
  Index begin(int p) const { return begin_[static_cast<std::size_t>(p)]; }
  RowSlab slab(int p) const { return {begin(p), begin(p + 1)}; }
  Index local_size(int p) const { return channels_ * (begin(p + 1) - begin(p)) * inner_; }
  Index offset(int p) const { return channels_ * begin(p) * inner_; }  // PETSc's first index
  int owner(Index position) const;  // the rank whose slab holds this position along axis 0

  // convmat's index (channel, position, rest) ↔ PETSc's (rank, channel, position − begin, rest).
  Index petsc_index(Index natural) const;
  Index natural_index(Index petsc) const;

 private:
  Index channels_ = 0, positions_ = 0, inner_ = 0;
  std::vector<Index> begin_{0};
};

// What one rank receives and sends in W·x (and, reversed, in Wᵀ·y), counted from W's structure.
struct HaloCount {
  Index positions_below = 0;  // column positions along axis 0 read below the rank's slab …
  Index positions_above = 0;  // … and above it (outside it, wrapping around for circular)
  Index received = 0;         // values: the distinct columns of other ranks that its rows read
  Index sent = 0;             // values: its columns that the other ranks' rows read
  int neighbours = 0;         // ranks it receives from
};

class SlabLayout {
 public:
  // The layout of `spec`'s W over `ranks` >= 1 processes (std::invalid_argument otherwise).
  SlabLayout(const ConvSpec& spec, int ranks);

  const ConvSpec& spec() const { return spec_; }
  int ranks() const { return rows_.ranks(); }
  const VectorLayout& rows() const { return rows_; }  // W's rows
  const VectorLayout& cols() const { return cols_; }  // W's columns
  // The layer's input and output (M = W for a convolution, Wᵀ for a transposed convolution).
  const VectorLayout& input() const { return spec_.is_transposed() ? rows_ : cols_; }
  const VectorLayout& output() const { return spec_.is_transposed() ? cols_ : rows_; }

  // W's nonzeros in rank p's rows, and how many of them lie in other ranks' columns.
  Index local_nnz(int p) const;
  Index offdiagonal_nnz(int p) const;
  // The halo of rank p in one W·x, exactly (counted per axis from the structure).
  HaloCount halo(int p) const;
  // The formula at the top of this file: ((k−1)·d + 1 − s)·C_cols·Π_{a≥1} n_a, at least 0.
  Index interface_halo() const;

 private:
  ConvSpec spec_;
  VectorLayout rows_, cols_;
};

}  // namespace convmat::distributed

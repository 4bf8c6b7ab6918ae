#pragma once
// ChannelBlockedMatrix<Scalar>: a layer's W stored so that the rows that share a column list
// share it in memory too.
//
// Rows (o, p) of W (conv_pattern.hpp: output channel o, output position p) read the same input
// positions for every output channel o of one group — only the values differ. CSR stores that
// column list once per row; here it is stored once per (group, position), and the values of
// `block` consecutive output channels at one position sit together, block × 1 per column (a
// BSR-like layout):
//   spatial        the structure of one row per (group, position): the CSR pattern of the same
//                  layer with one output channel per group (nnz / rows_per_group column indices);
//   values[i, k]   for row i = (g, p) of `spatial` (len_i columns) and channel block k of the
//                  group (channels g·R + k·B … + B − 1): len_i × B values, column-major in the
//                  block — value(j, r) = W[(g·R + k·B + r, p), spatial column j] — at offset
//                  R·spatial_row_ptr[i] + k·len_i·B (R = rows_per_group, B = block).
// Memory: nnz values, nnz / R column indices and one row pointer per (group, position); in
// float32 about 4 + 4/R bytes per nonzero against CSR's 8.
//
// Products take dense blocks in NumPy's C order like CsrMatrix (batch × length, each vector
// contiguous): W·x reads each column index and x value once per channel block instead of once per
// row, and Wᵀ·y writes each x once per (position, column) instead of once per row. Parallel
// (OpenMP) above 2·64 Ki nonzeros; Wᵀ·y with per-thread accumulators; batches in interleaved
// lanes, 16 vectors at a time; generic, AVX2 and AVX-512 kernels picked at run time
// (detail/kernel_isa.hpp). On integer-valued data the results equal CsrMatrix's exactly.
//
// The block B is picked from the channel count: the largest of 8, 4, 2, 1 that divides R.

#include <Eigen/SparseCore>
#include <cstdint>
#include <memory>
#include <vector>

#include "convmat/core/buffer.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/core/conv_spec.hpp"
#include "convmat/core/csr_matrix.hpp"

namespace convmat {

// The structure: depends on the spec alone, shared between matrices.
class ChannelBlocks {
 public:
  explicit ChannelBlocks(const ConvSpec& spec);

  const ConvSpec& spec() const { return spec_; }
  Index rows() const { return groups_ * rows_per_group_ * positions_; }
  Index cols() const { return spatial_->cols(); }
  Index nnz() const { return rows_per_group_ * spatial_->nnz(); }
  Index groups() const { return groups_; }
  Index positions() const { return positions_; }            // spatial rows per channel
  Index rows_per_group() const { return rows_per_group_; }  // R
  Index block() const { return block_; }                    // B
  // One row per (group, position), row index g·positions + p.
  const SparsityPattern& spatial() const { return *spatial_->sparsity(); }
  const ConvPattern& spatial_pattern() const { return *spatial_; }
  std::size_t memory_bytes() const;  // the structure's arrays

  // The block for R channels per group: 8, 4, 2 or 1, the largest that divides R.
  static Index block_for(Index rows_per_group);

 private:
  ConvSpec spec_;
  std::shared_ptr<const ConvPattern> spatial_;
  Index groups_ = 1, positions_ = 1, rows_per_group_ = 1, block_ = 1;
};

template <class Scalar>
class ChannelBlockedMatrix {
 public:
  using RowMajorEigen = typename CsrMatrix<Scalar>::RowMajorEigen;

  ChannelBlockedMatrix() = default;
  // weight: spec.weight_numel() values, PyTorch's layout (conv_matrix.hpp).
  ChannelBlockedMatrix(std::shared_ptr<const ChannelBlocks> structure, const Scalar* weight);
  // New values for another weight tensor, the structure kept.
  void refill(const Scalar* weight);

  Index rows() const { return s_ ? s_->rows() : 0; }
  Index cols() const { return s_ ? s_->cols() : 0; }
  Index nnz() const { return s_ ? s_->nnz() : 0; }
  const std::shared_ptr<const ChannelBlocks>& structure() const { return s_; }
  const Scalar* values() const { return values_.data(); }
  // Bytes held by the values and the structure.
  std::size_t memory_bytes() const;

  // batch >= 0; a batch of 0 touches neither array.
  void multiply(const Scalar* x, Scalar* y, Index batch = 1) const;             // y = W x
  void multiply_transposed(const Scalar* x, Scalar* y, Index batch = 1) const;  // y = Wᵀ x

  // Exact CSR copies (the same arrays ConvPattern and CsrMatrix build for W).
  CsrMatrix<Scalar> to_csr() const;
  // Only the values, in CSR order (nnz entries).
  void csr_values(Scalar* out) const;
  RowMajorEigen to_eigen() const;  // W (32-bit indices: std::length_error past 2³¹ − 1)
  RowMajorEigen to_eigen_transposed() const;  // Wᵀ
  // W with its rows in channels-last order (p, o) — where a channel block is B consecutive rows —
  // as scipy.sparse.bsr_matrix((data, indices, indptr), blocksize=(B, 1)) takes it: data
  // nblocks·B values (block-major), indices and indptr as in CSR over block rows; row[r] is W's
  // row of the BSR matrix's row r (channels-last p·C + o ← channel-major o·P + p), so that
  // BSR == W[row] exactly.
  struct Bsr {
    Index block_rows = 0, block = 1, cols = 0;
    std::vector<Scalar> data;
    std::vector<std::int32_t> indices;
    std::vector<std::int64_t> indptr;
    std::vector<Index> row;
  };
  Bsr to_bsr_channels_last() const;

 private:
  std::shared_ptr<const ChannelBlocks> s_;
  Buffer<Scalar> values_;
};

// Bytes a ChannelBlockedMatrix<Scalar> holds for `spec` (scalar_size = sizeof(Scalar)): nnz values,
// nnz / R column indices and (groups · positions + 1) row pointers. Saturates at SIZE_MAX.
std::size_t channel_blocked_bytes(const ConvSpec& spec, std::size_t scalar_size);

extern template class ChannelBlockedMatrix<float>;
extern template class ChannelBlockedMatrix<double>;

}  // namespace convmat

#pragma once
// ConvPattern: the structure of a layer's matrix W (conv_matrix.hpp), which depends on the spec
// alone — for every nonzero its row, its column, and the kernel taps that meet there.
//
// W's rows are (out_channel, *output_position) of the stored convolution and its columns
// (in_channel, *input_position), flattened in C order (for a transposed layer the stored
// convolution is ConvSpec::as_convolution()). The structure is built once, directly in CSR and in
// parallel over rows; values for any weight tensor are filled into it (fill), the same split as
// SuiteSparse's symbolic and numeric phases.
//
// A pattern may hold only a slab of W's rows (RowSlab: a range of positions along the outermost
// spatial axis, every channel), built directly with W's global column indices and without the
// rest of W: that is one process's share of a distributed W (convmat/distributed/). The whole W
// is the slab of every position, built by the same code.

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/detail/assert.hpp"
#include "convmat/core/detail/axis_map.hpp"

namespace convmat {

namespace detail {
struct RowTemplates;  // conv_pattern.cpp: the few distinct row shapes W is made of
}

// A slab of W's rows: every row channel, the row positions [begin, end) along the outermost
// spatial axis (spatial axis 0: L of NCL, H of NCHW, D of NCDHW) and every position along the
// others. Its rows are numbered in C order, (channel, position − begin, …), so per channel they
// are one contiguous range of W's rows. end < 0 stands for the number of positions: the default
// slab is all of W.
struct RowSlab {
  Index begin = 0;
  Index end = -1;
};

class ConvPattern {
 public:
  // Builds the CSR structure of W's rows in `slab` (default: all of W) directly in compressed
  // form, in parallel over rows; columns are W's. Throws std::invalid_argument unless
  // 0 <= slab.begin <= slab.end <= slab_positions(spec) (end < 0: slab_positions(spec)).
  explicit ConvPattern(const ConvSpec& spec, RowSlab slab = {});

  const ConvSpec& spec() const { return spec_; }
  // The stored matrix W: for a convolution the layer itself, for a transposed convolution the
  // convolution whose transpose the layer is. rows() counts the slab's rows (all of W's by
  // default), cols() all of W's columns.
  Index rows() const { return sparsity_->rows; }
  Index cols() const { return sparsity_->cols; }
  // The slab held, with end resolved; row r of this pattern is row global_row(r) of W.
  const RowSlab& slab() const { return slab_; }
  Index global_row(Index row) const;
  Index nnz() const { return sparsity_->nnz(); }
  const std::shared_ptr<const SparsityPattern>& sparsity() const { return sparsity_; }

  // W's values for `weight` (spec().weight_numel() entries, PyTorch layout) into values[nnz].
  // Runs in parallel over rows.
  template <class Scalar>
  void fill(const Scalar* weight, Scalar* values) const;

  // Calls f(nz, column, weight_index) for every kernel tap that contributes to a nonzero of row
  // `row` of the pattern (W's row global_row(row)), in the stored order: W[row, column] = Σ
  // weight[weight_index] over the calls with that nz. (One call per nonzero with zero padding; more
  // where padding folds several taps onto one input position.) This is the structure read the other
  // way: it gives the kernel-side matrix A(x) with y = A(x)·vec(weight).
  template <class F>
  void for_each_tap(Index row, F&& f) const;

  // Whether some nonzero of W sums several taps (padding folds them onto one input position:
  // reflect, replicate or circular padding of a small input).
  bool folds() const {
    return !(axes_[0].one_tap_per_entry && axes_[1].one_tap_per_entry &&
             axes_[2].one_tap_per_entry);
  }

  // The rows of W whose window meets a zero-padding position with a tap whose weight is
  // infinite or NaN (for some column channel of the row's group), ascending. W has no entry for a
  // padded tap, but the layer's definition multiplies it by the padding's zero, and IEEE
  // arithmetic gives 0·inf = 0·NaN = NaN: the direct loops, PyTorch and oneDNN compute these
  // rows as NaN, and ConvMatrix sets them to NaN where it gathers along W's rows (a
  // convolution's forward, a transposed convolution's adjoint). Empty unless the padding mode is
  // zeros and some weight is not finite (one pass over the weight otherwise).
  template <class Scalar>
  std::vector<Index> nonfinite_padding_rows(const Scalar* weight) const;

  // The columns of W (flat (channel, position) of the stored convolution's input: a transposed
  // convolution's output) where a tap whose weight is infinite or NaN (for some row channel of
  // the column's group) pairs with no row along some axis, ascending. A transposed convolution
  // computed as the gather of its definition (its input with stride − 1 zeros between
  // positions, padded: XLA's lhs_dilation, zero-insertion kernels) puts that tap on an inserted
  // zero or on the padding there, and 0·inf = NaN; Wᵀ·y, the scatter, skips it. Empty when
  // every weight is finite.
  template <class Scalar>
  std::vector<Index> nonfinite_gap_columns(const Scalar* weight) const;

  const detail::AxisMap& axis(int a) const {
    CONVMAT_ASSERT(a >= 0 && a < 3, "ConvPattern::axis: 0, 1 or 2 (ranks below 3 lead with 1s)");
    return axes_[static_cast<std::size_t>(a)];
  }

 private:
  // W's rows (columns = false) or columns where a non-finite weight meets a tap that has no
  // entry there: nonfinite_padding_rows and nonfinite_gap_columns, one rule read from each side.
  template <class Scalar>
  std::vector<Index> nonfinite_gaps(const Scalar* weight, bool columns) const;

  ConvSpec spec_;
  RowSlab slab_;
  std::shared_ptr<const SparsityPattern> sparsity_;
  // Ranks 1 and 2 are embedded in rank 3 with leading axes of size 1, so one walker serves all.
  std::array<detail::AxisMap, 3> axes_;
  // The slab along the embedded axes: row positions [first_[a], first_[a] + extent_[a]).
  std::array<Index, 3> first_{0, 0, 0};
  std::array<Index, 3> extent_{1, 1, 1};
  Index row_channels_ = 1;            // channels along W's rows (C_out of the stored convolution)
  Index col_channels_ = 1;            // channels along W's columns
  Index col_channels_per_group_ = 1;  // column channels each row reads (one group's)
  Index row_channels_per_group_ = 1;  // row channels of one group
  std::shared_ptr<const detail::RowTemplates> templates_;
};

// The number of row positions along the axis a RowSlab cuts: spatial axis 0 of W's rows (of the
// output for a convolution, of the input for a transposed convolution).
Index slab_positions(const ConvSpec& spec);

// W's number of nonzeros for `spec` (in the rows of `slab`), counted without building W (equals
// ConvPattern(spec, slab).nnz()).
// Row r = (channel, o_0, …) of W holds channels_per_group · Π_a entries_a(o_a) nonzeros, so
//   nnz = row_channels · channels_per_group · Π_a Σ_o entries_a(o),
// where entries_a(o) is the number of distinct input positions that the taps of row position o
// land on along axis a (zero padding drops the taps outside the input; reflect, replicate and
// circular padding fold them back, possibly onto a position another tap already reads). Each
// entries_a(o) is a union of at most three arithmetic progressions with step d, counted in O(1),
// so the cost is O(Σ_a rows_a) time and O(1) memory (the sum along axis 0 runs over the slab).
Index conv_matrix_nnz(const ConvSpec& spec, RowSlab slab = {});

extern template void ConvPattern::fill<float>(const float*, float*) const;
extern template void ConvPattern::fill<double>(const double*, double*) const;
extern template std::vector<Index> ConvPattern::nonfinite_padding_rows<float>(const float*) const;
extern template std::vector<Index> ConvPattern::nonfinite_padding_rows<double>(const double*) const;
extern template std::vector<Index> ConvPattern::nonfinite_gap_columns<float>(const float*) const;
extern template std::vector<Index> ConvPattern::nonfinite_gap_columns<double>(const double*) const;

// ---------------------------------------------------------------------------------------------

template <class F>
void ConvPattern::for_each_tap(Index row, F&& f) const {
  CONVMAT_ASSERT(row >= 0 && row < rows(), "ConvPattern::for_each_tap: row out of range");
  const detail::AxisMap& a0 = axes_[0];
  const detail::AxisMap& a1 = axes_[1];
  const detail::AxisMap& a2 = axes_[2];
  const Index spatial_rows = extent_[0] * extent_[1] * extent_[2];
  const Index channel = row / spatial_rows;
  Index rest = row % spatial_rows;
  const Index o2 = first_[2] + rest % extent_[2];
  rest /= extent_[2];
  const Index o1 = first_[1] + rest % extent_[1];
  const Index o0 = first_[0] + rest / extent_[1];
  const Index first_col_channel = channel / row_channels_per_group_ * col_channels_per_group_;
  const Index kernel_numel = a0.taps * a1.taps * a2.taps;
  Index nz = sparsity_->row_ptr[static_cast<std::size_t>(row)];
  for (Index c = 0; c < col_channels_per_group_; ++c) {
    const Index col_base = (first_col_channel + c) * a0.cols;
    const Index weight_base = (channel * col_channels_per_group_ + c) * kernel_numel;
    for (Index e0 = a0.entry_ptr[o0]; e0 < a0.entry_ptr[o0 + 1]; ++e0) {
      const Index col0 = (col_base + a0.entry_col[e0]) * a1.cols;
      for (Index e1 = a1.entry_ptr[o1]; e1 < a1.entry_ptr[o1 + 1]; ++e1) {
        const Index col1 = (col0 + a1.entry_col[e1]) * a2.cols;
        for (Index e2 = a2.entry_ptr[o2]; e2 < a2.entry_ptr[o2 + 1]; ++e2, ++nz) {
          const Index col = col1 + a2.entry_col[e2];
          for (Index t0 = a0.tap_ptr[e0]; t0 < a0.tap_ptr[e0 + 1]; ++t0) {
            for (Index t1 = a1.tap_ptr[e1]; t1 < a1.tap_ptr[e1 + 1]; ++t1) {
              const Index w01 = weight_base + (a0.tap[t0] * a1.taps + a1.tap[t1]) * a2.taps;
              for (Index t2 = a2.tap_ptr[e2]; t2 < a2.tap_ptr[e2 + 1]; ++t2) {
                f(nz, col, w01 + a2.tap[t2]);
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace convmat

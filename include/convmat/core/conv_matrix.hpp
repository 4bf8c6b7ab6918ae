#pragma once
// The layer as a sparse matrix: seed 000's kernel2matrix, generalized to every hyperparameter.
//
// A convolution with spec S is the matrix W (S.output_numel() × S.input_numel()):
//   y = W x,  row index = (out_channel, *output_position), column index = (in_channel,
//   *input_position), both flattened in C order, so W @ x.reshape(-1) is one sample.
// A transposed convolution with spec T is Wᵀ, where W is the convolution matrix of
// T.as_convolution() (same kernel, stride, padding, dilation; channels swapped; input size =
// T's output size), restricted to the rows that T's input covers. The weight tensor is the same
// in both layouts: PyTorch stores a transposed convolution's weight as (C_in, C_out/groups, *k),
// which is exactly the convolution weight (out_channels, in_channels/groups, *k) of that W.
// So one structure serves both: ConvMatrix stores W and applies W or Wᵀ.
//
// ConvPattern is the structure (depends on the spec alone: which input position meets which
// kernel tap in every nonzero); ConvMatrix adds values from a weight tensor and can be refilled
// with new weights without rebuilding the structure — the same split as SuiteSparse's symbolic
// and numeric phases.
//
// Storage (ConvStorage): CSR (CsrMatrix, the default), or channel-blocked
// (ChannelBlockedMatrix, channel_blocked_matrix.hpp: the rows of one output position and group
// share one column list, the values of 8, 4 or 2 consecutive channels sit together) — the same
// W in less memory, with faster products wherever a group has an even number of row channels
// (bench/results/results.md compares the two in one run). `automatic` picks channel-blocked
// there and CSR otherwise; convmat.Layer asks for it, the other front ends (the Python layer
// functions, `convmat apply`), the solvers and the exports keep CSR. The products of the two
// storages add in another order, so on non-integer data they may differ in the last bits (as the
// kernel instruction sets may, detail/kernel_isa.hpp); on integer-valued data they are equal.
// Either way stored() and pattern() give W in CSR and its taps: for channel-blocked storage copies
// made on first use and kept (memory_bytes() counts them then).

#include <Eigen/Core>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "convmat/core/channel_blocked_matrix.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/core/conv_spec.hpp"
#include "convmat/core/conv_storage.hpp"
#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/linear_operator.hpp"

namespace convmat {

template <class Scalar>
class ConvMatrix {
 public:
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using EigenMatrix = typename CsrMatrix<Scalar>::RowMajorEigen;

  // weight: spec.weight_numel() values in PyTorch's layout (see ConvSpec::weight_shape).
  // storage: see the top of this file (resolve_storage).
  ConvMatrix(const ConvSpec& spec, const Scalar* weight, ConvStorage storage = ConvStorage::csr);
  // Shares an existing structure (several weight tensors, one structure): CSR ...
  ConvMatrix(std::shared_ptr<const ConvPattern> pattern, const Scalar* weight);
  // ... or channel-blocked.
  ConvMatrix(std::shared_ptr<const ChannelBlocks> blocks, const Scalar* weight);

  // New weights, same structure: rewrites the values only.
  void refill(const Scalar* weight);

  const ConvSpec& spec() const { return spec_; }
  ConvStorage storage() const { return storage_; }  // csr or channel_blocked
  // W's CSR structure with its taps (channel-blocked storage: built on first use and kept).
  const std::shared_ptr<const ConvPattern>& pattern() const;
  // The stored W (see the top of this file) in CSR (channel-blocked storage: a copy made on first
  // use, thread-safe, and kept; refill() rewrites it too).
  const CsrMatrix<Scalar>& stored() const;
  // The channel-blocked W, or null for CSR storage.
  const ChannelBlockedMatrix<Scalar>* blocked() const {
    return storage_ == ConvStorage::channel_blocked ? &blocked_ : nullptr;
  }
  // The weight tensor W was filled from (a copy, spec().weight_numel() values): what the
  // preconditioners built from the layer's spec and weight read (preconditioner.hpp).
  const Scalar* weight() const { return weight_.data(); }

  // The rows of the stored W where a non-finite weight meets zero padding
  // (ConvPattern::nonfinite_padding_rows): the products that gather along W's rows (apply of a
  // convolution, apply_adjoint of a transposed convolution) give NaN there, as IEEE arithmetic
  // gives for the padded taps' 0·inf, so W·x agrees with the direct loops. Empty for finite
  // weights.
  const std::vector<Index>& nonfinite_padding_rows() const { return nan_rows_; }
  // Where padding folds several taps onto one input position, W holds their sum, and
  // (w₁ + w₂)·x differs from w₁·x + w₂·x when x is infinite or NaN (1·inf − 2·inf is NaN, −inf
  // by the sum). The products therefore recompute, tap by tap as the loops do, the elements
  // that meet a non-finite value of x — which are non-finite anyway, so finite results keep W's
  // rounding. (The weight tensor is kept for this, and for weight().)

  // The layer map M: W for a convolution, Wᵀ for a transposed convolution.
  Index rows() const { return spec().output_numel(); }
  Index cols() const { return spec().input_numel(); }
  Index nnz() const;
  // Bytes W holds (values and structure, and the CSR copy once stored() made one; the weight
  // copy is not counted).
  std::size_t memory_bytes() const;

  // y = M x for `batch` samples: x is batch × cols(), y is batch × rows(), C order.
  void apply(const Scalar* x, Scalar* y, Index batch = 1) const;
  // x = Mᵀ y: the adjoint (for a convolution, the transposed convolution; for a transposed
  // convolution, the convolution), y is batch × rows(), x is batch × cols().
  void apply_adjoint(const Scalar* y, Scalar* x, Index batch = 1) const;
  // The layer itself: y = M x + bias (bias: one value per output channel, or nullptr).
  void forward(const Scalar* x, const Scalar* bias, Scalar* y, Index batch = 1) const;

  Vector apply(const Vector& x) const;
  Vector apply_adjoint(const Vector& y) const;

  // M as an Eigen matrix (a copy; for a transposed convolution the transpose is materialized).
  EigenMatrix matrix() const;

 private:
  ConvSpec spec_;
  ConvStorage storage_ = ConvStorage::csr;
  ChannelBlockedMatrix<Scalar> blocked_;
  // CSR: the storage itself, or the copies pattern() and stored() make for channel-blocked storage.
  mutable std::shared_ptr<const ConvPattern> pattern_;
  mutable CsrMatrix<Scalar> w_;
  mutable std::unique_ptr<std::once_flag> pattern_made_ = std::make_unique<std::once_flag>();
  mutable std::unique_ptr<std::once_flag> csr_made_ = std::make_unique<std::once_flag>();
  std::vector<Index> nan_rows_;
  std::vector<Scalar> weight_;  // the weight tensor W was filled from (weight(); refolding)

  // The stored W's shape (rows() and cols() swapped for a transposed layer).
  Index stored_rows() const { return spec_.is_transposed() ? cols() : rows(); }
  Index stored_cols() const { return spec_.is_transposed() ? rows() : cols(); }
  void multiply(const Scalar* x, Scalar* y, Index batch) const;             // W x
  void multiply_transposed(const Scalar* x, Scalar* y, Index batch) const;  // Wᵀ x
  // Whether W sums several taps in some nonzero (ConvPattern::folds), without building the
  // pattern for channel-blocked storage.
  bool folds() const;
  void set_weight(const Scalar* weight);  // weight_ and nan_rows_

  // Tap by tap, the elements of W·x (gather) or Wᵀ·x (scatter) that meet a non-finite x, for a
  // folding pattern (see above). x and y as in CsrMatrix::multiply / multiply_transposed.
  void refold_gather(const Scalar* x, Scalar* y, Index batch) const;
  void refold_scatter(const Scalar* x, Scalar* y, Index batch) const;

  // Sets the rows nan_rows_ of `batch` products with W (batch × stored rows) to NaN.
  void set_nonfinite_padding_rows(Scalar* y, Index batch) const;
};

// Seed 000's kernel2matrix, generalized: M for `spec` and `weight` as an Eigen matrix.
template <class Scalar>
typename ConvMatrix<Scalar>::EigenMatrix conv_matrix(const ConvSpec& spec, const Scalar* weight) {
  return ConvMatrix<Scalar>(spec, weight).matrix();
}

// Bytes a ConvMatrix<Scalar> holds for `spec` (scalar_size = sizeof(Scalar)) in `storage`
// (resolve_storage). CSR: its values and column indices, nnz · (scalar_size + 4), and its row
// pointers, (rows + 1) · 8; channel-blocked: channel_blocked_bytes. Saturates at SIZE_MAX instead
// of overflowing.
std::size_t conv_matrix_bytes(const ConvSpec& spec, std::size_t scalar_size,
                              ConvStorage storage = ConvStorage::csr);

// A layer's map M (conv_matrix.hpp): W for a convolution, Wᵀ for a transposed convolution —
// ConvMatrix::apply already applies Wᵀ for a transposed layer, so this is the layer, whichever
// kind it is, and apply_adjoint is its adjoint (the other kind).
template <class Scalar>
class ConvOperator final : public LinearOperator<Scalar> {
 public:
  explicit ConvOperator(const ConvMatrix<Scalar>& m) : m_(m) {}
  Index rows() const override { return m_.rows(); }
  Index cols() const override { return m_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override { m_.apply(x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { m_.apply_adjoint(y, x); }

 private:
  const ConvMatrix<Scalar>& m_;
};

extern template class ConvMatrix<float>;
extern template class ConvMatrix<double>;

}  // namespace convmat

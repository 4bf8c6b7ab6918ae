#pragma once
// KroneckerFactor: the matrix of a linear map along one spatial axis, and the separable operator
// that such factors build (not to be confused with AxisMap, the structure of W along one axis).
//
// Zero insertion, zero padding and every PyTorch upsampling mode act on each spatial axis
// separately and on each channel alike, so their matrices are Kronecker products
//   M = I_channels ⊗ A_0 ⊗ A_1 ⊗ A_2      (C order: channel, then axis 0, 1, 2)
// of one small matrix per axis (NumPy: np.kron(np.eye(C), np.kron(A0, np.kron(A1, A2)))).

#include <Eigen/SparseCore>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat::detail {

template <class Scalar>
struct KroneckerFactor {
  Index rows = 0;
  Index cols = 0;
  // Row o holds the entries [ptr[o], ptr[o+1]): columns ascending, no repeats, no zeros.
  std::vector<Index> ptr{0};
  std::vector<Index> col;
  std::vector<Scalar> weight;

  KroneckerFactor() = default;
  explicit KroneckerFactor(Index columns) : cols(columns) {}

  // Adds `w` at (current row, c); repeated columns are summed, exact zeros are dropped at
  // end_row.
  void add(Index c, Scalar w);
  // Closes the current row.
  void end_row();
};

// `v` with one entry per spatial axis: empty -> `fill` everywhere, one entry -> that entry
// everywhere. Otherwise throws std::invalid_argument naming `function`, `name` and the sizes.
Dims per_axis(const Dims& v, std::size_t rank, Index fill, const char* function, const char* name);

// I_channels ⊗ axes[0] ⊗ … ⊗ axes[rank−1] as a row-major Eigen matrix (rank 1 to 3).
template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> kronecker(
    Index channels, const std::vector<KroneckerFactor<Scalar>>& axes);

}  // namespace convmat::detail

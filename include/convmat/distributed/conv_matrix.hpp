#pragma once
// DistributedConvMatrix: a layer's W spread over the ranks of an MPI communicator as PETSc's
// MATMPIAIJ, in the slab layout of slab_layout.hpp.
//
// Each rank builds only its own rows — ConvPattern's slab of them (conv_pattern.hpp), the code of
// the serial build — in chunks of a few positions, straight into the arrays PETSc multiplies
// with (MatCreateMPIAIJWithSplitArrays: the block of its own columns and the block of the
// others', no copy). No rank ever holds the whole W or its whole structure, no triplets are
// exchanged, and assembly only sets up the halo's scatter. Values are double (PETSc's scalar).
//
// The layer map M is W for a convolution and Wᵀ for a transposed convolution, applied with
// MatMultTranspose — never a transposed copy (layer() is PETSc's MATTRANSPOSEVIRTUAL of W).
// Vectors: the layer's input and output of one sample, (C, *spatial) in convmat's order, in
// PETSc's rank-major order: rank p holds x[:, b_p:b_{p+1}, …] (its slab, C order). local_input()
// and local_output() give the slabs; scatter() and gather() move a whole sample between rank 0
// and the ranks.

#include <mpi.h>
#include <petscmat.h>

#include <memory>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/distributed/owned.hpp"
#include "convmat/distributed/slab_layout.hpp"

namespace convmat::distributed {

namespace detail {
struct MatrixStorage;  // the arrays behind the PETSc matrix, owned by it (conv_matrix.cpp)
}

class DistributedConvMatrix {
 public:
  // Collective on comm. `weight`: spec.weight_numel() values in PyTorch's layout, the same on
  // every rank. Throws (on every rank) MemoryLimitExceeded when a rank's share exceeds `limit`
  // (memory_guard.hpp; default: default_rank_memory_limit), std::invalid_argument when a rank's
  // share exceeds PETSc's 32-bit indices (2³¹ − 1 nonzeros per rank: use more ranks).
  DistributedConvMatrix(MPI_Comm comm, const ConvSpec& spec, const double* weight);
  DistributedConvMatrix(MPI_Comm comm, const ConvSpec& spec, const double* weight,
                        const MemoryLimit& limit);

  // The layer that built `m` (W or layer(), also after a trip through petsc4py); throws
  // std::invalid_argument when m was not made by DistributedConvMatrix.
  static DistributedConvMatrix attached_to(Mat m);

  MPI_Comm comm() const;
  int rank() const;
  const ConvSpec& spec() const;
  const SlabLayout& layout() const;
  Mat stored() const { return w_.get(); }  // W, MATMPIAIJ (rows = the stored convolution's)
  Mat layer() const { return m_.get(); }   // M: W, or Wᵀ as a MATTRANSPOSEVIRTUAL of W
  Index nnz() const;                       // W's nonzeros, all ranks
  Index local_nnz() const;                 // in this rank's rows

  // New weights, same structure: rewrites this rank's values only (every rank calls it).
  void refill(const double* weight);

  // y = M x and x = Mᵀ y (collective). x: an input vector, y: an output vector.
  void apply(Vec x, Vec y) const;
  void apply_adjoint(Vec y, Vec x) const;

  Owned<Vec> create_input() const;   // zero, layout().input()
  Owned<Vec> create_output() const;  // zero, layout().output()

  // Which vector of the layer: its input x or its output y.
  enum class Side { input, output };
  const VectorLayout& layout_of(Side side) const;
  // This rank's slab along axis 0 of that vector; its local part is x[:, begin:end, …] in C order.
  RowSlab slab(Side side) const { return layout_of(side).slab(rank()); }

  // v's local part ← slab, and back (local_size(v) values, no communication).
  static void set_local(Vec v, const double* slab);
  static void get_local(Vec v, double* slab);

  // A whole sample (C, *spatial) in C order, given on rank 0 (the others pass nullptr), into the
  // distributed v; and back to rank 0 (the others' `sample` is not touched). Collective.
  void scatter(Side side, const double* sample, Vec v) const;
  void gather(Side side, Vec v, double* sample) const;

 private:
  DistributedConvMatrix() = default;
  Owned<Mat> w_, m_;
  std::shared_ptr<detail::MatrixStorage> storage_;
};

}  // namespace convmat::distributed

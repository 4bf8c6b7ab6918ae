#pragma once
// .npy files under MPI, each rank reading and writing only its own part: its slab of every
// sample's (C, *spatial) array (convmat/distributed/slab_layout.hpp), which in a C-order
// (N, C, n_0, …) file is one contiguous byte range per sample and channel —
//   elements [((n·C + c)·n_0 + b_p)·inner, … + (b_{p+1} − b_p)·inner)
// with inner = Π n_a (a ≥ 1). A rank's part is kept as PETSc keeps its local vector entries:
// sample after sample, each the slab x[:, b_p:b_{p+1}, …] in C order.
//
// Every call here is collective and agrees on errors (environment.hpp's collectively): a file
// one rank cannot read makes every rank throw the same message. An output appears complete or
// not at all: rank 0 writes the header into "<target>.tmp-XXXXXX" beside the target, every rank
// writes its byte ranges into it, and only when every rank succeeded does rank 0 rename it over
// the target; on any failure rank 0 removes it and the target is untouched. A signal that ends
// rank 0 (SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ: what mpirun forwards or sends when a job is
// interrupted) removes it too, by the handlers of `convmat`'s own outputs (output_file.hpp).

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "convmat/distributed/slab_layout.hpp"
#include "npy.hpp"
#include "output_file.hpp"

namespace convmat::cli::mpi {

// This rank's part of `samples` samples of `layout` from the .npy file `path` whose header is
// `header` (read on every rank). Refuses a Fortran-order array (std::invalid_argument).
std::vector<double> read_slab(MPI_Comm comm, const std::string& path, const NpyHeader& header,
                              const distributed::VectorLayout& layout, Index samples);

class SlabOutput {
 public:
  // Collective: rank 0 creates the temporary file with the header of a float32/float64 array of
  // `shape` and its full size; the others learn its name.
  SlabOutput(MPI_Comm comm, std::string target, const Dims& shape, bool float32);
  ~SlabOutput();  // rank 0 removes the temporary file unless committed
  SlabOutput(const SlabOutput&) = delete;
  SlabOutput& operator=(const SlabOutput&) = delete;

  // Collective: this rank's part (as read_slab returns it) into its byte ranges, synced.
  void write(const distributed::VectorLayout& layout, Index samples, const double* local);
  // Collective: rank 0 renames the temporary file over the target.
  void commit();
  const std::string& target() const { return target_; }

 private:
  MPI_Comm comm_;
  int rank_;
  std::string target_, temp_;
  bool float32_;
  std::uint64_t data_offset_ = 0;
  bool committed_ = false;
  std::unique_ptr<RemoveOnSignal> on_signal_;  // rank 0, while the temporary file exists
};

}  // namespace convmat::cli::mpi

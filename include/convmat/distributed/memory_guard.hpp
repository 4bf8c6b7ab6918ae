#pragma once
// The memory guard per rank: memory_limit.hpp's policy, applied to each process's share of W.
//
// Before a rank builds its rows of W it estimates their bytes from the serial guard's estimate of
// a W (csr_matrix_bytes, memory_limit.hpp) for its rows, plus what PETSc keeps beside them:
//   rank_matrix_bytes = csr_matrix_bytes(nnz_p, rows_p, 8)   its rows' values, 32-bit column
//                                                          indices and convmat's row pointers
//                     + rows_p·24    PETSc's row pointers, lengths and capacities of its two
//                                    blocks (on-rank and off-rank columns)
//                     + halo_p·12    the halo's values and its column map,
// adds the vectors the caller will hold, and compares the sum with its limit. The default limit
// is half the physical memory divided by the ranks running on the same machine (so that P ranks
// on one host share one half, like the serial guard). A rank over its limit makes every rank
// throw MemoryLimitExceeded with that rank's estimate and limit, before anything is allocated.

#include <mpi.h>

#include <cstdint>

#include "convmat/core/memory_limit.hpp"
#include "convmat/distributed/slab_layout.hpp"

namespace convmat::distributed {

// Collective: half the physical memory / the ranks of comm on this machine.
MemoryLimit default_rank_memory_limit(MPI_Comm comm);

// The estimate above for rank p of the layout (saturates instead of overflowing).
std::uint64_t rank_matrix_bytes(const SlabLayout& layout, int p);

// Collective: throws MemoryLimitExceeded on every rank when rank_matrix_bytes + vector_bytes
// exceeds `limit` on any rank (the message names the rank, its estimate and the limit).
void require_rank_memory(MPI_Comm comm, const MemoryLimit& limit, const SlabLayout& layout,
                         std::uint64_t vector_bytes);

}  // namespace convmat::distributed

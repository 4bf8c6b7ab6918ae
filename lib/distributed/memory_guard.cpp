#include "convmat/distributed/memory_guard.hpp"

#include <string>

#include "convmat/distributed/environment.hpp"
#include "petsc_call.hpp"

namespace convmat::distributed {

namespace {

// What PETSc's MATMPIAIJ holds beyond a CSR W of the rank's rows: per row, the two blocks' 32-bit
// row pointers, lengths and capacities (i, ilen, imax of each); per halo value, its entry of the
// ghost vector and of the column map (garray).
constexpr long double petsc_row_bytes = 6 * sizeof(PetscInt);
constexpr long double petsc_halo_value_bytes = sizeof(PetscScalar) + sizeof(PetscInt);

}  // namespace

MemoryLimit default_rank_memory_limit(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  CONVMAT_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  const int here = size_of(node);
  MPI_Comm_free(&node);
  const std::uint64_t physical = physical_memory_bytes();
  MemoryLimit m;
  m.bytes = physical / 2 / static_cast<std::uint64_t>(here);
  m.source = "50% of the " + human_bytes(static_cast<double>(physical)) +
             " of physical memory shared by the " + std::to_string(here) +
             (here == 1 ? " rank" : " ranks") + " on this machine";
  return m;
}

std::uint64_t rank_matrix_bytes(const SlabLayout& layout, int p) {
  const auto rows = static_cast<long double>(layout.rows().local_size(p));
  const long double bytes =
      csr_matrix_bytes(static_cast<long double>(layout.local_nnz(p)), rows, sizeof(PetscScalar)) +
      rows * petsc_row_bytes +
      static_cast<long double>(layout.halo(p).received) * petsc_halo_value_bytes;
  return bytes >= 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(bytes);
}

void require_rank_memory(MPI_Comm comm, const MemoryLimit& limit, const SlabLayout& layout,
                         std::uint64_t vector_bytes) {
  const int p = rank_of(comm);
  collectively(comm, [&] {
    const std::uint64_t w = rank_matrix_bytes(layout, p);
    const std::uint64_t need = w > UINT64_MAX - vector_bytes ? UINT64_MAX : w + vector_bytes;
    if (need <= limit.bytes) return;
    throw MemoryLimitExceeded(
        "this rank's share of the layer needs " + human_bytes(static_cast<double>(need)) +
        " (its rows of W: " + std::to_string(layout.local_nnz(p)) + " of " +
        std::to_string(conv_matrix_nnz(layout.spec())) + " nonzeros, " +
        human_bytes(static_cast<double>(w)) + "; vectors: " +
        human_bytes(static_cast<double>(vector_bytes)) + "), more than the limit of " +
        human_bytes(static_cast<double>(limit.bytes)) + " (" + limit.source + ")" +
        (limit.raise.empty() ? "" : "; " + limit.raise) + ", or use more ranks");
  });
}

}  // namespace convmat::distributed

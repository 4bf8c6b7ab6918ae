#pragma once
// The subcommands of `convmat-mpi` (apply, deconv, analyze): `convmat`'s commands on the
// distributed W (convmat/distributed/), declared with the same option sets (flags.hpp) and the
// same structure (commands.hpp's CommandDecl: one file per command). Every rank parses the same
// flags and runs the same steps; each step that can fail on one rank only (a file, a slab, the
// memory guard) agrees on its outcome before the next collective call, so that a failure ends
// every rank with the same message. Rank 0 prints the report; Context's streams are the real
// ones on rank 0 and discard everything on the others.

#include <mpi.h>

#include <initializer_list>
#include <optional>
#include <string>

#include "../commands.hpp"
#include "convmat/core/memory_limit.hpp"
#include "session.hpp"

namespace convmat::cli::mpi {

extern const CommandDecl apply_command, deconv_command, analyze_command;

// The whole program (main.cpp): PETSc's session, the command, the exit status. program.cpp's
// main() calls it; so does the interrupt test's driver (tests/distributed/interrupt_driver.cpp).
int program(int argc, char** argv);

// The communicator the commands run on (PETSC_COMM_WORLD).
MPI_Comm comm();

// The limit per rank: --max-memory (for each rank), or convmat/distributed/memory_guard.hpp's
// default (half the physical memory over the ranks on this machine). Collective.
MemoryLimit rank_memory_limit(const std::optional<ByteSize>& max_memory);

// Collective: throws on every rank unless `what` (the layer and the files' shapes as this rank
// read them) is the same on every rank — ranks that read different headers (a file that differs
// between machines, or other arguments per rank) would otherwise build different layers.
void require_same_on_every_rank(const std::string& what);

// session.hpp's layer_from, refusing (UsageError) a layer whose tensors are not in convmat's own
// layouts: the slabs are cut from (N, C, *spatial) files.
LayerDescription mpi_layer_from(const LayerFlags& flags, const DataFlags& data,
                                const std::optional<NpyInput>& input,
                                const std::optional<NpyInput>& weight,
                                const std::optional<NpyInput>& bias);
// `what` for a layer and the .npy files read: the layer's spec, and each file's shape and dtype.
std::string layer_fingerprint(const LayerDescription& layer,
                              std::initializer_list<const std::optional<NpyInput>*> files);

}  // namespace convmat::cli::mpi

#pragma once
// Running under MPI: PETSc's and SLEPc's lifetime, and errors that every rank agrees on.
//
// Every rank of a communicator must reach the same collective calls. Input that only one rank
// sees (its part of a file, its slab of an array) is therefore checked collectively: each rank
// runs its check, the ranks agree, and when any rank failed every rank throws the same
// exception — the one of the lowest failing rank, its message prefixed by "rank r: " when there
// is more than one rank — so that all of them end with the same message instead of some waiting
// forever for the others.

#include <mpi.h>
#include <petscsys.h>

#include <exception>
#include <functional>

namespace convmat::distributed {

// PETSc and SLEPc for the lifetime of the object (in a program's main). argc/argv carry PETSc's
// options (-log_view, …); they may be null. When PETSc (SLEPc) is already initialized — by
// petsc4py, or by the program itself — the session neither initializes nor finalizes it.
class Session {
 public:
  Session(int* argc, char*** argv);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

 private:
  bool finalize_petsc_ = false, finalize_slepc_ = false;
};

// Initializes SLEPc if nobody has (PETSc must be initialized); a no-op otherwise.
void ensure_slepc();

// Collective on comm: throws on every rank if `error` (this rank's outcome, null for success) is
// set on any rank. Exception types kept: std::invalid_argument, MemoryLimitExceeded,
// std::logic_error, std::runtime_error; others arrive as std::runtime_error.
void agree(MPI_Comm comm, std::exception_ptr error);

// Collective on comm: runs `local` on this rank, then agree()s on its outcome.
void collectively(MPI_Comm comm, const std::function<void()>& local);

// Throws std::runtime_error("PETSc: <call> failed: <PETSc's message>") for a nonzero PETSc error
// code, and the same for an MPI error code ("MPI: …").
void check_petsc(PetscErrorCode code, const char* call);
void check_mpi(int code, const char* call);

// The rank of this process in comm and the number of ranks.
int rank_of(MPI_Comm comm);
int size_of(MPI_Comm comm);

}  // namespace convmat::distributed

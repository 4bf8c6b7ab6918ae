#include "convmat/distributed/environment.hpp"

#include <slepcsys.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "convmat/core/memory_limit.hpp"
#include "petsc_call.hpp"

namespace convmat::distributed {

Session::Session(int* argc, char*** argv) {
  PetscBool petsc = PETSC_FALSE, slepc = PETSC_FALSE;
  CONVMAT_PETSC(PetscInitialized(&petsc));
  if (!petsc) {
    CONVMAT_PETSC(PetscInitialize(argc, argv, nullptr, nullptr));
    finalize_petsc_ = true;
  }
  CONVMAT_PETSC(SlepcInitialized(&slepc));
  if (!slepc) {
    CONVMAT_PETSC(SlepcInitialize(argc, argv, nullptr, nullptr));
    finalize_slepc_ = true;
  }
}

Session::~Session() {
  if (finalize_slepc_) SlepcFinalize();
  if (finalize_petsc_) PetscFinalize();
}

void ensure_slepc() {
  PetscBool slepc = PETSC_FALSE;
  CONVMAT_PETSC(SlepcInitialized(&slepc));
  if (!slepc) CONVMAT_PETSC(SlepcInitializeNoArguments());
}

void check_petsc(PetscErrorCode code, const char* call) {
  if (code == 0) return;
  const char* text = nullptr;
  PetscErrorMessage(code, &text, nullptr);
  throw std::runtime_error(std::string("PETSc: ") + call +
                           " failed: " + (text ? text : "error " + std::to_string(code)));
}

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string("MPI: ") + call + " failed: " + std::string(text, length));
}

int rank_of(MPI_Comm comm) {
  int r = 0;
  CONVMAT_MPI(MPI_Comm_rank(comm, &r));
  return r;
}

int size_of(MPI_Comm comm) {
  int s = 0;
  CONVMAT_MPI(MPI_Comm_size(comm, &s));
  return s;
}

namespace {

enum Kind : int { none = 0, invalid_argument, memory_limit, logic_error, runtime_error };

Kind classify(std::exception_ptr error, std::string& message) {
  if (!error) return none;
  try {
    std::rethrow_exception(error);
  } catch (const std::invalid_argument& e) {
    message = e.what();
    return invalid_argument;
  } catch (const MemoryLimitExceeded& e) {
    message = e.what();
    return memory_limit;
  } catch (const std::logic_error& e) {
    message = e.what();
    return logic_error;
  } catch (const std::exception& e) {
    message = e.what();
    return runtime_error;
  } catch (...) {
    message = "unknown exception";
    return runtime_error;
  }
}

}  // namespace

void agree(MPI_Comm comm, std::exception_ptr error) {
  const int rank = rank_of(comm), size = size_of(comm);
  std::string message;
  const Kind kind = classify(error, message);
  // The lowest failing rank speaks for all.
  int mine = kind == none ? size : rank, first = size;
  CONVMAT_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) return;
  std::int64_t header[2] = {kind, static_cast<std::int64_t>(message.size())};
  CONVMAT_MPI(MPI_Bcast(header, 2, MPI_INT64_T, first, comm));
  std::vector<char> text(message.begin(), message.end());
  text.resize(static_cast<std::size_t>(header[1]));
  CONVMAT_MPI(MPI_Bcast(text.data(), static_cast<int>(header[1]), MPI_CHAR, first, comm));
  std::string agreed(text.begin(), text.end());
  if (size > 1) agreed = "rank " + std::to_string(first) + ": " + agreed;
  switch (static_cast<Kind>(header[0])) {
    case invalid_argument: throw std::invalid_argument(agreed);
    case memory_limit: throw MemoryLimitExceeded(agreed);
    case logic_error: throw std::logic_error(agreed);
    default: throw std::runtime_error(agreed);
  }
}

void collectively(MPI_Comm comm, const std::function<void()>& local) {
  std::exception_ptr error;
  try {
    local();
  } catch (...) {
    error = std::current_exception();
  }
  agree(comm, error);
}

}  // namespace convmat::distributed

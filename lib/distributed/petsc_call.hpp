#pragma once
// PETSc's error codes turned into exceptions: CONVMAT_PETSC(VecNorm(v, NORM_2, &n)) throws
// std::runtime_error("PETSc: VecNorm(v, NORM_2, &n) failed: <PETSc's message>") on a nonzero code.

#include <petscsys.h>

#include <stdexcept>
#include <string>

namespace convmat::distributed::detail {

inline void check_petsc(PetscErrorCode code, const char* call) {
  if (code == 0) return;
  const char* text = nullptr;
  PetscErrorMessage(code, &text, nullptr);
  throw std::runtime_error(std::string("PETSc: ") + call +
                           " failed: " + (text ? text : "error " + std::to_string(code)));
}

inline void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string("MPI: ") + call + " failed: " + std::string(text, length));
}

}  // namespace convmat::distributed::detail

#define CONVMAT_PETSC(call) ::convmat::distributed::detail::check_petsc((call), #call)
#define CONVMAT_MPI(call) ::convmat::distributed::detail::check_mpi((call), #call)

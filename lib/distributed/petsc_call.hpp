#pragma once
// CONVMAT_PETSC(VecNorm(v, NORM_2, &n)): PETSc's error code turned into an exception naming the
// call (environment.hpp's check_petsc); CONVMAT_MPI the same for MPI.

#include "convmat/distributed/environment.hpp"

#define CONVMAT_PETSC(call) ::convmat::distributed::check_petsc((call), #call)
#define CONVMAT_MPI(call) ::convmat::distributed::check_mpi((call), #call)

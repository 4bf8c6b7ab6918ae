#pragma once
// convmat distributed: W spread over MPI ranks on PETSc, least squares by KSPLSQR, singular values
// by SLEPc. Built only when PETSc, SLEPc and MPI are found (CMake option CONVMAT_BUILD_PETSC;
// link convmat::distributed); not part of convmat/convmat.hpp, which needs none of them.
#include "convmat/distributed/conv_matrix.hpp"   // DistributedConvMatrix: W as MATMPIAIJ
#include "convmat/distributed/environment.hpp"   // Session, collectively: MPI lifetime, errors
#include "convmat/distributed/lsqr.hpp"          // lsqr, deconvolve: KSPLSQR, convmat's stop rules
#include "convmat/distributed/memory_guard.hpp"  // the memory guard per rank
#include "convmat/distributed/owned.hpp"         // Owned<Vec|Mat|KSP>: PETSc references
#include "convmat/distributed/slab_layout.hpp"   // SlabLayout: slabs, PETSc's numbering, the halo
#include "convmat/distributed/spectrum.hpp"      // extreme singular values by SLEPc

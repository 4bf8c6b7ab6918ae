#pragma once
// convmat solve: least squares on W, Wᵀ or any sparse matrix or operator; deconvolution.
#include "convmat/solve/cholesky_solver.hpp"  // CholeskySolver: CHOLMOD on the normal equations
#include "convmat/solve/deconvolve.hpp"       // deconvolve: a layer's inverse by least squares
#include "convmat/solve/iterative_lsq.hpp"    // LsqrSolver, LsmrSolver: matrix-free
#include "convmat/solve/lsq.hpp"              // lstsq: any of them in one call
#include "convmat/solve/lsq_types.hpp"      // LsqMethod, LsqOptions, LsqInfo: the shared vocabulary
#include "convmat/solve/qr_solver.hpp"      // QrSolver: SuiteSparseQR, minimum norm, rank
#include "convmat/solve/solver_memory.hpp"  // the solvers' memory estimate and guard
#include "convmat/solve/sparse_ref.hpp"     // SparseRef: a borrowed CSR or CSC matrix

#pragma once
// The memory a least-squares solve needs, estimated before it runs, so that a solve that would
// not fit under the memory limit (memory_limit.hpp) is refused with the estimate and the limit
// instead of exhausting the machine. The convmat command (deconv) and the Python module
// (deconvolve, lstsq) both go through require_solver_memory.
//
// The solver's own bytes (an estimate for the factorizations, whose fill is known only once they
// run; SuiteSparse holds 8-byte values and 8-byte indices):
//   qr        A copied to SuiteSparse (16·nnz(A)) and R plus the Householder vectors, each taken
//             as the factor of the Gram matrix SPQR's R belongs to (factor_fill_estimate × its
//             nonzeros): A Aᵀ for a wide A (SPQR factors Aᵀ), AᵀA for a tall one or with damping
//             ([A; λI] is tall).
//   cholesky  A copied (16·nnz(A)) and the factor of the Gram matrix it forms: the smaller one, or
//             the one LsqOptions::cholesky_form names (λ²I does not change the pattern).
//   lsqr/lsmr a few vectors of max(m, n) (u, v, w, x and LSMR's h, h̄: eight) and the residual
//             history (iteration limit + 1 values), 8 bytes each, per right-hand side.

#include <cstddef>
#include <string_view>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat {

// Which Gram matrix the factor of `method` on an m × n A is estimated from: true for A Aᵀ, false
// for AᵀA (and for LSQR/LSMR, which factor nothing).
bool factors_row_gram(LsqMethod method, Index rows, Index cols, const LsqOptions& options);

// nnz of A Aᵀ (rows_gram) or AᵀA, structurally, for any compressed sparse A (CSR or CSC).
template <class Scalar>
long double gram_nnz(SparseRef<Scalar> a, bool rows_gram);

// The solver's bytes for `samples` right-hand sides of an m × n A with `nnz` nonzeros, the table
// above; `gram_nnz` is nnz of the Gram matrix factors_row_gram names (read by QR and Cholesky).
long double solver_bytes(LsqMethod method, Index rows, Index cols, Index nnz, long double gram_nnz,
                         const LsqOptions& options, Index samples);

// The guard. Throws MemoryLimitExceeded unless the matrix, `array_bytes` (the caller's arrays:
// right-hand sides, solutions, copies) and the solver's bytes fit `limit`, e.g.
//   "--method qr on this layer needs about 51.2 MiB (W 682.1 KiB, the solver 50.4 MiB, its factor
//    estimated as 8 x nnz of the Gram matrix), more than the limit of 40.0 MiB (--max-memory 40M);
//    --method lsmr needs only a few vectors; raise it with --max-memory SIZE if …"
// with the method named as limit.method_format says.
//
// For a layer's map M (W, or Wᵀ for a transposed layer; deconvolve.hpp) to be built from `spec`
// with `value_bytes` per value: W is checked first (require_memory, with the arrays), then the
// solve, nnz(G) from the spec (gram_nnz of memory_limit.hpp).
void require_solver_memory(const MemoryLimit& limit, const ConvSpec& spec, std::size_t value_bytes,
                           LsqMethod method, const LsqOptions& options, Index samples,
                           long double array_bytes);
// For an explicit A taking `matrix_bytes` (already in memory): nnz(G) is counted only when an
// O(nnz) upper bound does not fit.
template <class Scalar>
void require_solver_memory(const MemoryLimit& limit, SparseRef<Scalar> a, long double matrix_bytes,
                           LsqMethod method, const LsqOptions& options, Index samples,
                           long double array_bytes);
// For a matrix-free m × n operator (LSQR, LSMR: their vectors only).
void require_solver_memory(const MemoryLimit& limit, Index rows, Index cols, LsqMethod method,
                           const LsqOptions& options, Index samples, long double array_bytes);

extern template long double gram_nnz<float>(SparseRef<float>, bool);
extern template long double gram_nnz<double>(SparseRef<double>, bool);
extern template void require_solver_memory<float>(const MemoryLimit&, SparseRef<float>, long double,
                                                  LsqMethod, const LsqOptions&, Index, long double);
extern template void require_solver_memory<double>(const MemoryLimit&, SparseRef<double>,
                                                   long double, LsqMethod, const LsqOptions&, Index,
                                                   long double);

}  // namespace convmat

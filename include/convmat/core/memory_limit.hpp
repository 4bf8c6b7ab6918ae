#pragma once
// The memory guard: before a W is built, its size is estimated and a layer that would not fit
// under a limit (by default half the physical memory) is refused with the estimate and the limit,
// instead of the process being killed by the operating system half-way through the build.
// The convmat command (--max-memory) and the Python module (convmat.set_memory_limit) use it.
// Also the estimates that the solvers' and the analyses' guards build on: W's nonzeros without
// counting them, the nonzeros of W's Gram matrices, and a sparse factor's fill.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/conv_storage.hpp"

namespace convmat {

// A layer that needs more memory than the limit allows (Python: MemoryError).
class MemoryLimitExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;  // how it was set, for the message: "50% of the 23.5 GiB of physical memory"
  std::string raise;   // how to raise it, for the message: "raise it with --max-memory SIZE"
  // How the front end names a solver method, "{}" standing for its name: "--method {}" (the
  // command line), "method='{}'" (Python). For the solver guard's message (solver_memory.hpp).
  std::string method_format = "method {}";
};

std::uint64_t physical_memory_bytes();  // 8 GiB when the system does not say
MemoryLimit default_memory_limit();     // half the physical memory

// Throws MemoryLimitExceeded when W for `spec` held in `storage` (`value_bytes` per value; CSR:
// 4-byte column indices and 8-byte row pointers, channel-blocked: conv_matrix_bytes) plus
// `array_bytes` exceeds the limit; the message has the estimate, the nonzeros and the limit.
// Counting W's nonzeros costs O(Σ rows per axis) and happens only when a cheap upper bound (CSR's,
// which bounds channel-blocked storage too) does not already fit.
void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes,
                    std::size_t value_bytes = sizeof(double),
                    ConvStorage storage = ConvStorage::csr);

std::string human_bytes(double bytes);  // "37.8 KiB"

// The bytes of a W as convmat holds it (CsrMatrix): nnz · (value_bytes + 4) for the values and
// 32-bit column indices, (rows + 1) · 8 for the row pointers (long double: it may pass 2⁶⁴). The
// guards count with it — conv_matrix_bytes (conv_matrix.hpp) for the whole W, the distributed
// guard (convmat/distributed/memory_guard.hpp) for a rank's rows.
long double csr_matrix_bytes(long double nnz, long double rows, std::size_t value_bytes);

// An upper bound on W's nonzeros, without counting them: every row of W has at most
// channels_per_group · Π_a min(k_a, cols_a) nonzeros (long double: it may pass 2⁶⁴).
// conv_matrix_nnz (conv_pattern.hpp) counts them exactly in O(Σ rows per axis).
long double conv_matrix_nnz_bound(const ConvSpec& spec);

// nnz of a Gram matrix of the layer's map M (W, or Wᵀ for a transposed layer): M Mᵀ when
// rows_gram, else MᵀM — what a sparse Cholesky or QR of M, or the smallest singular values,
// factor. Two rows (out channel a, position o), (a', o') of W share a column exactly when a and a'
// are in the same group and the spatial windows of o and o' meet, so
//   nnz(W Wᵀ) = groups · (row channels per group)² · nnz(Ws Wsᵀ)
// with Ws the one-channel W of the same geometry, and likewise WᵀW over the columns; the spatial
// Gram nonzeros are counted by marking, in O(nnz(Ws) · taps) time. Exact structurally (an upper
// bound for the transposed layers whose M is only the first rows of W: output_padding >= stride).
long double gram_nnz(const ConvSpec& spec, bool rows_gram);

// A sparse factor's fill is not known before the factorization; the LDLᵀ factor of G + δI held 2
// to 5 times nnz(G) on 2-d and 3-d layers of up to 16k rows, so memory estimates take this many.
inline constexpr double factor_fill_estimate = 8;

}  // namespace convmat

#pragma once
// Which method computes a matrix's spectrum, and what each needs: the dense SVD (every singular
// value, for A of at most dense_entry_limit entries) or Lanczos (a few, for large A) — the memory
// of each — and what one largest and one smallest Lanczos value say about the rank. The command
// line's analyze and the Python module's condition_number choose through these.

#include <optional>
#include <string>

#include "convmat/core/conv_spec.hpp"

namespace convmat {

enum class SpectrumMethod { dense, lanczos };
std::string to_string(SpectrumMethod method);  // "dense" | "lanczos"

// Bytes per entry of A held densely by the dense analyses: transpose_versus_inverse holds A, Aᵀ,
// the SVD's copy and its factors U and Vᵀ, A⁺ and a product at once (about 8 matrices of m·n
// doubles; singular_values alone holds two).
inline constexpr double dense_bytes_per_entry = 8.0 * 8;
long double dense_analysis_bytes(Index rows, Index cols);  // m·n·dense_bytes_per_entry

// Whether the dense analyses can run on an m × n A: not past dense_entry_limit (dense_limit.hpp)
// and, when `available_bytes` is given, within it.
enum class DenseFeasibility { fits, too_many_entries, over_memory };
DenseFeasibility dense_feasibility(Index rows, Index cols,
                                   std::optional<long double> available_bytes = {});

// The automatic choice: dense when feasible, else Lanczos.
SpectrumMethod automatic_spectrum_method(Index rows, Index cols,
                                         std::optional<long double> available_bytes = {});

// The Gram matrix G that Lanczos works on (spectrum.hpp): the smaller one, A Aᵀ when m <= n
// (true), else AᵀA.
constexpr bool gram_of_rows(Index rows, Index cols) { return rows <= cols; }

// The bytes of smallest_singular_values' shift-invert factorization of an A with `nnz` nonzeros:
// the sparse Cholesky factorization of G + δI that CholeskySolver also does, so
// solver_bytes(LsqMethod::cholesky) (solve/solver_memory.hpp): A copied to CHOLMOD and the factor,
// estimated at factor_fill_estimate × nnz(G).
long double shift_invert_bytes(Index nnz, long double gram_nnz);

// What σ_1 (the largest) and σ_min (the smallest, both by Lanczos on G) say. Squaring into G
// costs precision at the small end: σ below G's rounding level √(max(m, n)·ε)·σ_1 is rounding.
struct LanczosRankVerdict {
  double rounding_level = 0;  // √(max(m, n)·ε)·σ_1
  bool full_rank = false;     // σ_min > rounding_level: rank min(m, n)
  // σ_1/σ_min when full_rank; otherwise A is rank deficient or within rounding of it and only a
  // lower bound is known, σ_1/rounding_level (condition_number is then NaN).
  double condition_number = 0;
  double condition_at_least = 0;
};
double gram_rounding_level(Index rows, Index cols, double sigma_max);
LanczosRankVerdict lanczos_rank_verdict(Index rows, Index cols, double sigma_max, double sigma_min);

}  // namespace convmat

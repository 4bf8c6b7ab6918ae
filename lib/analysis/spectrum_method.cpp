#include "convmat/analysis/spectrum_method.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "convmat/analysis/dense_limit.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/solve/solver_memory.hpp"

namespace convmat {

std::string to_string(SpectrumMethod method) {
  return method == SpectrumMethod::dense ? "dense" : "lanczos";
}

long double dense_analysis_bytes(Index rows, Index cols) {
  return static_cast<long double>(rows) * static_cast<long double>(cols) * dense_bytes_per_entry;
}

DenseFeasibility dense_feasibility(Index rows, Index cols,
                                   std::optional<long double> available_bytes) {
  const long double entries = static_cast<long double>(rows) * static_cast<long double>(cols);
  if (entries > static_cast<long double>(dense_entry_limit))
    return DenseFeasibility::too_many_entries;
  if (available_bytes && dense_analysis_bytes(rows, cols) > *available_bytes)
    return DenseFeasibility::over_memory;
  return DenseFeasibility::fits;
}

SpectrumMethod automatic_spectrum_method(Index rows, Index cols,
                                         std::optional<long double> available_bytes) {
  return dense_feasibility(rows, cols, available_bytes) == DenseFeasibility::fits
             ? SpectrumMethod::dense
             : SpectrumMethod::lanczos;
}

long double shift_invert_bytes(Index nnz, long double gram_nnz) {
  return solver_bytes(LsqMethod::cholesky, 0, 0, nnz, gram_nnz, LsqOptions{}, 1);
}

double gram_rounding_level(Index rows, Index cols, double sigma_max) {
  return std::sqrt(static_cast<double>(std::max(rows, cols)) *
                   std::numeric_limits<double>::epsilon()) *
         sigma_max;
}

LanczosRankVerdict lanczos_rank_verdict(Index rows, Index cols, double sigma_max,
                                        double sigma_min) {
  LanczosRankVerdict v;
  v.rounding_level = gram_rounding_level(rows, cols, sigma_max);
  v.full_rank = sigma_min > v.rounding_level;
  v.condition_number = v.full_rank ? sigma_max / sigma_min : std::nan("");
  v.condition_at_least = v.full_rank ? v.condition_number : sigma_max / v.rounding_level;
  return v;
}

}  // namespace convmat

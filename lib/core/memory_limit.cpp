#include "convmat/core/memory_limit.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "convmat/core/conv_matrix.hpp"

namespace convmat {

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : std::uint64_t{8} << 30;
}

MemoryLimit default_memory_limit() {
  const std::uint64_t physical = physical_memory_bytes();
  MemoryLimit m;
  m.bytes = physical / 2;
  m.source = "50% of the " + human_bytes(static_cast<double>(physical)) + " of physical memory";
  return m;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char b[48];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return b;
}

void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes,
                    std::size_t value_bytes) {
  // Upper bound first: every row of W has at most channels_per_group · Π_a min(k_a, cols_a)
  // nonzeros (long double: the bound may pass 2⁶⁴).
  const bool t = spec.is_transposed();
  const Dims& cols = t ? spec.output_size() : spec.input_size();
  const long double rows = static_cast<long double>(t ? spec.input_numel() : spec.output_numel());
  long double per_row =
      static_cast<long double>((t ? spec.out_channels() : spec.in_channels()) / spec.groups());
  Index axis_rows = 0;
  for (int a = 0; a < spec.rank(); ++a) {
    const auto u = static_cast<std::size_t>(a);
    per_row *= static_cast<long double>(std::min(spec.kernel_size()[u], cols[u]));
    axis_rows += (t ? spec.input_size() : spec.output_size())[u];
  }
  const long double pointers = (rows + 1) * 8;
  const long double arrays = static_cast<long double>(array_bytes);
  const long double limit_bytes = static_cast<long double>(limit.bytes);
  const long double per_nonzero = static_cast<long double>(value_bytes + 4);
  if (rows * per_row * per_nonzero + pointers + arrays <= limit_bytes) return;

  std::string estimate;
  long double need = 0;
  if (pointers + arrays > limit_bytes || axis_rows > 500'000'000) {
    need = pointers + arrays;
    estimate = "at least " + human_bytes(static_cast<double>(need)) + " (W's " +
               std::to_string(static_cast<long long>(rows)) + " row pointers alone take " +
               human_bytes(static_cast<double>(pointers)) + ")";
  } else {
    const Index nnz = conv_matrix_nnz(spec);
    const long double w = static_cast<long double>(conv_matrix_bytes(spec, value_bytes));
    need = w + arrays;
    if (need <= limit_bytes) return;
    estimate = human_bytes(static_cast<double>(need)) + " (W: " + std::to_string(nnz) +
               " nonzeros of " + (value_bytes == 4 ? "float32" : "float64") +
               " with 32-bit column indices, " + human_bytes(static_cast<double>(w)) +
               "; the arrays: " + human_bytes(static_cast<double>(arrays)) + ")";
  }
  throw MemoryLimitExceeded("this layer needs " + estimate + ", more than the limit of " +
                            human_bytes(static_cast<double>(limit.bytes)) + " (" + limit.source +
                            ")" + (limit.raise.empty() ? "" : "; " + limit.raise));
}

}  // namespace convmat

#include "convmat/core/memory_limit.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/detail/gram_count.hpp"

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

long double csr_matrix_bytes(long double nnz, long double rows, std::size_t value_bytes) {
  return nnz * static_cast<long double>(value_bytes + sizeof(ColumnIndex)) +
         (rows + 1) * static_cast<long double>(sizeof(RowPointer));
}

long double conv_matrix_nnz_bound(const ConvSpec& spec) {
  const bool t = spec.is_transposed();
  const Dims& cols = t ? spec.output_size() : spec.input_size();
  long double bound =
      static_cast<long double>(t ? spec.input_numel() : spec.output_numel()) *
      static_cast<long double>((t ? spec.out_channels() : spec.in_channels()) / spec.groups());
  for (int a = 0; a < spec.rank(); ++a) {
    const auto u = static_cast<std::size_t>(a);
    bound *= static_cast<long double>(std::min(spec.kernel_size()[u], cols[u]));
  }
  return bound;
}

long double gram_nnz(const ConvSpec& spec, bool rows_gram) {
  const ConvSpec conv = spec.as_convolution();
  ConvParams p = conv.params();
  p.in_channels = p.out_channels = p.groups = 1;
  const ConvPattern single{ConvSpec(p)};
  const SparsityPattern& w = *single.sparsity();
  // In terms of W: M Mᵀ is W Wᵀ when M = W and WᵀW when M = Wᵀ.
  const bool w_w_transpose = rows_gram != spec.is_transposed();
  const long double spatial = detail::gram_nnz(
      w.rows, w.cols, [&](Index r) { return static_cast<Index>(w.row_ptr[r]); },
      [&](Index k) { return static_cast<Index>(w.col[k]); }, w_w_transpose);
  const auto per_group = static_cast<long double>(
      (w_w_transpose ? conv.out_channels() : conv.in_channels()) / conv.groups());
  return static_cast<long double>(conv.groups()) * per_group * per_group * spatial;
}

void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes,
                    std::size_t value_bytes, ConvStorage storage) {
  // The upper bound first; counting only when it does not fit.
  const bool t = spec.is_transposed();
  const long double rows = static_cast<long double>(t ? spec.input_numel() : spec.output_numel());
  Index axis_rows = 0;
  for (Index r : t ? spec.input_size() : spec.output_size()) axis_rows += r;
  // Channel-blocked storage holds one row pointer per (group, position) instead of per row.
  const bool blocked = resolve_storage(spec, storage) == ConvStorage::channel_blocked;
  const long double pointer_rows =
      blocked ? rows / static_cast<long double>((t ? spec.in_channels() : spec.out_channels()) /
                                                spec.groups())
              : rows;
  const long double pointers = csr_matrix_bytes(0, pointer_rows, value_bytes);
  const long double arrays = static_cast<long double>(array_bytes);
  const long double limit_bytes = static_cast<long double>(limit.bytes);
  if (csr_matrix_bytes(conv_matrix_nnz_bound(spec), rows, value_bytes) + arrays <= limit_bytes)
    return;

  std::string estimate;
  long double need = 0;
  if (pointers + arrays > limit_bytes || axis_rows > 500'000'000) {
    need = pointers + arrays;
    estimate = "at least " + human_bytes(static_cast<double>(need)) + " (W's " +
               std::to_string(static_cast<long long>(pointer_rows)) + " row pointers alone take " +
               human_bytes(static_cast<double>(pointers)) + ")";
  } else {
    const Index nnz = conv_matrix_nnz(spec);
    const long double w = static_cast<long double>(conv_matrix_bytes(spec, value_bytes, storage));
    need = w + arrays;
    if (need <= limit_bytes) return;
    estimate = human_bytes(static_cast<double>(need)) + " (W: " + std::to_string(nnz) +
               " nonzeros of " + (value_bytes == 4 ? "float32" : "float64") +
               (blocked ? " channel-blocked, " : " with 32-bit column indices, ") +
               human_bytes(static_cast<double>(w)) +
               "; the arrays: " + human_bytes(static_cast<double>(arrays)) + ")";
  }
  throw MemoryLimitExceeded("this layer needs " + estimate + ", more than the limit of " +
                            human_bytes(static_cast<double>(limit.bytes)) + " (" + limit.source +
                            ")" + (limit.raise.empty() ? "" : "; " + limit.raise));
}

}  // namespace convmat

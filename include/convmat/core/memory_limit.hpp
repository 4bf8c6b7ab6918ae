#pragma once
// The memory guard: before a W is built, its size is estimated and a layer that would not fit
// under a limit (by default half the physical memory) is refused with the estimate and the limit,
// instead of the process being killed by the operating system half-way through the build.
// The convmat command (--max-memory) and the Python module (convmat.set_memory_limit) use it.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "convmat/core/conv_spec.hpp"

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
};

std::uint64_t physical_memory_bytes();  // 8 GiB when the system does not say
MemoryLimit default_memory_limit();     // half the physical memory

// Throws MemoryLimitExceeded when W for `spec` (`value_bytes` per value, 4-byte column indices,
// 8-byte row pointers) plus `array_bytes` exceeds the limit; the message has the estimate, the
// nonzeros and the limit. Counting W's nonzeros costs O(Σ rows per axis) and happens only when
// a cheap upper bound does not already fit.
void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes,
                    std::size_t value_bytes = sizeof(double));

std::string human_bytes(double bytes);  // "37.8 KiB"

}  // namespace convmat

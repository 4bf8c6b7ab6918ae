#include "convmat/core/detail/kernel_isa.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#define CONVMAT_X86 1
#else
#define CONVMAT_X86 0
#endif

namespace convmat {

namespace detail {

std::string to_string(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::generic: return "generic";
    case KernelIsa::avx2: return "avx2";
    case KernelIsa::avx512: return "avx512";
  }
  return "?";
}

bool cpu_supports(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::generic: return true;
#if CONVMAT_X86
    case KernelIsa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::avx512:
      return cpu_supports(KernelIsa::avx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw");
#else
    default: return false;
#endif
  }
  return false;
}

KernelIsa best_kernel_isa() {
  for (KernelIsa isa : {KernelIsa::avx512, KernelIsa::avx2}) {
    if (cpu_supports(isa)) return isa;
  }
  return KernelIsa::generic;
}

namespace {

KernelIsa initial_kernel_isa() {
  if (const char* name = std::getenv("CONVMAT_KERNELS")) {
    for (KernelIsa isa : {KernelIsa::generic, KernelIsa::avx2, KernelIsa::avx512}) {
      if (to_string(isa) == name && cpu_supports(isa)) return isa;
    }
  }
  return best_kernel_isa();
}

std::atomic<KernelIsa>& current_kernel_isa() {
  static std::atomic<KernelIsa> isa{initial_kernel_isa()};
  return isa;
}

}  // namespace

KernelIsa kernel_isa() { return current_kernel_isa().load(std::memory_order_relaxed); }

void set_kernel_isa(KernelIsa isa) {
  if (!cpu_supports(isa)) {
    throw std::invalid_argument("this CPU cannot run the " + to_string(isa) + " kernels");
  }
  current_kernel_isa().store(isa, std::memory_order_relaxed);
}

}  // namespace detail

}  // namespace convmat

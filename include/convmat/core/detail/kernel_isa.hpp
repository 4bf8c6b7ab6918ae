#pragma once
// Which instruction set the CSR product kernels use (csr_matrix.cpp).
//
// The library is compiled for plain x86-64 (or any other target) and carries AVX2 and AVX-512
// copies of its batched products (several vectors interleaved, one SIMD lane each), chosen at run
// time from what the CPU supports, so one binary is both portable and fast. (Products with one
// vector use the same portable kernel everywhere: gathers did not pay, see csr_matrix.cpp.) The
// choice can be narrowed for tests and benchmarks: set_kernel_isa(), or the environment variable
// CONVMAT_KERNELS=generic|avx2|avx512 read once at start-up (a name the CPU cannot run is ignored).
// Results of different kernels may differ in the last bits (fused multiply-adds, partial sums in
// another order); on integer-valued data they are equal.

#include <string>

namespace convmat::detail {

enum class KernelIsa { generic, avx2, avx512 };

std::string to_string(KernelIsa isa);
bool cpu_supports(KernelIsa isa);
// The best the CPU supports.
KernelIsa best_kernel_isa();
// The kernels the products use now.
KernelIsa kernel_isa();
// Forces a kernel set for every later product (all threads). Throws std::invalid_argument when
// the CPU cannot run it.
void set_kernel_isa(KernelIsa isa);

}  // namespace convmat::detail

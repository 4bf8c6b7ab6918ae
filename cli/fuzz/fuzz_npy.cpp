// libFuzzer target: the .npy reader on arbitrary bytes. Anything it accepts must hold exactly
// Π shape values and survive a float64 write and read back bit for bit; everything else must be
// a std::invalid_argument (a crash, a sanitizer report or another exception is a bug).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  convmat::cli::NpyArray a;
  try {
    a = convmat::cli::parse_npy(bytes, "fuzz.npy");
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (a.data.size() != static_cast<std::size_t>(a.header.numel)) std::abort();
  const std::string again = convmat::cli::npy_bytes(a.header.shape, a.data.data(), false);
  const convmat::cli::NpyArray b = convmat::cli::parse_npy(again, "again.npy");
  if (b.header.shape != a.header.shape || b.data.size() != a.data.size() ||
      (!a.data.empty() &&
       std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(double)) != 0)) {
    std::abort();
  }
  return 0;
}

#pragma once
// What the data-reading commands share: reading the .npy headers first, resolving the layer,
// checking the memory a W will take before building it, then reading the data.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "convmat/oracle.hpp"
#include "npy.hpp"

namespace convmat::cli {

// The memory a command may use: --max-memory, or half the physical memory.
struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;  // "--max-memory 1G" or "50% of the 23.4 GiB of physical memory"
};
MemoryLimit memory_limit(const Arguments& args);

// Refuses (UsageError, exit 2) when W for `spec` (float64 values) plus `array_bytes` exceeds the
// limit; the message has the estimate, the nonzeros and the limit. Counting W's nonzeros costs
// O(Σ rows per axis) and happens only when a cheap upper bound does not already fit.
void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes);

std::string human_bytes(double bytes);  // "37.8 KiB"
std::string shape_text(const Dims& d);  // "(1, 16, 4, 4)"

// One .npy argument: its header now, its data later.
struct NpyInput {
  Opt option;
  std::string path;
  NpyHeader header;
  std::vector<double> data;
  void load(Context& ctx);  // reads the data; notes integer conversion on stderr
};
std::optional<NpyInput> npy_input(const Arguments& args, Opt option);  // nullopt if not given

// The layer from the options and the input/weight shapes (from the headers or the --*-shape
// options); checks the bias's shape.
LayerDescription layer_from(const Arguments& args, const std::optional<NpyInput>& input,
                            const std::optional<NpyInput>& weight, const std::optional<NpyInput>& bias);

// Writes the command's JSON (with a final newline) to ctx.out.
class JsonWriter;
void emit(Context& ctx, const JsonWriter& json);

}  // namespace convmat::cli

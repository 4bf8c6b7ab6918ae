#pragma once
// What the data-reading commands share: reading the .npy headers first, resolving the layer,
// checking the memory a W will take before building it, then reading the data.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/oracle/check.hpp"
#include "json.hpp"
#include "npy.hpp"
#include "output_file.hpp"

namespace convmat::cli {

// The memory a command may use: --max-memory, or half the physical memory
// (convmat/memory_limit.hpp: require_memory refuses a layer above it, exit 2).
MemoryLimit memory_limit(const std::optional<ByteSize>& max_memory);

std::string short_number(double v);  // six significant digits: "0.318661", "1.5e-08", "inf"

// One .npy argument: its header now, its data later.
struct NpyInput {
  std::string path;
  NpyHeader header;
  std::vector<double> data;
  void load(Context& ctx);  // reads the data; notes integer conversion on stderr
  // The same, then the data put in convmat's order from the layout `call` gives `tensor`
  // (--data-format, --weight-format).
  void load(Context& ctx, const LayerCall& call, LayerCall::Tensor tensor);
};
std::optional<NpyInput> npy_input(const std::optional<std::string>& path);  // nullopt if not given

// The output dtype: --dtype, else float64 when any of `inputs` is float64 or integer, else
// float32. Returns true for float32.
bool float32_output(const std::optional<std::string>& dtype,
                    std::initializer_list<const std::optional<NpyInput>*> inputs);

// The layer from the flags and the input/weight shapes (from the headers or --input-shape /
// --weight-shape); checks the bias's shape.
LayerDescription layer_from(const LayerFlags& layer, const DataFlags& data,
                            const std::optional<NpyInput>& input,
                            const std::optional<NpyInput>& weight,
                            const std::optional<NpyInput>& bias);
// A --bias file fits a layer of `out_channels` output channels (check_bias's rule; exit 2
// naming the file otherwise). Nothing to check without one.
void require_bias_fits(Index out_channels, const std::optional<NpyInput>& bias);

// A quantized op's data (core/quantized.hpp) from the flags: x and w (--input, --weight), B
// (--bias) and the quantization inputs, numbers or .npy files, read and typed; the layer from
// onnx_conv's keyword flags and the layout flags (x, w and the output read and written in
// --data-format / --weight-format; the library computes in them: quantized_apply with the call).
// Refused before any data is read beyond the headers: an x or w that is not int8/uint8 (the
// library's rule, exit 2).
struct QuantizedProblem {
  const QuantizedOp* op = nullptr;
  LayerDescription layer;
  QuantizedData data;
};
QuantizedProblem read_quantized(const LayerFlags& layer, const QuantizedFlags& quantized,
                                NpyInput& x, NpyInput& w, std::optional<NpyInput>& bias,
                                const MemoryLimit& limit);

// Writes the command's JSON (with a final newline) to ctx.out.
void emit(Context& ctx, const Json& json);

// Where a command that wrote `file` reports: ctx, or stderr twice when the file is stdout
// (-o /dev/stdout), so that the report does not land inside the output.
Context report_context(Context& ctx, const AtomicOutput& file);

}  // namespace convmat::cli

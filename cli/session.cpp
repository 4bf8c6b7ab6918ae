#include "session.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

#include "convmat/core/conv_matrix.hpp"

namespace convmat::cli {

std::string short_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

MemoryLimit memory_limit(const std::optional<ByteSize>& max_memory) {
  MemoryLimit m = default_memory_limit();
  if (max_memory) {
    m.bytes = max_memory->bytes;
    m.source = "--max-memory " + max_memory->text;
  }
  m.raise = "raise it with --max-memory SIZE if the machine can hold it";
  m.method_format = "--method {}";
  return m;
}

std::optional<NpyInput> npy_input(const std::optional<std::string>& path) {
  if (!path) return std::nullopt;
  NpyInput in;
  in.path = *path;
  in.header = read_npy_header(in.path);
  return in;
}

void NpyInput::load(Context& ctx) {
  data = read_npy_data(FileSource(path), header, path);
  if (!header.is_float()) {
    ctx.err << "convmat: note: " << path << " holds " << header.type_name()
            << "; converted to float64";
    for (double v : data) {
      if (std::fabs(v) > 9007199254740992.0) {
        ctx.err << " (some values exceed 2^53 and were rounded)";
        break;
      }
    }
    ctx.err << "\n";
  }
}

void NpyInput::load(Context& ctx, const LayerCall& call, LayerCall::Tensor tensor) {
  load(ctx);
  data = call.to_canonical(tensor, std::move(data));
}

LayerDescription layer_from(const LayerFlags& flags, const DataFlags& data,
                            const std::optional<NpyInput>& input,
                            const std::optional<NpyInput>& weight,
                            const std::optional<NpyInput>& bias) {
  // --input excludes --input-shape and --weight --weight-shape (add_data_options).
  std::optional<Dims> input_shape = data.input_shape, weight_shape = data.weight_shape;
  if (input) input_shape = input->header.shape;
  if (weight) weight_shape = weight->header.shape;
  LayerDescription layer = resolve_layer(flags, input_shape, weight_shape);
  if (bias) {
    try {
      check_bias(layer.call.spec, bias->header.shape);
    } catch (const std::invalid_argument& e) {
      throw UsageError(bias->path + ": " + e.what());
    }
  }
  return layer;
}

bool float32_output(const std::optional<std::string>& dtype,
                    std::initializer_list<const std::optional<NpyInput>*> inputs) {
  if (dtype) return *dtype == "float32";  // add_dtype admits float32 and float64
  for (const std::optional<NpyInput>* a : inputs) {
    if (*a && (!(*a)->header.is_float() || (*a)->header.item_size == 8)) return false;
  }
  return true;
}

void emit(Context& ctx, const Json& json) { ctx.out << json_text(json) << "\n"; }

Context report_context(Context& ctx, const AtomicOutput& file) {
  return file.is_stdout() ? Context{ctx.err, ctx.err} : ctx;
}

}  // namespace convmat::cli

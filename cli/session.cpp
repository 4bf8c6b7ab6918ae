#include "session.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

#include "convmat/core/conv_matrix.hpp"
#include "json.hpp"

namespace convmat::cli {

std::string short_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

MemoryLimit memory_limit(const Arguments& args) {
  MemoryLimit m = default_memory_limit();
  if (args.has(Opt::max_memory)) {
    m.bytes = parse_bytes(Opt::max_memory, args.get(Opt::max_memory), physical_memory_bytes());
    m.source = "--max-memory " + args.get(Opt::max_memory);
  }
  m.raise = "raise it with --max-memory SIZE if the machine can hold it";
  m.method_format = "--method {}";
  return m;
}

std::optional<NpyInput> npy_input(const Arguments& args, Opt option) {
  if (!args.has(option)) return std::nullopt;
  NpyInput in;
  in.option = option;
  in.path = args.get(option);
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

LayerDescription layer_from(const Arguments& args, const std::optional<NpyInput>& input,
                            const std::optional<NpyInput>& weight,
                            const std::optional<NpyInput>& bias) {
  if (input && args.has(Opt::input_shape))
    throw UsageError("give --input or --input-shape, not both");
  if (weight && args.has(Opt::weight_shape))
    throw UsageError("give --weight or --weight-shape, not both");
  std::optional<Dims> input_shape, weight_shape;
  if (input) input_shape = input->header.shape;
  if (weight) weight_shape = weight->header.shape;
  if (args.has(Opt::input_shape))
    input_shape = parse_dims(Opt::input_shape, args.get(Opt::input_shape));
  if (args.has(Opt::weight_shape))
    weight_shape = parse_dims(Opt::weight_shape, args.get(Opt::weight_shape));
  LayerDescription layer = resolve_layer(args, input_shape, weight_shape);
  if (bias) {
    try {
      check_bias(layer.call.spec, bias->header.shape);
    } catch (const std::invalid_argument& e) {
      throw UsageError(bias->path + ": " + e.what());
    }
  }
  return layer;
}

bool float32_output(const Arguments& args,
                    std::initializer_list<const std::optional<NpyInput>*> inputs) {
  if (args.has(Opt::dtype)) {
    const std::string& d = args.get(Opt::dtype);
    if (d != "float32" && d != "float64")
      throw UsageError("--dtype: expected float32 or float64, got '" + d + "'");
    return d == "float32";
  }
  for (const std::optional<NpyInput>* a : inputs) {
    if (*a && (!(*a)->header.is_float() || (*a)->header.item_size == 8)) return false;
  }
  return true;
}

void emit(Context& ctx, const JsonWriter& json) { ctx.out << json.str() << "\n"; }

Context report_context(Context& ctx, const AtomicOutput& file) {
  return file.is_stdout() ? Context{ctx.err, ctx.err} : ctx;
}

}  // namespace convmat::cli

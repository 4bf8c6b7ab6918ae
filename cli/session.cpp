#include "session.hpp"

#include <unistd.h>

#include <algorithm>
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
  require_bias_fits(layer.call.spec.out_channels(), bias);
  return layer;
}

void require_bias_fits(Index out_channels, const std::optional<NpyInput>& bias) {
  if (!bias) return;
  try {
    check_bias(out_channels, bias->header.shape);
  } catch (const std::invalid_argument& e) {
    throw UsageError(bias->path + ": " + e.what());
  }
}

namespace {

// One quantization input: a .npy file (its dtype), or numbers typed as the input needs.
QuantizedValue quantized_value(const QuantizedInput& q, const std::string& text,
                               const std::string& x_type, const std::string& w_type) {
  const std::string flag = "--" + [&] {
    std::string f(q.name);
    std::replace(f.begin(), f.end(), '_', '-');
    return f;
  }();
  QuantizedValue v;
  if (text.size() > 4 && text.compare(text.size() - 4, 4, ".npy") == 0) {
    NpyInput in = *npy_input(text);
    if (in.header.shape.size() > 1) {
      throw UsageError(flag + ": " + text + " must be a scalar or 1-d (ONNX), got shape " +
                       dims_to_tuple(in.header.shape));
    }
    v.values = read_npy_data(FileSource(in.path), in.header, in.path);
    v.type = in.header.type_name();
    return v;
  }
  // Numbers: parsed here, typed by the library's rule (quantized_value_from_numbers).
  std::vector<double> numbers;
  if (q.type == QuantizedInputType::scale) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = text.find(',', start);
      numbers.push_back(parse_nonnegative(
          flag, text.substr(start, comma == std::string::npos ? comma : comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    for (Index i : parse_dims(flag, text)) numbers.push_back(static_cast<double>(i));
  }
  return quantized_value_from_numbers(q, numbers, x_type, w_type);
}

std::vector<std::int64_t> integer_values(const std::vector<double>& v) {
  return std::vector<std::int64_t>(v.begin(), v.end());
}

}  // namespace

QuantizedProblem read_quantized(const LayerFlags& flags, const QuantizedFlags& quantized,
                                NpyInput& x, NpyInput& w, std::optional<NpyInput>& bias,
                                const MemoryLimit& limit) {
  QuantizedProblem p{quantized_op_of(flags),
                     resolve_quantized_layer(flags, x.header.shape, w.header.shape),
                     QuantizedData{ConvSpec::convolution(1, 1, {1}, {1}), 1, {}, {}, "", "", {}}};
  const std::string name(p.op->alias);
  try {
    quantized_range(x.header.type_name(), name + ": x (" + x.path + ")");
    quantized_range(w.header.type_name(), name + ": w (" + w.path + ")");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const ConvSpec& s = p.layer.call.spec;
  require_memory(
      limit, s,
      static_cast<std::uint64_t>(p.layer.call.batch * (s.input_numel() * 3 + s.output_numel() * 6) +
                                 s.weight_numel() * 3) *
          8);
  p.data.spec = s;
  p.data.batch = p.layer.call.batch;
  p.data.x_type = x.header.type_name();
  p.data.w_type = w.header.type_name();
  for (const QuantizedInput& q : quantized_inputs()) {
    const auto given = quantized.inputs.find(q.name);
    if (given != quantized.inputs.end()) {
      p.data.inputs[std::string(q.name)] =
          quantized_value(q, given->second, p.data.x_type, p.data.w_type);
    }
  }
  // Integers are the quantized ops' own types: read without load()'s note on the conversion.
  const auto read = [](NpyInput& in) {
    in.data = read_npy_data(FileSource(in.path), in.header, in.path);
  };
  if (bias) {
    read(*bias);
    p.data.inputs["B"] = QuantizedValue{bias->data, bias->header.type_name()};
  }
  read(x);
  read(w);
  p.data.x = integer_values(x.data);
  p.data.w = integer_values(w.data);
  return p;
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

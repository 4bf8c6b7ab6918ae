// `convmat apply`: y = layer(x) from .npy files, computed as W x + b and written atomically.

#include <ostream>

#include "commands.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/xla.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view description =
    "Reads x, the weight and the bias, computes the layer as W x + b (W^T x + b for a transposed\n"
    "convolution) in float64 and writes y (the output dtype: see --dtype).";

constexpr std::string_view details =
    "examples:\n"
    "  convmat apply --op conv2d --input x.npy --weight w.npy --bias b.npy --padding 1 -o y.npy\n"
    "  convmat apply --op conv_transpose1d --input x.npy --weight w.npy --stride 2 "
    "--output-padding 1 -o y.npy\n"
    "  convmat apply --op conv2d --data-format NHWC --weight-format HWIO --input x_nhwc.npy "
    "--weight w_hwio.npy -o y_nhwc.npy\n"
    "  convmat apply --op tf_conv --input x_nhwc.npy --weight w_hwio.npy --padding SAME "
    "--strides 2 -o y.npy\n";

struct Flags {
  LayerFlags layer;
  QuantizedFlags quantized;
  DataFlags data;
  std::optional<std::string> output, dtype;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

// A quantized op: its output (ConvInteger's int32, QLinearConv's int8/uint8) computed exactly.
int run_quantized_apply(const Flags& f, Context& ctx) {
  std::optional<NpyInput> x = npy_input(f.data.input), w = npy_input(f.data.weight),
                          bias = npy_input(f.data.bias);
  if (!x) throw UsageError("apply needs --input X.npy");
  if (!w) throw UsageError("apply needs --weight W.npy");
  if (!f.output) throw UsageError("apply needs --output Y.npy");
  if (f.dtype) {
    throw UsageError("--op " + *f.layer.op +
                     ": the output's dtype is the op's (int32 for ConvInteger, y_zero_point's for "
                     "QLinearConv); --dtype does not apply");
  }
  QuantizedProblem p =
      read_quantized(f.layer, f.quantized, *x, *w, bias, memory_limit(f.max_memory));
  const QuantizedOutput out = quantized_apply(*p.op, p.data, p.layer.call);
  AtomicOutput file(*f.output);
  file.write(npy_integer_bytes(p.layer.output_shape, out.values.data(), out.type));
  file.commit();
  Context report = report_context(ctx, file);
  if (f.json) {
    emit(report, Json{{"output", file.target()},
                      {"shape", p.layer.output_shape},
                      {"dtype", out.type},
                      {"op", *f.layer.op}});
  } else {
    report.out << "wrote " << file.target() << ": " << dims_to_tuple(p.layer.output_shape) << " "
               << out.type << ", " << p.op->alias << " computed exactly\n";
  }
  return exit_ok;
}

// xla_conv where no window fits (core/xla.hpp: EmptyOutput): jax's empty array, in the dtype
// apply would write.
int write_empty_output(const Flags& f, Context& ctx, const EmptyOutput& empty, bool float32,
                       const std::optional<NpyInput>& bias) {
  require_bias_fits(empty.out_channels, bias);
  AtomicOutput file(*f.output);
  const double none = 0;  // no element is read
  file.write(npy_bytes(empty.shape, &none, float32));
  file.commit();
  Context report = report_context(ctx, file);
  const char* dtype = float32 ? "float32" : "float64";
  if (f.json) {
    emit(report, Json{{"output", file.target()},
                      {"shape", empty.shape},
                      {"dtype", dtype},
                      {"nnz", 0},
                      {"storage", "none"},
                      {"empty", empty.what()}});
  } else {
    report.out << "wrote " << file.target() << ": " << dims_to_tuple(empty.shape) << " " << dtype
               << ", empty: " << empty.what() << "\n";
  }
  return exit_ok;
}

int run_apply(const Flags& f, Context& ctx) {
  if (quantized_op_of(f.layer)) return run_quantized_apply(f, ctx);
  std::optional<NpyInput> input = npy_input(f.data.input), weight = npy_input(f.data.weight),
                          bias = npy_input(f.data.bias);
  if (!input) throw UsageError("apply needs --input X.npy");
  if (!weight) throw UsageError("apply needs --weight W.npy");
  if (!f.output) throw UsageError("apply needs --output Y.npy");
  const bool float32 = float32_output(f.dtype, {&input, &weight, &bias});
  std::optional<LayerDescription> described;
  try {
    described.emplace(layer_from(f.layer, f.data, input, weight, bias));
  } catch (const EmptyOutput& empty) {
    return write_empty_output(f, ctx, empty, float32, bias);
  }
  const LayerDescription& layer = *described;
  const ConvSpec& s = layer.call.spec;
  const auto in_bytes = static_cast<std::uint64_t>(layer.call.batch * s.input_numel()) * 8;
  const auto out_bytes = static_cast<std::uint64_t>(layer.call.batch * s.output_numel()) * 8;
  require_memory(memory_limit(f.max_memory), s,
                 in_bytes + 2 * out_bytes + static_cast<std::uint64_t>(s.weight_numel()) * 8,
                 sizeof(double), ConvStorage::automatic);

  input->load(ctx, layer.call, LayerCall::Tensor::input);
  weight->load(ctx, layer.call, LayerCall::Tensor::weight);
  if (bias) bias->load(ctx);
  const ConvMatrix<double> m(s, weight->data.data(), ConvStorage::automatic);
  std::vector<double> y(static_cast<std::size_t>(layer.call.batch * s.output_numel()));
  m.forward(input->data.data(), bias ? bias->data.data() : nullptr, y.data(), layer.call.batch);

  AtomicOutput file(*f.output);
  y = layer.call.from_canonical(LayerCall::Tensor::output, std::move(y));
  file.write(npy_bytes(layer.output_shape, y.data(), float32));
  file.commit();

  Context report = report_context(ctx, file);
  if (f.json) {
    const Json j{{"output", file.target()},
                 {"shape", layer.output_shape},
                 {"dtype", float32 ? "float32" : "float64"},
                 {"nnz", m.nnz()},
                 {"storage", to_string(m.storage())}};
    emit(report, j);
  } else {
    report.out << "wrote " << file.target() << ": " << dims_to_tuple(layer.output_shape) << " "
               << (float32 ? "float32" : "float64") << ", computed as "
               << (s.is_transposed() ? "W^T" : "W") << " x" << (bias ? " + b" : "") << " (W "
               << (s.is_transposed() ? m.cols() : m.rows()) << " x "
               << (s.is_transposed() ? m.rows() : m.cols()) << ", " << m.nnz() << " nonzeros, "
               << to_string(m.storage()) << ")\n";
  }
  return exit_ok;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_bias);
  add_quantized_options(sub, f->quantized);
  add_output(sub, f->output);
  add_dtype(sub, f->dtype);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_apply(*f, ctx); };
}

}  // namespace

const CommandDecl apply_command{"apply", "y = layer(x) from .npy files, computed as W x + b",
                                declare};

}  // namespace convmat::cli

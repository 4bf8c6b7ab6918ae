// `convmat-mpi apply`: `convmat apply` on the distributed W — y = layer(x) as W x + b (W^T x + b
// for a transposed convolution), each rank reading its slab of x and writing its slab of y.

#include <ostream>

#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "mpi/mpi_commands.hpp"
#include "mpi/slab_io.hpp"
#include "session.hpp"

namespace convmat::cli::mpi {

namespace {

using distributed::DistributedConvMatrix;
using Side = DistributedConvMatrix::Side;

constexpr std::string_view description =
    "Reads x, the weight and the bias, computes the layer as W x + b (W^T x + b for a transposed\n"
    "convolution) in float64 on W distributed over the ranks, and writes y (the output dtype: "
    "see\n"
    "--dtype). Each rank reads and writes only its slab of x and y; y appears complete or not at "
    "all.";

constexpr std::string_view details =
    "examples:\n"
    "  mpirun -n 4 convmat-mpi apply --op conv2d --input x.npy --weight w.npy --bias b.npy "
    "--padding 1 -o y.npy\n";

struct Flags {
  LayerFlags layer;
  DataFlags data;
  std::optional<std::string> output, dtype;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

// This rank's slab of every sample plus the bias of each channel.
void add_bias(std::vector<double>& local, const std::vector<double>& bias, Index channels,
              Index samples) {
  if (bias.empty() || local.empty()) return;
  const auto per_channel = static_cast<Index>(local.size()) / (samples * channels);
  for (Index n = 0; n < samples; ++n) {
    for (Index c = 0; c < channels; ++c) {
      double* p = local.data() + (n * channels + c) * per_channel;
      for (Index i = 0; i < per_channel; ++i) p[i] += bias[static_cast<std::size_t>(c)];
    }
  }
}

int run_apply(const Flags& f, Context& ctx) {
  const MPI_Comm c = comm();
  const int rank = distributed::rank_of(c);
  std::optional<NpyInput> input, weight, bias;
  std::optional<LayerDescription> layer;
  bool float32 = false;
  distributed::collectively(c, [&] {
    input = npy_input(f.data.input);
    weight = npy_input(f.data.weight);
    bias = npy_input(f.data.bias);
    if (!input) throw UsageError("apply needs --input X.npy");
    if (!weight) throw UsageError("apply needs --weight W.npy");
    if (!f.output) throw UsageError("apply needs --output Y.npy");
    layer = mpi_layer_from(f.layer, f.data, input, weight, bias);
    float32 = float32_output(f.dtype, {&input, &weight, &bias});
  });
  require_same_on_every_rank(layer_fingerprint(*layer, {&input, &weight, &bias}));
  const ConvSpec& s = layer->call.spec;
  const Index batch = layer->call.batch;
  const MemoryLimit limit = rank_memory_limit(f.max_memory);
  const distributed::SlabLayout slabs(s, distributed::size_of(c));
  const auto vector_bytes = static_cast<std::uint64_t>(
      8 * batch * (slabs.input().local_size(rank) + 2 * slabs.output().local_size(rank)) +
      8 * s.weight_numel());
  distributed::require_rank_memory(c, limit, slabs, vector_bytes);
  distributed::collectively(c, [&] {
    weight->load(ctx);
    if (bias) bias->load(ctx);
  });

  const DistributedConvMatrix m(c, s, weight->data.data(), limit);
  const std::vector<double> x =
      read_slab(c, input->path, input->header, m.layout_of(Side::input), batch);
  const Index in_local = m.layout_of(Side::input).local_size(rank);
  const Index out_local = m.layout_of(Side::output).local_size(rank);
  std::vector<double> y(static_cast<std::size_t>(batch * out_local));
  {
    const auto xv = m.create_input(), yv = m.create_output();
    for (Index n = 0; n < batch; ++n) {
      DistributedConvMatrix::set_local(xv, x.data() + n * in_local);
      m.apply(xv, yv);
      DistributedConvMatrix::get_local(yv, y.data() + n * out_local);
    }
  }
  add_bias(y, bias ? bias->data : std::vector<double>{}, s.out_channels(), batch);

  SlabOutput file(c, *f.output, layer->output_shape, float32);
  file.write(m.layout_of(Side::output), batch, y.data());
  file.commit();

  const Index nnz = m.nnz();
  if (f.json) {
    const Json j{{"output", file.target()},
                 {"shape", layer->output_shape},
                 {"dtype", float32 ? "float32" : "float64"},
                 {"nnz", nnz},
                 {"ranks", distributed::size_of(c)}};
    emit(ctx, j);
  } else {
    ctx.out << "wrote " << file.target() << ": " << dims_to_tuple(layer->output_shape) << " "
            << (float32 ? "float32" : "float64") << ", computed as "
            << (s.is_transposed() ? "W^T" : "W") << " x" << (bias ? " + b" : "") << " (W "
            << slabs.rows().size() << " x " << slabs.cols().size() << ", " << nnz
            << " nonzeros, over " << distributed::size_of(c) << " ranks)\n";
  }
  return exit_ok;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_bias);
  add_output(sub, f->output);
  add_dtype(sub, f->dtype);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_apply(*f, ctx); };
}

}  // namespace

const CommandDecl apply_command{
    "apply", "y = layer(x) from .npy files, computed as W x + b on the distributed W", declare};

}  // namespace convmat::cli::mpi

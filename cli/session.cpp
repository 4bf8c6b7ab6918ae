#include "session.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

#include "convmat/conv_matrix.hpp"
#include "json.hpp"

namespace convmat::cli {

std::string human_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  char b[48];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return b;
}

std::string shape_text(const Dims& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  if (d.size() == 1) s += ",";
  return s + ")";
}

MemoryLimit memory_limit(const Arguments& args) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  const std::uint64_t physical = pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                                       : std::uint64_t{8} << 30;
  MemoryLimit m;
  if (args.has(Opt::max_memory)) {
    m.bytes = parse_bytes(Opt::max_memory, args.get(Opt::max_memory), physical);
    m.source = "--max-memory " + args.get(Opt::max_memory);
  } else {
    m.bytes = physical / 2;
    m.source = "50% of the " + human_bytes(static_cast<double>(physical)) + " of physical memory";
  }
  return m;
}

void require_memory(const MemoryLimit& limit, const ConvSpec& spec, std::uint64_t array_bytes) {
  // Upper bound first: every row of W has at most channels_per_group · Π_a min(k_a, cols_a)
  // nonzeros (long double: the bound may pass 2⁶⁴).
  const bool t = spec.is_transposed();
  const Dims& cols = t ? spec.output_size() : spec.input_size();
  const long double rows = static_cast<long double>(t ? spec.input_numel() : spec.output_numel());
  long double per_row = static_cast<long double>((t ? spec.out_channels() : spec.in_channels()) / spec.groups());
  Index axis_rows = 0;
  for (int a = 0; a < spec.rank(); ++a) {
    const auto u = static_cast<std::size_t>(a);
    per_row *= static_cast<long double>(std::min(spec.kernel_size()[u], cols[u]));
    axis_rows += (t ? spec.input_size() : spec.output_size())[u];
  }
  const long double pointers = (rows + 1) * 8;
  const long double arrays = static_cast<long double>(array_bytes);
  const long double limit_bytes = static_cast<long double>(limit.bytes);
  if (rows * per_row * 12 + pointers + arrays <= limit_bytes) return;

  std::string estimate;
  long double need = 0;
  if (pointers + arrays > limit_bytes || axis_rows > 500'000'000) {
    need = pointers + arrays;
    estimate = "at least " + human_bytes(static_cast<double>(need)) + " (W's " +
               std::to_string(static_cast<long long>(rows)) + " row pointers alone take " +
               human_bytes(static_cast<double>(pointers)) + ")";
  } else {
    const Index nnz = conv_matrix_nnz(spec);
    need = static_cast<long double>(nnz) * 12 + pointers + arrays;
    if (need <= limit_bytes) return;
    estimate = human_bytes(static_cast<double>(need)) + " (W: " + std::to_string(nnz) + " nonzeros of float64 " +
               "with 32-bit column indices, " + human_bytes(static_cast<double>(static_cast<long double>(nnz) * 12 + pointers)) +
               "; the arrays: " + human_bytes(static_cast<double>(arrays)) + ")";
  }
  throw UsageError("this layer needs " + estimate + ", more than the limit of " +
                   human_bytes(static_cast<double>(limit.bytes)) + " (" + limit.source +
                   "); raise it with --max-memory SIZE if the machine can hold it");
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
    ctx.err << "convmat: note: " << path << " holds " << header.type_name() << "; converted to float64";
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
                            const std::optional<NpyInput>& weight, const std::optional<NpyInput>& bias) {
  if (input && args.has(Opt::input_shape)) throw UsageError("give --input or --input-shape, not both");
  if (weight && args.has(Opt::weight_shape)) throw UsageError("give --weight or --weight-shape, not both");
  std::optional<Dims> input_shape, weight_shape;
  if (input) input_shape = input->header.shape;
  if (weight) weight_shape = weight->header.shape;
  if (args.has(Opt::input_shape)) input_shape = parse_dims(Opt::input_shape, args.get(Opt::input_shape));
  if (args.has(Opt::weight_shape)) weight_shape = parse_dims(Opt::weight_shape, args.get(Opt::weight_shape));
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

void emit(Context& ctx, const JsonWriter& json) { ctx.out << json.str() << "\n"; }

}  // namespace convmat::cli

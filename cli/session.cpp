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

std::string short_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
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

long double gram_nnz(const ConvSpec& spec, bool rows_gram) {
  const ConvSpec conv = spec.as_convolution();
  ConvParams p = conv.params();
  p.in_channels = p.out_channels = p.groups = 1;
  const ConvPattern single{ConvSpec(p)};
  const SparsityPattern& w = *single.sparsity();
  // In terms of W: M Mᵀ is W Wᵀ when M = W and WᵀW when M = Wᵀ.
  const bool w_w_transpose = rows_gram != spec.is_transposed();
  // Wsᵀ in CSR: the rows of Ws reading each column.
  std::vector<Index> cptr(static_cast<std::size_t>(w.cols + 1), 0), cidx(static_cast<std::size_t>(w.nnz()));
  for (Index k = 0; k < w.nnz(); ++k) ++cptr[static_cast<std::size_t>(w.col[k]) + 1];
  for (Index c = 0; c < w.cols; ++c) cptr[static_cast<std::size_t>(c + 1)] += cptr[static_cast<std::size_t>(c)];
  std::vector<Index> next(cptr.begin(), cptr.end() - 1);
  for (Index r = 0; r < w.rows; ++r) {
    for (RowPointer k = w.row_ptr[r]; k < w.row_ptr[r + 1]; ++k) cidx[static_cast<std::size_t>(next[static_cast<std::size_t>(w.col[k])]++)] = r;
  }
  // "Lines" are the rows of Ws (for W Wᵀ) or its columns (for WᵀW); two lines meet through an
  // "other" (a column, or a row) they share.
  const Index lines = w_w_transpose ? w.rows : w.cols;
  const auto line_ptr = [&](Index l) { return w_w_transpose ? static_cast<Index>(w.row_ptr[l]) : cptr[static_cast<std::size_t>(l)]; };
  const auto line_idx = [&](Index k) { return w_w_transpose ? static_cast<Index>(w.col[k]) : cidx[static_cast<std::size_t>(k)]; };
  const auto other_ptr = [&](Index o) { return w_w_transpose ? cptr[static_cast<std::size_t>(o)] : static_cast<Index>(w.row_ptr[o]); };
  const auto other_idx = [&](Index k) { return w_w_transpose ? cidx[static_cast<std::size_t>(k)] : static_cast<Index>(w.col[k]); };
  std::vector<Index> mark(static_cast<std::size_t>(lines), -1);
  long double spatial = 0;
  for (Index l = 0; l < lines; ++l) {
    for (Index k = line_ptr(l); k < line_ptr(l + 1); ++k) {
      const Index o = line_idx(k);
      for (Index q = other_ptr(o); q < other_ptr(o + 1); ++q) {
        const Index l2 = other_idx(q);
        if (mark[static_cast<std::size_t>(l2)] != l) {
          mark[static_cast<std::size_t>(l2)] = l;
          spatial += 1;
        }
      }
    }
  }
  const auto per_group = static_cast<long double>((w_w_transpose ? conv.out_channels() : conv.in_channels()) / conv.groups());
  return static_cast<long double>(conv.groups()) * per_group * per_group * spatial;
}

bool float32_output(const Arguments& args, std::initializer_list<const std::optional<NpyInput>*> inputs) {
  if (args.has(Opt::dtype)) {
    const std::string& d = args.get(Opt::dtype);
    if (d != "float32" && d != "float64") throw UsageError("--dtype: expected float32 or float64, got '" + d + "'");
    return d == "float32";
  }
  for (const std::optional<NpyInput>* a : inputs) {
    if (*a && (!(*a)->header.is_float() || (*a)->header.item_size == 8)) return false;
  }
  return true;
}

void emit(Context& ctx, const JsonWriter& json) { ctx.out << json.str() << "\n"; }

}  // namespace convmat::cli

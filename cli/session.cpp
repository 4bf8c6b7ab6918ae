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

std::string shape_text(const Dims& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  if (d.size() == 1) s += ",";
  return s + ")";
}

MemoryLimit memory_limit(const Arguments& args) {
  MemoryLimit m = default_memory_limit();
  if (args.has(Opt::max_memory)) {
    m.bytes = parse_bytes(Opt::max_memory, args.get(Opt::max_memory), physical_memory_bytes());
    m.source = "--max-memory " + args.get(Opt::max_memory);
  }
  m.raise = "raise it with --max-memory SIZE if the machine can hold it";
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

long double gram_nnz(const ConvSpec& spec, bool rows_gram) {
  const ConvSpec conv = spec.as_convolution();
  ConvParams p = conv.params();
  p.in_channels = p.out_channels = p.groups = 1;
  const ConvPattern single{ConvSpec(p)};
  const SparsityPattern& w = *single.sparsity();
  // In terms of W: M Mᵀ is W Wᵀ when M = W and WᵀW when M = Wᵀ.
  const bool w_w_transpose = rows_gram != spec.is_transposed();
  // Wsᵀ in CSR: the rows of Ws reading each column.
  std::vector<Index> cptr(static_cast<std::size_t>(w.cols + 1), 0),
      cidx(static_cast<std::size_t>(w.nnz()));
  for (Index k = 0; k < w.nnz(); ++k) ++cptr[static_cast<std::size_t>(w.col[k]) + 1];
  for (Index c = 0; c < w.cols; ++c)
    cptr[static_cast<std::size_t>(c + 1)] += cptr[static_cast<std::size_t>(c)];
  std::vector<Index> next(cptr.begin(), cptr.end() - 1);
  for (Index r = 0; r < w.rows; ++r) {
    for (RowPointer k = w.row_ptr[r]; k < w.row_ptr[r + 1]; ++k)
      cidx[static_cast<std::size_t>(next[static_cast<std::size_t>(w.col[k])]++)] = r;
  }
  // "Lines" are the rows of Ws (for W Wᵀ) or its columns (for WᵀW); two lines meet through an
  // "other" (a column, or a row) they share.
  const Index lines = w_w_transpose ? w.rows : w.cols;
  const auto line_ptr = [&](Index l) {
    return w_w_transpose ? static_cast<Index>(w.row_ptr[l]) : cptr[static_cast<std::size_t>(l)];
  };
  const auto line_idx = [&](Index k) {
    return w_w_transpose ? static_cast<Index>(w.col[k]) : cidx[static_cast<std::size_t>(k)];
  };
  const auto other_ptr = [&](Index o) {
    return w_w_transpose ? cptr[static_cast<std::size_t>(o)] : static_cast<Index>(w.row_ptr[o]);
  };
  const auto other_idx = [&](Index k) {
    return w_w_transpose ? cidx[static_cast<std::size_t>(k)] : static_cast<Index>(w.col[k]);
  };
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
  const auto per_group = static_cast<long double>(
      (w_w_transpose ? conv.out_channels() : conv.in_channels()) / conv.groups());
  return static_cast<long double>(conv.groups()) * per_group * per_group * spatial;
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

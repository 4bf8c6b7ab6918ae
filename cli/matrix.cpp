// `convmat matrix`: the layer's matrix M (W, or W^T for a transposed convolution; --transpose for
// M^T) as a Matrix Market coordinate file, or printed densely when it is small.
//
// The Matrix Market writer is our own, not Eigen's saveMarket: saveMarket walks the outer index
// with an `int` (32-bit: wrong past 2^31 rows or columns), needs W copied into an
// Eigen::SparseMatrix (whose default 32-bit StorageIndex also caps the nonzeros at 2^31) and a
// file name (no atomic AtomicOutput, no device or stdout), and writes no 'pattern' files. This
// one streams W's CSR arrays (64-bit row pointers, 64-bit row, column and nonzero counts) through
// AtomicOutput in 1 MiB blocks.

#include <cstdio>
#include <ostream>
#include <sstream>

#include "commands.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view description =
    "Writes the layer's matrix M (W for a convolution, W^T for a transposed convolution; "
    "--transpose\n"
    "for M^T) as a Matrix Market coordinate file that scipy.io.mmread reads, or prints it "
    "densely\n"
    "when it is small.";

constexpr std::string_view details =
    "The rows of M flatten the output (C_out, *o) of one sample and the columns the input\n"
    "(C_in, *n), both in C order, so M @ x.reshape(-1) is the layer on one sample (without bias).\n"
    "Without --weight the file holds the structure only (Matrix Market 'pattern').\n"
    "Without --output, M is printed densely if it has at most 100 rows and columns.\n"
    "\n"
    "examples:\n"
    "  convmat matrix --op conv2d --input-shape 1,1,3,3 --weight k.npy          (seed 000's 4x9 "
    "W)\n"
    "  convmat matrix --op conv_transpose2d --input-shape 1,8,16,16 --weight-shape 8,4,4,4 "
    "--stride 2 -o w.mtx\n"
    "  python3 -c \"import scipy.io; W = scipy.io.mmread('w.mtx')\"\n";

struct Flags {
  LayerFlags layer;
  DataFlags data;
  std::optional<std::string> output;
  bool transpose = false;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

int run_matrix(const Flags& f, Context& ctx) {
  std::optional<NpyInput> input = npy_input(f.data.input), weight = npy_input(f.data.weight);
  const LayerDescription layer = layer_from(f.layer, f.data, input, weight, std::nullopt);
  const ConvSpec& s = layer.call.spec;
  const bool pattern_only = !weight;
  // M = W for a convolution, W^T for a transposed one; --transpose writes M^T.
  const bool swap = s.is_transposed() != f.transpose;
  const Index rows = f.transpose ? s.input_numel() : s.output_numel();
  const Index cols = f.transpose ? s.output_numel() : s.input_numel();
  const bool to_file = f.output.has_value();
  constexpr Index print_limit = 100;
  if (!to_file && (rows > print_limit || cols > print_limit)) {
    throw UsageError("the matrix is " + std::to_string(rows) + " x " + std::to_string(cols) +
                     ", too large to print (at most " + std::to_string(print_limit) + " x " +
                     std::to_string(print_limit) + "); write it with --output FILE.mtx");
  }
  require_memory(memory_limit(f.max_memory), s, static_cast<std::uint64_t>(s.weight_numel()) * 8);
  if (weight) weight->load(ctx, layer.call, LayerCall::Tensor::weight);
  const std::vector<double> ones(pattern_only ? static_cast<std::size_t>(s.weight_numel()) : 0,
                                 1.0);
  const ConvMatrix<double> m(s, pattern_only ? ones.data() : weight->data.data());
  const CsrMatrix<double>& w = m.stored();
  // With --data-format, rows and columns follow the sample's flat order in that layout: the
  // matrix P W Q of the layer on data stored so (layout.hpp). position[canonical] = user index.
  for (const Layout* l : {&layer.call.input_layout, &layer.call.output_layout}) {
    if (!l->is_permutation()) {
      throw UsageError("--op " + layer.op +
                       ": matrix takes layouts that permute the axes only; this layer's reverses "
                       "an axis or moves batch groups");
    }
  }
  const auto positions = [&](const Layout& batched, const Dims& sample) {
    const Layout layout = batched.without_axis(0);
    std::vector<Index> position;
    if (layout.is_identity()) return position;
    const std::vector<Index> order = layout.flat_order(sample);
    position.resize(order.size());
    for (std::size_t u = 0; u < order.size(); ++u)
      position[static_cast<std::size_t>(order[u])] = static_cast<Index>(u);
    return position;
  };
  const std::vector<Index> in_position = positions(layer.call.input_layout, s.input_shape());
  const std::vector<Index> out_position = positions(layer.call.output_layout, s.output_shape());
  // Rows of the stored W are outputs for a convolution, inputs for a transposed one.
  const std::vector<Index>& row_position = s.is_transposed() ? in_position : out_position;
  const std::vector<Index>& col_position = s.is_transposed() ? out_position : in_position;
  const auto place = [](const std::vector<Index>& position, Index i) {
    return position.empty() ? i : position[static_cast<std::size_t>(i)];
  };
  auto for_each_entry = [&](auto&& f) {  // f(row of the written matrix, col, value)
    for (Index r0 = 0; r0 < w.rows(); ++r0) {
      const Index r = place(row_position, r0);
      for (RowPointer k = w.row_ptr()[r0]; k < w.row_ptr()[r0 + 1]; ++k) {
        const Index c = place(col_position, w.col_index()[k]);
        if (swap) {
          f(c, r, w.values()[k]);
        } else {
          f(r, c, w.values()[k]);
        }
      }
    }
  };
  const std::string what = std::string(f.transpose ? "the transpose of " : "") +
                           "the layer's matrix " + (s.is_transposed() ? "W^T" : "W");

  if (to_file) {
    AtomicOutput file(*f.output);
    std::ostringstream head;
    head << "%%MatrixMarket matrix coordinate " << (pattern_only ? "pattern" : "real")
         << " general\n";
    head << "% convmat: " << what << " of " << s.to_string() << "\n";
    head << "% rows: " << (f.transpose ? "input (C_in, *n)" : "output (C_out, *o)")
         << ", columns: " << (f.transpose ? "output (C_out, *o)" : "input (C_in, *n)")
         << ", flattened in C order (1-based here)\n";
    if (!layer.call.input_layout.is_identity())
      head << "% samples stored as " << layer.call.input_layout.without_axis(0).format()
           << " (--data-format " << layer.call.input_layout.format() << ")\n";
    head << rows << " " << cols << " " << m.nnz() << "\n";
    file.write(head.str());
    const char* format = weight && weight->header.item_size <= 4 && weight->header.is_float()
                             ? "%lld %lld %.9g\n"
                             : "%lld %lld %.17g\n";
    std::string buffer;
    buffer.reserve(1 << 20);
    char line[96];
    for_each_entry([&](Index r, Index c, double v) {
      const int n =
          pattern_only ? std::snprintf(line, sizeof line, "%lld %lld\n",
                                       static_cast<long long>(r + 1), static_cast<long long>(c + 1))
                       : std::snprintf(line, sizeof line, format, static_cast<long long>(r + 1),
                                       static_cast<long long>(c + 1), v);
      buffer.append(line, static_cast<std::size_t>(n));
      if (buffer.size() > (1 << 20) - 128) {
        file.write(buffer);
        buffer.clear();
      }
    });
    file.write(buffer);
    file.commit();
    Context report = report_context(ctx, file);
    if (f.json) {
      const Json j{{"output", file.target()},
                   {"matrix", s.is_transposed() != f.transpose ? "W^T" : "W"},
                   {"rows", rows},
                   {"cols", cols},
                   {"nnz", m.nnz()},
                   {"pattern", pattern_only}};
      emit(report, j);
    } else {
      report.out << "wrote " << file.target() << ": " << what << ", " << rows << " x " << cols
                 << ", " << m.nnz() << " nonzeros"
                 << (pattern_only ? " (structure only: no --weight)" : "") << "\n";
    }
    return exit_ok;
  }

  std::vector<double> dense(static_cast<std::size_t>(rows * cols), 0.0);
  std::vector<bool> present(dense.size(), false);
  for_each_entry([&](Index r, Index c, double v) {
    dense[static_cast<std::size_t>(r * cols + c)] = v;
    present[static_cast<std::size_t>(r * cols + c)] = true;
  });
  if (f.json) {
    Json j{{"matrix", s.is_transposed() != f.transpose ? "W^T" : "W"},
           {"rows", rows},
           {"cols", cols},
           {"nnz", m.nnz()},
           {"pattern", pattern_only}};
    Json& rows_json = j["dense"] = Json::array();
    for (Index r = 0; r < rows; ++r) {
      Json row = Json::array();
      for (Index c = 0; c < cols; ++c) {
        const auto i = static_cast<std::size_t>(r * cols + c);
        row.push_back(pattern_only ? (present[i] ? 1.0 : 0.0) : dense[i]);
      }
      rows_json.push_back(std::move(row));
    }
    emit(ctx, j);
    return exit_ok;
  }
  ctx.out << what << " of " << layer.op << ": " << rows << " x " << cols << ", " << m.nnz()
          << " nonzeros"
          << (pattern_only ? " (* marks a nonzero; give --weight for the values)" : "") << "\n";
  std::vector<std::string> cells(dense.size());
  std::size_t width = 1;
  for (std::size_t i = 0; i < dense.size(); ++i) {
    char b[32];
    if (pattern_only) {
      std::snprintf(b, sizeof b, "%s", present[i] ? "*" : ".");
    } else {
      std::snprintf(b, sizeof b, "%.6g", dense[i]);
    }
    cells[i] = b;
    width = std::max(width, cells[i].size());
  }
  for (Index r = 0; r < rows; ++r) {
    ctx.out << "  [";
    for (Index c = 0; c < cols; ++c) {
      const std::string& cell = cells[static_cast<std::size_t>(r * cols + c)];
      ctx.out << (c ? " " : "") << std::string(width - cell.size(), ' ') << cell;
    }
    ctx.out << "]\n";
  }
  return exit_ok;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_input_shape | data_weight_shape);
  add_output(sub, f->output);
  add_flag(sub, "--transpose", f->transpose,
           "write the transpose of the layer's matrix (the adjoint)");
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_matrix(*f, ctx); };
}

}  // namespace

const CommandDecl matrix_command{
    "matrix",
    "the layer's matrix (W, or W^T for a transposed convolution) as Matrix Market, or printed",
    declare};

}  // namespace convmat::cli

// `convmat analyze`: the layer's map M (W, or Wᵀ for a transposed convolution) as a matrix —
// its size and memory, its singular values (spectrum.hpp), how far Mᵀ is from M⁺
// (pseudo_inverse.hpp) and, for a transposed layer, its checkerboard (checkerboard.hpp).

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <random>
#include <sstream>

#include "commands.hpp"
#include "convmat/analysis/checkerboard.hpp"
#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/pseudo_inverse.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "convmat/analysis/spectrum_method.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view description =
    "Analyzes the layer's matrix M for one sample: its size, nonzeros and memory; its singular "
    "values,\n"
    "rank and condition number; how far the transposed layer is from the inverse (||M^T - M^+|| "
    "and\n"
    "the tight-frame test); and, for a transposed layer, the checkerboard of its output.";

constexpr std::string_view details =
    "M is the layer's map: W for a convolution, W^T for a transposed convolution (W and W^T have "
    "the\n"
    "same singular values, rank and distance from their pseudo-inverse, so either reads the "
    "same).\n"
    "  singular values  dense (LAPACK dgesdd, all of them) when M has at most 2^22 entries, e.g.\n"
    "                   2048 x 2048, and the dense work fits --max-memory; else Lanczos (Spectra) "
    "on the\n"
    "                   smaller Gram matrix G: the --count largest (matrix-free) and smallest "
    "(shift-invert,\n"
    "                   a sparse Cholesky factor of G (CHOLMOD); its memory is estimated as 8 x "
    "nnz(G) and the smallest are\n"
    "                   skipped, saying so, when that exceeds the limit). The output says which "
    "was used.\n"
    "  rank             dense: #{sigma_i > max(m, n)*eps*sigma_1} (MATLAB's rank); Lanczos: full "
    "when\n"
    "                   sigma_min > sqrt(max(m, n)*eps)*sigma_1, the rounding level of G, else "
    "unresolved\n"
    "                   (deficient, or within rounding of it; the condition number then bounded "
    "below).\n"
    "  condition        sigma_1/sigma_min (infinite when rank deficient).\n"
    "  transposed vs    ||M^T - M^+||_F / ||M^+||_F, and the tight-frame test: G = c*I with\n"
    "  inverse          c = trace(G)/min(m, n) (orthogonal rows, or columns, of equal norm; then\n"
    "                   M^T = c*M^+, e.g. stride = kernel size with one channel), and the "
    "reconstruction\n"
    "                   errors of x from y = M x by M^T, M^T/c and M^+. Dense: only within the "
    "2^22 limit;\n"
    "                   otherwise skipped, saying why.\n"
    "  checkerboard     transposed layers: the kernel taps reaching each output position, over "
    "the\n"
    "                   interior (positions every tap can reach): min, max, amplitude "
    "(max-min)/mean,\n"
    "                   one period of the pattern, the weight sums' amplitude per channel, and the "
    "whole\n"
    "                   pattern when the output has at most 1024 positions, at most 40 per row.\n"
    "The weight comes from --weight, or --weight-fill for a quick look without one.\n"
    "Exit status 0, also for rank-deficient layers; 1 when a singular value computation did not\n"
    "converge (the output says which); 2 on usage or input errors, or when W exceeds "
    "--max-memory.\n"
    "\n"
    "examples:\n"
    "  convmat analyze --op conv2d --input-shape 1,1,3,3 --weight k.npy      (seed 000: rank 4, "
    "nullity 5)\n"
    "  convmat analyze --op conv_transpose2d --input-shape 1,1,8,8 --weight-shape 1,1,3,3 --stride "
    "2 --weight-fill ones\n"
    "  convmat analyze --desc ic8ih32oc8oh32kh3ph1 --weight-fill random:1 --json\n";

// --weight-fill ones | random | random:SEED
struct WeightFill {
  bool random = false;
  std::uint64_t seed = 0;
  std::string text() const {
    return random ? "uniform in [-1, 1] from std::mt19937_64 seeded with " + std::to_string(seed)
                  : "all ones";
  }
};

WeightFill parse_weight_fill(const std::string& flag, const std::string& text) {
  WeightFill f;
  if (text == "ones") return f;
  if (text == "random" || text.compare(0, 7, "random:") == 0) {
    f.random = true;
    if (text.size() > 6) {
      const Index seed = parse_index(flag, text.substr(7));
      if (seed < 0)
        throw UsageError(flag + ": the seed must be >= 0, got '" + text.substr(7) + "'");
      f.seed = static_cast<std::uint64_t>(seed);
    }
    return f;
  }
  throw UsageError(flag + ": expected ones, random or random:SEED, got '" + text + "'");
}

std::vector<double> filled_weight(const WeightFill& f, Index count) {
  std::vector<double> w(static_cast<std::size_t>(count), 1.0);
  if (f.random) {
    std::mt19937_64 engine(f.seed);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (double& v : w) v = uniform(engine);
  }
  return w;
}

enum class SpectrumMode { automatic, dense, lanczos, largest };

SpectrumMode parse_spectrum(const std::string& flag, const std::string& text) {
  const std::string s = parse_choice(flag, text, {"auto", "dense", "lanczos", "largest"});
  return s == "dense"     ? SpectrumMode::dense
         : s == "lanczos" ? SpectrumMode::lanczos
         : s == "largest" ? SpectrumMode::largest
                          : SpectrumMode::automatic;
}

struct Flags {
  LayerFlags layer;
  DataFlags data;
  std::optional<WeightFill> weight_fill;
  std::optional<SpectrumMode> spectrum;
  std::optional<Index> count;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

std::string percent(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g%%", 100 * fraction);
  return b;
}

std::string list_text(const Eigen::VectorXd& v) {
  std::string s;
  for (Index i = 0; i < v.size(); ++i) s += (i ? ", " : "") + short_number(v(i));
  return s;
}

// Saturating: the estimates may pass 2⁶⁴ for impossible layers.
std::uint64_t to_bytes(long double b) {
  return b >= 1.8e19L ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(b);
}

// ---------------------------------------------------------------------------------------------
// What analyze computes, then prints or writes as JSON.

struct SpectrumResult {
  bool dense = false;
  std::string why;                  // why this method
  SingularValues all;               // dense
  PartialSingularValues high, low;  // Lanczos
  bool low_computed = false;
  std::string low_skipped;  // why the smallest were not computed
  double rounding_level = 0;  // Lanczos: √(max(m, n)·ε)·σ_1, the Gram matrix's rounding level in σ
  std::optional<LanczosRankVerdict> verdict;  // Lanczos: when both ends converged
  long double gram_nnz = 0;                   // Lanczos: nonzeros of G
  bool converged = true;
};

struct Analysis {
  Index rows = 0, cols = 0, nnz = 0;
  double bytes64 = 0, bytes32 = 0;
  SpectrumResult spectrum;
  std::optional<TransposeVersusInverse> tvi;
  std::string tvi_skipped;
  std::optional<Checkerboard> board;
  std::string board_skipped;
};

std::string dense_limit_text(Index rows, Index cols) {
  return "M is " + std::to_string(rows) + " x " + std::to_string(cols) + " = " +
         std::to_string(rows * cols) + " entries, more than the dense limit of " +
         std::to_string(dense_entry_limit) + " (2^22)";
}

// ---------------------------------------------------------------------------------------------
// Text

void print_pattern(std::ostream& o, const Dims& size, const std::vector<Index>& values,
                   const std::string& indent) {
  std::size_t width = 1;
  for (Index v : values) width = std::max(width, std::to_string(v).size());
  const Index last = size.back();
  const Index lines = static_cast<Index>(values.size()) / last;
  const Index plane = size.size() >= 2 ? size[size.size() - 2] : 1;
  for (Index l = 0; l < lines; ++l) {
    if (size.size() == 3 && l % plane == 0) o << indent << "[" << l / plane << ", :, :]\n";
    o << indent << "[";
    for (Index c = 0; c < last; ++c) {
      const std::string v = std::to_string(values[static_cast<std::size_t>(l * last + c)]);
      o << (c ? " " : "") << std::string(width - v.size(), ' ') << v;
    }
    o << "]\n";
  }
}

void print_analysis(Context& ctx, const LayerDescription& layer, const std::string& weight_text,
                    const Analysis& a) {
  std::ostream& o = ctx.out;
  const ConvSpec& s = layer.call.spec;
  const bool t = s.is_transposed();
  const std::string spec = s.to_string();
  o << "layer: " << spec;
  if (spec.compare(0, layer.op.size(), layer.op) != 0) o << "  (" << layer.op << ")";
  o << "\nweight: " << weight_text << "\n";
  o << "matrix: M = " << (t ? "W^T" : "W") << ", " << a.rows << " x " << a.cols
    << " (output (C_out, *o) by input (C_in, *n)), " << a.nnz << " nonzeros ("
    << percent(static_cast<double>(a.nnz) /
               (static_cast<double>(a.rows) * static_cast<double>(a.cols)))
    << " of the entries)\n";
  o << "  memory of W in CSR: " << human_bytes(a.bytes64) << " in float64, "
    << human_bytes(a.bytes32)
    << " in float32 (8 or 4 bytes per value, 4 per column index, 8 per row pointer)\n";

  const SpectrumResult& r = a.spectrum;
  if (r.dense) {
    const SingularValues& v = r.all;
    o << "singular values: all " << v.values.size() << " by a dense SVD (LAPACK dgesdd; " << r.why
      << ")";
    if (v.status != SpectrumStatus::converged) o << ": " << to_string(v.status);
    o << "\n";
    if (v.values.size() <= 12) {
      o << "  " << list_text(v.values) << "\n";
    } else {
      o << "  largest: " << list_text(v.values.head(4)) << ", ...\n  smallest: ..., "
        << list_text(v.values.tail(4)) << "\n";
    }
    const Index k = std::min(a.rows, a.cols);
    o << "  rank " << v.rank << " of min(rows, cols) = " << k
      << " (singular values above max(m, n)*eps*sigma_1 = " << short_number(v.tolerance)
      << "); nullity " << v.nullity << ": ";
    if (v.nullity == 0) {
      o << "M is injective, every input is determined by its output\n";
    } else {
      o << "a " << v.nullity
        << "-dimensional space of inputs that M maps to zero, so no inverse recovers them\n";
    }
    o << "  condition number sigma_1/sigma_min = " << short_number(v.condition_number);
    if (v.rank < k)
      o << " (rank deficient); on the row space sigma_1/sigma_rank = "
        << short_number(v.effective_condition_number);
    o << "\n";
  } else {
    o << "singular values: by Lanczos (Spectra, on the " << r.high.gram_size << " x "
      << r.high.gram_size << " Gram matrix " << (gram_of_rows(a.rows, a.cols) ? "M M^T" : "M^T M");
    if (r.gram_nnz > 0) o << " with " << static_cast<long long>(r.gram_nnz) << " nonzeros";
    o << "; " << r.why << ")\n";
    o << "  largest " << r.high.values.size() << ": " << list_text(r.high.values) << " ("
      << to_string(r.high.status) << ", restarts: " << r.high.iterations << ")\n";
    if (!r.low_computed) {
      o << "  smallest: not computed (" << r.low_skipped << ")\n";
      o << "  rank and condition number: need the smallest singular values\n";
    } else {
      o << "  smallest " << r.low.values.size() << ": " << list_text(r.low.values) << " ("
        << to_string(r.low.status) << ", restarts: " << r.low.iterations << ", shift-invert)\n";
      if (r.verdict) {
        const double smin = r.low.values(0);
        if (!r.verdict->full_rank) {
          o << "  rank: not resolved: sigma_min = " << short_number(smin)
            << " is at or below the Gram matrix's rounding level sqrt(max(m, n)*eps)*sigma_1 = "
            << short_number(r.rounding_level)
            << ", so M is rank deficient or within rounding of it (deconv --method qr reports the "
               "rank)\n";
          o << "  condition number: at least about " << short_number(r.verdict->condition_at_least)
            << "\n";
        } else {
          o << "  rank: full (" << std::min(a.rows, a.cols)
            << "): sigma_min = " << short_number(smin)
            << " is above the Gram matrix's rounding level sqrt(max(m, n)*eps)*sigma_1 = "
            << short_number(r.rounding_level) << "\n";
          o << "  condition number sigma_1/sigma_min = "
            << short_number(r.verdict->condition_number) << "\n";
        }
      }
    }
  }

  if (a.tvi) {
    const TransposeVersusInverse& v = *a.tvi;
    o << "transposed versus inverse (dense; the same numbers for W and W^T):\n";
    o << "  ||M^T - M^+||_F / ||M^+||_F = " << short_number(v.relative_difference) << "\n";
    o << "  tight frame (G = " << (gram_of_rows(a.rows, a.cols) ? "M M^T" : "M^T M")
      << " = c*I, orthogonal " << (gram_of_rows(a.rows, a.cols) ? "rows" : "columns")
      << " of equal norm): " << (v.orthogonal_rows || v.orthogonal_columns ? "yes" : "no")
      << ", ||G - c*I||_F / ||G||_F = " << short_number(v.gram_error)
      << " with c = trace(G)/min(m, n) = " << short_number(v.scale) << " (tolerance "
      << short_number(v.orthogonality_tolerance) << ")\n";
    if (v.orthogonal_rows || v.orthogonal_columns) {
      o << "  so M^T = c*M^+: the adjoint layer divided by c is the inverse (||M^T/c - M^+||_F / "
           "||M^+||_F = "
        << short_number(v.scaled_relative_difference) << ")\n";
    }
    o << "  reconstructing x (uniform in [-1, 1], seed 0) from y = M x: ||M^T y - x||/||x|| = "
      << short_number(v.transpose_reconstruction_error)
      << ", ||M^T y/c - x||/||x|| = " << short_number(v.scaled_transpose_reconstruction_error)
      << ", ||M^+ y - x||/||x|| = " << short_number(v.inverse_reconstruction_error) << "\n";
  } else {
    o << "transposed versus inverse, tight frame: skipped (" << a.tvi_skipped << ")\n";
  }

  if (!a.board) {
    o << "checkerboard: skipped (" << a.board_skipped << ")\n";
    return;
  }
  const Checkerboard& c = *a.board;
  o << "checkerboard (kernel taps reaching each output position from one input channel):\n";
  if (c.interior_positions == 0) {
    o << "  the interior (positions every tap can reach) is empty: the layer is too small to "
         "judge\n";
  } else {
    o << "  interior";
    for (std::size_t i = 0; i < c.interior_begin.size(); ++i) {
      o << (i ? " x " : " ") << "[" << c.interior_begin[i] << ", " << c.interior_end[i] << ")";
    }
    o << ": taps min " << c.min_taps << ", max " << c.max_taps << ", mean "
      << short_number(c.mean_taps)
      << "; amplitude (max-min)/mean = " << short_number(c.tap_amplitude)
      << (c.even ? ": even" : ": uneven (a checkerboard)") << "\n";
    o << "  (dilation 1: even exactly when the stride divides the kernel size; kernel "
      << dims_to_string(s.kernel_size(), " x ") << ", stride " << dims_to_string(s.stride(), " x ")
      << ", dilation " << dims_to_string(s.dilation(), " x ") << ")\n";
    if (!c.period_pattern.empty() && c.period_pattern.size() <= 256) {
      o << "  one period (" << dims_to_string(c.period, " x ") << ") from the interior's start:\n";
      print_pattern(o, c.period, c.period_pattern, "    ");
    }
    o << "  weight sums (the layer on an all-ones input), amplitude (max-min)/|mean| over the "
         "interior, per output channel: ";
    for (std::size_t i = 0; i < c.weight_amplitude.size() && i < 8; ++i)
      o << (i ? ", " : "") << short_number(c.weight_amplitude[i]);
    if (c.weight_amplitude.size() > 8)
      o << ", ... (" << c.weight_amplitude.size() << " channels; --json lists all)";
    o << "\n";
  }
  if (c.tap_count.size() <= 1024 && c.size.back() <= 40) {
    o << "  taps per output position (" << dims_to_string(c.size, " x ") << "):\n";
    print_pattern(o, c.size, c.tap_count, "    ");
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

Json json_analysis(const LayerDescription& layer, const std::string& weight_text,
                   const Analysis& a) {
  const ConvSpec& s = layer.call.spec;
  Json j{{"op", layer.op}, {"layer", s.to_string()}, {"weight", weight_text}};
  j["matrix"] = Json{{"layer_is", s.is_transposed() ? "W^T" : "W"},
                     {"rows", a.rows},
                     {"cols", a.cols},
                     {"nnz", a.nnz},
                     {"bytes_float64", a.bytes64},
                     {"bytes_float32", a.bytes32}};

  const SpectrumResult& r = a.spectrum;
  Json spectrum{
      {"method", r.dense ? "dense" : "lanczos"}, {"why", r.why}, {"converged", r.converged}};
  if (r.dense) {
    // SingularValues' fields, and the extremes and the tolerance under their earlier names.
    const SingularValues& v = r.all;
    add_fields(spectrum, v);
    spectrum["sigma_max"] = v.values.size() ? v.values(0) : 0.0;
    spectrum["sigma_min"] = v.values.size() ? v.values(v.values.size() - 1) : 0.0;
    spectrum["rank_tolerance"] = v.tolerance;
  } else {
    // Each end's PartialSingularValues fields, prefixed (largest_status, largest_values, …),
    // and the values, restarts and G's size under their earlier names.
    const auto partial = [&](const std::string& end, const PartialSingularValues& p) {
      add_fields(spectrum, p, end + "_");
      spectrum[end] = to_json(p.values);
      spectrum[end + "_restarts"] = p.iterations;
    };
    spectrum["gram_size"] = r.high.gram_size;
    if (r.gram_nnz > 0) spectrum["gram_nnz"] = static_cast<Index>(r.gram_nnz);
    partial("largest", r.high);
    spectrum["sigma_max"] = r.high.values.size() ? r.high.values(0) : std::nan("");
    if (r.low_computed) {
      partial("smallest", r.low);
      spectrum["rounding_level"] = r.rounding_level;
      if (r.verdict) {
        // "full" when σ_min is above G's rounding level; else "unresolved" (deficient, or within
        // rounding of it), with a lower bound on the condition number.
        spectrum["sigma_min"] = r.low.values(0);
        spectrum["rank"] = r.verdict->full_rank ? "full" : "unresolved";
        if (r.verdict->full_rank) {
          spectrum["condition_number"] = r.verdict->condition_number;
        } else {
          spectrum["condition_number"] = nullptr;
          spectrum["condition_at_least"] = r.verdict->condition_at_least;
        }
      } else {
        spectrum["sigma_min"] = nullptr;
        spectrum["rank"] = nullptr;
        spectrum["condition_number"] = nullptr;
      }
    } else {
      spectrum["smallest_skipped"] = r.low_skipped;
    }
  }
  j["spectrum"] = std::move(spectrum);

  if (a.tvi) {
    Json& v = j["transpose_vs_inverse"] = Json::object();
    add_fields(v, *a.tvi);
    v["tight_frame"] = a.tvi->orthogonal_rows || a.tvi->orthogonal_columns;
  } else {
    j["transpose_vs_inverse"] = Json{{"skipped", a.tvi_skipped}};
  }
  if (a.board) {
    j["checkerboard"] = to_json(*a.board);
  } else {
    j["checkerboard"] = Json{{"skipped", a.board_skipped}};
  }
  return j;
}

}  // namespace

int run_analyze(const Flags& f, Context& ctx) {
  std::optional<NpyInput> input = npy_input(f.data.input), weight = npy_input(f.data.weight);
  const std::optional<WeightFill>& fill = f.weight_fill;  // excludes --weight
  if (!fill && !weight) {
    throw UsageError(
        "analyze needs the weight's values: --weight W.npy, or --weight-fill ones|random[:SEED] "
        "with "
        "--weight-shape (or --desc)");
  }
  const SpectrumMode mode = f.spectrum.value_or(SpectrumMode::automatic);
  const Index count = f.count.value_or(3);
  if (!f.data.weight_shape && !weight && !f.layer.desc) {
    throw UsageError("--weight-fill needs the weight's shape: --weight-shape A,B,... (or --desc)");
  }
  const LayerDescription layer = layer_from(f.layer, f.data, input, weight, std::nullopt);
  const ConvSpec& s = layer.call.spec;

  // The memory guard: W, the weight, and the copy of M the analyses take (about W's size).
  const MemoryLimit limit = memory_limit(f.max_memory);
  const std::size_t w_bytes = conv_matrix_bytes(s, sizeof(double));
  const std::uint64_t weight_bytes = static_cast<std::uint64_t>(s.weight_numel()) * 8;
  require_memory(
      limit, s,
      to_bytes(static_cast<long double>(weight_bytes) + static_cast<long double>(w_bytes)));
  const long double base =
      2.0L * static_cast<long double>(w_bytes) + static_cast<long double>(weight_bytes);
  const auto fits = [&](long double extra) {
    return base + extra <= static_cast<long double>(limit.bytes);
  };
  const auto over_limit = [&](long double extra) {
    return "about " + human_bytes(static_cast<double>(base + extra)) +
           " with W, more than the limit of " + human_bytes(static_cast<double>(limit.bytes)) +
           " (" + limit.source + "; raise it with --max-memory)";
  };

  std::vector<double> values;
  std::string weight_text;
  if (weight) {
    weight->load(ctx, layer.call, LayerCall::Tensor::weight);
    values = std::move(weight->data);
    weight_text = weight->path;
  } else {
    values = filled_weight(*fill, s.weight_numel());
    weight_text = fill->text() + ", shape " + dims_to_tuple(s.weight_shape());
  }

  Analysis a;
  a.rows = s.output_numel();
  a.cols = s.input_numel();
  a.bytes64 = static_cast<double>(w_bytes);
  a.bytes32 = static_cast<double>(conv_matrix_bytes(s, sizeof(float)));
  const Index k = std::min(a.rows, a.cols);
  // Whether the dense analyses fit (spectrum_method.hpp), with W held beside them.
  const DenseFeasibility dense =
      dense_feasibility(a.rows, a.cols, static_cast<long double>(limit.bytes) - base);
  const bool dense_size_ok = dense != DenseFeasibility::too_many_entries;
  const long double dense_bytes = dense_analysis_bytes(a.rows, a.cols);

  // The checkerboard first: it builds its own W, freed before ours.
  if (!s.is_transposed()) {
    a.board_skipped =
        "not a transposed layer; this convolution's adjoint, its input gradient, has the pattern "
        "of the "
        "transposed layer with the same hyperparameters";
  } else {
    a.board = checkerboard(s, values.data());
  }

  const ConvMatrix<double> m(s, values.data());
  a.nnz = m.nnz();
  SparseMatrixd matrix = layer_matrix(m);

  SpectrumResult& r = a.spectrum;
  if (mode == SpectrumMode::dense || mode == SpectrumMode::automatic) {
    if (dense == DenseFeasibility::too_many_entries) {
      if (mode == SpectrumMode::dense)
        throw UsageError("--spectrum dense: " + dense_limit_text(a.rows, a.cols) + "; use lanczos");
      r.why = dense_limit_text(a.rows, a.cols);
    } else if (dense == DenseFeasibility::over_memory) {
      if (mode == SpectrumMode::dense)
        throw UsageError("--spectrum dense: the dense SVD needs " + over_limit(dense_bytes));
      r.why = "the dense SVD would need " + over_limit(dense_bytes);
    } else {
      r.dense = true;
      r.why = mode == SpectrumMode::dense ? "--spectrum dense" : "M has at most 2^22 entries";
    }
  } else {
    r.why = mode == SpectrumMode::largest ? "--spectrum largest" : "--spectrum lanczos";
  }
  if (r.dense) {
    r.all = singular_values(matrix);
    r.converged = r.all.status == SpectrumStatus::converged;
  } else {
    if (count >= k) {
      throw UsageError("Lanczos needs --count below min(rows, cols) = " + std::to_string(k) +
                       ", got " + std::to_string(count) +
                       (dense_size_ok ? "; use --spectrum dense for all of them" : ""));
    }
    PartialSpectrumOptions options;
    options.count = count;
    r.high = largest_singular_values(matrix, options);
    r.converged = r.high.status == SpectrumStatus::converged;
    const double sigma_max = r.high.values.size() ? r.high.values(0) : 0.0;
    r.rounding_level = gram_rounding_level(a.rows, a.cols, sigma_max);
    if (mode != SpectrumMode::largest) r.gram_nnz = gram_nnz(s, gram_of_rows(a.rows, a.cols));
    const long double gram = shift_invert_bytes(a.nnz, r.gram_nnz);
    if (mode == SpectrumMode::largest) {
      r.low_skipped = "--spectrum largest";
    } else if (!fits(gram)) {
      r.low_skipped = "factoring the Gram matrix would need " + over_limit(gram);
    } else {
      r.low = smallest_singular_values(matrix, options);
      r.low_computed = true;
      r.converged = r.converged && r.low.status == SpectrumStatus::converged;
      if (r.converged && r.low.values.size() > 0)
        r.verdict = lanczos_rank_verdict(a.rows, a.cols, sigma_max, r.low.values(0));
    }
  }

  if (dense == DenseFeasibility::too_many_entries) {
    a.tvi_skipped = "needs the dense pseudo-inverse; " + dense_limit_text(a.rows, a.cols);
  } else if (dense == DenseFeasibility::over_memory) {
    a.tvi_skipped = "the dense pseudo-inverse would need " + over_limit(dense_bytes);
  } else {
    a.tvi = transpose_versus_inverse(matrix);
    r.converged = r.converged && a.tvi->status == SpectrumStatus::converged;
  }

  if (f.json) {
    emit(ctx, json_analysis(layer, weight_text, a));
  } else {
    print_analysis(ctx, layer, weight_text, a);
    if (!r.converged)
      ctx.out << "result: a singular value computation did not converge (exit status 1)\n";
  }
  return r.converged ? exit_ok : exit_not_converged;
}

namespace {

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_input_shape | data_weight_shape);
  add_parsed<WeightFill>(sub, "--weight-fill", f->weight_fill, parse_weight_fill,
                         "ones|random[:SEED]",
                         "instead of --weight: every weight 1, or uniform in [-1, 1] from "
                         "std::mt19937_64 seeded with SEED (default 0); the shape from "
                         "--weight-shape or --desc")
      ->excludes("--weight");
  add_parsed<SpectrumMode>(
      sub, "--spectrum", f->spectrum, parse_spectrum, "MODE",
      "auto | dense | lanczos | largest: all singular values by a dense SVD, the largest and "
      "smallest --count by Lanczos, or the largest only (default auto: dense when M has at most "
      "2^22 entries and the SVD fits the memory limit)");
  add_singular_value_count(sub, f->count);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_analyze(*f, ctx); };
}

}  // namespace

const CommandDecl analyze_command{
    "analyze",
    "singular values, rank, condition, transposed vs inverse, checkerboard, nnz and memory of W",
    declare};

}  // namespace convmat::cli

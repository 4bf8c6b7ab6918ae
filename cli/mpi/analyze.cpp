// `convmat-mpi analyze`: the extreme singular values and the condition number of the
// distributed W by SLEPc (convmat/distributed/spectrum.hpp), in `convmat analyze`'s JSON form
// (its Lanczos spectrum; the dense analyses — all singular values, transposed vs inverse — and
// the checkerboard are one-machine analyses, reported as skipped).

#include <cmath>
#include <ostream>

#include "convmat/analysis/spectrum_method.hpp"
#include "convmat/core/memory_limit.hpp"
#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "convmat/distributed/spectrum.hpp"
#include "mpi/mpi_commands.hpp"
#include "session.hpp"

namespace convmat::cli::mpi {

namespace {

constexpr std::string_view description =
    "The layer's matrix M (W, or W^T for a transposed convolution; the same singular values) for "
    "one\n"
    "sample, distributed over the ranks: its size and nonzeros, its --count largest singular "
    "values\n"
    "(SLEPc's thick-restart Lanczos) and smallest (Krylov-Schur on the shifted Gram matrix, "
    "factored\n"
    "by MUMPS), the rank verdict and the condition number, as convmat analyze reports its "
    "Lanczos\n"
    "spectrum.";

constexpr std::string_view details =
    "--spectrum auto and lanczos: the largest and the smallest; largest: the largest only; dense "
    "is\n"
    "refused (one machine: convmat analyze). Exit status 0, also for rank-deficient layers; 1 "
    "when a\n"
    "singular value computation did not converge; 2 on usage or input errors (on every rank).\n"
    "\n"
    "examples:\n"
    "  mpirun -n 4 convmat-mpi analyze --op conv2d --input-shape 1,16,256,256 --weight w.npy "
    "--padding 1 --json\n";

struct Flags {
  LayerFlags layer;
  DataFlags data;
  std::optional<std::string> spectrum;
  std::optional<Index> count;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

int run_analyze(const Flags& f, Context& ctx) {
  const MPI_Comm c = comm();
  std::optional<NpyInput> input, weight;
  std::optional<LayerDescription> layer;
  distributed::collectively(c, [&] {
    input = npy_input(f.data.input);
    weight = npy_input(f.data.weight);
    if (!weight) throw UsageError("analyze needs the weight's values: --weight W.npy");
    if (f.spectrum && *f.spectrum == "dense") {
      throw UsageError(
          "--spectrum dense: convmat-mpi computes the extreme singular values by SLEPc; use "
          "lanczos or largest (convmat analyze computes all of them on one machine)");
    }
    layer = mpi_layer_from(f.layer, f.data, input, weight, std::nullopt);
  });
  require_same_on_every_rank(layer_fingerprint(*layer, {&input, &weight}));
  const ConvSpec& s = layer->call.spec;
  const bool largest_only = f.spectrum && *f.spectrum == "largest";
  const MemoryLimit limit = rank_memory_limit(f.max_memory);
  distributed::collectively(c, [&] { weight->load(ctx); });
  const distributed::DistributedConvMatrix m(c, s, weight->data.data(), limit);

  const Index rows = s.output_numel(), cols = s.input_numel();
  PartialSpectrumOptions options;
  options.count = f.count.value_or(3);
  if (options.count >= std::min(rows, cols)) {
    throw UsageError(
        "Lanczos needs --count below min(rows, cols) = " + std::to_string(std::min(rows, cols)) +
        ", got " + std::to_string(options.count) + "; convmat analyze --spectrum dense has all");
  }
  const PartialSingularValues high = distributed::largest_singular_values(m, options);
  bool converged = high.status == SpectrumStatus::converged;
  const double sigma_max = high.values.size() ? high.values(0) : 0.0;
  PartialSingularValues low;
  if (!largest_only) {
    low = distributed::smallest_singular_values(m, options);
    converged = converged && low.status == SpectrumStatus::converged;
  }

  Json j{{"op", layer->op}, {"layer", s.to_string()}, {"weight", weight->path}};
  j["matrix"] = Json{{"layer_is", s.is_transposed() ? "W^T" : "W"},
                     {"rows", rows},
                     {"cols", cols},
                     {"nnz", m.nnz()},
                     {"bytes_float64", static_cast<double>(conv_matrix_bytes(s, sizeof(double)))},
                     {"bytes_float32", static_cast<double>(conv_matrix_bytes(s, sizeof(float)))}};
  Json spectrum{{"method", "lanczos"},
                {"why", "convmat-mpi: SLEPc on W distributed over " +
                            std::to_string(distributed::size_of(c)) + " ranks"},
                {"converged", converged}};
  const auto partial = [&](const std::string& end, const PartialSingularValues& p) {
    add_fields(spectrum, p, end + "_");
    spectrum[end] = to_json(p.values);
    spectrum[end + "_restarts"] = p.iterations;
  };
  spectrum["gram_size"] = high.gram_size;
  partial("largest", high);
  spectrum["sigma_max"] = high.values.size() ? high.values(0) : std::nan("");
  std::optional<LanczosRankVerdict> verdict;
  if (largest_only) {
    spectrum["smallest_skipped"] = "--spectrum largest";
  } else {
    partial("smallest", low);
    spectrum["rounding_level"] = gram_rounding_level(rows, cols, sigma_max);
    if (converged && low.values.size() > 0) {
      verdict = lanczos_rank_verdict(rows, cols, sigma_max, low.values(0));
      spectrum["sigma_min"] = low.values(0);
      spectrum["rank"] = verdict->full_rank ? "full" : "unresolved";
      if (verdict->full_rank) {
        spectrum["condition_number"] = verdict->condition_number;
      } else {
        spectrum["condition_number"] = nullptr;
        spectrum["condition_at_least"] = verdict->condition_at_least;
      }
    } else {
      spectrum["sigma_min"] = nullptr;
      spectrum["rank"] = nullptr;
      spectrum["condition_number"] = nullptr;
    }
  }
  j["spectrum"] = std::move(spectrum);
  j["transpose_vs_inverse"] =
      Json{{"skipped", "needs the dense pseudo-inverse (convmat analyze, one machine)"}};
  j["checkerboard"] = Json{{"skipped", "a one-machine analysis (convmat analyze)"}};

  if (f.json) {
    emit(ctx, j);
  } else {
    std::ostream& o = ctx.out;
    o << "layer: " << s.to_string() << "\n";
    o << "matrix: M = " << (s.is_transposed() ? "W^T" : "W") << ", " << rows << " x " << cols
      << ", " << m.nnz() << " nonzeros, over " << distributed::size_of(c) << " ranks\n";
    o << "largest singular values (SLEPc):";
    for (Index i = 0; i < high.values.size(); ++i) o << " " << short_number(high.values(i));
    o << "\n";
    if (!largest_only) {
      o << "smallest singular values (SLEPc):";
      for (Index i = 0; i < low.values.size(); ++i) o << " " << short_number(low.values(i));
      o << "\n";
      if (verdict && verdict->full_rank) {
        o << "rank: full; condition number " << short_number(verdict->condition_number) << "\n";
      } else if (verdict) {
        o << "rank: unresolved (sigma_min within the Gram matrix's rounding level); condition "
             "number at least "
          << short_number(verdict->condition_at_least) << "\n";
      }
    }
    if (!converged) o << "result: a singular value computation did not converge (exit status 1)\n";
  }
  return converged ? exit_ok : exit_not_converged;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_input_shape);
  add_parsed<std::string>(
      sub, "--spectrum", f->spectrum,
      [](const std::string& flag, const std::string& text) {
        return parse_choice(flag, text, {"auto", "dense", "lanczos", "largest"});
      },
      "MODE", "auto | lanczos | largest (dense: convmat analyze only; default auto = lanczos)");
  add_singular_value_count(sub, f->count);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_analyze(*f, ctx); };
}

}  // namespace

const CommandDecl analyze_command{
    "analyze", "extreme singular values and condition number of the distributed W (SLEPc)",
    declare};

}  // namespace convmat::cli::mpi

// `convmat-mpi deconv`: `convmat deconv --method lsqr` on the distributed W — PETSc's KSPLSQR
// with convmat's stopping rules (convmat/distributed/lsqr.hpp), per sample, each rank reading
// its slab of the observed output and writing its slab of x̂.

#include <algorithm>
#include <cmath>
#include <ostream>

#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/lsqr.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "mpi/mpi_commands.hpp"
#include "mpi/slab_io.hpp"
#include "session.hpp"

namespace convmat::cli::mpi {

namespace {

using distributed::DistributedConvMatrix;
using Side = DistributedConvMatrix::Side;

constexpr std::string_view description =
    "Reads the layer's output (--observed) and weight, solves x = argmin |M x - y|^2 + damp^2 "
    "|x|^2\n"
    "(y: the observed output minus the bias; M: W, or W^T for a transposed convolution) per "
    "sample\n"
    "by LSQR (PETSc's KSPLSQR) on W distributed over the ranks, and writes x (--output). --input, "
    "if\n"
    "given, is the true input: its shape describes the layer and x is compared with it; otherwise "
    "give --input-shape.";

constexpr std::string_view details =
    "The flags are convmat deconv's; the distributed solver is LSQR only (--method lsqr, the "
    "default\n"
    "here), without a preconditioner. It stops as convmat's LSQR does (SciPy's rules and "
    "defaults):\n"
    "|r| <= btol*|y| + atol*|M|*|x|, |M^T r - damp^2 x| <= atol*|M|*|r|, cond([M; damp*I]) >= "
    "conlim,\n"
    "or the iteration limit. Exit status 0 when it converged, 1 when it did not (the last iterate "
    "is\n"
    "written), 2 on usage or input errors (on every rank).\n"
    "\n"
    "examples:\n"
    "  mpirun -n 4 convmat-mpi deconv --op conv2d --input-shape 1,1,512,512 --weight g.npy "
    "--observed y.npy --damp 0.01 -o x.npy\n";

struct Flags {
  LayerFlags layer;
  DataFlags data;  // --input is the true input, compared with the solution
  std::optional<std::string> observed, output, dtype;
  SolverFlags solver;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

// The solver's options: convmat deconv's flags, those the distributed LSQR does not take refused.
LsqOptions solver_options(const SolverFlags& f) {
  const LsqMethod method = f.method.value_or(LsqMethod::lsqr);
  if (method != LsqMethod::lsqr) {
    throw UsageError("--method " + to_string(method) +
                     ": convmat-mpi solves by LSQR (PETSc's KSPLSQR) only; use --method lsqr or "
                     "omit it (convmat deconv has qr, cholesky and lsmr on one machine)");
  }
  if (f.preconditioner && *f.preconditioner != PreconditionerKind::none) {
    throw UsageError("--preconditioner " + to_string(*f.preconditioner) +
                     ": the distributed LSQR takes no preconditioner; omit it or give none");
  }
  if (f.preconditioner_delta) {
    throw UsageError(
        "--preconditioner-delta: the distributed LSQR takes no preconditioner; omit it");
  }
  LsqOptions options;
  if (f.damp) options.damp = *f.damp;
  if (f.atol) options.atol = *f.atol;
  if (f.btol) options.btol = *f.btol;
  if (f.conlim) options.conlim = *f.conlim;
  if (f.max_iterations) options.iteration_limit = *f.max_iterations;
  return options;
}

// The samples' reports as one, as the serial solver reports a batch: the most severe status,
// the most iterations, Frobenius norms over the samples.
LsqInfo combine(const std::vector<LsqInfo>& infos, double norm_y) {
  LsqInfo all = infos.front();
  double r2 = 0, n2 = 0, x2 = 0;
  all.residual_history.clear();
  for (const LsqInfo& i : infos) {
    if (i.status > all.status) {
      all.status = i.status;
      all.message = i.message;
      all.stop_code = i.stop_code;
    }
    all.iterations = std::max(all.iterations, i.iterations);
    all.condition_estimate = std::max(all.condition_estimate, i.condition_estimate);
    r2 += i.residual_norm * i.residual_norm;
    n2 += i.normal_residual_norm * i.normal_residual_norm;
    x2 += i.solution_norm * i.solution_norm;
    for (const auto& h : i.residual_history) all.residual_history.push_back(h);
  }
  all.residual_norm = std::sqrt(r2);
  all.relative_residual = norm_y > 0 ? all.residual_norm / norm_y : 0.0;
  all.normal_residual_norm = std::sqrt(n2);
  all.solution_norm = std::sqrt(x2);
  return all;
}

double global_norm(MPI_Comm c, const std::vector<double>& local) {
  double s = 0;
  for (double v : local) s += v * v;
  distributed::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, c),
                         "MPI_Allreduce");
  return std::sqrt(s);
}

int run_deconv(const Flags& f, Context& ctx) {
  const MPI_Comm c = comm();
  const int rank = distributed::rank_of(c);
  std::optional<NpyInput> truth, weight, bias, observed;
  std::optional<LayerDescription> layer;
  LsqOptions options;
  bool float32 = false;
  distributed::collectively(c, [&] {
    truth = npy_input(f.data.input);
    weight = npy_input(f.data.weight);
    bias = npy_input(f.data.bias);
    observed = npy_input(f.observed);
    if (!weight) throw UsageError("deconv needs --weight W.npy (the layer's weight)");
    if (!observed) throw UsageError("deconv needs --observed Y.npy (the layer's output to invert)");
    options = solver_options(f.solver);
    layer = mpi_layer_from(f.layer, f.data, truth, weight, bias);
    if (observed->header.shape != layer->output_shape) {
      throw UsageError(observed->path + ": shape " + dims_to_tuple(observed->header.shape) +
                       " does not match the layer's output " + dims_to_tuple(layer->output_shape) +
                       " (from the input shape " + dims_to_tuple(layer->input_shape) +
                       " and the weight " + dims_to_tuple(layer->call.spec.weight_shape()) + ")");
    }
    float32 = float32_output(f.dtype, {&observed, &weight, &bias});
  });
  require_same_on_every_rank(layer_fingerprint(*layer, {&truth, &weight, &bias, &observed}));
  const ConvSpec& s = layer->call.spec;
  const Index batch = layer->call.batch;
  const MemoryLimit limit = rank_memory_limit(f.max_memory);
  const distributed::SlabLayout slabs(s, distributed::size_of(c));
  // y and x̂ of every sample, the true x, and LSQR's vectors (a few of each side).
  const Index in_local = slabs.input().local_size(rank),
              out_local = slabs.output().local_size(rank);
  const auto vector_bytes =
      static_cast<std::uint64_t>(8 * (batch * (out_local + (truth ? 2 : 1) * in_local) +
                                      4 * (in_local + out_local) + s.weight_numel()));
  distributed::require_rank_memory(c, limit, slabs, vector_bytes);
  distributed::collectively(c, [&] {
    weight->load(ctx);
    if (bias) bias->load(ctx);
  });

  const DistributedConvMatrix m(c, s, weight->data.data(), limit);
  std::vector<double> y =
      read_slab(c, observed->path, observed->header, m.layout_of(Side::output), batch);
  std::vector<double> t;
  if (truth) t = read_slab(c, truth->path, truth->header, m.layout_of(Side::input), batch);
  if (bias && out_local > 0) {
    const Index per_channel = out_local / s.out_channels();
    for (Index n = 0; n < batch; ++n)
      for (Index ch = 0; ch < s.out_channels(); ++ch)
        for (Index i = 0; i < per_channel; ++i)
          y[static_cast<std::size_t>(n * out_local + ch * per_channel + i)] -=
              bias->data[static_cast<std::size_t>(ch)];
  }
  const double norm_y = global_norm(c, y);

  std::vector<double> x(static_cast<std::size_t>(batch * in_local));
  std::vector<LsqInfo> infos;
  double truth_residual2 = 0;
  {
    const auto xv = m.create_input(), yv = m.create_output();
    for (Index n = 0; n < batch; ++n) {
      DistributedConvMatrix::set_local(yv, y.data() + n * out_local);
      infos.push_back(distributed::deconvolve(m, yv, xv, options));
      DistributedConvMatrix::get_local(xv, x.data() + n * in_local);
      if (truth) {  // |M t - y| for this sample
        const auto mt = m.create_output();
        DistributedConvMatrix::set_local(xv, t.data() + n * in_local);
        m.apply(xv, mt);
        PetscReal r = 0;
        distributed::check_petsc(VecAXPY(mt, -1.0, yv), "VecAXPY");
        distributed::check_petsc(VecNorm(mt, NORM_2, &r), "VecNorm");
        truth_residual2 += r * r;
      }
    }
  }
  const LsqInfo info = combine(infos, norm_y);
  const bool converged = info.status == LsqStatus::success;
  double error = 0, truth_residual = std::sqrt(truth_residual2);
  if (truth) {
    std::vector<double> d(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) d[i] = x[i] - t[i];
    const double norm_t = global_norm(c, t), norm_d = global_norm(c, d);
    error = norm_t > 0 ? norm_d / norm_t : norm_d;
    truth_residual = norm_y > 0 ? truth_residual / norm_y : truth_residual;
  }

  // Written for success and the iterative limits (the last iterate), as convmat deconv does.
  const bool usable = info.status == LsqStatus::success ||
                      info.status == LsqStatus::iteration_limit ||
                      info.status == LsqStatus::condition_limit;
  std::string written;
  if (f.output && usable) {
    SlabOutput file(c, *f.output, layer->input_shape, float32);
    file.write(m.layout_of(Side::input), batch, x.data());
    file.commit();
    written = file.target();
  }

  const Index rows = s.output_numel(), cols = s.input_numel();
  const Index limit_iterations = iteration_limit(options, cols);
  if (f.json) {
    Json j{{"op", layer->op},
           {"layer", s.to_string()},
           {"layer_is", s.is_transposed() ? "W^T" : "W"},
           {"damp", options.damp},
           {"converged", converged},
           {"rows", rows},
           {"cols", cols},
           {"samples", batch}};
    add_fields(j, info);
    j["atol"] = options.atol;
    j["btol"] = options.btol;
    j["conlim"] = options.conlim;
    j["iteration_limit"] = limit_iterations;
    if (truth) {
      j["error_vs_input"] = error;
      j["input_residual"] = truth_residual;
    }
    j["output"] = written.empty() ? Json(nullptr) : Json(written);
    j["shape"] = layer->input_shape;
    j["dtype"] = float32 ? "float32" : "float64";
    j["ranks"] = distributed::size_of(c);
    emit(ctx, j);
  } else {
    std::ostream& o = ctx.out;
    o << "layer: " << s.to_string() << "\n";
    o << "solve: x = argmin |M x - y|^2"
      << (options.damp > 0 ? " + " + short_number(options.damp) + "^2 |x|^2" : "")
      << " with M = " << (s.is_transposed() ? "W^T" : "W") << " (" << rows << " x " << cols
      << "), for " << batch << (batch == 1 ? " sample" : " samples")
      << (bias ? " (y minus the bias)" : "") << ", by lsqr (KSPLSQR) over "
      << distributed::size_of(c) << " ranks\n";
    o << "iterations: " << info.iterations << " (limit " << limit_iterations << " per sample; atol "
      << short_number(options.atol) << ", btol " << short_number(options.btol) << ", conlim "
      << short_number(options.conlim) << ")\n";
    o << "stop: " << to_string(info.status)
      << (info.stop_code >= 0 ? " (istop " + std::to_string(info.stop_code) + ")" : "") << ": "
      << info.message << "\n";
    o << "residual: |y - M x| = " << short_number(info.residual_norm) << ", relative "
      << short_number(info.relative_residual) << "; |M^T(y - M x)"
      << (options.damp > 0 ? " - damp^2 x" : "")
      << "| = " << short_number(info.normal_residual_norm) << "\n";
    if (info.condition_estimate > 0)
      o << "condition estimate: " << short_number(info.condition_estimate) << "\n";
    if (truth) {
      o << "against " << truth->path << ": |x - input| / |input| = " << short_number(error)
        << " (|M input - y| / |y| = " << short_number(truth_residual) << ")\n";
    }
    if (!written.empty()) {
      o << "wrote " << written << ": " << dims_to_tuple(layer->input_shape) << " "
        << (float32 ? "float32" : "float64") << (converged ? "" : " (the last iterate)") << "\n";
    } else if (f.output) {
      o << "nothing written to " << *f.output << "\n";
    }
    if (!converged)
      o << "result: did not converge (exit status 1): raise --max-iterations or --conlim, loosen "
           "--atol/--btol, or add --damp\n";
  }
  return converged ? exit_ok : exit_not_converged;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_input_shape);
  add_data_options(sub, f->data, data_weight | data_bias);
  add_observed(sub, f->observed);
  add_output(sub, f->output);
  add_solver_options(sub, f->solver);
  add_dtype(sub, f->dtype);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_deconv(*f, ctx); };
}

}  // namespace

const CommandDecl deconv_command{
    "deconv", "recover a layer's input from its output by LSQR (KSPLSQR) on the distributed W",
    declare};

}  // namespace convmat::cli::mpi

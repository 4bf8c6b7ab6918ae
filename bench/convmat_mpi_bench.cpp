// convmat_mpi_bench: times the distributed W for bench/run_mpi.py, one JSON object per line on
// rank 0's stdout.
//
//   convmat_mpi_bench serial      LAYER --threads T --reps R --lsqr-iterations K
//   mpirun -n P convmat_mpi_bench distributed LAYER --reps R --lsqr-iterations K
//   convmat_mpi_bench model       LAYER --ranks P     (the layout's figures for P ranks, no build)
//   LAYER: --kind conv|transposed --in C --out C --size N[xN..] --kernel K --stride S --pad P
//
// Both build the layer's W in double (PETSc's scalar) from the integer data of bench_common.hpp,
// time the build, W·x and Wᵀ·y (the layer and its adjoint; per repetition, the slowest rank's
// time) and K iterations of LSQR (serial: LsqrSolver; distributed: KSPLSQR with convmat's stopping
// rules, atol = btol = conlim = 0 so that exactly K run), and report the checksums of W·x and
// Wᵀ·y, which must agree exactly between the two. The distributed run also reports per rank: its
// nonzeros, the halo the layout counts (values received and sent per product), the bytes it
// actually sent in one W·x and one Wᵀ·y (PETSc's message counters, the figures -log_view
// prints), its peak resident memory and its memory before the build, and the memory guard's
// estimate of its share. PETSc's own options (-log_view) go in the PETSC_OPTIONS environment
// variable.

#include <mpi.h>
#include <omp.h>
#include <petsclog.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/lsqr.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "convmat/solve/iterative_lsq.hpp"

using namespace convmat;
using namespace convmat::bench;
using namespace convmat::distributed;

namespace {

constexpr const char* usage =
    "usage: convmat_mpi_bench serial|distributed LAYER --reps R --lsqr-iterations K "
    "[--threads T], or convmat_mpi_bench model LAYER --ranks P";

// Current resident memory of this process, bytes (/proc/self/statm's second field).
double resident_bytes() {
  std::ifstream f("/proc/self/statm");
  double pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * 4096.0;
}

LsqOptions exactly(Index iterations) {
  LsqOptions o;
  o.atol = o.btol = o.conlim = 0;
  o.iteration_limit = iterations;
  return o;
}

void serial_run(const Args& args) {
  const ConvSpec spec = layer(args);
  const int threads = static_cast<int>(args.integer("threads", "2"));
  omp_set_num_threads(threads);
  const Index reps = args.integer("reps", "5"), iterations = args.integer("lsqr-iterations", "10");
  const std::vector<double> w = weight_data<double>(spec.weight_numel());
  std::vector<double> x(static_cast<std::size_t>(spec.input_numel()));
  std::vector<double> y(static_cast<std::size_t>(spec.output_numel()));
  for (Index j = 0; j < spec.input_numel(); ++j) x[static_cast<std::size_t>(j)] = input_value(j);
  for (Index j = 0; j < spec.output_numel(); ++j) y[static_cast<std::size_t>(j)] = input_value(j);
  std::vector<double> t_build, t_wx, t_wty;
  auto t0 = Clock::now();
  ConvMatrix<double> m(spec, w.data());
  t_build.push_back(seconds_since(t0));
  std::vector<double> mx(y.size()), mty(x.size());
  for (Index r = 0; r < reps; ++r) {
    t0 = Clock::now();
    m.apply(x.data(), mx.data());
    t_wx.push_back(seconds_since(t0));
    t0 = Clock::now();
    m.apply_adjoint(y.data(), mty.data());
    t_wty.push_back(seconds_since(t0));
  }
  const ConvOperator<double> op(m);
  LsqrSolver<double> solver(op, exactly(iterations));
  const Eigen::Map<const Eigen::VectorXd> b(mx.data(), static_cast<Index>(mx.size()));
  t0 = Clock::now();
  solver.solve(b);
  const double t_lsqr = seconds_since(t0);
  emit({{"command", quoted("serial")},
        {"threads", num(threads)},
        {"nnz", num(double(m.nnz()))},
        {"w_bytes", num(double(conv_matrix_bytes(spec, sizeof(double))))},
        {"build_seconds", json_list(t_build)},
        {"wx_seconds", json_list(t_wx)},
        {"wty_seconds", json_list(t_wty)},
        {"lsqr_iterations", num(double(solver.iterations()))},
        {"lsqr_seconds", num(t_lsqr)},
        {"wx_checksum", checksum(mx.data(), static_cast<Index>(mx.size()))},
        {"wty_checksum", checksum(mty.data(), static_cast<Index>(mty.size()))},
        {"peak_rss_bytes", num(peak_rss_bytes())}});
}

// The slowest rank's seconds for f() (all ranks start together).
template <class F>
double timed(MPI_Comm comm, F&& f) {
  MPI_Barrier(comm);
  const auto t0 = Clock::now();
  f();
  double t = seconds_since(t0), slowest = 0;
  MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
  return slowest;
}

std::vector<double> gathered(MPI_Comm comm, double v) {
  std::vector<double> all(static_cast<std::size_t>(size_of(comm)));
  MPI_Gather(&v, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, comm);
  return all;
}

// This rank's slab of the sample filled by input_value over convmat's (natural) index.
void fill_local(Vec v, const VectorLayout& l, int rank) {
  PetscScalar* a = nullptr;
  VecGetArray(v, &a);
  for (Index i = 0; i < l.local_size(rank); ++i)
    a[i] = input_value(l.natural_index(l.offset(rank) + i));
  VecRestoreArray(v, &a);
}

void distributed_run(const Args& args) {
  const MPI_Comm comm = PETSC_COMM_WORLD;
  const int rank = rank_of(comm);
  const ConvSpec spec = layer(args);
  omp_set_num_threads(1);
  const Index reps = args.integer("reps", "5"), iterations = args.integer("lsqr-iterations", "10");
  const std::vector<double> w = weight_data<double>(spec.weight_numel());
  const double rss_before = resident_bytes();
  std::vector<double> t_build, t_wx, t_wty;
  DistributedConvMatrix* m = nullptr;
  t_build.push_back(timed(comm, [&] { m = new DistributedConvMatrix(comm, spec, w.data()); }));
  const SlabLayout& l = m->layout();
  Owned<Vec> x = m->create_input(), y = m->create_output();
  Owned<Vec> mx = m->create_output(), mty = m->create_input();
  fill_local(x, l.input(), rank);
  fill_local(y, l.output(), rank);
  m->apply(x, mx);  // the first products set up PETSc's persistent requests
  m->apply_adjoint(y, mty);
  const PetscLogDouble before_wx = petsc_isend_len + petsc_send_len;
  m->apply(x, mx);
  const PetscLogDouble wx_bytes = petsc_isend_len + petsc_send_len - before_wx;
  const PetscLogDouble before_wty = petsc_isend_len + petsc_send_len;
  m->apply_adjoint(y, mty);
  const PetscLogDouble wty_bytes = petsc_isend_len + petsc_send_len - before_wty;
  for (Index r = 0; r < reps; ++r) {
    t_wx.push_back(timed(comm, [&] { m->apply(x, mx); }));
    t_wty.push_back(timed(comm, [&] { m->apply_adjoint(y, mty); }));
  }
  Owned<Vec> solution = m->create_input();
  LsqInfo info;
  const double t_lsqr =
      timed(comm, [&] { info = deconvolve(*m, mx, solution, exactly(iterations)); });

  // The checksums over the natural order, on rank 0.
  std::vector<double> full_mx(rank == 0 ? static_cast<std::size_t>(spec.output_numel()) : 0);
  std::vector<double> full_mty(rank == 0 ? static_cast<std::size_t>(spec.input_numel()) : 0);
  m->gather(DistributedConvMatrix::Side::output, mx, full_mx.data());
  m->gather(DistributedConvMatrix::Side::input, mty, full_mty.data());

  const HaloCount h = l.halo(rank);
  const auto local_nnz = gathered(comm, double(m->local_nnz()));
  const auto received = gathered(comm, double(h.received));
  const auto sent = gathered(comm, double(h.sent));
  const auto sent_wx = gathered(comm, wx_bytes);
  const auto sent_wty = gathered(comm, wty_bytes);
  const auto peak = gathered(comm, peak_rss_bytes());
  const auto start = gathered(comm, rss_before);
  const auto estimate = gathered(comm, double(rank_matrix_bytes(l, rank)));
  if (rank == 0) {
    emit({{"command", quoted("distributed")},
          {"ranks", num(size_of(comm))},
          {"nnz", num(double(m->nnz()))},
          {"w_bytes", num(double(conv_matrix_bytes(spec, sizeof(double))))},
          {"interface_halo", num(double(l.interface_halo()))},
          {"build_seconds", json_list(t_build)},
          {"wx_seconds", json_list(t_wx)},
          {"wty_seconds", json_list(t_wty)},
          {"lsqr_iterations", num(double(info.iterations))},
          {"lsqr_seconds", num(t_lsqr)},
          {"wx_checksum", checksum(full_mx.data(), spec.output_numel())},
          {"wty_checksum", checksum(full_mty.data(), spec.input_numel())},
          {"local_nnz", json_list(local_nnz)},
          {"halo_received", json_list(received)},
          {"halo_sent", json_list(sent)},
          {"wx_bytes_sent", json_list(sent_wx)},
          {"wty_bytes_sent", json_list(sent_wty)},
          {"peak_rss_bytes", json_list(peak)},
          {"start_rss_bytes", json_list(start)},
          {"rank_matrix_bytes", json_list(estimate)}});
  }
  delete m;
}

// The layout's figures for P ranks, counted from the spec alone (nothing is built): W's size,
// the largest share, the halo, and whether the shares fit PETSc's 32-bit indices.
void model_run(const Args& args) {
  const ConvSpec spec = layer(args);
  const int ranks = static_cast<int>(args.integer("ranks"));
  const SlabLayout l(spec, ranks);
  double max_bytes = 0, max_nnz = 0, max_sent = 0, max_received = 0, max_in = 0, max_out = 0;
  for (int p = 0; p < ranks; ++p) {
    max_in = std::max(max_in, double(l.input().local_size(p)));
    max_out = std::max(max_out, double(l.output().local_size(p)));
    const HaloCount h = l.halo(p);
    max_bytes = std::max(max_bytes, double(rank_matrix_bytes(l, p)));
    max_nnz = std::max(max_nnz, double(l.local_nnz(p)));
    max_sent = std::max(max_sent, double(h.sent));
    max_received = std::max(max_received, double(h.received));
  }
  emit({{"command", quoted("model")},
        {"ranks", num(ranks)},
        {"nnz", num(double(conv_matrix_nnz(spec)))},
        {"w_bytes", num(double(conv_matrix_bytes(spec, sizeof(double))))},
        {"rows", num(double(l.rows().size()))},
        {"cols", num(double(l.cols().size()))},
        {"positions", num(double(l.rows().positions()))},
        {"interface_halo", num(double(l.interface_halo()))},
        {"max_rank_matrix_bytes", num(max_bytes)},
        {"max_local_nnz", num(max_nnz)},
        {"max_halo_sent", num(max_sent)},
        {"max_halo_received", num(max_received)},
        {"max_local_input", num(max_in)},
        {"max_local_output", num(max_out)}});
}

}  // namespace

int main(int argc, char** argv) {
  Session session(nullptr, nullptr);  // PETSc's options from PETSC_OPTIONS
  try {
    const Args args = parse(argc, argv, usage);
    if (args.command == "serial") {
      serial_run(args);
    } else if (args.command == "distributed") {
      distributed_run(args);
    } else if (args.command == "model") {
      model_run(args);
    } else {
      throw std::invalid_argument(usage);
    }
  } catch (const std::exception& e) {
    std::cerr << "convmat_mpi_bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

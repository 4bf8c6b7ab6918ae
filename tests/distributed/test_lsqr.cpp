// KSPLSQR with convmat's stopping rules (convmat/distributed/lsqr.hpp), under mpirun with 1, 2 and
// 3 ranks, against the serial LSQR (LsqrSolver) on the same problems: the benchmark's
// deconvolution problem (a 7×7 Gaussian on an N×N image, consistent y = W x; N = 48 here, 128 in
// the benchmark — CONVMAT_LSQR_SIZE=128 runs that one), with damping, a condition limit and an
// iteration limit, a transposed layer, the adjoint, x = 0 answers, and bad input on one rank.
#define BOOST_TEST_MODULE distributed_lsqr
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/lsqr.hpp"
#include "convmat/solve/deconvolve.hpp"
#include "mpi_fixture.hpp"
#include "test_util.hpp"

using namespace convmat;
using namespace convmat::distributed;
using Side = DistributedConvMatrix::Side;

BOOST_TEST_GLOBAL_FIXTURE(MpiSession);

namespace {

MPI_Comm world() { return PETSC_COMM_WORLD; }

// The benchmark's problem (bench/convmat_bench.cpp, lsq): an N×N input, a 7×7 Gaussian (σ = 1)
// normalized to sum 1, no padding; x uniform in [0, 1) from splitmix64 with seed 3; y = W x.
struct Deconvolution {
  ConvSpec spec;
  std::vector<double> kernel, x, y;
};

Deconvolution deconvolution_problem(Index n) {
  Deconvolution p{ConvSpec::convolution(1, 1, {n, n}, {7, 7}), std::vector<double>(49), {}, {}};
  double sum = 0;
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < 7; ++j) {
      const double d2 = double((i - 3) * (i - 3) + (j - 3) * (j - 3));
      sum += p.kernel[std::size_t(i * 7 + j)] = std::exp(-d2 / 2);
    }
  }
  for (double& k : p.kernel) k /= sum;
  std::uint64_t state = 3;
  for (Index i = 0; i < n * n; ++i) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    p.x.push_back(double(z >> 11) * 0x1.0p-53);
  }
  p.y.resize(static_cast<std::size_t>(p.spec.output_numel()));
  ConvMatrix<double>(p.spec, p.kernel.data()).apply(p.x.data(), p.y.data());
  return p;
}

Index problem_size() {
  const char* env = std::getenv("CONVMAT_LSQR_SIZE");
  return env ? std::atoll(env) : 48;
}

// How closely the two solves must agree. LSQR's recurrences amplify rounding once the Krylov
// vectors lose orthogonality (after a few dozen iterations on these problems); before that the
// two runs are the same computation in a different summation order, after it they drift apart
// like any two implementations (convmat's LSQR and SciPy's differ by 20 of 21 288 iterations on
// the benchmark's problem). `exact`: a solve that stops before — the same iterations (within
// one), the residual estimates of every iteration and the recomputed residuals within 1e-12 of
// ‖b‖, the solutions within 1e-10. Otherwise: the same stop code, iteration counts within 2 %.
enum class Agreement { exact, drift };

// Serial LSQR and KSPLSQR on M x = b (adjoint: Mᵀ y = b), M the layer of spec and weight.
// Returns KSPLSQR's stop code.
int compare(const ConvSpec& spec, const std::vector<double>& weight, const std::vector<double>& b,
            const LsqOptions& o, bool adjoint, Agreement agreement) {
  const ConvMatrix<double> serial(spec, weight.data());
  const Eigen::Map<const Eigen::VectorXd> rhs(b.data(), static_cast<Index>(b.size()));
  const LsqResult<double> s = adjoint ? deconvolve_adjoint(serial, rhs, LsqMethod::lsqr, o)
                                      : deconvolve(serial, rhs, LsqMethod::lsqr, o);

  const DistributedConvMatrix d(world(), spec, weight.data());
  const Side in = adjoint ? Side::input : Side::output, out = adjoint ? Side::output : Side::input;
  Owned<Vec> bv = adjoint ? d.create_input() : d.create_output();
  Owned<Vec> xv = adjoint ? d.create_output() : d.create_input();
  d.scatter(in, d.rank() == 0 ? b.data() : nullptr, bv);
  const LsqInfo info = adjoint ? deconvolve_adjoint(d, bv, xv, o) : deconvolve(d, bv, xv, o);
  std::vector<double> x(static_cast<std::size_t>(s.x.rows()));
  d.gather(out, xv, x.data());

  const double bnorm = rhs.norm();
  BOOST_TEST_CONTEXT(spec.to_string()
                     << " damp " << o.damp << " conlim " << o.conlim << " btol " << o.btol
                     << (adjoint ? " adjoint" : "") << "\nserial: " << s.info.message << ", "
                     << s.info.iterations << " iterations\nKSPLSQR: " << info.message << ", "
                     << info.iterations << " iterations") {
    BOOST_TEST(info.method == LsqMethod::lsqr);
    BOOST_TEST(info.stop_code == s.info.stop_code);
    BOOST_TEST(info.status == s.info.status);
    BOOST_TEST(info.message == s.info.message);
    BOOST_TEST_REQUIRE(info.residual_history.size() == 1u);
    const std::vector<double>& h = info.residual_history[0];
    BOOST_TEST(static_cast<Index>(h.size()) == info.iterations + 1);
    if (agreement == Agreement::drift) {
      BOOST_TEST(std::abs(info.iterations - s.info.iterations) <= 0.02 * s.info.iterations + 1);
      return info.stop_code;
    }
    BOOST_TEST(std::abs(info.iterations - s.info.iterations) <= 1);
    const std::vector<double>& hs = s.info.residual_history[0];
    for (std::size_t k = 0; k < std::min(h.size(), hs.size()); ++k) {
      BOOST_TEST_CONTEXT("iteration " << k) { BOOST_TEST(std::abs(h[k] - hs[k]) <= 1e-12 * bnorm); }
    }
    BOOST_TEST(std::abs(info.residual_norm - s.info.residual_norm) <= 1e-12 * bnorm);
    BOOST_TEST(std::abs(info.relative_residual - s.info.relative_residual) <= 1e-12);
    BOOST_TEST(std::abs(info.solution_norm - s.info.solution_norm) <= 1e-10 * s.info.solution_norm);
    if (d.rank() == 0) {
      const Eigen::Map<const Eigen::VectorXd> xd(x.data(), static_cast<Index>(x.size()));
      BOOST_TEST((xd - s.x.col(0)).norm() <= 1e-10 * s.x.col(0).norm());
    }
  }
  return info.stop_code;
}

}  // namespace

BOOST_AUTO_TEST_CASE(benchmark_deconvolution_matches_serial_lsqr) {
  // The benchmark's options: a consistent system solved to a relative residual btol.
  LsqOptions o;
  o.atol = 0;
  o.conlim = 0;
  o.iteration_limit = 1000000;
  // To 1e-2: 18 iterations, before orthogonality is lost — the same run.
  const Deconvolution p = deconvolution_problem(problem_size());
  o.btol = 1e-2;
  BOOST_TEST(compare(p.spec, p.kernel, p.y, o, false, Agreement::exact) == 1);
  // To the benchmark's 1e-8 on a 24×24 image (about 2 200 iterations; 48×48 takes 14 700).
  const Deconvolution small = deconvolution_problem(24);
  o.btol = 1e-8;
  BOOST_TEST(compare(small.spec, small.kernel, small.y, o, false, Agreement::drift) == 1);
}

BOOST_AUTO_TEST_CASE(damping_condition_and_iteration_limits_match_serial_lsqr) {
  const Deconvolution p = deconvolution_problem(24);
  LsqOptions damped;  // SciPy's defaults with λ = 0.3: the least-squares test (istop 2)
  damped.damp = 0.3;
  BOOST_TEST(compare(p.spec, p.kernel, p.y, damped, false, Agreement::exact) == 2);
  LsqOptions conditioned;  // stops when the estimate of cond(W) passes 20 (istop 3)
  conditioned.atol = conditioned.btol = 1e-14;
  conditioned.conlim = 20;
  BOOST_TEST(compare(p.spec, p.kernel, p.y, conditioned, false, Agreement::exact) == 3);
  LsqOptions limited;  // istop 7 after 9 iterations
  limited.iteration_limit = 9;
  BOOST_TEST(compare(p.spec, p.kernel, p.y, limited, false, Agreement::exact) == 7);
}

BOOST_AUTO_TEST_CASE(transposed_layers_and_the_adjoint_match_serial_lsqr) {
  // A transposed layer with channels, stride and groups (tall: full column rank), its adjoint,
  // and a convolution's adjoint, on integer weights and right-hand sides.
  const ConvSpec t = ConvSpec::transposed(4, 2, {9, 7}, {3, 3}, {2, 1}, {1, 0}, {1, 0}, 2);
  const ConvSpec c = ConvSpec::convolution(2, 3, {11, 6}, {3, 2}, {1, 2}, {1, 0});
  for (const ConvSpec& spec : {t, c}) {
    const auto w = test::integer_tensor<double>(spec.weight_numel());
    const auto y = test::integer_tensor<double>(spec.output_numel());
    const auto g = test::integer_tensor<double>(spec.input_numel());
    LsqOptions o;
    o.atol = o.btol = 1e-3;
    compare(spec, w, y, o, false, Agreement::exact);
    compare(spec, w, g, o, true, Agreement::exact);
    o.atol = o.btol = 1e-10;
    compare(spec, w, y, o, false, Agreement::drift);
    compare(spec, w, g, o, true, Agreement::drift);
  }
}

BOOST_AUTO_TEST_CASE(zero_right_hand_sides_are_answered_by_x_zero) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {6}, {3});
  const std::vector<double> w{1, 2, 3};
  const DistributedConvMatrix d(world(), spec, w.data());
  Owned<Vec> y = d.create_output(), x = d.create_input();
  const LsqInfo zero = deconvolve(d, y, x, {});
  BOOST_TEST(zero.stop_code == 0);
  BOOST_TEST(zero.status == LsqStatus::success);
  BOOST_TEST(zero.iterations == 0);
  BOOST_TEST(zero.solution_norm == 0.0);
  // Wᵀb = 0 for b ≠ 0: a layer whose weight is zero.
  const std::vector<double> none{0, 0, 0};
  const DistributedConvMatrix z(world(), spec, none.data());
  BOOST_TEST_REQUIRE(VecSet(y, 1.0) == 0);
  const LsqInfo orthogonal = deconvolve(z, y, x, {});
  BOOST_TEST(orthogonal.stop_code == 0);
  BOOST_TEST(orthogonal.relative_residual == 1.0);
}

BOOST_AUTO_TEST_CASE(bad_input_fails_on_every_rank) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {12}, {3});
  const std::vector<double> w{1, 2, 1};
  const DistributedConvMatrix d(world(), spec, w.data());
  Owned<Vec> y = d.create_output(), x = d.create_input();
  BOOST_TEST_REQUIRE(VecSet(y, 1.0) == 0);
  LsqOptions negative;
  negative.damp = -1;
  test::expect_error([&] { deconvolve(d, y, x, negative); }, "damp must be finite and >= 0");
  // A NaN in the last rank's part of y: every rank fails with that rank's message.
  const int last = size_of(world()) - 1;
  if (d.rank() == last) {
    PetscInt first = 0, end = 0;
    BOOST_TEST_REQUIRE(VecGetOwnershipRange(y, &first, &end) == 0);
    BOOST_TEST_REQUIRE(VecSetValue(y, end - 1, NAN, INSERT_VALUES) == 0);
  }
  BOOST_TEST_REQUIRE(VecAssemblyBegin(y) == 0);
  BOOST_TEST_REQUIRE(VecAssemblyEnd(y) == 0);
  test::expect_error([&] { deconvolve(d, y, x, {}); },
                     (last > 0 ? "rank " + std::to_string(last) + ": " : std::string()) +
                         "lsqr: b must be finite, got b(9) = nan");
  // x of the output's layout instead of the input's.
  Owned<Vec> wrong = d.create_output();
  BOOST_TEST_REQUIRE(VecSet(y, 1.0) == 0);
  test::expect_error([&] { deconvolve(d, y, wrong, {}); }, "x its column layout");
}

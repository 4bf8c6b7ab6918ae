// Least squares: every method (QR, Cholesky, LSQR, LSMR) through one shared check on random
// problems — tall, wide, square, rank deficient, damped; float and double — against a dense
// reference; then the solver objects' own promises and the input rules.
//
// Tolerance, stated once: a solution is right when
//   ‖x − x_ref‖ <= tolerance<S>(A) · ‖x_ref‖,   tolerance = 32 · ε_S · max(m, n) · κ²
// with κ the condition number of the problem actually solved (of A restricted to its rank, or of
// [A; λI]): the normal equations and LSQR/LSMR's stopping rules bound the error by ε·κ², and QR
// is better (ε·κ). Problems are drawn with κ <= 100.
#define BOOST_TEST_MODULE lsq
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "convmat/solve/lsq.hpp"
#include "test_util.hpp"

using namespace convmat;
using DenseD = Eigen::MatrixXd;

namespace {

template <class S>
using Sparse = Eigen::SparseMatrix<S, Eigen::RowMajor, int>;

// A random problem with integer-valued A and B, so the float and double copies hold the same
// numbers and a rank deficiency built in is exact in both.
struct Problem {
  std::string name;
  DenseD a, b;
  double damp = 0;
  Index rank = 0;    // of A, from the dense SVD
  double kappa = 1;  // condition number of the problem solved ([A; λI] when damped)
};

DenseD random_integer(Index m, Index n, double density) {
  std::bernoulli_distribution keep(density);
  DenseD d = DenseD::Zero(m, n);
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < n; ++j) {
      if (keep(test::rng())) d(i, j) = double(test::uniform(1, 3)) * (test::uniform(0, 1) ? 1 : -1);
    }
  }
  return d;
}

// Singular values of A, the numerical rank (σ > max(m, n)·ε·σ₁·16: A's entries are integers, so
// an exact rank deficiency shows as σ ~ ε·σ₁), and the condition number of what is solved.
void analyze(Problem& p) {
  const Eigen::JacobiSVD<DenseD> svd(p.a);
  const Eigen::VectorXd s = svd.singularValues();
  const double cut =
      double(std::max(p.a.rows(), p.a.cols())) * std::numeric_limits<double>::epsilon() * s(0) * 16;
  p.rank = 0;
  while (p.rank < s.size() && s(p.rank) > cut) ++p.rank;
  if (p.damp > 0) {
    // [A; λI] has singular values √(σᵢ² + λ²), i = 1 … n (σᵢ = 0 past the rank).
    const double smallest = p.rank < p.a.cols() ? 0.0 : s(p.rank - 1);
    p.kappa =
        std::sqrt(s(0) * s(0) + p.damp * p.damp) / std::sqrt(smallest * smallest + p.damp * p.damp);
  } else {
    p.kappa = p.rank > 0 ? s(0) / s(p.rank - 1) : 1;
  }
}

enum class Shape { tall, wide, square };

// Sizes 1 … 40; rank-deficient ones as the product of two integer factors through rank r.
Problem random_problem(Shape shape, bool deficient, bool damped) {
  for (;;) {
    Problem p;
    Index m = test::uniform(1, 40), n = test::uniform(1, 40);
    if (shape == Shape::tall && m < n) std::swap(m, n);
    if (shape == Shape::wide && m > n) std::swap(m, n);
    if (shape == Shape::square) n = m;
    if (deficient && std::min(m, n) < 2) continue;
    if (deficient) {
      const Index r = test::uniform(1, std::min(m, n) - 1);
      p.a = random_integer(m, r, 0.5) * random_integer(r, n, 0.5);
    } else {
      p.a = random_integer(m, n, test::uniform(1, 5) / 10.0);
    }
    if (p.a.isZero()) continue;
    p.b = DenseD::NullaryExpr(m, test::uniform(1, 3), [] { return double(test::uniform(-5, 5)); });
    p.damp = damped ? double(test::uniform(1, 20)) / 10 : 0;
    analyze(p);
    if (deficient && p.rank == std::min(m, n)) continue;
    if (!deficient && p.rank < std::min(m, n)) continue;
    if (p.kappa > 100) continue;
    p.name = std::string(shape == Shape::tall   ? "tall"
                         : shape == Shape::wide ? "wide"
                                                : "square") +
             (deficient ? " rank-deficient" : "") + (damped ? " damped" : "") + " " +
             std::to_string(m) + "x" + std::to_string(n) + " rank " + std::to_string(p.rank) +
             " λ " + std::to_string(p.damp) + " κ " + std::to_string(p.kappa);
    return p;
  }
}

// The dense reference: the minimum-norm least-squares solution (complete orthogonal
// decomposition) for λ = 0, the stacked full-rank system [A; λI] x ≈ [b; 0] otherwise.
DenseD reference(const Problem& p) {
  if (p.damp == 0) {
    Eigen::CompleteOrthogonalDecomposition<DenseD> cod;
    cod.setThreshold(1e-10);  // κ <= 100 and exact zeros otherwise: any cut in between works
    cod.compute(p.a);
    BOOST_TEST_REQUIRE(cod.rank() == p.rank);
    return cod.solve(p.b);
  }
  const Index m = p.a.rows(), n = p.a.cols();
  DenseD stacked(m + n, n), rhs = DenseD::Zero(m + n, p.b.cols());
  stacked << p.a, p.damp * DenseD::Identity(n, n);
  rhs.topRows(m) = p.b;
  return stacked.householderQr().solve(rhs);
}

template <class S>
double tolerance(const Problem& p) {
  return 32 * double(std::numeric_limits<S>::epsilon()) * double(std::max(p.a.rows(), p.a.cols())) *
         p.kappa * p.kappa;
}

// Whether `method` can solve `p` at all: Cholesky without damping needs AᵀA (tall) or A Aᵀ
// (wide) positive definite — full rank.
bool cholesky_can(const Problem& p) {
  return p.damp > 0 || p.rank == std::min(p.a.rows(), p.a.cols());
}

// THE shared check: one method on one problem in precision S, through lstsq.
template <class S>
void check_method(const Problem& p, LsqMethod method, const DenseD& x_ref) {
  const Index m = p.a.rows(), n = p.a.cols();
  Sparse<S> a = p.a.cast<S>().sparseView();
  a.makeCompressed();
  const DenseMatrix<S> b = p.b.cast<S>();
  LsqOptions o;
  o.damp = p.damp;
  o.atol = o.btol = double(std::numeric_limits<S>::epsilon());
  o.iteration_limit = 20 * n;
  const auto [x, info] = lstsq(a, b, method, o);
  BOOST_TEST(info.method == method);
  BOOST_TEST(x.rows() == n);
  BOOST_TEST(x.cols() == p.b.cols());
  if (method == LsqMethod::cholesky && !cholesky_can(p)) {
    BOOST_TEST(info.status == LsqStatus::not_positive_definite, info.message);
    BOOST_TEST(x.isZero());
    return;
  }
  BOOST_TEST(info.status == LsqStatus::success, info.message);
  const DenseD xd = x.template cast<double>();
  const double err = (xd - x_ref).norm(), scale = std::max(x_ref.norm(), 1.0);
  BOOST_TEST(err <= tolerance<S>(p) * scale,
             "error " << err << " > tol " << tolerance<S>(p) * scale);
  if (method == LsqMethod::qr) BOOST_TEST(info.rank == (p.damp > 0 ? n : p.rank));
  if (method == LsqMethod::lsqr || method == LsqMethod::lsmr) {
    BOOST_TEST(info.iterations >= 1);
    BOOST_TEST(info.iterations <= 20 * n);
    BOOST_TEST(info.residual_history.size() == std::size_t(p.b.cols()));
    BOOST_TEST(info.residual_history[0].front() == double(b.col(0).norm()),
               boost::test_tools::tolerance(1e-6));
  }
  // The report describes the X returned (recomputed, not the solver's estimates).
  const DenseD r = p.b - p.a * xd;
  const DenseD g = p.a.transpose() * r - p.damp * p.damp * xd;
  const double eps = double(std::numeric_limits<S>::epsilon());
  const double slack = 8 * eps * double(m + n) * (p.a.norm() * xd.norm() + p.b.norm());
  BOOST_TEST(std::abs(info.residual_norm - r.norm()) <= slack);
  BOOST_TEST(std::abs(info.normal_residual_norm - g.norm()) <= slack * p.a.norm());
  BOOST_TEST(std::abs(info.solution_norm - xd.norm()) <= 8 * eps * xd.norm());
}

Sparse<double> to_sparse(const DenseD& d) {
  Sparse<double> s = d.sparseView();
  s.makeCompressed();
  return s;
}

// x, info = result (structured bindings cannot be re-assigned).
template <class X>
void assign(X& x, LsqInfo& info, LsqResult<double> r) {
  x = std::move(r.x);
  info = std::move(r.info);
}

const LsqMethod all_methods[] = {LsqMethod::qr, LsqMethod::cholesky, LsqMethod::lsqr,
                                 LsqMethod::lsmr};

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_check)

BOOST_AUTO_TEST_CASE(every_method_matches_the_dense_reference) {
  int cases = 0;
  for (Shape shape : {Shape::tall, Shape::wide, Shape::square}) {
    for (bool deficient : {false, true}) {
      for (bool damped : {false, true}) {
        for (int draw = 0; draw < 12; ++draw) {
          const Problem p = random_problem(shape, deficient, damped);
          const DenseD x_ref = reference(p);
          for (LsqMethod method : all_methods) {
            BOOST_TEST_CONTEXT(p.name << ", " << to_string(method)) {
              BOOST_TEST_CONTEXT("double") { check_method<double>(p, method, x_ref); }
              BOOST_TEST_CONTEXT("float") { check_method<float>(p, method, x_ref); }
            }
          }
          ++cases;
        }
      }
    }
  }
  BOOST_TEST(cases == 3 * 2 * 2 * 12);
}

// 1×1, a single row, a single column: the edges of every loop.
BOOST_AUTO_TEST_CASE(smallest_shapes) {
  for (auto [m, n] : {std::pair<Index, Index>{1, 1}, {1, 7}, {7, 1}}) {
    Problem p;
    p.a = DenseD::Constant(m, n, 2.0);
    p.b = DenseD::Constant(m, 1, 3.0);
    analyze(p);
    const DenseD x_ref = reference(p);
    for (LsqMethod method : all_methods) {
      BOOST_TEST_CONTEXT(m << "x" << n << ", " << to_string(method)) {
        check_method<double>(p, method, x_ref);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(solver_objects)

// compute once, solve many: the same X as one solve with all the columns.
BOOST_AUTO_TEST_CASE(factor_once_solve_many) {
  const Problem p = random_problem(Shape::tall, true, false);
  const Sparse<double> a = to_sparse(p.a);
  const DenseD b1 = DenseD::Random(p.a.rows(), 2), b2 = DenseD::Random(p.a.rows(), 1);
  DenseD both(p.a.rows(), 3);
  both << b1, b2;
  QrSolver<double> qr(a);
  const DenseD x1 = qr.solve(b1), x2 = qr.solve(b2), x12 = qr.solve(both);
  BOOST_TEST((x12.leftCols(2) - x1).norm() <= 1e-13 * x1.norm());
  BOOST_TEST((x12.rightCols(1) - x2).norm() <= 1e-13 * x2.norm());
  BOOST_TEST(qr.rank() == p.rank);
}

// SuiteSparse has no float: the float solvers copy to double, so they return exactly the double
// solution rounded to float.
BOOST_AUTO_TEST_CASE(float_goes_through_double) {
  for (Shape shape : {Shape::tall, Shape::wide}) {
    const Problem p = random_problem(shape, false, true);
    const Sparse<double> ad = to_sparse(p.a);
    const Sparse<float> af = ad.cast<float>();
    LsqOptions o;
    o.damp = p.damp;
    const DenseMatrix<float> bf = p.b.cast<float>();
    const DenseMatrix<float> qr_f = QrSolver<float>(af, o).solve(bf);
    const DenseMatrix<float> qr_d = QrSolver<double>(ad, o).solve(p.b).cast<float>();
    BOOST_TEST((qr_f == qr_d));
    const DenseMatrix<float> ch_f = CholeskySolver<float>(af, o).solve(bf);
    const DenseMatrix<float> ch_d = CholeskySolver<double>(ad, o).solve(p.b).cast<float>();
    BOOST_TEST((ch_f == ch_d));
  }
}

// analyze once; a new λ or new values with the same pattern refactorize and give what a fresh
// solver gives.
BOOST_AUTO_TEST_CASE(cholesky_refactorizes) {
  const Problem p = random_problem(Shape::tall, false, false);
  Sparse<double> a = to_sparse(p.a);
  CholeskySolver<double> solver(a);
  BOOST_TEST(solver.info() == LsqStatus::success);
  BOOST_TEST(solver.form() == CholeskyForm::normal_equations);
  LsqOptions o;
  o.damp = 0.7;
  solver.set_damping(0.7);
  const DenseD x_damped = solver.solve(p.b);
  BOOST_TEST((x_damped - CholeskySolver<double>(a, o).solve(p.b)).norm() <=
             1e-14 * x_damped.norm());
  Sparse<double> a2 = a;
  for (Index k = 0; k < a2.nonZeros(); ++k) a2.valuePtr()[k] *= 1 + 0.1 * double(k % 3);
  solver.factorize(a2);  // same pattern, new values, damping 0.7 kept
  const DenseD x2 = solver.solve(p.b);
  BOOST_TEST((x2 - CholeskySolver<double>(a2, o).solve(p.b)).norm() <= 1e-14 * x2.norm());
  // A different pattern is refused, naming both.
  Sparse<double> other = to_sparse(DenseD::Identity(p.a.rows(), p.a.cols()));
  BOOST_CHECK_EXCEPTION(solver.factorize(other), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("must have the pattern given to analyze_pattern") !=
           std::string::npos;
  });
}

// The minimum-norm form and the normal equations agree when damped (Tikhonov's identity
// (AᵀA + λ²I)⁻¹Aᵀ = Aᵀ(AAᵀ + λ²I)⁻¹), whichever shape.
BOOST_AUTO_TEST_CASE(cholesky_forms_agree_when_damped) {
  for (Shape shape : {Shape::tall, Shape::wide}) {
    const Problem p = random_problem(shape, true, true);
    const Sparse<double> a = to_sparse(p.a);
    LsqOptions normal, min_norm;
    normal.damp = min_norm.damp = p.damp;
    normal.cholesky_form = CholeskyForm::normal_equations;
    min_norm.cholesky_form = CholeskyForm::min_norm;
    const DenseD x1 = CholeskySolver<double>(a, normal).solve(p.b);
    const DenseD x2 = CholeskySolver<double>(a, min_norm).solve(p.b);
    BOOST_TEST_CONTEXT(p.name) { BOOST_TEST((x1 - x2).norm() <= tolerance<double>(p) * x1.norm()); }
  }
}

BOOST_AUTO_TEST_CASE(iterative_statuses) {
  // diag(1, …, 1, 1e-6): cond 1e6.
  DenseD d = DenseD::Identity(6, 6);
  d(5, 5) = 1e-6;
  d(0, 1) = 0.5;
  const Sparse<double> a = to_sparse(d);
  const EigenSparseOperator op(a);
  const Eigen::VectorXd b = Eigen::VectorXd::Ones(6);
  for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      LsqOptions o;
      o.iteration_limit = 2;
      o.atol = o.btol = 0;
      auto [x, info] = lstsq(op, b, method, o);
      BOOST_TEST(info.status == LsqStatus::iteration_limit);
      BOOST_TEST(info.stop_code == 7);
      BOOST_TEST(info.iterations == 2);
      BOOST_TEST(info.residual_history[0].size() == 3u);  // before, after 1, after 2

      o = LsqOptions{};
      o.atol = o.btol = 0;
      o.conlim = 10;
      assign(x, info, lstsq(op, b, method, o));
      BOOST_TEST(info.status == LsqStatus::condition_limit);
      BOOST_TEST(info.stop_code == 3);
      BOOST_TEST(info.condition_estimate >= 10);

      // b = 0: x = 0 at once (istop 0).
      assign(x, info, lstsq(op, Eigen::VectorXd::Zero(6), method, LsqOptions{}));
      BOOST_TEST(info.status == LsqStatus::success);
      BOOST_TEST(info.stop_code == 0);
      BOOST_TEST(info.iterations == 0);
      BOOST_TEST(x.isZero());

      // The residual estimates never increase for LSQR (‖r_k‖ is monotone, P&S §5).
      o = LsqOptions{};
      assign(x, info, lstsq(op, b, method, o));
      const auto& h = info.residual_history[0];
      if (method == LsqMethod::lsqr) {
        for (std::size_t k = 1; k < h.size(); ++k) BOOST_TEST(h[k] <= h[k - 1] * (1 + 1e-12));
      }
      BOOST_TEST(info.status == LsqStatus::success);
    }
  }
}

// An operator that starts returning NaN: a status, not a hang or a silent answer.
BOOST_AUTO_TEST_CASE(non_finite_operator_output) {
  struct Poisoned final : LinearOperator<double> {
    mutable int calls = 0;
    Index rows() const override { return 3; }
    Index cols() const override { return 2; }
    void apply(const double* x, double* y) const override {
      y[0] = x[0];
      y[1] = x[1];
      y[2] = ++calls > 1 ? std::nan("") : x[0] + x[1];
    }
    void apply_adjoint(const double* y, double* x) const override {
      x[0] = y[0] + y[2];
      x[1] = y[1] + y[2];
    }
  };
  for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
    const Poisoned op;
    const auto [x, info] = lstsq(op, Eigen::Vector3d(1, 2, 4), method);
    BOOST_TEST(info.status == LsqStatus::numerical_issue, info.message);
    BOOST_TEST(info.stop_code == -1);
    BOOST_TEST(info.message.find("NaN or Inf") != std::string::npos);
  }
}

// The progress hook sees every iteration in order, and returning false cancels.
BOOST_AUTO_TEST_CASE(progress_and_cancel) {
  const Problem p = random_problem(Shape::tall, false, false);
  const Sparse<double> a = to_sparse(p.a);
  for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
    std::vector<Index> seen;
    LsqOptions o;
    o.atol = o.btol = 0;
    o.iteration_limit = 5;
    o.progress = [&](const LsqProgress& pr) {
      seen.push_back(pr.iteration);
      return pr.iteration < 3;
    };
    const DenseD b = p.b.col(0);
    auto [x, info] = lstsq(a, b, method, o);
    BOOST_TEST(info.status == LsqStatus::cancelled);
    BOOST_TEST(info.iterations == 3);
    BOOST_TEST(seen == (std::vector<Index>{1, 2, 3}), boost::test_tools::per_element());
  }
  for (LsqMethod method : {LsqMethod::qr, LsqMethod::cholesky}) {
    std::vector<std::string> phases;
    LsqOptions o;
    o.progress = [&](const LsqProgress& pr) {
      phases.emplace_back(pr.phase);
      return true;
    };
    auto [x, info] = lstsq(a, p.b, method, o);
    BOOST_TEST(info.status == LsqStatus::success);
    const std::vector<std::string> expected =
        method == LsqMethod::qr ? std::vector<std::string>{"factorize", "solve"}
                                : std::vector<std::string>{"analyze", "factorize", "solve"};
    BOOST_TEST(phases == expected, boost::test_tools::per_element());
    o.progress = [](const LsqProgress& pr) { return pr.phase != "factorize"; };
    assign(x, info, lstsq(a, p.b, method, o));
    BOOST_TEST(info.status == LsqStatus::cancelled);
    BOOST_TEST(x.isZero());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(invalid_input)

BOOST_AUTO_TEST_CASE(documented_messages) {
  const Sparse<double> a = to_sparse(DenseD::Identity(4, 3));
  const DenseD b = DenseD::Ones(4, 1);
  LsqOptions o;
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      test::expect_error([&] { lstsq(a, DenseD::Ones(5, 1), method); },
                         "b must have A.rows() = 4 rows, got 5");
      DenseD nan_b = b;
      nan_b(2, 0) = std::nan("");
      test::expect_error([&] { lstsq(a, nan_b, method); }, "b must be finite, got b(2, 0) = nan");
      o = LsqOptions{};
      o.damp = -1;
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "damp must be finite and >= 0, got damp = -1");
      o.damp = INFINITY;
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "damp must be finite and >= 0, got damp = inf");
      o.damp = 1e155;
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "damp² must be finite (damp <= 1.34e154), got damp = 1e+155");
      o = LsqOptions{};
      o.atol = -1e-3;
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "atol must be finite and >= 0, got atol = -0.001");
      o = LsqOptions{};
      o.conlim = std::nan("");
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "conlim must be finite and >= 0 (0: no limit), got conlim = nan");
      o = LsqOptions{};
      o.iteration_limit = -3;
      test::expect_error([&] { lstsq(a, b, method, o); },
                         "iteration_limit must be >= 0 (0: 2·cols), got iteration_limit = -3");
    }
  }
  // A itself, for the methods that read it.
  Sparse<double> bad = a;
  bad.valuePtr()[1] = INFINITY;
  for (LsqMethod method : all_methods) {  // LSQR and LSMR on an explicit A read it too
    test::expect_error([&] { lstsq(bad, b, method); }, "A must be finite, got A(1, 1) = inf");
  }
  const Sparse<double> empty(0, 3);
  test::expect_error([&] { QrSolver<double>{SparseRef<double>(empty)}; },
                     "A must have at least one row and column, got 0x3");
  // Uncompressed Eigen matrices are refused rather than misread.
  Sparse<double> loose(3, 3);
  loose.insert(0, 0) = 1;
  test::expect_error([&] { SparseRef<double>{loose}; }, "must be compressed");
  // A matrix-free operator cannot be factorized.
  const EigenSparseOperator op(a);
  test::expect_error(
      [&] { lstsq(op, b, LsqMethod::qr); },
      "method qr needs the matrix's entries; a LinearOperator supports lsqr and lsmr only");
  test::expect_error([&] { lsq_method_from_string("svd"); },
                     "unknown least-squares method 'svd': expected qr, cholesky, lsqr or lsmr");
  BOOST_TEST(lsq_method_from_string("lsmr") == LsqMethod::lsmr);
  // solve before compute is misuse: logic_error.
  BOOST_CHECK_THROW(QrSolver<double>{}.solve(b), std::logic_error);
  BOOST_CHECK_THROW(CholeskySolver<double>{}.solve(b), std::logic_error);
  BOOST_CHECK_THROW(LsqrSolver<double>{}.solve(b), std::logic_error);
  BOOST_CHECK_THROW(CholeskySolver<double>{}.set_damping(1), std::logic_error);
}

BOOST_AUTO_TEST_SUITE_END()

// The solvers' memory estimate and guard: which Gram matrix each method factors, its nonzeros for
// any sparse matrix (against Eigen's product), the bytes of each method as documented, and the
// refusal — the same estimate for a layer given by its spec and for its matrix.
#define BOOST_TEST_MODULE solver_memory
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/solve/solver_memory.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

using Csr = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;
using Csc = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

// A random m × n sparse matrix with positive entries (no cancellation in its Gram products).
Csr random_sparse(Index m, Index n, double density, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Eigen::Triplet<double>> t;
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j)
      if (u(engine) < density) t.emplace_back(int(i), int(j), 1 + u(engine));
  Csr a(m, n);
  a.setFromTriplets(t.begin(), t.end());
  a.makeCompressed();
  return a;
}

long double formed(const Csr& a, bool rows_gram) {
  const Csc b = a;
  const Csc g = rows_gram ? Csc(b * b.transpose()) : Csc(b.transpose() * b);
  return static_cast<long double>(g.nonZeros());
}

MemoryLimit limit_of(std::uint64_t bytes) {
  MemoryLimit l;
  l.bytes = bytes;
  l.source = "the test's limit";
  l.raise = "raise it somehow";
  l.method_format = "--method {}";
  return l;
}

// The message of the refusal, or "" when the call passes.
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const MemoryLimitExceeded& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(which_gram_matrix_each_method_factors) {
  LsqOptions o;
  BOOST_TEST(factors_row_gram(LsqMethod::qr, 3, 5, o));        // wide: SPQR factors Aᵀ
  BOOST_TEST(!factors_row_gram(LsqMethod::qr, 5, 3, o));       // tall: A
  BOOST_TEST(factors_row_gram(LsqMethod::cholesky, 3, 5, o));  // the smaller: A Aᵀ
  BOOST_TEST(!factors_row_gram(LsqMethod::cholesky, 5, 3, o));
  o.damp = 0.5;
  BOOST_TEST(!factors_row_gram(LsqMethod::qr, 3, 5, o));  // [A; λI] is tall
  BOOST_TEST(factors_row_gram(LsqMethod::cholesky, 3, 5, o));
  o.cholesky_form = CholeskyForm::normal_equations;
  BOOST_TEST(!factors_row_gram(LsqMethod::cholesky, 3, 5, o));
  o.cholesky_form = CholeskyForm::min_norm;
  BOOST_TEST(factors_row_gram(LsqMethod::cholesky, 5, 3, o));
}

BOOST_AUTO_TEST_CASE(gram_nnz_of_any_sparse_matrix) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const Csr a = random_sparse(20 + seed, 31 - seed, 0.08, seed);
    const Csc c = a;  // the same matrix stored by columns
    for (bool rows_gram : {true, false}) {
      BOOST_TEST_CONTEXT("seed " << seed << (rows_gram ? ", A Aᵀ" : ", AᵀA")) {
        BOOST_TEST(gram_nnz(SparseRef<double>(a), rows_gram) == formed(a, rows_gram));
        BOOST_TEST(gram_nnz(SparseRef<double>(c), rows_gram) == formed(a, rows_gram));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bytes_per_method_as_documented) {
  LsqOptions o;
  const Index m = 30, n = 50, nnz = 400;
  const long double g = 1000;
  BOOST_TEST(solver_bytes(LsqMethod::qr, m, n, nnz, g, o, 3) == 16.0L * nnz + 2 * 16 * 8 * g);
  BOOST_TEST(solver_bytes(LsqMethod::cholesky, m, n, nnz, g, o, 3) == 16.0L * nnz + 16 * 8 * g);
  // LSQR/LSMR: 8 vectors of max(m, n) and the history (2n + 1 by default), per right-hand side.
  BOOST_TEST(solver_bytes(LsqMethod::lsmr, m, n, nnz, g, o, 3) == 3 * 8.0L * (8 * n + (2 * n + 1)));
  o.iteration_limit = 7;
  BOOST_TEST(solver_bytes(LsqMethod::lsqr, m, n, nnz, g, o, 1) == 8.0L * (8 * n + 8));
  BOOST_TEST(iteration_limit(o, n) == 7);
  BOOST_TEST(iteration_limit(LsqOptions{}, n) == 2 * n);
}

BOOST_AUTO_TEST_CASE(a_layer_is_refused_at_its_estimate) {
  // 40×40, 7×7 (W 1156 × 1600, wide): the factor of W Wᵀ dominates QR and Cholesky.
  const ConvSpec s = ConvSpec::convolution(1, 1, {40, 40}, {7, 7});
  const LsqOptions o;
  const long double arrays = 1000;
  const long double w = static_cast<long double>(conv_matrix_bytes(s, sizeof(double)));
  for (LsqMethod method : {LsqMethod::qr, LsqMethod::cholesky, LsqMethod::lsmr}) {
    const long double need =
        w + arrays +
        solver_bytes(method, s.output_numel(), s.input_numel(), conv_matrix_nnz(s),
                     gram_nnz(s, factors_row_gram(method, s.output_numel(), s.input_numel(), o)), o,
                     2);
    const auto at = static_cast<std::uint64_t>(need);
    BOOST_TEST_CONTEXT(to_string(method) << ", " << double(need) << " bytes") {
      BOOST_TEST(refusal([&] {
                   require_solver_memory(limit_of(at + 1), s, sizeof(double), method, o, 2, arrays);
                 }) == "");
      const std::string m = refusal([&] {
        require_solver_memory(limit_of(at - 1), s, sizeof(double), method, o, 2, arrays);
      });
      BOOST_TEST(m.find("--method " + to_string(method) + " on this layer needs about " +
                        human_bytes(double(need)) + " (W " + human_bytes(double(w)) +
                        ", the solver ") == 0);
      BOOST_TEST(m.find("more than the limit of " + human_bytes(double(at - 1)) +
                        " (the test's limit)") != std::string::npos);
      BOOST_TEST(m.find("raise it somehow") != std::string::npos);
      const bool factor = method != LsqMethod::lsmr;
      BOOST_TEST((m.find("its factor estimated as 8 x nnz of the Gram matrix") !=
                  std::string::npos) == factor);
      BOOST_TEST((m.find("; --method lsmr needs only a few vectors") != std::string::npos) ==
                 factor);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_matrix_is_refused_at_the_same_estimate) {
  // The layer's W as an explicit matrix: its Gram nonzeros are counted, not bounded, when the
  // bound does not fit — so the limit between the two estimates passes.
  const ConvSpec s = ConvSpec::convolution(1, 1, {24, 24}, {5, 5});
  const std::vector<double> w(25, 1.0);
  const Csr a = ConvMatrix<double>(s, w.data()).matrix();
  const LsqOptions o;
  const long double exact = solver_bytes(LsqMethod::qr, a.rows(), a.cols(), a.nonZeros(),
                                         gram_nnz(SparseRef<double>(a), true), o, 1);
  BOOST_TEST(gram_nnz(SparseRef<double>(a), true) == gram_nnz(s, true));
  const auto at = static_cast<std::uint64_t>(exact);
  BOOST_TEST(refusal([&] {
               require_solver_memory(limit_of(at), SparseRef<double>(a), 0, LsqMethod::qr, o, 1, 0);
             }) == "");
  const std::string m = refusal([&] {
    require_solver_memory(limit_of(at - 1), SparseRef<double>(a), 0, LsqMethod::qr, o, 1, 0);
  });
  BOOST_TEST(m.find("--method qr on this matrix needs about " + human_bytes(double(exact))) == 0);
  // An operator: LSQR's vectors only.
  const long double v = solver_bytes(LsqMethod::lsqr, 10, 1000, 0, 0, o, 4);
  BOOST_TEST(refusal([&] {
               require_solver_memory(limit_of(std::uint64_t(v)), 10, 1000, LsqMethod::lsqr, o, 4,
                                     0);
             }) == "");
  BOOST_TEST(refusal([&] {
               require_solver_memory(limit_of(std::uint64_t(v) - 1), 10, 1000, LsqMethod::lsqr, o,
                                     4, 0);
             }).find("--method lsqr on this operator needs about") == 0);
}

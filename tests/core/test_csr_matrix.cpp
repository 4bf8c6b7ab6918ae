// CsrMatrix: products and exports against a dense reference on random sparse matrices.
#define BOOST_TEST_MODULE csr_matrix
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <numeric>

#include "convmat/core/csr_matrix.hpp"
#include "convmat/core/detail/kernel_isa.hpp"
#include "test_util.hpp"

using namespace convmat;
using Dense = Eigen::MatrixXd;

namespace {

// An m×n matrix whose row r has the ascending columns columns_of(r), with random integer values
// in [-5, 5], and its dense copy.
template <class Scalar, class Columns>
CsrMatrix<Scalar> random_values(Index m, Index n, Dense& dense, Columns&& columns_of) {
  auto s = std::make_shared<SparsityPattern>();
  s->rows = m;
  s->cols = n;
  s->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(m + 1));
  std::vector<ColumnIndex> cols;
  std::vector<Scalar> vals;
  dense = Dense::Zero(m, n);
  s->row_ptr[0] = 0;
  for (Index r = 0; r < m; ++r) {
    for (ColumnIndex c : columns_of(r)) {
      const Scalar v = static_cast<Scalar>(test::uniform(-5, 5));
      cols.push_back(c);
      vals.push_back(v);
      dense(r, c) = double(v);
    }
    s->row_ptr[static_cast<std::size_t>(r + 1)] = static_cast<RowPointer>(cols.size());
  }
  s->col = Buffer<ColumnIndex>(cols.size());
  std::copy(cols.begin(), cols.end(), s->col.begin());
  Buffer<Scalar> values(vals.size());
  std::copy(vals.begin(), vals.end(), values.begin());
  return CsrMatrix<Scalar>(std::move(s), std::move(values));
}

// A random m×n matrix with about `density`·m·n nonzeros.
CsrMatrix<double> random_csr(Index m, Index n, double density, Dense& dense) {
  std::bernoulli_distribution keep(density);
  return random_values<double>(m, n, dense, [&](Index) {
    std::vector<ColumnIndex> picked;
    for (Index c = 0; c < n; ++c) {
      if (keep(test::rng())) picked.push_back(static_cast<ColumnIndex>(c));
    }
    return picked;
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(products_match_dense) {
  for (auto [m, n, density] : {std::tuple{1, 1, 1.0},
                               {7, 3, 0.5},
                               {3, 9, 0.3},
                               {0, 4, 0.5},
                               {6, 4, 0.0},  // no nonzeros: null value and column arrays
                               {400, 700, 0.5},
                               {1000, 50, 0.02}}) {
    Dense d;
    const CsrMatrix<double> a = random_csr(m, n, density, d);
    for (Index batch : {1, 3, 8, 11}) {
      const Dense x = Dense::NullaryExpr(n, batch, [] { return double(test::uniform(-4, 4)); });
      const Dense y = Dense::NullaryExpr(m, batch, [] { return double(test::uniform(-4, 4)); });
      // Column-major (n × batch) is exactly batch × n in C order: one sample per column.
      Dense ax(m, batch), aty(n, batch);
      a.multiply(x.data(), ax.data(), batch);
      a.multiply_transposed(y.data(), aty.data(), batch);
      BOOST_TEST_CONTEXT(m << "x" << n << " density " << density << " batch " << batch) {
        BOOST_TEST((ax == d * x));
        BOOST_TEST((aty == d.transpose() * y));
      }
    }
    BOOST_TEST((Dense(a.to_eigen()) == d));
    BOOST_TEST((Dense(a.to_eigen_transposed()) == d.transpose()));
  }
}

BOOST_AUTO_TEST_CASE(values_must_match_the_pattern) {
  Dense d;
  const CsrMatrix<double> a = random_csr(5, 5, 0.5, d);
  BOOST_CHECK_THROW(CsrMatrix<double>(a.pattern(), Buffer<double>(a.nnz() + 1)),
                    std::invalid_argument);
}

namespace {

// A rows×cols matrix whose row r has r mod 41 nonzeros (every tail length of the 8- and 16-wide
// kernels, and empty rows) at random distinct columns.
template <class Scalar>
CsrMatrix<Scalar> cyclic_rows(Index rows, Index cols, Dense& dense) {
  std::vector<ColumnIndex> all(static_cast<std::size_t>(cols));
  std::iota(all.begin(), all.end(), 0);
  return random_values<Scalar>(rows, cols, dense, [&](Index r) {
    std::shuffle(all.begin(), all.end(), test::rng());
    std::vector<ColumnIndex> picked(all.begin(), all.begin() + std::min<Index>(r % 41, cols));
    std::sort(picked.begin(), picked.end());
    return picked;
  });
}

// Restores the kernel set chosen at start-up when a test that forces others ends.
struct KernelIsaGuard {
  detail::KernelIsa saved = detail::kernel_isa();
  ~KernelIsaGuard() { detail::set_kernel_isa(saved); }
};

template <class Scalar>
void check_every_kernel(Index rows, Index cols) {
  using Block = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Dense d;
  const CsrMatrix<Scalar> a = cyclic_rows<Scalar>(rows, cols, d);
  KernelIsaGuard guard;
  for (Index batch : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33}) {
    const Dense x = Dense::NullaryExpr(cols, batch, [] { return double(test::uniform(-4, 4)); });
    const Dense y = Dense::NullaryExpr(rows, batch, [] { return double(test::uniform(-4, 4)); });
    const Dense dx = d * x, dty = d.transpose() * y;
    const Block xs = x.cast<Scalar>(), ys = y.cast<Scalar>();
    for (auto isa :
         {detail::KernelIsa::generic, detail::KernelIsa::avx2, detail::KernelIsa::avx512}) {
      if (!detail::cpu_supports(isa)) {
        BOOST_TEST_MESSAGE("this CPU cannot run the " << detail::to_string(isa) << " kernels");
        continue;
      }
      detail::set_kernel_isa(isa);
      Block ax(rows, batch), aty(cols, batch);
      a.multiply(xs.data(), ax.data(), batch);
      a.multiply_transposed(ys.data(), aty.data(), batch);
      BOOST_TEST_CONTEXT(detail::to_string(isa)
                         << " kernels, " << sizeof(Scalar) * 8 << "-bit, " << rows << "x" << cols
                         << ", " << a.nnz() << " nonzeros, batch " << batch) {
        BOOST_TEST((ax.template cast<double>() == dx));
        BOOST_TEST((aty.template cast<double>() == dty));
      }
    }
  }
}

}  // namespace

// Every kernel set the CPU runs (generic, AVX2, AVX-512), float and double, every batch width
// (1, and 2–16 interleaved lanes, zero-padded up to a power of two, in chunks of 16), on one
// thread (small) and on several (above 2 · 65536 nonzeros).
BOOST_AUTO_TEST_CASE(every_kernel_every_width) {
  BOOST_TEST(detail::cpu_supports(detail::KernelIsa::generic));
  BOOST_TEST(detail::cpu_supports(detail::best_kernel_isa()));
  for (auto [rows, cols] : {std::pair<Index, Index>{50, 70}, {9000, 64}}) {
    check_every_kernel<float>(rows, cols);
    check_every_kernel<double>(rows, cols);
  }
}

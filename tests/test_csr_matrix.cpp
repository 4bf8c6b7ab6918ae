// CsrMatrix: products and exports against a dense reference on random sparse matrices.
#define BOOST_TEST_MODULE csr_matrix
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>

#include "convmat/csr_matrix.hpp"
#include "test_util.hpp"

using namespace convmat;
using Dense = Eigen::MatrixXd;

namespace {

// A random m×n matrix with integer entries and about `density`·m·n nonzeros, and its dense copy.
CsrMatrix<double> random_csr(Index m, Index n, double density, Dense& dense) {
  auto s = std::make_shared<SparsityPattern>();
  s->rows = m;
  s->cols = n;
  s->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(m + 1));
  std::vector<ColumnIndex> cols;
  std::vector<double> vals;
  dense = Dense::Zero(m, n);
  s->row_ptr[0] = 0;
  std::bernoulli_distribution keep(density);
  for (Index r = 0; r < m; ++r) {
    for (Index c = 0; c < n; ++c) {
      if (!keep(test::rng())) continue;
      cols.push_back(static_cast<ColumnIndex>(c));
      const double v = static_cast<double>(test::uniform(-5, 5));
      vals.push_back(v);
      dense(r, c) = v;
    }
    s->row_ptr[static_cast<std::size_t>(r + 1)] = static_cast<RowPointer>(cols.size());
  }
  s->col = Buffer<ColumnIndex>(cols.size());
  std::copy(cols.begin(), cols.end(), s->col.begin());
  Buffer<double> values(vals.size());
  std::copy(vals.begin(), vals.end(), values.begin());
  return CsrMatrix<double>(std::move(s), std::move(values));
}

}  // namespace

BOOST_AUTO_TEST_CASE(products_match_dense) {
  for (auto [m, n, density] : {std::tuple{1, 1, 1.0}, {7, 3, 0.5}, {3, 9, 0.3}, {0, 4, 0.5},
                               {400, 700, 0.5}, {1000, 50, 0.02}}) {
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
  BOOST_CHECK_THROW(CsrMatrix<double>(a.pattern(), Buffer<double>(a.nnz() + 1)), std::invalid_argument);
}

// LinearOperator adapters and SparseRef: every way of handing A to a solver gives the same A and
// Aᵀ as a dense reference. Integer data, so every comparison is exact.
#define BOOST_TEST_MODULE linear_operator
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/linear_operator.hpp"
#include "convmat/core/loops.hpp"
#include "convmat/solve/sparse_ref.hpp"
#include "test_util.hpp"

using namespace convmat;
using DenseD = Eigen::MatrixXd;

namespace {

// Column j of A is A·e_j, row i of A is (Aᵀ·e_i)ᵀ: the operator as a dense matrix, both ways.
template <class Scalar>
void expect_operator_equals(const LinearOperator<Scalar>& op, const DenseD& dense) {
  BOOST_TEST(op.rows() == dense.rows());
  BOOST_TEST(op.cols() == dense.cols());
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  DenseD by_apply(op.rows(), op.cols()), by_adjoint(op.cols(), op.rows());
  Vec e, out;
  for (Index j = 0; j < op.cols(); ++j) {
    e = Vec::Unit(op.cols(), j);
    out.resize(op.rows());
    op.apply(e.data(), out.data());
    by_apply.col(j) = out.template cast<double>();
  }
  for (Index i = 0; i < op.rows(); ++i) {
    e = Vec::Unit(op.rows(), i);
    out.resize(op.cols());
    op.apply_adjoint(e.data(), out.data());
    by_adjoint.col(i) = out.template cast<double>();
  }
  BOOST_TEST((by_apply == dense));
  BOOST_TEST((by_adjoint == dense.transpose()));
}

DenseD random_integer(Index m, Index n) {
  return DenseD::NullaryExpr(
      m, n, [] { return test::uniform(0, 2) ? 0.0 : double(test::uniform(-4, 4)); });
}

}  // namespace

BOOST_AUTO_TEST_CASE(eigen_and_sparse_ref_adapters) {
  for (auto [m, n] : {std::pair<Index, Index>{1, 1}, {5, 3}, {3, 8}, {40, 70}, {300, 200}}) {
    const DenseD d = random_integer(m, n);
    Eigen::SparseMatrix<double, Eigen::RowMajor, int> row = d.sparseView();
    Eigen::SparseMatrix<double, Eigen::ColMajor, int> col = d.sparseView();
    row.makeCompressed();
    col.makeCompressed();
    BOOST_TEST_CONTEXT(m << "x" << n) {
      expect_operator_equals(EigenSparseOperator(row), d);
      expect_operator_equals(EigenSparseOperator(col), d);
      expect_operator_equals(SparseRefOperator<double>(row), d);
      expect_operator_equals(SparseRefOperator<double>(col), d);
      // transposed() reads the same arrays as Aᵀ.
      expect_operator_equals(SparseRefOperator<double>(SparseRef<double>(row).transposed()),
                             DenseD(d.transpose()));
      expect_operator_equals(SparseRefOperator<double>(SparseRef<double>(col).transposed()),
                             DenseD(d.transpose()));
      const EigenSparseOperator op(row);
      expect_operator_equals(AdjointOperator<double>(op), DenseD(d.transpose()));
    }
  }
}

// Above 2 · 65536 nonzeros the products of a SparseRef run on several threads (the CSR kernels of
// CsrMatrix, with 32-bit row pointers for Eigen's matrices): CSR and CSC, both directions, float
// and double, against Eigen's own products on integer data.
template <class Scalar>
void check_parallel_sparse_ref_products() {
  using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  const Index m = 1500, n = 1300;
  const DenseD d = DenseD::NullaryExpr(
      m, n, [] { return test::uniform(0, 9) ? 0.0 : double(test::uniform(-4, 4)); });
  const Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> row = d.cast<Scalar>().sparseView();
  const Eigen::SparseMatrix<Scalar, Eigen::ColMajor, int> col = d.cast<Scalar>().sparseView();
  BOOST_TEST_REQUIRE(row.nonZeros() > 2 * 65536);
  const Vec x = Vec::NullaryExpr(n, [] { return Scalar(test::uniform(-3, 3)); });
  const Vec y = Vec::NullaryExpr(m, [] { return Scalar(test::uniform(-3, 3)); });
  const Vec ax = row * x, aty = row.transpose() * y;
  for (const SparseRef<Scalar>& a : {SparseRef<Scalar>(row), SparseRef<Scalar>(col)}) {
    BOOST_TEST_CONTEXT((a.row_major() ? "CSR" : "CSC") << ", " << sizeof(Scalar) * 8 << " bit") {
      Vec out(m);
      multiply(a, x.data(), out.data());
      BOOST_TEST((out == ax));
      out.resize(n);
      multiply_transposed(a, y.data(), out.data());
      BOOST_TEST((out == aty));
    }
  }
}

BOOST_AUTO_TEST_CASE(sparse_ref_products_in_parallel) {
  check_parallel_sparse_ref_products<float>();
  check_parallel_sparse_ref_products<double>();
}

// A layer, four ways: its exported matrix (the reference), CsrOperator on the stored W,
// ConvOperator, SparseRef of the ConvMatrix, and the direct loops — for both kinds of layer.
BOOST_AUTO_TEST_CASE(layer_adapters_agree_with_the_exported_matrix) {
  for (int trial = 0; trial < 200; ++trial) {
    const ConvSpec spec = test::random_spec(5);
    const auto weight = test::integer_tensor<double>(spec.weight_numel());
    const ConvMatrix<double> layer(spec, weight.data());
    const DenseD m = DenseD(layer.matrix());
    BOOST_TEST_CONTEXT(spec.to_string()) {
      expect_operator_equals(ConvOperator<double>(layer), m);
      expect_operator_equals(SparseRefOperator<double>(layer), m);
      expect_operator_equals(DirectLoopsOperator<double>(spec, weight.data()), m);
      const DenseD w = DenseD(layer.stored().to_eigen());
      expect_operator_equals(CsrOperator<double>(layer.stored()), w);
      const SparseRef<double> ref(layer);
      BOOST_TEST(ref.rows() == layer.rows());
      BOOST_TEST(ref.cols() == layer.cols());
      BOOST_TEST(ref.row_major() == !spec.is_transposed());  // Wᵀ is W's CSR read as CSC
      BOOST_TEST(ref.nnz() == layer.nnz());
    }
  }
}

BOOST_AUTO_TEST_CASE(float_adapters) {
  const ConvSpec spec = ConvSpec::convolution(2, 3, {6, 5}, {3, 2}, {2, 1}, {1, 0});
  const auto weight = test::integer_tensor<float>(spec.weight_numel());
  const ConvMatrix<float> layer(spec, weight.data());
  const DenseD m = Eigen::MatrixXf(layer.matrix()).cast<double>();
  expect_operator_equals(ConvOperator<float>(layer), m);
  expect_operator_equals(SparseRefOperator<float>(layer), m);
  expect_operator_equals(DirectLoopsOperator<float>(spec, weight.data()), m);
}

// ConvMatrix: every seed example exactly, and randomized exact cross-checks against the direct
// loops over thousands of layers covering every field together. Built twice: test_conv_matrix
// (CSR storage) and test_conv_matrix_blocked (CONVMAT_TEST_STORAGE=channel_blocked), so that
// both storages pass the same cases.
#define BOOST_TEST_MODULE conv_matrix
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include <algorithm>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::integer_tensor;

#ifndef CONVMAT_TEST_STORAGE
#define CONVMAT_TEST_STORAGE csr
#endif
constexpr ConvStorage tested_storage = ConvStorage::CONVMAT_TEST_STORAGE;

namespace {

using Dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Dense dense(const ConvMatrix<double>& m) { return Dense(m.matrix()); }

Dense rows(std::initializer_list<std::initializer_list<double>> values) {
  Dense d(static_cast<Index>(values.size()), static_cast<Index>(values.begin()->size()));
  Index r = 0;
  for (const auto& row : values) {
    Index c = 0;
    for (double v : row) d(r, c++) = v;
    ++r;
  }
  return d;
}

// The layer applied to one sample by W and by the loops; both must equal `expected`.
void check_layer(const ConvSpec& spec, const std::vector<double>& x,
                 const std::vector<double>& weight, const Dense& expected) {
  const ConvMatrix<double> w(spec, weight.data(), tested_storage);
  std::vector<double> by_matrix(static_cast<std::size_t>(spec.output_numel()));
  std::vector<double> by_loops(by_matrix.size());
  w.apply(x.data(), by_matrix.data());
  direct_forward(spec, x.data(), 1, weight.data(), static_cast<const double*>(nullptr),
                 by_loops.data());
  const Eigen::Map<const Dense> m(by_matrix.data(), expected.rows(), expected.cols());
  const Eigen::Map<const Dense> l(by_loops.data(), expected.rows(), expected.cols());
  BOOST_TEST_CONTEXT(spec.to_string() << "\nexpected\n"
                                      << expected << "\nby W\n"
                                      << m << "\nby loops\n"
                                      << l) {
    BOOST_TEST(static_cast<Index>(by_matrix.size()) == expected.size());
    BOOST_TEST((m == expected));
    BOOST_TEST((l == expected));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(seeds)

// Seed 000, trans_conv(X, K) with X = K = [[0, 1], [2, 3]], and nn.ConvTranspose2d with
// padding=1 and stride=2 on the same data.
BOOST_AUTO_TEST_CASE(seed_000_trans_conv) {
  const std::vector<double> x{0, 1, 2, 3}, k{0, 1, 2, 3};
  check_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}), x, k,
              rows({{0, 0, 1}, {0, 4, 6}, {4, 12, 9}}));
  check_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {1}, {1}), x, k, rows({{4}}));
  check_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2}), x, k,
              rows({{0, 0, 0, 1}, {0, 0, 2, 3}, {0, 2, 0, 3}, {4, 6, 6, 9}}));
}

// Seed 000, kernel2matrix: the 3×3 → 2×2 convolution with K = [[1, 2], [3, 4]] is the 4×9 W,
// Y = W·vec(X) = [[27, 37], [57, 67]] for X = arange(9), and Wᵀ·vec(Y) = trans_conv(Y, K).
BOOST_AUTO_TEST_CASE(seed_000_kernel2matrix) {
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const std::vector<double> k{1, 2, 3, 4};
  const ConvMatrix<double> w(conv, k.data(), tested_storage);
  BOOST_TEST((dense(w) == rows({{1, 2, 0, 3, 4, 0, 0, 0, 0},
                                {0, 1, 2, 0, 3, 4, 0, 0, 0},
                                {0, 0, 0, 1, 2, 0, 3, 4, 0},
                                {0, 0, 0, 0, 1, 2, 0, 3, 4}})));
  const std::vector<double> x{0, 1, 2, 3, 4, 5, 6, 7, 8};
  check_layer(conv, x, k, rows({{27, 37}, {57, 67}}));

  // trans_conv(Y, K): the loops' scatter and Wᵀ·y, the same 3×3.
  const std::vector<double> y{27, 37, 57, 67};
  const ConvSpec tconv = ConvSpec::transposed(1, 1, {2, 2}, {2, 2});
  std::vector<double> z_loops(9), z_matrix(9);
  direct_forward(tconv, y.data(), 1, k.data(), static_cast<const double*>(nullptr), z_loops.data());
  w.apply_adjoint(y.data(), z_matrix.data());
  BOOST_TEST(z_matrix == z_loops, boost::test_tools::per_element());
  // trans_conv by hand: Z = Σ Y[i, j]·K placed at (i, j).
  BOOST_TEST(z_loops == (std::vector<double>{27, 91, 74, 138, 400, 282, 171, 429, 268}),
             boost::test_tools::per_element());
  // The transposed layer's own matrix is exactly Wᵀ.
  const ConvMatrix<double> t(tconv, k.data(), tested_storage);
  BOOST_TEST((dense(t) == dense(w).transpose()));
}

// Seed 002: ConvTranspose2d, 2×2 kernel [[1, 2], [3, 4]], stride 2, on X = [[5, 6], [7, 8]],
// step by step. By linearity, the output after splatting the first j pixels is Wᵀ applied to X
// with the remaining pixels zeroed.
BOOST_AUTO_TEST_CASE(seed_002_pixel_splatting) {
  const ConvSpec spec = ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2});
  BOOST_TEST(spec.output_size() == (Dims{4, 4}), boost::test_tools::per_element());  // (2−1)·2 + 2
  const std::vector<double> k{1, 2, 3, 4};
  const Dense steps[] = {
      rows({{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}),
      rows({{5, 10, 0, 0}, {15, 20, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}}),
      rows({{5, 10, 6, 12}, {15, 20, 18, 24}, {0, 0, 0, 0}, {0, 0, 0, 0}}),
      rows({{5, 10, 6, 12}, {15, 20, 18, 24}, {7, 14, 0, 0}, {21, 28, 0, 0}}),
      rows({{5, 10, 6, 12}, {15, 20, 18, 24}, {7, 14, 8, 16}, {21, 28, 24, 32}}),
  };
  const std::vector<double> x{5, 6, 7, 8};
  for (int j = 0; j <= 4; ++j) {
    std::vector<double> first(x);
    for (int i = j; i < 4; ++i) first[static_cast<std::size_t>(i)] = 0;
    BOOST_TEST_CONTEXT("after " << j << " pixels") { check_layer(spec, first, k, steps[j]); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(randomized)

// The core cross-check over one layer: W·x against the gather/scatter loops (batch and bias),
// the adjoint against the loops' adjoint, ⟨Mx, y⟩ = ⟨x, Mᵀy⟩, and a refill with new weights
// against a fresh build. Integer data: every comparison is exact.
template <class Scalar>
void cross_check(const ConvSpec& spec) {
  const Index batch = test::uniform(1, 3);
  const auto weight = integer_tensor<Scalar>(spec.weight_numel());
  const auto bias = integer_tensor<Scalar>(spec.out_channels());
  const auto x = integer_tensor<Scalar>(batch * spec.input_numel());
  const auto g = integer_tensor<Scalar>(batch * spec.output_numel());

  ConvMatrix<Scalar> w(spec, weight.data(), tested_storage);
  std::vector<Scalar> y_matrix(g.size()), y_loops(g.size());
  w.forward(x.data(), bias.data(), y_matrix.data(), batch);
  direct_forward(spec, x.data(), batch, weight.data(), bias.data(), y_loops.data());
  BOOST_TEST(y_matrix == y_loops, boost::test_tools::per_element());

  std::vector<Scalar> gx_matrix(x.size()), gx_loops(x.size());
  w.apply_adjoint(g.data(), gx_matrix.data(), batch);
  direct_adjoint(spec, g.data(), batch, weight.data(), gx_loops.data());
  BOOST_TEST(gx_matrix == gx_loops, boost::test_tools::per_element());

  // ⟨M x, g⟩ = ⟨x, Mᵀ g⟩ (bias removed).
  std::vector<Scalar> mx(g.size());
  w.apply(x.data(), mx.data(), batch);
  BOOST_TEST(test::dot(mx, g) == test::dot(x, gx_matrix));

  // New weights, same structure.
  const auto weight2 = integer_tensor<Scalar>(spec.weight_numel());
  w.refill(weight2.data());
  const ConvMatrix<Scalar> fresh(spec, weight2.data(), tested_storage);
  BOOST_TEST(
      std::equal(w.stored().values(), w.stored().values() + w.nnz(), fresh.stored().values()));
  BOOST_TEST(w.stored().pattern() != fresh.stored().pattern());  // really two structures
}

BOOST_AUTO_TEST_CASE(matrix_equals_loops_on_random_layers) {
  int by_kind[2] = {0, 0}, by_mode[4] = {0, 0, 0, 0}, by_rank[3] = {0, 0, 0}, dilated = 0;
  const int layers = 3000;
  for (int n = 0; n < layers; ++n) {
    const ConvSpec spec = test::random_spec(7, true);
    dilated += spec.has_input_dilation();
    BOOST_TEST_CONTEXT("layer " << n << ": " << spec.to_string()) {
      if (n % 2 == 0) {
        cross_check<double>(spec);
      } else {
        cross_check<float>(spec);
      }
    }
    ++by_kind[spec.is_transposed()];
    ++by_mode[static_cast<int>(spec.padding_mode())];
    ++by_rank[spec.rank() - 1];
  }
  // The generator really covered every kind, mode and rank.
  for (int c : by_kind) BOOST_TEST(c > layers / 4);
  for (int c : by_mode) BOOST_TEST(c > layers / 20);
  for (int c : by_rank) BOOST_TEST(c > layers / 5);
  BOOST_TEST(dilated > layers / 40);  // about 6 % of the layers
}

// Dense check of the exported matrix: column j of M is the layer applied to e_j.
BOOST_AUTO_TEST_CASE(exported_matrix_columns_are_the_layer_on_unit_vectors) {
  for (int n = 0; n < 300; ++n) {
    const ConvSpec spec = test::random_spec(5);
    const auto weight = integer_tensor<double>(spec.weight_numel());
    const Dense m = dense(ConvMatrix<double>(spec, weight.data(), tested_storage));
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST(m.rows() == spec.output_numel());
      BOOST_TEST(m.cols() == spec.input_numel());
      std::vector<double> e(static_cast<std::size_t>(spec.input_numel()), 0.0);
      std::vector<double> column(static_cast<std::size_t>(spec.output_numel()));
      bool all_equal = true;
      for (Index j = 0; j < m.cols(); ++j) {
        e[static_cast<std::size_t>(j)] = 1;
        direct_forward(spec, e.data(), 1, weight.data(), static_cast<const double*>(nullptr),
                       column.data());
        e[static_cast<std::size_t>(j)] = 0;
        for (Index i = 0; i < m.rows(); ++i)
          all_equal = all_equal && m(i, j) == column[static_cast<std::size_t>(i)];
      }
      BOOST_TEST(all_equal);
    }
  }
}

// A transposed layer T is Wᵀ for the convolution T.as_convolution(): exactly when
// output_padding < stride, and restricted to T's input rows otherwise.
BOOST_AUTO_TEST_CASE(transposed_layer_is_the_transpose_of_its_convolution) {
  int exact = 0, cropped = 0;
  for (int n = 0; n < 1500; ++n) {
    const ConvSpec t = test::random_spec();
    if (!t.is_transposed()) continue;
    const ConvSpec c = t.as_convolution();
    const auto weight = integer_tensor<double>(t.weight_numel());
    const Dense mt = dense(ConvMatrix<double>(t, weight.data(), tested_storage));
    const Dense w = dense(ConvMatrix<double>(c, weight.data(), tested_storage));
    BOOST_TEST_CONTEXT(t.to_string() << "\nas convolution: " << c.to_string()) {
      BOOST_TEST(c.input_shape() == t.output_shape(), boost::test_tools::per_element());
      bool output_padding_below_stride = true;
      for (int a = 0; a < t.rank(); ++a) {
        output_padding_below_stride =
            output_padding_below_stride && t.output_padding()[a] < t.stride()[a];
      }
      if (output_padding_below_stride) {
        BOOST_TEST(c.output_shape() == t.input_shape(), boost::test_tools::per_element());
        BOOST_TEST((mt == w.transpose()));
        ++exact;
      } else {
        // Rows of W whose output position lies inside T's input.
        Dense kept(t.input_numel(), w.cols());
        Index r = 0;
        const Dims& full = c.output_size();
        const Dims& in = t.input_size();
        for (Index i = 0; i < w.rows(); ++i) {
          Index rest = i, stride = 1;
          bool inside = true;
          for (int a = t.rank() - 1; a >= 0; --a) {
            const Index pos = rest % full[a];
            rest /= full[a];
            inside = inside && pos < in[a];
            stride *= full[a];
          }
          if (inside) kept.row(r++) = w.row(i);
        }
        BOOST_TEST(r == t.input_numel());
        BOOST_TEST((mt == kept.transpose()));
        ++cropped;
      }
    }
  }
  BOOST_TEST(exact > 100);
  BOOST_TEST(cropped > 10);
}

// Padding modes inside W: with a 1-d input of 3 and padding 2 (reflect needs < 3, circular
// allows it), several taps fold onto one input position; their weights are summed.
BOOST_AUTO_TEST_CASE(padding_modes_fold_and_sum) {
  const std::vector<double> k{1, 10, 100, 1000, 10000};  // the tap identifies itself
  struct Case {
    PaddingMode mode;
    Dense expected;
  };
  // Padded input (2 each side) of x = [a, b, c]: positions −2 … 4.
  const Case cases[] = {
      // reflect: c b | a b c | b a
      {PaddingMode::reflect, rows({{100, 10 + 1000, 1 + 10000},
                                   {10, 1 + 100 + 10000, 1000},
                                   {1 + 10000, 10 + 1000, 100}})},
      // replicate: a a | a b c | c c
      {PaddingMode::replicate, rows({{1 + 10 + 100, 1000, 10000},
                                     {1 + 10, 100, 1000 + 10000},
                                     {1, 10, 100 + 1000 + 10000}})},
      // circular: b c | a b c | a b
      {PaddingMode::circular, rows({{100, 1 + 1000, 10 + 10000},
                                    {10 + 10000, 100, 1 + 1000},
                                    {1 + 1000, 10 + 10000, 100}})},
  };
  for (const Case& c : cases) {
    const ConvSpec spec = ConvSpec::convolution(1, 1, {3}, {5}, {1}, {2}, {1}, 1, c.mode);
    BOOST_TEST_CONTEXT(to_string(c.mode)) {
      const Dense& expected = c.expected;
      BOOST_TEST((dense(ConvMatrix<double>(spec, k.data(), tested_storage)) == expected));
      check_layer(spec, {1, 2, 3}, k, expected * Eigen::Vector3d(1, 2, 3));
    }
  }
}

// Rows, columns and weights in PyTorch's layouts, groups included: W[(co, o), (ci, i)] is
// weight[co, ci − group_start, k] for the tap k that joins them.
BOOST_AUTO_TEST_CASE(groups_block_structure) {
  // 4 → 6 channels in 2 groups, kernel 3, padding 2, dilation 2: output size 5.
  const ConvSpec spec = ConvSpec::convolution(4, 6, {5}, {3}, {1}, {2}, {2}, 2);
  BOOST_TEST(spec.output_size()[0] == 5);
  const auto weight = integer_tensor<double>(spec.weight_numel(), 1, 9);  // no zero weights
  const Dense m = dense(ConvMatrix<double>(spec, weight.data(), tested_storage));
  // Output channels 0–2 read input channels 0–1 only, 3–5 read 2–3 only.
  for (Index co = 0; co < 6; ++co) {
    for (Index ci = 0; ci < 4; ++ci) {
      const bool same_group = co / 3 == ci / 2;
      const double block = m.block(co * 5, ci * 5, 5, 5).cwiseAbs().sum();
      BOOST_TEST_CONTEXT("co=" << co << " ci=" << ci) { BOOST_TEST((block > 0) == same_group); }
    }
  }
  // Output position 2 reads inputs 2 − 2 + 2k = 0, 2, 4 for taps k = 0, 1, 2; input channel 3
  // is channel 1 of group 1: W[(co=4, 2), (ci=3, 2k)] = weight[4, 1, k].
  for (Index k = 0; k < 3; ++k) {
    BOOST_TEST(m(4 * 5 + 2, 3 * 5 + 2 * k) ==
               weight[static_cast<std::size_t>((4 * 2 + 1) * 3 + k)]);
  }
  BOOST_TEST(m.row(4 * 5 + 2).cwiseAbs().sum() > 0);
  BOOST_TEST((m.row(4 * 5 + 2).array() != 0).count() == 2 * 3);  // 2 channels × 3 taps
}

BOOST_AUTO_TEST_CASE(structure_is_shared_between_weights) {
  const ConvSpec spec = ConvSpec::convolution(3, 2, {6, 5}, {3, 3}, {2}, {1});
  const auto pattern = std::make_shared<const ConvPattern>(spec);
  const auto w1 = integer_tensor<double>(spec.weight_numel());
  const auto w2 = integer_tensor<double>(spec.weight_numel());
  const ConvMatrix<double> a(pattern, w1.data()), b(pattern, w2.data());
  BOOST_TEST(a.stored().pattern() == b.stored().pattern());
  BOOST_TEST((dense(a) == dense(ConvMatrix<double>(spec, w1.data(), tested_storage))));
  BOOST_TEST((dense(b) == dense(ConvMatrix<double>(spec, w2.data(), tested_storage))));
}

// Batched products pack samples internally; every batch size up to 20 must equal sample-by-
// sample products.
BOOST_AUTO_TEST_CASE(batches_equal_single_samples) {
  const ConvSpec spec = ConvSpec::convolution(3, 4, {9, 8}, {3, 3}, {1}, {1});
  const auto weight = integer_tensor<double>(spec.weight_numel());
  const ConvMatrix<double> w(spec, weight.data(), tested_storage);
  for (Index batch : {1, 2, 3, 7, 8, 9, 16, 20}) {
    const auto x = integer_tensor<double>(batch * w.cols());
    const auto y = integer_tensor<double>(batch * w.rows());
    std::vector<double> wx(y.size()), wty(x.size()), one_wx(y.size()), one_wty(x.size());
    w.apply(x.data(), wx.data(), batch);
    w.apply_adjoint(y.data(), wty.data(), batch);
    for (Index n = 0; n < batch; ++n) {
      w.apply(x.data() + n * w.cols(), one_wx.data() + n * w.rows());
      w.apply_adjoint(y.data() + n * w.rows(), one_wty.data() + n * w.cols());
    }
    BOOST_TEST_CONTEXT("batch " << batch) {
      BOOST_TEST(wx == one_wx, boost::test_tools::per_element());
      BOOST_TEST(wty == one_wty, boost::test_tools::per_element());
    }
  }
}

// Large enough that the products run on several threads (one per 64 Ki nonzeros).
BOOST_AUTO_TEST_CASE(parallel_products_equal_loops) {
  const ConvSpec spec = ConvSpec::convolution(8, 8, {40, 40}, {3, 3}, {1}, {1});
  const auto weight = integer_tensor<double>(spec.weight_numel());
  const ConvMatrix<double> w(spec, weight.data(), tested_storage);
  BOOST_TEST(w.nnz() > 4 * 65536);
  for (Index batch : {1, 5}) {
    const auto x = integer_tensor<double>(batch * w.cols());
    const auto g = integer_tensor<double>(batch * w.rows());
    std::vector<double> a(g.size()), b(g.size()), c(x.size()), d(x.size());
    w.apply(x.data(), a.data(), batch);
    direct_forward(spec, x.data(), batch, weight.data(), static_cast<const double*>(nullptr),
                   b.data());
    w.apply_adjoint(g.data(), c.data(), batch);
    direct_adjoint(spec, g.data(), batch, weight.data(), d.data());
    BOOST_TEST(a == b, boost::test_tools::per_element());
    BOOST_TEST(c == d, boost::test_tools::per_element());
  }
}

// Layers large enough that the structure and the values are built in parallel chunks (above
// 2^17 nonzeros), including a fill that sums folded taps (replicate padding wider than the kernel
// reach), a grouped strided transposed layer, and batches that use the 16-wide kernels.
template <class Scalar>
void check_large_layer(const ConvSpec& spec) {
  const auto weight = integer_tensor<Scalar>(spec.weight_numel());
  const ConvMatrix<Scalar> w(spec, weight.data(), tested_storage);
  BOOST_TEST(w.nnz() > (Index{1} << 17));
  for (Index batch : {1, 16, 17}) {
    const auto x = integer_tensor<Scalar>(batch * w.cols());
    const auto g = integer_tensor<Scalar>(batch * w.rows());
    std::vector<Scalar> a(g.size()), b(g.size()), c(x.size()), d(x.size());
    w.apply(x.data(), a.data(), batch);
    direct_forward(spec, x.data(), batch, weight.data(), static_cast<const Scalar*>(nullptr),
                   b.data());
    w.apply_adjoint(g.data(), c.data(), batch);
    direct_adjoint(spec, g.data(), batch, weight.data(), d.data());
    BOOST_TEST_CONTEXT(spec.to_string() << ", " << sizeof(Scalar) * 8 << "-bit, batch " << batch) {
      BOOST_TEST(a == b, boost::test_tools::per_element());
      BOOST_TEST(c == d, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(large_layers_built_in_parallel) {
  check_large_layer<float>(ConvSpec::convolution(8, 8, {40, 40}, {3, 3}, {1}, {1}));
  check_large_layer<double>(
      ConvSpec::convolution(4, 4, {40, 40}, {7, 7}, {1}, {5}, {1}, 1, PaddingMode::replicate));
  check_large_layer<float>(ConvSpec::transposed(8, 6, {20, 20}, {4, 4}, {2}, {1}, {1}, 2));
}

BOOST_AUTO_TEST_CASE(nonzero_count_of_a_padded_layer) {
  // 64→64 channels, 3×3, padding 1 on 8×8: every output row reads 64·(3·3) taps, minus the
  // taps that fall into the padding: Σ over positions of (valid rows)·(valid cols).
  const ConvSpec spec = ConvSpec::convolution(64, 64, {8, 8}, {3, 3}, {1}, {1});
  const std::vector<double> weight(static_cast<std::size_t>(spec.weight_numel()), 1.0);
  const ConvMatrix<double> w(spec, weight.data(), tested_storage);
  const Index per_axis = 2 + 3 * 6 + 2;  // Σ valid taps along one axis: 2 + 3·6 + 2 = 22
  BOOST_TEST(w.nnz() == 64 * 64 * per_axis * per_axis);
}

BOOST_AUTO_TEST_CASE(nonzero_count_without_building_equals_the_pattern) {
  // conv_matrix_nnz counts W's nonzeros from the spec alone (progressions, no tap lists); the
  // built pattern is the reference. random_spec covers both kinds, every padding mode (folding
  // taps onto one position), negative padding and output_padding.
  for (int trial = 0; trial < 3000; ++trial) {
    const ConvSpec spec = convmat::test::random_spec(trial % 3 == 0 ? 12 : 7, true);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const ConvPattern pattern(spec);
      BOOST_TEST(conv_matrix_nnz(spec) == pattern.nnz());
      const std::vector<double> weight(static_cast<std::size_t>(spec.weight_numel()), 1.0);
      const ConvMatrix<double> w(spec, weight.data(), tested_storage);
      BOOST_TEST(conv_matrix_bytes(spec, sizeof(double), tested_storage) == w.memory_bytes());
    }
  }
  // Small inputs with large padding and dilation: taps fold onto positions other taps read.
  for (PaddingMode mode : {PaddingMode::reflect, PaddingMode::circular, PaddingMode::replicate}) {
    for (Index n = 1; n <= 6; ++n) {
      for (Index k = 1; k <= 7; ++k) {
        for (Index d = 1; d <= 3; ++d) {
          const Index max_pad = mode == PaddingMode::reflect ? n - 1 : n;
          for (Index p = 0; p <= max_pad; ++p) {
            ConvParams c;
            c.input_size = {n};
            c.kernel_size = {k};
            c.dilation = {d};
            c.pad_begin = {p};
            c.padding_mode = mode;
            if (n + 2 * p - d * (k - 1) - 1 < 0) continue;
            const ConvSpec spec(c);
            BOOST_TEST_CONTEXT(spec.to_string()) {
              BOOST_TEST(conv_matrix_nnz(spec) == ConvPattern(spec).nnz());
            }
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Layers whose W has empty rows, or no nonzeros at all. ConvSpec accepts them (every size is
// at least 1) and PyTorch computes them: positions that only padding reaches. W then has no
// value array (null); building, refilling, exporting and applying it must neither copy into
// nor read from it, and the layer is its bias alone.
BOOST_AUTO_TEST_SUITE(without_nonzeros)

template <class Scalar>
void check_empty_layer(const ConvSpec& spec) {
  BOOST_TEST(conv_matrix_nnz(spec) == 0);
  const auto weight = integer_tensor<Scalar>(spec.weight_numel(), 1, 9);  // no zero weights
  ConvMatrix<Scalar> w(spec, weight.data(), tested_storage);
  BOOST_TEST(w.nnz() == 0);
  const auto m = w.matrix();
  BOOST_TEST(m.rows() == spec.output_numel());
  BOOST_TEST(m.cols() == spec.input_numel());
  BOOST_TEST(m.nonZeros() == 0);
  // Every batch width of the products (1, the 2–16 lanes, and more than one chunk of 16); the
  // outputs start as a sentinel that must be overwritten.
  const auto bias = integer_tensor<Scalar>(spec.out_channels(), 1, 9);
  const Index per_channel = spec.output_numel() / spec.out_channels();
  for (Index batch : {1, 3, 17}) {
    const auto x = integer_tensor<Scalar>(batch * spec.input_numel());
    const auto g = integer_tensor<Scalar>(batch * spec.output_numel());
    std::vector<Scalar> y(g.size(), Scalar(99)), gx(x.size(), Scalar(99));
    w.forward(x.data(), bias.data(), y.data(), batch);
    w.apply_adjoint(g.data(), gx.data(), batch);
    bool y_is_bias = true;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const auto channel =
          static_cast<std::size_t>(static_cast<Index>(i) / per_channel % spec.out_channels());
      y_is_bias = y_is_bias && y[i] == bias[channel];
    }
    BOOST_TEST_CONTEXT(spec.to_string() << ", " << sizeof(Scalar) * 8 << "-bit, batch " << batch) {
      BOOST_TEST(y_is_bias);
      BOOST_TEST(std::all_of(gx.begin(), gx.end(), [](Scalar v) { return v == 0; }));
    }
  }
  // The same against the loops, with a refill.
  randomized::cross_check<Scalar>(spec);
}

BOOST_AUTO_TEST_CASE(layers_whose_matrix_has_no_nonzeros) {
  const ConvSpec empty[] = {
      // Stride 2 over padding 1 of an input of 1: the taps land on positions -1 and 1.
      ConvSpec::convolution(2, 2, {1}, {1}, {2}, {1}),
      // Kernel 2 dilated by 3 over padding 2: positions -2, 1 and -1, 2; in 2 groups, so no
      // group has a tap either.
      ConvSpec::convolution(4, 2, {1, 1}, {2, 2}, {1}, {2}, {3}, 2),
      ConvSpec::convolution(1, 3, {1, 1, 1}, {1, 1, 1}, {2}, {1}),
      // Transposed: the input of 1 splats onto positions -1 and 2 of an output of 2.
      ConvSpec::transposed(1, 1, {1}, {2}, {1}, {1}, {}, 1, {3}),
      ConvSpec::transposed(2, 4, {1, 1}, {2, 2}, {1}, {1}, {}, 2, {3}),
      // output_padding 1 >= stride 1 (below dilation 3): positions -2 and 1 of an output of 1.
      ConvSpec::transposed(1, 1, {1}, {2}, {1}, {2}, {1}, 1, {3}),
  };
  for (const ConvSpec& spec : empty) {
    check_empty_layer<float>(spec);
    check_empty_layer<double>(spec);
  }
}

// Padding 2 around an input of 2 with a 1-tap kernel: W is 6×2 with four empty rows, and the
// transposed layer of the same geometry is its transpose, with four empty columns.
BOOST_AUTO_TEST_CASE(empty_rows_and_columns) {
  const std::vector<double> k{5};
  const Dense w = rows({{0, 0}, {0, 0}, {5, 0}, {0, 5}, {0, 0}, {0, 0}});
  check_layer(ConvSpec::convolution(1, 1, {2}, {1}, {1}, {2}), {1, 2}, k,
              rows({{0, 0, 5, 10, 0, 0}}));
  BOOST_TEST(
      (dense(ConvMatrix<double>(ConvSpec::convolution(1, 1, {2}, {1}, {1}, {2}), k.data())) == w));
  check_layer(ConvSpec::transposed(1, 1, {6}, {1}, {1}, {2}), {1, 2, 3, 4, 5, 6}, k,
              rows({{15, 20}}));
  BOOST_TEST((dense(ConvMatrix<double>(ConvSpec::transposed(1, 1, {6}, {1}, {1}, {2}), k.data())) ==
              Dense(w.transpose())));
}

BOOST_AUTO_TEST_SUITE_END()

// A batch of no samples (PyTorch accepts an input of shape (0, C, ...), and so does layer_args):
// the products compute nothing and touch no memory, so the arrays may be empty (null). Checked on
// a layer with nonzeros and on one without, both directions, float and double.
BOOST_AUTO_TEST_SUITE(empty_batch)

template <class Scalar>
void check_empty_batch(const ConvSpec& spec) {
  const auto weight = integer_tensor<Scalar>(spec.weight_numel());
  const auto bias = integer_tensor<Scalar>(spec.out_channels());
  const ConvMatrix<Scalar> w(spec, weight.data(), tested_storage);
  std::vector<Scalar> none;
  w.apply(none.data(), none.data(), 0);
  w.apply_adjoint(none.data(), none.data(), 0);
  w.forward(none.data(), bias.data(), none.data(), 0);
  // A sentinel next to an empty batch is left alone.
  std::vector<Scalar> x(static_cast<std::size_t>(spec.input_numel()), Scalar(7)),
      y(static_cast<std::size_t>(spec.output_numel()), Scalar(7));
  w.forward(x.data(), bias.data(), y.data(), 0);
  w.apply_adjoint(y.data(), x.data(), 0);
  BOOST_TEST_CONTEXT(spec.to_string() << ", " << sizeof(Scalar) * 8 << "-bit") {
    BOOST_TEST(std::all_of(y.begin(), y.end(), [](Scalar v) { return v == 7; }));
    BOOST_TEST(std::all_of(x.begin(), x.end(), [](Scalar v) { return v == 7; }));
  }
}

BOOST_AUTO_TEST_CASE(products_of_no_samples) {
  for (const ConvSpec& spec : {ConvSpec::convolution(2, 4, {6, 5}, {3, 2}, {2}, {1}, {1}, 2),
                               ConvSpec::transposed(2, 3, {4}, {3}, {2}, {1}, {1}),
                               ConvSpec::convolution(2, 2, {1}, {1}, {2}, {1})}) {
    check_empty_batch<float>(spec);
    check_empty_batch<double>(spec);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// IEEE special values: W·x and the loops give the same NaN, ±inf and finite values when weights
// and inputs hold infinities and NaN. The loops multiply the padding's zeros by the kernel, so a
// non-finite weight meeting zero padding gives NaN (0·inf); W has no entry there and sets those
// rows to NaN itself (ConvPattern::nonfinite_padding_rows).
BOOST_AUTO_TEST_SUITE(ieee)

namespace {

// The same IEEE value: both NaN, or equal (±inf included).
template <class Scalar>
bool same(const std::vector<Scalar>& a, const std::vector<Scalar>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!((std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i])) return false;
  }
  return true;
}

template <class Scalar>
void plant(std::vector<Scalar>& v, int count) {
  const Scalar specials[] = {std::numeric_limits<Scalar>::infinity(),
                             -std::numeric_limits<Scalar>::infinity(),
                             std::numeric_limits<Scalar>::quiet_NaN()};
  for (int i = 0; i < count && !v.empty(); ++i) {
    v[static_cast<std::size_t>(test::uniform(0, static_cast<Index>(v.size()) - 1))] =
        specials[test::uniform(0, 2)];
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_issue_repro_and_pytorch_values) {
  // PyTorch 2: F.conv1d([1, 2, 3], [inf, 1, 1], padding=1) = [nan, inf, inf];
  // F.conv_transpose1d(same, padding=1) = [inf, inf, 5] (the scatter never meets the padding);
  // its input gradient (the adjoint, a gather over the uncropped frame) = [nan, inf, inf].
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> x{1, 2, 3}, w{inf, 1, 1};
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3}, {3}, {1}, {1});
  const ConvMatrix<double> m(conv, w.data(), tested_storage);
  std::vector<double> y(3), by_loops(3);
  m.apply(x.data(), y.data());
  BOOST_TEST(std::isnan(y[0]));
  BOOST_TEST((y[1] == inf && y[2] == inf));
  direct_forward(conv, x.data(), 1, w.data(), static_cast<const double*>(nullptr), by_loops.data());
  BOOST_TEST(same(y, by_loops));
  BOOST_TEST(m.nonfinite_padding_rows() == (std::vector<Index>{0}),
             boost::test_tools::per_element());

  const ConvSpec t = ConvSpec::transposed(1, 1, {3}, {3}, {1}, {1});
  const ConvMatrix<double> mt(t, w.data(), tested_storage);
  mt.apply(x.data(), y.data());
  BOOST_TEST((y == std::vector<double>{inf, inf, 5}), boost::test_tools::per_element());
  const std::vector<double> ones{1, 1, 1};
  mt.apply_adjoint(ones.data(), y.data());
  BOOST_TEST(std::isnan(y[0]));
  BOOST_TEST((y[1] == inf && y[2] == inf));
  direct_adjoint(t, ones.data(), 1, w.data(), by_loops.data());
  BOOST_TEST(same(y, by_loops));

  // Finite weights, or a padding mode without zeros: no such rows.
  const std::vector<double> finite{1, 1, 1};
  BOOST_TEST(
      ConvMatrix<double>(conv, finite.data(), tested_storage).nonfinite_padding_rows().empty());
  const ConvSpec reflect =
      ConvSpec::convolution(1, 1, {3}, {3}, {1}, {1}, {}, 1, PaddingMode::reflect);
  BOOST_TEST(
      ConvMatrix<double>(reflect, w.data(), tested_storage).nonfinite_padding_rows().empty());
}

template <class Scalar>
void ieee_cross_check(const ConvSpec& spec, bool special_input) {
  const Index batch = test::uniform(1, 2);
  auto weight = integer_tensor<Scalar>(spec.weight_numel());
  auto x = integer_tensor<Scalar>(batch * spec.input_numel());
  auto g = integer_tensor<Scalar>(batch * spec.output_numel());
  plant(weight, static_cast<int>(test::uniform(1, 2)));
  if (special_input) {
    plant(x, 1);
    plant(g, 1);
  }
  ConvMatrix<Scalar> w(spec, weight.data(), tested_storage);
  std::vector<Scalar> y_matrix(g.size()), y_loops(g.size());
  w.apply(x.data(), y_matrix.data(), batch);
  direct_forward(spec, x.data(), batch, weight.data(), static_cast<const Scalar*>(nullptr),
                 y_loops.data());
  BOOST_TEST(same(y_matrix, y_loops));
  std::vector<Scalar> gx_matrix(x.size()), gx_loops(x.size());
  w.apply_adjoint(g.data(), gx_matrix.data(), batch);
  direct_adjoint(spec, g.data(), batch, weight.data(), gx_loops.data());
  BOOST_TEST(same(gx_matrix, gx_loops));
  // A refill with finite weights clears the rows.
  const auto finite = integer_tensor<Scalar>(spec.weight_numel());
  w.refill(finite.data());
  BOOST_TEST(w.nonfinite_padding_rows().empty());
}

BOOST_AUTO_TEST_CASE(matrix_equals_loops_with_infinities_and_nan) {
  int padded_nan_layers = 0;
  for (int n = 0; n < 1500; ++n) {
    const ConvSpec spec = test::random_spec();
    BOOST_TEST_CONTEXT("layer " << n << ": " << spec.to_string()) {
      if (n % 2 == 0) {
        ieee_cross_check<double>(spec, n % 4 == 0);
      } else {
        ieee_cross_check<float>(spec, n % 4 == 1);
      }
    }
    const std::vector<double> inf_weight(static_cast<std::size_t>(spec.weight_numel()), INFINITY);
    padded_nan_layers += !ConvMatrix<double>(spec, inf_weight.data(), tested_storage)
                              .nonfinite_padding_rows()
                              .empty();
  }
  BOOST_TEST(padded_nan_layers > 150);  // the generator reached the padded rows
}

BOOST_AUTO_TEST_SUITE_END()

// ChannelBlockedMatrix: the channel-blocked W gives exactly what the direct loops give, on
// thousands of random layers covering every field with blocks of 1, 2, 4 and 8 channels, batched
// and in parallel, with every kernel set the CPU runs; its CSR export is exactly the CSR that
// ConvPattern builds; its channels-last BSR export is W with its rows permuted; its memory is what
// channel_blocked_bytes says. Integer-valued data: every comparison is exact.
#define BOOST_TEST_MODULE channel_blocked_matrix
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <bit>

#include "convmat/core/channel_blocked_matrix.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/detail/kernel_isa.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::integer_tensor;

namespace {

using Dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// random_spec with more output channels per group (a factor of 1, 2, 3, 4 or 8 on the stored
// W's rows), so that every block size occurs.
ConvSpec random_blocked_spec(Index max_size = 7) {
  const ConvSpec base = test::random_spec(max_size, true);
  ConvParams p = base.params();
  const Index factors[] = {1, 2, 3, 4, 8};
  const Index f = factors[test::uniform(0, 4)];
  if (base.is_transposed()) {
    p.in_channels *= f;
  } else {
    p.out_channels *= f;
  }
  return ConvSpec(p);
}

// The layer by the channel-blocked W against the loops: forward with bias, the adjoint,
// ⟨M x, g⟩ = ⟨x, Mᵀ g⟩, a refill against a fresh build, and the CSR export.
template <class Scalar>
void cross_check(const ConvSpec& spec) {
  const Index batch = test::uniform(1, 3);
  const auto weight = integer_tensor<Scalar>(spec.weight_numel());
  const auto bias = integer_tensor<Scalar>(spec.out_channels());
  const auto x = integer_tensor<Scalar>(batch * spec.input_numel());
  const auto g = integer_tensor<Scalar>(batch * spec.output_numel());

  ConvMatrix<Scalar> w(spec, weight.data(), ConvStorage::channel_blocked);
  BOOST_TEST(w.storage() == ConvStorage::channel_blocked);
  std::vector<Scalar> y_matrix(g.size()), y_loops(g.size());
  w.forward(x.data(), bias.data(), y_matrix.data(), batch);
  direct_forward(spec, x.data(), batch, weight.data(), bias.data(), y_loops.data());
  BOOST_TEST(y_matrix == y_loops, boost::test_tools::per_element());

  std::vector<Scalar> gx_matrix(x.size()), gx_loops(x.size());
  w.apply_adjoint(g.data(), gx_matrix.data(), batch);
  direct_adjoint(spec, g.data(), batch, weight.data(), gx_loops.data());
  BOOST_TEST(gx_matrix == gx_loops, boost::test_tools::per_element());

  std::vector<Scalar> mx(g.size());
  w.apply(x.data(), mx.data(), batch);
  BOOST_TEST(test::dot(mx, g) == test::dot(x, gx_matrix));

  // The CSR export is the CSR W, array by array.
  const ConvMatrix<Scalar> csr(spec, weight.data(), ConvStorage::csr);
  const CsrMatrix<Scalar>& a = w.stored();  // made by to_csr()
  const CsrMatrix<Scalar>& b = csr.stored();
  BOOST_TEST(a.rows() == b.rows());
  BOOST_TEST(a.nnz() == b.nnz());
  BOOST_TEST(std::equal(a.row_ptr(), a.row_ptr() + a.rows() + 1, b.row_ptr()));
  BOOST_TEST(std::equal(a.col_index(), a.col_index() + a.nnz(), b.col_index()));
  BOOST_TEST(std::equal(a.values(), a.values() + a.nnz(), b.values()));

  // New weights, same structure (and the CSR copy follows).
  const auto weight2 = integer_tensor<Scalar>(spec.weight_numel());
  w.refill(weight2.data());
  const ConvMatrix<Scalar> fresh(spec, weight2.data(), ConvStorage::csr);
  BOOST_TEST(
      std::equal(w.stored().values(), w.stored().values() + w.nnz(), fresh.stored().values()));
  std::vector<Scalar> y2(g.size()), y2_csr(g.size());
  w.apply(x.data(), y2.data(), batch);
  fresh.apply(x.data(), y2_csr.data(), batch);
  BOOST_TEST(y2 == y2_csr, boost::test_tools::per_element());
}

}  // namespace

BOOST_AUTO_TEST_CASE(block_size_from_the_channel_count) {
  BOOST_TEST(ChannelBlocks::block_for(64) == 8);
  BOOST_TEST(ChannelBlocks::block_for(12) == 4);
  BOOST_TEST(ChannelBlocks::block_for(6) == 2);
  BOOST_TEST(ChannelBlocks::block_for(3) == 1);
  BOOST_TEST(ChannelBlocks::block_for(1) == 1);
  // automatic: channel-blocked where a block has two or more channels.
  BOOST_TEST(resolve_storage(ConvSpec::convolution(3, 64, {8, 8}, {3, 3}),
                             ConvStorage::automatic) == ConvStorage::channel_blocked);
  BOOST_TEST(resolve_storage(ConvSpec::convolution(64, 1, {8, 8}, {3, 3}),
                             ConvStorage::automatic) == ConvStorage::csr);
  BOOST_TEST(resolve_storage(ConvSpec::transposed(64, 1, {8, 8}, {3, 3}), ConvStorage::automatic) ==
             ConvStorage::channel_blocked);
  BOOST_TEST(resolve_storage(ConvSpec::convolution(4, 4, {8, 8}, {3, 3}, {1}, {1}, {1}, 4),
                             ConvStorage::automatic) == ConvStorage::csr);  // depthwise
}

BOOST_AUTO_TEST_CASE(matrix_equals_loops_on_random_layers) {
  int by_block[4] = {0, 0, 0, 0}, by_kind[2] = {0, 0};
  const int layers = 3000;
  for (int n = 0; n < layers; ++n) {
    const ConvSpec spec = random_blocked_spec();
    const Index rows_per_group =
        (spec.is_transposed() ? spec.in_channels() : spec.out_channels()) / spec.groups();
    BOOST_TEST_CONTEXT("layer " << n << ": " << spec.to_string()) {
      if (n % 2 == 0) {
        cross_check<double>(spec);
      } else {
        cross_check<float>(spec);
      }
    }
    ++by_block[std::countr_zero(static_cast<unsigned>(ChannelBlocks::block_for(rows_per_group)))];
    ++by_kind[spec.is_transposed()];
  }
  for (int c : by_block) BOOST_TEST(c > layers / 20);
  for (int c : by_kind) BOOST_TEST(c > layers / 4);
}

// Every batch size up to 20 (chunks of 16 lanes, widths 2–16) equals sample-by-sample products,
// with each kernel set the CPU runs, on layers large enough for several threads.
template <class Scalar>
void check_batches_and_threads(const ConvSpec& spec) {
  const auto weight = integer_tensor<Scalar>(spec.weight_numel());
  const ConvMatrix<Scalar> w(spec, weight.data(), ConvStorage::channel_blocked);
  const ConvMatrix<Scalar> csr(spec, weight.data(), ConvStorage::csr);
  for (Index batch : {1, 2, 3, 7, 16, 17, 20}) {
    const auto x = integer_tensor<Scalar>(batch * w.cols());
    const auto y = integer_tensor<Scalar>(batch * w.rows());
    std::vector<Scalar> a(y.size()), b(y.size()), c(x.size()), d(x.size());
    w.apply(x.data(), a.data(), batch);
    csr.apply(x.data(), b.data(), batch);
    w.apply_adjoint(y.data(), c.data(), batch);
    csr.apply_adjoint(y.data(), d.data(), batch);
    BOOST_TEST_CONTEXT(spec.to_string()
                       << ", " << sizeof(Scalar) * 8 << "-bit, batch " << batch << ", kernels "
                       << detail::to_string(detail::kernel_isa())) {
      BOOST_TEST(a == b, boost::test_tools::per_element());
      BOOST_TEST(c == d, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(batches_threads_and_kernel_sets) {
  const detail::KernelIsa original = detail::kernel_isa();
  for (detail::KernelIsa isa :
       {detail::KernelIsa::generic, detail::KernelIsa::avx2, detail::KernelIsa::avx512}) {
    if (!detail::cpu_supports(isa)) continue;
    detail::set_kernel_isa(isa);
    check_batches_and_threads<float>(ConvSpec::convolution(8, 16, {24, 24}, {3, 3}, {1}, {1}));
    check_batches_and_threads<double>(ConvSpec::convolution(6, 12, {20, 20}, {3, 3}, {1}, {1}));
    check_batches_and_threads<float>(ConvSpec::transposed(16, 6, {12, 12}, {4, 4}, {2}, {1}));
    check_batches_and_threads<double>(
        ConvSpec::convolution(4, 4, {30, 30}, {5, 5}, {1}, {4}, {1}, 2, PaddingMode::reflect));
  }
  detail::set_kernel_isa(original);
}

// W with rows in channels-last order, (p, o), from the BSR arrays, against W itself.
BOOST_AUTO_TEST_CASE(bsr_export_is_w_with_channels_last_rows) {
  for (const ConvSpec& spec : {ConvSpec::convolution(3, 8, {5, 6}, {3, 3}, {2}, {1}),
                               ConvSpec::transposed(12, 2, {4, 4}, {3, 3}, {2}, {1}, {1}, 2)}) {
    const auto weight = integer_tensor<double>(spec.weight_numel());
    const ConvMatrix<double> w(spec, weight.data(), ConvStorage::channel_blocked);
    const Dense stored = Dense(w.stored().to_eigen());
    const auto bsr = w.blocked()->to_bsr_channels_last();
    const Index B = bsr.block, rows = stored.rows();
    const Index channels = spec.is_transposed() ? spec.in_channels() : spec.out_channels();
    const Index positions = rows / channels;
    BOOST_TEST(B == w.blocked()->structure()->block());
    BOOST_TEST(bsr.block_rows * B == rows);
    Dense from_bsr = Dense::Zero(rows, stored.cols());
    for (Index br = 0; br < bsr.block_rows; ++br) {
      for (auto k = bsr.indptr[br]; k < bsr.indptr[br + 1]; ++k) {
        for (Index r = 0; r < B; ++r) {
          from_bsr(br * B + r, bsr.indices[k]) += bsr.data[static_cast<std::size_t>(k * B + r)];
        }
      }
    }
    Dense permuted(rows, stored.cols());
    std::vector<Index> row(static_cast<std::size_t>(rows));
    for (Index o = 0; o < channels; ++o) {
      for (Index p = 0; p < positions; ++p) {
        permuted.row(p * channels + o) = stored.row(o * positions + p);
        row[static_cast<std::size_t>(p * channels + o)] = o * positions + p;
      }
    }
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST((from_bsr == permuted));
      BOOST_TEST(bsr.row == row, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(memory_is_the_estimate_and_smaller_than_csr) {
  for (int n = 0; n < 300; ++n) {
    const ConvSpec spec = random_blocked_spec(9);
    const std::vector<float> weight(static_cast<std::size_t>(spec.weight_numel()), 1.0f);
    const ConvMatrix<float> w(spec, weight.data(), ConvStorage::channel_blocked);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST(w.memory_bytes() == channel_blocked_bytes(spec, sizeof(float)));
      BOOST_TEST(conv_matrix_bytes(spec, sizeof(float), ConvStorage::channel_blocked) ==
                 w.memory_bytes());
    }
  }
  // 64 → 64 channels, 3×3: 4 + 4/64 bytes per nonzero in float32 against CSR's 8.
  const ConvSpec b = ConvSpec::convolution(64, 64, {56, 56}, {3, 3}, {1}, {1});
  const double blocked = double(conv_matrix_bytes(b, 4, ConvStorage::channel_blocked));
  const double csr = double(conv_matrix_bytes(b, 4, ConvStorage::csr));
  BOOST_TEST(blocked <= 0.65 * csr);
}

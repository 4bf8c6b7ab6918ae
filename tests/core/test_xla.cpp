// XLA's general convolution (xla.hpp): the translation of its attributes into a ConvSpec and
// layouts, the layouts' reversed axes and group moves (layout.hpp), and the refusals, each
// naming StableHLO's constraint. The arithmetic itself is compared with a reference written
// from the StableHLO specification in tests/python/test_xla.py.
#define BOOST_TEST_MODULE xla
#include <boost/test/unit_test.hpp>

#include <numeric>

#include "convmat/analysis/checkerboard.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_ops.hpp"
#include "convmat/core/loops.hpp"
#include "convmat/core/xla.hpp"
#include "convmat/oracle/benchdnn_descriptor.hpp"
#include "convmat/solve/preconditioner.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::expect_error;

// StableHLO's own `convolution` example (docs/spec.md): lhs_dilation 2 and window_strides 4 on a
// 4×4 input with a 3×3 kernel of ones give [[10, 26], [46, 62]]. The dilated input is 7×7 with
// the input at even positions; window (0, 0) sums x[0..1][0..1] = 1 + 2 + 3 + 4, window (0, 1)
// x[0..1][2..3] = 5 + 6 + 7 + 8, and so on — by the direct loops and by W.
BOOST_AUTO_TEST_CASE(the_specification_example_with_input_dilation_and_strides) {
  XlaConvArgs a;
  a.window_strides = {4, 4};
  a.pads = {0, 0, 0, 0};
  a.lhs_dilation = {2, 2};
  a.dimension_numbers = "NHWC,HWIO,NHWC";
  const LayerCall call = xla_conv({1, 4, 4, 1}, {3, 3, 1, 1}, a);
  BOOST_TEST(!call.spec.is_transposed());
  BOOST_TEST(call.spec.input_dilation() == (Dims{2, 2}), boost::test_tools::per_element());
  BOOST_TEST(call.spec.stride() == (Dims{4, 4}), boost::test_tools::per_element());
  BOOST_TEST(call.given_output_shape() == (Dims{1, 2, 2, 1}), boost::test_tools::per_element());
  // lhs in NHWC (C = 1: the same numbers as NCHW), the spec's [[1, 2, 5, 6], [3, 4, 7, 8], ...]
  const std::vector<double> lhs{1, 2, 5, 6, 3, 4, 7, 8, 10, 11, 14, 15, 12, 13, 16, 17};
  const std::vector<double> rhs(9, 1.0);
  const std::vector<double> want{10, 26, 46, 62};
  std::vector<double> loops(4), matrix(4);
  direct_forward(call.spec, lhs.data(), 1, rhs.data(), static_cast<const double*>(nullptr),
                 loops.data());
  BOOST_TEST(loops == want, boost::test_tools::per_element());
  const ConvMatrix<double> w(call.spec, rhs.data());
  w.apply(lhs.data(), matrix.data());
  BOOST_TEST(matrix == want, boost::test_tools::per_element());
  BOOST_TEST(w.nnz() == 16);  // each output reads the 4 input positions on the dilated grid
  // window_strides 1: still the transposed convolution of stride 2 (every consumer takes it)
  a.window_strides = {1, 1};
  BOOST_TEST(xla_conv({1, 4, 4, 1}, {3, 3, 1, 1}, a).spec.is_transposed());
}

// What assumes input rows at stride spacing refuses an input-dilated layer, naming it.
BOOST_AUTO_TEST_CASE(models_of_the_stride_refuse_an_input_dilation) {
  ConvParams p;
  p.input_size = {6, 6};
  p.kernel_size = {3, 3};
  p.stride = {2, 2};
  p.pad_begin = {1, 1};
  p.input_dilation = {2, 1};
  const ConvSpec s(p);
  const std::vector<double> w(static_cast<std::size_t>(s.weight_numel()), 1.0);
  expect_error([&] { LayerPreconditioner<double>(s, w.data()); }, "input dilation");
  expect_error([&] { circular_singular_values(s, w.data()); }, "needs input dilation 1");
  expect_error([&] { checkerboard(s); }, "without input dilation");
  expect_error([&] { format_benchdnn_descriptor(s); }, "no input dilation");
}

BOOST_AUTO_TEST_CASE(attributes_become_the_spec) {
  XlaConvArgs a;
  a.window_strides = {2, 1};
  a.pads = {1, -1, 0, 2};
  a.rhs_dilation = {1, 2};
  a.dimension_numbers = "NHWC,HWIO,NHWC";
  a.feature_group_count = 2;
  ConvParams p;
  p.in_channels = 4;
  p.out_channels = 5;  // rhs O
  p.groups = 2;
  p.input_size = {7, 6};
  p.kernel_size = {3, 2};
  p.stride = {2, 1};
  p.dilation = {1, 2};
  p.pad_begin = {1, 0};
  p.pad_end = {-1, 2};
  // (C16) 5 % 2 != 0: this rhs is refused; with 6 output features it is the spec above
  expect_error([&] { xla_conv({3, 7, 6, 4}, {3, 2, 2, 5}, a); }, "(C16)");
  const LayerCall ok = xla_conv({3, 7, 6, 4}, {3, 2, 2, 6}, a);  // lhs NHWC, rhs HWIO
  p.out_channels = 6;
  BOOST_TEST((ok.spec == ConvSpec(p)));
  BOOST_TEST(ok.batch == 3);
  BOOST_TEST(ok.given_output_shape() == (Dims{3, 3, 6, 6}), boost::test_tools::per_element());
}

// JAX's padtype_to_pads on the dilated kernel: SAME puts ⌊P/2⌋ low, SAME_LOWER ⌊P/2⌋ high.
BOOST_AUTO_TEST_CASE(padding_strings_are_jax_s) {
  XlaConvArgs a;
  a.window_strides = {2};
  a.rhs_dilation = {2};
  // n = 6, k = 2 → k_eff 3, s = 2: out ⌈6/2⌉ = 3, P = (3−1)·2 + 3 − 6 = 1
  a.padding = "SAME";
  LayerCall c = xla_conv({1, 1, 6}, {1, 1, 2}, a);
  BOOST_TEST(c.spec.pad_begin()[0] == 0);
  BOOST_TEST(c.spec.pad_end()[0] == 1);
  a.padding = "same_lower";  // any case, as jax's padding.upper()
  c = xla_conv({1, 1, 6}, {1, 1, 2}, a);
  BOOST_TEST(c.spec.pad_begin()[0] == 1);
  BOOST_TEST(c.spec.pad_end()[0] == 0);
  a.padding = "VALID";
  c = xla_conv({1, 1, 6}, {1, 1, 2}, a);
  BOOST_TEST(c.spec.output_size()[0] == 2);
}

BOOST_AUTO_TEST_CASE(batch_groups_and_reversal_are_layouts) {
  XlaConvArgs a;
  a.batch_group_count = 2;
  a.window_reversal = {1};
  // lhs (N=4, C=3, 5), rhs (O=2, I=3, 2): two batch groups of 2 samples
  const LayerCall call = xla_conv({4, 3, 5}, {2, 3, 2}, a);
  BOOST_TEST(call.batch == 2);
  BOOST_TEST(call.spec.in_channels() == 6);
  BOOST_TEST(call.spec.groups() == 2);
  BOOST_TEST(call.given_input_shape() == (Dims{4, 3, 5}), boost::test_tools::per_element());
  // lhs[g·2 + n, c, i] is convmat's input [n, g·3 + c, i]
  BOOST_TEST(call.given_index(LayerCall::Tensor::input, {1, 4, 2}) == (Dims{3, 1, 2}),
             boost::test_tools::per_element());
  // the kernel read backwards: convmat's weight [o, i, t] is rhs[o, i, 1 − t]
  BOOST_TEST(call.given_index(LayerCall::Tensor::weight, {1, 2, 0}) == (Dims{1, 2, 1}),
             boost::test_tools::per_element());

  // The product agrees with StableHLO's split / convolve / concatenate on integer data.
  std::vector<double> x(4 * 3 * 5), w(2 * 3 * 2);
  std::iota(x.begin(), x.end(), -7.0);
  std::iota(w.begin(), w.end(), -3.0);
  std::vector<double> xc(x.size()), wc(w.size()), y(static_cast<std::size_t>(2 * 2 * 4));
  permute_to_canonical(x.data(), call.input_shape(), call.input_layout, xc.data());
  permute_to_canonical(w.data(), call.spec.weight_shape(), call.weight_layout, wc.data());
  direct_forward(call.spec, xc.data(), call.batch, wc.data(), static_cast<const double*>(nullptr),
                 y.data());
  for (Index n = 0; n < 2; ++n) {
    for (Index o = 0; o < 2; ++o) {  // output feature o is batch group g = o (one each)
      for (Index j = 0; j < 4; ++j) {
        double want = 0;
        for (Index c = 0; c < 3; ++c) {
          for (Index t = 0; t < 2; ++t) {  // the reversed window: lhs[j + 1 − t]·rhs[t]
            want += x[static_cast<std::size_t>(((o * 2 + n) * 3 + c) * 5 + j + 1 - t)] *
                    w[static_cast<std::size_t>((o * 3 + c) * 2 + t)];
          }
        }
        BOOST_TEST(y[static_cast<std::size_t>((n * 2 + o) * 4 + j)] == want);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(layouts_with_moves_and_reversals) {
  // (2, 6) with the 3 groups of axis 1 moved to axis 0, then axis 1 reversed: (6, 2)
  const Layout l = Layout({0, 1}).with_group_move(1, 0, 3).with_reversed_axis(1);
  BOOST_TEST(!l.is_identity());
  BOOST_TEST(!l.is_permutation());
  BOOST_TEST(l.shape_from_canonical({2, 6}) == (Dims{6, 2}), boost::test_tools::per_element());
  const std::vector<Index> order = l.flat_order({2, 6});
  // user [u0, u1] = canonical [u0 % 2, (u0 / 2)·2 + (1 − u1)]
  std::vector<Index> want;
  for (Index u0 = 0; u0 < 6; ++u0) {
    for (Index u1 = 0; u1 < 2; ++u1) want.push_back((u0 % 2) * 6 + (u0 / 2) * 2 + (1 - u1));
  }
  BOOST_TEST(order == want, boost::test_tools::per_element());
  expect_error([&] { l.from_canonical({2, 6}); }, "needs the tensor's shape");
  expect_error([&] { l.without_axis(0); }, "keeps all its axes");
  expect_error([&] { l.shape_from_canonical({2, 5}); }, "needs its size to be a multiple");
  expect_error([] { Layout({0, 1}).with_group_move(1, 1, 2); }, "two different axes");
}

BOOST_AUTO_TEST_CASE(refusals_name_stablehlo_s_constraints) {
  auto refuse = [](const Dims& lhs, const Dims& rhs, XlaConvArgs a, const std::string& what) {
    expect_error([&] { xla_conv(lhs, rhs, a); }, what);
  };
  XlaConvArgs a;
  refuse({1, 1, 5}, {1, 1, 2, 2}, a, "(C1)");
  a.window_strides = {1, 1};
  refuse({1, 1, 5}, {1, 1, 2}, a, "(C2) size(window_strides) = 1");
  a = {};
  a.window_strides = {0};
  refuse({1, 1, 5}, {1, 1, 2}, a, "(C3)");
  a = {};
  a.pads = {1, 1, 1};
  refuse({1, 1, 5}, {1, 1, 2}, a, "(C4)");
  a = {};
  a.lhs_dilation = {0};
  refuse({1, 1, 5}, {1, 1, 2}, a, "(C6)");
  a = {};
  a.window_reversal = {2};
  refuse({1, 1, 5}, {1, 1, 2}, a, "window_reversal holds booleans");
  a = {};
  a.batch_group_count = 2;
  refuse({3, 1, 5}, {2, 1, 2}, a, "(C10)");
  refuse({2, 1, 5}, {3, 1, 2}, a, "(C15)");
  a.feature_group_count = 2;
  refuse({2, 2, 5}, {2, 1, 2}, a, "(C23)");
  a = {};
  a.feature_group_count = 2;
  refuse({1, 3, 5}, {2, 1, 2}, a, "(C11)");
  refuse({1, 4, 5}, {2, 1, 2}, a, "(C14)");
  a = {};
  a.lhs_dilation = {2};
  a.padding = "SAME";
  refuse({1, 1, 5}, {1, 1, 2}, a, "string padding ('SAME') is not defined with lhs_dilation");
  a = {};
  a.dimension_numbers = "NWC,WIO";
  refuse({1, 5, 1}, {2, 1, 1}, a, "dimension_numbers must be three strings");
  a.dimension_numbers = "NCHW,OIHW,NCHW";
  refuse({1, 5, 1}, {2, 1, 1}, a, "describe 4-d tensors");
  // the op table: layouts only from dimension_numbers
  expect_error(
      [] {
        layer_op("xla_conv")
            .resolve({1, 1, 5}, {1, 1, 2}, {{"data_format", KeywordValue(std::string("NWC"))}});
      },
      "takes its layouts from dimension_numbers, not data_format");
}

// StableHLO's output size is the number of windows: 0 where the dilated window is longer than
// the padded, dilated input, as jax computes it. Such a layer has no ConvSpec; xla_conv throws
// EmptyOutput with the output's shape in the out string's order (after every other rule), and a
// padded input below 0 is refused as jax refuses it.
BOOST_AUTO_TEST_CASE(empty_outputs_carry_their_shape) {
  auto empty_shape = [](const Dims& lhs, const Dims& rhs, const XlaConvArgs& a) {
    try {
      xla_conv(lhs, rhs, a);
    } catch (const EmptyOutput& e) {
      BOOST_TEST(std::string(e.what()).find("the output is empty") != std::string::npos);
      return e.shape;
    }
    BOOST_FAIL("no EmptyOutput");
    return Dims{};
  };
  XlaConvArgs a;
  // VALID: window 3 in an input of 2 (NCW: (N, O, 0)).
  BOOST_TEST(empty_shape({2, 1, 2}, {4, 1, 3}, a) == (Dims{2, 4, 0}),
             boost::test_tools::per_element());
  // rhs_dilation 2 makes a window of 3 from a kernel of 2; padding (1, −1) keeps 2 positions.
  a.rhs_dilation = {2};
  a.pads = {1, -1};
  BOOST_TEST(empty_shape({1, 1, 2}, {1, 1, 2}, a) == (Dims{1, 1, 0}),
             boost::test_tools::per_element());
  // lhs_dilation with window strides 1 (convmat's transposed convolution otherwise): the input of
  // 2 dilated by 3 is 4 long, cropped by 1 at each end to 2, shorter than a window of 3.
  a = {};
  a.lhs_dilation = {3};
  a.pads = {-1, -1};
  BOOST_TEST(empty_shape({1, 1, 2}, {1, 1, 3}, a) == (Dims{1, 1, 0}),
             boost::test_tools::per_element());
  // The out string's order, batch groups dividing the batch; and a batch of 0.
  a = {};
  a.dimension_numbers = "NHWC,HWIO,CHNW";
  a.batch_group_count = 2;
  BOOST_TEST(empty_shape({4, 1, 5, 1}, {2, 2, 1, 6}, a) == (Dims{6, 0, 2, 4}),
             boost::test_tools::per_element());
  a = {};
  BOOST_TEST(empty_shape({0, 1, 5}, {2, 1, 2}, a) == (Dims{0, 2, 4}),
             boost::test_tools::per_element());
  // A window that fits is a layer.
  BOOST_TEST(xla_conv({1, 1, 3}, {1, 1, 3}, a).spec.output_size() == (Dims{1}),
             boost::test_tools::per_element());
  // The rules come first; a padded input below 0 is refused.
  expect_error([] { xla_conv({1, 4, 2}, {1, 1, 3}, XlaConvArgs{}); }, "(C14)");
  a.pads = {-2, -1};
  expect_error(
      [&] {
        xla_conv({1, 1, 2}, {1, 1, 1}, a);
      },
      "(-2, -1) of spatial dimension 0 makes the padded input -1 long");
}

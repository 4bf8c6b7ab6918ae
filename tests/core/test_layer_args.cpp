// PyTorch's and ONNX's argument conventions → ConvSpec.
#define BOOST_TEST_MODULE layer_args
#include <boost/test/unit_test.hpp>

#include "convmat/core/layer_args.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::expect_error;
namespace tt = boost::test_tools;

namespace {}  // namespace

BOOST_AUTO_TEST_SUITE(torch)

BOOST_AUTO_TEST_CASE(batched_and_unbatched_inputs) {
  TorchConvArgs a;
  a.stride = {2};
  a.padding = {1, 0};
  const LayerCall b = torch_conv({4, 3, 9, 8}, {6, 3, 3, 2}, a, 2);
  BOOST_TEST(b.batched);
  BOOST_TEST(b.batch == 4);
  BOOST_TEST(b.spec.output_shape() == (Dims{6, 5, 4}), tt::per_element());
  const LayerCall u = torch_conv({3, 9, 8}, {6, 3, 3, 2}, a, 2);
  BOOST_TEST(!u.batched);
  BOOST_TEST(u.batch == 1);
  BOOST_TEST((u.spec == b.spec));
}

BOOST_AUTO_TEST_CASE(same_padding_puts_the_odd_one_at_the_end) {
  TorchConvArgs a;
  a.padding_name = "same";
  a.dilation = {1, 3};
  // kernel 4, dilation 1: total 3 → 1 + 2;  kernel 3, dilation 3: total 6 → 3 + 3
  const LayerCall c = torch_conv({1, 2, 7, 7}, {1, 2, 4, 3}, a);
  BOOST_TEST(c.spec.pad_begin() == (Dims{1, 3}), tt::per_element());
  BOOST_TEST(c.spec.pad_end() == (Dims{2, 3}), tt::per_element());
  BOOST_TEST(c.spec.output_size() == (Dims{7, 7}), tt::per_element());
  a.stride = {2};
  expect_error(
      [&] {
        torch_conv({1, 2, 7, 7}, {1, 2, 4, 3}, a);
      },
      "padding='same' is not supported for strided convolutions");
  a.padding_name = "valid";
  BOOST_TEST(torch_conv({1, 2, 7, 7}, {1, 2, 4, 3}, a).spec.pad_begin() == (Dims{0, 0}),
             tt::per_element());
  a.padding_name = "full";
  expect_error([&] { torch_conv({1, 2, 7, 7}, {1, 2, 4, 3}, a); }, "invalid padding string 'full'");
}

BOOST_AUTO_TEST_CASE(torch_errors) {
  TorchConvArgs a;
  expect_error(
      [&] {
        torch_conv({1, 3, 5, 5}, {2, 4, 3, 3}, a, 2);
      },
      "expected input[1, 3, 5, 5] to have 4 channels, but got 3 channels instead");
  expect_error(
      [&] {
        torch_conv({3, 5}, {2, 3, 3, 3}, a, 2);
      },
      "expected 3D (unbatched) or 4D (batched) input");
  expect_error([&] { torch_conv({1, 3, 5, 5}, {2, 3, 3}, a, 2); }, "expected a 4D weight");
  a.stride = {1, 1, 1};
  expect_error(
      [&] {
        torch_conv({1, 3, 5, 5}, {2, 3, 3, 3}, a, 2);
      },
      "expected stride to be a single integer value or a list of 2 values");
  a = TorchConvArgs{};
  a.padding = {-1};
  expect_error(
      [&] {
        torch_conv({1, 3, 5, 5}, {2, 3, 3, 3}, a, 2);
      },
      "negative padding is not supported");
  expect_error(
      [&] {
        torch_conv_transpose({1, 3, 5, 5}, {3, 3, 3, 3}, a, 2);
      },
      "negative padding is not supported");
  a = TorchConvArgs{};
  a.groups = 2;
  expect_error(
      [&] {
        torch_conv({1, 4, 5, 5}, {3, 2, 3, 3}, a, 2);
      },
      "divisible by 2 at dimension 0");
  a = TorchConvArgs{};
  a.padding_mode = PaddingMode::reflect;
  expect_error(
      [&] {
        torch_conv_transpose({1, 3, 5, 5}, {3, 3, 3, 3}, a, 2);
      },
      "only 'zeros' padding mode");
}

BOOST_AUTO_TEST_CASE(transposed_weight_layout_and_groups) {
  TorchConvArgs a;
  a.groups = 2;
  a.stride = {2};
  a.output_padding = {1};
  // weight (C_in, C_out/groups, k): 4 inputs, 3·2 = 6 outputs
  const LayerCall t = torch_conv_transpose({2, 4, 5}, {4, 3, 3}, a);
  BOOST_TEST(t.spec.is_transposed());
  BOOST_TEST(t.spec.out_channels() == 6);
  BOOST_TEST(t.spec.output_size() == (Dims{12}), tt::per_element());  // 4·2 + 2 + 1 + 1
}

BOOST_AUTO_TEST_CASE(rank_from_the_weight_still_checks_its_dimensions) {
  // rank = 0 takes the rank from the weight (the Python conv_matrix does this); an empty weight
  // dimension must be rejected on that path too, not reach ConvSpec as a zero-size kernel.
  TorchConvArgs a;
  expect_error(
      [&] {
        torch_conv({1, 2, 5, 5}, {3, 2, 0, 3}, a);
      },
      "every dimension of the weight must be >= 1, got weight of shape [3, 2, 0, 3]");
  expect_error(
      [&] {
        torch_conv_transpose({1, 2, 5}, {2, 0, 3}, a);
      },
      "every dimension of the weight must be >= 1");
  expect_error(
      [&] {
        torch_conv({1, 2, 5}, {3, 2}, a);
      },
      "the weight must have 3, 4 or 5 dimensions");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(onnx)

BOOST_AUTO_TEST_CASE(conv_auto_pad) {
  OnnxConvAttributes a;
  a.strides = {2, 2};
  a.auto_pad = "SAME_UPPER";
  // n = 7, k = 3, s = 2: out 4, total 3·2 + 3 − 7 = 2 → 1 + 1;
  // n = 6, k = 5, s = 2: out 3, total 2·2 + 5 − 6 = 3 → 1 + 2 (UPPER) or 2 + 1 (LOWER)
  LayerCall c = onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
  BOOST_TEST(c.spec.output_size() == (Dims{4, 3}), tt::per_element());
  BOOST_TEST(c.spec.pad_begin() == (Dims{1, 1}), tt::per_element());
  BOOST_TEST(c.spec.pad_end() == (Dims{1, 2}), tt::per_element());
  a.auto_pad = "SAME_LOWER";
  c = onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
  BOOST_TEST(c.spec.pad_begin() == (Dims{1, 2}), tt::per_element());
  BOOST_TEST(c.spec.pad_end() == (Dims{1, 1}), tt::per_element());
  a.auto_pad = "VALID";
  c = onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
  BOOST_TEST(c.spec.output_size() == (Dims{3, 1}), tt::per_element());
  a.auto_pad = "NOTSET";
  a.pads = {0, 1, 2, 3};
  c = onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
  BOOST_TEST(c.spec.pad_begin() == (Dims{0, 1}), tt::per_element());
  BOOST_TEST(c.spec.pad_end() == (Dims{2, 3}), tt::per_element());
  a.auto_pad = "SAME_UPPER";
  expect_error(
      [&] {
        onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
      },
      "cannot be used together with auto_pad");
  a.auto_pad = "SAME";
  a.pads = {};
  expect_error(
      [&] {
        onnx_conv({1, 1, 7, 6}, {1, 1, 3, 5}, a);
      },
      "auto_pad must be NOTSET, SAME_UPPER");
}

// ONNX's backend test cases for ConvTranspose, shapes only (values are checked in Python).
BOOST_AUTO_TEST_CASE(conv_transpose_shapes) {
  OnnxConvAttributes a;
  a.strides = {3, 2};
  a.pads = {1, 2, 1, 2};  // test_convtranspose_pads: (1,1,3,3) → (1,2,7,3)
  BOOST_TEST(
      onnx_conv_transpose({1, 1, 3, 3}, {1, 2, 3, 3}, a).spec.output_shape() == (Dims{2, 7, 3}),
      tt::per_element());
  a = OnnxConvAttributes{};
  a.strides = {3, 2};
  a.output_shape = {10, 8};  // test_convtranspose_output_shape: natural 9×7, total −1 each
  LayerCall t = onnx_conv_transpose({1, 1, 3, 3}, {1, 2, 3, 3}, a);
  BOOST_TEST(t.spec.output_size() == (Dims{10, 8}), tt::per_element());
  // NOTSET: begin = total − ⌊total/2⌋ = 0, end = ⌊−1/2⌋ = −1: a zero row and column at the end.
  BOOST_TEST(t.spec.pad_begin() == (Dims{0, 0}), tt::per_element());
  BOOST_TEST(t.spec.pad_end() == (Dims{-1, -1}), tt::per_element());
  a.output_padding = {1, 1};  // test_convtranspose_kernel_shape: total 0
  a.kernel_shape = {3, 3};
  t = onnx_conv_transpose({1, 1, 3, 3}, {1, 2, 3, 3}, a);
  BOOST_TEST(t.spec.pad_begin() == (Dims{0, 0}), tt::per_element());
  BOOST_TEST(t.spec.pad_end() == (Dims{0, 0}), tt::per_element());
  a = OnnxConvAttributes{};
  a.strides = {2, 2};
  a.auto_pad = "SAME_UPPER";  // test_convtranspose_autopad_same: (1,1,3,3) → (1,2,6,6)
  t = onnx_conv_transpose({1, 1, 3, 3}, {1, 2, 3, 3}, a);
  BOOST_TEST(t.spec.output_size() == (Dims{6, 6}), tt::per_element());
  BOOST_TEST(t.spec.pad_begin() == (Dims{0, 0}), tt::per_element());  // total 1: 0 + 1
  BOOST_TEST(t.spec.pad_end() == (Dims{1, 1}), tt::per_element());
  a.auto_pad = "SAME_LOWER";
  t = onnx_conv_transpose({1, 1, 3, 3}, {1, 2, 3, 3}, a);
  BOOST_TEST(t.spec.pad_begin() == (Dims{1, 1}), tt::per_element());
  BOOST_TEST(t.spec.pad_end() == (Dims{0, 0}), tt::per_element());
  // An output larger than the natural one: negative total padding, floor division.
  a = OnnxConvAttributes{};
  a.strides = {2};
  a.auto_pad = "SAME_UPPER";  // k = 1: natural 2·2 + 1 = 5, target 6 → total −1 → −1 + 0
  t = onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a);
  BOOST_TEST(t.spec.output_size() == (Dims{6}), tt::per_element());
  BOOST_TEST(t.spec.pad_begin() == (Dims{-1}), tt::per_element());
  BOOST_TEST(t.spec.pad_end() == (Dims{0}), tt::per_element());
  a.output_shape = {5};
  a.pads = {0, 1};
  expect_error([&] { onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a); }, "cannot be used together");
  a.auto_pad = "NOTSET";  // with output_shape, pads are ignored (the operator's documentation)
  t = onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a);
  BOOST_TEST(t.spec.output_size() == (Dims{5}), tt::per_element());
  BOOST_TEST(t.spec.pad_begin() == (Dims{0}), tt::per_element());
  BOOST_TEST(t.spec.pad_end() == (Dims{0}), tt::per_element());
  a.pads = {};
  a.output_shape = {1, 1, 5};  // (N, M, spatial) is accepted when N and M are right
  BOOST_TEST(onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a).spec.output_size() == (Dims{5}),
             tt::per_element());
  a.output_shape = {2, 1, 5};
  expect_error(
      [&] {
        onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a);
      },
      "output_shape [2, 1, 5] given as (N, M, *spatial) must start with X's N = 1 and "
      "the layer's M = 1");
  a.output_shape = {1, 3, 5};
  expect_error([&] { onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a); }, "the layer's M = 1");
  a.output_shape = {5};
  a.kernel_shape = {2};
  expect_error(
      [&] {
        onnx_conv_transpose({1, 1, 3}, {1, 1, 1}, a);
      },
      "does not match W's spatial shape");
}

BOOST_AUTO_TEST_CASE(bias_size) {
  const ConvSpec s = ConvSpec::convolution(2, 3, {4}, {2});
  BOOST_CHECK_NO_THROW(check_bias(s, 3));
  expect_error([&] { check_bias(s, 2); }, "bias must have one value per output channel (3), got 2");
}

BOOST_AUTO_TEST_CASE(bias_shape) {
  const ConvSpec s = ConvSpec::convolution(2, 3, {4}, {2});
  BOOST_CHECK_NO_THROW(check_bias(s, Dims{3}));
  expect_error(
      [&] {
        check_bias(s, Dims{3, 1});
      },
      "expected bias to be 1-dimensional with 3 elements (one per output channel), but got "
      "bias of shape [3, 1]");
  expect_error([&] { check_bias(s, Dims{2}); }, "but got bias of shape [2]");
  expect_error([&] { check_bias(s, Dims{}); }, "but got bias of shape []");
}

// TensorFlow (tf.nn's notes on padding): SAME gives ⌈n/s⌉ positions and puts the odd padding
// row at the end — "when pad_along_height is 5, we pad 2 pixels at the top and 3 pixels at the
// bottom" (n = 5, filter 6, stride 1).
BOOST_AUTO_TEST_CASE(tensorflow_same_puts_the_odd_row_at_the_end) {
  TfConvArgs a;
  a.data_format = "NWC";
  a.padding = "SAME";
  const LayerCall c = tf_conv({1, 1, 5}, {1, 1, 6}, a);
  BOOST_TEST(c.spec.pad_begin() == (Dims{2}), boost::test_tools::per_element());
  BOOST_TEST(c.spec.pad_end() == (Dims{3}), boost::test_tools::per_element());
  BOOST_TEST(c.spec.output_size() == (Dims{5}), boost::test_tools::per_element());
  a.strides = {1, 2, 1};  // N+2 values in data_format's order: out = ⌈5/2⌉ = 3, P = 4 + 6 − 5
  const LayerCall s = tf_conv({1, 1, 5}, {1, 1, 6}, a);
  BOOST_TEST(s.spec.output_size() == (Dims{3}), boost::test_tools::per_element());
  BOOST_TEST(s.spec.pad_begin() == (Dims{2}), boost::test_tools::per_element());
  a.padding = "VALID";
  a.strides = {2};
  BOOST_TEST(tf_conv({1, 1, 9}, {1, 1, 3}, a).spec.output_size() == (Dims{4}),
             boost::test_tools::per_element());  // ⌈(9 − 3 + 1)/2⌉
  a.dilations = {2};
  expect_error(
      [&] {
        tf_conv({1, 1, 9}, {1, 1, 3}, a);
      },
      "strides > 1 not supported in conjunction with dilations > 1");
}

// A transposed layer is the gradient of the convolution of an input of output_shape: the rows
// its windows do not reach become output_padding, and the shape must be consistent.
BOOST_AUTO_TEST_CASE(tensorflow_transposed_is_the_gradient_of_its_convolution) {
  TfConvArgs a;
  a.data_format = "NWC";
  a.padding = "VALID";
  a.strides = {2};
  a.output_shape = {1, 8, 2};  // VALID on 8 with k = 3, s = 2: 3 windows, row 7 not reached
  const LayerCall c = tf_conv_transpose({1, 4, 3}, {4, 2, 3}, a);
  BOOST_TEST(c.spec.is_transposed());
  BOOST_TEST(c.spec.output_padding() == (Dims{1}), boost::test_tools::per_element());
  BOOST_TEST(c.spec.output_size() == (Dims{8}), boost::test_tools::per_element());
  BOOST_TEST(c.spec.out_channels() == 2);
  a.padding = "SAME";
  a.output_shape = {6};  // ⌈6/2⌉ = 3 windows, P = 4 + 3 − 6 = 1: (0, 1)
  const LayerCall same = tf_conv_transpose({1, 4, 3}, {4, 2, 3}, a);
  BOOST_TEST(same.spec.pad_begin() == (Dims{0}), boost::test_tools::per_element());
  BOOST_TEST(same.spec.pad_end() == (Dims{1}), boost::test_tools::per_element());
  BOOST_TEST(same.spec.output_size() == (Dims{6}), boost::test_tools::per_element());
  a.output_shape = {8};
  expect_error(
      [&] {
        tf_conv_transpose({1, 4, 3}, {4, 2, 3}, a);
      },
      "tf.nn.conv_transpose: the convolution of an input of output_shape [8] (padding "
      "SAME) has 4 positions in w, but the input has 3");
}

BOOST_AUTO_TEST_CASE(tensorflow_depthwise_is_a_grouped_convolution) {
  TfConvArgs a;
  a.data_format = "NHWC";
  a.padding = "VALID";
  // filter [3, 2, C = 4, multiplier 2] in convmat's order (multiplier, C, kh, kw)
  const LayerCall c = tf_depthwise_conv2d({1, 4, 6, 6}, {2, 4, 3, 2}, a);
  BOOST_TEST(c.spec.groups() == 4);
  BOOST_TEST(c.spec.out_channels() == 8);
  BOOST_TEST(c.spec.weight_shape() == (Dims{8, 1, 3, 2}), boost::test_tools::per_element());
  BOOST_TEST(c.given_weight_shape() == (Dims{3, 2, 4, 2}), boost::test_tools::per_element());
  // weight (o = k·2 + q, 0, di, dj) is filter[di, dj, k, q]
  BOOST_TEST(c.given_index(LayerCall::Tensor::weight, {5, 0, 2, 1}) == (Dims{2, 1, 2, 1}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

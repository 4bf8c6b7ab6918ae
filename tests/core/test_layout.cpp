// Layouts: formats parsed into permutations of convmat's axes, shapes, indices and tensors moved
// between the two orders, and the op table resolving a call given in a layout.
#define BOOST_TEST_MODULE layout
#include <boost/test/unit_test.hpp>

#include <numeric>

#include "convmat/core/layer_ops.hpp"
#include "convmat/core/layout.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::expect_error;

namespace {
std::vector<int> axes_of(const Layout& l) { return l.axes(); }
}  // namespace

BOOST_AUTO_TEST_CASE(formats_name_permutations) {
  // user axis i holds convmat axis axes[i]: NHWC = (N, H, W, C) of (N, C, H, W)
  BOOST_TEST(axes_of(data_layout("NHWC", 2)) == (std::vector<int>{0, 2, 3, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(data_layout("NCHW", 2).is_identity());
  BOOST_TEST(axes_of(data_layout("NWC", 1)) == (std::vector<int>{0, 2, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(axes_of(data_layout("NDHWC", 3)) == (std::vector<int>{0, 2, 3, 4, 1}),
             boost::test_tools::per_element());
  // weights: O and I are the layer's output and input channels
  BOOST_TEST(
      axes_of(weight_layout("HWIO", 2, ConvKind::convolution)) == (std::vector<int>{2, 3, 1, 0}),
      boost::test_tools::per_element());
  BOOST_TEST(
      axes_of(weight_layout("OHWI", 2, ConvKind::convolution)) == (std::vector<int>{0, 2, 3, 1}),
      boost::test_tools::per_element());
  BOOST_TEST(weight_layout("IOHW", 2, ConvKind::transposed).is_identity());
  BOOST_TEST(
      axes_of(weight_layout("IOHW", 2, ConvKind::convolution)) == (std::vector<int>{1, 0, 2, 3}),
      boost::test_tools::per_element());
  BOOST_TEST(
      axes_of(weight_layout("DHWOI", 3, ConvKind::transposed)) == (std::vector<int>{2, 3, 4, 1, 0}),
      boost::test_tools::per_element());
  BOOST_TEST(data_layout("", 2).is_identity());
  BOOST_TEST(data_format_name(3, true) == "NDHWC");
  BOOST_TEST(data_format_name(1, false) == "NCW");
}

BOOST_AUTO_TEST_CASE(bad_formats_name_the_rule) {
  expect_error([] { data_layout("NHWW", 2); },
               "data_format must order the 4 letters NCHW (e.g. NCHW or NHWC), each once, got "
               "'NHWW'");
  expect_error([] { data_layout("NHWC", 1); }, "got 'NHWC'");
  expect_error([] { weight_layout("HWIX", 2, ConvKind::convolution); },
               "weight_format must order the 4 letters OIHW, each once, got 'HWIX'");
  expect_error([] { Layout({0, 0, 1}); }, "layout must be a permutation of 0..2, got [0, 0, 1]");
  expect_error([] { data_layout("NHWC", 2).from_canonical({1, 2, 3}); }, "applied to a");
}

BOOST_AUTO_TEST_CASE(shapes_indices_and_tensors_move_both_ways) {
  const Layout l = data_layout("NDHWC", 3);
  const Dims canonical{2, 3, 4, 5, 6};
  const Dims user = l.from_canonical(canonical);
  BOOST_TEST(user == (Dims{2, 4, 5, 6, 3}), boost::test_tools::per_element());
  BOOST_TEST(l.to_canonical(user) == canonical, boost::test_tools::per_element());
  BOOST_TEST(l.inverse().from_canonical(user) == canonical, boost::test_tools::per_element());
  // without the batch: (C, D, H, W) ↔ (D, H, W, C)
  BOOST_TEST(l.without_axis(0).from_canonical({3, 4, 5, 6}) == (Dims{4, 5, 6, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(l.without_axis(0).format() == "DHWC");

  // Tensor values: user[n, d, h, w, c] = canonical[n, c, d, h, w], index by index.
  const Index total = 2 * 3 * 4 * 5 * 6;
  std::vector<double> c(static_cast<std::size_t>(total));
  std::iota(c.begin(), c.end(), 0.0);
  std::vector<double> u(c.size()), back(c.size());
  permute_from_canonical(c.data(), canonical, l, u.data());
  const std::vector<Index> order = l.flat_order(canonical);
  for (Index f = 0; f < total; ++f) {
    const Dims ui = unravel_index(f, user);
    const Dims ci = l.to_canonical(ui);
    Index flat = 0;
    for (std::size_t a = 0; a < ci.size(); ++a) flat = flat * canonical[a] + ci[a];
    BOOST_TEST_CONTEXT("user flat index " << f) {
      BOOST_TEST(u[static_cast<std::size_t>(f)] == static_cast<double>(flat));
      BOOST_TEST(order[static_cast<std::size_t>(f)] == flat);
    }
  }
  permute_to_canonical(u.data(), canonical, l, back.data());
  BOOST_TEST(back == c, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_call_in_a_layout_is_the_same_layer) {
  // conv2d on an NHWC input (2, 5, 6, 3) with an HWIO weight (3, 2, 3, 4): the layer of the NCHW
  // input (2, 3, 5, 6) and the OIHW weight (4, 3, 3, 2).
  const LayerOp& op = layer_op("conv2d");
  const LayerCall plain = op.resolve({2, 3, 5, 6}, {4, 3, 3, 2}, {{"stride", Dims{2, 1}}});
  const LayerCall call =
      op.resolve({2, 5, 6, 3}, {3, 2, 3, 4},
                 {{"stride", Dims{2, 1}}, {"data_format", "NHWC"}, {"weight_format", "HWIO"}});
  BOOST_TEST((call.spec == plain.spec));
  BOOST_TEST(call.has_layouts());
  BOOST_TEST(!plain.has_layouts());
  BOOST_TEST(call.given_input_shape() == (Dims{2, 5, 6, 3}), boost::test_tools::per_element());
  BOOST_TEST(call.given_weight_shape() == (Dims{3, 2, 3, 4}), boost::test_tools::per_element());
  BOOST_TEST(call.given_output_shape() == (Dims{2, 2, 5, 4}), boost::test_tools::per_element());
  BOOST_TEST(call.given_index(LayerCall::Tensor::output, {1, 3, 1, 4}) == (Dims{1, 1, 4, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(call.given_index(LayerCall::Tensor::weight, {3, 2, 1, 0}) == (Dims{1, 0, 2, 3}),
             boost::test_tools::per_element());
  // unbatched (H, W, C)
  const LayerCall one = op.resolve({5, 6, 3}, {4, 3, 3, 2}, {{"data_format", "NHWC"}});
  BOOST_TEST(!one.batched);
  BOOST_TEST(one.given_output_shape() == (Dims{3, 5, 4}), boost::test_tools::per_element());
  BOOST_TEST((one.spec == op.resolve({3, 5, 6}, {4, 3, 3, 2}).spec));
  // a transposed layer's weight in TensorFlow's order (h, w, out, in)
  const LayerCall t =
      layer_op("conv_transpose1d")
          .resolve({1, 7, 2}, {3, 5, 2},
                   {{"data_format", "NWC"}, {"weight_format", "WOI"}, {"stride", Dims{2}}});
  BOOST_TEST(
      (t.spec ==
       layer_op("conv_transpose1d").resolve({1, 2, 7}, {2, 5, 3}, {{"stride", Dims{2}}}).spec));
  // the input size from a spatial size, in the layout
  BOOST_TEST(op.input_shape_for_size({3, 2, 3, 4}, {5, 6}, 2,
                                     {{"data_format", "NHWC"}, {"weight_format", "HWIO"}}) ==
                 (Dims{2, 5, 6, 3}),
             boost::test_tools::per_element());
  expect_error(
      [&] {
        op.resolve({2, 5, 6, 3, 1}, {4, 3, 3, 2}, {{"data_format", "NHWC"}});
      },
      "op conv2d: data_format 'NHWC' describes a 4D input (or 3D unbatched), got input "
      "of shape [2, 5, 6, 3, 1]");
  expect_error(
      [&] {
        op.resolve({2, 5, 6, 3}, {4, 3, 3, 2}, {{"data_format", Index{1}}});
      },
      "op conv2d: data_format must be a name, got 1");
}

// The call's per-tensor views (names, shapes, permutations into a separate array, float and
// double) against the layouts written out by hand: NHWC (2, 5, 6, 3) ↔ NCHW (2, 3, 5, 6).
BOOST_AUTO_TEST_CASE(a_call_moves_each_tensor_between_its_orders) {
  using Tensor = LayerCall::Tensor;
  const LayerCall call = layer_op("conv2d").resolve(
      {2, 5, 6, 3}, {3, 2, 3, 4}, {{"data_format", "NHWC"}, {"weight_format", "HWIO"}});
  for (Tensor t : {Tensor::input, Tensor::weight, Tensor::output}) {
    BOOST_TEST((LayerCall::tensor_from_name(LayerCall::tensor_name(t)) == t));
    BOOST_TEST(!call.is_canonical(t));
  }
  expect_error([] { LayerCall::tensor_from_name("bias"); },
               "tensor must be 'input', 'weight' or 'output', got 'bias'");
  BOOST_TEST(call.canonical_shape(Tensor::input) == (Dims{2, 3, 5, 6}),
             boost::test_tools::per_element());
  BOOST_TEST(call.given_shape(Tensor::weight) == (Dims{3, 2, 3, 4}),
             boost::test_tools::per_element());
  BOOST_TEST(call.canonical_shape(Tensor::output) == (Dims{2, 4, 3, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(call.given_shape(Tensor::output) == (Dims{2, 3, 5, 4}),
             boost::test_tools::per_element());
  // 3 × 2 kernel, stride 1: output 3 × 5. Each value is its canonical flat index; NHWC element (n,
  // h, w, c) holds NCHW (n, c, h, w)'s
  std::vector<float> canonical(2 * 3 * 5 * 6), given(canonical.size()), back(canonical.size());
  for (std::size_t i = 0; i < canonical.size(); ++i) canonical[i] = static_cast<float>(i);
  call.from_canonical(Tensor::input, canonical.data(), given.data());
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 5; ++h)
      for (int w = 0; w < 6; ++w)
        for (int c = 0; c < 3; ++c)
          BOOST_TEST(given[((n * 5 + h) * 6 + w) * 3 + c] == ((n * 3 + c) * 5 + h) * 6 + w);
  call.to_canonical(Tensor::input, given.data(), back.data());
  BOOST_TEST(back == canonical, boost::test_tools::per_element());
  const std::vector<double> as_double(given.begin(), given.end());
  std::vector<double> back_double(as_double.size());
  call.to_canonical(Tensor::input, as_double.data(), back_double.data());
  BOOST_TEST(back_double == call.to_canonical(Tensor::input, as_double),
             boost::test_tools::per_element());
}

// XLA/JAX dimension_numbers: any permutation, spatial axes matched by letter in the order of the
// kernel's string (jax.lax.conv_general_permutations).
BOOST_AUTO_TEST_CASE(xla_dimension_numbers_are_any_permutation) {
  const ConvLayouts tf = conv_dimension_numbers("NHWC", "HWIO", "NHWC");
  BOOST_TEST((tf.input == data_layout("NHWC", 2)));
  BOOST_TEST((tf.weight == weight_layout("HWIO", 2, ConvKind::convolution)));
  BOOST_TEST((tf.output == data_layout("NHWC", 2)));
  // spatial letters in the kernel's order: lhs "NWHC" with kernel "OIHW" is (N, W, H, C) of
  // (N, C, H, W); the output "CHNW" is (C, H, N, W)
  const ConvLayouts odd = conv_dimension_numbers("NWHC", "OIHW", "CHNW");
  BOOST_TEST(axes_of(odd.input) == (std::vector<int>{0, 3, 2, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(axes_of(odd.output) == (std::vector<int>{1, 2, 0, 3}),
             boost::test_tools::per_element());
  // other spatial letters, ordered by the kernel: "01" in the kernel "1O0I" makes 1 the first
  const ConvLayouts digits = conv_dimension_numbers("N01C", "1O0I", "NC01");
  BOOST_TEST(axes_of(digits.weight) == (std::vector<int>{2, 0, 3, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(axes_of(digits.input) == (std::vector<int>{0, 3, 2, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(axes_of(digits.output) == (std::vector<int>{0, 1, 3, 2}),
             boost::test_tools::per_element());
  expect_error([] { conv_dimension_numbers("NHWC", "HWIO", "NHW"); },
               "dimension_numbers must be three strings of the same length");
  expect_error([] { conv_dimension_numbers("NHXC", "HWIO", "NHWC"); },
               "every string must have the same spatial letters");
  expect_error([] { conv_dimension_numbers("NHWC", "HWIO", "NHHC"); },
               "dimension_numbers[2] (out) must order the 4 letters NCHW");
}

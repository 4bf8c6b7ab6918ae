// The op table: every row resolves exactly as the convention's function of layer_args.hpp, with
// its defaults and its keywords only; names, aliases and input shapes from a spatial size.
#define BOOST_TEST_MODULE layer_ops
#include <boost/test/unit_test.hpp>

#include <set>

#include "convmat/core/layer_ops.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::expect_error;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(names_and_aliases) {
  std::set<std::string_view> names;
  for (const LayerOp& op : layer_ops()) {
    BOOST_TEST_CONTEXT(op.name) {
      BOOST_TEST(names.insert(op.name).second);
      BOOST_TEST(&layer_op(op.name) == &op);
      for (std::string_view alias : op.aliases) BOOST_TEST(&layer_op(alias) == &op);
      BOOST_TEST(op.translate != nullptr);
      BOOST_TEST((op.groups_keyword.empty() || op.keyword(op.groups_keyword) != nullptr));
    }
  }
  for (const char* name : {"conv", "conv1d", "conv2d", "conv3d", "conv_transpose",
                           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "onnx_conv",
                           "onnx_conv_transpose", "Conv", "ConvTranspose"}) {
    BOOST_TEST(find_layer_op(name) != nullptr, name);
  }
  BOOST_TEST(layer_op("Conv").name == "onnx_conv");
  BOOST_TEST(layer_op("conv_transpose2d").kind == ConvKind::transposed);
  BOOST_TEST(layer_op("conv3d").rank == 3);
  BOOST_TEST(find_layer_op("conv4d") == nullptr);
  expect_error([] { layer_op("conv4d"); }, "unknown op 'conv4d'; expected one of conv, conv1d");
  BOOST_TEST(layer_op_names(true).find("onnx_conv, Conv") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(keywords_in_the_documented_order) {
  BOOST_TEST(layer_op("conv2d").keyword_names() ==
             "stride, padding, dilation, groups, padding_mode");
  BOOST_TEST(layer_op("conv_transpose").keyword_names() ==
             "stride, padding, output_padding, groups, dilation, padding_mode");
  BOOST_TEST(layer_op("onnx_conv").keyword_names() ==
             "auto_pad, dilations, group, kernel_shape, pads, strides");
  BOOST_TEST(
      layer_op("ConvTranspose").keyword_names() ==
      "auto_pad, dilations, group, kernel_shape, pads, strides, output_padding, output_shape");
  BOOST_TEST(layer_op("onnx_conv").keyword("pads")->per_axis == 2);
  BOOST_TEST(layer_op("onnx_conv_transpose").keyword("output_shape")->per_axis == 0);
}

BOOST_AUTO_TEST_CASE(rows_resolve_as_the_convention_functions) {
  // PyTorch: every row, with and without keywords, against torch_conv / torch_conv_transpose.
  TorchConvArgs a;
  a.stride = {2, 1};
  a.padding = {1};
  a.dilation = {1, 2};
  a.groups = 2;
  const LayerKeywords k{{"stride", Dims{2, 1}},
                        {"padding", Index{1}},
                        {"dilation", Dims{1, 2}},
                        {"groups", Index{2}}};
  for (const char* name : {"conv", "conv2d"}) {
    BOOST_TEST((layer_op(name).resolve({3, 4, 9, 8}, {6, 2, 3, 3}, k).spec ==
                torch_conv({3, 4, 9, 8}, {6, 2, 3, 3}, a, 2).spec));
    BOOST_TEST((layer_op(name).resolve({4, 9, 8}, {6, 4, 3, 3}).spec ==
                torch_conv({4, 9, 8}, {6, 4, 3, 3}, TorchConvArgs{}).spec));
  }
  a.output_padding = {1, 0};
  LayerKeywords kt = k;
  kt["output_padding"] = Dims{1, 0};
  for (const char* name : {"conv_transpose", "conv_transpose2d"}) {
    BOOST_TEST((layer_op(name).resolve({3, 4, 5, 6}, {4, 3, 3, 3}, kt).spec ==
                torch_conv_transpose({3, 4, 5, 6}, {4, 3, 3, 3}, a, 2).spec));
  }
  const LayerCall same = layer_op("conv1d").resolve({2, 7}, {1, 2, 4}, {{"padding", "same"}});
  BOOST_TEST(same.spec.output_size() == (Dims{7}), tt::per_element());
  BOOST_TEST(!same.batched);
  BOOST_TEST(
      layer_op("conv2d")
          .resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"padding_mode", "reflect"}, {"padding", Index{1}}})
          .spec.padding_mode() == PaddingMode::reflect);
  // ONNX, both ops.
  OnnxConvAttributes o;
  o.auto_pad = "SAME_LOWER";
  o.strides = {2, 2};
  o.group = 2;
  const LayerKeywords ko{{"auto_pad", "SAME_LOWER"}, {"strides", Dims{2, 2}}, {"group", Index{2}}};
  BOOST_TEST((layer_op("Conv").resolve({1, 4, 7, 6}, {2, 2, 3, 2}, ko).spec ==
              onnx_conv({1, 4, 7, 6}, {2, 2, 3, 2}, o).spec));
  o.output_shape = {14, 11};
  LayerKeywords kot = ko;
  kot["output_shape"] = Dims{14, 11};
  BOOST_TEST((layer_op("onnx_conv_transpose").resolve({1, 4, 7, 6}, {4, 1, 3, 2}, kot).spec ==
              onnx_conv_transpose({1, 4, 7, 6}, {4, 1, 3, 2}, o).spec));
}

BOOST_AUTO_TEST_CASE(each_rule_of_the_convention_still_applies) {
  expect_error([] { layer_op("conv2d").resolve({1, 3, 5, 5}, {2, 3, 3}); }, "expected a 4D weight");
  expect_error(
      [] {
        layer_op("conv2d").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"padding", ""}});
      },
      "conv2d: invalid padding string ''");
  expect_error(
      [] {
        layer_op("conv_transpose2d").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"padding", "same"}});
      },
      "string padding ('same') is not supported for transposed convolutions");
  expect_error(
      [] {
        layer_op("onnx_conv").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"pads", Dims{1}}});
      },
      "Conv: pads must have 4 values");
}

BOOST_AUTO_TEST_CASE(a_transposed_layer_takes_padding_mode_zeros_only) {
  // nn.ConvTranspose1d(..., padding_mode="zeros") is valid; other modes raise in PyTorch.
  BOOST_TEST(layer_op("conv_transpose1d")
                 .resolve({1, 1, 5}, {1, 1, 3}, {{"padding_mode", std::string("zeros")}})
                 .spec.is_transposed());
  expect_error(
      [] {
        layer_op("conv_transpose1d")
            .resolve({1, 1, 5}, {1, 1, 3}, {{"padding_mode", std::string("reflect")}});
      },
      "conv_transpose1d: only 'zeros' padding mode is supported for transposed convolutions, got "
      "'reflect'");
}

BOOST_AUTO_TEST_CASE(other_keywords_and_other_kinds_are_refused) {
  expect_error(
      [] {
        layer_op("conv2d").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"pads", Dims{1}}});
      },
      "op conv2d takes the keywords stride, padding, dilation, groups, padding_mode; got "
      "'pads'");
  expect_error(
      [] {
        layer_op("conv2d").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"output_padding", Index{1}}});
      },
      "got 'output_padding'");
  expect_error(
      [] {
        layer_op("conv2d").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"groups", Dims{1, 2}}});
      },
      "op conv2d: groups must be an integer, got [1, 2]");
  expect_error(
      [] {
        layer_op("onnx_conv").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"strides", "2"}});
      },
      "op onnx_conv: strides must be integers, got '2'");
  expect_error(
      [] {
        layer_op("Conv").resolve({1, 1, 5, 5}, {1, 1, 3, 3}, {{"auto_pad", Index{1}}});
      },
      "must be a name, got 1");
}

BOOST_AUTO_TEST_CASE(input_shape_from_a_spatial_size) {
  // Channels from the weight's layout and the groups; the batch only when given or required.
  BOOST_TEST(layer_op("conv2d").input_shape_for_size({6, 2, 3, 3}, {9}, std::nullopt,
                                                     {{"groups", Index{3}}}) == (Dims{6, 9, 9}),
             tt::per_element());
  BOOST_TEST(
      layer_op("conv_transpose").input_shape_for_size({4, 3, 3}, {5}, Index{2}) == (Dims{2, 4, 5}),
      tt::per_element());
  BOOST_TEST(layer_op("onnx_conv")
                     .input_shape_for_size({2, 2, 3, 2}, {7, 6}, std::nullopt,
                                           {{"group", Index{2}}}) == (Dims{1, 4, 7, 6}),
             tt::per_element());
  // A full shape (or a wrong length) is left to resolve().
  BOOST_TEST(layer_op("conv2d").input_shape_for_size({6, 2, 3, 3}, {1, 2, 9, 9}, std::nullopt) ==
                 (Dims{1, 2, 9, 9}),
             tt::per_element());
  // The shape it gives resolves, to the size asked for.
  for (int i = 0; i < 200; ++i) {
    const ConvSpec s = test::random_spec();
    if (s.padding_mode() != PaddingMode::zeros) continue;
    const LayerOp& op = layer_op(s.is_transposed() ? "conv_transpose" : "conv");
    const LayerKeywords k{
        {"stride", s.stride()}, {"dilation", s.dilation()}, {"groups", s.groups()}};
    const Dims shape = op.input_shape_for_size(s.weight_shape(), s.input_size(), Index{2}, k);
    BOOST_TEST(shape == batched_shape(s.input_shape(), 2, true), tt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(a_call_permutes_its_tensors_to_and_from_convmats_order) {
  // conv1d, NWC data of shape (1, 3, 2) (W = 3, C = 2) and a WIO weight (2, 2, 1): element
  // x_nwc[0, w, c] is x_ncw[0, c, w]; the weight's w_wio[k, i, o] is w_oiw[o, i, k].
  const LayerCall call = layer_op("conv1d").resolve(
      {1, 3, 2}, {2, 2, 1},
      {{"data_format", std::string("NWC")}, {"weight_format", std::string("WIO")}});
  const std::vector<double> x_nwc{0, 1, 2, 3, 4, 5};  // x_ncw = [[0, 2, 4], [1, 3, 5]]
  BOOST_TEST(
      call.to_canonical(LayerCall::Tensor::input, x_nwc) == (std::vector<double>{0, 2, 4, 1, 3, 5}),
      boost::test_tools::per_element());
  BOOST_TEST(call.from_canonical(LayerCall::Tensor::input, {0, 2, 4, 1, 3, 5}) == x_nwc,
             boost::test_tools::per_element());
  const std::vector<double> w_wio{10, 11, 12, 13};  // w_oiw[0] = [[10, 12], [11, 13]]
  BOOST_TEST(
      call.to_canonical(LayerCall::Tensor::weight, w_wio) == (std::vector<double>{10, 12, 11, 13}),
      boost::test_tools::per_element());
  expect_error(
      [&] {
        call.to_canonical(LayerCall::Tensor::output, {1, 2, 3});
      },
      "the output has 3 elements, the layer's output [1, 1, 2] has 2");
}

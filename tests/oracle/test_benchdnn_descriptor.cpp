// benchdnn's convolution descriptors → ConvSpec: the documented examples, defaults and
// deductions, every rejection rule, and a round trip over random layers checked by the loops.
#define BOOST_TEST_MODULE descriptor
#include <boost/test/unit_test.hpp>

#include "convmat/core/loops.hpp"
#include "convmat/oracle/benchdnn_descriptor.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::expect_error;
namespace tt = boost::test_tools;
using convmat::test::integer_tensor;

namespace {

void expect_rejected(const std::string& text, const std::string& part,
                     ConvKind kind = ConvKind::convolution) {
  BOOST_TEST_CONTEXT(text) {
    expect_error([&] { parse_benchdnn_descriptor(text, kind); }, part);
  }
}

// Both layers on the same integer-valued data by the direct loops: exact equality.
void expect_same_layer(const ConvSpec& a, const ConvSpec& b) {
  BOOST_TEST_CONTEXT(a.to_string() << " vs " << b.to_string()) {
    BOOST_TEST(a.input_shape() == b.input_shape(), tt::per_element());
    BOOST_TEST(a.output_shape() == b.output_shape(), tt::per_element());
    BOOST_TEST(a.weight_shape() == b.weight_shape(), tt::per_element());
    if (a.input_shape() != b.input_shape() || a.output_shape() != b.output_shape() ||
        a.weight_shape() != b.weight_shape()) {
      return;
    }
    const auto x = integer_tensor<double>(2 * a.input_numel());
    const auto w = integer_tensor<double>(a.weight_numel());
    std::vector<double> ya(static_cast<std::size_t>(2 * a.output_numel())), yb(ya.size());
    direct_forward(a, x.data(), 2, w.data(), static_cast<const double*>(nullptr), ya.data());
    direct_forward(b, x.data(), 2, w.data(), static_cast<const double*>(nullptr), yb.data());
    BOOST_TEST(ya == yb, tt::per_element());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(documented_forms)

BOOST_AUTO_TEST_CASE(alexnet_conv1_from_the_benchdnn_documentation) {
  const BenchdnnDescriptor d = parse_benchdnn_descriptor(
      "ic3ih227iw227_oc96oh55ow55_kh11kw11_sh4sw4ph0pw0_n\"alexnet:conv1\"");
  BOOST_TEST(d.name == "\"alexnet:conv1\"");
  BOOST_TEST(d.minibatch == 2);  // benchdnn's default
  BOOST_TEST(!d.minibatch_given);
  BOOST_TEST(d.groups == 1);
  // nn.Conv2d(3, 96, 11, stride=4): ⌊(227 − 11)/4⌋ + 1 = 55
  expect_same_layer(d.spec(), ConvSpec::convolution(3, 96, {227, 227}, {11, 11}, {4}, {0}));
  BOOST_TEST(d.pad_end == (Dims{0, 0}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(the_issue_example_with_output_size_deduced) {
  const BenchdnnDescriptor d = parse_benchdnn_descriptor("g1mb1ic16ih7iw7oc16kh3kw3sh1sw1ph1pw1");
  BOOST_TEST(d.minibatch == 1);
  BOOST_TEST(d.minibatch_given);
  BOOST_TEST(d.groups_given);
  BOOST_TEST(d.output_size == (Dims{7, 7}), tt::per_element());
  expect_same_layer(d.spec(), ConvSpec::convolution(16, 16, {7, 7}, {3, 3}, {1}, {1}));
}

BOOST_AUTO_TEST_CASE(defaults_and_the_square_shorthand) {
  const BenchdnnDescriptor d = parse_benchdnn_descriptor("ic2oc4ih5kh3");
  BOOST_TEST(d.input_size == (Dims{5, 5}), tt::per_element());  // w copies h
  BOOST_TEST(d.kernel_size == (Dims{3, 3}), tt::per_element());
  BOOST_TEST(d.stride == (Dims{1, 1}), tt::per_element());
  BOOST_TEST(d.dilation == (Dims{0, 0}), tt::per_element());  // benchdnn's "none"
  BOOST_TEST(d.pad_begin == (Dims{0, 0}), tt::per_element());
  expect_same_layer(d.spec(), ConvSpec::convolution(2, 4, {5, 5}, {3, 3}));
}

BOOST_AUTO_TEST_CASE(one_dimensional_is_the_w_axis_and_dilation_is_offset_by_one) {
  const BenchdnnDescriptor d = parse_benchdnn_descriptor("mb3_ic1iw10_oc2_kw3_dw1");
  BOOST_TEST(d.spec().rank() == 1);
  // PyTorch dilation 2: 10 − 2·(3−1) − 1 + 1 = 6 outputs
  BOOST_TEST(d.output_size == (Dims{6}), tt::per_element());
  expect_same_layer(d.spec(), ConvSpec::convolution(1, 2, {10}, {3}, {1}, {0}, {2}));
}

BOOST_AUTO_TEST_CASE(three_dimensional_cubic_and_full) {
  const BenchdnnDescriptor cubic = parse_benchdnn_descriptor("ic1oc1id4kd2pd1");
  expect_same_layer(cubic.spec(), ConvSpec::convolution(1, 1, {4, 4, 4}, {2, 2, 2}, {1}, {1}));
  const BenchdnnDescriptor full =
      parse_benchdnn_descriptor("g2ic4id5ih6iw7oc6kd1kh2kw3sd1sh2sw1pd0ph1pw2dd0dh0dw1");
  expect_same_layer(full.spec(), ConvSpec::convolution(4, 6, {5, 6, 7}, {1, 2, 3}, {1, 2, 1},
                                                       {0, 1, 2}, {1, 1, 2}, 2));
}

BOOST_AUTO_TEST_CASE(padding_deduced_from_the_output_size) {
  // oh8 with kh3: p = ⌊(7·1 − 8 + 3)/2⌋ = 1 on both sides ("same")
  const BenchdnnDescriptor same = parse_benchdnn_descriptor("ic1oc1ih8oh8kh3");
  BOOST_TEST(same.pad_begin == (Dims{1, 1}), tt::per_element());
  BOOST_TEST(same.pad_end == (Dims{1, 1}), tt::per_element());
  // oh4, sh2: p = ⌊(3·2 − 8 + 3)/2⌋ = 0 at the begin, the implied end padding (3·2 − 8 + 3 − 0) =
  // 1: ONNX's SAME_UPPER for n = 8, k = 3, s = 2.
  const BenchdnnDescriptor upper = parse_benchdnn_descriptor("ic1oc1ih8oh4kh3sh2");
  BOOST_TEST(upper.pad_begin == (Dims{0, 0}), tt::per_element());
  BOOST_TEST(upper.pad_end == (Dims{1, 1}), tt::per_element());
  ConvParams p;
  p.input_size = {8, 8};
  p.kernel_size = {3, 3};
  p.stride = {2};
  p.pad_begin = {0};
  p.pad_end = {1};
  expect_same_layer(upper.spec(), ConvSpec(p));
}

BOOST_AUTO_TEST_CASE(deconvolution_output_and_implied_end_padding) {
  // nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1) on 3×3: (3−1)·2 − 2 + 4 = 6
  const BenchdnnDescriptor d =
      parse_benchdnn_descriptor("ic4ih3oc2kh4sh2ph1", ConvKind::transposed);
  BOOST_TEST(d.output_size == (Dims{6, 6}), tt::per_element());
  expect_same_layer(d.spec(), ConvSpec::transposed(4, 2, {3, 3}, {4, 4}, {2}, {1}));
  // oh7: one more row at the end = PyTorch's output_padding=1
  const BenchdnnDescriptor a =
      parse_benchdnn_descriptor("ic4ih3oc2oh7kh4sh2ph1", ConvKind::transposed);
  BOOST_TEST(a.pad_end == (Dims{0, 0}), tt::per_element());
  expect_same_layer(a.spec(), ConvSpec::transposed(4, 2, {3, 3}, {4, 4}, {2}, {1}, {1}));
  // Padding deduced for a deconvolution: ⌊((3−1)·2 − 6 + 4)/2⌋ = 1
  const BenchdnnDescriptor deduced =
      parse_benchdnn_descriptor("ic4ih3oc2oh6kh4sh2", ConvKind::transposed);
  BOOST_TEST(deduced.pad_begin == (Dims{1, 1}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(underscores_anywhere_between_entries) {
  const ConvSpec a = parse_benchdnn_descriptor("_ic2__oc2_ih5_kh3_").spec();
  const ConvSpec b = parse_benchdnn_descriptor("ic2oc2ih5kh3").spec();
  BOOST_TEST((a == b));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rejected)

BOOST_AUTO_TEST_CASE(every_rule_names_the_entry) {
  expect_rejected("", "empty");
  expect_rejected("ic1oc1ih5kh3xy2", "unknown entry at 'xy2'");
  expect_rejected("ic1oc1ih5kh", "entry 'kh' needs a non-negative decimal number");
  expect_rejected("ic1oc1ih-5kh3", "entry 'ih' needs a non-negative decimal number, got '-'");
  expect_rejected("ic1oc1ih5kh3ih6", "entry 'ih' is given twice");
  expect_rejected("ic1oc1ih99999999999kh3", "the value of 'ih' exceeds 2147483647");
  expect_rejected("oc1ih5kh3", "ic (input channels) is required");
  expect_rejected("ic1ih5kh3", "oc (output channels) is required");
  expect_rejected("ic0oc1ih5kh3", "ic must be >= 1");
  expect_rejected("g0ic1oc1ih5kh3", "g must be >= 1");
  expect_rejected("mb0ic1oc1ih5kh3", "mb must be >= 1");
  expect_rejected("ic1oc1ih5kh3sh0", "stride must be >= 1, got sh0");
  expect_rejected("ic1oc1ih5", "kh is required when the h axis is used");
  expect_rejected("ic1oc1kh3", "ih is required when the h axis is used");
  expect_rejected("ic1oc1", "no spatial entries");
  expect_rejected("ic1oc1id3kd3ih3kh3", "a 3-d descriptor needs both h and w entries");
  expect_rejected("ic1oc1ih2kh3", "the output size along h comes out as 0");
  expect_rejected("ic1oc1ih9oh2kh3", "the padding deduced from oh2 is -2");
  expect_rejected("ic1oc1ih9oh2kh3sh2ph0", "oh2 is inconsistent with ih9");
  expect_rejected("g2ic3oc4ih5kh3", "groups must divide in_channels");
  expect_rejected("ic1oc1ih3oh9kh2ph0", "oh9 is inconsistent with ih3", ConvKind::transposed);
}

BOOST_AUTO_TEST_CASE(format_rejects_what_benchdnn_cannot_say) {
  expect_error(
      [] {
        format_benchdnn_descriptor(
            ConvSpec::convolution(1, 1, {5}, {3}, {1}, {1}, {1}, 1, PaddingMode::reflect));
      },
      "no padding modes");
  ConvParams p;
  p.input_size = {6};
  p.kernel_size = {3};
  p.pad_begin = {-1};
  p.pad_end = {0};
  expect_error([&] { format_benchdnn_descriptor(ConvSpec(p)); }, "padding >= 0");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(round_trip)

BOOST_AUTO_TEST_CASE(random_layers_survive_format_and_parse) {
  int tried = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const ConvSpec spec = convmat::test::random_spec();
    std::string text;
    try {
      text = format_benchdnn_descriptor(spec, 3, "case" + std::to_string(trial));
    } catch (const std::invalid_argument&) {
      continue;  // padding modes, negative padding: checked above
    }
    ++tried;
    BOOST_TEST_CONTEXT(text) {
      const BenchdnnDescriptor d = parse_benchdnn_descriptor(text, spec.kind());
      BOOST_TEST(d.minibatch == 3);
      BOOST_TEST(d.name == "case" + std::to_string(trial));
      expect_same_layer(d.spec(), spec);
      BOOST_TEST(format_benchdnn_descriptor(d.spec(), 3, d.name) == text);
    }
  }
  BOOST_TEST(tried > 1000);
}

BOOST_AUTO_TEST_SUITE_END()

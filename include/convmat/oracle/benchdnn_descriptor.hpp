#pragma once
// oneDNN benchdnn's convolution problem descriptor, e.g. "g1mb1ic16ih7iw7oc16kh3kw3sh1sw1ph1pw1",
// for people who keep their test lists in that form (benchdnn's --conv and --deconv drivers,
// tests/benchdnn/doc/driver_conv.md and conv/conv_aux.cpp, str2desc).
//
// Canonical form: gXmbX_icXidXihXiwX_ocXodXohXowX_kdXkhXkwX_sdXshXswX_pdXphXpwX_ddXdhXdwX_nNAME
//
// Accepted (exactly benchdnn's rules, except where marked "stricter"):
//  - entries KEY VALUE in any order; KEY is one of g mb ic oc id ih iw od oh ow kd kh kw sd sh sw
//    pd ph pw dd dh dw; VALUE is a decimal number, digits only, at most 2³¹ − 1 (stricter: no
//    sign, no overflow); '_' between entries is ignored; 'n' starts the name, which is the rest
//    of the string;
//  - defaults: g = 1, mb = 2, strides 1, dilations 0;
//  - dilation is benchdnn's: 0 means none, so PyTorch's dilation = benchdnn's + 1;
//  - an axis (d, h or w) is present when any of its i, o, k, d is nonzero, its s is not 1 or its p
//    is at least 1; a present axis needs i and k;
//  - output size omitted: the padding defaults to 0 and o is computed from the formula with the
//    same padding on both sides; padding omitted but o given: p = ⌊((o−1)s − i + (k−1)(d+1) + 1)/2⌋
//    (convolution) or ⌊((i−1)s − o + (k−1)(d+1) + 1)/2⌋ (deconvolution), rounded toward zero;
//  - the padding at the end is implied by the output size:
//      convolution    p_end = (o−1)s − i + (k−1)(d+1) + 1 − p
//      deconvolution  p_end = (i−1)s − o + (k−1)(d+1) + 1 − p
//    and must satisfy p_end + s > 0 (oneDNN's consistency rule; a smaller p_end means the given
//    output size is inconsistent with the rest);
//  - the rank follows from the present axes: w only → 1-d; h only → 2-d with w = h (square);
//    h and w → 2-d; d only → 3-d with h = w = d (cubic); d, h and w → 3-d.
// Rejected, with std::invalid_argument naming the entry: unknown keys, a key without a number,
// a key given twice (stricter: benchdnn keeps the last), ic or oc missing or 0, g, mb or a
// stride equal to 0, an axis combination other than the five above, a present axis without i
// or k, a negative begin padding (given or deduced), p_end + s <= 0, an output size < 1, and
// everything ConvSpec rejects. Padding modes other than zeros and ONNX's auto_pad have no
// benchdnn spelling.
//
// The descriptor describes the geometry only: weights stay in PyTorch's layout
// (ConvSpec::weight_shape), also for a deconvolution (oneDNN's own deconvolution weights are
// (g, oc/g, ic/g, k…); convmat's diagnose names that mix-up).

#include <string>
#include <string_view>

#include "convmat/core/conv_spec.hpp"

namespace convmat {

struct BenchdnnDescriptor {
  ConvKind kind = ConvKind::convolution;  // --conv (convolution) or --deconv (transposed)
  Index groups = 1;
  bool groups_given = false;
  Index minibatch = 2;
  bool minibatch_given = false;
  Index in_channels = 0;
  Index out_channels = 0;
  // One entry per spatial dimension, outermost first ((d,) h, w as present), benchdnn's values
  // after its defaults and deductions; dilation as benchdnn writes it (0 = none).
  Dims input_size, output_size, kernel_size, stride, dilation, pad_begin, pad_end;
  std::string name;

  // The layer in PyTorch's conventions (dilation + 1; pad_end from the output size).
  ConvSpec spec() const;
};

// Parses `text` for benchdnn's convolution (kind = convolution) or deconvolution driver.
// Throws std::invalid_argument("benchdnn descriptor '<text>': <rule and values>").
BenchdnnDescriptor parse_benchdnn_descriptor(std::string_view text,
                                             ConvKind kind = ConvKind::convolution);

// The canonical descriptor of `spec`, e.g.
// "g1mb2_ic16ih7iw7_oc16oh7ow7_kh3kw3_sh1sw1_ph1pw1_dh0dw0" (plus "_n<name>" when a name is given).
// Parsing it with spec.kind() gives the same layer. Throws std::invalid_argument for layers
// benchdnn cannot express: padding modes other than zeros, a negative begin padding, or p_end +
// stride <= 0.
std::string format_benchdnn_descriptor(const ConvSpec& spec, Index minibatch = 2,
                                       std::string_view name = {});

}  // namespace convmat

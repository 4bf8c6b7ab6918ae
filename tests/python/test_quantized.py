"""convmat.onnx_conv_integer and convmat.onnx_qlinear_conv against ONNX's own backend test cases
(libonnx-testdata: the .pb inputs and expected outputs of test_*convinteger* and
test_qlinearconv) and against PyTorch's quantized Conv2d (torch.ao.nn.quantized, the qnnpack and
onednn engines of this PyTorch build).

References are ONNX's files and PyTorch's kernels, never convmat itself.
"""

import glob
import os
import unittest

import numpy as np
import onnx
from onnx import numpy_helper
import torch

import convmat
import helpers as h

ONNX_NODE_DATA = "/usr/share/libonnx-testdata/data/node"


def onnx_case(name):
    """(node, inputs by name, expected outputs) of one ONNX backend test case."""
    model = onnx.load(os.path.join(ONNX_NODE_DATA, name, "model.onnx"))
    node = model.graph.node[0]
    data = os.path.join(ONNX_NODE_DATA, name, "test_data_set_0")

    def read(kind):
        arrays = []
        for path in sorted(glob.glob(os.path.join(data, f"{kind}_*.pb"))):
            tensor = onnx.TensorProto()
            with open(path, "rb") as f:
                tensor.ParseFromString(f.read())
            arrays.append(numpy_helper.to_array(tensor))
        return arrays
    inputs = dict(zip(node.input, read("input")))
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return node, inputs, attributes, read("output")


class OnnxBackendCases(unittest.TestCase):

    def test_the_cases_are_installed(self):
        names = sorted(os.listdir(ONNX_NODE_DATA))
        self.assertEqual([n for n in names if "convinteger" in n],
                         ["test_basic_convinteger", "test_convinteger_with_padding",
                          "test_convinteger_without_padding"])
        self.assertIn("test_qlinearconv", names)

    def test_conv_integer(self):
        for name in ("test_basic_convinteger", "test_convinteger_with_padding",
                     "test_convinteger_without_padding"):
            node, inputs, attributes, (expected,) = onnx_case(name)
            self.assertEqual(node.op_type, "ConvInteger")
            y = convmat.onnx_conv_integer(inputs["x"], inputs["w"], inputs.get("x_zero_point"),
                                          inputs.get("w_zero_point"), **attributes)
            self.assertEqual(y.dtype, np.int32, name)
            self.assertEqual(expected.dtype, np.int32, name)
            np.testing.assert_array_equal(y, expected, err_msg=name)

    def test_qlinear_conv(self):
        node, i, attributes, (expected,) = onnx_case("test_qlinearconv")
        self.assertEqual(node.op_type, "QLinearConv")
        y = convmat.onnx_qlinear_conv(i["x"], i["x_scale"], i["x_zero_point"], i["w"],
                                      i["w_scale"], i["w_zero_point"], i["y_scale"],
                                      i["y_zero_point"], **attributes)
        self.assertEqual(y.dtype, expected.dtype)
        np.testing.assert_array_equal(y, expected)


def near_tie(real, width):
    """Whether the real value before rounding lies within `width` of a tie k + 1/2, where an
    implementation that computes it slightly differently may round the other way."""
    return abs(abs(real - np.floor(real)) - 0.5) <= width


class PyTorchQuantizedConv(unittest.TestCase):
    """torch.ao.nn.quantized.Conv2d: quint8 input, qint8 weight (per tensor or per output
    channel), float bias quantized by PyTorch to round(b / (x_scale * w_scale)) in int32, quint8
    output. The same layer is QLinearConv with B = that int32 bias."""

    def run_engine(self, engine, rng, cases):
        torch.backends.quantized.engine = engine
        compared = tie_units = 0
        for i in range(cases):
            case = h.random_conv(rng, rank=2)
            if case["padding_mode"] != "zeros" or case["padding"] in ("same", "valid"):
                continue
            cin, cout, groups = case["c_in"], case["c_out"], case["groups"]
            kernel = list(case["kernel"])
            stride, dilation = h.spatial(case["stride"], 2), h.spatial(case["dilation"], 2)
            padding = h.spatial(case["padding"], 2)
            x_scale, x_zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, 256))
            y_scale, y_zp = float(rng.uniform(0.05, 0.5)), int(rng.integers(0, 256))
            per_channel = bool(i % 2) and engine != "qnnpack"
            x = torch.from_numpy(rng.standard_normal(
                (1, cin) + tuple(case["size"])).astype(np.float32))
            w = torch.from_numpy(rng.standard_normal(
                (cout, cin // groups) + tuple(kernel)).astype(np.float32))
            bias = torch.from_numpy(rng.standard_normal(cout).astype(np.float32))
            qx = torch.quantize_per_tensor(x, x_scale, x_zp, torch.quint8)
            if per_channel:
                w_scale = torch.from_numpy(rng.uniform(0.005, 0.05, cout)).double()
                qw = torch.quantize_per_channel(w, w_scale, torch.zeros(cout, dtype=torch.long),
                                                0, torch.qint8)
                w_scales = w_scale.numpy()
            else:
                w_scale = float(rng.uniform(0.005, 0.05))
                qw = torch.quantize_per_tensor(w, w_scale, 0, torch.qint8)
                w_scales = np.full(cout, w_scale)
            layer = torch.ao.nn.quantized.Conv2d(cin, cout, tuple(kernel), stride=tuple(stride),
                                                 padding=tuple(padding),
                                                 dilation=tuple(dilation), groups=groups)
            layer.set_weight_bias(qw, bias)
            layer.scale, layer.zero_point = y_scale, y_zp
            try:
                y = layer(qx).int_repr().numpy()
            except RuntimeError:
                continue  # a geometry this engine does not implement
            # PyTorch's int32 bias: round(b / (x_scale * w_scale[m])), computed in float32.
            b32 = np.round(bias.numpy() / (np.float32(x_scale) * w_scales.astype(np.float32)))
            got, acc, real = convmat.onnx_qlinear_conv(
                qx.int_repr().numpy(), x_scale, np.uint8(x_zp), qw.int_repr().numpy(),
                w_scales, np.zeros(cout, np.int8) if per_channel else np.int8(0), y_scale,
                np.uint8(y_zp), b32.astype(np.int32), group=groups,
                pads=list(padding) * 2, strides=list(stride), dilations=list(dilation),
                return_accumulators=True)
            self.assertEqual(got.dtype, np.uint8)
            diff = got.astype(np.int64) - y.astype(np.int64)
            bad = np.flatnonzero(diff)
            # Where PyTorch may round differently from ONNX's float64 definition: within
            # float32's rounding of a tie (both engines requantize in float32), and for onednn,
            # which adds the float bias after scaling instead of round(b / (x_scale w_scale)),
            # also within half an accumulator unit times the multiplier.
            multiplier = (x_scale * w_scales / y_scale).reshape(1, -1, 1, 1) * np.ones_like(real)
            for j in bad:
                width = 4 * np.finfo(np.float32).eps * max(1.0, abs(real.flat[j]))
                if engine == "onednn":
                    width += 0.5 * multiplier.flat[j]
                context = (f"{engine} case {i}: {case}, element {j}: convmat {got.flat[j]}, "
                           f"torch {y.flat[j]}, accumulator {acc.flat[j]}, real "
                           f"{real.flat[j]!r}")
                self.assertEqual(abs(diff.flat[j]), 1, context)
                self.assertTrue(near_tie(real.flat[j], width), context)
            tie_units += bad.size
            compared += y.size
        self.assertGreater(compared, 500)
        self.assertLessEqual(tie_units, compared // 100)  # rounding ties are rare
        return compared

    def test_qnnpack(self):
        self.run_engine("qnnpack", h.rng(61), 120)

    def test_onednn(self):
        if "onednn" not in torch.backends.quantized.supported_engines:
            self.skipTest("this PyTorch build has no onednn quantized engine")
        self.run_engine("onednn", h.rng(62), 120)


class CheckQuantizedOps(unittest.TestCase):

    def test_check_compares_exactly_and_names_one_unit_with_its_accumulator(self):
        node, i, attributes, (expected,) = onnx_case("test_qlinearconv")
        q = dict(x_scale=i["x_scale"], x_zero_point=i["x_zero_point"], w_scale=i["w_scale"],
                 w_zero_point=i["w_zero_point"], y_scale=i["y_scale"],
                 y_zero_point=i["y_zero_point"])
        r = convmat.check(expected, i["x"], i["w"], op="QLinearConv", **q)
        self.assertTrue(r, str(r))
        self.assertEqual(r.elements, expected.size)
        wrong = expected.copy()
        wrong[0, 0, 3, 4] += 1
        wrong[0, 0, 1, 1] -= 3
        r = convmat.check(wrong, i["x"], i["w"], op="onnx_qlinear_conv", **q)
        self.assertFalse(r)
        self.assertEqual((r.mismatches, r.off_by_one, r.max_difference), (2, 1, 3))
        self.assertEqual([m.index for m in r.worst], [(0, 0, 1, 1), (0, 0, 3, 4)])
        # The accumulator: (x - 132) * (0 - 255) at that pixel (a 1x1 kernel).
        self.assertEqual(r.worst[1].accumulator, (int(i["x"][0, 0, 3, 4]) - 132) * -255)
        self.assertIn("(one unit); accumulator", str(r))
        for name in ("test_convinteger_with_padding",):
            node, i, attributes, (expected,) = onnx_case(name)
            self.assertTrue(convmat.check(expected, i["x"], i["w"], op="ConvInteger",
                                          x_zero_point=i["x_zero_point"], **attributes))
            self.assertFalse(convmat.check(expected + 1, i["x"], i["w"], op="ConvInteger",
                                           x_zero_point=i["x_zero_point"], **attributes))
        with self.assertRaisesRegex(TypeError, "compares integers exactly"):
            convmat.check(expected, i["x"], i["w"], op="ConvInteger", atol=1)


class Errors(unittest.TestCase):

    def test_dtypes_and_zero_points(self):
        x, w = np.zeros((1, 1, 3, 3), np.uint8), np.zeros((1, 1, 2, 2), np.uint8)
        with self.assertRaisesRegex(TypeError, "x must have dtype int8 or uint8"):
            convmat.onnx_conv_integer(x.astype(np.float32), w)
        with self.assertRaisesRegex(TypeError, "x_zero_point must have the dtype of its tensor"):
            convmat.onnx_conv_integer(x, w, np.int8(1))
        with self.assertRaisesRegex(ValueError, "x_zero_point must be a scalar"):
            convmat.onnx_conv_integer(x, w, np.array([1, 2], np.uint8))
        with self.assertRaisesRegex(ValueError, "w_scale must have 1"):
            convmat.onnx_qlinear_conv(x, 0.1, np.uint8(0), w, [0.1, 0.2], np.uint8(0), 0.1,
                                      np.uint8(0))
        with self.assertRaisesRegex(ValueError, "y_scale must be finite and > 0"):
            convmat.onnx_qlinear_conv(x, 0.1, np.uint8(0), w, 0.1, np.uint8(0), 0.0, np.uint8(0))

    def test_per_channel_zero_points_and_int8_saturation(self):
        # Written out: x = 1..4 (int8), w channel 0 = [1, 1] with zero point 1 (all zeros),
        # channel 1 = [2, 2] with zero point 0: sums 0 and 2(x_i + x_{i+1}).
        x = np.array([[[1, 2, 3, 4]]], np.int8)
        w = np.array([[[1, 1]], [[2, 2]]], np.int8)
        y = convmat.onnx_conv_integer(x, w, np.int8(0), np.array([1, 0], np.int8))
        np.testing.assert_array_equal(y, [[[0, 0, 0], [6, 10, 14]]])
        # QLinearConv, multiplier 1 * [1, 10] / 1: channel 1 gives 60, 100, 140 -> 127 saturated.
        q = convmat.onnx_qlinear_conv(x, 1.0, np.int8(0), w, [1.0, 10.0],
                                      np.array([1, 0], np.int8), 1.0, np.int8(0))
        self.assertEqual(q.dtype, np.int8)
        np.testing.assert_array_equal(q, [[[0, 0, 0], [60, 100, 127]]])

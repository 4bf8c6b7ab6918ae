"""convmat.onnx_conv_integer and convmat.onnx_qlinear_conv against ONNX's own backend test cases
(libonnx-testdata: the .pb inputs and expected outputs of test_*convinteger* and
test_qlinearconv) and against PyTorch's quantized Conv1d/Conv2d/Conv3d (torch.ao.nn.quantized, the
qnnpack and onednn engines of this PyTorch build).

References are ONNX's files and PyTorch's kernels, never convmat itself.
"""

import os
import sys
import unittest

import numpy as np
import torch

import convmat
from convmat import _convmat
import helpers as h

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from onnx_backend import ONNX_NODE_DATA, onnx_case  # noqa: E402 (tests/onnx_backend.py)


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
    """torch.ao.nn.quantized.Conv1d/Conv2d/Conv3d: quint8 input, qint8 weight (per tensor or per output
    channel), float bias quantized by PyTorch to round(b / (x_scale * w_scale)) in int32, quint8
    output. The same layer is QLinearConv with B = that int32 bias.

    onednn's inputs use 7 bits (0..127), the range PyTorch's x86 observers give activations
    (reduce_range): on a CPU without VNNI, oneDNN multiplies u8 by s8 with vpmaddubsw, which
    saturates each pair of products to int16 (oneDNN's "int8 computation" notes), so 8-bit
    inputs can give a different answer there; 127·128·2 < 2^15 cannot saturate."""

    LAYERS = {1: torch.ao.nn.quantized.Conv1d, 2: torch.ao.nn.quantized.Conv2d,
              3: torch.ao.nn.quantized.Conv3d}

    def layers(self, engine, rng, cases, rank, levels=256, x_spread=1.0, w_scale_high=0.05,
               per_channel=True, bias=True):
        """Random layers with zero padding run by PyTorch's quantized `engine`: yields (i, case,
        layer, qx, qw, w_scales, y) with w_scales float32 per output channel; per-channel
        weights in every other layer where asked (not qnnpack's), x's values below `levels`."""
        torch.backends.quantized.engine = engine
        for i in range(cases):
            case = h.random_conv(rng, rank=rank)
            if case["padding_mode"] != "zeros" or case["padding"] in ("same", "valid"):
                continue
            cin, cout, groups = case["c_in"], case["c_out"], case["groups"]
            kernel = list(case["kernel"])
            stride, dilation = h.spatial(case["stride"], rank), h.spatial(case["dilation"], rank)
            padding = h.spatial(case["padding"], rank)
            x_scale, x_zp = float(rng.uniform(0.01, 0.1)), int(rng.integers(0, levels))
            y_scale, y_zp = float(rng.uniform(0.05, 0.5)), int(rng.integers(0, 256))
            channelwise = per_channel and bool(i % 2) and engine != "qnnpack"
            x = torch.from_numpy(x_spread * rng.standard_normal(
                (1, cin) + tuple(case["size"])).astype(np.float32))
            w = torch.from_numpy(rng.standard_normal(
                (cout, cin // groups) + tuple(kernel)).astype(np.float32))
            b = torch.from_numpy(rng.standard_normal(cout).astype(np.float32))
            qx = torch.quantize_per_tensor(x, x_scale, x_zp, torch.quint8)
            qx = torch._make_per_tensor_quantized_tensor(
                qx.int_repr().clamp(max=levels - 1), x_scale, x_zp)
            if channelwise:
                w_scale = torch.from_numpy(rng.uniform(0.005, w_scale_high, cout)).double()
                qw = torch.quantize_per_channel(w, w_scale, torch.zeros(cout, dtype=torch.long),
                                                0, torch.qint8)
                w_scales = w_scale.numpy().astype(np.float32)  # ONNX's tensor(float)
            else:
                w_scale = float(rng.uniform(0.005, w_scale_high))
                qw = torch.quantize_per_tensor(w, w_scale, 0, torch.qint8)
                w_scales = np.full(cout, w_scale, np.float32)
            layer = self.LAYERS[rank](cin, cout, tuple(kernel), stride=tuple(stride),
                                      padding=tuple(padding), dilation=tuple(dilation),
                                      groups=groups)
            layer.set_weight_bias(qw, b if bias else None)
            layer.scale, layer.zero_point = y_scale, y_zp
            layer.attributes = dict(group=groups, pads=list(padding) * 2, strides=list(stride),
                                    dilations=list(dilation))
            layer.x_zp, layer.channelwise, layer.float_bias = x_zp, channelwise, b
            try:
                y = layer(qx).int_repr().numpy()
            except RuntimeError:
                continue  # a geometry this engine does not implement
            yield i, case, layer, qx, qw, w_scales, y

    def run_engine(self, engine, rng, cases, rank=2, at_least=500):
        compared = tie_units = 0
        for i, case, layer, qx, qw, w_scales, y in self.layers(engine, rng, cases, rank,
                                                               128 if engine == "onednn" else 256):
            x_scale, x_zp, cout = qx.q_scale(), layer.x_zp, layer.out_channels
            y_scale, y_zp = layer.scale, layer.zero_point
            per_channel, bias = layer.channelwise, layer.float_bias
            # PyTorch's int32 bias: round(b / (x_scale * w_scale[m])), computed in float32.
            b32 = np.round(bias.numpy() / (np.float32(x_scale) * w_scales.astype(np.float32)))
            got, acc, real = convmat.onnx_qlinear_conv(
                qx.int_repr().numpy(), x_scale, np.uint8(x_zp), qw.int_repr().numpy(),
                w_scales, np.zeros(cout, np.int8) if per_channel else np.int8(0), y_scale,
                np.uint8(y_zp), b32.astype(np.int32), return_accumulators=True,
                **layer.attributes)
            self.assertEqual(got.dtype, np.uint8)
            diff = got.astype(np.int64) - y.astype(np.int64)
            bad = np.flatnonzero(diff)
            # Where PyTorch may round differently from ONNX's float64 definition: within
            # float32's rounding of a tie (both engines requantize in float32), and for onednn,
            # which adds the float bias after scaling instead of round(b / (x_scale w_scale)),
            # also within half an accumulator unit times the multiplier.
            multiplier = ((x_scale * w_scales / y_scale).reshape((1, -1) + (1,) * rank)
                          * np.ones_like(real))
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
        self.assertGreater(compared, at_least)
        self.assertLessEqual(tie_units, compared // 100)  # rounding ties are rare
        return compared

    def test_qnnpack(self):
        self.run_engine("qnnpack", h.rng(61), 120)

    def test_onednn(self):
        if "onednn" not in torch.backends.quantized.supported_engines:
            self.skipTest("this PyTorch build has no onednn quantized engine")
        self.run_engine("onednn", h.rng(62), 120)

    def test_onednn_8bit_inputs_differ_only_by_int16_pairs(self):
        """onednn with x over all 8 bits, no bias: every output equals ONNX's definition (a CPU
        with VNNI) or, where it does not, diagnose reproduces it exactly as int16 pair
        saturation (vpmaddubsw; on an AVX2 machine without VNNI a few layers in a hundred differ,
        by up to 8 units, each reproduced)."""
        if "onednn" not in torch.backends.quantized.supported_engines:
            self.skipTest("this PyTorch build has no onednn quantized engine")
        outcomes = {"exact": 0, "int16_pair_saturation": 0}
        for rank, seed in ((1, 91), (2, 62), (3, 92)):
            for i, case, layer, qx, qw, w_scales, y in self.layers(
                    "onednn", h.rng(seed), 160, rank, x_spread=3.0, w_scale_high=0.02,
                    per_channel=False, bias=False):
                d = convmat.diagnose(
                    y, qx.int_repr().numpy(), qw.int_repr().numpy(), op="QLinearConv",
                    x_scale=np.float32(qx.q_scale()), x_zero_point=np.uint8(layer.x_zp),
                    w_scale=w_scales[:1], w_zero_point=np.int8(0),
                    y_scale=np.float32(layer.scale), y_zero_point=np.uint8(layer.zero_point),
                    **layer.attributes)
                outcome = "exact" if d.check.passed else d.reproducing[0] if d.reproducing else None
                self.assertIn(outcome, outcomes, f"rank {rank} case {i}: {case}\n{d}")
                outcomes[outcome] += 1
        self.assertGreater(sum(outcomes.values()), 120, outcomes)
        print(f"onednn, 8-bit x: {outcomes}", file=sys.stderr)

    def test_conv1d_and_conv3d(self):
        engines = [e for e in ("qnnpack", "onednn")
                   if e in torch.backends.quantized.supported_engines]
        for seed, engine in enumerate(engines):
            for rank in (1, 3):
                with self.subTest(engine=engine, rank=rank):
                    self.run_engine(engine, h.rng(63 + 2 * seed + rank), 80, rank=rank,
                                    at_least=150)


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

    def test_the_candidate_has_onnx_output_type(self):
        # ConvInteger's output is int32, QLinearConv's y_zero_point's: equal values of another
        # type (or floats) are refused by the library's rule, for check and diagnose alike.
        node, i, attributes, (expected,) = onnx_case("test_convinteger_with_padding")
        for wrong in (expected.astype(np.int64), expected.astype(np.float32)):
            for fn in (convmat.check, convmat.diagnose):
                with self.assertRaisesRegex(
                        TypeError, "ConvInteger's output has ONNX's type int32; the candidate "
                        f"must have it, got {wrong.dtype}"):
                    fn(wrong, i["x"], i["w"], op="ConvInteger",
                       x_zero_point=i["x_zero_point"], **attributes)
        node, i, attributes, (expected,) = onnx_case("test_qlinearconv")
        q = {k: i[k] for k in ("x_scale", "x_zero_point", "w_scale", "w_zero_point", "y_scale",
                               "y_zero_point")}
        self.assertEqual(expected.dtype, np.uint8)
        with self.assertRaisesRegex(TypeError, r"type uint8 \(y_zero_point's\).*got int8"):
            convmat.check(expected.astype(np.int8), i["x"], i["w"], op="QLinearConv", **q)


class QuantizedLayouts(unittest.TestCase):
    """The quantized ops in an int8 kernel's layouts (data_format NHWC/NWC, weight_format
    OHWI/HWIO and the 1-d forms): the same integers as ONNX's NCHW/OIHW, transposed, exactly;
    check's and diagnose's indices in the caller's layout."""

    FORMATS = {1: ("NWC", {"OWI": (0, 2, 1), "WIO": (2, 1, 0)}),
               2: ("NHWC", {"OHWI": (0, 2, 3, 1), "HWIO": (2, 3, 1, 0)})}

    def random_case(self, rng, rank):
        groups = int(rng.integers(1, 3))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 4))
        size = tuple(int(v) for v in rng.integers(3, 7, size=rank))
        kernel = tuple(int(v) for v in rng.integers(1, 4, size=rank))
        x = rng.integers(0, 256, (2, cin) + size).astype(np.uint8)
        w = rng.integers(-128, 128, (cout, cin // groups) + kernel).astype(np.int8)
        attributes = dict(group=groups, strides=[int(v) for v in rng.integers(1, 3, size=rank)],
                          pads=[int(v) for v in rng.integers(0, 2, size=2 * rank)])
        q = dict(x_scale=np.float32(rng.uniform(0.01, 0.1)),
                 x_zero_point=np.uint8(rng.integers(0, 256)),
                 w_scale=rng.uniform(0.005, 0.05, cout).astype(np.float32),
                 w_zero_point=rng.integers(-5, 6, cout).astype(np.int8),
                 y_scale=np.float32(rng.uniform(0.5, 5)),
                 y_zero_point=np.uint8(rng.integers(0, 256)),
                 B=rng.integers(-1000, 1000, cout).astype(np.int32))
        return x, w, attributes, q

    def test_layouts_are_transpositions(self):
        rng = np.random.default_rng(31)
        blamed = 0
        for trial in range(24):
            rank = 1 + trial % 2
            x, w, attributes, q = self.random_case(rng, rank)
            data_format, weights = self.FORMATS[rank]
            to_last = (0,) + tuple(range(2, rank + 2)) + (1,)
            xl = np.ascontiguousarray(x.transpose(to_last))
            want_int = convmat.onnx_conv_integer(x, w, q["x_zero_point"], q["w_zero_point"],
                                                 **attributes)
            want = convmat.onnx_qlinear_conv(x, q["x_scale"], q["x_zero_point"], w, q["w_scale"],
                                             q["w_zero_point"], q["y_scale"], q["y_zero_point"],
                                             q["B"], **attributes)
            for weight_format, order in weights.items():
                wl = np.ascontiguousarray(w.transpose(order))
                layouts = dict(data_format=data_format, weight_format=weight_format)
                got_int = convmat.onnx_conv_integer(xl, wl, q["x_zero_point"], q["w_zero_point"],
                                                    **attributes, **layouts)
                np.testing.assert_array_equal(got_int, want_int.transpose(to_last))
                got = convmat.onnx_qlinear_conv(xl, q["x_scale"], q["x_zero_point"], wl,
                                                q["w_scale"], q["w_zero_point"], q["y_scale"],
                                                q["y_zero_point"], q["B"], **attributes, **layouts)
                self.assertEqual(got.dtype, np.uint8)
                np.testing.assert_array_equal(got, want.transpose(to_last))
                inputs = {k: v for k, v in q.items() if k != "B"}  # check's bias is B
                self.assertTrue(convmat.check(got, xl, wl, q["B"], op="QLinearConv",
                                              **attributes, **layouts, **inputs))
                wrong = got.copy()
                index = tuple(int(rng.integers(0, n)) for n in wrong.shape)
                wrong[index] = wrong[index] + 1 if wrong[index] < 255 else 254
                r = convmat.check(wrong, xl, wl, q["B"], op="QLinearConv", **attributes,
                                  **layouts, **inputs)
                self.assertFalse(r)
                self.assertEqual(r.mismatches, 1)
                self.assertEqual(r.worst[0].index, index)
                blamed += 1
                # diagnose names an injected mistake computed in NCHW, given in the layout
                ignored = convmat.onnx_conv_integer(x, w, np.uint8(0), q["w_zero_point"],
                                                    **attributes)
                if (ignored == want_int).all():
                    continue
                d = convmat.diagnose(ignored.transpose(to_last), xl, wl, op="ConvInteger",
                                     x_zero_point=q["x_zero_point"],
                                     w_zero_point=q["w_zero_point"], **attributes, **layouts)
                self.assertIn("x_zero_point_ignored", d.reproducing, str(d))
                # the worst element first (the largest difference, then the first in NHWC order)
                diff = np.abs(ignored.astype(np.int64) - want_int).transpose(to_last)
                first = np.flatnonzero(diff == diff.max())[0]
                self.assertEqual(d.check.worst[0].index,
                                 tuple(int(v) for v in np.unravel_index(first, diff.shape)))
        self.assertGreater(blamed, 40)


class Errors(unittest.TestCase):

    def test_dtypes_and_zero_points(self):
        x, w = np.zeros((1, 1, 3, 3), np.uint8), np.zeros((1, 1, 2, 2), np.uint8)
        with self.assertRaisesRegex(TypeError, "x must have dtype int8 or uint8"):
            convmat.onnx_conv_integer(x.astype(np.float32), w)
        with self.assertRaisesRegex(TypeError, "x_zero_point must have the dtype of its tensor"):
            convmat.onnx_conv_integer(x, w, np.int8(1))
        with self.assertRaisesRegex(ValueError, r"x_zero_point must have 1 value \(a scalar\)"):
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


    def test_numbers_are_typed_by_the_library_rule(self):
        # Plain numbers carry no type: scales become float32, zero points their tensor's type,
        # y_zero_point x's (core/quantized.hpp: quantized_value_from_numbers), the same rule as
        # the command line's.
        x = np.array([[[1, 2, 3, 4]]], np.int8)
        w = np.array([[[1, 1]], [[2, 2]]], np.int8)
        typed = convmat.onnx_qlinear_conv(x, np.float32(0.1), np.int8(0), w,
                                          np.float32([1.0, 10.0]), np.array([1, 0], np.int8),
                                          np.float32(0.3), np.int8(0))
        plain = convmat.onnx_qlinear_conv(x, 0.1, 0, w, [1.0, 10.0], [1, 0], 0.3, 0)
        self.assertEqual(plain.dtype, np.int8)
        np.testing.assert_array_equal(plain, typed)
        with self.assertRaisesRegex(TypeError, "w_scale must have dtype float32"):
            convmat.onnx_qlinear_conv(x, 0.1, 0, w, np.float64([1.0, 10.0]), [1, 0], 0.3, 0)
        with self.assertRaisesRegex(ValueError, "x_zero_point must hold integers of int8"):
            convmat.onnx_conv_integer(x, w, 200)


def shifted_conv(x, xz, w, wz, pads, pad_value=None, dtype=torch.float64):
    """sum over the window of (x - xz) (w - wz[m]) with torch, the padding holding `pad_value`
    (default xz: a padded tap adds 0); exact in float64 for these integers."""
    xs = torch.from_numpy(x.astype(np.float64))
    xs = torch.nn.functional.pad(xs, (pads, pads, pads, pads),
                                 value=float(xz if pad_value is None else pad_value)) - float(xz)
    ws = torch.from_numpy(w.astype(np.float64) - np.asarray(wz, np.float64).reshape(-1, 1, 1, 1))
    return torch.nn.functional.conv2d(xs.to(dtype), ws.to(dtype)).to(torch.float64).numpy()


def half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


class DiagnoseQuantized(unittest.TestCase):
    """convmat.diagnose on ConvInteger / QLinearConv: each int8 mistake injected by NumPy/torch
    code written here and named first; a correct candidate names none."""

    def setUp(self):
        r = h.rng(71)
        self.x = r.integers(0, 256, (1, 3, 6, 7)).astype(np.uint8)
        self.w = r.integers(-3, 4, (3, 3, 3, 3)).astype(np.int8)
        self.xz, self.wz, self.yz = 128, np.array([1, -1, 0], np.int8), 10
        self.B = np.array([100, -50, 7], np.int32)
        self.ws = np.float32([0.25, 0.5, 0.125])
        self.q = dict(x_scale=np.float32(1), x_zero_point=np.uint8(self.xz), w_scale=self.ws,
                      w_zero_point=self.wz, y_scale=np.float32(2), y_zero_point=np.int8(self.yz))
        self.m = (self.ws.astype(np.float64) / 2).reshape(1, 3, 1, 1)

    def requantized(self, acc, rounding=np.round, saturate=True, after=0.0, m=None):
        q = rounding(acc * (self.m if m is None else m) + after) + self.yz
        if saturate:
            return np.clip(q, -128, 127).astype(np.int8)
        return (q.astype(np.int64) & 0xFF).astype(np.uint8).view(np.int8)  # an int8 cast

    def named_first(self, candidate, mistake, op="QLinearConv"):
        if op == "QLinearConv":
            d = convmat.diagnose(candidate, self.x, self.w, self.B, op=op, pads=[1] * 4, **self.q)
        else:
            d = convmat.diagnose(candidate, self.x, self.w, op=op, pads=[1] * 4,
                                 x_zero_point=self.q["x_zero_point"], w_zero_point=self.wz)
        self.assertFalse(d.check.passed, mistake)
        self.assertEqual(d.reproducing[:1], [mistake], str(d))
        self.assertIn(mistake, str(d))
        return d

    def test_each_mistake_is_named_first(self):
        x, w, xz, wz, B = self.x, self.w, self.xz, self.wz, self.B.reshape(1, 3, 1, 1)
        acc = shifted_conv(x, xz, w, wz, 1) + B
        good = self.requantized(acc)
        d = convmat.diagnose(good, x, w, self.B, op="QLinearConv", pads=[1] * 4, **self.q)
        self.assertTrue(d.check.passed)
        self.assertEqual((d.tried, d.reproducing), ([], []))
        self.assertIn("nothing to diagnose", str(d))
        ci = shifted_conv(x, xz, w, wz, 1).astype(np.int32)
        cases = {
            "x_zero_point_ignored": shifted_conv(x, 0, w, wz, 1),
            "w_zero_point_ignored": shifted_conv(x, xz, w, 0, 1),
            "padding_zero_not_x_zero_point": shifted_conv(x, xz, w, wz, 1, pad_value=0),
            "w_zero_point_first_for_all": shifted_conv(x, xz, w, wz[0], 1),
            "w_zero_point_wrong_axis": shifted_conv(x, xz, w - wz.reshape(1, 3, 1, 1), 0, 1),
        }
        for mistake, sums in cases.items():
            self.named_first(sums.astype(np.int32), mistake, "ConvInteger")
            self.named_first(self.requantized(sums + B), mistake)
        self.assertTrue(convmat.diagnose(ci, x, w, op="ConvInteger", pads=[1] * 4,
                                         x_zero_point=np.uint8(xz), w_zero_point=wz).check)
        self.named_first(self.requantized(acc, m=np.full_like(self.m, self.m.flat[0])),
                         "w_scale_first_for_all")
        per_input = sum(self.ws[c] * shifted_conv(x[:, c:c + 1], xz, w[:, c:c + 1], wz, 1)
                        for c in range(3))
        axis1 = (per_input + B * self.ws.reshape(1, 3, 1, 1)) / 2
        self.named_first(self.requantized(axis1, m=1.0), "w_scale_wrong_axis")
        self.named_first(self.requantized(acc - B), "bias_missing")
        self.named_first(self.requantized(acc - B, after=B), "bias_after_scaling")
        self.named_first(self.requantized(acc, half_away), "rounding_half_away_from_zero")
        self.named_first(self.requantized(acc, lambda v: np.floor(v + 0.5)), "rounding_half_up")
        self.named_first(self.requantized(acc, np.trunc), "rounding_toward_zero")
        self.named_first(self.requantized(acc, np.floor), "rounding_down")
        d = self.named_first(self.requantized(acc, saturate=False), "no_saturation")
        # float32_accumulation and int16_pair_saturation need large sums: their own tests.
        self.assertEqual({h.id for h in d.tried},
                         {m for m, _ in _convmat.quantized_mistakes()}
                         - {"float32_accumulation", "int16_pair_saturation"})

    def test_int16_pair_saturation(self):
        # x86's vpmaddubsw (oneDNN's int8 kernels on CPUs without VNNI): x as stored (uint8)
        # times w (int8), channels 2j and 2j + 1 of each tap added into a saturated int16; the
        # zero point taken off afterwards as xz * sum of w over the taps inside the input.
        r = h.rng(73)
        x = r.integers(0, 256, (1, 5, 6, 5)).astype(np.uint8)
        w = (r.integers(90, 128, (4, 5, 3, 3)) * r.choice([-1, 1], (4, 5, 3, 3))).astype(np.int8)
        xz, wz, B = 100, np.zeros(4, np.int8), np.array([500, -700, 0, 3], np.int32)
        raw = torch.nn.functional.pad(torch.from_numpy(x.astype(np.float64)), (1, 1, 1, 1))
        inside = torch.nn.functional.pad(torch.ones((1, 1, 6, 5), dtype=torch.float64),
                                         (1, 1, 1, 1))
        acc = -xz * torch.nn.functional.conv2d(
            inside, torch.from_numpy(w.astype(np.float64)).sum(1, keepdim=True)).numpy()
        saturated = 0
        for a in range(3):
            for b in range(3):
                for c0 in range(0, 5, 2):
                    tap = np.zeros(w.shape)
                    tap[:, c0:c0 + 2, a, b] = w[:, c0:c0 + 2, a, b]
                    pair = torch.nn.functional.conv2d(raw, torch.from_numpy(tap)).numpy()
                    saturated += np.count_nonzero(np.abs(pair + 0.5) > 32767.5)
                    acc += np.clip(pair, -32768, 32767)
        self.assertGreater(saturated, 20)
        exact = shifted_conv(x, xz, w, wz, 1)
        self.assertTrue(np.any(acc != exact))
        q = dict(x_scale=np.float32(0.02), x_zero_point=np.uint8(xz), w_scale=np.float32(0.01),
                 w_zero_point=np.int8(0), y_scale=np.float32(0.5), y_zero_point=np.uint8(128))
        for op, candidate, bias in (
                ("ConvInteger", acc.astype(np.int32), None),
                ("QLinearConv", np.clip(np.round((acc + B.reshape(1, 4, 1, 1)) * 0.0004) + 128,
                                        0, 255).astype(np.uint8), B)):
            with self.subTest(op=op):
                if op == "ConvInteger":
                    d = convmat.diagnose(candidate, x, w, op=op, pads=[1] * 4,
                                         x_zero_point=np.uint8(xz), w_zero_point=np.int8(0))
                else:
                    d = convmat.diagnose(candidate, x, w, bias, op=op, pads=[1] * 4, **q)
                self.assertFalse(d.check.passed)
                self.assertEqual(d.reproducing[:1], ["int16_pair_saturation"], str(d))
                self.assertIn("vpmaddubsw", str(d))

    def test_float32_accumulation(self):
        # 128 channels of 3x3 taps near 228 * (-114): sums near -3e7, past 2^24; torch's
        # float32 convolution of the shifted integers drops their low bits.
        r = h.rng(72)
        x = r.integers(200, 256, (1, 128, 4, 4)).astype(np.uint8)
        w = r.integers(-128, -99, (8, 128, 3, 3)).astype(np.int8)
        exact = shifted_conv(x, 0, w, 0, 0)
        f32 = shifted_conv(x, 0, w, 0, 0, dtype=torch.float32)
        self.assertTrue(np.any(f32 != exact))
        d = convmat.diagnose(f32.astype(np.int32), x, w, op="ConvInteger")
        self.assertEqual(d.reproducing, ["float32_accumulation"], str(d))
        # An error beyond float32's rounding bound (n u sum|terms|, about 2e3 here) is not.
        d = convmat.diagnose((exact + 100000).astype(np.int32), x, w, op="ConvInteger")
        self.assertEqual(d.reproducing, [])
        self.assertIn("none reproduces", str(d))

    def test_onnx_backend_case_with_its_zero_point_ignored(self):
        node, i, attributes, (expected,) = onnx_case("test_qlinearconv")
        q = {k: i[k] for k in ("x_scale", "x_zero_point", "w_scale", "w_zero_point", "y_scale",
                               "y_zero_point")}
        # 1x1 kernel: (x - 0)(w - w_zero_point) instead of (x - x_zero_point)(...), requantized
        # as ONNX's QuantizeLinear does (numpy's round is half to even).
        acc = i["x"].astype(np.float64) * (i["w"].astype(np.float64) - float(i["w_zero_point"][0]))
        m = np.float64(i["x_scale"]) * np.float64(i["w_scale"][0]) / np.float64(i["y_scale"])
        y = np.clip(np.round(acc * m) + int(i["y_zero_point"]), 0, 255).astype(np.uint8)
        d = convmat.diagnose(y, i["x"], i["w"], op="QLinearConv", **q, **attributes)
        self.assertEqual(d.reproducing[:1], ["x_zero_point_ignored"], str(d))
        self.assertTrue(convmat.diagnose(expected, i["x"], i["w"], op="QLinearConv", **q).check)

"""convmat.onnx_conv / onnx_conv_transpose: ONNX's own backend test cases, reproduced exactly, and
random layers with asymmetric pads, every auto_pad and output_shape against PyTorch.

The backend cases are the node tests of onnx/onnx (onnx/backend/test/case/node/conv.py and
convtranspose.py): inputs, attributes and expected outputs copied from there (onnx itself is not
installed here). The PyTorch references derive the pads from the formulas of the ONNX operator
documentation (written out again below, independently of convmat's C++) and apply them with
F.pad, whose negative pads crop.
"""

import math
import unittest

import numpy as np
import torch.nn.functional as F

import convmat
import helpers as h

# --- ONNX backend node tests ---------------------------------------------------------------------

X_5x5 = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
X_7x5 = np.arange(35, dtype=np.float32).reshape(1, 1, 7, 5)
ONES_3x3 = np.ones((1, 1, 3, 3), dtype=np.float32)
X_3x3 = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
ONES_1x2x3x3 = np.ones((1, 2, 3, 3), dtype=np.float32)


def two_channels(rows):
    return np.array([[rows, rows]], dtype=np.float32)


CONV_CASES = {
    "test_basic_conv_with_padding": (
        X_5x5, ONES_3x3, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        [[[[12, 21, 27, 33, 24], [33, 54, 63, 72, 51], [63, 99, 108, 117, 81],
           [93, 144, 153, 162, 111], [72, 111, 117, 123, 84]]]]),
    "test_basic_conv_without_padding": (
        X_5x5, ONES_3x3, dict(kernel_shape=[3, 3], pads=[0, 0, 0, 0]),
        [[[[54, 63, 72], [99, 108, 117], [144, 153, 162]]]]),
    "test_conv_with_strides_padding": (
        X_7x5, ONES_3x3, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        [[[[12, 27, 24], [63, 108, 81], [123, 198, 141], [112, 177, 124]]]]),
    "test_conv_with_strides_no_padding": (
        X_7x5, ONES_3x3, dict(kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[2, 2]),
        [[[[54, 72], [144, 162], [234, 252]]]]),
    "test_conv_with_strides_and_asymmetric_padding": (
        X_7x5, ONES_3x3, dict(kernel_shape=[3, 3], pads=[1, 0, 1, 0], strides=[2, 2]),
        [[[[21, 33], [99, 117], [189, 207], [171, 183]]]]),
    "test_conv_with_autopad_same": (
        X_5x5, ONES_3x3, dict(auto_pad="SAME_LOWER", kernel_shape=[3, 3], strides=[2, 2]),
        [[[[12, 27, 24], [63, 108, 81], [72, 117, 84]]]]),
}

_OUTPUT_SHAPE_ROWS = [[0, 0, 1, 1, 3, 2, 2, 0]] * 3 + [[3, 3, 7, 4, 9, 5, 5, 0]] * 3 + \
    [[6, 6, 13, 7, 15, 8, 8, 0]] * 3 + [[0] * 8]

CONV_TRANSPOSE_CASES = {
    "test_convtranspose": (
        X_3x3, ONES_1x2x3x3, dict(),
        two_channels([[0, 1, 3, 3, 2], [3, 8, 15, 12, 7], [9, 21, 36, 27, 15],
                      [9, 20, 33, 24, 13], [6, 13, 21, 15, 8]])),
    "test_convtranspose_1d": (
        np.array([[[0, 1, 2]]], dtype=np.float32), np.ones((1, 2, 3), dtype=np.float32), dict(),
        [[[0, 1, 3, 3, 2], [0, 1, 3, 3, 2]]]),
    "test_convtranspose_pads": (
        X_3x3, ONES_1x2x3x3, dict(strides=[3, 2], pads=[1, 2, 1, 2]),
        two_channels([[1, 1, 3], [1, 1, 3], [7, 4, 9], [7, 4, 9], [7, 4, 9], [13, 7, 15],
                      [13, 7, 15]])),
    "test_convtranspose_output_shape": (
        X_3x3, ONES_1x2x3x3, dict(strides=[3, 2], output_shape=[10, 8]),
        two_channels(_OUTPUT_SHAPE_ROWS)),
    "test_convtranspose_pad": (
        X_3x3, ONES_1x2x3x3, dict(strides=[3, 2], output_padding=[1, 1]),
        two_channels(_OUTPUT_SHAPE_ROWS)),
    "test_convtranspose_kernel_shape": (
        X_3x3, ONES_1x2x3x3,
        dict(strides=[3, 2], output_shape=[10, 8], kernel_shape=[3, 3], output_padding=[1, 1]),
        two_channels(_OUTPUT_SHAPE_ROWS)),
    "test_convtranspose_dilations": (
        np.array([[[[3, 8, 1], [9, 5, 7], [3, 2, 6]]]], dtype=np.float32),
        np.array([[[[7, 2], [1, 9]]]], dtype=np.float32), dict(dilations=[2, 2]),
        [[[[21, 56, 13, 16, 2], [63, 35, 67, 10, 14], [24, 22, 76, 76, 21],
           [9, 5, 88, 45, 63], [3, 2, 33, 18, 54]]]]),
    "test_convtranspose_autopad_same": (
        X_3x3, ONES_1x2x3x3, dict(auto_pad="SAME_UPPER", strides=[2, 2]),
        two_channels([[0, 0, 1, 1, 3, 2], [0, 0, 1, 1, 3, 2], [3, 3, 8, 5, 12, 7],
                      [3, 3, 7, 4, 9, 5], [9, 9, 20, 11, 24, 13], [6, 6, 13, 7, 15, 8]])),
}


def convtranspose_3d_expected():
    """test_convtranspose_3d's expected output: x = arange(60) as (1, 1, 3, 4, 5), W = ones
    (1, 2, 3, 3, 3). Its 420 numbers are the two identical channels of this table."""
    rows = [
        [[0, 1, 3, 6, 9, 7, 4], [5, 12, 21, 27, 33, 24, 13], [15, 33, 54, 63, 72, 51, 27],
         [30, 63, 99, 108, 117, 81, 42], [25, 52, 81, 87, 93, 64, 33],
         [15, 31, 48, 51, 54, 37, 19]],
        [[20, 42, 66, 72, 78, 54, 28], [50, 104, 162, 174, 186, 128, 66],
         [90, 186, 288, 306, 324, 222, 114], [120, 246, 378, 396, 414, 282, 144],
         [90, 184, 282, 294, 306, 208, 106], [50, 102, 156, 162, 168, 114, 58]],
        [[60, 123, 189, 198, 207, 141, 72], [135, 276, 423, 441, 459, 312, 159],
         [225, 459, 702, 729, 756, 513, 261], [270, 549, 837, 864, 891, 603, 306],
         [195, 396, 603, 621, 639, 432, 219], [105, 213, 324, 333, 342, 231, 117]],
        [[60, 122, 186, 192, 198, 134, 68], [130, 264, 402, 414, 426, 288, 146],
         [210, 426, 648, 666, 684, 462, 234], [240, 486, 738, 756, 774, 522, 264],
         [170, 344, 522, 534, 546, 368, 186], [90, 182, 276, 282, 288, 194, 98]],
        [[40, 81, 123, 126, 129, 87, 44], [85, 172, 261, 267, 273, 184, 93],
         [135, 273, 414, 423, 432, 291, 147], [150, 303, 459, 468, 477, 321, 162],
         [105, 212, 321, 327, 333, 224, 113], [55, 111, 168, 171, 174, 117, 59]],
    ]
    return np.array([[rows, rows]], dtype=np.float32)


class OnnxBackendCases(unittest.TestCase):

    def check(self, run, cases):
        for name, (x, w, attributes, want) in cases.items():
            for method in ("matrix", "loops"):
                with self.subTest(name=name, method=method):
                    got = run(x, w, method=method, **attributes)
                    self.assertEqual(got.dtype, np.float32)
                    np.testing.assert_array_equal(got, np.array(want, dtype=np.float32))

    def test_conv(self):
        self.check(convmat.onnx_conv, CONV_CASES)

    def test_conv_transpose(self):
        cases = dict(CONV_TRANSPOSE_CASES)
        cases["test_convtranspose_3d"] = (
            np.arange(60, dtype=np.float32).reshape(1, 1, 3, 4, 5),
            np.ones((1, 2, 3, 3, 3), dtype=np.float32), dict(), convtranspose_3d_expected())
        self.check(convmat.onnx_conv_transpose, cases)

    def test_bytes_attributes_as_onnx_helper_returns_them(self):
        x, w, attributes, want = CONV_CASES["test_conv_with_autopad_same"]
        got = convmat.onnx_conv(x, w, **dict(attributes, auto_pad=b"SAME_LOWER"))
        np.testing.assert_array_equal(got, np.array(want, dtype=np.float32))


# --- random layers against PyTorch -----------------------------------------------------------------

def onnx_conv_pads(auto_pad, n, k, s, d, pads):
    """ONNX Conv's pads per dimension (the operator documentation's rule)."""
    rank = len(n)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for ni, ki, si, di in zip(n, k, s, d):
            total = max(0, (math.ceil(ni / si) - 1) * si + di * (ki - 1) + 1 - ni)
            small, large = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else large)
            end.append(large if auto_pad == "SAME_UPPER" else small)
        return begin, end
    if auto_pad == "VALID" or pads is None:
        return [0] * rank, [0] * rank
    return pads[:rank], pads[rank:]


def onnx_conv_transpose_pads(auto_pad, n, k, s, d, a, pads, output_shape):
    """ONNX ConvTranspose's pads: from output_shape (or n*s for SAME_*), ignoring given pads, by
    total = s(n-1) + a + (k-1)d + 1 - output_shape; SAME_UPPER: begin = total//2, else
    end = total//2 (floor division, as the backend test test_convtranspose_output_shape needs)."""
    rank = len(n)
    if output_shape is None and auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        output_shape = [ni * si for ni, si in zip(n, s)]
    if output_shape is None:
        if auto_pad == "VALID" or pads is None:
            return [0] * rank, [0] * rank
        return pads[:rank], pads[rank:]
    begin, end = [], []
    for ni, ki, si, di, ai, oi in zip(n, k, s, d, a, output_shape):
        total = si * (ni - 1) + ai + (ki - 1) * di + 1 - oi
        if auto_pad == "SAME_UPPER":
            begin.append(total // 2)
            end.append(total - total // 2)
        else:
            begin.append(total - total // 2)
            end.append(total // 2)
    return begin, end


def crop_or_pad(y, begin, end):
    """Removes begin/end rows per spatial dimension (adds zero rows where negative)."""
    return F.pad(y, [-v for v in h.torch_pad_list(begin, end)])


def random_onnx_layer(rng, transposed):
    rank = int(rng.integers(1, 4))
    group = int(rng.integers(1, 3))
    c, m = group * int(rng.integers(1, 3)), group * int(rng.integers(1, 3))
    k = [int(rng.integers(1, 4)) for _ in range(rank)]
    s = [int(rng.integers(1, 4)) for _ in range(rank)]
    d = [int(rng.integers(1, 3)) for _ in range(rank)]
    n = [int(rng.integers(1, 6)) for _ in range(rank)]
    auto_pad = str(rng.choice(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    attributes = dict(strides=s, dilations=d, group=group)
    if rng.random() < 0.5:
        attributes["kernel_shape"] = k
    if auto_pad != "NOTSET" or rng.random() < 0.5:
        attributes["auto_pad"] = auto_pad
    pads = None
    if auto_pad == "NOTSET" and rng.random() < 0.5:
        pads = [int(rng.integers(0, 4)) for _ in range(2 * rank)]
        attributes["pads"] = pads
    if not transposed:
        # make the output non-empty: enlarge n until it is
        begin, end = onnx_conv_pads(auto_pad, n, k, s, d, pads)
        n = [max(ni, di * (ki - 1) + 1 - b - e) for ni, ki, di, b, e in zip(n, k, d, begin, end)]
        return dict(rank=rank, c=c, m=m, k=k, s=s, d=d, n=n, auto_pad=auto_pad, pads=pads,
                    attributes=attributes, x_shape=[2, c] + n, w_shape=[m, c // group] + k)
    a = [int(rng.integers(0, max(si, di))) for si, di in zip(s, d)]
    if rng.random() < 0.5:
        attributes["output_padding"] = a
    else:
        a = [0] * rank
    output_shape = None
    if auto_pad == "NOTSET" and rng.random() < 0.7:  # given pads are then ignored
        natural = [si * (ni - 1) + ai + (ki - 1) * di + 1 for ni, ki, si, di, ai in
                   zip(n, k, s, d, a)]
        output_shape = [max(1, o + int(rng.integers(-2, 3))) for o in natural]
        attributes["output_shape"] = output_shape if rng.random() < 0.5 else [2, m] + output_shape
    begin, end = onnx_conv_transpose_pads(auto_pad, n, k, s, d, a, pads, output_shape)
    natural = [si * (ni - 1) + ai + (ki - 1) * di + 1 for ni, ki, si, di, ai in zip(n, k, s, d, a)]
    if any(o - b - e < 1 for o, b, e in zip(natural, begin, end)):
        attributes.pop("pads", None)
        begin, end = [0] * rank, [0] * rank
        pads = None
    return dict(rank=rank, c=c, m=m, k=k, s=s, d=d, n=n, a=a, auto_pad=auto_pad, begin=begin,
                end=end, attributes=attributes, x_shape=[2, c] + n, w_shape=[c, m // group] + k)


def torch_onnx_layer(layer, x, w, b, transposed):
    """PyTorch with the pads of the ONNX documentation applied by F.pad (negative pads crop)."""
    group, rank = layer["attributes"]["group"], layer["rank"]
    if not transposed:
        begin, end = onnx_conv_pads(layer["auto_pad"], layer["n"], layer["k"], layer["s"],
                                    layer["d"], layer["pads"])
        padded = F.pad(h.as_torch(x), h.torch_pad_list(begin, end))
        return h.TORCH_CONV[rank](padded, h.as_torch(w), h.as_torch(b), layer["s"], 0,
                                  layer["d"], group).numpy()
    full = h.TORCH_CONV_TRANSPOSE[rank](h.as_torch(x), h.as_torch(w), None, layer["s"], 0,
                                        layer["a"], group, layer["d"])
    y = crop_or_pad(full, layer["begin"], layer["end"])
    return (y + h.as_torch(b).reshape([-1] + [1] * rank)).numpy()


def check_against_torch(test, transposed, cases, offset):
    """Random ONNX layers, float64 integer data (==) and float32 normal data (tolerance)."""
    rng = h.rng(offset)
    run = convmat.onnx_conv_transpose if transposed else convmat.onnx_conv
    for i in range(cases):
        layer = random_onnx_layer(rng, transposed)
        terms = layer["c"] // layer["attributes"]["group"] * math.prod(layer["k"]) + 1
        for dtype, integer in ((np.float64, True), (np.float32, False)):
            x = h.data(rng, layer["x_shape"], dtype, integer)
            w = h.data(rng, layer["w_shape"], dtype, integer)
            b = h.data(rng, [layer["m"]], dtype, integer)
            want, magnitude = h.with_magnitude(
                lambda x, w, b: torch_onnx_layer(layer, x, w, b, transposed), x, w, b)
            for method in ("matrix", "loops"):
                context = f"case {i} {method} {dtype.__name__}: {layer}"
                got = run(x, w, b, method=method, **layer["attributes"])
                if integer:
                    np.testing.assert_array_equal(got, want, err_msg=context)
                else:
                    h.assert_close(test, got, want, magnitude, terms, dtype, context)


class OnnxAgainstTorch(unittest.TestCase):
    CASES = 300

    def test_conv(self):
        check_against_torch(self, False, self.CASES, 41)

    def test_conv_transpose(self):
        check_against_torch(self, True, self.CASES, 42)

    def test_every_auto_pad_is_exercised(self):
        rng = h.rng(42)
        seen = {random_onnx_layer(rng, transposed=True)["auto_pad"] for _ in range(self.CASES)}
        self.assertEqual(seen, {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"})


if __name__ == "__main__":
    unittest.main()

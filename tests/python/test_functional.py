"""convmat.conv{1,2,3}d and conv_transpose{1,2,3}d against torch.nn.functional.

Random layers over every argument (rank, groups, stride, dilation, int/tuple/"same"/"valid"
padding, the four padding modes through F.pad, output_padding, batched/unbatched/empty batches,
bias), both methods, float32 and float64: == on integer-valued float64 data, the tolerance rule of
helpers.py on normal data.
"""

import math
import unittest

import numpy as np
import torch

import convmat
import helpers as h

CONV = {1: convmat.conv1d, 2: convmat.conv2d, 3: convmat.conv3d}
CONV_TRANSPOSE = {1: convmat.conv_transpose1d, 2: convmat.conv_transpose2d,
                  3: convmat.conv_transpose3d}
CASES = 300  # random layers per (function family, dtype, data kind)


def conv_reference(case, x, w, b):
    """PyTorch's result and sum|w||x| + |b| for the tolerance (both numpy, batched as x)."""
    def run(x, w, b):
        y = h.torch_conv(case["rank"], h.as_torch(h.batched(x, case)), h.as_torch(w),
                         h.as_torch(b), case["stride"], case["padding"], case["dilation"],
                         case["groups"], case["padding_mode"])
        return h.unbatched(y.numpy(), case)
    want = run(x, w, b)
    magnitude = run(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64),
                    None if b is None else np.abs(b).astype(np.float64))
    return want, magnitude


def conv_transpose_reference(case, x, w, b):
    def run(x, w, b):
        y = h.TORCH_CONV_TRANSPOSE[case["rank"]](
            h.as_torch(h.batched(x, case)), h.as_torch(w), h.as_torch(b), case["stride"],
            case["padding"], case["output_padding"], case["groups"], case["dilation"])
        return h.unbatched(y.numpy(), case)
    want = run(x, w, b)
    magnitude = run(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64),
                    None if b is None else np.abs(b).astype(np.float64))
    return want, magnitude


def terms(case):
    return case["c_in"] // case["groups"] * math.prod(case["kernel"]) + 1


class ConvolutionAgainstTorch(unittest.TestCase):

    def run_cases(self, dtype, integer, offset):
        rng = h.rng(offset)
        for i in range(CASES):
            case = h.random_conv(rng)
            x, w, b = h.conv_tensors(rng, case, dtype, integer)
            want, magnitude = conv_reference(case, x, w, b)
            for method in ("matrix", "loops"):
                context = f"case {i} {method} {dtype.__name__}: {case}"
                got = CONV[case["rank"]](x, w, b, case["stride"], case["padding"],
                                         case["dilation"], case["groups"],
                                         case["padding_mode"], method=method)
                if integer:
                    self.assertEqual(got.dtype, np.dtype(dtype), context)
                    np.testing.assert_array_equal(got, want, err_msg=context)
                else:
                    h.assert_close(self, got, want, magnitude, terms(case), dtype, context)

    def test_integer_data_float64_is_exact(self):
        self.run_cases(np.float64, True, 1)

    def test_float64(self):
        self.run_cases(np.float64, False, 2)

    def test_float32(self):
        self.run_cases(np.float32, False, 3)

    def test_keyword_arguments_as_in_torch(self):
        rng = h.rng(4)
        x = rng.standard_normal((2, 4, 7, 6))
        w = rng.standard_normal((6, 2, 3, 2))
        b = rng.standard_normal(6)
        kwargs = dict(bias=b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
        want = h.TORCH_CONV[2](h.as_torch(x), h.as_torch(w),
                               **{k: h.as_torch(v) if k == "bias" else v
                                  for k, v in kwargs.items()}).numpy()
        got = convmat.conv2d(input=x, weight=w, **kwargs)
        magnitude = h.TORCH_CONV[2](h.as_torch(np.abs(x)), h.as_torch(np.abs(w)),
                                    h.as_torch(np.abs(b)), (2, 1), (1, 0), (1, 2), 2).numpy()
        h.assert_close(self, got, want, magnitude, 2 * 6 + 1, np.float64)

    def test_non_contiguous_inputs_are_read_correctly(self):
        rng = h.rng(5)
        x = rng.standard_normal((3, 2, 9, 10))[:, :, ::2, ::-1]   # strided view
        w = np.asfortranarray(rng.standard_normal((4, 2, 3, 3)))  # Fortran order
        self.assertFalse(x.flags.c_contiguous or w.flags.c_contiguous)
        got = convmat.conv2d(x, w, padding=1)
        want = h.TORCH_CONV[2](h.as_torch(x), h.as_torch(w), None, 1, 1).numpy()
        magnitude = h.TORCH_CONV[2](h.as_torch(np.abs(x)), h.as_torch(np.abs(w)), None, 1,
                                    1).numpy()
        h.assert_close(self, got, want, magnitude, 2 * 9 + 1, np.float64)


class TransposedConvolutionAgainstTorch(unittest.TestCase):

    def run_cases(self, dtype, integer, offset):
        rng = h.rng(offset)
        for i in range(CASES):
            case = h.random_conv_transpose(rng)
            x, w, b = h.conv_tensors(rng, case, dtype, integer, transposed=True)
            want, magnitude = conv_transpose_reference(case, x, w, b)
            for method in ("matrix", "loops"):
                context = f"case {i} {method} {dtype.__name__}: {case}"
                got = CONV_TRANSPOSE[case["rank"]](x, w, b, case["stride"], case["padding"],
                                                   case["output_padding"], case["groups"],
                                                   case["dilation"], method=method)
                if integer:
                    self.assertEqual(got.dtype, np.dtype(dtype), context)
                    np.testing.assert_array_equal(got, want, err_msg=context)
                else:
                    h.assert_close(self, got, want, magnitude, terms(case), dtype, context)

    def test_integer_data_float64_is_exact(self):
        self.run_cases(np.float64, True, 11)

    def test_float64(self):
        self.run_cases(np.float64, False, 12)

    def test_float32(self):
        self.run_cases(np.float32, False, 13)


class Seeds(unittest.TestCase):
    """The numbers of seed 000 and 002 through the PyTorch-style API (exact)."""

    def test_seed_000_trans_conv_padding_and_stride(self):
        X = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
        K = X.copy()
        for method in ("matrix", "loops"):
            np.testing.assert_array_equal(convmat.conv_transpose2d(X, K, method=method),
                                          [[[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]])
            np.testing.assert_array_equal(convmat.conv_transpose2d(X, K, padding=1,
                                                                   method=method), [[[[4]]]])
            np.testing.assert_array_equal(
                convmat.conv_transpose2d(X, K, stride=2, method=method),
                [[[[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]]])

    def test_seed_000_shape_round_trip(self):
        rng = h.rng(21)
        x = rng.random((1, 10, 16, 16))
        w = rng.random((20, 10, 5, 5))
        t = rng.random((20, 10, 5, 5))
        y = convmat.conv2d(x, w, padding=2, stride=3)
        self.assertEqual(convmat.conv_transpose2d(y, t, padding=2, stride=3).shape, x.shape)

    def test_seed_002_pixel_splatting(self):
        X = np.array([[[[5.0, 6.0], [7.0, 8.0]]]], dtype=np.float32)
        K = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
        want = [[5, 10, 6, 12], [15, 20, 18, 24], [7, 14, 8, 16], [21, 28, 24, 32]]
        for method in ("matrix", "loops"):
            got = convmat.conv_transpose2d(X, K, stride=2, method=method)
            self.assertEqual(got.dtype, np.float32)
            np.testing.assert_array_equal(got[0, 0], want)


class Shapes(unittest.TestCase):

    def test_unbatched_in_unbatched_out(self):
        rng = h.rng(31)
        for rank in (1, 2, 3):
            x = rng.standard_normal([3] + [5] * rank)
            w = rng.standard_normal([2, 3] + [2] * rank)
            y = CONV[rank](x, w)
            self.assertEqual(y.shape, tuple([2] + [4] * rank))
            np.testing.assert_array_equal(y, CONV[rank](x[None], w)[0])
            t = CONV_TRANSPOSE[rank](y, w)
            self.assertEqual(t.shape, x.shape)

    def test_empty_batch(self):
        w = np.ones((2, 3, 2, 2), dtype=np.float32)
        y = convmat.conv2d(np.zeros((0, 3, 4, 4), dtype=np.float32), w)
        self.assertEqual((y.shape, y.dtype), ((0, 2, 3, 3), np.dtype(np.float32)))

    def test_output_is_a_new_array(self):
        x = np.ones((1, 1, 3, 3))
        w = np.ones((1, 1, 1, 1))
        y = convmat.conv2d(x, w)
        y[...] = 7
        np.testing.assert_array_equal(x, 1)

    def test_lists_are_accepted_like_arrays(self):
        y = convmat.conv1d([[[1.0, 2.0, 3.0]]], [[[1.0, -1.0]]])
        np.testing.assert_array_equal(y, [[[-1.0, -1.0]]])


if __name__ == "__main__":
    unittest.main()

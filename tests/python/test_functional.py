"""convmat.conv{1,2,3}d and conv_transpose{1,2,3}d against torch.nn.functional.

Random layers over every argument (rank, groups, stride, dilation, int/tuple/"same"/"valid"
padding, the four padding modes through F.pad, output_padding, batched/unbatched/empty batches,
bias), both methods, float32 and float64: == on integer-valued float64 data, the tolerance rule of
helpers.py on normal data.
"""

import math
import unittest

import numpy as np

import convmat
import helpers as h

CONV, CONV_TRANSPOSE = h.CONV, h.CONV_TRANSPOSE
CASES = 300  # random layers per (function family, dtype, data kind)


def torch_layer(case, x, w, b, transposed):
    """PyTorch's layer for a random case, NumPy in and out (x unbatched when the case is)."""
    y = h.torch_forward(case, h.as_torch(h.batched(x, case)), h.as_torch(w), h.as_torch(b),
                        transposed)
    return h.unbatched(y.numpy(), case)


def reference(case, x, w, b, transposed):
    """PyTorch's result and sum|w||x| + |b| (the tolerance's magnitude)."""
    return h.with_magnitude(lambda x, w, b: torch_layer(case, x, w, b, transposed), x, w, b)


def terms(case):
    return case["c_in"] // case["groups"] * math.prod(case["kernel"]) + 1


def check_against_torch(test, transposed, dtype, integer, offset):
    """CASES random layers, both methods: == on integer data, the tolerance rule otherwise."""
    rng = h.rng(offset)
    random_case = h.random_conv_transpose if transposed else h.random_conv
    for i in range(CASES):
        case = random_case(rng)
        x, w, b = h.conv_tensors(rng, case, dtype, integer, transposed)
        want, magnitude = reference(case, x, w, b, transposed)
        for method in ("matrix", "loops"):
            context = f"case {i} {method} {dtype.__name__}: {case}"
            got = h.convmat_forward(case, x, w, b, transposed, method)
            if integer:
                test.assertEqual(got.dtype, np.dtype(dtype), context)
                np.testing.assert_array_equal(got, want, err_msg=context)
            else:
                h.assert_close(test, got, want, magnitude, terms(case), dtype, context)


class ConvolutionAgainstTorch(unittest.TestCase):

    def test_integer_data_float64_is_exact(self):
        check_against_torch(self, False, np.float64, True, 1)

    def test_float64(self):
        check_against_torch(self, False, np.float64, False, 2)

    def test_float32(self):
        check_against_torch(self, False, np.float32, False, 3)

    def test_keyword_arguments_as_in_torch(self):
        rng = h.rng(4)
        x = rng.standard_normal((2, 4, 7, 6))
        w = rng.standard_normal((6, 2, 3, 2))
        b = rng.standard_normal(6)
        kwargs = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
        want, magnitude = h.with_magnitude(
            lambda x, w, b: h.TORCH_CONV[2](h.as_torch(x), h.as_torch(w), h.as_torch(b),
                                            **kwargs).numpy(), x, w, b)
        got = convmat.conv2d(input=x, weight=w, bias=b, **kwargs)
        h.assert_close(self, got, want, magnitude, 2 * 6 + 1, np.float64)

    def test_non_contiguous_inputs_are_read_correctly(self):
        rng = h.rng(5)
        x = rng.standard_normal((3, 2, 9, 10))[:, :, ::2, ::-1]   # strided view
        w = np.asfortranarray(rng.standard_normal((4, 2, 3, 3)))  # Fortran order
        self.assertFalse(x.flags.c_contiguous or w.flags.c_contiguous)
        got = convmat.conv2d(x, w, padding=1)
        want, magnitude = h.with_magnitude(
            lambda x, w, b: h.TORCH_CONV[2](h.as_torch(x), h.as_torch(w), None, 1, 1).numpy(),
            x, w, None)
        h.assert_close(self, got, want, magnitude, 2 * 9 + 1, np.float64)


    def test_non_native_byte_order_is_read_as_its_value(self):
        # '>f8' is float64 (e.g. an array read from a big-endian file): same numbers, native out.
        rng = h.rng(6)
        x = rng.integers(-3, 4, (2, 3, 6, 5)).astype(np.float64)
        w = rng.integers(-3, 4, (4, 3, 2, 3)).astype(np.float64)
        for dtype in (np.float32, np.float64):
            swapped = np.dtype(dtype).newbyteorder(">" if np.little_endian else "<")
            got = convmat.conv2d(x.astype(swapped), w.astype(swapped), padding=1)
            want = convmat.conv2d(x.astype(dtype), w.astype(dtype), padding=1)
            self.assertEqual(got.dtype, np.dtype(dtype))
            np.testing.assert_array_equal(got, want)


class TransposedConvolutionAgainstTorch(unittest.TestCase):

    def test_integer_data_float64_is_exact(self):
        check_against_torch(self, True, np.float64, True, 11)

    def test_float64(self):
        check_against_torch(self, True, np.float64, False, 12)

    def test_float32(self):
        check_against_torch(self, True, np.float32, False, 13)


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


class ChannelBlockedStorage(unittest.TestCase):
    """Layers whose W the layer functions hold channel-blocked (the automatic storage: blocks of
    8, 4 or 2 rows' channels per group), == PyTorch on integer-valued data in float64 and
    float32 (every partial sum is a small integer, exact in both)."""

    # (rows' channels per group, block): the largest of 8, 4, 2 that divides it.
    PER_GROUP = ((8, 8), (16, 8), (12, 4), (4, 4), (6, 2), (2, 2))

    def check(self, rank, transposed, per_group, groups, batch, dtype, rng, **kwargs):
        other = 3 * groups  # the other side's channels: 3 per group
        size = (9, 7, 5)[:rank] if rank < 3 else (5, 4, 6)
        kernel = (3, 2, 3)[:rank]
        if transposed:  # W's rows are the input channels of a transposed convolution
            c_in, c_out = per_group * groups, other
            w_shape = (c_in, c_out // groups, *kernel)
        else:
            c_in, c_out = other, per_group * groups
            w_shape = (c_out, c_in // groups, *kernel)
        x = h.data(rng, (batch, c_in, *size), dtype, True)
        w = h.data(rng, w_shape, dtype, True)
        b = h.data(rng, (c_out,), dtype, True)
        ours = (CONV_TRANSPOSE if transposed else CONV)[rank]
        theirs = (h.TORCH_CONV_TRANSPOSE if transposed else h.TORCH_CONV)[rank]
        context = f"rank {rank} transposed {transposed} per group {per_group} groups {groups} " \
                  f"batch {batch} {np.dtype(dtype).name} {kwargs}"
        layer = convmat.Layer("conv_transpose%dd" % rank if transposed else "conv%dd" % rank,
                              w, size, groups=groups, **kwargs)
        self.assertEqual(layer.storage, "channel_blocked", context)
        want = theirs(h.as_torch(x), h.as_torch(w), h.as_torch(b), groups=groups,
                      **kwargs).numpy()
        got = ours(x, w, b, groups=groups, **kwargs)
        self.assertEqual(got.dtype, np.dtype(dtype), context)
        np.testing.assert_array_equal(got, want, err_msg=context)

    def test_integer_data_is_exact(self):
        rng = h.rng(31)
        for rank in (1, 2, 3):
            for transposed in (False, True):
                for per_group, _ in self.PER_GROUP:
                    for groups in (1, 3):
                        for dtype in (np.float64, np.float32):
                            batch = 1 + (per_group + groups) % 4
                            kwargs = dict(stride=2, padding=1) if per_group % 4 else {}
                            self.check(rank, transposed, per_group, groups, batch, dtype, rng,
                                       **kwargs)


if __name__ == "__main__":
    unittest.main()

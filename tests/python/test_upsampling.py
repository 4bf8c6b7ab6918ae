"""upsampling_matrix and interpolate against torch.nn.functional.interpolate (the reference).

Every mode (nearest, nearest-exact, linear/bilinear/trilinear), align_corners None/False/True,
size and scale_factor (int, float, per-axis tuples, factors below 1), recompute_scale_factor,
ranks 1-3, several channels, float32 and float64.

Tolerance, stated once: nearest modes copy values, so ==. The linear modes compute each output
as a sum of at most 2**rank products weight * x with weights in [0, 1] summing to 1, in the
dtype of the data (convmat's weights follow PyTorch's float arithmetic, upsampling.hpp), so
|convmat - torch| <= 4 * 2**rank * eps(dtype) * max|x| covers both roundings.
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat
import helpers as h

MODES = {1: ["nearest", "nearest-exact", "linear"], 2: ["nearest", "nearest-exact", "bilinear"],
         3: ["nearest", "nearest-exact", "trilinear"]}


def random_call(rng):
    """A random valid F.interpolate call: (input shape, keyword arguments)."""
    rank = int(rng.integers(1, 4))
    size_in = [int(rng.integers(1, 7 if rank < 3 else 5)) for _ in range(rank)]
    mode = str(rng.choice(MODES[rank]))
    kwargs = {"mode": mode}
    if mode not in ("nearest", "nearest-exact"):
        kwargs["align_corners"] = [None, False, True][int(rng.integers(0, 3))]
    if rng.random() < 0.4:
        size = [int(rng.integers(1, 12 if rank < 3 else 7)) for _ in range(rank)]
        kwargs["size"] = size[0] if rng.random() < 0.3 else size
    else:
        choices = [0.5, 0.7, 1.0, 1.5, 2, 2.2, 2.5, 3, 1 / 3, 1.75]
        if rng.random() < 0.3:  # one factor for every axis
            s = float(rng.choice(choices))
            kwargs["scale_factor"] = s if all(n * s >= 1 for n in size_in) else 2.0
        else:
            scales = [float(rng.choice(choices)) for _ in range(rank)]
            kwargs["scale_factor"] = [s if n * s >= 1 else 2.0 for s, n in zip(scales, size_in)]
        if rng.random() < 0.3:
            kwargs["recompute_scale_factor"] = bool(rng.random() < 0.5)
    # At least 2 channels: PyTorch computes a 1-channel 2-d/3-d input by its channels-last
    # kernel, whose nearest mode copies for out = n and halves j for out = 2n whatever the
    # scale factor (upsampling.hpp); convmat follows the channels-first kernel.
    return [int(rng.integers(1, 3)), int(rng.integers(2, 4))] + size_in, kwargs


class AgainstTorch(unittest.TestCase):

    def test_random_calls(self):
        rng = h.rng(301)
        checked = {}
        for i in range(400):
            shape, kwargs = random_call(rng)
            dtype = np.float64 if i % 2 else np.float32
            x = rng.standard_normal(shape).astype(dtype)
            try:
                want = F.interpolate(torch.from_numpy(x), **kwargs).numpy()
            except (RuntimeError, ValueError):  # e.g. floor(n * scale) = 0
                continue
            got = convmat.interpolate(x, **kwargs)
            context = f"call {i}: shape {shape}, {kwargs}, {np.dtype(dtype).name}"
            self.assertEqual(got.shape, want.shape, context)
            self.assertEqual(got.dtype, dtype, context)
            rank = len(shape) - 2
            if kwargs["mode"].startswith("nearest"):
                np.testing.assert_array_equal(got, want, err_msg=context)
            else:
                bound = 4 * 2 ** rank * np.finfo(dtype).eps * np.abs(x).max()
                np.testing.assert_array_less(np.abs(got.astype(float) - want), bound + 1e-300,
                                             err_msg=context)
            # The matrix itself, for one sample with all channels.
            U = convmat.upsampling_matrix(shape[2:], channels=shape[1], dtype=dtype,
                                          **{k: v for k, v in kwargs.items()})
            np.testing.assert_array_equal(U @ x[0].ravel(), got[0].ravel(), err_msg=context)
            key = (kwargs["mode"], kwargs.get("align_corners"), "size" in kwargs)
            checked[key] = checked.get(key, 0) + 1
        # Every mode with size and with scale_factor, every align_corners for the linear ones.
        self.assertGreaterEqual(len(checked), 3 * 2 + 3 * 3 * 2 - 2, str(checked))

    def test_seed_002_tables(self):
        # nn.UpsamplingNearest2d(scale_factor=2) on [[5, 6], [7, 8]]
        U = convmat.upsampling_matrix((2, 2), scale_factor=2)
        np.testing.assert_array_equal((U @ np.array([5.0, 6, 7, 8])).reshape(4, 4),
                                      [[5, 5, 6, 6], [5, 5, 6, 6], [7, 7, 8, 8], [7, 7, 8, 8]])
        # nn.UpsamplingBilinear2d(scale_factor=2) on arange(1, 10).view(3, 3), float32 as torch.
        x = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
        want = torch.nn.UpsamplingBilinear2d(scale_factor=2)(torch.from_numpy(x)).numpy()
        got = convmat.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        np.testing.assert_allclose(got, want, rtol=0, atol=4 * 4 * np.finfo(np.float32).eps * 9)
        # The exact values are (5 + 6r + 2c) / 5 in float64 (seed 002's printed table).
        r, c = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
        exact = convmat.interpolate(x.astype(np.float64), scale_factor=2, mode="bilinear",
                                    align_corners=True)[0, 0]
        np.testing.assert_allclose(exact, (5 + 6 * r + 2 * c) / 5, rtol=0, atol=8e-16 * 9)

    def test_nearest_is_one_per_row(self):
        U = convmat.upsampling_matrix((5, 3), size=(7, 8), mode="nearest-exact", channels=2)
        self.assertEqual(U.shape, (2 * 56, 2 * 15))
        np.testing.assert_array_equal(np.diff(U.indptr), 1)
        np.testing.assert_array_equal(U.data, 1)


class BilinearKernel(unittest.TestCase):

    def test_transposed_convolution_equals_bilinear_upsampling_away_from_the_border(self):
        rng = h.rng(302)
        for rank, mode in ((1, "linear"), (2, "bilinear"), (3, "trilinear")):
            channels = 2
            w = convmat.bilinear_kernel(channels, rank)
            self.assertEqual(w.shape, (channels, 1) + (4,) * rank)
            outer = np.array([1.0, 3, 3, 1]) / 4
            for axis in range(rank - 1):
                outer = np.multiply.outer(outer, np.array([1.0, 3, 3, 1]) / 4)
            np.testing.assert_array_equal(w[1, 0], outer)
            x = rng.standard_normal([1, channels] + [5] * rank)
            up = F.interpolate(torch.from_numpy(x), scale_factor=2, mode=mode,
                               align_corners=False).numpy()
            tconv = h.TORCH_CONV_TRANSPOSE[rank](torch.from_numpy(x), torch.from_numpy(w), None,
                                                 2, 1, 0, channels).numpy()
            self.assertEqual(tconv.shape, up.shape)
            inner = (slice(None), slice(None)) + (slice(1, -1),) * rank
            np.testing.assert_allclose(tconv[inner], up[inner], rtol=0, atol=1e-14)
            # On the border they differ: the edge pixel gets 3/4 instead of 1.
            self.assertFalse(np.allclose(tconv, up))


class Errors(unittest.TestCase):

    def test_messages(self):
        x = np.zeros((1, 1, 3, 3))
        cases = [
            (lambda: convmat.interpolate(x, scale_factor=2, mode="nearest", align_corners=False),
             lambda: F.interpolate(torch.zeros(1, 1, 3, 3), scale_factor=2, mode="nearest",
                                   align_corners=False),
             ValueError, "align_corners option can only be set with the interpolating modes"),
            (lambda: convmat.interpolate(x, size=4, scale_factor=2),
             lambda: F.interpolate(torch.zeros(1, 1, 3, 3), size=4, scale_factor=2),
             ValueError, "only one of size or scale_factor should be defined"),
            (lambda: convmat.interpolate(x), lambda: F.interpolate(torch.zeros(1, 1, 3, 3)),
             ValueError, "either size or scale_factor should be defined"),
            (lambda: convmat.interpolate(x, size=4, recompute_scale_factor=True),
             lambda: F.interpolate(torch.zeros(1, 1, 3, 3), size=4,
                                   recompute_scale_factor=True),
             ValueError, "recompute_scale_factor is not meaningful with an explicit size"),
            (lambda: convmat.interpolate(x, scale_factor=2, mode="linear"), None, ValueError,
             "linear"),
            (lambda: convmat.interpolate(x, scale_factor=2, mode="bicubic"), None, ValueError,
             "bicubic"),
            (lambda: convmat.interpolate(x, scale_factor=0.2), None, ValueError,
             "the output size floor(input_size * scale_factor) must be >= 1"),
            (lambda: convmat.interpolate(x, size=(2, 0)), None, ValueError,
             "size must be >= 1 in every dimension, got size[1] = 0"),
            (lambda: convmat.interpolate(np.zeros((3, 3))), None, ValueError,
             "input must be (N, C, *spatial)"),
            (lambda: convmat.interpolate(x.astype(np.int32), size=2), None, TypeError,
             "interpolate: input has dtype int32"),
            (lambda: convmat.interpolate(x, scale_factor="2"), None, TypeError,
             "scale_factor must be a number or a tuple of numbers"),
            (lambda: convmat.upsampling_matrix((3, 3), size=6, dtype=np.int32), None, TypeError,
             "dtype must be numpy.float32 or numpy.float64"),
            (lambda: convmat.upsampling_matrix((3, 3), size=6, mode="bilinear",
                                               align_corners=1), None, TypeError,
             "align_corners must be True or False"),
            (lambda: convmat.bilinear_kernel(1, 4), None, ValueError,
             "rank must be 1, 2 or 3, got 4"),
        ]
        for call, torch_call, error, message in cases:
            with self.subTest(message):
                with self.assertRaises(error) as raised:
                    call()
                self.assertIn(message, str(raised.exception))
                if torch_call is not None:  # PyTorch rejects the same call
                    with self.assertRaises((ValueError, RuntimeError)):
                        torch_call()


if __name__ == "__main__":
    unittest.main()

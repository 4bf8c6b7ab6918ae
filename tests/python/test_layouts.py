"""Layouts (data_format, weight_format): the same layers with their tensors stored in another order.

References: PyTorch computing on channels_last tensors (its NHWC / NDHWC memory format), its
output permuted to channels last, and plain NumPy permutation matrices built from
np.transpose -- never convmat's layout code. Integer-valued data: every comparison is exact.
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat
import helpers as h

# data format -> (rank, the axes of np.transpose taking (N, C, *spatial) to it)
DATA = {"NCW": (1, (0, 1, 2)), "NWC": (1, (0, 2, 1)), "NCHW": (2, (0, 1, 2, 3)),
        "NHWC": (2, (0, 2, 3, 1)), "NCDHW": (3, (0, 1, 2, 3, 4)), "NDHWC": (3, (0, 2, 3, 4, 1))}
# weight format -> the axes taking PyTorch's convolution weight (O, I, *k) to it
WEIGHT = {"OIW": (0, 1, 2), "WIO": (2, 1, 0), "OWI": (0, 2, 1), "IOW": (1, 0, 2),
          "OIHW": (0, 1, 2, 3), "HWIO": (2, 3, 1, 0), "OHWI": (0, 2, 3, 1), "IOHW": (1, 0, 2, 3),
          "OIDHW": (0, 1, 2, 3, 4), "DHWIO": (2, 3, 4, 1, 0), "ODHWI": (0, 2, 3, 4, 1)}
MEMORY_FORMAT = {2: torch.channels_last, 3: torch.channels_last_3d}


def ints(rng, shape):
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def permutation_matrix(shape, axes):
    """P with P @ a.ravel() == np.transpose(a, axes).ravel() for arrays a of `shape`."""
    n = int(np.prod(shape))
    order = np.arange(n).reshape(shape).transpose(axes).ravel()
    p = np.zeros((n, n))
    p[np.arange(n), order] = 1
    return p


class ChannelsLastAgainstPyTorch(unittest.TestCase):

    def test_nhwc_and_ndhwc_are_pytorchs_channels_last(self):
        rng = h.rng(1201)
        for rank in (2, 3):
            for i in range(6):
                with self.subTest(rank=rank, case=i):
                    spatial = tuple(rng.integers(4, 7, size=rank))
                    k = tuple(rng.integers(1, 4, size=rank))
                    groups = int(rng.integers(1, 3))
                    x = ints(rng, (2, 2 * groups) + spatial)
                    w = ints(rng, (2 * groups, 2) + k)
                    b = ints(rng, (2 * groups,))
                    stride, padding = int(rng.integers(1, 3)), int(rng.integers(0, 2))
                    fmt = MEMORY_FORMAT[rank]
                    y = h.TORCH_CONV[rank](
                        torch.tensor(x).to(memory_format=fmt), torch.tensor(w).to(
                            memory_format=fmt), torch.tensor(b), stride=stride, padding=padding,
                        groups=groups)
                    expected = y.permute(0, *range(2, rank + 2), 1).contiguous().numpy()
                    data_format = "NHWC" if rank == 2 else "NDHWC"
                    weight_format = "OHWI" if rank == 2 else "ODHWI"
                    to_last = DATA[data_format][1]
                    for method in ("matrix", "loops"):
                        got = h.CONV[rank](x.transpose(to_last), w.transpose(to_last), b,
                                           stride=stride, padding=padding, groups=groups,
                                           method=method, data_format=data_format,
                                           weight_format=weight_format)
                        np.testing.assert_array_equal(got, expected)

    def test_transposed_layers_in_tensorflows_filter_order(self):
        rng = h.rng(1202)
        for rank, data_format, weight_format in ((1, "NWC", "WOI"), (2, "NHWC", "HWOI"),
                                                 (3, "NDHWC", "DHWOI")):
            with self.subTest(rank=rank):
                x = ints(rng, (2, 3) + (4,) * rank)
                w = ints(rng, (3, 2) + (3,) * rank)  # PyTorch: (C_in, C_out, *k)
                expected = h.TORCH_CONV_TRANSPOSE[rank](torch.tensor(x), torch.tensor(w),
                                                        stride=2, padding=1,
                                                        output_padding=1).numpy()
                last = DATA[data_format][1]
                got = h.CONV_TRANSPOSE[rank](
                    x.transpose(last), w.transpose(tuple(range(2, rank + 2)) + (1, 0)), stride=2,
                    padding=1, output_padding=1, data_format=data_format,
                    weight_format=weight_format)
                np.testing.assert_array_equal(got, expected.transpose(last))


class LayoutsArePermutations(unittest.TestCase):
    """W of a layer in layouts = P_out · W · P_inᵀ (with the weight permuted to PyTorch's order)."""

    def test_every_format_pair(self):
        rng = h.rng(1203)
        for data_format, (rank, data_axes) in DATA.items():
            for weight_format, weight_axes in WEIGHT.items():
                if len(weight_axes) != rank + 2:
                    continue
                with self.subTest(data_format=data_format, weight_format=weight_format):
                    size = tuple(rng.integers(3, 5 if rank < 3 else 4, size=rank))
                    w = ints(rng, (3, 2) + tuple(rng.integers(1, 3, size=rank)))
                    W = convmat.conv_matrix(w, size, stride=2, padding=1).toarray()
                    sample_in, sample_out = (2,) + size, None
                    # the layer in the layouts, applied to every unit vector of its input
                    unbatched_axes = tuple(a - 1 for a in data_axes[1:])
                    user_in = tuple(np.array(sample_in)[list(unbatched_axes)])
                    n = int(np.prod(sample_in))
                    units = np.eye(n).reshape((n,) + user_in)
                    columns = h.CONV[rank](units, w.transpose(weight_axes), stride=2, padding=1,
                                           data_format=data_format, weight_format=weight_format)
                    M = columns.reshape(n, -1).T
                    sample_out = (3,) + tuple(
                        (s + 2 - k) // 2 + 1 for s, k in zip(size, w.shape[2:]))
                    P_out = permutation_matrix(sample_out, unbatched_axes)
                    P_in = permutation_matrix(sample_in, unbatched_axes)
                    np.testing.assert_array_equal(M, P_out @ W @ P_in.T)


class OracleInLayouts(unittest.TestCase):

    def setUp(self):
        rng = h.rng(1204)
        self.x = ints(rng, (2, 3, 5, 6))
        self.w = ints(rng, (4, 3, 3, 2))
        self.y = F.conv2d(torch.tensor(self.x), torch.tensor(self.w), stride=(2, 1),
                          padding=1).numpy()
        self.nhwc = dict(op="conv2d", stride=(2, 1), padding=1, data_format="NHWC",
                         weight_format="HWIO")
        self.x_user, self.w_user = self.x.transpose(0, 2, 3, 1), self.w.transpose(2, 3, 1, 0)

    def test_right_output_passes_and_blame_names_the_users_indices(self):
        good = self.y.transpose(0, 2, 3, 1).copy()
        self.assertTrue(convmat.check(good, self.x_user, self.w_user, **self.nhwc))
        bad = good.copy()
        bad[1, 2, 3, 0] += 1
        r = convmat.check(bad, self.x_user, self.w_user, **self.nhwc)
        self.assertFalse(r)
        self.assertEqual(r.expected_shape, good.shape)
        self.assertEqual(r.bad, 1)
        blame = r.worst[0]
        self.assertEqual(blame.index, (1, 2, 3, 0))
        self.assertEqual(blame.oracle, good[1, 2, 3, 0])
        for t in blame.terms:  # every term read back from the caller's arrays
            self.assertEqual(self.x_user[t.input_index], t.input)
            self.assertEqual(self.w_user[t.weight_index], t.weight)
            self.assertEqual(t.input_index[0], 1)
            self.assertEqual(t.weight_index[3], 0)  # O is the last axis of HWIO
        r_all = convmat.check(bad, self.x_user, self.w_user, blame_terms=100, **self.nhwc)
        self.assertEqual(sum(t.input * t.weight for t in r_all.worst[0].terms), good[1, 2, 3, 0])

    def test_diagnose_names_the_flipped_kernel_in_nhwc(self):
        flipped = F.conv2d(torch.tensor(self.x), torch.tensor(self.w[..., ::-1, ::-1].copy()),
                           stride=(2, 1), padding=1).numpy().transpose(0, 2, 3, 1)
        d = convmat.diagnose(flipped, self.x_user, self.w_user, **self.nhwc)
        self.assertIn("kernel_flipped", d.reproducing)

    def test_a_wrong_shape_is_reported_in_the_users_layout(self):
        r = convmat.check(self.y, self.x_user, self.w_user, **self.nhwc)  # NCHW given for NHWC
        self.assertFalse(r)
        self.assertEqual(r.expected_shape, (2, 3, 7, 4))
        self.assertEqual(r.candidate_shape, (2, 4, 3, 7))

    def test_deconvolve_returns_the_input_in_its_layout(self):
        x = self.x[:, :, :, :]
        y = F.conv2d(torch.tensor(x), torch.tensor(self.w), padding=1).numpy()
        back, info = convmat.deconvolve(y.transpose(0, 2, 3, 1), self.w_user, (5, 6),
                                        op="conv2d", padding=1, data_format="NHWC",
                                        weight_format="HWIO")
        plain, _ = convmat.deconvolve(y, self.w, (5, 6), op="conv2d", padding=1)
        np.testing.assert_array_equal(back, plain.transpose(0, 2, 3, 1))


class BadLayouts(unittest.TestCase):

    def test_errors_name_the_rule(self):
        x, w = np.zeros((1, 4, 4, 2)), np.zeros((1, 2, 3, 3))
        with self.assertRaisesRegex(ValueError, "data_format must order the 4 letters NCHW"):
            convmat.conv2d(x, w, data_format="NHWW")
        with self.assertRaisesRegex(ValueError, "weight_format must order the 4 letters OIHW"):
            convmat.conv2d(x, w, data_format="NHWC", weight_format="HWIC")
        with self.assertRaisesRegex(TypeError, "data_format must be a string"):
            convmat.check(x, x, w, op="conv2d", data_format=1)
        with self.assertRaisesRegex(TypeError, "kernel_matrix: takes tensors in convmat's"):
            convmat.kernel_matrix(x, w.shape, op="conv2d", data_format="NHWC")



class EveryLayerFunctionTakesLayouts(unittest.TestCase):
    """The ONNX functions and the TensorFlow ones take data_format= / weight_format= as the
    PyTorch ones do: the same integers, transposed, exactly."""

    def test_onnx_and_tensorflow_functions(self):
        rng = np.random.default_rng(8)
        x = rng.integers(-3, 4, (2, 3, 5, 6)).astype(np.float64)
        nhwc = x.transpose(0, 2, 3, 1)
        w = rng.integers(-3, 4, (4, 3, 2, 3)).astype(np.float64)  # OIHW
        y = convmat.onnx_conv(x, w, pads=[1, 0, 0, 1], strides=[2, 1])
        got = convmat.onnx_conv(nhwc, w.transpose(2, 3, 1, 0), pads=[1, 0, 0, 1], strides=[2, 1],
                                data_format="NHWC", weight_format="HWIO")
        np.testing.assert_array_equal(got, y.transpose(0, 2, 3, 1))
        wt = rng.integers(-3, 4, (3, 4, 2, 3)).astype(np.float64)  # (C, M, kh, kw): IOHW
        y = convmat.onnx_conv_transpose(x, wt, strides=[2, 1], output_padding=[1, 0])
        got = convmat.onnx_conv_transpose(nhwc, wt.transpose(2, 3, 1, 0), strides=[2, 1],
                                          output_padding=[1, 0], data_format="NHWC",
                                          weight_format="HWOI")
        np.testing.assert_array_equal(got, y.transpose(0, 2, 3, 1))
        f = rng.integers(-3, 4, (2, 3, 3, 4)).astype(np.float64)  # TensorFlow's HWIO
        want = convmat.tf_conv(nhwc, f, 2, "SAME")
        np.testing.assert_array_equal(
            convmat.tf_conv(nhwc, f.transpose(3, 2, 0, 1), 2, "SAME", weight_format="OIHW"), want)
        ft = rng.integers(-3, 4, (2, 3, 4, 3)).astype(np.float64)  # [kh, kw, out, in]
        y = rng.integers(-3, 4, (2, 3, 3, 3)).astype(np.float64)
        want = convmat.tf_conv_transpose(y, ft, [2, 5, 6, 4], 2)
        np.testing.assert_array_equal(
            convmat.tf_conv_transpose(y, ft.transpose(3, 2, 0, 1), [2, 5, 6, 4], 2,
                                      weight_format="IOHW"), want)


if __name__ == "__main__":
    unittest.main()

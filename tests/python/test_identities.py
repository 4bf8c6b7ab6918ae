"""The identities as matrices, against independent references (integer data, float64: exact).

- transposed_as_convolution: Z against NumPy's zero insertion (x[..., ::s] of a zero array), P
  against numpy.pad (and cropping), C against torch's conv with the weight flipped and
  transposed as the header states (w.flip(...).view(g, ...).transpose(1, 2)), and C·P·Z against
  torch's conv_transpose;
- kernel_matrix: A(x) @ w equals torch's layer for every op (PyTorch and ONNX keywords);
  A(x)ᵀ g is checked against torch.autograd in test_autograd.py;
- estimate_kernel: recovers the kernel of torch-made data; the rank equals
  numpy.linalg.matrix_rank of A(x).
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat
import helpers as h


def zero_insertion(x, stride):
    """x (C, *n) with s - 1 zeros between neighbours: (C, *((n - 1)s + 1))."""
    shape = (x.shape[0],) + tuple((n - 1) * s + 1 for n, s in zip(x.shape[1:], stride))
    z = np.zeros(shape)
    z[(slice(None),) + tuple(slice(None, None, s) for s in stride)] = x
    return z


def pad_or_crop(x, begin, end):
    """numpy.pad with zeros, a negative amount cropping instead."""
    x = np.pad(x, [(0, 0)] + [(max(b, 0), max(e, 0)) for b, e in zip(begin, end)])
    return x[(slice(None),) + tuple(slice(max(-b, 0), x.shape[a + 1] - max(-e, 0))
                                    for a, (b, e) in enumerate(zip(begin, end)))]


class TransposedAsConvolution(unittest.TestCase):

    def test_factors_against_numpy_and_torch(self):
        rng = h.rng(201)
        for i in range(150):
            case = h.random_conv_transpose(rng)
            rank, g = case["rank"], case["groups"]
            x, w, _ = h.conv_tensors(rng, dict(case, batch=None), np.float64, True, True)
            s = h.spatial(case["stride"], rank)
            d = h.spatial(case["dilation"], rank)
            p = h.spatial(case["padding"], rank)
            a = h.spatial(case["output_padding"], rank)
            t = convmat.transposed_as_convolution(w, case["size"], case["stride"],
                                                  case["padding"], case["output_padding"], g,
                                                  case["dilation"])
            context = f"case {i}: {case}"

            z = zero_insertion(x, s)
            np.testing.assert_array_equal(t.Z @ x.ravel(), z.ravel(), err_msg="Z: " + context)
            span = [di * (k - 1) for di, k in zip(d, case["kernel"])]
            padded = pad_or_crop(z, [sp - pi for sp, pi in zip(span, p)],
                                 [sp - pi + ai for sp, pi, ai in zip(span, p, a)])
            np.testing.assert_array_equal(t.P @ z.ravel(), padded.ravel(),
                                          err_msg="P: " + context)

            c_in, c_out = case["c_in"], case["c_out"]
            flipped = torch.from_numpy(w).flip(list(range(2, 2 + rank)))
            flipped = flipped.reshape(g, c_in // g, c_out // g, *case["kernel"]).transpose(1, 2)
            flipped = flipped.reshape(c_out, c_in // g, *case["kernel"])
            np.testing.assert_array_equal(t.weight, flipped.numpy(), err_msg="weight: " + context)
            self.assertEqual(tuple(t.spec.stride), (1,) * rank)
            conv = h.TORCH_CONV[rank](torch.from_numpy(padded)[None], flipped, None, 1, 0, d, g)
            np.testing.assert_array_equal(t.C @ padded.ravel(), conv.numpy().ravel(),
                                          err_msg="C: " + context)
            # C as a linear map of its weight, the layer given by its ConvSpec.
            A = convmat.kernel_matrix(padded, t.spec)
            np.testing.assert_array_equal(A @ t.weight.ravel(), conv.numpy().ravel(),
                                          err_msg="A(PZx): " + context)

            want = h.torch_forward(case, torch.from_numpy(x)[None], torch.from_numpy(w), None,
                                   transposed=True)
            np.testing.assert_array_equal(t.product() @ x.ravel(), want.numpy().ravel(),
                                          err_msg="C P Z: " + context)
            self.assertEqual(t.product().shape, (want.numel(), x.size))

    def test_seed_000(self):
        # Seed 000: the 2x2 transposed convolution equals the conv of the padded input with the
        # flipped kernel.
        X = np.array([[[0.0, 1.0], [2.0, 3.0]]])
        K = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
        t = convmat.transposed_as_convolution(K, (2, 2))
        np.testing.assert_array_equal(t.weight, K[..., ::-1, ::-1])
        np.testing.assert_array_equal((t.product() @ X.ravel()).reshape(3, 3),
                                      [[0, 0, 1], [0, 4, 6], [4, 12, 9]])


class KernelMatrix(unittest.TestCase):

    def test_a_of_x_times_w_is_the_layer(self):
        rng = h.rng(202)
        for i in range(120):
            transposed = bool(i % 2)
            case = (h.random_conv_transpose if transposed else h.random_conv)(rng)
            x, w, _ = h.conv_tensors(rng, case, np.float64, True, transposed)
            rank = case["rank"]
            keywords = h.layer_keywords(case, transposed)
            op = ("conv_transpose" if transposed else "conv") + (f"{rank}d" if i % 4 < 2 else "")
            A = convmat.kernel_matrix(x, w.shape, op=op, **keywords)
            want = h.torch_forward(case, torch.from_numpy(h.batched(x, case)),
                                   torch.from_numpy(w), None, transposed).numpy()
            context = f"case {i}: {case}"
            self.assertEqual(A.shape, (want.size, w.size), context)
            np.testing.assert_array_equal(A @ w.ravel(), want.ravel(), err_msg=context)
            self.assertEqual(A.dtype, np.float64)

    def test_onnx_keywords_and_float32(self):
        rng = h.rng(203)
        x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
        w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
        A = convmat.kernel_matrix(x, w, op="onnx_conv", auto_pad="SAME_LOWER", strides=[2, 1])
        self.assertEqual(A.dtype, np.float32)
        want = convmat.onnx_conv(x.astype(np.float64), w.astype(np.float64),
                                 auto_pad="SAME_LOWER", strides=[2, 1])
        # float32 products summed in float32: |error| <= 2 n eps sum|w||x| per element.
        magnitude = convmat.onnx_conv(np.abs(x).astype(np.float64),
                                      np.abs(w).astype(np.float64), auto_pad="SAME_LOWER",
                                      strides=[2, 1])
        bound = 2 * 18 * np.finfo(np.float32).eps * magnitude.ravel()
        self.assertTrue(np.all(np.abs(A @ w.ravel() - want.ravel()) <= bound))


class EstimateKernel(unittest.TestCase):

    def test_recovers_the_kernel_of_torch_data(self):
        rng = h.rng(204)
        for i in range(20):
            c_in, c_out, k = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 4))
            w = rng.standard_normal((c_out, c_in, k, k))
            x = rng.standard_normal((2, c_in, 7, 6))
            y = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1).numpy()
            got, info = convmat.estimate_kernel(x, y, w.shape, op="conv2d", stride=2, padding=1)
            A = convmat.kernel_matrix(x, w.shape, op="conv2d", stride=2, padding=1).toarray()
            self.assertEqual(info["rank"], np.linalg.matrix_rank(A))
            self.assertEqual(info["rank"], w.size)  # random data determine the kernel
            cond = np.linalg.cond(A)
            np.testing.assert_allclose(got, w, rtol=0, atol=100 * cond * np.finfo(float).eps)
            self.assertLess(info["relative_residual"], 1e-12)

    def test_underdetermined_gives_the_minimum_norm_kernel(self):
        # A constant input cannot tell the taps apart: every column of A(x) is the same (rank
        # 1), and the minimum-norm kernel spreads sum(w) evenly over the 9 taps.
        x = np.ones((1, 1, 5, 5))
        w = np.arange(9.0).reshape(1, 1, 3, 3)
        y = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        got, info = convmat.estimate_kernel(x, y, w.shape)
        self.assertEqual(info["rank"], 1)
        np.testing.assert_allclose(got, np.full(w.shape, w.mean()), rtol=1e-13)


class Errors(unittest.TestCase):

    def test_messages(self):
        x = np.zeros((1, 2, 5, 5))
        cases = [
            (lambda: convmat.kernel_matrix(x, (3, 2, 2, 2), op="conv2", stride=1), TypeError,
             "kernel_matrix: op must be one of"),
            (lambda: convmat.kernel_matrix(x, (3, 2, 2, 2), output_padding=1), TypeError,
             "kernel_matrix: op='conv' takes the keywords stride, padding, dilation, groups, "
             "padding_mode; got 'output_padding'"),
            (lambda: convmat.kernel_matrix(x, (3, 3, 2, 2)), ValueError,
             "expected input[1, 2, 5, 5] to have 3 channels"),
            (lambda: convmat.kernel_matrix(x.astype(np.int8), (3, 2, 2, 2)), TypeError,
             "kernel_matrix: input has dtype int8"),
            (lambda: convmat.kernel_matrix(x, convmat.transposed_as_convolution(
                np.zeros((2, 1, 3)), 4).spec, stride=2), TypeError,
             "kernel_matrix: a ConvSpec holds the whole layer; got the keywords stride"),
            (lambda: convmat.kernel_matrix(x, (3, 2, 2.0, 2)), TypeError,
             "weight_shape must be an int or a tuple of ints"),
            (lambda: convmat.estimate_kernel(x, np.zeros((1, 3, 3, 3)), (3, 2, 2, 2)),
             ValueError, "estimate_kernel: output of shape 1x3x3x3 does not match the layer conv2d in=2 out=3"),
            (lambda: convmat.estimate_kernel(x, np.zeros((1, 3, 4, 4), np.float32),
                                             (3, 2, 2, 2)),
             TypeError, "output has dtype float32 but input has dtype float64"),
            (lambda: convmat.transposed_as_convolution(np.zeros((2, 1, 3)), 4, stride=2,
                                                       output_padding=2),
             ValueError, "output_padding must be smaller than either stride or dilation, got "
             "output_padding[0] = 2, stride[0] = 2, dilation[0] = 1"),
        ]
        h.assert_errors(self, cases)


if __name__ == "__main__":
    unittest.main()

"""Every class of bad input raises the right exception with a message naming the rule and values.

ValueError for invalid arguments (the C++ message of layer_args.hpp / ConvSpec), TypeError for
wrong types and dtypes. Where the call is a PyTorch one, PyTorch rejects the same arguments.
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat

X = np.zeros((1, 4, 5, 5))
W = np.zeros((2, 4, 3, 3))
WT = np.zeros((4, 2, 3, 3))  # transposed layout (C_in, C_out/groups, k)


def torch_call(function, *args, **kwargs):
    """The same call with torch tensors in place of the arrays."""
    def convert(v):
        return torch.from_numpy(v) if isinstance(v, np.ndarray) else v
    return function(*[convert(a) for a in args], **{k: convert(v) for k, v in kwargs.items()})


# (description, convmat call, torch.nn.functional equivalent or None, exception, message part)
TORCH_STYLE = [
    ("int64 input", lambda: convmat.conv2d(X.astype(np.int64), W), None, TypeError,
     "conv2d: input has dtype int64, but convmat computes in float32 or float64"),
    ("float16 input", lambda: convmat.conv2d(X.astype(np.float16), W.astype(np.float16)), None,
     TypeError, "input has dtype float16"),
    ("complex input", lambda: convmat.conv2d(X.astype(complex), W), None, TypeError,
     "input has dtype complex128"),
    ("string input", lambda: convmat.conv1d(np.array([["a"]]), np.zeros((1, 1, 1))), None,
     TypeError, "input has dtype <U1"),
    ("empty padding string", lambda: convmat.conv2d(X, W, padding=""),
     lambda: torch_call(F.conv2d, X, W, padding=""), ValueError,
     "conv2d: invalid padding string '', should be one of {'valid', 'same'}"),
    ("None input", lambda: convmat.conv2d(None, W), None, TypeError,
     "conv2d: input must be an array, got None"),
    ("None weight", lambda: convmat.conv_transpose1d(X[0], None), None, TypeError,
     "conv_transpose1d: weight must be an array, got None"),
    ("None weight of a matrix", lambda: convmat.conv_matrix(None, 5), None, TypeError,
     "conv_matrix: weight must be an array, got None"),
    ("mixed dtypes", lambda: convmat.conv2d(X, W.astype(np.float32)),
     lambda: torch_call(F.conv2d, X, W.astype(np.float32)), TypeError,
     "conv2d: weight has dtype float32 but input has dtype float64"),
    ("mixed bias dtype", lambda: convmat.conv2d(X, W, np.zeros(2, np.float32)),
     lambda: torch_call(F.conv2d, X, W, np.zeros(2, np.float32)), TypeError,
     "bias has dtype float32 but input has dtype float64"),
    ("float stride", lambda: convmat.conv2d(X, W, stride=1.5),
     lambda: torch_call(F.conv2d, X, W, stride=1.5), TypeError,
     "conv2d: stride must be an int or a tuple of ints, got 1.5"),
    ("string groups", lambda: convmat.conv2d(X, W, groups="2"),
     lambda: torch_call(F.conv2d, X, W, groups="2"), TypeError,
     "conv2d: groups must be an int, got '2'"),
    ("padding_mode not a string", lambda: convmat.conv2d(X, W, padding_mode=0), None,
     TypeError, "padding_mode must be a string"),
    ("zero stride", lambda: convmat.conv2d(X, W, stride=0),
     lambda: torch_call(F.conv2d, X, W, stride=0), ValueError,
     "conv2d: non-positive stride is not supported"),
    ("stride of the wrong length", lambda: convmat.conv2d(X, W, stride=(1, 1, 1)),
     lambda: torch_call(F.conv2d, X, W, stride=(1, 1, 1)), ValueError,
     "expected stride to be a single integer value or a list of 2 values"),
    ("zero dilation", lambda: convmat.conv2d(X, W, dilation=0),
     lambda: torch_call(F.conv2d, X, W, dilation=0), ValueError,
     "dilation should be greater than zero"),
    ("negative padding", lambda: convmat.conv2d(X, W, padding=-1),
     lambda: torch_call(F.conv2d, X, W, padding=-1), ValueError,
     "negative padding is not supported"),
    ("unknown padding string", lambda: convmat.conv2d(X, W, padding="full"),
     lambda: torch_call(F.conv2d, X, W, padding="full"), ValueError,
     "invalid padding string 'full'"),
    ("same padding with stride", lambda: convmat.conv2d(X, W, padding="same", stride=2),
     lambda: torch_call(F.conv2d, X, W, padding="same", stride=2), ValueError,
     "padding='same' is not supported for strided convolutions"),
    ("channels do not match", lambda: convmat.conv2d(np.zeros((1, 3, 5, 5)), W),
     lambda: torch_call(F.conv2d, np.zeros((1, 3, 5, 5)), W), ValueError,
     "expected input[1, 3, 5, 5] to have 4 channels, but got 3 channels instead"),
    ("input of the wrong rank", lambda: convmat.conv2d(np.zeros((5, 5)), W),
     lambda: torch_call(F.conv2d, np.zeros((5, 5)), W), ValueError,
     "expected 3D (unbatched) or 4D (batched) input"),
    ("weight of the wrong rank", lambda: convmat.conv2d(X, np.zeros((2, 4, 3))),
     lambda: torch_call(F.conv2d, X, np.zeros((2, 4, 3))), ValueError, "expected a 4D weight"),
    ("groups do not divide the output channels", lambda: convmat.conv2d(X, W[:, :2].repeat(
        3, axis=0)[:3], groups=2),
     lambda: torch_call(F.conv2d, X, W[:, :2].repeat(3, axis=0)[:3], groups=2), ValueError,
     "expected weight to be divisible by 2 at dimension 0"),
    ("zero groups", lambda: convmat.conv2d(X, W, groups=0),
     lambda: torch_call(F.conv2d, X, W, groups=0), ValueError,
     "non-positive groups is not supported"),
    ("bias of the wrong shape", lambda: convmat.conv2d(X, W, np.zeros((2, 1))),
     lambda: torch_call(F.conv2d, X, W, np.zeros((2, 1))), ValueError,
     "conv2d: expected bias to be 1-dimensional with 2 elements (one per output channel), but "
     "got bias of shape [2, 1]"),
    ("bias of the wrong size", lambda: convmat.conv2d(X, W, np.zeros(3)),
     lambda: torch_call(F.conv2d, X, W, np.zeros(3)), ValueError, "but got bias of shape [3]"),
    ("kernel larger than the padded input", lambda: convmat.conv2d(np.zeros((1, 4, 2, 2)), W),
     lambda: torch_call(F.conv2d, np.zeros((1, 4, 2, 2)), W), ValueError, "output"),
    ("empty spatial input", lambda: convmat.conv2d(np.zeros((1, 4, 0, 5)), W),
     lambda: torch_call(F.conv2d, np.zeros((1, 4, 0, 5)), W), ValueError,
     "every spatial size of the input must be >= 1"),
    ("unknown padding mode", lambda: convmat.conv2d(X, W, padding=1, padding_mode="mirror"),
     lambda: torch.nn.Conv2d(4, 2, 3, padding=1, padding_mode="mirror"), ValueError,
     "mirror"),
    ("reflect padding as large as the input",
     lambda: convmat.conv2d(np.zeros((1, 4, 3, 3)), W, padding=3, padding_mode="reflect"),
     lambda: F.pad(torch.zeros(1, 4, 3, 3), (3, 3, 3, 3), mode="reflect"), ValueError,
     "reflect"),
    ("circular padding larger than the input",
     lambda: convmat.conv2d(np.zeros((1, 4, 3, 3)), W, padding=4, padding_mode="circular"),
     lambda: F.pad(torch.zeros(1, 4, 3, 3), (4, 4, 4, 4), mode="circular"), ValueError,
     "circular"),
    ("transposed: string padding", lambda: convmat.conv_transpose2d(X, WT, padding="same"),
     lambda: torch_call(F.conv_transpose2d, X, WT, padding="same"), ValueError,
     "string padding ('same') is not supported for transposed convolutions"),
    ("transposed: output_padding too large",
     lambda: convmat.conv_transpose2d(X, WT, stride=2, output_padding=2),
     lambda: torch_call(F.conv_transpose2d, X, WT, stride=2, output_padding=2), ValueError,
     "output_padding"),
    ("transposed: channels do not match", lambda: convmat.conv_transpose2d(X, W),
     lambda: torch_call(F.conv_transpose2d, X, W), ValueError,
     "expected input[1, 4, 5, 5] to have 2 channels, but got 4 channels instead"),
    ("transposed: padding crops everything",
     lambda: convmat.conv_transpose2d(np.zeros((1, 4, 1, 1)), WT, padding=2),
     lambda: torch_call(F.conv_transpose2d, np.zeros((1, 4, 1, 1)), WT, padding=2), ValueError,
     "output"),
    ("unknown method", lambda: convmat.conv2d(X, W, method="fast"), None, ValueError,
     "method must be 'matrix' (W·x, the sparse matrix) or 'loops' (the direct loops), got "
     "'fast'"),
]

ONNX_STYLE = [
    ("unknown auto_pad", lambda: convmat.onnx_conv(X, W, auto_pad="SAME"), ValueError,
     "Conv: auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got 'SAME'"),
    ("pads of the wrong length", lambda: convmat.onnx_conv(X, W, pads=[1, 1]), ValueError,
     "Conv: pads must have 4 values (begin of each axis, then end of each axis), got [1, 1]"),
    ("negative pads", lambda: convmat.onnx_conv(X, W, pads=[0, 0, -1, 0]), ValueError,
     "pads must be >= 0"),
    ("pads with auto_pad", lambda: convmat.onnx_conv(X, W, pads=[1, 1, 1, 1],
                                                     auto_pad="VALID"), ValueError,
     "cannot be used together with auto_pad=VALID"),
    ("kernel_shape mismatch", lambda: convmat.onnx_conv(X, W, kernel_shape=[2, 2]), ValueError,
     "kernel_shape [2, 2] does not match W's spatial shape [3, 3]"),
    ("group mismatch", lambda: convmat.onnx_conv(X, W, group=3), ValueError,
     "Conv: X has 4 channels but W of shape [2, 4, 3, 3] with group=3 expects 12"),
    ("strides of the wrong length", lambda: convmat.onnx_conv(X, W, strides=[1]), ValueError,
     "strides must have 2 values"),
    ("unbatched X", lambda: convmat.onnx_conv(X[0], W), ValueError,
     "Conv: W must have as many dimensions as X"),
    ("ConvTranspose attribute on Conv", lambda: convmat.onnx_conv(X, W, output_shape=[5, 5]),
     TypeError, "output_shape"),
    ("unknown attribute", lambda: convmat.onnx_conv(X, W, padding=1), TypeError, "padding"),
    ("None X", lambda: convmat.onnx_conv(None, W), TypeError, "Conv: X must be an array, got None"),
    ("output_shape with the wrong N",
     lambda: convmat.onnx_conv_transpose(X, WT, output_shape=[9, 2, 7, 7]), ValueError,
     "ConvTranspose: output_shape [9, 2, 7, 7] given as (N, M, *spatial) must start with X's "
     "N = 1 and the layer's M = 2"),
    ("output_shape of the wrong length",
     lambda: convmat.onnx_conv_transpose(X, WT, output_shape=[7]), ValueError,
     "output_shape must have 2 spatial values"),
    ("transposed channel mismatch", lambda: convmat.onnx_conv_transpose(X, W), ValueError,
     "ConvTranspose: X has 4 channels but W of shape [2, 4, 3, 3] expects C = W.shape[0] = 2"),
    ("float dilations", lambda: convmat.onnx_conv(X, W, dilations=[1.0, 1.0]), TypeError,
     "Conv: dilations must be an int or a tuple of ints"),
    ("int auto_pad", lambda: convmat.onnx_conv(X, W, auto_pad=1), TypeError,
     "auto_pad must be a string"),
    ("mixed dtypes", lambda: convmat.onnx_conv(X.astype(np.float32), W), TypeError,
     "Conv: W has dtype float64 but X has dtype float32"),
]

MATRIX_STYLE = [
    ("int weight", lambda: convmat.conv_matrix(np.ones((1, 1, 3), dtype=int), 5), TypeError,
     "conv_matrix: weight has dtype int64"),
    ("float input_size", lambda: convmat.conv_matrix(W, 5.0), TypeError,
     "conv_matrix: input_size must be an int or a tuple of ints, got 5.0"),
    ("weight of the wrong rank", lambda: convmat.conv_matrix(np.zeros((2, 2)), 5), ValueError,
     "the weight must have 3, 4 or 5 dimensions (channels, channels, *kernel), got weight of "
     "shape [2, 2]"),
    ("full input shape with the wrong channels",
     lambda: convmat.conv_matrix(W, (3, 5, 5)), ValueError,
     "expected input[3, 5, 5] to have 4 channels, but got 3 channels instead"),
    ("input_size of the wrong length", lambda: convmat.conv_matrix(W, (1, 2, 4, 5, 5)),
     ValueError, "expected 3D (unbatched) or 4D (batched) input"),
    ("kernel larger than the input", lambda: convmat.conv_matrix(W, 2), ValueError, "output"),
    ("transposed: output_padding too large",
     lambda: convmat.conv_transpose_matrix(WT, 5, stride=1, output_padding=1), ValueError,
     "output_padding"),
    ("transposed: zero groups", lambda: convmat.conv_transpose_matrix(WT, 5, groups=0),
     ValueError, "non-positive groups is not supported"),
]


class Errors(unittest.TestCase):

    def check(self, description, call, exception, message):
        with self.subTest(description):
            with self.assertRaises(exception) as raised:
                call()
            self.assertIs(type(raised.exception), exception)
            self.assertIn(message, str(raised.exception))

    def test_torch_style_functions(self):
        for description, call, torch_equivalent, exception, message in TORCH_STYLE:
            self.check(description, call, exception, message)
            if torch_equivalent is not None:
                with self.subTest(description + " (PyTorch rejects it too)"):
                    with self.assertRaises((RuntimeError, ValueError, TypeError,
                                            NotImplementedError)):
                        torch_equivalent()

    def test_onnx_functions(self):
        for description, call, exception, message in ONNX_STYLE:
            self.check(description, call, exception, message)

    def test_matrix_functions(self):
        for description, call, exception, message in MATRIX_STYLE:
            self.check(description, call, exception, message)

    def test_a_w_that_would_not_fit_is_refused_before_it_is_built(self):
        # 64 -> 64 channels, 3x3 on 256x256, padding 1: 2.4e9 nonzeros. The layer functions hold
        # W channel-blocked (64 channels per group take blocks of 8): 8 bytes per value, a 4-byte
        # column index per 64 values and 65537 8-byte row pointers, 18.0 GiB in float64 (CSR's
        # would be 26.9 GiB). The limit is set below that (8 GiB), so that a machine with more
        # memory refuses too.
        big_x, big_w = np.zeros((1, 64, 256, 256)), np.zeros((64, 64, 3, 3))
        try:
            convmat.set_memory_limit(8 << 30)
            with self.assertRaises(convmat.MemoryLimitExceeded) as raised:
                convmat.conv2d(big_x, big_w, padding=1)
            self.assertIsInstance(raised.exception, MemoryError)
            self.assertIn("this layer needs 18.1 GiB (W: 2403352576 nonzeros of float64 "
                          "channel-blocked, 18.0 GiB; the arrays: 64.0 MiB)",
                          str(raised.exception))  # the arrays: input and output, 32 MiB each
            self.assertIn("more than the limit of 8.0 GiB (convmat.set_memory_limit(8589934592))",
                          str(raised.exception))
            with self.assertRaises(MemoryError):
                convmat.conv_matrix(big_w.astype(np.float32), (256, 256))
        finally:
            convmat.set_memory_limit(None)
        self.assertIn("raise it with convmat.set_memory_limit(bytes)",
                      str(raised.exception))
        # A limit set by hand applies to every function that builds W, not to the loops.
        try:
            convmat.set_memory_limit(1000)
            self.assertEqual(convmat.memory_limit(), 1000)
            for call in (lambda: convmat.conv2d(X, W),
                         lambda: convmat.conv_transpose_matrix(WT, (5, 5)),
                         lambda: convmat.check(np.zeros((1, 2, 3, 3)), X, W),
                         lambda: convmat.deconvolve(np.zeros((1, 2, 3, 3)), W, (5, 5)),
                         lambda: convmat.transposed_as_convolution(WT, (5, 5)),
                         lambda: convmat.kernel_matrix(X, W.shape, op="conv2d")):
                with self.assertRaises(convmat.MemoryLimitExceeded) as raised:
                    call()
                self.assertIn("convmat.set_memory_limit(1000)", str(raised.exception))
            self.assertEqual(convmat.conv2d(X, W, method="loops").shape, (1, 2, 3, 3))
        finally:
            convmat.set_memory_limit(None)
        self.assertGreater(convmat.memory_limit(), 1000)
        with self.assertRaises(ValueError):
            convmat.set_memory_limit(0)

    def test_private_entry_points_check_shapes_too(self):
        """forward and layer_matrix re-check the arrays against the resolved layer, so calling
        the extension directly with mismatched arrays is an error, not a crash."""
        from convmat import _convmat as core
        call = core.resolve_layer("conv2d", [1, 4, 5, 5], [2, 4, 3, 3], {})
        self.check("forward, wrong input", lambda: core.forward(call, np.zeros((1, 4, 6, 5)), W),
                   ValueError, "do not match the layer")
        self.check("forward, wrong weight",
                   lambda: core.forward(call, X, np.zeros((2, 4, 3, 2))), ValueError,
                   "do not match the layer")
        self.check("layer_matrix, wrong weight",
                   lambda: core.layer_matrix(call.spec, np.zeros((2, 4, 3, 2))), ValueError,
                   "does not match the layer")


if __name__ == "__main__":
    unittest.main()

"""TensorFlow's convolutions (tf_conv, tf_conv_transpose, tf_depthwise_conv2d) against a small
reference written from TensorFlow's documentation, not from convmat:

- tf.nn.conv2d / tf.nn.convolution: output[b, i, j, k] = sum_{di, dj, q} input[b, strides[1] * i
  + dilations[1] * di, strides[2] * j + dilations[2] * dj, q] * filter[di, dj, q, k] on the input
  padded as the tf.nn module's "Notes on padding" say (SAME: out = ceil(n / s), pad_along =
  max((out - 1) * s + filter_size - n, 0), pad_top = pad_along // 2, the rest at the bottom;
  filter_size after dilation);
- tf.nn.conv_transpose: "the transpose (gradient) of convolution": the adjoint of the reference
  convolution of an input of output_shape, computed here as its dense matrix transposed;
- tf.nn.depthwise_conv2d: output[b, i, j, k * channel_multiplier + q] = sum_{di, dj}
  filter[di, dj, k, q] * input[b, strides[1] * i + rate[0] * di, strides[2] * j + rate[1] * dj, k].

Integer-valued data: every comparison is exact. TensorFlow itself is not on this machine.
"""

import itertools
import math
import unittest

import numpy as np

import convmat
import helpers as h


def ints(rng, shape):
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def same_padding(n, k, s, d):
    """The tf.nn notes on padding: (pad_before, pad_after) for SAME."""
    filter_size = d * (k - 1) + 1
    out = math.ceil(n / s)
    along = max((out - 1) * s + filter_size - n, 0)
    return along // 2, along - along // 2


def reference_conv(x, f, strides, dilations, pads):
    """Channels-last x [b, *n, q], filter [*k, q, out]: the documented sum on the zero-padded
    input (pads: (before, after) per spatial axis)."""
    rank = x.ndim - 2
    padded = np.pad(x, [(0, 0)] + list(pads) + [(0, 0)])
    k = f.shape[:rank]
    out = [(padded.shape[1 + a] - dilations[a] * (k[a] - 1) - 1) // strides[a] + 1
           for a in range(rank)]
    y = np.zeros((x.shape[0], *out, f.shape[-1]))
    for pos in itertools.product(*map(range, out)):
        for tap in itertools.product(*map(range, k)):
            at = tuple(strides[a] * pos[a] + dilations[a] * tap[a] for a in range(rank))
            y[(slice(None),) + pos] += padded[(slice(None),) + at] @ f[tap]
    return y


def reference_pads(padding, n, k, s, d):
    if padding == "VALID":
        return [(0, 0)] * len(n)
    return [same_padding(n[a], k[a], s[a], d[a]) for a in range(len(n))]


class TfConvAgainstTheDocumentation(unittest.TestCase):

    def test_the_conv2d_usage_example(self):
        # tf.nn.conv2d's documentation: a 5x5 one-channel input, a 2x2x1x2 kernel, VALID
        x_in = np.array([[[[2], [1], [2], [0], [1]],
                          [[1], [3], [2], [2], [3]],
                          [[1], [1], [3], [3], [0]],
                          [[2], [2], [0], [1], [1]],
                          [[0], [0], [3], [1], [2]]]], dtype=np.float64)
        kernel_in = np.array([[[[2, 0.1]], [[3, 0.2]]],
                              [[[0, 0.3]], [[1, 0.4]]]])
        y = convmat.tf_conv(x_in, kernel_in, strides=[1, 1, 1, 1], padding="VALID")
        self.assertEqual(y.shape, (1, 4, 4, 2))  # the shape the documentation prints
        expected = np.zeros((1, 4, 4, 2))  # output[b, i, j, k], the documented sum
        for i, j, k in itertools.product(range(4), range(4), range(2)):
            expected[0, i, j, k] = sum(x_in[0, i + di, j + dj, q] * kernel_in[di, dj, q, k]
                                       for di in range(2) for dj in range(2) for q in range(1))
        np.testing.assert_allclose(y, expected, rtol=4 * np.finfo(float).eps)
        self.assertEqual(y[0, 0, 0, 0], 2 * 2 + 1 * 3 + 1 * 0 + 3 * 1)

    def test_the_extra_padding_row_goes_to_the_end(self):
        # the notes on padding: "when pad_along_height is 5, we pad 2 pixels at the top and 3
        # pixels at the bottom": n = 5, filter 6, stride 1 -> pad_along = 4 + 6 - 5 = 5.
        self.assertEqual(same_padding(5, 6, 1, 1), (2, 3))
        ones = np.ones((1, 5, 1))
        y = convmat.tf_conv(ones, np.ones((6, 1, 1)), padding="SAME")[0, :, 0]
        np.testing.assert_array_equal(y, [4, 5, 5, 4, 3])  # window i covers rows i-2 .. i+3
        # ONNX's SAME_UPPER is the same rule; SAME_LOWER puts the odd row at the begin
        nchw, w = ones.transpose(0, 2, 1), np.ones((1, 1, 6))
        np.testing.assert_array_equal(convmat.onnx_conv(nchw, w, auto_pad="SAME_UPPER")[0, 0], y)
        np.testing.assert_array_equal(convmat.onnx_conv(nchw, w, auto_pad="SAME_LOWER")[0, 0],
                                      [3, 4, 5, 5, 4])

    def test_random_layers(self):
        rng = h.rng(1301)
        for i in range(60):
            rank = 1 + i % 3
            with self.subTest(case=i, rank=rank):
                n = tuple(rng.integers(3, 8 if rank < 3 else 6, size=rank))
                k = tuple(rng.integers(1, 4, size=rank))
                groups = int(rng.integers(1, 3))
                q, out = 2 * groups, 2 * groups
                strided = bool(rng.integers(0, 2))
                s = tuple(rng.integers(1, 4, size=rank)) if strided else (1,) * rank
                d = (1,) * rank if strided else tuple(rng.integers(1, 3, size=rank))
                x = ints(rng, (2, *n, q))
                f = ints(rng, (*k, q // groups, out))
                mode = ["SAME", "VALID", "EXPLICIT"][i % 3]
                if mode == "EXPLICIT":
                    pads = [tuple(rng.integers(0, 3, size=2)) for _ in range(rank)]
                    padding = [[0, 0]] + [list(p) for p in pads] + [[0, 0]]
                else:
                    pads, padding = reference_pads(mode, n, k, s, d), mode
                if any(n[a] + sum(pads[a]) < d[a] * (k[a] - 1) + 1 for a in range(rank)):
                    continue
                expected = np.concatenate(
                    [reference_conv(x[..., g * (q // groups):(g + 1) * (q // groups)],
                                    f[..., g * (out // groups):(g + 1) * (out // groups)], s, d,
                                    pads) for g in range(groups)], axis=-1)
                strides = list(s) if i % 2 else [1, *s, 1]
                got = convmat.tf_conv(x, f, strides=strides, padding=padding, dilations=list(d))
                np.testing.assert_array_equal(got, expected)
                # channels first: the same numbers, the channels moved
                first = (0, rank + 1, *range(1, rank + 1))
                nc = convmat.tf_conv(x.transpose(first), f, strides=list(s), padding=padding if
                                     mode != "EXPLICIT" else [padding[0], padding[-1]] +
                                     padding[1:-1], data_format="NC" + "DHW"[3 - rank:],
                                     dilations=list(d), method="loops")
                np.testing.assert_array_equal(nc, expected.transpose(first))

    def test_check_takes_tensorflow_layers(self):
        rng = h.rng(1302)
        x, f = ints(rng, (1, 6, 5, 2)), ints(rng, (3, 2, 2, 3))
        y = reference_conv(x, f, (2, 1), (1, 1), reference_pads("SAME", (6, 5), (3, 2), (2, 1),
                                                                (1, 1)))
        self.assertTrue(convmat.check(y, x, f, op="tf_conv", strides=[1, 2, 1, 1],
                                      padding="SAME"))
        y[0, 1, 4, 2] += 1
        r = convmat.check(y, x, f, op="tf_conv", strides=[1, 2, 1, 1], padding="SAME")
        self.assertEqual([b.index for b in r.worst], [(0, 1, 4, 2)])
        for t in r.worst[0].terms:  # indices in TensorFlow's order: [b, h, w, c], [kh, kw, q, k]
            self.assertEqual(x[t.input_index], t.input)
            self.assertEqual(f[t.weight_index], t.weight)
            self.assertEqual(t.weight_index[3], 2)


def reference_conv_transpose(y, f, output_shape, s, d, padding):
    """The adjoint of the reference convolution of an input of output_shape."""
    rank = y.ndim - 2
    m = tuple(output_shape[1:-1])
    k = f.shape[:rank]
    # [*k, output_channels, in_channels] is the convolution's [*k, its in, its out]
    pads = reference_pads(padding, m, k, s, d)
    c_in = f.shape[-2]
    size = int(np.prod(m)) * c_in
    units = np.eye(size).reshape((size, *m, c_in))
    columns = reference_conv(units, f, s, d, pads)  # one column per unit
    assert columns.shape[1:-1] == y.shape[1:-1]
    matrix = columns.reshape(size, -1).T
    return (matrix.T @ y.reshape(y.shape[0], -1).T).T.reshape((y.shape[0], *m, c_in))


class TfConvTransposeAgainstTheDocumentation(unittest.TestCase):

    def test_random_layers(self):
        rng = h.rng(1303)
        for i in range(40):
            rank = 1 + i % 3
            with self.subTest(case=i, rank=rank):
                k = tuple(rng.integers(1, 4, size=rank))
                s = tuple(rng.integers(1, 4, size=rank))
                d = (1,) * rank
                m = tuple(rng.integers(3, 8 if rank < 3 else 5, size=rank))
                padding = ["SAME", "VALID"][i % 2]
                pads = reference_pads(padding, m, k, s, d)
                n = tuple((m[a] + sum(pads[a]) - d[a] * (k[a] - 1) - 1) // s[a] + 1
                          for a in range(rank))
                if min(n) < 1:
                    continue
                c_out, c_in = 2, 3
                y = ints(rng, (2, *n, c_in))
                f = ints(rng, (*k, c_out, c_in))
                output_shape = [2, *m, c_out]
                expected = reference_conv_transpose(y, f, output_shape, s, d, padding)
                got = convmat.tf_conv_transpose(y, f, output_shape, strides=list(s),
                                                padding=padding)
                np.testing.assert_array_equal(got, expected)

    def test_output_shape_rule_differs_from_onnx(self):
        # n = 3, s = 2, k = 3, output_shape 6: the convolution of 6 rows needs P = 1 (SAME),
        # TensorFlow pads 0 at the begin and 1 at the end; ONNX ConvTranspose with the same
        # output_shape (auto_pad NOTSET) puts the odd row at the begin, SAME_UPPER at the end.
        y = np.arange(1.0, 4.0).reshape(1, 3, 1)
        f = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
        tf = convmat.tf_conv_transpose(y, f, [1, 6, 1], 2, "SAME")[0, :, 0]
        np.testing.assert_array_equal(tf, reference_conv_transpose(y, f, [1, 6, 1], (2,), (1,), "SAME")
                                      [0, :, 0])
        nc, w = y.transpose(0, 2, 1), f.reshape(1, 1, 3)
        upper = convmat.onnx_conv_transpose(nc, w, strides=[2], output_shape=[6],
                                            auto_pad="SAME_UPPER")[0, 0]
        notset = convmat.onnx_conv_transpose(nc, w, strides=[2], output_shape=[6])[0, 0]
        np.testing.assert_array_equal(upper, tf)
        self.assertFalse(np.array_equal(notset, tf))
        np.testing.assert_array_equal(notset[:-1], tf[1:])  # shifted by the odd row

    def test_the_conv2d_transpose_shapes_of_tensorflows_tests(self):
        # x [2, 6, 4, 3], filter [3, 3, 2, 3], strides 2: SAME gives [2, 12, 8, 2], VALID
        # [2, 13, 9, 2]; any other output_shape is refused
        x, f = np.ones((2, 6, 4, 3)), np.ones((3, 3, 2, 3))
        for padding, shape in (("SAME", [2, 12, 8, 2]), ("VALID", [2, 13, 9, 2])):
            self.assertEqual(convmat.tf_conv_transpose(x, f, shape, [1, 2, 2, 1],
                                                       padding).shape, tuple(shape))
        with self.assertRaisesRegex(ValueError, "the convolution of an input of output_shape "
                                                r"\[14, 8\] \(padding SAME\) has 7 positions"):
            convmat.tf_conv_transpose(x, f, [2, 14, 8, 2], [1, 2, 2, 1], "SAME")


class TfDepthwiseAgainstTheDocumentation(unittest.TestCase):

    def test_random_layers(self):
        rng = h.rng(1304)
        for i in range(30):
            with self.subTest(case=i):
                c, mult = int(rng.integers(1, 4)), int(rng.integers(1, 4))
                n = tuple(rng.integers(4, 9, size=2))
                k = tuple(rng.integers(1, 4, size=2))
                strided = bool(i % 2)
                s = tuple(rng.integers(1, 3, size=2)) if strided else (1, 1)
                rate = (1, 1) if strided else tuple(rng.integers(1, 3, size=2))
                padding = ["SAME", "VALID"][i % 3 % 2]
                pads = reference_pads(padding, n, k, s, rate)
                x, f = ints(rng, (2, *n, c)), ints(rng, (*k, c, mult))
                xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
                out = [(xp.shape[1 + a] - rate[a] * (k[a] - 1) - 1) // s[a] + 1 for a in (0, 1)]
                if min(out) < 1:
                    continue
                expected = np.zeros((2, *out, c * mult))
                for b, i_, j, kk, q in itertools.product(range(2), range(out[0]), range(out[1]),
                                                         range(c), range(mult)):
                    expected[b, i_, j, kk * mult + q] = sum(
                        f[di, dj, kk, q] * xp[b, s[0] * i_ + rate[0] * di, s[1] * j + rate[1] * dj,
                                              kk]
                        for di in range(k[0]) for dj in range(k[1]))
                got = convmat.tf_depthwise_conv2d(x, f, [1, *s, 1], padding,
                                                  dilations=list(rate))
                np.testing.assert_array_equal(got, expected)
                nchw = convmat.tf_depthwise_conv2d(x.transpose(0, 3, 1, 2), f, [1, 1, *s],
                                                   padding, data_format="NCHW",
                                                   dilations=list(rate))
                np.testing.assert_array_equal(nchw, expected.transpose(0, 3, 1, 2))
                self.assertTrue(convmat.check(expected, x, f, op="tf_depthwise_conv2d",
                                              strides=[1, *s, 1], padding=padding,
                                              dilations=list(rate)))


class TfErrors(unittest.TestCase):

    def test_messages(self):
        x, f = np.ones((1, 6, 6, 2)), np.ones((3, 3, 2, 4))
        cases = [
            (lambda: convmat.tf_conv(x, f, strides=2, dilations=2, padding="SAME"),
             "strides > 1 not supported in conjunction with dilations > 1"),
            (lambda: convmat.tf_conv(x, f, strides=[2, 2, 2, 2]),
             "strides must be 1 in the batch and channel dimensions"),
            (lambda: convmat.tf_conv(x, f, padding=[[1, 0], [1, 1], [1, 1], [0, 0]]),
             "the explicit padding of the batch and channel dimensions must be 0"),
            (lambda: convmat.tf_conv(x, f, padding="same"),
             "padding must be 'SAME', 'VALID' or a list of (before, after) pairs, got 'same'"),
            (lambda: convmat.tf_conv(x, np.ones((3, 3, 3, 4))),
             "the input depth 2 must be a multiple of the filter's in_channels 3"),
            (lambda: convmat.tf_depthwise_conv2d(x, np.ones((3, 3, 3, 2)), 1, "SAME"),
             "the input must be 4-D with in_channels = 3"),
        ]
        for call, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(ValueError) as raised:
                    call()
                self.assertIn(message, str(raised.exception))


if __name__ == "__main__":
    unittest.main()

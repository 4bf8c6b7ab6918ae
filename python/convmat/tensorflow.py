"""TensorFlow's convolutions computed by convmat, with TensorFlow's argument names and layouts.

``tf_conv`` is ``tf.nn.convolution`` (and conv1d/conv2d/conv3d), ``tf_conv_transpose`` is
``tf.nn.conv_transpose`` (conv2d_transpose, conv3d_transpose), ``tf_depthwise_conv2d`` is
``tf.nn.depthwise_conv2d``: the same arguments with TensorFlow's defaults -- channels-last data
("NWC", "NHWC", "NDHWC"; "NCW", "NCHW", "NCDHW" through data_format), filters
[*k, in_channels, out_channels] ([*k, out_channels, in_channels] for the transposed layer,
[*k, in_channels, channel_multiplier] for the depthwise one). strides and dilations are an int,
one int per spatial axis, or one per dimension of data_format (1 for N and C); padding is
"SAME", "VALID" or the explicit (before, after) pairs of every dimension of data_format.

The rules -- TensorFlow's SAME (the odd padding row at the end), a transposed layer as the
gradient of the convolution of an input of output_shape -- are the C++ library's
(include/convmat/core/layer_args.hpp: tf_conv); the arrays are NumPy, float32 or float64.
"""

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["tf_conv", "tf_conv_transpose", "tf_depthwise_conv2d"]


def padding_keyword(op, padding):
    """"SAME" / "VALID", or explicit pairs [[before, after], ...] -> their flat list of ints."""
    return _a.padding_pairs(op, padding, "'SAME', 'VALID'", "before, after")


def _run(op, input, filters, method, data_format, weight_format, **keywords):
    x, w = _a.array(input, op, "input"), _a.array(filters, op, "filters")
    keywords = {name: value for name, value in keywords.items() if value is not None}
    keywords.update(data_format=data_format, weight_format=weight_format)
    call = _layers.layer(op, op, keywords).resolve(op, x.shape, w.shape, layouts=True)
    return _core.forward(call, x, w, None, _a.string(op, "method", method), op,
                         ("input", "filters", "bias"))


def tf_conv(input, filters, strides=None, padding="VALID", data_format=None, dilations=None, *,
            method="matrix", weight_format=None):
    """tf.nn.convolution: an N-d convolution (N = 1, 2, 3) with TensorFlow's conventions.

    Parameters
    ----------
    input : ndarray [batch, *spatial, in_channels] (or [batch, in_channels, *spatial] with
        data_format "NC..."), float32 or float64
    filters : ndarray [*k, in_channels / groups, out_channels], same dtype; groups = the
        input's channels / the filter's in_channels (TensorFlow's grouped convolution)
    strides, dilations : None (1), an int, N ints, or N + 2 in data_format's order (1 for N and
        C); strides > 1 and dilations > 1 together are refused, as tf.nn.convolution does
    padding : "VALID" (none), "SAME" (output ceil(n / s), total padding
        max((out - 1)s + d(k - 1) + 1 - n, 0), the odd one at the end), or the explicit
        (before, after) pairs of every dimension of data_format ([0, 0] for N and C)
    data_format : None (channels last: "NWC", "NHWC", "NDHWC") or "NCW", "NCHW", "NCDHW", ...
    method : "matrix" (W·x) or "loops" (the direct loops)
    weight_format : filters stored in another order than TensorFlow's [*k, in, out] ("HWIO"),
        e.g. "OIHW" (O and I the layer's output and input channels)

    Returns
    -------
    ndarray in data_format's order, the input's dtype.

    Example
    -------
    >>> x = numpy.arange(5.0).reshape(1, 5, 1)              # NWC
    >>> convmat.tf_conv(x, numpy.ones((2, 1, 1)), padding="SAME")[0, :, 0]
    array([1., 3., 5., 7., 4.])
    """
    op = "tf_conv"
    return _run(op, input, filters, method, data_format, weight_format, strides=strides,
                padding=padding_keyword(op, padding), dilations=dilations)


def tf_conv_transpose(input, filters, output_shape, strides, padding="SAME", data_format=None,
                      dilations=None, *, method="matrix", weight_format=None):
    """tf.nn.conv_transpose (conv2d_transpose, conv3d_transpose): the gradient of tf_conv with
    respect to its input, for an input of shape output_shape.

    Parameters
    ----------
    input : ndarray [batch, *n, in_channels] (channels last) -- the convolution's output side
    filters : ndarray [*k, out_channels, in_channels]
    output_shape : the output's shape, N + 2 values in data_format's order (or N spatial sizes)
    strides, dilations, padding, data_format : as in tf_conv; the convolution of an input of
        output_shape with them must give the input's spatial size (else ValueError). The output
        rows that its windows do not reach are zero (they get no gradient).
    method : "matrix" (Wᵀ·y) or "loops" (the scatter loops)
    weight_format : filters in another order than TensorFlow's [*k, out, in] ("HWOI")

    Returns
    -------
    ndarray of output_shape, in data_format's order.

    Example
    -------
    >>> y = numpy.ones((1, 2, 1))                          # NWC, n = 2
    >>> convmat.tf_conv_transpose(y, numpy.ones((3, 1, 1)), [1, 4, 1], 2)[0, :, 0]
    array([1., 1., 2., 1.])
    """
    op = "tf_conv_transpose"
    return _run(op, input, filters, method, data_format, weight_format,
                output_shape=_a.ints(op, "output_shape", output_shape), strides=strides,
                padding=padding_keyword(op, padding), dilations=dilations)


def tf_depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None, *,
                        method="matrix", weight_format=None):
    """tf.nn.depthwise_conv2d: ``output[b, i, j, k * channel_multiplier + q] = sum over di, dj of
    filter[di, dj, k, q] * input[b, strides[1] i + rate[0] di, strides[2] j + rate[1] dj, k]``.

    Parameters
    ----------
    input : ndarray [batch, height, width, in_channels] (or NCHW with data_format="NCHW")
    filter : ndarray [filter_height, filter_width, in_channels, channel_multiplier]
    strides : 4 ints in data_format's order (1 for N and C), or 1 or 2
    padding : "SAME", "VALID" or explicit pairs, as in tf_conv
    dilations : 2 ints (the rate), or None; > 1 needs all strides 1
    method : "matrix" or "loops"
    weight_format : as the op table takes it for this op (the filter's order; TensorFlow's by
        default)

    Returns
    -------
    ndarray [batch, out_height, out_width, in_channels * channel_multiplier] (channels last).
    """
    op = "tf_depthwise_conv2d"
    return _run(op, input, filter, method, data_format, weight_format, strides=strides,
                padding=padding_keyword(op, padding), dilations=dilations)

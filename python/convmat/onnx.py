"""ONNX's Conv, ConvTranspose, ConvInteger and QLinearConv operators computed by convmat, with
ONNX's attribute names and input order.

The attributes are keyword arguments named and defined as in the ONNX operator documentation
(opsets 11-22), so a node's attributes can be passed as ``onnx_conv(X, W, B, **attributes)``.
Absent attributes (None) take ONNX's defaults. Inputs are batched, ``(N, C, D1[, D2[, D3]])``.
"""

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

import numpy as np

__all__ = ["onnx_conv", "onnx_conv_transpose", "onnx_conv_integer", "onnx_qlinear_conv"]


def _run(op, X, W, B, method, **attributes):
    """Resolves the node with ONNX's rules (the op table's row `op`, C++ layer_args) and runs it;
    None is an absent attribute."""
    x, w, b = _a.array(X, op, "X"), _a.array(W, op, "W"), _a.array(B)
    call = _layers.layer(op, op, attributes).resolve(op, x.shape, w.shape)
    return _core.forward(call, x, w, b, _a.string(op, "method", method), op, ("X", "W", "B"))


def onnx_conv(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
              pads=None, strides=None, method="matrix"):
    """ONNX Conv: ``Y = W x + B`` with ONNX's attributes.

    Parameters
    ----------
    X : ndarray (N, C, D1, ...), float32 or float64
    W : ndarray (M, C/group, k1, ...), same dtype
    B : ndarray (M,) or None
    auto_pad : "NOTSET" (use pads), "VALID" (no padding), "SAME_UPPER" or "SAME_LOWER": output
        size ceil(n / stride), total padding max(0, (out - 1)s + d(k - 1) + 1 - n), the odd one
        at the end (SAME_UPPER) or at the begin (SAME_LOWER)
    dilations, strides : one int per spatial axis (default 1)
    group : int
    kernel_shape : must equal W's spatial shape when given
    pads : [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (default 0), asymmetric allowed
    method : "matrix" or "loops"

    Returns
    -------
    ndarray (N, M, *out), X's dtype, out = floor((n + pad_begin + pad_end - d(k-1) - 1)/s) + 1.

    Raises ValueError for attributes ONNX does not allow (the C++ message), TypeError for wrong
    types or dtypes.
    """
    return _run("Conv", X, W, B, method, auto_pad=auto_pad, dilations=dilations, group=group,
                kernel_shape=kernel_shape, pads=pads, strides=strides)


def onnx_conv_transpose(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1,
                        kernel_shape=None, output_padding=None, output_shape=None, pads=None,
                        strides=None, method="matrix"):
    """ONNX ConvTranspose: ``Y = Wᵀ x + B`` with ONNX's attributes.

    Parameters
    ----------
    X : ndarray (N, C, D1, ...), float32 or float64
    W : ndarray (C, M/group, k1, ...), same dtype
    B : ndarray (M,) or None
    auto_pad : "NOTSET", "VALID", "SAME_UPPER" or "SAME_LOWER" (output_shape = n * stride)
    dilations, strides, output_padding : one int per spatial axis
    group : int
    kernel_shape : must equal W's spatial shape when given
    output_shape : the spatial output shape (or (N, M, *spatial)); then the pads are derived:
        total = s(n - 1) + output_padding + d(k - 1) + 1 - output_shape, SAME_UPPER puts
        floor(total/2) at the begin, otherwise total - floor(total/2); a negative total adds
        zero rows. Given pads are then ignored, as ONNX's documentation says. With (N, M, ...),
        N and M must be X's batch and the layer's output channels.
    pads : [x1_begin, ..., x1_end, ...]; they crop the output (ignored with output_shape)
    method : "matrix" or "loops"

    Returns
    -------
    ndarray (N, M, *out), X's dtype, out = s(n - 1) + output_padding + d(k - 1) + 1
    - pad_begin - pad_end (= output_shape when given).

    Raises ValueError for attributes ONNX does not allow (the C++ message), TypeError for wrong
    types or dtypes.
    """
    return _run("ConvTranspose", X, W, B, method, auto_pad=auto_pad, dilations=dilations,
                group=group, kernel_shape=kernel_shape, output_padding=output_padding,
                output_shape=output_shape, pads=pads, strides=strides)


# The 8-bit types of ONNX's quantized operators and their ranges (saturation).
_QUANTIZED = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _quantized(op, name, value, allow_none=False):
    """An int8/uint8 array (a NumPy array or a torch tensor), or None when allowed."""
    if value is None:
        if allow_none:
            return None
        raise TypeError(f"{op}: {name} must be an int8 or uint8 array, got None")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    a = np.asarray(value)
    if a.dtype not in _QUANTIZED:
        raise TypeError(f"{op}: {name} must have dtype int8 or uint8 (ONNX's T1/T2), got "
                        f"{a.dtype}")
    return a


def _zero_points(op, name, zero_point, tensor, per_channel):
    """A zero point of the tensor's dtype (ONNX's rule): a scalar, or one per output channel
    where allowed; None is 0."""
    if zero_point is None:
        return [0]
    z = _quantized(op, name, zero_point)
    if z.dtype != tensor.dtype:
        raise TypeError(f"{op}: {name} must have the dtype of its tensor ({tensor.dtype}), got "
                        f"{z.dtype}")
    if z.ndim > 1 or (z.size != 1 and not per_channel):
        raise ValueError(f"{op}: {name} must be a scalar"
                         + (" or a 1-d array (per output channel)" if per_channel else "")
                         + f", got shape {z.shape}")
    return [int(v) for v in z.reshape(-1)]


def _conv_integer(op, x, w, x_zero_point, w_zero_point, B, attributes):
    """The layer (ONNX Conv's attributes) and its exact int32 accumulators (+ B)."""
    x, w = _quantized(op, "x", x), _quantized(op, "w", w)
    xz = _zero_points(op, "x_zero_point", x_zero_point, x, False)[0]
    wz = _zero_points(op, "w_zero_point", w_zero_point, w, True)
    bias = None
    if B is not None:
        b = np.asarray(B)
        if b.dtype != np.int32:
            raise TypeError(f"{op}: B must have dtype int32, got {b.dtype}")
        bias = [int(v) for v in b.reshape(-1)]
    call = _layers.layer(op, "onnx_conv", attributes).resolve(op, x.shape, w.shape)
    return call, _core.conv_integer(call, x.astype(np.int64), xz, w.astype(np.int64), wz, bias)


def onnx_conv_integer(x, w, x_zero_point=None, w_zero_point=None, *, auto_pad="NOTSET",
                      dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    """ONNX ConvInteger: ``y = conv(x - x_zero_point, w - w_zero_point)`` in int32, exactly.

    Parameters
    ----------
    x : ndarray (N, C, D1, ...), int8 or uint8
    w : ndarray (M, C/group, k1, ...), int8 or uint8
    x_zero_point : scalar of x's dtype, or None (0); the padding holds it (a padded tap adds 0)
    w_zero_point : scalar or (M,) array (per output channel) of w's dtype, or None (0)
    auto_pad, dilations, group, kernel_shape, pads, strides : ONNX Conv's attributes

    Returns
    -------
    ndarray (N, M, *out), int32: the exact sums (computed by W in float64, every partial sum an
    integer below 2**53). ValueError when one leaves the int32 range, for attributes ONNX does
    not allow, and for sizes that do not fit; TypeError for other dtypes.
    """
    _, acc = _conv_integer("ConvInteger", x, w, x_zero_point, w_zero_point, None,
                           dict(auto_pad=auto_pad, dilations=dilations, group=group,
                                kernel_shape=kernel_shape, pads=pads, strides=strides))
    return acc.astype(np.int32)


def onnx_qlinear_conv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                      B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
                      pads=None, strides=None, return_accumulators=False):
    """ONNX QLinearConv: ``y = saturate(round(acc * x_scale * w_scale / y_scale) + y_zero_point)``
    with ``acc = conv(x - x_zero_point, w - w_zero_point) + B`` in int32.

    Parameters
    ----------
    x : ndarray (N, C, D1, ...), int8 or uint8; x_scale : float; x_zero_point : scalar, x's dtype
    w : ndarray (M, C/group, k1, ...), int8 or uint8; w_scale : float or (M,) floats;
    w_zero_point : scalar or (M,) of w's dtype (per output channel)
    y_scale : float; y_zero_point : scalar, int8 or uint8: the output's dtype
    B : (M,) int32 or None
    auto_pad, dilations, group, kernel_shape, pads, strides : ONNX Conv's attributes
    return_accumulators : also return acc (int32) and the real values acc * multiplier before
        rounding (float64), for reading a one-unit difference

    Rounding is half to even on acc * (x_scale * w_scale / y_scale) computed in float64;
    implementations that multiply in float32 (ONNX Runtime, PyTorch's fbgemm/qnnpack) can differ
    by one unit where that product lies within float32's rounding of a tie (core/quantized.hpp).

    Returns
    -------
    ndarray (N, M, *out) of y_zero_point's dtype; with return_accumulators, (y, acc, real).
    """
    op = "QLinearConv"
    if y_zero_point is None:
        raise TypeError(f"{op}: y_zero_point must be an int8 or uint8 scalar, got None")
    yz = _quantized(op, "y_zero_point", y_zero_point)
    if yz.size != 1:
        raise ValueError(f"{op}: y_zero_point must be a scalar, got shape {yz.shape}")
    call, acc = _conv_integer(op, x, w, x_zero_point, w_zero_point, B,
                              dict(auto_pad=auto_pad, dilations=dilations, group=group,
                                   kernel_shape=kernel_shape, pads=pads, strides=strides))
    w_scales = [float(s) for s in np.asarray(w_scale, dtype=np.float64).reshape(-1)]
    multipliers = _core.requantization_multipliers(
        _a.number(op, "x_scale", float(np.asarray(x_scale).reshape(-1)[0])), w_scales,
        _a.number(op, "y_scale", float(np.asarray(y_scale).reshape(-1)[0])),
        call.spec.out_channels)
    lo, hi = _QUANTIZED[yz.dtype]
    y = _core.qlinear_requantize(call, acc, multipliers, int(yz.reshape(-1)[0]), lo, hi)
    y = y.astype(yz.dtype)
    if not return_accumulators:
        return y
    m = np.asarray(multipliers).reshape((1, -1) + (1,) * (acc.ndim - 2))
    return y, acc.astype(np.int32), acc.astype(np.float64) * m

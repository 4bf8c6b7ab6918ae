"""ONNX's Conv and ConvTranspose operators computed by convmat, with ONNX's attribute names.

The attributes are keyword arguments named and defined as in the ONNX operator documentation
(opsets 11-22), so a node's attributes can be passed as ``onnx_conv(X, W, B, **attributes)``.
Absent attributes (None) take ONNX's defaults. Inputs are batched, ``(N, C, D1[, D2[, D3]])``.
"""

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["onnx_conv", "onnx_conv_transpose"]


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

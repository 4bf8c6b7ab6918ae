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
    call = _layers.layer(op, op, attributes).resolve(op, x.shape, w.shape, layouts=True)
    return _core.forward(call, x, w, b, _a.string(op, "method", method), op, ("X", "W", "B"))


def onnx_conv(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
              pads=None, strides=None, method="matrix", data_format=None, weight_format=None):
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
    data_format, weight_format : X (and Y) and W stored in another order than ONNX's NC.../
        OI... (default None), e.g. "NHWC" and "HWIO"

    Returns
    -------
    ndarray (N, M, *out) in data_format's order, X's dtype,
    out = floor((n + pad_begin + pad_end - d(k-1) - 1)/s) + 1.

    Raises ValueError for attributes ONNX does not allow (the C++ message), TypeError for wrong
    types or dtypes.
    """
    return _run("Conv", X, W, B, method, auto_pad=auto_pad, dilations=dilations, group=group,
                kernel_shape=kernel_shape, pads=pads, strides=strides, data_format=data_format,
                weight_format=weight_format)


def onnx_conv_transpose(X, W, B=None, *, auto_pad="NOTSET", dilations=None, group=1,
                        kernel_shape=None, output_padding=None, output_shape=None, pads=None,
                        strides=None, method="matrix", data_format=None, weight_format=None):
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
    data_format, weight_format : X (and Y) and W stored in another order than ONNX's (default
        None: NC... and IO..., W being (C, M/group, *k)), e.g. "NHWC" and "HWOI"

    Returns
    -------
    ndarray (N, M, *out) in data_format's order, X's dtype,
    out = s(n - 1) + output_padding + d(k - 1) + 1
    - pad_begin - pad_end (= output_shape when given).

    Raises ValueError for attributes ONNX does not allow (the C++ message), TypeError for wrong
    types or dtypes.
    """
    return _run("ConvTranspose", X, W, B, method, auto_pad=auto_pad, dilations=dilations,
                group=group, kernel_shape=kernel_shape, output_padding=output_padding,
                output_shape=output_shape, pads=pads, strides=strides, data_format=data_format,
                weight_format=weight_format)


def _tensor(value):
    """A NumPy array of a NumPy array, a NumPy scalar or a torch tensor; None for plain numbers
    (Python's int and float, lists and tuples of them), whose type the library decides."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return None


def _quantized_inputs(op, inputs):
    """ONNX's quantization inputs by name -> (values, dtype name or None for plain numbers); the
    library (core/quantized.hpp) checks every rule: types, ranges, counts."""
    out = {}
    for name, value in inputs.items():
        if value is None:
            continue
        a = _tensor(value)
        if a is None:
            numbers = np.asarray(value, dtype=np.float64)
            if numbers.ndim > 1:
                raise ValueError(f"{op}: {name} must be a number or a list of numbers, got shape "
                                 f"{numbers.shape}")
            out[name] = (numbers.reshape(-1).tolist(), None)
            continue
        if a.ndim > 1:
            raise ValueError(f"{op}: {name} must be a scalar or a 1-d array (ONNX), got shape "
                             f"{a.shape}")
        if a.dtype.kind not in "iubf":
            raise TypeError(f"{op}: {name} has dtype {a.dtype}, not a number type")
        out[name] = (a.reshape(-1).astype(np.float64).tolist(), a.dtype.name)
    return out


def _integer_tensor(op, name, value):
    """x or w: an array (or tensor) and its dtype's name; the library requires int8 or uint8."""
    if value is None:
        raise TypeError(f"{op}: {name} must be an int8 or uint8 array, got None")
    a = _tensor(value)
    a = np.asarray(value) if a is None else a
    return (a.astype(np.int64) if a.dtype.kind in "iub" else np.zeros(a.shape, np.int64),
            a.dtype.name, a.shape)


def quantized_call(op, x, w, inputs, attributes, method="quantized_apply", *extra):
    """Runs the library's quantized op (onnx_conv_integer or onnx_qlinear_conv) on ONNX's
    inputs: (the resolved layer, the result dict of _core.quantized_apply or
    _core.diagnose_quantized)."""
    name = "QLinearConv" if op == "onnx_qlinear_conv" else "ConvInteger"
    x, x_type, x_shape = _integer_tensor(name, "x", x)
    w, w_type, w_shape = _integer_tensor(name, "w", w)
    typed = _quantized_inputs(name, inputs)
    call = _layers.layer(name, "onnx_conv", attributes).resolve(name, x_shape, w_shape,
                                                                layouts=True)
    return call, getattr(_core, method)(op, call, x, x_type, w, w_type, typed, *extra)


def onnx_conv_integer(x, w, x_zero_point=None, w_zero_point=None, *, auto_pad="NOTSET",
                      dilations=None, group=1, kernel_shape=None, pads=None, strides=None,
                      data_format=None, weight_format=None):
    """ONNX ConvInteger: ``y = conv(x - x_zero_point, w - w_zero_point)`` in int32, exactly.

    Parameters
    ----------
    x : ndarray (N, C, D1, ...), int8 or uint8
    w : ndarray (M, C/group, k1, ...), int8 or uint8
    x_zero_point : scalar of x's dtype, or None (0); the padding holds it (a padded tap adds 0)
    w_zero_point : scalar or (M,) array (per output channel) of w's dtype, or None (0)
        A zero point given as a Python int (or list) takes its tensor's dtype.
    auto_pad, dilations, group, kernel_shape, pads, strides : ONNX Conv's attributes
    data_format, weight_format : keyword-only; the order x (and the output) and w are stored
        in. Default (None) ONNX's: "NCW"/"NCHW"/"NCDHW" and "OIW"/"OIHW"/"OIDHW"; also the
        channels-last data formats ("NWC", "NHWC", "NDHWC") and the other weight orders
        ("HWIO", "OHWI", "IOHW" and their 1-d/3-d forms), e.g. "NHWC" and "OHWI" for a TFLite
        int8 kernel's tensors. w_zero_point stays one value per output channel in every layout.

    Returns
    -------
    ndarray (N, M, *out) in data_format's order (e.g. (N, *out, M) for "NHWC"), int32: the exact
    sums (computed by W in float64, every partial sum an integer below 2**53). ValueError when
    one leaves the int32 range, for attributes ONNX does not allow, and for sizes that do not fit;
    TypeError for other dtypes.
    """
    _, r = quantized_call("onnx_conv_integer", x, w,
                          dict(x_zero_point=x_zero_point, w_zero_point=w_zero_point),
                          dict(auto_pad=auto_pad, dilations=dilations, group=group,
                               kernel_shape=kernel_shape, pads=pads, strides=strides,
                               data_format=data_format, weight_format=weight_format))
    return r["values"].astype(np.int32)


def onnx_qlinear_conv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point,
                      B=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
                      pads=None, strides=None, return_accumulators=False, data_format=None,
                      weight_format=None):
    """ONNX QLinearConv: ``y = saturate(round(acc * x_scale * w_scale / y_scale) + y_zero_point)``
    with ``acc = conv(x - x_zero_point, w - w_zero_point) + B`` in int32.

    Parameters
    ----------
    x : ndarray (N, C, D1, ...), int8 or uint8; x_scale : float32 scalar; x_zero_point : scalar,
        x's dtype
    w : ndarray (M, C/group, k1, ...), int8 or uint8; w_scale : float32 scalar or (M,) array;
        w_zero_point : scalar or (M,) of w's dtype (per output channel)
    y_scale : float32 scalar; y_zero_point : int8 or uint8 scalar: the output's dtype
    B : (M,) int32 or None
    Scales are ONNX's tensor(float): a float32 array, or a Python float (or list) rounded to
    float32; a zero point given as a Python int takes its tensor's dtype (y_zero_point: x's), B
    as Python ints int32 (core/quantized.hpp: quantized_value_from_numbers).
    auto_pad, dilations, group, kernel_shape, pads, strides : ONNX Conv's attributes
    data_format, weight_format : keyword-only, as in onnx_conv_integer (default ONNX's NCHW and
        OIHW families); w_scale, w_zero_point and B stay one value per output channel
    return_accumulators : also return acc (int32) and the real values acc * multiplier before
        rounding (float64), for reading a one-unit difference

    Rounding is half to even on acc * (x_scale * w_scale / y_scale) computed in float64;
    implementations that multiply in float32 (ONNX Runtime, PyTorch's fbgemm/qnnpack) can differ
    by one unit where that product lies within float32's rounding of a tie (core/quantized.hpp).

    Returns
    -------
    ndarray (N, M, *out) of y_zero_point's dtype, in data_format's order; with
    return_accumulators, (y, acc, real), all three in that order.
    """
    _, r = quantized_call("onnx_qlinear_conv", x, w,
                          dict(x_scale=x_scale, x_zero_point=x_zero_point, w_scale=w_scale,
                               w_zero_point=w_zero_point, y_scale=y_scale,
                               y_zero_point=y_zero_point, B=B),
                          dict(auto_pad=auto_pad, dilations=dilations, group=group,
                               kernel_shape=kernel_shape, pads=pads, strides=strides,
                               data_format=data_format, weight_format=weight_format))
    y = r["values"].astype(r["type"])
    if not return_accumulators:
        return y
    return y, r["accumulators"].astype(np.int32), r["real"]

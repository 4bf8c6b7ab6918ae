"""XLA's general convolution computed by convmat: StableHLO ``convolution``,
``jax.lax.conv_general_dilated``.

``xla_conv(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
feature_group_count, batch_group_count, window_reversal)`` takes jax.lax.conv_general_dilated's
arguments with its meaning, plus StableHLO's window_reversal. The rules (JAX's padding strings,
StableHLO's constraints C1-C25, the layouts of dimension_numbers) are the C++ library's
(include/convmat/core/xla.hpp); the arrays are NumPy, float32 or float64.
"""

import numpy as np

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["xla_conv"]


def dimension_numbers_keyword(op, dimension_numbers):
    """None, or three strings (lhs, rhs, out) such as ("NHWC", "HWIO", "NHWC") -> the op
    table's form, "NHWC,HWIO,NHWC" ("" for None)."""
    if dimension_numbers is None:
        return ""
    if isinstance(dimension_numbers, str):
        return dimension_numbers
    specs = list(dimension_numbers) if isinstance(dimension_numbers, (list, tuple)) else None
    if specs is None or len(specs) != 3 or not all(isinstance(s, str) for s in specs):
        raise TypeError(f"{op}: dimension_numbers must be None or three strings (lhs, rhs, out) "
                        f"such as ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}")
    return ",".join(specs)


def padding_keyword(op, padding):
    """"SAME" / "SAME_LOWER" / "VALID", or (low, high) pairs -> their flat list of ints."""
    return _a.padding_pairs(op, padding, "'SAME', 'SAME_LOWER', 'VALID'", "low, high")


def window_reversal_keyword(op, window_reversal):
    """None, or one bool per spatial dimension -> 0/1 ints."""
    if window_reversal is None:
        return []
    try:
        # bools and the integers 0/1 as given; anything else reaches the library's rule (0 or 1)
        return [int(v) if isinstance(v, (bool, np.bool_)) else _a.integer(op, "window_reversal", v)
                for v in window_reversal]
    except TypeError:
        raise TypeError(f"{op}: window_reversal must be None or one bool per spatial dimension, "
                        f"got {window_reversal!r}") from None


def keywords(op, window_strides=None, padding="VALID", lhs_dilation=None, rhs_dilation=None,
             dimension_numbers=None, feature_group_count=1, batch_group_count=1,
             window_reversal=None):
    """jax's argument forms -> the op table's keywords of xla_conv."""
    return dict(window_strides=window_strides, padding=padding_keyword(op, padding),
                lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                dimension_numbers=dimension_numbers_keyword(op, dimension_numbers),
                feature_group_count=feature_group_count, batch_group_count=batch_group_count,
                window_reversal=window_reversal_keyword(op, window_reversal))


# jax.lax.Precision's names (and the (lhs, rhs) pair form): what a JAX call may ask for.
_PRECISIONS = ("DEFAULT", "HIGH", "HIGHEST", "BFLOAT16", "TENSORFLOAT32", "FLOAT32")


def _precision(op, precision):
    """jax's precision argument, checked and otherwise unused: convmat computes every product
    and sum in the arrays' own dtype (float32 or float64), at least what HIGHEST asks."""
    def name(p):
        text = p if isinstance(p, str) else getattr(p, "name", None)
        return text.upper() if isinstance(text, str) else None
    given = list(precision) if isinstance(precision, (tuple, list)) else [precision]
    if precision is not None and (len(given) not in (1, 2) or
                                  any(name(p) not in _PRECISIONS for p in given)):
        raise ValueError(f"{op}: precision must be None, one of jax.lax.Precision's names "
                         f"({', '.join(_PRECISIONS)}) or a pair of them, got {precision!r}")


def _preferred_element_type(op, dtype):
    """jax's preferred_element_type: None (the inputs' dtype) or float32/float64."""
    if dtype is None:
        return None
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d.name not in ("float32", "float64"):
        raise ValueError(f"{op}: preferred_element_type must be None, float32 or float64 "
                         f"(convmat computes in floating point), got {dtype!r}")
    return d


def xla_conv(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
             dimension_numbers=None, feature_group_count=1, batch_group_count=1,
             window_reversal=None, *, precision=None, preferred_element_type=None,
             method="matrix"):
    """jax.lax.conv_general_dilated (StableHLO convolution): the general N-d convolution.

    Parameters
    ----------
    lhs : ndarray, the input in dimension_numbers[0]'s order (default (N, C, *spatial)),
        float32 or float64
    rhs : ndarray, the kernel in dimension_numbers[1]'s order (default (O, I, *kernel)), with
        I = C / feature_group_count
    window_strides : one int per spatial dimension (in the order of the rhs string's spatial
        letters, as JAX matches them)
    padding : "SAME" (total max((ceil(n/s) - 1)s + d(k - 1) + 1 - n, 0), half rounded down
        low), "SAME_LOWER" (half rounded down high), "VALID", or (low, high) pairs, negative
        allowed (a crop)
    lhs_dilation : None (1) or one int per spatial dimension: the input dilation (l - 1 zeros
        between input elements); with window_strides 1 the transposed convolution of stride l,
        with a window stride too a convolution reading the dilated input (ConvSpec.input_dilation)
    rhs_dilation : None (1) or one int per spatial dimension: the kernel's dilation
    dimension_numbers : None (("NCHW", "OIHW", "NCHW") and the 1-d/3-d forms) or three strings
        (lhs, rhs, out); spatial letters are matched by letter
    feature_group_count : the groups (C and O divided into that many)
    batch_group_count : G: lhs's batch split into G groups, rhs's output features into G, group
        g convolved with group g, the results concatenated along the output features (the
        output has N / G samples)
    window_reversal : None, or one bool per spatial dimension: the window (equivalently the
        kernel) reversed along it
    precision : jax's (None, a jax.lax.Precision or its name, or a pair): accepted so that JAX
        calls run unchanged; convmat computes in the arrays' dtype, at least HIGHEST's accuracy
    preferred_element_type : None (the inputs' dtype), float32 or float64: the accumulation
        and output dtype (float64 on float32 inputs computes in float64; float32 on float64
        inputs computes in float64 and rounds the result)
    method : "matrix" (W·x) or "loops" (the direct loops)

    Returns
    -------
    ndarray in dimension_numbers[2]'s order, the inputs' dtype (or preferred_element_type);
    empty, as jax's, where a
    dilated window is longer than its padded input or the batch is 0 (StableHLO: 0 windows).

    Example
    -------
    >>> x = numpy.arange(5.0).reshape(1, 5, 1)                            # NWC
    >>> convmat.xla_conv(x, numpy.ones((2, 1, 1)), (1,), [(1, -1)],
    ...                  dimension_numbers=("NWC", "WIO", "NWC"))[0, :, 0]
    array([0., 1., 3., 5.])
    """
    op = "xla_conv"
    x, w = _a.array(lhs, op, "lhs"), _a.array(rhs, op, "rhs")
    k = keywords(op, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                 feature_group_count, batch_group_count, window_reversal)
    _precision(op, precision)
    dtype = _preferred_element_type(op, preferred_element_type)
    if dtype == np.float64 and x.dtype == w.dtype == np.float32:  # accumulate in float64
        x, w = x.astype(np.float64), w.astype(np.float64)
    names = ("lhs", "rhs", "bias")
    method = _a.string(op, "method", method)
    try:
        call = _layers.layer(op, op, k).resolve(op, x.shape, w.shape, layouts=True)
        y = _core.forward(call, x, w, None, method, op, names)
    except _core.EmptyOutput as e:  # jax returns the empty array (a window longer than the input)
        y = _core.empty_output(e.shape, x, w, None, method, op, names)
    return y if dtype is None else y.astype(dtype, copy=False)

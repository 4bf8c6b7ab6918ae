"""PyTorch's convolutions computed by convmat: replace ``F.`` by ``convmat.``, get the same numbers.

``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` take exactly the arguments of
``torch.nn.functional`` (an int or a tuple for every spatial argument; a batched ``(N, C, *)`` or
unbatched ``(C, *)`` input), plus nn.ConvNd's ``padding_mode`` for the convolutions and
``method``: ``"matrix"`` computes ``W @ x`` (``Wᵀ @ y`` for the transposed layers) with the
explicit sparse matrix, ``"loops"`` the independent direct loops (a gather for convolution, a
scatter -- "pixel splatting" -- for transposed convolution). Both give PyTorch's results.

NumPy arrays in and out; the output has the input's dtype (float32 or float64; input, weight and
bias must share it). Invalid arguments raise ValueError with PyTorch's rule and the values, wrong
types TypeError.
"""

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

_SHAPES = {
    1: ("(N, C_in, L)", "(C_out, C_in/groups, kL)", "(C_in, C_out/groups, kL)"),
    2: ("(N, C_in, H, W)", "(C_out, C_in/groups, kH, kW)", "(C_in, C_out/groups, kH, kW)"),
    3: ("(N, C_in, D, H, W)", "(C_out, C_in/groups, kD, kH, kW)",
        "(C_in, C_out/groups, kD, kH, kW)"),
}

_CONV_DOC = """{rank}-d convolution, as ``torch.nn.functional.conv{rank}d`` (and ``nn.Conv{rank}d``'s
padding_mode): ``y = W x + b``.

Parameters
----------
input : ndarray, {input} or unbatched (C_in, ...), float32 or float64
weight : ndarray, {weight}, same dtype
bias : ndarray (C_out,) or None
stride, dilation : int or tuple of {rank} ints
padding : int, tuple of {rank} ints, "valid" or "same" (stride 1 only; an odd total padding
    puts the extra one at the end, as PyTorch does)
groups : int, divides C_in and C_out
padding_mode : "zeros", "reflect", "replicate" or "circular" (nn.Conv{rank}d's padding_mode:
    the input is padded with ``F.pad(x, ..., mode)`` instead of zeros)
method : "matrix" (the sparse matrix W) or "loops" (the direct loops)
data_format : None (convmat's and PyTorch's "NC..."), or the input's and output's layout:
    "NCHW", "NHWC", ... (N, C and the spatial letters of the rank: W; H, W; D, H, W)
weight_format : None (PyTorch's), or the weight's layout: "OIHW", "HWIO", "OHWI", ...

Returns
-------
ndarray (N, C_out, *out) -- (C_out, *out) for an unbatched input; in data_format's order when
given -- in the input's dtype, with
out = floor((n + 2p - d(k-1) - 1) / s) + 1 per dimension.

Raises ValueError for invalid arguments (the C++ message: the rule and the values), TypeError for
wrong types or dtypes.

Example
-------
>>> x = numpy.arange(9.0).reshape(1, 1, 3, 3)
>>> k = numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]])
>>> convmat.conv2d(x, k)[0, 0]          # seed 000's corr2d
array([[27., 37.],
       [57., 67.]])
"""

_CONV_TRANSPOSE_DOC = """{rank}-d transposed convolution, as
``torch.nn.functional.conv_transpose{rank}d``: ``x = Wᵀ y + b``, where W is the matrix of the
convolution with the same kernel, stride, padding and dilation (its gradient with respect to the
input).

Parameters
----------
input : ndarray, {input} or unbatched (C_in, ...), float32 or float64
weight : ndarray, {tweight} (PyTorch's layout for transposed convolutions), same dtype
bias : ndarray (C_out,) or None
stride, padding, output_padding, dilation : int or tuple of {rank} ints; padding crops the
    output, output_padding (< stride or < dilation) adds rows at its end
groups : int, divides C_in and C_out
method : "matrix" (Wᵀ, the transposed sparse matrix) or "loops" (the scatter loops)
data_format : None (convmat's and PyTorch's "NC..."), or the input's and output's layout:
    "NCHW", "NHWC", ...
weight_format : None (PyTorch's "IOHW": I and O are this layer's input and output channels),
    or the weight's layout: "HWOI" (TensorFlow's), "OIHW", ...

Returns
-------
ndarray (N, C_out, *out) -- (C_out, *out) for an unbatched input -- in the input's dtype, with
out = (n - 1)s - 2p + d(k-1) + output_padding + 1 per dimension.

Raises ValueError for invalid arguments (the C++ message: the rule and the values), TypeError for
wrong types or dtypes.

Example
-------
>>> x = numpy.array([[[[0.0, 1.0], [2.0, 3.0]]]])
>>> convmat.conv_transpose2d(x, x)[0, 0]   # seed 000's trans_conv(X, K)
array([[ 0.,  0.,  1.],
       [ 0.,  4.,  6.],
       [ 4., 12.,  9.]])
"""


def _layer(op, input, weight, bias, method, data_format=None, weight_format=None, **keywords):
    """Resolves the call with the rules of the op table's row `op` (C++ layer_ops, layer_args)
    and runs it; the arrays in the layouts given (None: the op's own)."""
    x, w, b = _a.array(input, op, "input"), _a.array(weight, op, "weight"), _a.array(bias)
    keywords.update(data_format=data_format, weight_format=weight_format)
    call = _layers.layer(op, op, keywords).resolve(op, x.shape, w.shape, layouts=True)
    return _core.forward(call, x, w, b, _a.string(op, "method", method), op)


def _named(function, name, template, rank):
    """Gives a rank's function its public name and its docstring."""
    input_shape, weight, tweight = _SHAPES[rank]
    function.__name__ = function.__qualname__ = name
    function.__doc__ = template.format(rank=rank, input=input_shape, weight=weight,
                                       tweight=tweight)
    return function


def _convolution(rank):
    """conv{rank}d: one definition for the three ranks."""
    name = f"conv{rank}d"

    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
             padding_mode="zeros", method="matrix", *, data_format=None, weight_format=None):
        return _layer(name, input, weight, bias, method, data_format, weight_format,
                      stride=stride, padding=padding, dilation=dilation, groups=groups,
                      padding_mode=padding_mode)
    return _named(conv, name, _CONV_DOC, rank)


def _transposed_convolution(rank):
    """conv_transpose{rank}d: one definition for the three ranks."""
    name = f"conv_transpose{rank}d"

    def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                       groups=1, dilation=1, method="matrix", *, data_format=None,
                       weight_format=None):
        return _layer(name, input, weight, bias, method, data_format, weight_format,
                      stride=stride, padding=padding, output_padding=output_padding,
                      groups=groups, dilation=dilation)
    return _named(conv_transpose, name, _CONV_TRANSPOSE_DOC, rank)


conv1d, conv2d, conv3d = (_convolution(rank) for rank in (1, 2, 3))
conv_transpose1d, conv_transpose2d, conv_transpose3d = (
    _transposed_convolution(rank) for rank in (1, 2, 3))

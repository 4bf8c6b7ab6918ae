"""The layers as explicit sparse matrices: seed 000's ``kernel2matrix``, generalized.

``conv_matrix`` returns W, the convolution's matrix: ``conv2d(x, weight, ...)`` equals
``(W @ x.reshape(N, -1).T).T`` reshaped. ``conv_transpose_matrix`` returns the transposed layer's
matrix, which is the transpose Wᵀ of the convolution with the same hyperparameters. Rows flatten
``(out_channel, *output_position)``, columns ``(in_channel, *input_position)``, in C order.
"""

import scipy.sparse

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat.functional import _torch_args

__all__ = ["conv_matrix", "conv_transpose_matrix"]


def _input_shape(op, weight, input_size, groups, transposed):
    """input_size (spatial sizes, an int for all of them, or the input's full shape) -> the
    input shape layer_args resolves."""
    size = _a.ints(op, "input_size", input_size)
    rank = weight.ndim - 2
    if rank < 1 or len(size) not in (1, rank):
        return size  # (C_in, *spatial) or (N, C_in, *spatial); layer_args checks it
    spatial = size * rank if len(size) == 1 else size
    # The weight's layout gives C_in: (C_out, C_in/groups, *k) or, transposed, (C_in, ...).
    channels = weight.shape[0] if transposed else weight.shape[1] * _a.integer(op, "groups", groups)
    return [channels] + spatial


def _matrix(op, transposed, weight, input_size, **arguments):
    w = _a.array(weight)
    args = _torch_args(op, **arguments)
    resolve = _core.torch_conv_transpose if transposed else _core.torch_conv
    call = resolve(_input_shape(op, w, input_size, arguments["groups"], transposed), w.shape, args)
    data, indices, indptr, shape = _core.layer_matrix(call.spec, w, op)
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def conv_matrix(weight, input_size, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros"):
    """The convolution's matrix W (scipy.sparse.csr_matrix): ``conv{1,2,3}d(x) == W @ x.ravel()``.

    Parameters
    ----------
    weight : ndarray (C_out, C_in/groups, *k), float32 or float64; its ndim sets the rank
    input_size : the input's spatial size -- an int (every dimension) or a tuple of rank ints --
        or its shape (C_in, *spatial), also (N, C_in, *spatial)
    stride, padding, dilation, groups, padding_mode : as in conv2d (padding also "same"/"valid")

    Returns
    -------
    scipy.sparse.csr_matrix of shape (C_out * prod(out), C_in * prod(input_size)), the weight's
    dtype. Row ``(o, *q)`` holds the weights that output position q of channel o reads; with a
    padding mode other than zeros, taps that fold onto the same input position are summed.

    Memory: the CSR data and indices arrays are the C++ matrix's own (no copy); scipy narrows
    the row pointers to int32 when they fit.

    Example
    -------
    >>> convmat.conv_matrix(numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]]), (3, 3)).toarray()
    array([[1., 2., 0., 3., 4., 0., 0., 0., 0.],
           [0., 1., 2., 0., 3., 4., 0., 0., 0.],
           [0., 0., 0., 1., 2., 0., 3., 4., 0.],
           [0., 0., 0., 0., 1., 2., 0., 3., 4.]])
    """
    return _matrix("conv_matrix", False, weight, input_size, stride=stride, padding=padding,
                   dilation=dilation, groups=groups, output_padding=0, padding_mode=padding_mode)


def conv_transpose_matrix(weight, input_size, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1):
    """The transposed convolution's matrix Wᵀ (scipy.sparse.csr_matrix):
    ``conv_transpose{1,2,3}d(y) == Wᵀ @ y.ravel()``.

    W is the matrix of the convolution with the same kernel, stride, padding and dilation
    (channels swapped): ``conv_transpose_matrix(k, n, ...)`` equals ``conv_matrix(k, o, ...).T``
    where o is the transposed layer's output size.

    Parameters
    ----------
    weight : ndarray (C_in, C_out/groups, *k), float32 or float64; its ndim sets the rank
    input_size : the transposed layer's input spatial size (int or tuple) or its shape
        (C_in, *spatial), also (N, C_in, *spatial)
    stride, padding, output_padding, groups, dilation : as in conv_transpose2d

    Returns
    -------
    scipy.sparse.csr_matrix of shape (C_out * prod(out), C_in * prod(input_size)), the weight's
    dtype.

    Memory: Wᵀ is built once from W in C++ (one counting pass) and handed to scipy without a
    further copy.
    """
    return _matrix("conv_transpose_matrix", True, weight, input_size, stride=stride,
                   padding=padding, dilation=dilation, groups=groups,
                   output_padding=output_padding, padding_mode="zeros")

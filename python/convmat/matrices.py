"""The layers as explicit sparse matrices: seed 000's ``kernel2matrix``, generalized.

``conv_matrix`` returns W, the convolution's matrix: ``conv2d(x, weight, ...)`` equals
``(W @ x.reshape(N, -1).T).T`` reshaped. ``conv_transpose_matrix`` returns the transposed layer's
matrix, which is the transpose Wᵀ of the convolution with the same hyperparameters. Rows flatten
``(out_channel, *output_position)``, columns ``(in_channel, *input_position)``, in C order.
"""

import scipy.sparse

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["conv_matrix", "conv_transpose_matrix"]


FORMATS = ("scipy", "torch")


def check_format(op, format):
    """ValueError unless format is one of FORMATS (checked before any work)."""
    if not isinstance(format, str) or format not in FORMATS:
        raise ValueError(f"{op}: format must be one of {', '.join(map(repr, FORMATS))}, "
                         f"got {format!r}")


def as_format(op, matrix, format):
    """A scipy CSR matrix in the format a matrix function was asked for (its ``format=``):
    "scipy" returns it; "torch" returns a ``torch.sparse_csr_tensor`` on the CPU sharing its three
    arrays (values, column indices, row pointers, of one index dtype as scipy keeps them) without
    a copy -- ``W.to("cuda")`` and ``torch.sparse.mm(W, x)`` then work as for any CSR tensor."""
    check_format(op, format)
    if format == "scipy":
        return matrix
    import torch
    return torch.sparse_csr_tensor(torch.from_numpy(matrix.indptr), torch.from_numpy(matrix.indices),
                                   torch.from_numpy(matrix.data), size=matrix.shape)


def _matrix(op, transposed, weight, input_size, format, **keywords):
    check_format(op, format)
    w = _a.array(weight, op, "weight")
    layer = _layers.layer(op, "conv_transpose" if transposed else "conv", keywords)
    call = layer.resolve(op, layer.input_shape(op, w.shape, input_size), w.shape)
    data, indices, indptr, shape = _core.layer_matrix(call.spec, w, op)
    return as_format(op, scipy.sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False),
                     format)


def conv_matrix(weight, input_size, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros", format="scipy"):
    """The convolution's matrix W (scipy.sparse.csr_matrix): ``conv{1,2,3}d(x) == W @ x.ravel()``.

    Parameters
    ----------
    weight : ndarray (C_out, C_in/groups, *k), float32 or float64; its ndim sets the rank
    input_size : the input's spatial size -- an int (every dimension) or a tuple of rank ints --
        or its shape (C_in, *spatial), also (N, C_in, *spatial)
    stride, padding, dilation, groups, padding_mode : as in conv2d (padding also "same"/"valid")
    format : "scipy" (default) or "torch": a torch.sparse_csr_tensor sharing the same arrays

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
    return _matrix("conv_matrix", False, weight, input_size, format, stride=stride, padding=padding,
                   dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv_transpose_matrix(weight, input_size, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1, format="scipy"):
    """The transposed convolution's matrix Wᵀ (scipy.sparse.csr_matrix):
    ``conv_transpose{1,2,3}d(y) == Wᵀ @ y.ravel()``.

    W is the matrix of the convolution with the same kernel, stride, padding and dilation
    (channels swapped): ``conv_transpose_matrix(k, n, ...)`` equals ``conv_matrix(k, o, ...).T``
    where o is the transposed layer's output size. When output_padding >= stride (PyTorch allows
    it below the dilation) that convolution has more output positions than the transposed
    layer has inputs, and the matrix is the transpose of the rows of W that the input covers.

    Parameters
    ----------
    weight : ndarray (C_in, C_out/groups, *k), float32 or float64; its ndim sets the rank
    input_size : the transposed layer's input spatial size (int or tuple) or its shape
        (C_in, *spatial), also (N, C_in, *spatial)
    stride, padding, output_padding, groups, dilation : as in conv_transpose2d
    format : "scipy" (default) or "torch": a torch.sparse_csr_tensor sharing the same arrays

    Returns
    -------
    scipy.sparse.csr_matrix of shape (C_out * prod(out), C_in * prod(input_size)), the weight's
    dtype.

    Memory: Wᵀ is built once from W in C++ (one counting pass) and handed to scipy without a
    further copy.
    """
    return _matrix("conv_transpose_matrix", True, weight, input_size, format, stride=stride,
                   padding=padding, dilation=dilation, groups=groups,
                   output_padding=output_padding)

"""Identities as explicit sparse matrices: the transposed convolution as a convolution, and the
layer as a linear map of its weight.

transposed_as_convolution   M_T = C @ P @ Z (seed 000: "transposed convolution can be turned
                            into a convolution": zero insertion, padding, flipped-kernel conv)
kernel_matrix               A(x) with layer(x, weight) = A(x) @ weight.ravel() (im2col); A(x).T @ g
                            is the weight gradient
estimate_kernel             the kernel from an input/output pair, by least squares on A(x)
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["TransposedAsConvolution", "transposed_as_convolution", "kernel_matrix",
           "estimate_kernel"]


def _csr(arrays):
    data, indices, indptr, shape = arrays
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False)


@dataclass(frozen=True)
class TransposedAsConvolution:
    """A transposed layer's matrix M_T = Wᵀ as the product ``convolution @ padding @
    zero_insertion`` (Dumoulin & Visin 2016, section 4), exactly.

    zero_insertion : csr Z, stride - 1 zeros between neighbouring inputs: n -> (n - 1)s + 1
    padding : csr P, d(k - 1) - p zeros at the begin and d(k - 1) - p + output_padding at the end
        (a negative amount crops)
    convolution : csr C, the stride-1, unpadded convolution with `weight`
    weight : ndarray (C_out, C_in/groups, *k): the transposed layer's weight flipped in every
        spatial axis, in and out channels swapped within each group
    spec : ConvSpec of C; ``convmat.conv{rank}d(P Z x, weight, dilation=spec.dilation,
        groups=spec.groups)`` is the transposed layer
    """
    zero_insertion: scipy.sparse.csr_matrix
    padding: scipy.sparse.csr_matrix
    convolution: scipy.sparse.csr_matrix
    weight: np.ndarray
    spec: object

    Z = property(lambda self: self.zero_insertion, doc="zero_insertion")
    P = property(lambda self: self.padding, doc="padding")
    C = property(lambda self: self.convolution, doc="convolution")

    def product(self):
        """C @ P @ Z as a csr matrix: equals conv_transpose_matrix(...) entry by entry."""
        return scipy.sparse.csr_matrix(self.convolution @ (self.padding @ self.zero_insertion))


def transposed_as_convolution(weight, input_size, stride=1, padding=0, output_padding=0,
                              groups=1, dilation=1):
    """The transposed convolution turned into a convolution (seed 000), as matrices.

    Parameters
    ----------
    weight : ndarray (C_in, C_out/groups, *k), float32 or float64
    input_size : the transposed layer's input spatial size (int or tuple)
    stride, padding, output_padding, groups, dilation : as in conv_transpose2d

    Returns
    -------
    TransposedAsConvolution: ``conv_transpose_matrix(weight, input_size, ...)`` equals
    ``C @ P @ Z`` exactly (every entry of the product is a single weight).
    """
    op = "transposed_as_convolution"
    w = _a.array(weight, op, "weight")
    layer = _layers.layer(op, "conv_transpose",
                          dict(stride=stride, padding=padding, output_padding=output_padding,
                               groups=groups, dilation=dilation))
    call = layer.resolve(op, layer.input_shape(op, w.shape, input_size), w.shape)
    d = _core.transposed_as_convolution(call.spec, w)
    return TransposedAsConvolution(zero_insertion=_csr(d["zero_insertion"]),
                                   padding=_csr(d["padding"]),
                                   convolution=_csr(d["convolution"]), weight=d["weight"],
                                   spec=d["convolution_spec"])


def _weight_shape(op, weight_shape):
    """A shape (tuple of ints) or an array whose shape is meant."""
    if isinstance(weight_shape, np.ndarray) or hasattr(weight_shape, "__array__"):
        return list(np.shape(weight_shape))
    return _a.ints(op, "weight_shape", weight_shape)


def _call(op, input, weight_shape, layer_op, keywords):
    """(input array, spec, batched, batch) for a layer given by a weight shape plus op and
    keywords, or by a ConvSpec (e.g. TransposedAsConvolution.spec)."""
    x = _a.array(input, op, "input")
    if isinstance(weight_shape, _core.ConvSpec):
        if keywords:
            raise TypeError(f"{op}: a ConvSpec holds the whole layer; got the keywords "
                            f"{', '.join(keywords)} as well")
        spec = weight_shape
        batched = x.ndim == len(spec.input_shape) + 1
        return x, spec, batched, x.shape[0] if batched else 1
    shape = _weight_shape(op, weight_shape)
    layer = _layers.layer(op, layer_op, keywords)
    call = layer.resolve(op, x.shape, shape)
    return x, call.spec, call.batched, call.batch


def kernel_matrix(input, weight_shape, op="conv", **layer):
    """A(x): the layer as a linear map of its weight, ``layer(x, w) == A(x) @ w.ravel()``.

    im2col as a sparse matrix (for a transposed layer its col2im counterpart), read off the same
    structure as W, so every stride, dilation, padding (mode), group and output_padding is
    covered. ``A(x).T @ g.ravel()`` is the weight gradient of ``<layer(x, w), g>`` -- PyTorch's
    ``weight.grad`` for the output gradient g -- and least squares on A(x) estimates a kernel
    (estimate_kernel).

    Parameters
    ----------
    input : ndarray, the layer's input (N, C_in, *n) or unbatched (C_in, *n), float32 or float64
    weight_shape : the weight's shape in PyTorch's layout (or a weight array: its shape), or a
        ConvSpec holding the whole layer (TransposedAsConvolution.spec; then no op or keywords)
    op : "conv" (default), "conv1d".."conv3d", "conv_transpose", "conv_transpose1d".."3d",
        "onnx_conv", "onnx_conv_transpose"
    **layer : that op's keywords (stride, padding, dilation, groups, padding_mode, ...)

    Returns
    -------
    scipy.sparse.csr_matrix (N * C_out * prod(out), prod(weight_shape)) in the input's dtype;
    rows (sample, out_channel, *output_position), columns the weight's entries in C order.
    Without bias: ``layer(x, w, b) = A(x) @ w.ravel() + b`` per channel.
    """
    fn = "kernel_matrix"
    x, spec, batched, batch = _call(fn, input, weight_shape, op, layer)
    if batch == 0:  # an empty batch, as PyTorch allows: no rows
        return scipy.sparse.csr_matrix((0, int(np.prod(spec.weight_shape))), dtype=x.dtype)
    return _csr(_core.kernel_matrix(spec, x, batched, batch))


def estimate_kernel(input, output, weight_shape, op="conv", **layer):
    """The kernel that maps `input` to `output`: min-norm argmin_w ||A(x) w - y||.

    A dense solve (Eigen's complete orthogonal decomposition in float64): A(x) may have at most
    DENSE_ENTRY_LIMIT entries; for larger problems use ``lstsq(kernel_matrix(...), y)``.

    Parameters
    ----------
    input, output : the layer's input and output without bias, same dtype (float32 or float64);
        several samples (a batch) determine the kernel better than one
    weight_shape, op, **layer : as in kernel_matrix

    Returns
    -------
    (weight, info): weight an ndarray of weight_shape in float64; info a dict with ``rank`` (of
    A(x); below prod(weight_shape) the kernel is not determined and the minimum-norm one is
    returned), ``tolerance`` (the rank threshold on |R_ii|) and ``relative_residual``
    ||A(x) w - y|| / ||y||.
    """
    fn = "estimate_kernel"
    x, spec, batched, batch = _call(fn, input, weight_shape, op, layer)
    d = _core.estimate_kernel(spec, x, _a.array(output, fn, "output"), batched, batch)
    weight = d.pop("weight")
    return weight, d

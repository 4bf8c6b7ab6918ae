"""convmat.Layer: a layer's matrix W built once and kept in convmat's own storage.

    layer = convmat.Layer("conv2d", w, (56, 56), padding=1)      # the ops and keywords of check
    y = layer.forward(x)              # conv2d(x, w, bias, padding=1): W x + b, batched, no GIL
    g = layer.apply_adjoint(y)        # W.T y: the transposed convolution, conv2d's input gradient
    layer.refill(w2)                  # new weights, same structure
    x_hat, info = convmat.lstsq(layer, y.reshape(-1), method="lsqr", preconditioner="auto")
    scipy.sparse.linalg.cg(layer.T @ layer, ...)                  # it is a LinearOperator

Products run in C++ on convmat's parallel kernels without rebuilding W and without holding the
GIL; ``matrix()`` exports W to scipy (a copy). The map M is the layer itself: W for a convolution,
W.T for a transposed convolution (conv_matrix.hpp), of shape (output_numel, input_numel).

Storage: by default (``storage="automatic"``) W is held channel-blocked wherever a block of 2, 4
or 8 output channels of a group fits — one column list per (group, output position), the
channels' values together: about half CSR's memory in float32 and faster products
(bench/results/results.md) — and in CSR otherwise; ``storage="csr"`` or ``"channel_blocked"``
asks for one. Products are exact on integer-valued data either way; on other data the two add in
another order and may differ in the last bits. ``matrix()`` is the same CSR matrix whatever the
storage; ``bsr_matrix()`` exports the channel-blocked W to scipy's BSR.
"""

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["Layer"]


class Layer(scipy.sparse.linalg.LinearOperator):
    """A layer's matrix M (W, or W.T for a transposed layer), held in convmat's storage.

    Parameters
    ----------
    op : "conv1d".."conv3d", "conv_transpose1d".."3d", "conv", "conv_transpose", "onnx_conv",
        "onnx_conv_transpose" (as in check)
    weight : ndarray in PyTorch's layout, float32 or float64: the layer's dtype
    input_size : the input's spatial size (int or tuple), or its shape (C_in, *spatial)
    bias : one value per output channel, added by forward() (not by apply or the solvers)
    storage : "automatic" (default), "csr" or "channel_blocked": how W is held (see the module)
    **keywords : op's keywords (stride, padding, dilation, groups, output_padding, ...)

    Attributes
    ----------
    shape : (output_numel, input_numel); dtype; spec (the resolved ConvSpec); input_shape and
    output_shape of one sample ((C, *spatial)); nnz; memory_bytes (what W holds); storage ("csr"
    or "channel_blocked").

    Arrays for apply / forward / apply_adjoint are one sample or a batch: their trailing
    dimensions are the sample's shape, (C, *spatial), or flattened, (n,); the result keeps the
    leading (batch) dimensions. As a LinearOperator, matvec, rmatvec, matmat and rmatmat take
    columns as SciPy does.
    """

    def __init__(self, op, weight, input_size, bias=None, storage="automatic", **keywords):
        fn = "Layer"
        w = _a.array(weight, fn, "weight")
        description = _layers.layer(fn, op, keywords)
        call = description.resolve(fn, description.input_shape(fn, w.shape, input_size),
                                   w.shape)
        self.op = op
        self.spec = call.spec
        if not isinstance(storage, str):
            raise TypeError(f"{fn}: storage must be 'automatic', 'csr' or 'channel_blocked', got "
                            f"{type(storage).__name__}")
        self._core = _core.Layer(call.spec, w, storage)
        self.bias = None
        if bias is not None:
            b = _a.array(bias, fn, "bias")
            if b.dtype != w.dtype:
                raise TypeError(f"{fn}: bias has dtype {b.dtype} but weight has dtype {w.dtype}; "
                                f"they must have the same dtype (float32 or float64)")
            if b.shape != (call.spec.out_channels,):
                raise ValueError(f"{fn}: bias must have shape ({call.spec.out_channels},), got "
                                 f"{b.shape}")
            self.bias = np.ascontiguousarray(b)
        super().__init__(dtype=w.dtype, shape=(call.spec.output_numel, call.spec.input_numel))

    # --- what it holds ------------------------------------------------------------------

    @property
    def input_shape(self):
        return tuple(self.spec.input_shape)

    @property
    def output_shape(self):
        return tuple(self.spec.output_shape)

    @property
    def nnz(self):
        return self._core.nnz

    @property
    def memory_bytes(self):
        return self._core.memory_bytes

    @property
    def storage(self):
        return self._core.storage

    def matrix(self):
        """M as a scipy.sparse.csr_matrix (a copy of W, or of W.T for a transposed layer)."""
        data, indices, indptr, shape = self._core.matrix()
        return scipy.sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False)

    def bsr_matrix(self):
        """(B, perm): W's channel blocks as a scipy.sparse.bsr_matrix B, and the row order perm.

        B is the stored W (for a convolution M, for a transposed convolution M.T) with its rows
        in channels-last order — (position, channel) instead of (channel, position) — so that
        the B consecutive channels of a block are B consecutive rows: blocksize (B, 1), B the
        storage's block. perm gives W's row of each of B's rows: B == W[perm] exactly (W =
        matrix() for a convolution, matrix().T for a transposed one). Channel-blocked storage
        only (ValueError otherwise).
        """
        data, indices, indptr, shape, block, perm = self._core.bsr_channels_last()
        b = scipy.sparse.bsr_matrix((data, indices, indptr), shape=shape, blocksize=(block, 1),
                                    copy=False)
        return b, perm

    def refill(self, weight):
        """New weights (same shape and dtype), the structure kept."""
        self._core.refill(_a.array(weight, "Layer.refill", "weight"))

    def __repr__(self):
        return (f"<convmat.Layer {self.op} {self.spec}: {self.shape[0]}x{self.shape[1]}, "
                f"{self.nnz} nonzeros, {self.dtype}>")

    # --- products -----------------------------------------------------------------------

    def _block(self, what, x, sample_shape, n):
        """x -> ((k, n) C-order block, the leading shape, whether it came flat)."""
        a = _a.array(x, what, "x")
        if a.shape[a.ndim - len(sample_shape):] == sample_shape and a.ndim >= len(sample_shape):
            lead, flat = a.shape[:a.ndim - len(sample_shape)], False
        elif a.ndim >= 1 and a.shape[-1] == n:
            lead, flat = a.shape[:-1], True
        else:
            raise ValueError(f"{what}: expected samples of shape {sample_shape} (or {n} values "
                             f"each), got an array of shape {a.shape}")
        return np.ascontiguousarray(a).reshape(-1, n), lead, flat

    def _product(self, what, x, adjoint, bias):
        in_shape, out_shape = ((self.output_shape, self.input_shape) if adjoint
                               else (self.input_shape, self.output_shape))
        n_in, n_out = ((self.shape[0], self.shape[1]) if adjoint else self.shape[::-1])
        block, lead, flat = self._block(what, x, in_shape, n_in)
        if adjoint:
            out = self._core.apply_adjoint(block)
        else:
            out = self._core.apply(block, bias)
        return out.reshape(lead + ((n_out,) if flat else out_shape))

    def forward(self, x):
        """The layer: M x + bias (PyTorch's conv*d / conv_transpose*d on x)."""
        return self._product("Layer.forward", x, False, self.bias)

    def apply(self, x):
        """M x, no bias."""
        return self._product("Layer.apply", x, False, None)

    def apply_adjoint(self, y):
        """M.T y: for a convolution the transposed convolution (its input gradient), and the
        other way round."""
        return self._product("Layer.apply_adjoint", y, True, None)

    # scipy.sparse.linalg.LinearOperator: columns in, columns out.
    def _matvec(self, x):
        x = np.asarray(x)
        return self.apply(x.reshape(-1)).reshape(
            (self.shape[0],) if x.ndim == 1 else (self.shape[0], 1))

    def _rmatvec(self, y):
        y = np.asarray(y)
        return self.apply_adjoint(y.reshape(-1)).reshape(
            (self.shape[1],) if y.ndim == 1 else (self.shape[1], 1))

    def _matmat(self, X):
        return self.apply(np.asarray(X).T).T

    def _rmatmat(self, Y):
        return self.apply_adjoint(np.asarray(Y).T).T

    def _adjoint(self):
        return _Adjoint(self)

    # convmat.lstsq(layer, ...): least squares on the held W.
    def _lstsq(self, block, method, options, x0, preconditioner):
        return self._core.lstsq(block, method, options, x0, preconditioner)


class _Adjoint(scipy.sparse.linalg.LinearOperator):
    """layer.T (and layer.H): M.T with the layer's kernels."""

    def __init__(self, layer):
        self.layer = layer
        super().__init__(dtype=layer.dtype, shape=(layer.shape[1], layer.shape[0]))

    def _matvec(self, x):
        return self.layer._rmatvec(x)

    def _rmatvec(self, y):
        return self.layer._matvec(y)

    def _matmat(self, X):
        return self.layer._rmatmat(X)

    def _rmatmat(self, Y):
        return self.layer._matmat(Y)

    def _adjoint(self):
        return self.layer

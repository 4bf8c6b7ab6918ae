"""The baselines of the benchmark: W built by SciPy, SciPy's CSR products, PyTorch's convolutions.

Everything here works on the *stored* W of a layer, exactly as convmat stores it (conv_matrix.hpp):
a convolution is W itself; a transposed convolution T is Wᵀ where W is the convolution with T's
kernel, stride and padding, channels swapped, whose input is T's output. So for every layer
  W·x  = torch conv2d(x, weight)             (x: batch × C_cols × H × W)
  Wᵀ·y = torch conv_transpose2d(y, weight)   (y: batch × C_rows × OH × OW)
with the same weight tensor (PyTorch's layouts coincide, see conv_matrix.hpp).

The data are integer-valued and given by formulas shared with bench/convmat_bench.cpp, so every
checksum here must equal convmat's exactly (the sums stay far below 2²⁴):
  weight[i] = (37 i mod 7) − 3,   x[j] = (11 j mod 5) − 2   (x for a batch: j over all of it).
"""

from dataclasses import dataclass
import resource
import time

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Layer:
    """A 2-d layer in PyTorch's terms (groups = 1, dilation = 1, zero padding)."""

    name: str
    kind: str  # "conv" or "transposed"
    in_channels: int
    out_channels: int
    size: int  # spatial input size (square)
    kernel: int
    stride: int = 1
    pad: int = 0
    output_padding: int = 0

    def cli_args(self):
        """The layer as convmat_bench options."""
        args = ["--kind", self.kind, "--in", str(self.in_channels), "--out",
                str(self.out_channels), "--size", f"{self.size}x{self.size}",
                "--kernel", str(self.kernel), "--stride", str(self.stride),
                "--pad", str(self.pad)]
        if self.kind == "transposed":
            args += ["--output-padding", str(self.output_padding)]
        return args

    @property
    def output_size(self):
        n, k, s, p = self.size, self.kernel, self.stride, self.pad
        if self.kind == "conv":
            return (n + 2 * p - k) // s + 1
        return (n - 1) * s - 2 * p + k + self.output_padding

    def stored(self):
        """(rows_channels, cols_channels, rows_size, cols_size) of the stored convolution W:
        W is (rows_channels·rows_size²) × (cols_channels·cols_size²)."""
        if self.kind == "conv":
            return self.out_channels, self.in_channels, self.output_size, self.size
        return self.in_channels, self.out_channels, self.size, self.output_size

    @property
    def weight_shape(self):
        rc, cc, _, _ = self.stored()
        return (rc, cc, self.kernel, self.kernel)

    def describe(self):
        if self.kind == "conv":
            what = f"conv {self.in_channels}→{self.out_channels}, {self.size}²"
        else:
            what = (f"transposed {self.in_channels}→{self.out_channels}, "
                    f"{self.size}²→{self.output_size}²")
        what += f", {self.kernel}×{self.kernel}"
        if self.stride != 1:
            what += f", stride {self.stride}"
        if self.pad:
            what += f", pad {self.pad}"
        return what


def weight_data(layer, dtype):
    n = int(np.prod(layer.weight_shape))
    return ((np.arange(n, dtype=np.int64) * 37) % 7 - 3).astype(dtype).reshape(layer.weight_shape)


def vector_data(n, dtype):
    return ((np.arange(n, dtype=np.int64) * 11) % 5 - 2).astype(dtype)


def checksum(y):
    """[Σ y[i]·(i mod 3 + 1), Σ |y[i]|] over y in C order, in float64 (exact for these integer
    data): the first catches misplaced entries, the second cancellations."""
    y = np.asarray(y, dtype=np.float64).ravel()
    return [float(np.dot(y, (np.arange(y.size) % 3 + 1).astype(np.float64))),
            float(np.abs(y).sum())]


def values_checksum(w):
    """Σ W.data[k]·(W.indices[k] mod 3 + 1), the same sum convmat_bench reports for its W."""
    return float(np.dot(w.data.astype(np.float64), (w.indices % 3 + 1).astype(np.float64)))


def _axis(rows, cols, k, s, p):
    """Along one axis: input position of tap t for output position o, (rows × k), and whether
    it lies inside the input (zero padding elsewhere)."""
    i = np.arange(rows)[:, None] * s - p + np.arange(k)[None, :]
    return i, (i >= 0) & (i < cols)


def _spatial(layer):
    """The spatial part of one row of W: for each output position o (rows_size² of them) and each
    tap t (k² of them), the spatial input position and whether it is inside the input."""
    _, _, rs, cs = layer.stored()
    i, ok = _axis(rs, cs, layer.kernel, layer.stride, layer.pad)
    col = i[:, None, :, None] * cs + i[None, :, None, :]          # (rs, rs, k, k)
    inside = ok[:, None, :, None] & ok[None, :, None, :]
    return col.reshape(rs * rs, 1, -1), inside.reshape(rs * rs, 1, -1)


def _index_dtype(nnz, shape):
    return np.int32 if max(nnz, *shape) < 2**31 else np.int64


def build_csr_direct(layer, weight):
    """W straight in CSR with no sort: NumPy's best construction we could write.

    Every output channel has the same row structure (groups = 1), so the column indices of one
    channel's rows are computed once and tiled, and the values are one gather from the weight:
    data[co, j] = weight[co].ravel()[tap[j]]."""
    rc, cc, rs, cs = layer.stored()
    col, inside = _spatial(layer)
    k2 = col.shape[2]
    shape = (rc * rs * rs, cc * cs * cs)
    channel = np.arange(cc).reshape(1, cc, 1)
    mask = np.broadcast_to(inside, (rs * rs, cc, k2))
    nnz0 = int(inside.sum()) * cc
    idx = _index_dtype(nnz0 * rc, shape)
    cols0 = (channel * (cs * cs) + col).astype(idx)[mask]           # one channel's rows
    taps0 = np.broadcast_to(channel * k2 + np.arange(k2).reshape(1, 1, k2), mask.shape)
    taps0 = taps0.astype(idx)[mask]
    counts = inside.sum(axis=(1, 2)).astype(idx) * cc               # nonzeros per spatial row
    indptr = np.zeros(shape[0] + 1, dtype=idx)
    np.cumsum(np.tile(counts, rc), out=indptr[1:])
    indices = np.tile(cols0, rc)
    data = np.take(weight.reshape(rc, cc * k2), taps0, axis=1).ravel()
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def build_coo_to_csr(layer, weight):
    """W as COO triplets (row, col, value), all vectorized, then SciPy's COO→CSR conversion."""
    rc, cc, rs, cs = layer.stored()
    col, inside = _spatial(layer)
    k2 = col.shape[2]
    shape = (rc * rs * rs, cc * cs * cs)
    full = (rc, rs * rs, cc, k2)
    mask = np.broadcast_to(inside.reshape(1, rs * rs, 1, k2), full)
    idx = _index_dtype(int(mask.sum()), shape)
    rows = np.broadcast_to(np.arange(shape[0], dtype=idx).reshape(rc, rs * rs, 1, 1), full)[mask]
    cols = np.broadcast_to(
        (np.arange(cc, dtype=idx).reshape(1, cc, 1) * (cs * cs) + col.astype(idx))
        .reshape(1, rs * rs, cc, k2), full)[mask]
    vals = np.broadcast_to(weight.reshape(rc, 1, cc, k2), full)[mask]
    return sp.coo_matrix((vals, (rows, cols)), shape=shape).tocsr()


def timed(fn, reps, system=None):
    """fn() once to warm up, then `reps` timed calls: (seconds list, last result). With a list
    `system`, also appends the CPU seconds the process spent in the kernel during each call
    (for a build, mostly zeroing fresh pages)."""
    out = fn()
    seconds = []
    for _ in range(reps):
        del out
        s0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
        if system is not None:
            system.append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0)
    return seconds, out


class Products:
    """W·x and Wᵀ·y for one layer, dtype and batch, by SciPy and by PyTorch."""

    def __init__(self, layer, dtype, batch, w=None):
        """w: the layer's W in SciPy's CSR, if already built for this dtype."""
        import torch
        self.torch = torch
        self.layer, self.batch = layer, batch
        weight = weight_data(layer, dtype)
        self.w = w if w is not None else build_csr_direct(layer, weight)
        self.wt = self.w.T  # CSC view, no copy: SciPy's Wᵀ·y is a serial scatter
        m, n = self.w.shape
        self.x = vector_data(batch * n, dtype).reshape(batch, n)
        self.y = vector_data(batch * m, dtype).reshape(batch, m)
        rc, cc, rs, cs = layer.stored()
        self.tw = torch.from_numpy(weight)
        self.tx = torch.from_numpy(self.x).reshape(batch, cc, cs, cs)
        self.ty = torch.from_numpy(self.y).reshape(batch, rc, rs, rs)
        # conv_transpose2d's output_padding picks the output size when the stride leaves a choice.
        self.output_padding = cs - ((rs - 1) * layer.stride - 2 * layer.pad + layer.kernel)

    def scipy_wx(self):
        return self.w @ self.x[0] if self.batch == 1 else self.w @ self.x.T

    def scipy_wty(self):
        return self.wt @ self.y[0] if self.batch == 1 else self.wt @ self.y.T

    def torch_wx(self):
        with self.torch.inference_mode():
            return self.torch.nn.functional.conv2d(self.tx, self.tw, stride=self.layer.stride,
                                                   padding=self.layer.pad)

    def torch_wty(self):
        with self.torch.inference_mode():
            return self.torch.nn.functional.conv_transpose2d(
                self.ty, self.tw, stride=self.layer.stride, padding=self.layer.pad,
                output_padding=self.output_padding)

    @staticmethod
    def batch_checksum(out, batch):
        """Checksum of a batch result in convmat's layout (batch × length, C order)."""
        a = np.asarray(out)
        if a.ndim == 2 and batch > 1 and a.shape[1] == batch:  # SciPy's (length × batch)
            a = a.T
        return checksum(a)

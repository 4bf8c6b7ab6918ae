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


def integers(n, a, m, dtype):
    """(a·i mod m) − (m − 1)/2 for i < n: the integer-valued data of every benchmark."""
    return ((np.arange(n, dtype=np.int64) * a) % m - (m - 1) // 2).astype(dtype)


def weight_data(layer, dtype):
    return integers(int(np.prod(layer.weight_shape)), 37, 7, dtype).reshape(layer.weight_shape)


def vector_data(n, dtype):
    return integers(n, 11, 5, dtype)


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


# --- least squares (issue 6's deconvolution problem) ------------------------------------------

def splitmix64_uniform(n, seed):
    """n numbers in [0, 1): (splitmix64 >> 11)·2⁻⁵³, as convmat_bench's lsq draws them."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def lsq_problem(size=128, sigma=1.0):
    """convmat_bench lsq's problem for SciPy: W of a size×size input and a 7×7 Gaussian
    (normalized to sum 1, no padding), x from splitmix64 (seed 3), the consistent y = W x."""
    d = np.arange(7) - 3
    kernel = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma * sigma))
    kernel /= kernel.sum()
    o = size - 6
    i, j, a, b = np.meshgrid(np.arange(o), np.arange(o), np.arange(7), np.arange(7),
                             indexing="ij")
    w = sp.csr_matrix((kernel[a, b].ravel(), ((i * o + j).ravel(), ((i + a) * size + j + b).ravel())),
                      shape=(o * o, size * size))
    x = splitmix64_uniform(size * size, 3)
    return w, w @ x


def scipy_lsqr(w, y, btol):
    """SciPy's lsqr to relative residual btol (atol = 0, conlim = 0): (seconds, iterations,
    relative residual recomputed from the solution)."""
    from scipy.sparse.linalg import lsqr
    t0 = time.perf_counter()
    xhat, _, itn = lsqr(w, y, atol=0, btol=btol, conlim=0, iter_lim=1_000_000)[:3]
    seconds = time.perf_counter() - t0
    return seconds, itn, float(np.linalg.norm(y - w @ xhat) / np.linalg.norm(y))


# --- the oracle's throughput ------------------------------------------------------------------

@dataclass
class OracleCase:
    """A random small layer in PyTorch's terms (any rank, groups, stride, dilation, symmetric
    padding, padding mode, output_padding), its integer-valued data and PyTorch's output."""

    kind: str
    cin: int
    cout: int
    groups: int
    batch: int
    bias: bool
    mode: str
    size: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pad: tuple
    output_padding: tuple

    @property
    def rank(self):
        return len(self.size)

    def output_size(self):
        out = []
        for n, k, s, d, p, a in zip(self.size, self.kernel, self.stride, self.dilation, self.pad,
                                    self.output_padding):
            if self.kind == "conv":
                out.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
            else:
                out.append((n - 1) * s - 2 * p + d * (k - 1) + a + 1)
        return out

    def valid(self):
        if min(self.output_size()) < 1:
            return False
        for n, p in zip(self.size, self.pad):
            if (self.mode == "reflect" and p >= n) or (self.mode == "circular" and p > n):
                return False
        return all(a < max(s, d) for a, s, d in
                   zip(self.output_padding, self.stride, self.dilation))

    @staticmethod
    def random(rng):
        while True:
            rank = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
            kind = "conv" if rng.random() < 0.5 else "transposed"
            g = int(rng.integers(1, 4))
            lo, hi = {1: (5, 17), 2: (4, 11), 3: (3, 7)}[rank]
            axes = lambda a, b: tuple(int(v) for v in rng.integers(a, b, rank))  # noqa: E731
            stride, dilation = axes(1, 3), axes(1, 3)
            c = OracleCase(
                kind=kind, cin=g * int(rng.integers(1, 4)), cout=g * int(rng.integers(1, 4)),
                groups=g, batch=int(rng.integers(1, 3)), bias=bool(rng.random() < 0.5),
                mode="zeros" if kind == "transposed" or rng.random() < 0.6 else
                str(rng.choice(["reflect", "replicate", "circular"])),
                size=axes(lo, hi), kernel=axes(1, 4), stride=stride, dilation=dilation,
                pad=axes(0, 3),
                output_padding=tuple(int(rng.integers(0, max(s, d))) if kind == "transposed"
                                     else 0 for s, d in zip(stride, dilation)))
            if c.valid():
                return c

    def line(self):
        """The layer as a line of convmat_bench oracle's --configs file."""
        j = lambda v: ",".join(map(str, v))  # noqa: E731
        return (f"kind={self.kind} cin={self.cin} cout={self.cout} groups={self.groups} "
                f"batch={self.batch} bias={int(self.bias)} mode={self.mode} size={j(self.size)} "
                f"kernel={j(self.kernel)} stride={j(self.stride)} dilation={j(self.dilation)} "
                f"pad={j(self.pad)} output_padding={j(self.output_padding)}")

    def data(self, dtype):
        """(input, weight, bias or None), the formulas of convmat_bench oracle."""
        wshape = ((self.cout, self.cin // self.groups) if self.kind == "conv" else
                  (self.cin, self.cout // self.groups)) + self.kernel
        x = vector_data(self.batch * self.cin * int(np.prod(self.size)), dtype)
        w = integers(int(np.prod(wshape)), 37, 7, dtype)
        b = integers(self.cout, 13, 5, dtype) if self.bias else None
        return x.reshape((self.batch, self.cin) + self.size), w.reshape(wshape), b

    def torch_call(self, x, w, b):
        """A function computing the layer's output with torch.nn.functional (tensors given)."""
        import torch
        F = torch.nn.functional
        r = self.rank
        if self.kind == "transposed":
            op = getattr(F, f"conv_transpose{r}d")
            return lambda: op(x, w, b, stride=self.stride, padding=self.pad,
                              output_padding=self.output_padding, groups=self.groups,
                              dilation=self.dilation)
        op = getattr(F, f"conv{r}d")
        if self.mode == "zeros":
            return lambda: op(x, w, b, stride=self.stride, padding=self.pad,
                              dilation=self.dilation, groups=self.groups)
        pads = [p for p in reversed(self.pad) for _ in (0, 1)]  # F.pad: last axis first
        return lambda: op(F.pad(x, pads, mode=self.mode), w, b, stride=self.stride,
                          dilation=self.dilation, groups=self.groups)

    def cli_args(self):
        """The layer as `convmat check` options (the files are added by the caller)."""
        j = lambda v: ",".join(map(str, v))  # noqa: E731
        op = f"conv{self.rank}d" if self.kind == "conv" else f"conv_transpose{self.rank}d"
        args = ["--op", op, "--stride", j(self.stride), "--padding", j(self.pad),
                "--dilation", j(self.dilation), "--groups", str(self.groups)]
        if self.kind == "transposed":
            args += ["--output-padding", j(self.output_padding)]
        else:
            args += ["--padding-mode", self.mode]
        return args

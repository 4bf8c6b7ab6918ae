"""Shared helpers of the Python tests: seeded random layers, data, and the one tolerance rule.

References are PyTorch (Debian's python3-torch) and plain NumPy, never convmat itself.

Tolerance, stated once: a sum of n products computed in floating point differs from the exact
sum by at most gamma_n * sum|w||x|, gamma_n ~ n*eps. convmat and PyTorch each make such an error
(in any summation order), so elementwise

    |convmat - torch| <= 2 * n * eps(dtype) * (sum|w||x| + |b|),

with n the number of summed terms of that output (products + the bias) and sum|w||x| computed by
the same layer on |x| and |w| in float64. On integer-valued float64 data every partial sum is an
exact integer, so there the comparison is ==.
"""

import warnings

import numpy as np
import torch
import torch.nn.functional as F

import convmat

RNG_SEED = 20261122

TORCH_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
TORCH_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CONV = {1: convmat.conv1d, 2: convmat.conv2d, 3: convmat.conv3d}
CONV_TRANSPOSE = {1: convmat.conv_transpose1d, 2: convmat.conv_transpose2d,
                  3: convmat.conv_transpose3d}


def rng(offset=0):
    return np.random.default_rng(RNG_SEED + offset)


def data(rng, shape, dtype, integer):
    """Integers in [-3, 3] (exact sums) or standard normal values, in dtype."""
    if integer:
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def as_torch(a):
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a))


def spatial(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def compact(values):
    """An int when every entry is the same (half the time), to exercise both argument forms."""
    values = tuple(int(v) for v in values)
    return values[0] if len(set(values)) == 1 and sum(values) % 2 == 0 else values


def torch_pad_list(begin, end):
    """Per-dimension (begin, end) -> F.pad's list, last dimension first."""
    pads = []
    for b, e in zip(reversed(begin), reversed(end)):
        pads += [int(b), int(e)]
    return pads


def same_padding(kernel, dilation):
    """PyTorch's padding="same": total d(k-1), floor half at the begin."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [t // 2 for t in total], [t - t // 2 for t in total]


def torch_conv(rank, x, w, b, stride, padding, dilation, groups, padding_mode):
    """nn.ConvNd's forward: F.conv on F.pad(x, ..., mode) for the padding modes. x is batched."""
    kernel = w.shape[2:]
    if padding_mode == "zeros":
        with warnings.catch_warnings():  # padding="same", even kernel: "may copy the input"
            warnings.simplefilter("ignore", UserWarning)
            return TORCH_CONV[rank](x, w, b, stride, padding, dilation, groups)
    if padding == "same":
        begin, end = same_padding(kernel, spatial(dilation, rank))
    elif padding == "valid":
        begin = end = [0] * rank
    else:
        begin = end = spatial(padding, rank)
    padded = F.pad(x, torch_pad_list(begin, end), mode=padding_mode)
    return TORCH_CONV[rank](padded, w, b, stride, 0, dilation, groups)


def with_magnitude(layer, x, w, b):
    """(layer(x, w, b), layer(|x|, |w|, |b|) in float64): a reference and the sum|w||x| + |b|
    of each of its outputs, for assert_close."""
    def absolute(a):
        return None if a is None else np.abs(a).astype(np.float64)
    return layer(x, w, b), layer(absolute(x), absolute(w), absolute(b))


def torch_forward(case, x, w, b, transposed):
    """PyTorch's layer for a random case on tensors (x batched)."""
    if transposed:
        return TORCH_CONV_TRANSPOSE[case["rank"]](x, w, b, case["stride"], case["padding"],
                                                  case["output_padding"], case["groups"],
                                                  case["dilation"])
    return torch_conv(case["rank"], x, w, b, case["stride"], case["padding"], case["dilation"],
                      case["groups"], case["padding_mode"])


def convmat_forward(case, x, w, b, transposed, method="matrix"):
    """convmat's layer for a random case, called as a PyTorch user would."""
    if transposed:
        return CONV_TRANSPOSE[case["rank"]](x, w, b, case["stride"], case["padding"],
                                            case["output_padding"], case["groups"],
                                            case["dilation"], method=method)
    return CONV[case["rank"]](x, w, b, case["stride"], case["padding"], case["dilation"],
                              case["groups"], case["padding_mode"], method=method)


def assert_close(test, got, want, magnitude, terms, dtype, context=""):
    """The tolerance rule above; `magnitude` = sum|w||x| + |b| per output (float64)."""
    test.assertEqual(got.shape, want.shape, context)
    test.assertEqual(got.dtype, np.dtype(dtype), context)
    eps = np.finfo(dtype).eps
    error = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = 2 * terms * eps * magnitude
    worst = np.max(error - bound) if error.size else 0.0
    test.assertTrue(np.all(error <= bound),
                    f"{context}: max error above the bound by {worst:.3g} "
                    f"(eps={eps:.3g}, terms={terms})")


def random_layer(rng, rank=None):
    """What every random layer draws: rank 1-3, groups 1-3 dividing both channel counts,
    kernel, dilation and stride per dimension, and the batch (None = unbatched, 0 = empty)."""
    rank = rank or int(rng.integers(1, 4))
    groups = int(rng.integers(1, 4))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kmax = 3 if rank == 3 else 4
    kernel = [int(rng.integers(1, kmax + 1)) for _ in range(rank)]
    dilation = [int(rng.integers(1, 4)) for _ in range(rank)]
    stride = [int(rng.integers(1, 4)) for _ in range(rank)]
    batch = [None, 0, 1, 2, 3][int(rng.choice(5, p=[0.2, 0.05, 0.35, 0.2, 0.2]))]
    return rank, groups, c_in, c_out, kernel, dilation, stride, batch


def random_conv(rng, rank=None):
    """A random valid F.conv call: dict of the arguments (numpy-free), covering rank 1-3,
    groups, stride, dilation, int/tuple padding, "same"/"valid", the four padding modes,
    batched/unbatched and batch 0."""
    rank, groups, c_in, c_out, kernel, dilation, stride, batch = random_layer(rng, rank)
    padding_mode = str(rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
    named = rng.random()
    if named < 0.15:
        padding, stride = "same", [1] * rank
        begin, end = same_padding(kernel, dilation)
    elif named < 0.25:
        padding = "valid"
        begin = end = [0] * rank
    else:
        padding = [int(rng.integers(0, 4)) for _ in range(rank)]
        begin = end = padding
    size = []
    for k, d, p0, p1 in zip(kernel, dilation, begin, end):
        least = max(1, d * (k - 1) + 1 - p0 - p1)
        if padding_mode == "reflect":
            least = max(least, max(p0, p1) + 1)
        elif padding_mode == "circular":
            least = max(least, max(p0, p1))
        size.append(least + int(rng.integers(0, 4 if rank == 3 else 6)))
    return dict(rank=rank, groups=groups, c_in=c_in, c_out=c_out, kernel=kernel, size=size,
                stride=compact(stride), dilation=compact(dilation),
                padding=padding if isinstance(padding, str) else compact(padding),
                padding_mode=padding_mode, batch=batch, bias=bool(rng.random() < 0.5))


def random_conv_transpose(rng, rank=None):
    """A random valid F.conv_transpose call, including output_padding >= stride where the
    dilation allows it (PyTorch: output_padding < stride or < dilation)."""
    rank, groups, c_in, c_out, kernel, dilation, stride, batch = random_layer(rng, rank)
    output_padding = [int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation)]
    size, padding = [], []
    for k, d, s, a in zip(kernel, dilation, stride, output_padding):
        n = int(rng.integers(1, 4 if rank == 3 else 6))
        natural = (n - 1) * s + d * (k - 1) + a + 1
        padding.append(int(rng.integers(0, (natural - 1) // 2 + 1)))
        size.append(n)
    return dict(rank=rank, groups=groups, c_in=c_in, c_out=c_out, kernel=kernel, size=size,
                stride=compact(stride), dilation=compact(dilation), padding=compact(padding),
                output_padding=compact(output_padding), batch=batch,
                bias=bool(rng.random() < 0.5))


def conv_tensors(rng, case, dtype, integer, transposed=False):
    """(x, w, b) numpy arrays for a random case; x unbatched when case['batch'] is None."""
    batch = case["batch"]
    x_shape = ([] if batch is None else [batch]) + [case["c_in"]] + case["size"]
    if transposed:
        w_shape = [case["c_in"], case["c_out"] // case["groups"]] + case["kernel"]
    else:
        w_shape = [case["c_out"], case["c_in"] // case["groups"]] + case["kernel"]
    x = data(rng, x_shape, dtype, integer)
    w = data(rng, w_shape, dtype, integer)
    b = data(rng, [case["c_out"]], dtype, integer) if case["bias"] else None
    return x, w, b


def batched(x, case):
    return x[None] if case["batch"] is None else x


def unbatched(y, case):
    return y[0] if case["batch"] is None else y

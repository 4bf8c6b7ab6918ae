#!/usr/bin/python3
"""Writes upsampling_torch.txt: torch.nn.functional.interpolate on a grid of cases, in float64.

The reference for tests/test_upsampling.cpp (PyTorch itself, not convmat). Run with Debian's
/usr/bin/python3 (python3-torch); the torch version is recorded in the file's first line.

One case per line:
  mode align_corners recompute rank channels n_0..n_{rank-1} size|scale v_0..v_{rank-1} : outputs...
align_corners / recompute: 0, 1 or - (not passed); outputs in C order with repr() precision.
The input is x[c, flat] = ((7·flat + 3·c) mod 11) − 5, the same formula as the C++ test.
"""
import itertools
import os

import torch
import torch.nn.functional as F

NAMES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def case(mode, align, recompute, channels, size_in, size=None, scale=None):
    rank = len(size_in)
    numel = 1
    for n in size_in:
        numel *= n
    x = torch.tensor([[((7 * f + 3 * c) % 11) - 5 for f in range(numel)] for c in range(channels)],
                     dtype=torch.float64).reshape(1, channels, *size_in)
    kwargs = {}
    torch_mode = NAMES[rank] if mode == "linear" else mode
    if align is not None:
        kwargs["align_corners"] = align
    if recompute is not None:
        kwargs["recompute_scale_factor"] = recompute
    if size is not None:
        y = F.interpolate(x, size=list(size), mode=torch_mode, **kwargs)
        what, values = "size", [str(v) for v in size]
    else:
        y = F.interpolate(x, scale_factor=list(scale), mode=torch_mode, **kwargs)
        what, values = "scale", [repr(float(v)) for v in scale]
    flag = lambda b: "-" if b is None else str(int(b))
    head = [mode, flag(align), flag(recompute), str(rank), str(channels)]
    head += [str(n) for n in size_in] + [what] + values
    return " ".join(head) + " : " + " ".join(repr(v) for v in y.flatten().tolist())


def modes():
    yield "nearest", None
    yield "nearest-exact", None
    yield "linear", False
    yield "linear", True


def main():
    lines = ["# torch " + torch.__version__ + ": F.interpolate in float64, see upsampling_torch.py"]
    for (mode, align), n, o in itertools.product(modes(), [1, 2, 3, 5, 7], [1, 2, 3, 4, 6, 7, 10, 13]):
        lines.append(case(mode, align, None, 1, [n], size=[o]))
    scales = [0.5, 0.7, 1.2, 1.5, 2.0, 2.2, 2.5, 3.0, 1 / 3]
    for (mode, align), n, s in itertools.product(modes(), [2, 3, 4, 5, 7], scales):
        if n * s >= 1:
            lines.append(case(mode, align, None, 1, [n], scale=[s]))
    for (mode, align), n, s in itertools.product(modes(), [3, 5], [1.5, 2.2, 1 / 3 * 4]):
        lines.append(case(mode, align, True, 1, [n], scale=[s]))
    for mode, align in modes():
        lines.append(case(mode, align, None, 2, [3, 4], size=[5, 7]))
        lines.append(case(mode, align, None, 1, [2, 5], scale=[2.0, 1.5]))
        lines.append(case(mode, align, None, 2, [2, 3, 2], size=[3, 5, 4]))
        lines.append(case(mode, align, None, 1, [2, 2, 3], scale=[1.5, 2.5, 2.0]))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upsampling_torch.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The smallest singular value of layer a (1→1 channel, 9×9 kernel, zero padding 4, the suite's
integer weights) at growing image sizes, by the two methods convmat has:

  shift-invert  smallest_singular_values: Lanczos on (G + δI)⁻¹, G = WᵀW, by CHOLMOD's Cholesky
  FFT           circular_singular_values: Sedghi et al.'s formula, exact for CIRCULAR padding
                only (the same kernel with padding_mode="circular"), read here as an estimate

and, on the smallest size, whether an iterative solve with the layer's FFT preconditioners could
replace the factorization (inverse iteration needs solves with W to high accuracy).

    /usr/bin/python3 bench/smallest_singular_value.py [--sizes 64,128,256,512] [--out FILE]

Each row: the value, Lanczos' rounding level √(max(m, n)·ε)·σ₁ (below it the shift-invert's value
is rounding: squaring into G), the wall time and the process's peak memory. One process per row,
so that peak memory is the row's own.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def row(method, n):
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    sys.path.insert(0, HERE)
    import convmat
    import baselines as bl

    layer = bl.Layer("a", "conv", 1, 1, n, 9, pad=4)
    w = bl.weight_data(layer, np.float64)
    out = {"method": method, "n": n}
    if method == "fft":
        t = time.perf_counter()
        c = convmat.circular_singular_values(w, (n, n), padding="same")
        out.update(seconds=time.perf_counter() - t, sigma_min=float(c.values.min()))
    elif method == "shift-invert":
        W = convmat.conv_matrix(w, (n, n), padding=4)
        t = time.perf_counter()
        s = convmat.smallest_singular_values(W, k=1)
        out.update(seconds=time.perf_counter() - t, status=s.status,
                   sigma_min=float(s.values[0]) if len(s.values) else None)
        hi = convmat.largest_singular_values(W, k=1)
        out["rounding_level"] = float(np.sqrt(W.shape[0] * np.finfo(float).eps) * hi.values[0])
    else:  # a preconditioned solve W x = b to 1e-12, the inner step of inverse iteration
        L = convmat.Layer("conv2d", w, (n, n), padding=4)
        b = np.random.default_rng(0).standard_normal(n * n)
        t = time.perf_counter()
        x, info = convmat.lstsq(L, b, method="lsqr", atol=0, btol=1e-12, conlim=0,
                                iter_lim=2000, preconditioner=method)
        out.update(seconds=time.perf_counter() - t, iterations=info["iterations"],
                   status=info["status"], relative_residual=info["relative_residual"])
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,128,256,512")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "smallest_singular_value.md"))
    ap.add_argument("--row", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.row:
        print(json.dumps(row(a.row[0], int(a.row[1]))))
        return
    sizes = [int(s) for s in a.sizes.split(",")]
    rows = []
    jobs = [(m, n) for n in sizes for m in ("fft", "shift-invert")]
    jobs += [(m, sizes[0]) for m in ("dct", "circulant")]
    for m, n in jobs:
        p = subprocess.run([sys.executable, __file__, "--row", m, str(n)], capture_output=True,
                           text=True)
        r = json.loads(p.stdout) if p.returncode == 0 else {
            "method": m, "n": n, "error": p.stderr.strip().splitlines()[-1:]}
        print(r, flush=True)
        rows.append(r)
    with open(a.out, "w") as f:
        f.write("# The smallest singular value of layer a\n\n"
                f"`/usr/bin/python3 bench/smallest_singular_value.py --sizes {a.sizes}` "
                f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, shared).\n\n"
                "| n | method | σ_min | rounding level | status | time (s) | peak MiB |\n"
                "|---|---|---|---|---|---|---|\n")
        for r in rows:
            if r["method"] in ("fft", "shift-invert"):
                f.write(f"| {r['n']}² | {r['method']} | {r.get('sigma_min', '—'):.3e} | "
                        f"{r.get('rounding_level', float('nan')):.1e} | {r.get('status', '')} | "
                        f"{r['seconds']:.2f} | {r['peak_mib']:.0f} |\n"
                        if "error" not in r else f"| {r['n']}² | {r['method']} | failed: "
                        f"{r['error']} | | | | |\n")
        f.write("\nPreconditioned LSQR on W x = b (b random), btol 1e-12, at most 2000 "
                "iterations:\n\n| n | preconditioner | iterations | relative residual | "
                "time (s) |\n|---|---|---|---|---|\n")
        for r in rows:
            if r["method"] in ("dct", "circulant") and "error" not in r:
                f.write(f"| {r['n']}² | {r['method']} | {r['iterations']} | "
                        f"{r['relative_residual']:.1e} | {r['seconds']:.1f} |\n")


if __name__ == "__main__":
    main()

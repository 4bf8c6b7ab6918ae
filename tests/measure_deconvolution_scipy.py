#!/usr/bin/python3
"""SciPy's lsqr and lsmr on the problem of measure_deconvolution.cpp, as a same-machine baseline.

    /usr/bin/python3 tests/measure_deconvolution_scipy.py [sigma]

The same W (128x128 input, 7x7 Gaussian normalized to sum 1, no padding: 14884 x 16384), the same
x (splitmix64, seed 3) and y = W x; scipy.sparse.linalg.lsqr / lsmr with atol = 0, btol = target.
"""
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsmr, lsqr

MASK = (1 << 64) - 1


def splitmix64_uniform(n, seed):
    """n numbers in [0, 1): (splitmix64 >> 11) * 2^-53, as measure_deconvolution.cpp draws them."""
    state, out = seed, np.empty(n)
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i] = (z >> 11) * 2.0**-53
    return out


def main():
    sigma = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    d = np.arange(7) - 3
    kernel = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma * sigma))
    kernel /= kernel.sum()
    n, k = 128, 7
    o = n - k + 1
    i, j, a, b = np.meshgrid(np.arange(o), np.arange(o), np.arange(k), np.arange(k), indexing="ij")
    rows = (i * o + j).ravel()
    cols = ((i + a) * n + (j + b)).ravel()
    w = sp.csr_matrix((kernel[a, b].ravel(), (rows, cols)), shape=(o * o, n * n))
    x = splitmix64_uniform(n * n, 3)
    y = w @ x
    print(f"W: {w.shape[0]} x {w.shape[1]}, {w.nnz} nonzeros; sigma = {sigma}; SciPy")
    for target in (1e-8, 1e-10):
        for name, solver in (("lsqr", lsqr), ("lsmr", lsmr)):
            t0 = time.perf_counter()
            if solver is lsqr:
                xhat, istop, itn = lsqr(w, y, atol=0, btol=target, conlim=0, iter_lim=200000)[:3]
            else:
                xhat, istop, itn = lsmr(w, y, atol=0, btol=target, conlim=0, maxiter=200000)[:3]
            seconds = time.perf_counter() - t0
            rel = np.linalg.norm(y - w @ xhat) / np.linalg.norm(y)
            print(f"scipy {name} (btol {target:g}) {seconds:9.3f} s  istop {istop}  "
                  f"rel. residual {rel:.3e}  iterations {itn:6d}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The front ends that build W per call — the Python layer functions (convmat.conv2d, ...) and
`convmat apply` — on two builds of convmat: BEFORE (e.g. one whose front ends build W in CSR) and
AFTER (this checkout's, where they ask the library's automatic storage, conv_storage.hpp).

    /usr/bin/python3 bench/front_end_storage.py --before OTHER/build [--after build] [--rounds 5]

Rows: convmat.conv2d on layer b (64→64 channels, 56×56, 3×3, padding 1; float32, batch 1),
convmat.conv_transpose2d on layer c (64→32, 28×28, 4×4, stride 2, padding 1; float32, batch 16)
and `convmat apply --op conv2d` on layer b (float64, batch 1, .npy files). Each figure is one
process's whole call (W built, applied, the result returned or written), the median of `--reps`
calls in that process; BEFORE and AFTER processes alternate, `--rounds` pairs, and the ratio is
taken pair by pair (its median printed), so both see the same load. Results of the two builds are
compared too (== on the integer data used).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CASES = {
    # name: (function, x shape, weight shape, keywords, dtype)
    "conv2d b f32 batch 1": ("conv2d", (1, 64, 56, 56), (64, 64, 3, 3), {"padding": 1},
                             np.float32),
    "conv_transpose2d c f32 batch 16": ("conv_transpose2d", (16, 64, 28, 28), (64, 32, 4, 4),
                                        {"stride": 2, "padding": 1}, np.float32),
}


def data(shape, dtype, seed):
    return np.random.default_rng(seed).integers(-3, 4, size=shape).astype(dtype)


def python_child(case, reps, out):
    import convmat
    function, xs, ws, keywords, dtype = CASES[case]
    x, w = data(xs, dtype, 1), data(ws, dtype, 2)
    f = getattr(convmat, function)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        y = f(x, w, **keywords)
        times.append(time.perf_counter() - t)
    np.save(out, y)
    print(statistics.median(times))


def python_time(build, case, reps, out):
    env = dict(os.environ, PYTHONPATH=os.path.join(build, "python"), PYTHONDONTWRITEBYTECODE="1")
    r = subprocess.run([sys.executable, __file__, "--child", case, "--reps", str(reps),
                        "--out", out], env=env, check=True, capture_output=True, text=True)
    return float(r.stdout.strip().splitlines()[-1])


def cli_time(build, files, reps, out):
    exe = os.path.join(build, "cli", "convmat")
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([exe, "apply", "--op", "conv2d", "--input", files[0], "--weight", files[1],
                        "--padding", "1", "-o", out], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(name, measure, rounds, outs):
    before, after, ratios = [], [], []
    for _ in range(rounds):
        b = measure("before", outs[0])
        a = measure("after", outs[1])
        before.append(b)
        after.append(a)
        ratios.append(b / a)
    same = np.array_equal(np.load(outs[0]), np.load(outs[1]))
    print(f"| {name} | {statistics.median(before) * 1e3:.1f} ms | "
          f"{statistics.median(after) * 1e3:.1f} ms | {statistics.median(ratios):.2f}× "
          f"({min(ratios):.2f}–{max(ratios):.2f}) | {'yes' if same else 'NO'} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", help="the baseline's build directory")
    p.add_argument("--after", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "build"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--child")
    p.add_argument("--out")
    a = p.parse_args()
    if a.child:
        python_child(a.child, a.reps, a.out)
        return
    if not a.before:
        p.error("--before BUILD is required")
    builds = {"before": os.path.abspath(a.before), "after": os.path.abspath(a.after)}
    print("| front end | before | after | before / after (min–max) | equal results |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        outs = (os.path.join(tmp, "before.npy"), os.path.join(tmp, "after.npy"))
        for case in CASES:
            compare(f"Python {case}",
                    lambda which, out, case=case: python_time(builds[which], case, a.reps, out),
                    a.rounds, outs)
        files = (os.path.join(tmp, "x.npy"), os.path.join(tmp, "w.npy"))
        np.save(files[0], data((1, 64, 56, 56), np.float64, 1))
        np.save(files[1], data((64, 64, 3, 3), np.float64, 2))
        compare("convmat apply conv2d b f64 batch 1",
                lambda which, out: cli_time(builds[which], files, a.reps, out), a.rounds, outs)


if __name__ == "__main__":
    main()

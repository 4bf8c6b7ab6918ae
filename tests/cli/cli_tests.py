#!/usr/bin/python3
"""Tests of the `convmat` command, run by CTest:  cli_tests.py CONVMAT_BINARY GROUP

Every expected value comes from PyTorch (or the seeds' numbers), never from convmat itself.
Each group runs in its own temporary directory. Groups: help, demo, shape, apply, matrix,
check, diagnose, descriptor, bad_input, interrupt, json, analyze, deconv, layouts, quantized.
"""
import io
import json
import re
import os
import stat
import subprocess
import sys
import tempfile

import numpy as np
import scipy.io
import torch
import torch.nn.functional as F

CONVMAT = os.path.abspath(sys.argv[1])
FAILURES = []


def run(*args, expect=None):
    """Runs convmat; returns (exit status, stdout, stderr). `expect` asserts the status."""
    p = subprocess.run([CONVMAT, *map(str, args)], capture_output=True, text=True, timeout=300)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"convmat {' '.join(map(str, args))}: exit {p.returncode}, expected {expect}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message)


def save(name, array):
    np.save(name, np.asarray(array))
    return name


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------

def test_help():
    status, out, _ = run("--help", expect=0)
    for name in ["demo", "shape", "apply", "matrix", "check", "diagnose", "analyze", "deconv"]:
        check(f"  {name} " in out, f"convmat --help lists {name}")
        status, out_c, _ = run(name, "--help", expect=0)
        check(out_c.startswith(f"usage: convmat {name}"), f"convmat {name} --help starts with its usage")
        status, out_h, _ = run(name, "-h", expect=0)
        check(out_h == out_c, f"-h equals --help for {name}")
    check("exit status: 0 ok, 1" in out, "the program help states the exit codes")
    _, out, _ = run("check", "--help", expect=0)
    check("(n_i + 1)*eps + eps_out" in out and "2^-23" in out, "check --help states the tolerance formula")
    _, out, _ = run("diagnose", "--help", expect=0)
    for family in ["kernel_flipped", "pads_swapped", "pad_begin+1", "output_padding_at_begin", "weight_channels_swapped",
                   "groups_wrong_axis_input", "dilation-1", "bias_twice", "stride_dilation_swapped"]:
        check(family in out, f"diagnose --help lists {family}")
    _, out, _ = run("shape", "--help", expect=0)
    check("gXmbX_icXidXihXiwX" in out and "PyTorch's d = dd/dh/dw + 1" in out, "shape --help documents the descriptor subset")
    _, out, _ = run("analyze", "--help", expect=0)
    check("Lanczos" in out and "2^22" in out and "--weight-fill" in out, "analyze --help: dense vs Lanczos, the weight fill")
    _, out, _ = run("deconv", "--help", expect=0)
    check("1 when it did not converge" in out and "minimum-norm" in out and "--observed" in out,
          "deconv --help: the exit status for no convergence, minimum norm")
    status, _, err = run(expect=2)
    check("usage: convmat" in err, "no command: usage on stderr, exit 2")
    status, _, err = run("frobnicate", expect=2)
    check("unknown command 'frobnicate'" in err, "unknown command named")
    for args, error in ((["frobnicate", "--json"], "unknown command 'frobnicate'"),
                        (["--json"], "the command must come first, got '--json'"),
                        (["--json", "shape"], "the command must come first, got '--json' before 'shape'")):
        _, out, _ = run(*args, expect=2)
        check(json.loads(out) == {"error": error, "exit_status": 2}, f"{args}: JSON error {out!r}")


def demo_blocks(out):
    """The matrices `convmat demo` prints side by side, as (title, array): a block is a run of
    lines with a "[...]" row starting at the same column, its title the text above that column."""
    lines = out.splitlines()
    found, active = [], {}
    for i, line in enumerate(lines):
        groups = {}
        if re.match(r"^\s+\[", line):
            groups = {m.start(): [float(v) for v in m.group(1).split()]
                      for m in re.finditer(r"\[([^\[\],]*)\]", line)}
        for col in [c for c in active if c not in groups]:
            found.append(active.pop(col))
        for col, row in groups.items():
            if col in active:
                active[col][1].append(row)
            else:
                active[col] = [lines[i - 1][col:].split("    ")[0].strip(), [row]]
    found.extend(active.values())
    return [(title, np.array(rows)) for title, rows in found]


def layer_matrix_torch(f, in_shape):
    """The matrix of the linear map f (torch, float64) column by column: f of each unit vector."""
    n = int(np.prod(in_shape))
    return np.stack([f(torch.eye(n, dtype=torch.float64)[j].reshape(in_shape)).reshape(-1).numpy()
                     for j in range(n)], axis=1)


def test_demo():
    _, out, _ = run("demo", expect=0)
    check("0 disagree" in out and "MISMATCH" not in out, "demo: every seed example agrees")
    blocks = demo_blocks(out)

    def occurrences(expected, rtol=0.0):
        expected = np.asarray(expected, dtype=np.float64)
        return [t for t, b in blocks if b.shape == expected.shape
                and np.allclose(b, expected, rtol=rtol, atol=0)]

    def once(expected, what, rtol=0.0, title=None, times=1):
        where = occurrences(expected, rtol)
        check(len(where) == times, f"demo prints {what} {times} time(s), found {len(where)}")
        if title is not None and where:
            check(title in where[0], f"demo: {what} is titled {where[0]!r}, expected {title!r} in it")

    T = lambda a: torch.tensor(a, dtype=torch.float64).reshape(1, 1, *np.shape(a))
    ct = lambda x, k, **kw: F.conv_transpose2d(T(x), T(k), **kw)[0, 0].numpy()
    X = K = [[0, 1], [2, 3]]
    # seed 000: trans_conv, with padding 1, with stride 2 -- each result once, next to its Wᵀ
    for keywords in ({}, {"padding": 1}, {"stride": 2}):
        once(ct(X, K, **keywords), f"trans_conv {keywords}")
        Wt = layer_matrix_torch(lambda x: F.conv_transpose2d(x, T(K), **keywords), (1, 1, 2, 2))
        once(Wt, f"the transposed layer's matrix {keywords}", title="Wᵀ")
    # kernel2matrix: the note's W and [[27, 37], [57, 67]]
    W = [[1, 2, 0, 3, 4, 0, 0, 0, 0], [0, 1, 2, 0, 3, 4, 0, 0, 0],
         [0, 0, 0, 1, 2, 0, 3, 4, 0], [0, 0, 0, 0, 1, 2, 0, 3, 4]]
    once(W, "seed 000's W (kernel2matrix)", title="W (4x9)")
    Y = F.conv2d(T(np.arange(9.0).reshape(3, 3)), T([[1, 2], [3, 4]]))[0, 0].numpy()
    once(Y, "W·x = [[27, 37], [57, 67]]")
    once(np.array(W).T, "Wᵀ (9x4) of kernel2matrix", title="Wᵀ")
    # transposed is not inverse: Wᵀ·y and the minimum-norm W⁺·y, with 4 significant digits
    wty = ct(Y, [[1, 2], [3, 4]])
    once(wty, "Wᵀ·y = trans_conv(Y, K)", times=2)   # the name, then next to X: not inverse
    pinv = (np.linalg.pinv(np.array(W, dtype=np.float64)) @ Y.reshape(-1)).reshape(3, 3)
    once(pinv, "W⁺·y (least squares)", rtol=1e-3, title="W⁺")
    check("rank 4 of 9" in out, "demo: the rank of seed 000's W")
    # seed 002: the four splatting steps, Wᵀ (16x4), the stride-1 overlap
    x, k = np.array([[5.0, 6.0], [7.0, 8.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    for j in range(4):
        first = x.reshape(-1).copy()
        first[j + 1:] = 0
        once(ct(first.reshape(2, 2), k, stride=2), f"seed 002 step {j + 2}")
    once(layer_matrix_torch(lambda v: F.conv_transpose2d(v, T(k), stride=2), (1, 1, 2, 2)),
         "seed 002's Wᵀ (16x4)", title="Wᵀ")
    taps = np.zeros((3, 3))
    for i in range(2):
        for j in range(2):
            taps[i:i + 2, j:j + 2] += 1
    once(taps, "the stride-1 overlap map", title="taps")
    once(ct(x, k), "the stride-1 splat")
    once(F.interpolate(T(x), scale_factor=2, mode="nearest")[0, 0].numpy(), "nearest upsampling")
    bilinear = torch.nn.UpsamplingBilinear2d(scale_factor=2)(T(np.arange(1.0, 10.0).reshape(3, 3)))
    once(bilinear[0, 0].numpy(), "bilinear upsampling", rtol=1e-3)
    # the lesson's form: Wᵀ named so, verdicts one line each and as many as the tally
    check("W^T" not in out, "demo: the transposed matrix is called Wᵀ, not W^T")
    verdicts = [line for line in out.splitlines() if "verdict:" in line]
    agree = int(re.search(r"(\d+) example\(s\) agree", out).group(1))
    check(len(verdicts) == agree == 22, f"demo: {len(verdicts)} verdict lines, {agree} examples agree")
    check(all(len(line) <= 100 for line in out.splitlines()), "demo: no line is wider than 100 columns")
    run("demo", "--json", expect=2)


def shape_of(*args):
    _, out, _ = run("shape", *args, "--json", expect=0)
    return json.loads(out)


def test_shape():
    # Seed 001's table, checked against the seed's numbers and against torch.
    cases = [("conv", 4, 3, 1, 0, 2), ("conv", 5, 4, 1, 2, 6), ("tconv", 2, 3, 1, 0, 4), ("tconv", 6, 4, 1, 2, 5),
             ("tconv", 7, 3, 1, 2, 5), ("tconv", 2, 3, 2, 0, 5), ("tconv", 3, 3, 2, 1, 5)]
    for kind, n, k, s, p, seed in cases:
        op = "conv2d" if kind == "conv" else "conv_transpose2d"
        j = shape_of("--op", op, "--input-shape", f"1,1,{n},{n}", "--weight-shape", f"1,1,{k},{k}", "--stride", s, "--padding", p)
        layer = torch.nn.Conv2d(1, 1, k, stride=s, padding=p) if kind == "conv" else \
            torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p)
        torch_shape = list(layer(torch.zeros(1, 1, n, n)).shape)
        check(j["output_shape"] == [1, 1, seed, seed] == torch_shape, f"seed 001 {op} n={n} k={k} s={s} p={p}: {j['output_shape']}")
    # Seed 000: conv then the transposed layer with the same hyperparameters restore 16x16.
    j = shape_of("--op", "conv2d", "--input-shape", "1,10,16,16", "--weight-shape", "20,10,5,5", "--padding", 2, "--stride", 3)
    check(j["output_shape"] == [1, 20, 6, 6], "seed 000 conv output 6x6")
    j = shape_of("--op", "conv_transpose2d", "--input-shape", "1,20,6,6", "--weight-shape", "20,10,5,5", "--padding", 2, "--stride", 3)
    check(j["output_shape"] == [1, 10, 16, 16], "seed 000 tconv(conv(X)).shape == X.shape")
    # The formula's terms in the text output.
    _, out, _ = run("shape", "--op", "conv2d", "--input-shape", "1,3,7,7", "--weight-shape", "16,3,3,3", "--stride", 2,
                    "--padding", 1, expect=0)
    check("floor((7 + 1 + 1 - 1*(3-1) - 1) / 2) + 1 = 4" in out, "shape prints the formula's terms")
    check("benchdnn: g1mb1_ic3ih7iw7_oc16oh4ow4_kh3kw3_sh2sw2_ph1pw1_dh0dw0" in out, "shape prints the benchdnn descriptor")
    # One value for every spatial axis of a 2-d layer: PyTorch's keywords (--stride 2), and ONNX's
    # per-axis attributes, which the command line repeats (--strides 2: two values, --pads 1: four).
    x, w = torch.zeros(1, 2, 9, 12), torch.zeros(3, 2, 3, 2)
    expected = list(F.conv2d(x, w, stride=2, padding=1, dilation=2).shape)
    for op, extra in (("conv2d", ["--stride", 2, "--padding", 1, "--dilation", 2]),
                      ("onnx_conv", ["--strides", 2, "--pads", 1, "--dilations", 2])):
        j = shape_of("--op", op, "--input-shape", "1,2,9,12", "--weight-shape", "3,2,3,2", *extra)
        check(j["output_shape"] == expected, f"{op} {extra}: output shape {j['output_shape']} vs torch {expected}")
        check([(a["stride"], a["dilation"], a["pad_begin"], a["pad_end"]) for a in j["axes"]] == [(2, 2, 1, 1)] * 2,
              f"{op} {extra}: one value on every axis: {j['axes']}")
    # Every op against torch (ONNX through explicit padding), W's nonzeros against a dense W from torch.
    layers = [
        ("conv1d", [2, 3, 11], [4, 3, 3], ["--stride", 2, "--padding", 1, "--dilation", 2],
         lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2)),
        ("conv3d", [1, 2, 5, 6, 4], [4, 1, 3, 2, 2], ["--groups", 2, "--padding", "1,0,1"],
         lambda x, w: F.conv3d(x, w, groups=2, padding=(1, 0, 1))),
        ("conv_transpose1d", [1, 4, 5], [4, 3, 4], ["--stride", 3, "--output-padding", 2, "--padding", 1],
         lambda x, w: F.conv_transpose1d(x, w, stride=3, output_padding=2, padding=1)),
        ("conv_transpose3d", [1, 2, 3, 2, 3], [2, 2, 2, 3, 2], ["--stride", "2,1,2", "--dilation", "1,2,1", "--groups", 2],
         lambda x, w: F.conv_transpose3d(x, w, stride=(2, 1, 2), dilation=(1, 2, 1), groups=2)),
        ("conv2d", [1, 2, 6, 5], [3, 2, 3, 3], ["--padding", "same", "--padding-mode", "reflect"],
         lambda x, w: F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w)),
        ("onnx_conv", [1, 1, 8, 8], [2, 1, 3, 3], ["--strides", 2, "--auto-pad", "SAME_UPPER"],
         lambda x, w: F.conv2d(F.pad(x, (0, 1, 0, 1)), w, stride=2)),
        ("onnx_conv_transpose", [1, 2, 4], [2, 3, 3], ["--strides", 2, "--output-shape", 9],
         lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=0)[..., :9]),
    ]
    for op, xs, ws, extra, f in layers:
        j = shape_of("--op", op, "--input-shape", ",".join(map(str, xs)), "--weight-shape", ",".join(map(str, ws)), *extra)
        x = torch.zeros(*xs, dtype=torch.float64)
        w = torch.zeros(*ws, dtype=torch.float64)
        check(j["output_shape"] == list(f(x, w).shape), f"{op} output shape {j['output_shape']} vs torch {list(f(x, w).shape)}")
        # W's structure: the columns of the layer's matrix are the layer on unit inputs (one sample).
        sample = [1] + xs[1:]
        n_in = int(np.prod(sample))
        w1 = torch.ones(*ws, dtype=torch.float64)
        cols = [f(torch.eye(n_in, dtype=torch.float64)[i].reshape(sample), w1).reshape(-1) for i in range(n_in)]
        dense = torch.stack(cols, 1)
        nnz_torch = int((dense != 0).sum())
        check(j["matrix"]["nnz"] == nnz_torch, f"{op}: W's nonzeros {j['matrix']['nnz']} vs torch {nnz_torch}")


def test_apply():
    # Seed 000 and 002 numbers exactly.
    K = save("k.npy", np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    X = save("x.npy", np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    seeds = [([], [[0, 0, 1], [0, 4, 6], [4, 12, 9]]), (["--padding", 1], [[4]]),
             (["--stride", 2], [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]])]
    for extra, expected in seeds:
        run("apply", "--op", "conv_transpose2d", "--input", X, "--weight", K, *extra, "-o", "y.npy", expect=0)
        y = np.load("y.npy")
        check(y.dtype == np.float64 and np.array_equal(y[0, 0], np.array(expected, dtype=float)), f"seed 000 trans_conv {extra}: {y}")
    save("k2.npy", np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32))
    save("x9.npy", np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3))
    run("apply", "--op", "conv2d", "--input", "x9.npy", "--weight", "k2.npy", "-o", "y.npy", expect=0)
    y = np.load("y.npy")
    check(y.dtype == np.float32 and np.array_equal(y[0, 0], [[27, 37], [57, 67]]), "seed 000 corr2d as W x, float32 in and out")
    save("x5678.npy", np.array([[[[5.0, 6.0], [7.0, 8.0]]]]))
    run("apply", "--op", "conv_transpose2d", "--input", "x5678.npy", "--weight", "k2.npy", "--stride", 2, "-o", "y.npy", expect=0)
    check(np.array_equal(np.load("y.npy")[0, 0], [[5, 10, 6, 12], [15, 20, 18, 24], [7, 14, 8, 16], [21, 28, 24, 32]]),
          "seed 002 pixel splatting")
    # Random layers against torch, float64.
    r = rng(1)
    cases = [
        ("conv2d", (2, 4, 9, 8), (6, 2, 3, 2), ["--stride", "2,1", "--padding", "1,0", "--dilation", "1,2", "--groups", 2],
         lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
        ("conv_transpose2d", (2, 4, 4, 5), (4, 3, 3, 3), ["--stride", 2, "--padding", 1, "--output-padding", 1, "--groups", 2,
                                                          "--dilation", "1,2"],
         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(1, 2))),
        ("conv1d", (3, 2, 10), (3, 2, 4), ["--padding", 3, "--padding-mode", "circular"],
         lambda x, w, b: F.conv1d(F.pad(x, (3, 3), mode="circular"), w, b)),
        ("conv3d", (4, 5, 4, 3), (2, 4, 2, 2, 2), ["--padding", 1, "--padding-mode", "replicate", "--stride", 2],
         lambda x, w, b: F.conv3d(F.pad(x[None], (1,) * 6, mode="replicate"), w, b, stride=2)[0]),  # unbatched input
    ]
    for op, xs, ws, extra, f in cases:
        x, w = r.standard_normal(xs), r.standard_normal(ws)
        cout = ws[1] * (2 if "--groups" in extra else 1) if "transpose" in op else ws[0]
        b = r.standard_normal(cout)
        save("x.npy", x), save("w.npy", w), save("b.npy", b)
        run("apply", "--op", op, "--input", "x.npy", "--weight", "w.npy", "--bias", "b.npy", *extra, "-o", "y.npy", expect=0)
        y = np.load("y.npy")
        ref = f(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)).numpy()
        check(y.shape == ref.shape and np.allclose(y, ref, rtol=1e-12, atol=1e-12), f"apply {op} equals torch")
    # Integer input: converted with a note, float64 output; --dtype overrides.
    save("xi.npy", np.arange(9, dtype=np.int64).reshape(1, 1, 3, 3))
    _, _, err = run("apply", "--op", "conv2d", "--input", "xi.npy", "--weight", "k2.npy", "-o", "y.npy", expect=0)
    check("xi.npy holds int64; converted to float64" in err, "integer input: a note on stderr")
    check(np.load("y.npy").dtype == np.float64, "integer input: float64 output")
    run("apply", "--op", "conv2d", "--input", "xi.npy", "--weight", "k2.npy", "--dtype", "float32", "-o", "y.npy", expect=0)
    check(np.load("y.npy").dtype == np.float32, "--dtype float32")
    # Fortran order and big-endian inputs give the same result as C order.
    x = r.standard_normal((2, 3, 5, 4))
    w = r.standard_normal((2, 3, 2, 2))
    save("w.npy", w)
    save("xc.npy", x)
    save("xf.npy", np.asfortranarray(x))
    save("xb.npy", x.astype(">f8"))
    outs = []
    for name in ["xc.npy", "xf.npy", "xb.npy"]:
        run("apply", "--op", "conv2d", "--input", name, "--weight", "w.npy", "-o", "y.npy", expect=0)
        outs.append(np.load("y.npy"))
    check(np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2]), "Fortran order and big-endian read as C order")
    check(not [f for f in os.listdir(".") if ".tmp-" in f], "no temporary files left behind")


def test_matrix():
    save("k2.npy", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    _, out, _ = run("matrix", "--op", "conv2d", "--input-shape", "1,1,3,3", "--weight", "k2.npy", expect=0)
    seed_w = "  [1 2 0 3 4 0 0 0 0]\n  [0 1 2 0 3 4 0 0 0]\n  [0 0 0 1 2 0 3 4 0]\n  [0 0 0 0 1 2 0 3 4]\n"
    check(seed_w in out, "matrix prints seed 000's kernel2matrix W")
    _, out, _ = run("matrix", "--op", "conv2d", "--input-shape", "1,1,3,3", "--weight", "k2.npy", "--json", expect=0)
    check(json.loads(out)["dense"][0] == [1, 2, 0, 3, 4, 0, 0, 0, 0], "matrix --json dense rows")
    r = rng(2)
    layers = [
        ("conv2d", (1, 4, 6, 5), (6, 2, 3, 3), ["--groups", 2, "--stride", 2, "--padding", 1],
         lambda x, w: F.conv2d(x, w, groups=2, stride=2, padding=1)),
        ("conv_transpose2d", (1, 3, 4, 3), (3, 2, 3, 2), ["--stride", "2,1", "--output-padding", "1,0", "--dilation", 2],
         lambda x, w: F.conv_transpose2d(x, w, stride=(2, 1), output_padding=(1, 0), dilation=2)),
        ("conv1d", (2, 7), (3, 2, 3), ["--padding", 2, "--padding-mode", "reflect"],
         lambda x, w: F.conv1d(F.pad(x[None], (2, 2), mode="reflect"), w)[0]),
    ]
    for op, xs, ws, extra, f in layers:
        w = r.standard_normal(ws)
        save("w.npy", w)
        wt = torch.from_numpy(w)
        n_in = int(np.prod(xs))
        dense = torch.stack([f(torch.eye(n_in, dtype=torch.float64)[i].reshape(xs), wt).reshape(-1) for i in range(n_in)], 1).numpy()
        shape = ",".join(map(str, xs))
        for transpose in [False, True]:
            flags = ["--transpose"] if transpose else []
            run("matrix", "--op", op, "--input-shape", shape, "--weight", "w.npy", *extra, *flags, "-o", "w.mtx", expect=0)
            m = scipy.io.mmread("w.mtx").toarray()
            ref = dense.T if transpose else dense
            check(m.shape == ref.shape and np.array_equal(m, ref), f"matrix {op} transpose={transpose}: mmread equals torch's columns")
        run("matrix", "--op", op, "--input-shape", shape, "--weight-shape", ",".join(map(str, ws)), *extra, "-o", "p.mtx", expect=0)
        p = scipy.io.mmread("p.mtx").toarray()
        ones = torch.stack([f(torch.eye(n_in, dtype=torch.float64)[i].reshape(xs), torch.ones(ws, dtype=torch.float64)).reshape(-1)
                            for i in range(n_in)], 1).numpy()
        check(np.array_equal(p != 0, ones != 0), f"matrix {op} without --weight: the pattern file has W's structure")
    status, _, err = run("matrix", "--op", "conv2d", "--input-shape", "1,8,32,32", "--weight-shape", "8,8,3,3", expect=2)
    check("too large to print" in err and "--output" in err, "a large matrix is not printed")


def blame_taps(op_fn, x, w, b, index):
    """The input positions feeding output element `index`, by autograd (independent of convmat)."""
    xt = torch.from_numpy(x).clone().requires_grad_(True)
    y = op_fn(xt, torch.from_numpy(w), torch.from_numpy(b))
    y[tuple(index)].backward()
    return {tuple(i) for i in np.argwhere(xt.grad.numpy() != 0)}


def test_check():
    # Seed 000: trans_conv(X, K) with X = K = [[0, 1], [2, 3]] is [[0, 0, 1], [0, 4, 6], [4, 12, 9]].
    save("sx.npy", np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    save("sy.npy", np.array([[[[0.0, 0, 1], [0, 4, 6], [4, 12, 9]]]]))
    save("sbad.npy", np.array([[[[0.0, 0, 1], [0, 5, 6], [4, 12, 9]]]]))
    seed = ["--op", "conv_transpose2d", "--input", "sx.npy", "--weight", "sx.npy"]
    run("check", *seed, "--candidate", "sy.npy", expect=0)
    _, out, _ = run("check", *seed, "--candidate", "sbad.npy", "--json", expect=1)
    worst = json.loads(out)["worst"][0]
    # Y[1, 1] = X[0,0]K[1,1] + X[0,1]K[1,0] + X[1,0]K[0,1] + X[1,1]K[0,0] = 0 + 2 + 2 + 0 = 4
    check(worst["index"] == [0, 0, 1, 1] and worst["oracle"] == 4 and worst["candidate"] == 5, "seed 000: the 5 is blamed, oracle 4")
    check(sorted(t["input"] * t["weight"] for t in worst["terms"]) == [0, 0, 2, 2], "seed 000: the four splats of Y[1, 1]")
    r = rng(3)
    x = r.standard_normal((2, 4, 7, 6)).astype(np.float32)
    w = r.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = r.standard_normal(6).astype(np.float32)
    save("x.npy", x), save("w.npy", w), save("b.npy", b)

    def op(xt, wt, bt):
        return F.conv2d(xt, wt, bt, stride=(2, 1), padding=1, groups=2)

    y = op(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)).numpy()
    layer = ["--op", "conv2d", "--input", "x.npy", "--weight", "w.npy", "--bias", "b.npy", "--stride", "2,1", "--padding", 1,
             "--groups", 2]
    save("y.npy", y)
    _, out, _ = run("check", *layer, "--candidate", "y.npy", expect=0)
    check("result: ok" in out, "torch's float32 output passes")
    # The same layer in float16 storage: passes with the float16 tolerance, fails float32's.
    save("y16.npy", y.astype(np.float16))
    run("check", *layer, "--candidate", "y16.npy", expect=0)
    run("check", *layer, "--candidate", "y16.npy", "--rtol", 1e-6, expect=1)
    _, _, err = run("check", *layer, "--candidate", "y16.npy", "--blame", -1, expect=2)
    check("--blame: expected an integer >= 0, got '-1'" in err, f"negative --blame refused: {err!r}")
    # A long sequential float32 sum of positive terms (numpy's cumsum): within the float32
    # tolerance, outside the one of a float64 computation stored as float32.
    xs, ws = r.uniform(0, 1, (1, 512, 12)).astype(np.float32), r.uniform(0, 1, (1, 512, 9)).astype(np.float32)
    seq = np.array([[[np.cumsum((xs[0, :, o:o + 9] * ws[0]).reshape(-1), dtype=np.float32)[-1] for o in range(4)]]])
    save("xs.npy", xs), save("ws.npy", ws), save("seq.npy", seq.astype(np.float32))
    S = ["--op", "conv1d", "--input", "xs.npy", "--weight", "ws.npy", "--candidate", "seq.npy"]
    run("check", *S, expect=0)
    run("check", *S, "--precision", "float64", expect=1)
    # One element perturbed: exit 1, that element blamed with the taps autograd finds.
    bad = y.copy()
    bad[1, 3, 2, 4] += 1e-2
    save("bad.npy", bad)
    _, out, _ = run("check", *layer, "--candidate", "bad.npy", "--json", "--blame-terms", 100, expect=1)
    j = json.loads(out)
    check(j["bad"] == 1 and not j["passed"], "one bad element counted")
    worst = j["worst"][0]
    check(worst["index"] == [1, 3, 2, 4], f"blamed index {worst['index']}")
    ref = op(torch.from_numpy(x).double(), torch.from_numpy(w).double(), torch.from_numpy(b).double())[1, 3, 2, 4].item()
    check(abs(worst["oracle"] - ref) < 1e-12 and worst["candidate"] == float(bad[1, 3, 2, 4]), "blame: oracle sum and candidate value")
    check(worst["bias"] == float(b[3]), "blame: the bias")
    taps = {tuple(t["input_index"]) for t in worst["terms"]}
    check(taps == blame_taps(op, x, w, b, (1, 3, 2, 4)), "blame: the input positions are those autograd finds")
    for t in worst["terms"]:
        c_out, c_in_group = t["weight_index"][:2]
        check(c_out == 3 and t["weight"] == float(w[tuple(t["weight_index"])]) and t["input"] == float(x[tuple(t["input_index"])]),
              "blame: the weight index and values")
    check(abs(sum(t["input"] * t["weight"] for t in worst["terms"]) + worst["bias"] - worst["oracle"]) < 1e-9, "terms sum to the oracle")
    _, out, _ = run("check", *layer, "--candidate", "bad.npy", expect=1)
    check("y[1, 3, 2, 4]: candidate" in out and "... and" in out, "text blame names the element and caps the terms")
    # Overrides: a loose --atol passes it.
    run("check", *layer, "--candidate", "bad.npy", "--atol", 0.1, expect=0)
    # A transposed layer's blame: the taps of a column of W.
    xt = r.standard_normal((1, 3, 4, 4))
    wt = r.standard_normal((3, 2, 3, 3))
    bt = np.zeros(2)
    save("xt.npy", xt), save("wt.npy", wt), save("bt.npy", bt)

    def top(xx, ww, bb):
        return F.conv_transpose2d(xx, ww, bb, stride=2, padding=1)

    yt = top(torch.from_numpy(xt), torch.from_numpy(wt), torch.from_numpy(bt)).numpy()
    yt[0, 1, 3, 2] -= 1
    save("yt.npy", yt)
    _, out, _ = run("check", "--op", "conv_transpose2d", "--input", "xt.npy", "--weight", "wt.npy", "--bias", "bt.npy", "--stride", 2,
                    "--padding", 1, "--candidate", "yt.npy", "--json", "--blame-terms", 100, expect=1)
    worst = json.loads(out)["worst"][0]
    check(worst["index"] == [0, 1, 3, 2], "transposed: blamed index")
    check({tuple(t["input_index"]) for t in worst["terms"]} == blame_taps(top, xt, wt, bt, (0, 1, 3, 2)),
          "transposed: blamed input positions equal autograd's")
    # NaN where the oracle is finite fails; a wrong shape fails with exit 1.
    nan = y.copy()
    nan[0, 0, 0, 0] = np.nan
    save("nan.npy", nan)
    _, out, _ = run("check", *layer, "--candidate", "nan.npy", expect=1)
    check("NaN or infinite" in out, "NaN counted")
    save("short.npy", y[:, :, :3])
    _, out, _ = run("check", *layer, "--candidate", "short.npy", expect=1)
    check("differs from the layer's output shape (2, 6, 4, 6)" in out, "shape mismatch reported")
    # Unbatched input and candidate.
    save("xu.npy", x[0])
    save("yu.npy", y[0])
    run("check", *layer[:2], "--input", "xu.npy", *layer[4:], "--candidate", "yu.npy", expect=0)


def diagnose_ids(layer, candidate):
    save("cand.npy", candidate)
    status, out, err = run("diagnose", *layer, "--candidate", "cand.npy", "--json")
    if status != 1:
        raise AssertionError(f"diagnose exit {status}: {out} {err}")
    return json.loads(out)["reproducing"]


def test_diagnose():
    r = rng(4)
    T = torch.from_numpy

    def expect(layer, candidate, mistake):
        ids = diagnose_ids(layer, candidate)
        check(mistake in ids, f"diagnose names {mistake}: got {ids}")

    # Seed 002's pixel splatting with the kernel not flipped the way a convolution-based
    # implementation must: named.
    save("sx.npy", np.array([[[[5.0, 6.0], [7.0, 8.0]]]]))
    save("sk.npy", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    seed = ["--op", "conv_transpose2d", "--input", "sx.npy", "--weight", "sk.npy", "--stride", 2]
    unflipped = F.conv_transpose2d(torch.tensor([[[[5.0, 6.0], [7.0, 8.0]]]]), torch.tensor([[[[4.0, 3.0], [2.0, 1.0]]]]), stride=2)
    check("kernel_flipped" in diagnose_ids(seed, unflipped.numpy()), "seed 002 with the kernel reversed: kernel_flipped")

    # A: grouped, strided, dilated conv2d with bias.
    x, w, b = r.standard_normal((2, 4, 9, 8)), r.standard_normal((6, 2, 3, 2)), r.standard_normal(6)
    save("x.npy", x), save("w.npy", w), save("b.npy", b)
    A = ["--op", "conv2d", "--input", "x.npy", "--weight", "w.npy", "--bias", "b.npy", "--stride", "2,1", "--padding", "1,1",
         "--dilation", "1,2", "--groups", 2]
    xt, wt, bt = T(x), T(w), T(b)

    def conv(xx=xt, ww=wt, bb=bt, stride=(2, 1), dilation=(1, 2), pads=(1, 1, 1, 1)):  # pads: (w0, w1, h0, h1)
        return F.conv2d(F.pad(xx, pads), ww, bb, stride=stride, dilation=dilation, groups=2).numpy()

    good = conv()
    save("good.npy", good)
    status, out, _ = run("diagnose", *A, "--candidate", "good.npy", expect=0)
    check("nothing to diagnose" in out, "a correct candidate: nothing to diagnose, exit 0")
    expect(A, conv(ww=wt.flip(2, 3)), "kernel_flipped")
    expect(A, conv(ww=wt.flip(3)), "kernel_flipped[w]")
    expect(A, conv(pads=(2, 1, 2, 1)), "pad_begin+1")
    expect(A, conv(pads=(0, 1, 0, 1)), "pad_begin-1")
    expect(A, conv(pads=(1, 2, 1, 2)), "pad_end+1")
    expect(A, conv(pads=(1, 0, 1, 1)), "pad_end-1[w]")
    # The weight's channel axes swapped within each group: (g, C_in/g, C_out/g, k...) read.
    swapped = w.reshape(2, 2, 3, 3, 2).transpose(0, 2, 1, 3, 4).reshape(6, 2, 3, 2)
    expect(A, conv(ww=T(swapped)), "weight_channels_swapped")
    # Groups along the wrong axis: channel c in group c mod g.
    inter_in = T(x.reshape(2, 2, 2, 9, 8).transpose(0, 2, 1, 3, 4).reshape(2, 4, 9, 8).copy())
    expect(A, conv(xx=inter_in), "groups_wrong_axis_input")
    out_inter = good.reshape(2, 2, 3, *good.shape[2:]).transpose(0, 2, 1, 3, 4).reshape(good.shape)
    expect(A, out_inter, "groups_wrong_axis_output")
    both = conv(xx=inter_in)
    expect(A, both.reshape(2, 2, 3, *both.shape[2:]).transpose(0, 2, 1, 3, 4).reshape(both.shape), "groups_wrong_axis_both")
    expect(A, conv(dilation=(2, 3)), "dilation+1")
    expect(A, conv(dilation=(1, 1)), "dilation-1")
    expect(A, conv(bb=None), "bias_missing")
    expect(A, conv(bb=2 * bt), "bias_twice")
    expect(A, conv(stride=(1, 2), dilation=(2, 1)), "stride_dilation_swapped")

    # B: ONNX SAME_UPPER computed as SAME_LOWER.
    xb, wb = r.standard_normal((1, 2, 8, 8)), r.standard_normal((3, 2, 3, 3))
    save("xb.npy", xb), save("wb.npy", wb)
    B = ["--op", "onnx_conv", "--input", "xb.npy", "--weight", "wb.npy", "--strides", 2, "--auto-pad", "SAME_UPPER"]
    lower = F.conv2d(F.pad(T(xb), (1, 0, 1, 0)), T(wb), stride=2).numpy()
    expect(B, lower, "pads_swapped")

    # C: grouped transposed conv with output_padding.
    xc, wc, bc = r.standard_normal((2, 4, 4, 5)), r.standard_normal((4, 3, 3, 3)), r.standard_normal(6)
    save("xc.npy", xc), save("wc.npy", wc), save("bc.npy", bc)
    C = ["--op", "conv_transpose2d", "--input", "xc.npy", "--weight", "wc.npy", "--bias", "bc.npy", "--stride", 2, "--padding", 1,
         "--output-padding", 1, "--groups", 2, "--dilation", "1,2"]

    def tconv(ww=T(wc), dilation=(1, 2)):
        return F.conv_transpose2d(T(xc), ww, T(bc), stride=2, padding=1, output_padding=1, groups=2, dilation=dilation).numpy()

    goodc = tconv()
    # The full scatter (no padding), cropped at an offset: what a kernel with a shifted window gives.
    full = F.conv_transpose2d(T(xc), T(wc), None, stride=2, groups=2, dilation=(1, 2)).numpy()

    def crop(begin_h, begin_w):
        out = np.zeros_like(goodc)
        H, W = goodc.shape[2:]
        for i in range(H):
            for j in range(W):
                si, sj = i + begin_h, j + begin_w
                if 0 <= si < full.shape[2] and 0 <= sj < full.shape[3]:
                    out[:, :, i, j] = full[:, :, si, sj]
        return out + bc[None, :, None, None]

    check(np.allclose(crop(1, 1), goodc), "the crop helper reproduces the correct transposed output")
    expect(C, tconv(ww=T(wc).flip(2, 3)), "kernel_flipped")
    expect(C, crop(0, 0), "output_padding_at_begin")
    expect(C, crop(2, 2), "pad_begin+1 (size kept)")
    # oneDNN's deconvolution weight layout (g, C_out/g, C_in/g, k...) read as PyTorch's.
    onednn = wc.reshape(2, 3, 2, 3, 3).transpose(0, 2, 1, 3, 4).reshape(4, 3, 3, 3)
    expect(C, tconv(ww=T(onednn)), "weight_channels_swapped")
    expect(C, tconv(dilation=(2, 3)), "dilation+1")

    # D: reflect padding done as zeros.
    xd, wd = r.standard_normal((1, 2, 10)), r.standard_normal((3, 2, 3))
    save("xd.npy", xd), save("wd.npy", wd)
    D = ["--op", "conv1d", "--input", "xd.npy", "--weight", "wd.npy", "--padding", 2, "--padding-mode", "reflect"]
    expect(D, F.conv1d(T(xd), T(wd), padding=2).numpy(), "padding_mode_zeros")

    # Noise: no single mistake reproduces it; the text says so.
    save("noise.npy", r.standard_normal(good.shape))
    _, out, _ = run("diagnose", *A, "--candidate", "noise.npy", expect=1)
    check("no single mistake of the catalogue reproduces the candidate" in out, "noise: nothing named")


def test_descriptor():
    r = rng(5)
    # benchdnn dilation 1 = PyTorch dilation 2; oh deduced; right padding implied by ow.
    x, w = r.standard_normal((2, 4, 9, 8)), r.standard_normal((6, 2, 3, 2))
    save("x.npy", x), save("w.npy", w)
    desc = "g2mb2_ic4ih9iw8_oc6ow8_kh3kw2_sh2sw1_ph1pw0_dh0dw1"
    # ow8 with kw2, dw1 (extent 3), pw0: the end padding is 7 - 8 + 3 - 0 = 2.
    y = F.conv2d(F.pad(torch.from_numpy(x), (0, 2, 1, 1)), torch.from_numpy(w), stride=(2, 1), dilation=(1, 2), groups=2).numpy()
    save("y.npy", y)
    _, out, _ = run("check", "--desc", desc, "--input", "x.npy", "--weight", "w.npy", "--candidate", "y.npy", expect=0)
    check("result: ok" in out, "benchdnn descriptor with data: torch's output passes")
    j = shape_of("--desc", desc)
    check(j["output_shape"] == list(y.shape), "descriptor output shape")
    check(j["axes"][1]["dilation"] == 2 and j["axes"][1]["pad_end"] == 2, "descriptor dilation + 1 and implied end padding")
    # deconv: weights in PyTorch's layout.
    xt, wt = r.standard_normal((2, 4, 3, 3)), r.standard_normal((4, 2, 4, 4))
    save("xt.npy", xt), save("wt.npy", wt)
    yt = F.conv_transpose2d(torch.from_numpy(xt), torch.from_numpy(wt), stride=2, padding=1, output_padding=1).numpy()
    save("yt.npy", yt)
    run("check", "--desc", "ic4ih3oc2oh7kh4sh2ph1", "--deconv", "--input", "xt.npy", "--weight", "wt.npy", "--candidate", "yt.npy",
        expect=0)
    # mb written and different from the input's batch: refused.
    _, _, err = run("check", "--desc", "mb3ic4ih3oc2oh7kh4sh2ph1", "--deconv", "--input", "xt.npy", "--weight", "wt.npy",
                    "--candidate", "yt.npy", expect=2)
    check("differs from the descriptor's mb3" in err, "mb mismatch named")
    _, _, err = run("shape", "--desc", "ic4ih3oc2kh4sh2dh-1", expect=2)
    check("entry 'dh' needs a non-negative decimal number" in err, "descriptor error names the entry")
    _, _, err = run("shape", "--desc", "ic4ih3oc2kh4", "--op", "conv2d", expect=2)
    check("not both" in err, "--desc with --op refused")


def test_bad_input():
    r = rng(6)
    x, w = r.standard_normal((1, 2, 5, 5)).astype(np.float32), r.standard_normal((3, 2, 3, 3)).astype(np.float32)
    save("x.npy", x), save("w.npy", w)
    good = open("x.npy", "rb").read()
    data = x.tobytes()

    def with_header(text, payload=data, version=1):
        """A .npy file with the header dict `text` (the length field made to fit it)."""
        header = text.encode() + b"\n"
        size = len(header).to_bytes(2 if version == 1 else 4, "little")
        return b"\x93NUMPY" + bytes([version, 0]) + size + header + payload
    L = ["--op", "conv2d", "--weight", "w.npy"]

    def bad(name, content, message):
        with open(name, "wb") as f:
            f.write(content)
        _, _, err = run("apply", *L, "--input", name, "-o", "y.npy", expect=2)
        check(message in err and name in err, f"{name}: '{message}' in {err!r}")
        check(not os.path.exists("y.npy"), f"{name}: no output written")

    bad("missing_magic.npy", b"NOTNUMPY" + good[8:], "does not start with \\x93NUMPY")
    bad("tiny.npy", b"\x93NUM", "shorter than the 10-byte preamble")
    bad("truncated.npy", good[:-7], "truncated or lying shape")
    bad("lying.npy", good.replace(b"(1, 2, 5, 5)", b"(1, 2, 5, 9)"), "needs 360 bytes of data, the file has 200")
    bad("trailing.npy", good + b"\0" * 8, "lying shape or trailing bytes")
    bad("huge_header.npy", b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little") + b"{}", "more than the 65536")
    bad("header_past_end.npy", b"\x93NUMPY\x01\x00\xff\x00{'descr'", "truncated: the header claims 255 bytes")
    bad("version.npy", b"\x93NUMPY\x04\x00" + good[8:], "unsupported .npy format version 4.0")
    bad("complex.npy", good.replace(b"<f4", b"<c8"), "dtype '<c8' (complex) is not supported")
    bad("object.npy", good.replace(b"'<f4'", b"'|O8'"), "(Python objects) is not supported")
    bad("structured.npy", with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (50,)}"),
        "structured dtypes")
    bad("bad_dict.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape!': (1, 2, 5, 5)}"), "unexpected key 'shape!'")
    bad("missing_key.npy", with_header("{'descr': '<f4', 'shape': (1, 2, 5, 5)}"), "lacks the key 'fortran_order'")
    bad("not_dict.npy", with_header("[1, 2, 3]"), "malformed .npy header: expected '{'")
    bad("not_bool.npy", good.replace(b"False", b"Flase"), "'fortran_order' must be True or False")
    bad("overflow.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"), "exceeds 2^62")
    bad("product.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}"),
        "more than 2^62 elements")
    bad("v2_lying.npy", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 5, 6)}", version=2),
        "needs 240 bytes of data, the file has 200")
    # The well-formed variants of the same helper are read (versions 2.0 and 3.0, Fortran order).
    for version in (2, 3):
        with open(f"v{version}.npy", "wb") as f:
            f.write(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 5, 5), }", version=version))
        run("apply", *L, "--input", f"v{version}.npy", "-o", "y.npy", expect=0)
        os.remove("y.npy")
    _, _, err = run("apply", *L, "--input", "nowhere.npy", "-o", "y.npy", expect=2)
    check("nowhere.npy: cannot open" in err, "missing file named")
    # Shapes that do not fit the layer: layer_args' messages.
    save("x3.npy", r.standard_normal((1, 3, 5, 5)))
    _, _, err = run("apply", *L, "--input", "x3.npy", "-o", "y.npy", expect=2)
    check("to have 2 channels, but got 3 channels instead" in err, "channel mismatch named")
    save("b.npy", np.zeros(4))
    _, _, err = run("apply", *L, "--input", "x.npy", "--bias", "b.npy", "-o", "y.npy", expect=2)
    check("b.npy: expected bias to be 1-dimensional with 3 elements (one per output channel), but got bias of shape [4]" in err,
          "bias size named")
    save("b2.npy", np.zeros((3, 1)))
    _, _, err = run("apply", *L, "--input", "x.npy", "--bias", "b2.npy", "-o", "y.npy", expect=2)
    check("but got bias of shape [3, 1]" in err, "2-d bias named")
    # Flags.
    cases = [
        (["--input", "x.npy", "-o", "y.npy", "--strid", 2], "unknown option '--strid'"),
        (["--input", "x.npy", "-o", "y.npy", "--strid", 2], "did you mean --stride?"),
        (["--input", "x.npy", "-o", "y.npy", "--candidate", "x.npy"], "does not apply to 'convmat apply'"),
        (["--input", "x.npy", "-o", "y.npy", "--stride"], "option --stride needs a value"),
        (["--input", "x.npy", "-o", "y.npy", "--stride", "2,x"], "--stride: expected integers"),
        (["--input", "x.npy", "-o", "y.npy", "--stride", 2, "--stride", 1], "is given twice"),
        (["--input", "x.npy", "-o", "y.npy", "--stride", 0], "non-positive stride is not supported"),
        (["--input", "x.npy", "-o", "y.npy", "--pads", "1,1,1,1"], "--pads is an ONNX attribute"),
        (["--input", "x.npy", "-o", "y.npy", "--padding", "full"], "invalid padding string 'full'"),
        (["--input", "x.npy", "-o", "y.npy", "--padding", ""], "--padding: expected integers"),
        (["--input", "x.npy", "-o", "y.npy", "--json=1"], "takes no value"),
        (["--input", "x.npy", "-o", "y.npy", "stray"], "unexpected argument 'stray'"),
        (["--input", "x.npy"], "apply needs --output"),
    ]
    for extra, message in cases:
        _, _, err = run("apply", *L, *extra, expect=2)
        check(message in err, f"flags {extra}: '{message}' in {err!r}")
    _, _, err = run("apply", "--op", "conv4d", "--input", "x.npy", "--weight", "w.npy", "-o", "y.npy", expect=2)
    check("unknown op 'conv4d'" in err, "unknown op named")
    _, _, err = run("shape", "--op", "conv2d", "--input-shape", "1,2,5,5", expect=2)
    check("--weight (or --weight-shape)" in err, "missing weight shape named")
    # Memory: refused with the estimate and the limit, before anything is read or built.
    _, _, err = run("matrix", "--op", "conv2d", "--input-shape", "1,64,512,512", "--weight-shape", "64,64,7,7", "-o", "w.mtx", expect=2)
    check("more than the limit of" in err and "nonzeros" in err and "of physical memory" in err and "--max-memory" in err,
          f"a W too large for the machine is refused: {err!r}")
    _, _, err = run("apply", *L, "--input", "x.npy", "-o", "y.npy", "--max-memory", "1K", expect=2)
    check("more than the limit of 1.0 KiB (--max-memory 1K)" in err, f"--max-memory applies: {err!r}")
    run("apply", *L, "--input", "x.npy", "-o", "y.npy", "--max-memory", "1M", expect=0)
    _, _, err = run("apply", *L, "--input", "x.npy", "-o", "y.npy", "--max-memory", "lots", expect=2)
    check("expected a size such as" in err, "bad --max-memory named")
    # Output into a missing directory: exit 2, nothing left behind.
    os.remove("y.npy")
    _, _, err = run("apply", *L, "--input", "x.npy", "-o", "no/such/dir/y.npy", expect=2)
    check("cannot create a temporary file next to it" in err, "unwritable output named")
    check(not [f for f in os.listdir(".") if ".tmp-" in f], "no temporary file left")
    # A failing run leaves an existing output untouched.
    with open("keep.npy", "wb") as f:
        f.write(b"previous")
    run("apply", *L, "--input", "x3.npy", "-o", "keep.npy", expect=2)
    check(open("keep.npy", "rb").read() == b"previous", "a failed run leaves the old output")
    # A FIFO as an input is refused at once (opening it must not wait for a writer).
    os.mkfifo("fifo.npy")
    _, _, err = run("apply", *L, "--input", "fifo.npy", "-o", "y.npy", expect=2)
    check("fifo.npy: not a regular file" in err, f"FIFO input refused: {err!r}")
    os.remove("fifo.npy")
    # A symbolic link is written through (the link stays, the file it names is replaced); a
    # character device is written into, not replaced by a regular file; a directory is refused.
    with open("linked.npy", "wb") as f:
        f.write(b"previous")
    os.symlink("linked.npy", "link.npy")
    run("apply", *L, "--input", "x.npy", "-o", "link.npy", expect=0)
    check(os.path.islink("link.npy") and np.load("linked.npy").shape == (1, 3, 3, 3),
          "output through a symbolic link")
    os.chmod("linked.npy", 0o600)  # the replaced file keeps its permissions
    run("apply", *L, "--input", "x.npy", "-o", "link.npy", expect=0)
    check(stat.S_IMODE(os.stat("linked.npy").st_mode) == 0o600, "permissions kept")
    os.makedirs("sub"), os.makedirs("other")
    os.symlink("../other/new.npy", "sub/dangling.npy")  # a dangling link creates its file
    run("apply", *L, "--input", "x.npy", "-o", "sub/dangling.npy", expect=0)
    check(os.path.islink("sub/dangling.npy") and np.load("other/new.npy").shape == (1, 3, 3, 3),
          "output through a dangling relative link")
    # -o /dev/stdout with stdout appended to a file: written at the stream's end, not replacing it.
    with open("log.txt", "w") as f:
        f.write("first line\n")
    with open("log.txt", "a") as f:
        p = subprocess.run([CONVMAT, "apply", *L, "--input", "x.npy", "-o", "/dev/stdout"],
                           stdout=f, stderr=subprocess.PIPE, timeout=300)
    log = open("log.txt", "rb").read()
    check(p.returncode == 0 and log.startswith(b"first line\n\x93NUMPY"),
          f"-o /dev/stdout appends to the redirected stdout: {log[:30]!r}")
    # ... and holds the .npy alone: the report went to stderr. The same through a pipe.
    check(np.load(io.BytesIO(log[len(b"first line\n"):])).shape == (1, 3, 3, 3)
          and b"wrote /dev/stdout" in p.stderr, f"the report on stderr: {p.stderr!r}")
    p = subprocess.run([CONVMAT, "apply", *L, "--input", "x.npy", "-o", "/dev/stdout", "--json"],
                       capture_output=True, timeout=300)
    check(p.returncode == 0 and np.load(io.BytesIO(p.stdout)).shape == (1, 3, 3, 3)
          and json.loads(p.stderr)["output"] == "/dev/stdout",
          f"-o /dev/stdout into a pipe: the .npy on stdout, the JSON report on stderr {p.stderr!r}")
    try:  # a null device of our own (root only), so that a regression cannot harm /dev/null
        os.mknod("null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pass
    else:
        run("apply", *L, "--input", "x.npy", "-o", "null", expect=0)
        check(stat.S_ISCHR(os.stat("null").st_mode), "a device output stays a device")
        os.remove("null")
    os.mkdir("adir")
    _, _, err = run("apply", *L, "--input", "x.npy", "-o", "adir", expect=2)
    check("adir: is a directory" in err, f"a directory as output refused: {err!r}")
    check(not [f for f in os.listdir(".") if ".tmp-" in f], "no temporary file left")


def test_interrupt():
    """A signal while the output is being written (SIGTERM, and SIGPIPE and SIGXFSZ, whose default
    action also ends the process): neither the target nor the temporary file remains.

    The driver (argv[3], tests/cli/interrupt_driver.cpp) is convmat stopping itself (SIGSTOP)
    right after its first write into the temporary file; the signal is sent while it is stopped and
    delivered when SIGCONT resumes it, in the middle of the write on every run."""
    import signal
    driver = os.path.abspath(sys.argv[3])
    args = [driver, "matrix", "--op", "conv2d", "--input-shape", "1,4,32,32", "--weight-shape", "4,4,3,3", "-o", "big.mtx"]

    def stopped_in_write(**popen):
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        _, status = os.waitpid(p.pid, os.WUNTRACED)
        check(os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP, f"the driver stopped in the write ({status})")
        check([f for f in os.listdir(".") if f.startswith("big.mtx.tmp-")] and not os.path.exists("big.mtx"),
              f"stopped with the temporary file only: {os.listdir('.')}")
        return p

    for sig in (signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
        p = stopped_in_write(restore_signals=True)
        p.send_signal(sig)
        p.send_signal(signal.SIGCONT)
        p.wait(timeout=60)
        check(p.returncode == -sig, f"ended by {sig.name} (status {p.returncode})")
        check(os.listdir(".") == [], f"{sig.name}: nothing left behind: {os.listdir('.')}")
    # A signal the caller ignores (nohup's SIGHUP) stays ignored: the write completes.
    p = stopped_in_write(preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    p.send_signal(signal.SIGHUP)
    p.send_signal(signal.SIGCONT)
    p.wait(timeout=300)
    check(p.returncode == 0 and os.listdir(".") == ["big.mtx"],
          f"an ignored SIGHUP stays ignored (status {p.returncode}, {os.listdir('.')})")


def layer_matrix(f, in_shape):
    """The layer's map M as a dense matrix from torch: column j is f applied to the j-th unit input (one sample)."""
    n = int(np.prod(in_shape))
    eye = torch.eye(n, dtype=torch.float64)
    return torch.stack([f(eye[j].reshape(in_shape)).reshape(-1) for j in range(n)], 1).numpy()


def analyze(*args, expect=0):
    _, out, _ = run("analyze", *args, "--json", expect=expect)
    return json.loads(out)


# Singular values from convmat's dense SVD or Lanczos against NumPy's SVD: within 64·max(m, n)·eps·sigma_1.
def sv_tolerance(m):
    return 64 * max(m.shape) * np.finfo(float).eps * np.linalg.norm(m, 2)


def test_analyze():
    # Seed 000's convolution: W is 4 x 9 (kernel2matrix), rank 4, a 5-dimensional null space.
    save("k.npy", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    K = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    W = layer_matrix(lambda x: F.conv2d(x, K), (1, 1, 3, 3))
    j = analyze("--op", "conv2d", "--input-shape", "1,1,3,3", "--weight", "k.npy")
    sp = j["spectrum"]
    sv = np.linalg.svd(W, compute_uv=False)
    check(j["matrix"]["rows"] == 4 and j["matrix"]["cols"] == 9 and j["matrix"]["nnz"] == 16, "seed 000 W: 4 x 9, 16 nonzeros")
    check(sp["method"] == "dense" and sp["rank"] == 4 and sp["nullity"] == 5, f"seed 000 W: rank 4 of 9 ({sp['rank']}, {sp['nullity']})")
    check(np.allclose(sp["values"], sv, rtol=0, atol=sv_tolerance(W)), f"seed 000 singular values {sp['values']} vs numpy {sv}")
    check(abs(sp["condition_number"] - sv[0] / sv[-1]) <= 1e-12 * sv[0] / sv[-1], "seed 000 condition number")
    pinv = np.linalg.pinv(W)
    tvi = j["transpose_vs_inverse"]
    ref = np.linalg.norm(W.T - pinv) / np.linalg.norm(pinv)
    check(abs(tvi["relative_difference"] - ref) <= 1e-10 * ref, f"||W^T - W^+||/||W^+|| {tvi['relative_difference']} vs numpy {ref}")
    G = W @ W.T
    c = np.trace(G) / 4
    check(not tvi["tight_frame"] and abs(tvi["scale"] - c) <= 1e-12 * c, "seed 000: not a tight frame, c = trace(G)/4")
    check(abs(tvi["gram_error"] - np.linalg.norm(G - c * np.eye(4)) / np.linalg.norm(G)) <= 1e-12, "seed 000: gram error")
    check("skipped" in j["checkerboard"] and "not a transposed layer" in j["checkerboard"]["skipped"], "no checkerboard for a convolution")
    _, out, _ = run("analyze", "--op", "conv2d", "--input-shape", "1,1,3,3", "--weight", "k.npy", expect=0)
    check("by a dense SVD" in out and "rank 4 of min(rows, cols) = 4" in out and "nullity 5" in out, "seed 000: the text names rank and nullity")

    # Seed 000's transposed convolution 2x2 -> 3x3: M = W^T is 9 x 4 of full column rank; the checkerboard
    # of a 2x2 kernel at stride 1 (tap counts: the layer on ones with a ones kernel, from torch).
    save("k0.npy", np.array([[[[0.0, 1.0], [2.0, 3.0]]]]))
    j = analyze("--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--weight", "k0.npy")
    check(j["matrix"]["layer_is"] == "W^T" and j["matrix"]["rows"] == 9 and j["spectrum"]["rank"] == 4 and j["spectrum"]["nullity"] == 0,
          "seed 000 transposed: 9 x 4, rank 4, injective")
    check(j["transpose_vs_inverse"]["inverse_reconstruction_error"] < 1e-14, "seed 000 transposed: M^+ recovers x")
    taps = F.conv_transpose2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))[0, 0].numpy()
    cb = j["checkerboard"]
    check(cb["tap_count"] == taps.reshape(-1).astype(int).tolist() == [1, 2, 1, 2, 4, 2, 1, 2, 1], f"seed 000 tap counts {cb['tap_count']}")

    # Checkerboards of strided transposed layers against torch: tap counts (ones input, ones kernel), the
    # interior (k-1)d - p0 <= q <= (n-1)s - p0 per axis, and the weight sums (ones input, the weight).
    r = rng(8)
    for n, k, s, p, cout in [(6, 3, 2, 0, 2), (6, 4, 2, 1, 1), (5, 5, 3, 1, 2)]:
        wt = r.standard_normal((1, cout, k, k))
        save("wt.npy", wt)
        j = analyze("--op", "conv_transpose2d", "--input-shape", f"1,1,{n},{n}", "--weight", "wt.npy", "--stride", s, "--padding", p)
        cb = j["checkerboard"]
        taps = F.conv_transpose2d(torch.ones(1, 1, n, n, dtype=torch.float64), torch.ones(1, 1, k, k, dtype=torch.float64),
                                  stride=s, padding=p)[0, 0].numpy()
        sums = F.conv_transpose2d(torch.ones(1, 1, n, n, dtype=torch.float64), torch.from_numpy(wt), stride=s, padding=p)[0].numpy()
        b, e = (k - 1) - p, min((n - 1) * s - p + 1, taps.shape[0])
        inner = taps[b:e, b:e]
        name = f"checkerboard n={n} k={k} s={s} p={p}"
        check(cb["tap_count"] == taps.reshape(-1).astype(int).tolist(), f"{name}: tap counts equal torch's")
        check(cb["interior_begin"] == [b, b] and cb["interior_end"] == [e, e], f"{name}: interior {cb['interior_begin']}..{cb['interior_end']}")
        check(cb["min_taps"] == inner.min() and cb["max_taps"] == inner.max(), f"{name}: min/max taps")
        check(abs(cb["tap_amplitude"] - (inner.max() - inner.min()) / inner.mean()) < 1e-12, f"{name}: tap amplitude")
        check(cb["even"] == (k % s == 0), f"{name}: even exactly when the stride divides the kernel")
        amp = [(ch[b:e, b:e].max() - ch[b:e, b:e].min()) / abs(ch[b:e, b:e].mean()) for ch in sums]
        check(np.allclose(cb["weight_amplitude"], amp, rtol=1e-12, atol=0), f"{name}: weight-sum amplitude per channel")
        check(cb["period_pattern"] == inner[:s, :s].reshape(-1).astype(int).tolist(), f"{name}: one period of the pattern")
    _, out, _ = run("analyze", "--op", "conv_transpose2d", "--input-shape", "1,1,8,8", "--weight-shape", "1,1,3,3", "--stride", 2,
                    "--weight-fill", "ones", expect=0)
    check("uneven (a checkerboard)" in out and "    [4 2]\n    [2 1]\n" in out, "the text shows the uneven 3/2 period")

    # Tight frame: stride = kernel size, one channel: orthogonal rows of norm ||k||, so W^T = ||k||^2 W^+.
    kk = r.standard_normal((1, 1, 2, 3))
    save("kk.npy", kk)
    j = analyze("--op", "conv2d", "--input-shape", "1,1,6,9", "--weight", "kk.npy", "--stride", "2,3")
    tvi = j["transpose_vs_inverse"]
    check(tvi["tight_frame"] and tvi["orthogonal_rows"], "stride = kernel size: a tight frame")
    check(abs(tvi["scale"] - (kk ** 2).sum()) <= 1e-12 * (kk ** 2).sum(), "tight frame: c = ||k||^2")
    check(tvi["scaled_relative_difference"] <= 1e-13, f"tight frame: W^T/c = W^+ ({tvi['scaled_relative_difference']})")
    # Overlapping windows (stride 1) on the same kernel: not one.
    check(not analyze("--op", "conv2d", "--input-shape", "1,1,6,9", "--weight", "kk.npy")["transpose_vs_inverse"]["tight_frame"],
          "stride 1: not a tight frame")

    # Lanczos on a strided, grouped layer (forced, so NumPy can check it): the largest and smallest 3
    # singular values, and G's nonzeros against the structure of torch's M M^T (all-ones weights).
    wg = 0.3 * r.uniform(-1, 1, (4, 2, 3, 3))
    wg[:, :, 1, 1] += [[4.0, 0], [0, 5.0], [6.0, 0], [0, 7.0]]  # a dominant centre tap: well conditioned
    save("wg.npy", wg)
    L = ["--op", "conv2d", "--input-shape", "1,4,12,11", "--weight", "wg.npy", "--stride", "1,2", "--padding", 1, "--groups", 2]
    j = analyze(*L, "--spectrum", "lanczos")
    M = layer_matrix(lambda x: F.conv2d(x, torch.from_numpy(wg), stride=(1, 2), padding=1, groups=2), (1, 4, 12, 11))
    sv = np.linalg.svd(M, compute_uv=False)
    sp = j["spectrum"]
    check(sp["method"] == "lanczos" and sp["rank"] == "full", "forced Lanczos on a full-rank layer")
    check(np.allclose(sp["largest"], sv[:3], rtol=0, atol=sv_tolerance(M)) and
          np.allclose(sp["smallest"], sv[::-1][:3], rtol=0, atol=1e-8 * sv[0]), f"Lanczos values {sp['largest']} {sp['smallest']} vs {sv[:3]} {sv[-3:]}")
    check(abs(sp["condition_number"] - sv[0] / sv[-1]) <= 1e-6 * sv[0] / sv[-1], "Lanczos condition number")
    ones = layer_matrix(lambda x: F.conv2d(x, torch.ones(4, 2, 3, 3, dtype=torch.float64), stride=(1, 2), padding=1, groups=2),
                        (1, 4, 12, 11))
    Gs = ones @ ones.T if M.shape[0] <= M.shape[1] else ones.T @ ones
    check(sp["gram_nnz"] == int((Gs != 0).sum()), f"G's nonzeros {sp['gram_nnz']} vs torch {(Gs != 0).sum()}")
    # A transposed layer (M tall: G = M^T M) with groups.
    wtg = r.standard_normal((4, 3, 3, 3))
    save("wtg.npy", wtg)
    j = analyze("--op", "conv_transpose2d", "--input-shape", "1,4,5,6", "--weight", "wtg.npy", "--stride", 2, "--groups", 2,
                "--spectrum", "lanczos", "--count", 2)
    ones = layer_matrix(lambda x: F.conv_transpose2d(x, torch.ones(4, 3, 3, 3, dtype=torch.float64), stride=2, groups=2), (1, 4, 5, 6))
    check(ones.shape[0] > ones.shape[1] and j["spectrum"]["gram_nnz"] == int(((ones.T @ ones) != 0).sum()), "transposed: G = M^T M's nonzeros")
    check(len(j["spectrum"]["largest"]) == 2 and len(j["spectrum"]["smallest"]) == 2, "--count 2")

    # Automatic choice: Lanczos above 2^22 entries, saying why; duplicated output channels make it rank deficient.
    j = analyze("--op", "conv2d", "--input-shape", "1,1,64,64", "--weight-shape", "2,1,3,3", "--stride", 2, "--weight-fill", "ones")
    sp = j["spectrum"]
    check(sp["method"] == "lanczos" and "more than the dense limit of 4194304" in sp["why"], "above 2^22 entries: Lanczos, and why")
    check(sp["rank"] == "unresolved" and sp["condition_number"] is None and sp["condition_at_least"] > 1e5,
          "duplicated channels: sigma_min at rounding level, rank unresolved, the condition bounded below")
    check("dense limit" in j["transpose_vs_inverse"]["skipped"], "large: transposed-vs-inverse skipped, saying why")
    _, out, _ = run("analyze", "--op", "conv2d", "--input-shape", "1,1,64,64", "--weight-shape", "2,1,3,3", "--stride", 2,
                    "--weight-fill", "ones", expect=0)
    check("by Lanczos" in out and "rank: not resolved" in out, "the text says Lanczos and that the rank is not resolved")
    j = analyze("--op", "conv2d", "--input-shape", "1,1,64,64", "--weight-shape", "2,1,3,3", "--stride", 2, "--weight-fill", "ones",
                "--spectrum", "largest")
    check("smallest" not in j["spectrum"] and j["spectrum"]["smallest_skipped"] == "--spectrum largest", "--spectrum largest")
    # The memory guard: W fits, the Gram factor does not -> the smallest are skipped, saying why.
    j = analyze("--op", "conv2d", "--input-shape", "1,1,64,64", "--weight-shape", "2,1,3,3", "--stride", 2, "--weight-fill", "ones",
                "--max-memory", "2M")
    check("more than the limit of 2.0 MiB" in j["spectrum"].get("smallest_skipped", ""), f"Gram factor over the limit: {j['spectrum']}")

    # Weight fills: ones equals a file of ones; random is reproducible by seed.
    save("ones.npy", np.ones((2, 3, 3, 3)))
    L = ["--op", "conv2d", "--input-shape", "1,3,7,7", "--padding", 1]
    a = analyze(*L, "--weight", "ones.npy")
    b = analyze(*L, "--weight-shape", "2,3,3,3", "--weight-fill", "ones")
    check(a["spectrum"]["values"] == b["spectrum"]["values"], "--weight-fill ones equals a weight of ones")
    r1 = analyze(*L, "--weight-shape", "2,3,3,3", "--weight-fill", "random:5")
    r2 = analyze(*L, "--weight-shape", "2,3,3,3", "--weight-fill", "random:5")
    r3 = analyze(*L, "--weight-shape", "2,3,3,3", "--weight-fill", "random")
    check(r1["spectrum"]["values"] == r2["spectrum"]["values"] != r3["spectrum"]["values"], "random fill: same seed, same values")
    check(r3["weight"].startswith("uniform in [-1, 1] from std::mt19937_64 seeded with 0"), "random fill: default seed 0, named")
    check(analyze("--desc", "ic3ih7oc2oh7kh3ph1", "--weight-fill", "ones")["spectrum"]["values"] == a["spectrum"]["values"],
          "--desc gives the weight's shape")

    # Bad input: exit 2 and a message naming the problem.
    cases = [
        (L + ["--weight-shape", "2,3,3,3"], "analyze needs the weight's values"),
        (L + ["--weight", "ones.npy", "--weight-fill", "ones"], "give --weight or --weight-fill, not both"),
        (L + ["--weight-shape", "2,3,3,3", "--weight-fill", "gaussian"], "--weight-fill: expected ones, random or random:SEED, got 'gaussian'"),
        (L + ["--weight-shape", "2,3,3,3", "--weight-fill", "random:-1"], "the seed must be >= 0"),
        (L + ["--weight-fill", "ones"], "--weight-fill needs the weight's shape"),
        (L + ["--weight", "ones.npy", "--spectrum", "svd"], "--spectrum: expected auto, dense, lanczos or largest, got 'svd'"),
        (L + ["--weight", "ones.npy", "--count", 0], "--count: expected 1 to 100"),
        (L + ["--weight", "ones.npy", "--spectrum", "lanczos", "--count", 98], "Lanczos needs --count below min(rows, cols) = 98"),
        (["--op", "conv2d", "--input-shape", "1,1,64,64", "--weight-shape", "2,1,3,3", "--weight-fill", "ones", "--spectrum", "dense"],
         "--spectrum dense: M is 7688 x 4096 = 31490048 entries, more than the dense limit"),
        (L + ["--weight", "ones.npy", "--max-memory", "1K"], "more than the limit of 1.0 KiB"),
        (["--op", "conv2d", "--input-shape", "1,64,512,512", "--weight-shape", "64,64,7,7", "--weight-fill", "ones"], "of physical memory"),
        (L + ["--weight", "ones.npy", "--atol", 1], "does not apply to 'convmat analyze'"),
    ]
    for extra, message in cases:
        _, out, err = run("analyze", *extra, expect=2)
        check(message in err, f"analyze {extra}: '{message}' in {err!r}")
        _, out, _ = run("analyze", *extra, "--json", expect=2)
        check(message in json.loads(out)["error"], f"analyze {extra} --json: the error as JSON")


def deconv(*args, expect=0):
    _, out, _ = run("deconv", *args, "--json", expect=expect)
    return json.loads(out)


def test_deconv():
    eps = np.finfo(float).eps
    # Seed 000's transposed convolution (2x2 -> 3x3, full column rank) inverted back to X = [[0, 1], [2, 3]]
    # by every method; the tolerance: 100 * eps * cond(M) relative (cond from NumPy's SVD of torch's M).
    X = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    save("k0.npy", X)
    save("y0.npy", F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(X)).numpy())
    check(np.array_equal(np.load("y0.npy")[0, 0], [[0, 0, 1], [0, 4, 6], [4, 12, 9]]), "seed 000: torch gives the seed's Y")
    M = layer_matrix(lambda x: F.conv_transpose2d(x, torch.from_numpy(X)), (1, 1, 2, 2))
    sv = np.linalg.svd(M, compute_uv=False)
    tol = 100 * eps * sv[0] / sv[-1] * np.linalg.norm(X)
    T = ["--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--weight", "k0.npy", "--observed", "y0.npy"]
    for method in ["qr", "cholesky", "lsqr", "lsmr"]:
        extra = ["--atol", 0, "--btol", 1e-15] if method in ("lsqr", "lsmr") else []
        j = deconv(*T, "--method", method, *extra, "-o", f"x_{method}.npy")
        x = np.load(f"x_{method}.npy")
        check(j["converged"] and j["status"] == "success", f"seed 000 transposed, {method}: converged")
        check(x.shape == (1, 1, 2, 2) and np.abs(x - X).max() <= tol, f"seed 000 transposed, {method}: X recovered, {x.ravel()}")
        check(np.allclose(j["x"], x.ravel(), rtol=0, atol=0), f"seed 000 transposed, {method}: the JSON's x is the file's")
    check(deconv(*T)["rank"] == 4, "seed 000 transposed: qr reports rank 4 (injective)")
    _, out, _ = run("deconv", *T, expect=0)
    check("rank: 4 of 4 unknowns" in out and "M is injective" in out and "by rows of the last axis:" in out, "seed 000 transposed: text")

    # Seed 000's convolution (3x3 -> 2x2, W 4 x 9): rank 4 of 9, not invertible; the minimum-norm
    # solution is NumPy's lstsq, and it differs from the X that produced Y.
    save("k.npy", np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    save("x9.npy", np.arange(9.0).reshape(1, 1, 3, 3))
    save("y4.npy", np.array([[[[27.0, 37.0], [57.0, 67.0]]]]))
    W = layer_matrix(lambda x: F.conv2d(x, torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)), (1, 1, 3, 3))
    min_norm = np.linalg.lstsq(W, np.array([27.0, 37, 57, 67]), rcond=None)[0]
    check(np.allclose(W @ np.arange(9.0), [27, 37, 57, 67]), "seed 000: W x = Y")
    C = ["--op", "conv2d", "--input", "x9.npy", "--weight", "k.npy", "--observed", "y4.npy"]
    for method in ["qr", "cholesky", "lsqr", "lsmr"]:
        extra = ["--atol", 0, "--btol", 1e-15] if method in ("lsqr", "lsmr") else []
        j = deconv(*C, "--method", method, *extra)
        check(j["converged"] and np.abs(np.array(j["x"]) - min_norm).max() <= 1e-12 * np.linalg.norm(min_norm),
              f"seed 000 conv, {method}: the minimum-norm solution {j['x']} vs numpy {min_norm}")
        err = np.linalg.norm(min_norm - np.arange(9.0)) / np.linalg.norm(np.arange(9.0))
        check(abs(j["error_vs_input"] - err) <= 1e-10 and err > 0.1, f"seed 000 conv, {method}: x-hat differs from X ({err})")
    j = deconv(*C)
    check(j["rank"] == 4 and j["cols"] == 9, "seed 000 conv: rank 4 of 9")
    _, out, _ = run("deconv", *C, expect=0)
    check("rank: 4 of 9 unknowns" in out and "null space of dimension 5" in out and "minimum-norm solution" in out,
          "seed 000 conv: the text says rank 4 of 9 and minimum norm")

    # Strided layers, batch 2, several channels, bias, against torch: a strided transposed convolution
    # (M tall, full column rank) recovers x; a strided convolution (M wide) gives NumPy's lstsq per sample.
    r = rng(9)
    x, w, b = r.standard_normal((2, 2, 4, 5)), r.standard_normal((2, 3, 3, 3)), r.standard_normal(3)
    save("x.npy", x), save("w.npy", w), save("b.npy", b)
    save("y.npy", F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=2, padding=1).numpy())
    M = layer_matrix(lambda v: F.conv_transpose2d(v, torch.from_numpy(w), stride=2, padding=1), (1, 2, 4, 5))
    sv = np.linalg.svd(M, compute_uv=False)
    cond = sv[0] / sv[-1]
    S = ["--op", "conv_transpose2d", "--input", "x.npy", "--weight", "w.npy", "--bias", "b.npy", "--stride", 2, "--padding", 1]
    for method in ["qr", "cholesky", "lsqr", "lsmr"]:
        extra = ["--atol", 0, "--btol", 1e-14] if method in ("lsqr", "lsmr") else []
        j = deconv(*S, "--observed", "y.npy", "--method", method, *extra, "-o", "xr.npy")
        xr = np.load("xr.npy")
        bound = (1e-14 if method in ("lsqr", "lsmr") else 100 * eps) * cond * cond
        check(xr.shape == x.shape and xr.dtype == np.float64 and np.linalg.norm(xr - x) <= bound * np.linalg.norm(x),
              f"strided transposed, {method}: x recovered (error {np.linalg.norm(xr - x) / np.linalg.norm(x)}, bound {bound})")
        check(j["samples"] == 2 and j["error_vs_input"] <= bound, f"strided transposed, {method}: reported error")
    xc, wc = r.standard_normal((2, 3, 9, 8)), r.standard_normal((4, 3, 3, 3))
    save("xc.npy", xc), save("wc.npy", wc)
    yc = F.conv2d(torch.from_numpy(xc), torch.from_numpy(wc), stride=2).numpy()
    save("yc.npy", yc.astype(np.float32))
    Mc = layer_matrix(lambda v: F.conv2d(v, torch.from_numpy(wc), stride=2), (1, 3, 9, 8))
    ref = np.stack([np.linalg.lstsq(Mc, yc[n].astype(np.float32).astype(np.float64).ravel(), rcond=None)[0] for n in range(2)])
    SC = ["--op", "conv2d", "--input-shape", "2,3,9,8", "--weight", "wc.npy", "--observed", "yc.npy", "--stride", 2]
    for method in ["qr", "lsmr"]:
        extra = ["--atol", 0, "--btol", 1e-13] if method == "lsmr" else []
        j = deconv(*SC, "--method", method, *extra, "-o", "xcr.npy")
        xr = np.load("xcr.npy")
        check(xr.dtype == np.float64, f"strided conv, {method}: float64 output (the weight is float64)")
        check(np.abs(xr.reshape(2, -1) - ref).max() <= 1e-6 * np.abs(ref).max(), f"strided conv, {method}: numpy's lstsq per sample")
    j = deconv(*SC, "--dtype", "float32", "-o", "xcr.npy")
    check(j["rank"] == Mc.shape[0] == np.linalg.matrix_rank(Mc), "strided conv: full row rank reported")
    check(j["dtype"] == "float32" and np.load("xcr.npy").dtype == np.float32, "--dtype float32")

    # --desc without an input shape: the batch is the observed output's.
    j = deconv("--desc", "ic2ih4iw5oc3kh3kw3sh2sw2ph1pw1", "--deconv", "--weight", "w.npy", "--bias", "b.npy", "--observed", "y.npy",
               "-o", "xd.npy")
    check(np.abs(np.load("xd.npy") - x).max() <= 1e-10, "--desc --deconv: the batch from the observed output, x recovered")

    # Damping: argmin |Mx - y|^2 + damp^2 |x|^2 = (M^T M + damp^2 I)^-1 M^T y, against NumPy.
    damped = np.linalg.solve(Mc.T @ Mc + 0.25 * np.eye(Mc.shape[1]), Mc.T @ yc[0].astype(np.float32).astype(np.float64).ravel())
    save("yc1.npy", yc[:1])
    for method in ["qr", "cholesky", "lsqr"]:
        extra = ["--atol", 1e-14, "--btol", 1e-14] if method == "lsqr" else []
        deconv("--op", "conv2d", "--input-shape", "1,3,9,8", "--weight", "wc.npy", "--observed", "yc1.npy", "--stride", 2,
               "--damp", 0.5, "--method", method, *extra, "-o", "xdamp.npy")
        check(np.abs(np.load("xdamp.npy").ravel() - damped).max() <= 1e-5 * np.abs(damped).max(), f"damp 0.5, {method}: numpy's")

    # --preconditioner: a 7x7 Gaussian blur, valid, on 32x32 (W 676 x 1024, wide, ill conditioned). The
    # preconditioned LSQR reaches QR's minimum-norm solution (DCT in at most 200 iterations, the
    # circulant, whose wrap-around misfits the valid layer's edges, in 400); plain LSQR is short of 1e-10 after 2000.
    g = np.exp(-((np.arange(7) - 3.0) ** 2) / 4.0)
    save("gauss.npy", (np.outer(g, g) / np.outer(g, g).sum()).reshape(1, 1, 7, 7))
    xg = r.standard_normal((1, 1, 32, 32))
    save("yg.npy", F.conv2d(torch.from_numpy(xg), torch.from_numpy(np.load("gauss.npy"))).numpy())
    G = ["--op", "conv2d", "--input-shape", "1,1,32,32", "--weight", "gauss.npy", "--observed", "yg.npy"]
    deconv(*G, "--method", "qr", "-o", "xg_qr.npy")
    qr = np.load("xg_qr.npy").ravel()
    plain = deconv(*G, "--method", "lsqr", "--atol", 0, "--btol", 1e-10, "--conlim", 0, "--max-iterations", 2000, expect=1)
    check(not plain["converged"], "plain LSQR: not converged to 1e-10 in 2000 iterations")
    for name, bound in [("dct", 200), ("circulant", 400), ("auto", 400)]:
        j = deconv(*G, "--method", "lsqr", "--atol", 0, "--btol", 1e-10, "--conlim", 0, "--preconditioner", name,
                   "-o", "xg.npy")
        xg_hat = np.load("xg.npy").ravel()
        check(j["converged"] and np.linalg.norm(xg_hat - qr) <= 1e-6 * np.linalg.norm(qr),
              f"--preconditioner {name}: QR's minimum-norm solution ({np.linalg.norm(xg_hat - qr) / np.linalg.norm(qr)})")
        check(j["preconditioner"] in ("dct", "circulant") and j["iterations"] <= bound,
              f"--preconditioner {name}: {j['preconditioner']}, {j['iterations']} iterations (plain: over 2000)")
    _, out, _ = run("deconv", *G, "--method", "lsmr", "--preconditioner", "dct", expect=0)
    check("preconditioner: dct (left, delta 0)" in out, f"--preconditioner: the text names it: {out}")

    # Did not converge: the iteration limit (exit 1, the last iterate written, the reason named); a singular
    # Gram matrix for cholesky (duplicated output channels, damp 0: exit 1, nothing written).
    _, out, _ = run("deconv", *S, "--observed", "y.npy", "--method", "lsqr", "--max-iterations", 3, "-o", "x3.npy", expect=1)
    check("did not converge" in out and "iteration_limit" in out and "--max-iterations" in out and os.path.exists("x3.npy"),
          f"iteration limit: exit 1, named, the last iterate written: {out}")
    j = deconv(*S, "--observed", "y.npy", "--method", "lsmr", "--max-iterations", 3, "-o", "x3.npy", expect=1)
    check(not j["converged"] and j["status"] == "iteration_limit" and j["iterations"] == 3 and len(j["residual_history"][0]) == 4,
          "iteration limit: JSON status, 3 iterations, history of 4")
    wd = np.concatenate([w[:1], w[:1]], 0)  # conv weight (2, 2, 3, 3) with two equal output channels -> M M^T singular
    save("wd.npy", wd.reshape(2, 3, 3, 3)[:, :2])
    save("yd.npy", F.conv2d(torch.from_numpy(x), torch.from_numpy(np.load("wd.npy"))).numpy())
    _, out, _ = run("deconv", "--op", "conv2d", "--input", "x.npy", "--weight", "wd.npy", "--observed", "yd.npy", "--method", "cholesky",
                    "-o", "xs.npy", expect=1)
    check("not_positive_definite" in out and "--method qr" in out and not os.path.exists("xs.npy"), f"singular cholesky: exit 1, nothing written: {out}")
    j = deconv("--op", "conv2d", "--input", "x.npy", "--weight", "wd.npy", "--observed", "yd.npy")
    check(j["converged"] and j["rank"] < j["rows"], "the same layer by qr: solved, rank deficient rows")

    # Bad input: exit 2, a message naming the problem, nothing written.
    save("y_nan.npy", np.where(np.arange(9).reshape(1, 1, 3, 3) == 4, np.nan, np.load("y0.npy")))
    save("y_bad.npy", np.zeros((1, 1, 4, 4)))
    cases = [
        (T + ["--method", "svd"], "--method: expected qr, cholesky, lsqr or lsmr, got 'svd'"),
        (T + ["--damp", -1], "--damp: expected a finite number >= 0, got '-1'"),
        (T + ["--damp", "nan"], "--damp: expected a finite number >= 0"),
        (T + ["--atol", 1e-8], "--atol applies to --method lsqr and lsmr"),
        (T + ["--preconditioner", "dct"], "--preconditioner applies to --method lsqr and lsmr"),
        (T + ["--method", "lsqr", "--preconditioner", "fft"], "--preconditioner: expected none, auto, dct or circulant, got 'fft'"),
        (T + ["--method", "lsqr", "--preconditioner", "dct", "--preconditioner-delta", "-1"], "--preconditioner-delta: expected a finite number >= 0"),
        (T + ["--method", "lsqr", "--max-iterations", 0], "--max-iterations: expected at least 1"),
        (T + ["--method", "lsqr", "--btol", "-1"], "--btol: expected a finite number >= 0"),
        (["--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--weight", "k0.npy", "--observed", "y_bad.npy"],
         "y_bad.npy: shape (1, 1, 4, 4) does not match the layer's output (1, 1, 3, 3)"),
        (["--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--weight", "k0.npy", "--observed", "y_nan.npy"], "finite"),
        (["--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--weight", "k0.npy"], "deconv needs --observed"),
        (["--op", "conv_transpose2d", "--input-shape", "1,1,2,2", "--observed", "y0.npy"], "deconv needs --weight"),
        (["--op", "conv_transpose2d", "--weight", "k0.npy", "--observed", "y0.npy"], "--input (or --input-shape)"),
        (T + ["--bias", "b.npy"], "expected bias to be 1-dimensional with 1 elements"),
        (T + ["--max-memory", "1K"], "more than the limit of 1.0 KiB"),
        (["--op", "conv2d", "--input-shape", "1,1,128,128", "--weight-shape", "1,1,7,7", "--observed", "y0.npy"], "does not apply"),
        (["--op", "conv2d", "--input", "xg.npy", "--weight", "kg.npy", "--observed", "yg.npy", "--max-memory", "40M", "-o", "o.npy"],
         "--method lsmr needs only a few vectors"),
        (T + ["-o", "no/such/dir/x.npy"], "cannot create a temporary file next to it"),
    ]
    xg = r.uniform(0, 1, (1, 1, 40, 40))
    kg = np.exp(-((np.arange(7)[:, None] - 3) ** 2 + (np.arange(7)[None] - 3) ** 2) / 4.5).reshape(1, 1, 7, 7)
    save("xg.npy", xg), save("kg.npy", kg), save("yg.npy", F.conv2d(torch.from_numpy(xg), torch.from_numpy(kg)).numpy())
    for extra, message in cases:
        _, _, err = run("deconv", *extra, expect=2)
        check(message in err, f"deconv {extra}: '{message}' in {err!r}")
        _, out, _ = run("deconv", *extra, "--json", expect=2)
        check(message in json.loads(out)["error"], f"deconv {extra} --json: the error as JSON")
    check(not [f for f in os.listdir(".") if ".tmp-" in f or f == "o.npy"], "no output or temporary file after a refusal")
    # The same problem within the limit by lsmr.
    j = deconv("--op", "conv2d", "--input", "xg.npy", "--weight", "kg.npy", "--observed", "yg.npy", "--max-memory", "40M", "--method", "lsmr",
               "-o", "o.npy")
    check(j["converged"] and j["relative_residual"] < 1e-3 and os.path.exists("o.npy"), "the refused qr problem runs by lsmr within the limit")


def test_json():
    r = rng(7)
    x, w = r.standard_normal((1, 2, 5, 5)), r.standard_normal((3, 2, 3, 3))
    save("x.npy", x), save("w.npy", w)
    y = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
    y[0, 0, 0, 0] = np.inf
    save("y.npy", y)
    L = ["--op", "conv2d", "--input", "x.npy", "--weight", "w.npy"]
    outputs = [
        run("shape", *L, "--json", expect=0)[1],
        run("apply", *L, "-o", "z.npy", "--json", expect=0)[1],
        run("matrix", *L, "--json", expect=0)[1],
        run("matrix", *L, "-o", "w.mtx", "--json", expect=0)[1],
        run("check", *L, "--candidate", "y.npy", "--json", expect=1)[1],
        run("diagnose", *L, "--candidate", "y.npy", "--json", expect=1)[1],
        run("check", *L, "--candidate", "missing.npy", "--json", expect=2)[1],
    ]
    for out in outputs:
        try:
            json.loads(out)
        except ValueError as e:
            check(False, f"invalid JSON ({e}): {out[:200]}")
    j = json.loads(outputs[4])
    check(j["worst"][0]["candidate"] is None and j["nonfinite"] == 1, "infinity is written as null and counted")
    check(json.loads(outputs[6])["error"].startswith("missing.npy: cannot open"), "errors as JSON with --json")


def test_empty():
    """Empty arrays and an empty W, which the instrumented build checks for reads and writes
    through null pointers: a batch of no samples (PyTorch accepts (0, C, *spatial)) through every
    command that takes one, and a layer whose every tap lands on padding (W has no nonzeros: the
    output is the bias alone), against PyTorch."""
    r = rng(11)
    w = r.standard_normal((3, 2, 2))
    save("w.npy", w), save("b.npy", r.standard_normal(3))
    save("x0.npy", np.zeros((0, 2, 5))), save("y0.npy", np.zeros((0, 3, 4)))
    L = ["--op", "conv1d", "--weight", "w.npy", "--bias", "b.npy"]
    run("apply", *L, "--input", "x0.npy", "-o", "y.npy", expect=0)
    ref = F.conv1d(torch.zeros(0, 2, 5, dtype=torch.float64), torch.from_numpy(w)).numpy()
    check(np.load("y.npy").shape == ref.shape == (0, 3, 4), "apply, batch 0: an empty (0, 3, 4) output like torch")
    run("check", *L, "--input", "x0.npy", "--candidate", "y0.npy", expect=0)
    run("diagnose", *L, "--input", "x0.npy", "--candidate", "y0.npy", expect=0)
    for method, extra in [("qr", []), ("lsqr", []), ("lsmr", []), ("cholesky", ["--damp", 1])]:
        j = deconv("--op", "conv1d", "--weight", "w.npy", "--input-shape", "0,2,5", "--observed", "y0.npy",
                   "--method", method, *extra, "-o", "x.npy")
        check(j["status"] == "success" and np.load("x.npy").shape == (0, 2, 5), f"deconv {method}, batch 0: an empty x")

    # Stride 2 over padding 1 of an input of 1: the taps of a 1-wide kernel land on positions -1 and 1.
    x = r.standard_normal((2, 2, 1))
    w1, b = r.standard_normal((3, 2, 1)), r.standard_normal(3)
    save("x.npy", x), save("w1.npy", w1), save("b.npy", b)
    E = ["--op", "conv1d", "--input", "x.npy", "--weight", "w1.npy", "--bias", "b.npy", "--stride", 2, "--padding", 1]
    _, out, _ = run("apply", *E, "-o", "y.npy", "--json", expect=0)
    ref = F.conv1d(torch.from_numpy(x), torch.from_numpy(w1), torch.from_numpy(b), stride=2, padding=1).numpy()
    y = np.load("y.npy")
    check(y.shape == ref.shape == (2, 3, 2) and np.array_equal(y, ref) and np.array_equal(y, np.broadcast_to(b[:, None], y.shape)),
          f"apply, W without nonzeros: the bias alone, as torch ({y.tolist()})")
    run("check", *E, "--candidate", "y.npy", expect=0)
    _, out, _ = run("matrix", *E[:6], "--stride", 2, "--padding", 1, "--json", expect=0)
    check(json.loads(out)["nnz"] == 0, "matrix: W has no nonzeros")
    yo = F.conv1d(torch.from_numpy(x), torch.from_numpy(w1), stride=2, padding=1).numpy()
    save("yo.npy", yo)
    for method in ["qr", "lsqr", "lsmr"]:
        j = deconv("--op", "conv1d", "--weight", "w1.npy", "--input-shape", "2,2,1", "--stride", 2, "--padding", 1,
                   "--observed", "yo.npy", "--method", method, "-o", "x.npy")
        check(j["status"] == "success" and np.array_equal(np.load("x.npy"), np.zeros((2, 2, 1))),
              f"deconv {method}, W = 0: the minimum-norm solution 0")


def tf_same_pads(n, k, s, d=1):
    """tf.nn's notes on padding: SAME gives ceil(n/s) outputs; pad_along = max((out - 1)s + d(k - 1) + 1 - n,
    0), pad_before = pad_along // 2, the rest after."""
    out = -(-n // s)
    along = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return along // 2, along - along // 2


def test_layouts():
    r = rng(41)
    # NHWC data and an HWIO weight: the NCHW layer's numbers, stored permuted (exact on integers).
    x = r.integers(-3, 4, (2, 3, 5, 6)).astype(np.float64)
    w = r.integers(-3, 4, (4, 3, 3, 2)).astype(np.float64)
    b = r.integers(-3, 4, 4).astype(np.float64)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=(2, 1), padding=1).numpy()
    save("xn.npy", x.transpose(0, 2, 3, 1)), save("wh.npy", w.transpose(2, 3, 1, 0)), save("b.npy", b)
    L = ["--op", "conv2d", "--data-format", "NHWC", "--weight-format", "HWIO", "--input", "xn.npy", "--weight",
         "wh.npy", "--stride", "2,1", "--padding", 1]
    _, out, _ = run("apply", *L, "--bias", "b.npy", "-o", "yn.npy", "--json", expect=0)
    yn = np.load("yn.npy")
    check(json.loads(out)["shape"] == list(ref.transpose(0, 2, 3, 1).shape), "apply NHWC: the shape in NHWC")
    check(np.array_equal(yn, ref.transpose(0, 2, 3, 1)), "apply NHWC/HWIO: torch's NCHW output, permuted, exactly")
    # Every weight format of a 2-d convolution, and an unbatched channels-last input.
    for fmt, axes in (("OHWI", (0, 2, 3, 1)), ("IOHW", (1, 0, 2, 3)), ("HWOI", (2, 3, 0, 1))):
        save("wf.npy", w.transpose(axes))
        run("apply", "--op", "conv2d", "--data-format", "NHWC", "--weight-format", fmt, "--input", "xn.npy",
            "--weight", "wf.npy", "--stride", "2,1", "--padding", 1, "--bias", "b.npy", "-o", "yf.npy", expect=0)
        check(np.array_equal(np.load("yf.npy"), yn), f"apply, weight format {fmt}: the same output")
    save("x1.npy", x[0].transpose(1, 2, 0))
    run("apply", *L[:7], "x1.npy", *L[8:], "--bias", "b.npy", "-o", "y1.npy", expect=0)
    check(np.array_equal(np.load("y1.npy"), ref[0].transpose(1, 2, 0)), "apply, unbatched HWC input: (H, W, C) out")
    # A transposed 1-d layer, NWC data and a WIO weight (I, O: the layer's input and output channels).
    xt, wt = r.integers(-3, 4, (2, 3, 4)).astype(np.float64), r.integers(-3, 4, (3, 2, 3)).astype(np.float64)
    reft = F.conv_transpose1d(torch.from_numpy(xt), torch.from_numpy(wt), stride=2, output_padding=1).numpy()
    save("xt.npy", xt.transpose(0, 2, 1)), save("wt.npy", wt.transpose(2, 0, 1))
    run("apply", "--op", "conv_transpose1d", "--data-format", "NWC", "--weight-format", "WIO", "--input", "xt.npy",
        "--weight", "wt.npy", "--stride", 2, "--output-padding", 1, "-o", "yt.npy", expect=0)
    check(np.array_equal(np.load("yt.npy"), reft.transpose(0, 2, 1)), "apply conv_transpose1d NWC/WIO: torch's, permuted")

    # check: the permuted output passes; one changed element is blamed at its NHWC index, with NHWC/HWIO terms
    # whose values are the files' values at those indices.
    run("check", *L, "--bias", "b.npy", "--candidate", "yn.npy", expect=0)
    bad = yn.copy()
    bad[1, 2, 3, 0] += 1
    save("bad.npy", bad)
    _, out, _ = run("check", *L, "--bias", "b.npy", "--candidate", "bad.npy", "--blame-terms", 100, "--json", expect=1)
    j = json.loads(out)
    worst = j["worst"][0]
    xn, wh = np.load("xn.npy"), np.load("wh.npy")
    check(j["expected_shape"] == list(yn.shape) and j["candidate_shape"] == list(yn.shape), "check NHWC: shapes in NHWC")
    check(j["bad"] == 1 and worst["index"] == [1, 2, 3, 0], f"check NHWC: the blame names the NHWC index ({worst['index']})")
    check(len(worst["terms"]) == worst["term_count"] > 0 and
          all(xn[tuple(t["input_index"])] == t["input"] and wh[tuple(t["weight_index"])] == t["weight"]
              for t in worst["terms"]) and
          sum(t["input"] * t["weight"] for t in worst["terms"]) + b[0] == worst["oracle"] == yn[1, 2, 3, 0],
          "check NHWC: each term's indices are NHWC/HWIO indices of the files' values, and they sum to the oracle")
    _, out, _ = run("check", *L, "--bias", "b.npy", "--candidate", "bad.npy", expect=1)
    check("y[1, 2, 3, 0]: candidate" in out, "check NHWC, text: the blamed element in NHWC")

    # diagnose in NHWC: a kernel reversed along W (same shape), and a padding off by one (another shape).
    flipped = F.conv2d(torch.from_numpy(x), torch.from_numpy(w[..., ::-1].copy()), torch.from_numpy(b), stride=(2, 1),
                       padding=1).numpy()
    save("flip.npy", flipped.transpose(0, 2, 3, 1))
    _, out, _ = run("diagnose", *L, "--bias", "b.npy", "--candidate", "flip.npy", "--json", expect=1)
    check("kernel_flipped[w]" in json.loads(out)["reproducing"], "diagnose NHWC: the kernel flipped along w found")
    shifted = F.conv2d(F.pad(torch.from_numpy(x), (1, 1, 2, 1)), torch.from_numpy(w), torch.from_numpy(b),
                       stride=(2, 1)).numpy()
    save("shift.npy", shifted.transpose(0, 2, 3, 1))
    _, out, _ = run("diagnose", *L, "--bias", "b.npy", "--candidate", "shift.npy", "--json", expect=1)
    d = json.loads(out)
    check(any(h.startswith("pad_begin+1") for h in d["reproducing"]) and
          d["check"]["expected_shape"] == list(yn.shape) and d["check"]["candidate_shape"] == list(shifted.transpose(0, 2, 3, 1).shape),
          f"diagnose NHWC: a candidate of another shape compared with the padding mistakes ({d['reproducing']})")
    check(all(len(h["shape"]) == 4 and h["shape"][3] == 4 for h in d["tried"]), "diagnose NHWC: hypotheses' shapes in NHWC")

    # matrix: rows and columns in the NHWC order of one sample, so W x = y on the flattened NHWC arrays.
    _, out, _ = run("matrix", *L[:10], "--stride", "2,1", "--padding", 1, "--json", expect=0)
    W = np.array(json.loads(out)["dense"])
    check(np.array_equal(W @ xn[0].ravel() + np.tile(b, yn[0].size // 4), yn[0].ravel()),
          "matrix NHWC: W x + b on the NHWC-flattened sample is the NHWC output")
    # shape: the shapes as given.
    _, out, _ = run("shape", *L, "--json", expect=0)
    j = json.loads(out)
    check(j["input_shape"] == list(xn.shape) and j["weight_shape"] == list(wh.shape) and j["output_shape"] == list(yn.shape),
          "shape NHWC: input, weight and output shapes in the given layouts")
    # deconv: the NHWC observation gives back the NHWC input (an injective layer: stride 1, padding 1).
    xs = r.standard_normal((1, 2, 4, 5))
    ws = r.standard_normal((3, 2, 2, 2))
    ys = F.conv2d(torch.from_numpy(xs), torch.from_numpy(ws), padding=1).numpy()
    save("xs.npy", xs.transpose(0, 2, 3, 1)), save("ws.npy", ws.transpose(2, 3, 1, 0)), save("ys.npy", ys.transpose(0, 2, 3, 1))
    j = deconv("--op", "conv2d", "--data-format", "NHWC", "--weight-format", "HWIO", "--weight", "ws.npy",
               "--input-shape", "1,4,5,2", "--padding", 1, "--observed", "ys.npy", "-o", "xr.npy")
    xr = np.load("xr.npy")
    check(j["status"] == "success" and xr.shape == (1, 4, 5, 2) and
          np.abs(xr - xs.transpose(0, 2, 3, 1)).max() < 1e4 * np.finfo(float).eps * np.abs(xs).max(),
          "deconv NHWC: the input recovered in NHWC")

    # TensorFlow's ops with their own defaults (NHWC, HWIO filters): SAME padding from tf.nn's notes, torch's conv of
    # the padded input as the reference.
    xf = r.integers(-3, 4, (2, 7, 6, 3)).astype(np.float64)   # NHWC
    ff = r.integers(-3, 4, (3, 2, 3, 4)).astype(np.float64)   # HWIO
    (t0, t1), (l0, l1) = tf_same_pads(7, 3, 2), tf_same_pads(6, 2, 2)
    reff = F.conv2d(F.pad(torch.from_numpy(xf.transpose(0, 3, 1, 2)), (l0, l1, t0, t1)),
                    torch.from_numpy(ff.transpose(3, 2, 0, 1)), stride=2).numpy().transpose(0, 2, 3, 1)
    save("xf.npy", xf), save("ff.npy", ff)
    T = ["--op", "tf_conv", "--input", "xf.npy", "--weight", "ff.npy", "--strides", 2, "--padding", "SAME"]
    run("apply", *T, "-o", "yf.npy", expect=0)
    check(np.load("yf.npy").shape == (2, 4, 3, 4) and np.array_equal(np.load("yf.npy"), reff),
          "apply tf_conv SAME, strides 2: tf.nn's padding rule (the odd row at the end), NHWC out")
    run("check", *T, "--candidate", "yf.npy", expect=0)
    run("check", "--op", "tf_conv", "--data-format", "NCHW", "--input", save("xc.npy", xf.transpose(0, 3, 1, 2)),
        "--weight", "ff.npy", "--strides", 2, "--padding", "SAME", "--candidate",
        save("yc.npy", reff.transpose(0, 3, 1, 2)), expect=0)
    # tf.nn.depthwise_conv2d: filter [kh, kw, C, multiplier]; output channel c*multiplier + q.
    fd = r.integers(-3, 4, (2, 2, 3, 2)).astype(np.float64)
    refd = F.conv2d(torch.from_numpy(xf.transpose(0, 3, 1, 2)),
                    torch.from_numpy(fd.transpose(2, 3, 0, 1).reshape(6, 1, 2, 2)), groups=3).numpy().transpose(0, 2, 3, 1)
    run("apply", "--op", "tf_depthwise_conv2d", "--input", "xf.npy", "--weight", save("fd.npy", fd), "-o", "yd.npy",
        expect=0)
    check(np.array_equal(np.load("yd.npy"), refd), "apply tf_depthwise_conv2d (VALID): torch's grouped conv, NHWC")

    # tf.nn.conv2d_transpose is the gradient of tf.nn.conv2d with respect to its input (TensorFlow's notes): the
    # reference is torch's autograd through conv2d of a zero input of output_shape, SAME padded as tf.nn pads.
    xt = r.integers(-3, 4, (1, 4, 3, 2)).astype(np.float64)   # NHWC, 2 channels
    ft = r.integers(-3, 4, (3, 3, 5, 2)).astype(np.float64)   # [h, w, output channels, input channels]
    z = torch.zeros((1, 5, 8, 6), dtype=torch.float64, requires_grad=True)
    (t0, t1), (l0, l1) = tf_same_pads(8, 3, 2), tf_same_pads(6, 3, 2)
    F.conv2d(F.pad(z, (l0, l1, t0, t1)), torch.from_numpy(ft.transpose(3, 2, 0, 1)), stride=2).backward(
        torch.from_numpy(xt.transpose(0, 3, 1, 2)))
    reft = z.grad.numpy().transpose(0, 2, 3, 1)
    for shape in ("1,8,6,5", "8,6"):
        run("apply", "--op", "tf_conv_transpose", "--input", save("xt.npy", xt), "--weight", save("ft.npy", ft),
            "--output-shape", shape, "--strides", 2, "--padding", "SAME", "-o", "yt.npy", expect=0)
        check(np.load("yt.npy").shape == (1, 8, 6, 5) and np.array_equal(np.load("yt.npy"), reft),
              f"apply tf_conv_transpose SAME, output_shape {shape}: the gradient of tf.nn.conv2d, NHWC out")
    _, _, err = run("apply", "--op", "tf_conv_transpose", "--input", "xt.npy", "--weight", "ft.npy",
                    "--output-shape", "1,9,6,5", "--strides", 2, "--padding", "VALID", "-o", "none.npy", expect=2)
    check("output_shape" in err and not os.path.exists("none.npy"),
          f"tf_conv_transpose with an output_shape VALID cannot give: exit 2, nothing written ({err.strip()})")

    # Bad layouts: a clear message, exit 2, no output file.
    for flag, value, words in (("--data-format", "NHWQ", "data_format"), ("--weight-format", "HWIX", "weight_format"),
                               ("--data-format", "NCW", "data_format")):
        args = [a if a != "NHWC" or flag != "--data-format" else value for a in L]
        if flag == "--weight-format":
            args = [a if a != "HWIO" else value for a in L]
        _, _, err = run("apply", *args, "-o", "none.npy", expect=2)
        check(words in err and value in err and not os.path.exists("none.npy"),
              f"apply {flag} {value}: exit 2 naming {words} and the value, nothing written ({err.strip()})")
    _, _, err = run("apply", *L, "--data-format", "NCHW", "-o", "none.npy", expect=2)  # HWC data read as NCHW
    check(not os.path.exists("none.npy"), "a layout that does not fit the shapes: exit 2, nothing written")


def onnx_case(name):
    """(op type, inputs by name, attributes, expected output) of one of ONNX's backend test cases
    (tests/onnx_backend.py, shared with the Python suite)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.dont_write_bytecode = True
    import onnx_backend
    node, inputs, attributes, outputs = onnx_backend.onnx_case(name)
    return node.op_type, inputs, attributes, outputs[0]


def attribute_flags(attributes):
    flags = []
    for name, value in attributes.items():
        flags += ["--" + name.replace("_", "-"), ",".join(map(str, value)) if isinstance(value, list) else value]
    return flags


def reference_accumulators(x, xz, w, wz, attributes, bias=None):
    """ONNX's definition: conv(x - x_zero_point, w - w_zero_point) (+ B), the padding holding x_zero_point, so
    a padded tap adds 0; torch's float64 conv of the shifted integers is exact."""
    pads = attributes.get("pads", [0] * 4)
    xs = torch.from_numpy(x.astype(np.float64) - float(xz))
    xs = F.pad(xs, (pads[1], pads[3], pads[0], pads[2]))
    ws = torch.from_numpy(w.astype(np.float64) - np.asarray(wz, np.float64).reshape(-1, 1, 1, 1))
    y = F.conv2d(xs, ws, None if bias is None else torch.from_numpy(bias.astype(np.float64)),
                 stride=tuple(attributes.get("strides", [1, 1])))
    return y.numpy()


def test_quantized():
    # ONNX's own backend cases of ConvInteger and QLinearConv, their inputs as .npy files of their dtypes.
    for name in ("test_basic_convinteger", "test_convinteger_with_padding", "test_convinteger_without_padding",
                 "test_qlinearconv"):
        op_type, inputs, attributes, expected = onnx_case(name)
        op = {"ConvInteger": "onnx_conv_integer", "QLinearConv": "onnx_qlinear_conv"}[op_type]
        q = []
        for k, v in inputs.items():
            if k not in ("x", "w"):
                q += ["--" + k.replace("_", "-"), save(f"{name}_{k}.npy", v)]
        A = ["check", "--op", op, "--input", save(f"{name}_x.npy", inputs["x"]), "--weight",
             save(f"{name}_w.npy", inputs["w"]), *q, *attribute_flags(attributes)]
        _, out, _ = run(*A, "--candidate", save(f"{name}_y.npy", expected), expect=0)
        check("result: ok" in out, f"check {op} accepts ONNX's {name}")
        run("apply", *A[1:], "-o", "applied.npy", expect=0)
        got = np.load("applied.npy")
        check(got.dtype == expected.dtype and np.array_equal(got, expected), f"apply {op}: ONNX's {name} output and dtype")
        # One unit off in one element: found, with the accumulator ONNX's definition gives.
        bad = expected.copy()
        index = tuple(np.array(expected.shape) // 2)
        bad[index] += 1
        _, out, _ = run(*A, "--candidate", save("bad.npy", bad), "--json", expect=1)
        j = json.loads(out)
        acc = reference_accumulators(inputs["x"], inputs.get("x_zero_point", 0), inputs["w"],
                                     inputs.get("w_zero_point", 0), attributes)
        m = j["worst"][0] if j["worst"] else {}
        check(j["mismatches"] == 1 and j["off_by_one"] == 1 and m.get("index") == list(index) and
              m.get("candidate") == int(bad[index]) and m.get("expected") == int(expected[index]) and
              m.get("accumulator") == acc[index],
              f"check {op} {name}: a one-unit change reported at {index} with the accumulator {acc[index]} ({m})")
        if op_type == "QLinearConv":
            real = acc[index] * float(inputs["x_scale"]) * float(inputs["w_scale"]) / float(inputs["y_scale"])
            check(abs(m.get("real", 0) - real) <= 1e-6 * abs(real) and j["dtype"] == str(expected.dtype),
                  f"check QLinearConv: the real value before rounding ({m.get('real')} vs {real})")
        _, out, _ = run(*A, "--candidate", "bad.npy", expect=1)
        check("(one unit); accumulator" in out, f"check {op}, text: the one unit and the accumulator named")

    # The quantization inputs as numbers, per output channel, with B: QLinearConv's definition (round half to
    # even, saturation to uint8) from the accumulators of torch's exact float64 conv.
    r = rng(51)
    x = r.integers(96, 160, (1, 3, 5, 5)).astype(np.uint8)
    w = r.integers(-10, 11, (2, 3, 3, 3)).astype(np.int8)
    B = r.integers(-50, 50, 2).astype(np.int32)
    xz, wz, yz = 128, [1, -2], 100
    x_scale, w_scale, y_scale = np.float32(0.5), np.float32([1, 0.25]), np.float32(1.0)
    acc = reference_accumulators(x, xz, w, wz, {"pads": [1, 1, 1, 1]}, B)
    mult = (np.float64(x_scale) * w_scale.astype(np.float64) / np.float64(y_scale)).reshape(1, 2, 1, 1)
    y = np.clip(np.round(acc * mult) + yz, 0, 255).astype(np.uint8)  # np.round: half to even
    Q = ["check", "--op", "QLinearConv", "--input", save("qx.npy", x), "--weight", save("qw.npy", w),
         "--bias", save("qb.npy", B), "--x-scale", 0.5, "--x-zero-point", xz, "--w-scale", "1,0.25",
         "--w-zero-point", "1,-2", "--y-scale", 1, "--y-zero-point", yz, "--pads", 1]
    run(*Q, "--candidate", save("qy.npy", y), expect=0)
    y_half_up = np.clip(np.floor(acc * mult + 0.5) + yz, 0, 255).astype(np.uint8)
    check(not np.array_equal(y_half_up, y), "the data has ties (acc * multiplier = k + 1/2)")
    _, out, _ = run(*Q, "--candidate", save("qup.npy", y_half_up), "--json", expect=1)
    check(json.loads(out)["off_by_one"] == json.loads(out)["mismatches"] > 0, "rounding half up: one-unit mismatches")
    wrapped = ((np.round(acc * mult) + yz).astype(np.int64) % 256).astype(np.uint8)  # no saturation: wraps
    check(not np.array_equal(wrapped, y), "the data saturates")
    run(*Q, "--candidate", save("qwrap.npy", wrapped), expect=1)
    ci = reference_accumulators(x, xz, w, wz, {"pads": [1, 1, 1, 1]}).astype(np.int32)
    run("check", "--op", "onnx_conv_integer", "--input", "qx.npy", "--weight", "qw.npy", "--x-zero-point", xz,
        "--w-zero-point", "1,-2", "--pads", 1, "--candidate", save("ci.npy", ci), expect=0)
    ci2 = ci.copy()
    ci2[0, 1, 2, 2] -= 1
    _, out, _ = run("check", "--op", "ConvInteger", "--input", "qx.npy", "--weight", "qw.npy", "--x-zero-point", xz,
                    "--w-zero-point", "1,-2", "--pads", 1, "--candidate", save("ci2.npy", ci2), expect=1)
    check(f"y[0, 1, 2, 2]: candidate {ci2[0, 1, 2, 2]}, expected {ci[0, 1, 2, 2]} (one unit); accumulator "
          f"{ci[0, 1, 2, 2]}" in out, "check ConvInteger: the one-unit mismatch with its accumulator")
    # An int8 kernel's layouts: NHWC data and output, OHWI weights; the same integers transposed,
    # blamed at the NHWC index; diagnose names a mistake in that layout.
    L = ["--data-format", "NHWC", "--weight-format", "OHWI", "--input", save("qx_nhwc.npy", x.transpose(0, 2, 3, 1)),
         "--weight", save("qw_ohwi.npy", w.transpose(0, 2, 3, 1))]
    QL = Q[:3] + L + Q[7:]
    run("apply", *QL[1:], "-o", "qy_nhwc.npy", expect=0)
    got = np.load("qy_nhwc.npy")
    check(got.dtype == np.uint8 and np.array_equal(got, y.transpose(0, 2, 3, 1)),
          f"apply QLinearConv in NHWC/OHWI: the NCHW output transposed, exactly ({got.shape})")
    run(*QL, "--candidate", "qy_nhwc.npy", expect=0)
    bad = got.copy()
    bad[0, 3, 1, 0] ^= 1
    _, out, _ = run(*QL, "--candidate", save("qbad_nhwc.npy", bad), "--json", expect=1)
    check(json.loads(out)["worst"][0]["index"] == [0, 3, 1, 0],
          f"check QLinearConv in NHWC: the wrong element blamed at its NHWC index ({json.loads(out)['worst'][:1]})")
    _, out, _ = run(*QL, "--candidate", "qbad_nhwc.npy", expect=1)
    check(f"y[0, 3, 1, 0]: candidate {bad[0, 3, 1, 0]}, expected {got[0, 3, 1, 0]}" in out,
          f"check QLinearConv in NHWC: the blame line names the NHWC index ({out})")
    CL = ["--op", "ConvInteger", *L, "--x-zero-point", xz, "--w-zero-point", "1,-2", "--pads", 1]
    ignored = reference_accumulators(x, 0, w, wz, {"pads": [1, 1, 1, 1]}).astype(np.int32)
    _, out, _ = run("diagnose", *CL, "--candidate", save("ci_ign.npy", ignored.transpose(0, 2, 3, 1)), "--json",
                    expect=1)
    check("x_zero_point_ignored" in json.loads(out)["reproducing"],
          f"diagnose ConvInteger in NHWC: x's zero point ignored, named ({json.loads(out)['reproducing']})")

    # Bad types and values: a clear message naming the input and the rule, exit 2.
    for extra, words in (
            (["--input", save("fx.npy", x.astype(np.float32))], "must have dtype int8 or uint8"),
            (["--y-scale", save("ys64.npy", np.float64(4.0))], "y_scale must have dtype float32"),
            (["--x-zero-point", save("xz8.npy", np.int8(3))], "x_zero_point must have the dtype of its tensor (uint8)"),
            (["--x-zero-point", 300], "x_zero_point must hold integers of uint8"),
            (["--w-zero-point", "1,2,3"], "w_zero_point must have 1 value (per tensor) or 2"),
            (["--bias", save("b64.npy", B.astype(np.int64))], "B must have dtype int32"),
            (["--atol", 1], "compares integers exactly")):
        args = list(Q)
        for i in range(0, len(extra), 2):
            if extra[i] in args:
                args[args.index(extra[i]) + 1] = extra[i + 1]
            else:
                args += extra[i:i + 2]
        _, _, err = run(*args, "--candidate", "qy.npy", expect=2)
        check(words in err, f"check QLinearConv {extra}: exit 2, '{words}' ({err.strip()})")
    _, _, err = run(*Q, "--candidate", save("qf.npy", y.astype(np.float32)), expect=2)
    check("output has ONNX's type" in err and "got float32" in err,
          f"a float candidate of a quantized op: exit 2 ({err.strip()})")
    # The right values in another integer type are not QLinearConv's output.
    _, _, err = run(*Q, "--candidate", save("qi64.npy", np.load("qy.npy").astype(np.int64)),
                    expect=2)
    check("output has ONNX's type" in err and "got int64" in err,
          f"an int64 candidate of QLinearConv: exit 2 ({err.strip()})")
    _, _, err = run("check", "--op", "QLinearConv", "--input", "qx.npy", "--weight", "qw.npy", "--x-scale", 0.5,
                    "--candidate", "qy.npy", expect=2)
    check("is required" in err, f"QLinearConv without its scales: exit 2 ({err.strip()})")
    Qf = list(Q)
    Qf[Qf.index("--y-zero-point") + 1] = save("yz.npy", np.float32(5))
    _, _, err = run("apply", *Qf[1:], "-o", "none.npy", expect=2)
    check("y_zero_point must have dtype int8 or uint8" in err and not os.path.exists("none.npy"),
          f"apply QLinearConv with a float y_zero_point: exit 2, nothing written ({err.strip()})")
    run("apply", *Q[1:], "-o", "qa.npy", expect=0)
    check(np.load("qa.npy").dtype == np.uint8 and np.array_equal(np.load("qa.npy"), y), "apply QLinearConv: uint8, exact")

    # diagnose: each int8 mistake injected here (torch's exact float64 conv of the integers, numpy's
    # rounding) and named first; a correct candidate names none.
    _, out, _ = run("diagnose", *Q[1:], "--candidate", "qy.npy", expect=0)
    check("nothing to diagnose" in out, f"diagnose QLinearConv, a correct candidate: exit 0 ({out.strip()})")

    def requantized(a, rounding=np.round, saturate=True, after=0.0):
        q = rounding(a * mult + after) + yz
        return (np.clip(q, 0, 255) if saturate else q.astype(np.int64) % 256).astype(np.uint8)

    plain = reference_accumulators(x, xz, w, wz, {"pads": [1, 1, 1, 1]})
    bias = B.reshape(1, 2, 1, 1).astype(np.float64)
    for mistake, candidate in (
            ("x_zero_point_ignored", requantized(reference_accumulators(x, 0, w, wz, {"pads": [1, 1, 1, 1]}, B))),
            ("padding_zero_not_x_zero_point", requantized(
                torch.nn.functional.conv2d(torch.from_numpy(np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1))) - xz),
                                           torch.from_numpy(w.astype(np.float64) - np.float64(wz).reshape(2, 1, 1, 1))).numpy() + bias)),
            ("bias_after_scaling", requantized(plain, after=bias)),
            ("rounding_half_away_from_zero", requantized(acc, lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5))),
            ("no_saturation", requantized(acc, saturate=False))):
        check(not np.array_equal(candidate, y), f"the data shows {mistake}")
        _, out, _ = run("diagnose", *Q[1:], "--candidate", save("qd.npy", candidate), "--json", expect=1)
        ids = json.loads(out)["reproducing"]
        check(ids[:1] == [mistake], f"diagnose QLinearConv names {mistake} first: {ids}")
    _, out, _ = run("diagnose", *Q[1:], "--candidate", "qd.npy", expect=1)
    check("reproduced exactly by:\n  no_saturation: " in out, f"diagnose, text: the mistake named ({out.strip()})")
    _, out, _ = run("diagnose", "--op", "ConvInteger", "--input", "qx.npy", "--weight", "qw.npy", "--x-zero-point", xz,
                    "--w-zero-point", "1,-2", "--pads", 1, "--json", "--candidate",
                    save("cz.npy", reference_accumulators(x, xz, w, 0, {"pads": [1, 1, 1, 1]}).astype(np.int32)), expect=1)
    check(json.loads(out)["reproducing"][:1] == ["w_zero_point_ignored"],
          f"diagnose ConvInteger names w_zero_point_ignored ({json.loads(out)['reproducing']})")
    _, out, _ = run("diagnose", *Q[1:], "--candidate", save("qn.npy", (y + 7).astype(np.uint8)), expect=1)
    check("no single mistake of the catalogue reproduces the candidate" in out, f"diagnose, noise: nothing named ({out.strip()})")
    # x86's vpmaddubsw (int8 kernels on CPUs without VNNI): x as stored times w, channels 0 and 1 of
    # each tap added into a saturated int16, x's zero point taken off afterwards.
    r = rng(44)
    px = r.integers(0, 256, (1, 2, 5, 5)).astype(np.uint8)
    pw = (r.integers(100, 128, (3, 2, 3, 3)) * r.choice([-1, 1], (3, 2, 3, 3))).astype(np.int8)
    raw = F.pad(torch.from_numpy(px.astype(np.float64)), (1, 1, 1, 1))
    inside = F.pad(torch.ones((1, 1, 5, 5), dtype=torch.float64), (1, 1, 1, 1))
    paired = -7 * F.conv2d(inside, torch.from_numpy(pw.astype(np.float64)).sum(1, keepdim=True)).numpy()
    for a in range(3):
        for b in range(3):
            tap = np.zeros(pw.shape)
            tap[:, :, a, b] = pw[:, :, a, b]
            paired += np.clip(F.conv2d(raw, torch.from_numpy(tap)).numpy(), -32768, 32767)
    check(not np.array_equal(paired, reference_accumulators(px, 7, pw, 0, {"pads": [1] * 4})),
          "the data leaves int16 in pairs")
    _, out, _ = run("diagnose", "--op", "ConvInteger", "--input", save("px.npy", px), "--weight", save("pw.npy", pw),
                    "--x-zero-point", 7, "--pads", 1, "--candidate", save("pc.npy", paired.astype(np.int32)), expect=1)
    check("reproduced exactly by:\n  int16_pair_saturation: " in out and "vpmaddubsw" in out,
          f"diagnose ConvInteger names int16_pair_saturation ({out.strip()})")
    _, help_text, _ = run("diagnose", "--help", expect=0)
    check("float32_accumulation" in help_text and "rounding_half_away_from_zero" in help_text,
          "diagnose --help lists the quantized catalogue")


def test_xla():
    """--op xla_conv: StableHLO's convolution from its definition (dilate the input, pad or crop,
    reverse the windows, correlate with strides), computed with torch on the NCHW equivalent."""
    r = rng(43)
    x = r.integers(-3, 4, (2, 7, 6, 3)).astype(np.float64)  # NHWC
    w = r.integers(-3, 4, (3, 2, 3, 4)).astype(np.float64)  # HWIO
    save("xx.npy", x), save("xw.npy", w)

    def reference(strides, pads, lhs_dilation=(1, 1), reversal=(0, 0)):
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2))
        l0, l1 = lhs_dilation
        dilated = torch.zeros(xt.shape[0], xt.shape[1], (xt.shape[2] - 1) * l0 + 1, (xt.shape[3] - 1) * l1 + 1,
                              dtype=xt.dtype)
        dilated[:, :, ::l0, ::l1] = xt
        (h0, h1), (w0, w1) = pads
        padded = F.pad(dilated, (w0, w1, h0, h1))  # negative: a crop
        wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
        wt = torch.flip(wt, [2 + a for a in range(2) if reversal[a]]) if any(reversal) else wt
        return F.conv2d(padded, wt, stride=strides).numpy().transpose(0, 2, 3, 1)

    base = ["--op", "xla_conv", "--input", "xx.npy", "--weight", "xw.npy", "--dimension-numbers",
            "NHWC,HWIO,NHWC"]
    for strides, pads, lhs, rev in (((2, 1), ((1, 0), (-1, 2)), (1, 1), (0, 0)),
                                    ((1, 2), ((0, 2), (1, 1)), (1, 1), (1, 0)),
                                    ((1, 1), ((2, 2), (1, 0)), (2, 1), (0, 1))):
        flags = ["--window-strides", ",".join(map(str, strides)),
                 "--padding", ",".join(str(p) for pair in pads for p in pair),
                 "--lhs-dilation", ",".join(map(str, lhs)), "--window-reversal", ",".join(map(str, rev))]
        ref = reference(strides, pads, lhs, rev)
        run("apply", *base, *flags, "-o", "xy.npy", expect=0)
        y = np.load("xy.npy")
        check(y.shape == ref.shape and np.array_equal(y, ref),
              f"apply xla_conv {flags}: StableHLO's definition, exactly ({y.shape} vs {ref.shape})")
        run("check", *base, *flags, "--candidate", save("xc.npy", ref), expect=0)
        bad = ref.copy()
        bad[1, 0, 0, 2] += 1
        _, out, _ = run("check", *base, *flags, "--candidate", save("xb.npy", bad), "--json", expect=1)
        blamed = json.loads(out)["worst"][0]["index"]
        check(blamed == [1, 0, 0, 2], f"check xla_conv {flags}: the wrong element blamed in NHWC ({blamed})")
    # matrix: W in the user's layout (rows NHWC outputs, columns NHWC inputs of one sample); a
    # reversed window changes W's values only.
    run("matrix", *base, "--window-strides", "1,1", "--window-reversal", "1,0", "-o", "xm.mtx", expect=0)
    W = scipy.io.mmread("xm.mtx").tocsr()
    ref = reference((1, 1), ((0, 0), (0, 0)), reversal=(1, 0))
    check(np.array_equal(W @ x[1].ravel(), ref[1].ravel()), "matrix of a reversed xla_conv: W x in NHWC, exactly")
    # Batch groups move channels into the batch: no matrix of one sample; refused with a message.
    _, _, err = run("matrix", *base, "--window-strides", "1,1", "--batch-group-count", 2, "-o", "xg.mtx",
                    expect=2)
    check(err.strip() != "" and not os.path.exists("xg.mtx"), f"matrix with batch groups: exit 2 ({err.strip()})")
    # No window fits (a 4-long window in a 3-long padded input): jax's empty output. apply writes
    # it, check passes a candidate of its shape and fails another, matrix refuses it by name.
    save("xs.npy", x[:, :2, :1, :])  # NHWC (2, 2, 1, 3)
    empty = ["--op", "xla_conv", "--input", "xs.npy", "--weight", "xw.npy", "--dimension-numbers",
             "NHWC,HWIO,NHWC", "--window-strides", "1,1", "--padding", "0,0,1,1"]
    _, out, _ = run("apply", *empty, "-o", "xe.npy", "--json", expect=0)
    y = np.load("xe.npy")
    check(y.shape == (2, 0, 2, 4) and y.dtype == np.float64 and json.loads(out)["shape"] == [2, 0, 2, 4],
          f"apply xla_conv with no window: the empty (2, 0, 2, 4) output ({y.shape}, {out.strip()})")
    run("apply", *empty, "-o", "xe32.npy", "--dtype", "float32", expect=0)
    check(np.load("xe32.npy").dtype == np.float32, "apply xla_conv with no window: --dtype float32")
    _, out, _ = run("check", *empty, "--candidate", "xe.npy", expect=0)
    check("the output is empty" in out, f"check of an empty output: ok ({out.strip()})")
    _, out, _ = run("check", *empty, "--candidate", save("xe1.npy", np.zeros((2, 1, 1, 4))), "--json", expect=1)
    check(json.loads(out)["shape_matches"] is False, f"check of an empty output, another shape: fails ({out.strip()})")
    run("diagnose", *empty, "--candidate", "xe.npy", expect=0)
    _, _, err = run("apply", *empty, "--bias", save("xb5.npy", np.zeros(5)), "-o", "xe5.npy", expect=2)
    check("one per output channel" in err and not os.path.exists("xe5.npy"),
          f"apply xla_conv with no window, a bias of 5 for 4 channels: exit 2 ({err.strip()})")
    _, _, err = run("matrix", *empty, "-o", "xe.mtx", expect=2)
    check("the output is empty" in err and not os.path.exists("xe.mtx"),
          f"matrix of an empty xla_conv: exit 2 naming it ({err.strip()})")
    _, _, err = run("apply", *empty[:-1], "0,0,-2,0", "-o", "xn.npy", expect=2)
    check("makes the padded input -1" in err, f"xla_conv with a padded input below 0: exit 2 ({err.strip()})")


GROUPS = {name[5:]: f for name, f in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    group = sys.argv[2]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix=f"convmat_cli_{group}_") as d:
        os.chdir(d)
        GROUPS[group]()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s) in group {group}")
        sys.exit(1)
    print(f"group {group}: all checks passed")

#!/usr/bin/python3
"""convmat's benchmark suite (issue 6): every figure next to its baseline, measured in the same run.

    /usr/bin/python3 bench/run.py [--exe build/bench/convmat_bench] [--out bench/results]
                                  [--reps 5] [--rounds 3] [--sections triad,build,...] [--smoke]

Writes OUT/results.md (the tables, the targets, the machine and its background load) and
OUT/results.png. bench/run.sh builds convmat_bench first and runs this with the defaults.

Each measurement runs in `rounds` rounds of `reps` repetitions, convmat (a convmat_bench process)
and its baselines (SciPy, PyTorch, in this process) alternating, so that the load other users put
on the machine falls on both; figures are medians over all repetitions. Before each block the
suite waits (up to --quiet-wait seconds) for the CPUs to be idle, and it records the share of the
CPUs that other processes used while it measured ("background" column).

--smoke runs the same code on tiny layers in seconds and checks that the programs run and agree:
every checksum of W·x, Wᵀ·y and W's values must be equal between convmat, SciPy and PyTorch, and
every time positive (CTest runs it; it is not a benchmark).

Sections add rows; a new one is a method and an entry in SECTIONS.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baselines as bl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Issue 6's layers, and tiny ones of the same kinds for --smoke.
LAYERS = {
    "a": bl.Layer("a", "conv", 1, 1, 512, 9, pad=4),
    "b": bl.Layer("b", "conv", 64, 64, 56, 3, pad=1),
    "c": bl.Layer("c", "transposed", 64, 32, 28, 4, stride=2, pad=1),
}
LARGEST = bl.Layer("largest", "conv", 64, 64, 128, 3, pad=1)
SMOKE_LAYERS = {
    "a": bl.Layer("a", "conv", 1, 1, 40, 9, pad=4),
    "b": bl.Layer("b", "conv", 8, 8, 12, 3, pad=1),
    "c": bl.Layer("c", "transposed", 8, 4, 6, 4, stride=2, pad=1),
}
SMOKE_LARGEST = bl.Layer("largest", "conv", 16, 16, 24, 3, pad=1)
MEMORY_BUDGET = 24 * 2**30

# Targets (issue 6), as ratios in the same run.
BUILD_TARGET = 5.0        # build W for layer b: ≥ 5× faster than SciPy's best construction
WX_TARGET = 0.75          # W·x: ≥ 75 % of the triad
WTY_TARGET = 0.70         # Wᵀ·y: ≥ 70 % of the triad
LSQ_TARGET = 15.0         # least squares to 1e-10: ≥ 15× faster than SciPy's lsqr to 1e-8
# Targets (issue 15), as ratios in the same run.
BLOCKED_BATCH1_TARGET = 1.7    # channel-blocked W·x and Wᵀ·y on layer b vs CSR, batch 1
BLOCKED_BATCH16_TARGET = 1.5   # ... batch 16
BLOCKED_MEMORY_TARGET = 0.35   # W's memory at least 35 % smaller in float32
# Targets (issue 15), as ratios in the same run.
PRECONDITIONED_TARGET = 5.0    # preconditioned least squares to 1e-10 ≥ 5× faster than QR


class CpuLoad:
    """The share of all CPUs used by other processes between start() and stop()."""

    @staticmethod
    def _stat():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields[:8]), idle

    def start(self):
        self.total0, self.idle0 = self._stat()
        t = os.times()
        self.ours0 = t.user + t.system + t.children_user + t.children_system
        return self

    def stop(self):
        total, idle = self._stat()
        t = os.times()
        ours = t.user + t.system + t.children_user + t.children_system
        ticks = os.sysconf("SC_CLK_TCK")
        busy = (total - self.total0) - (idle - self.idle0)
        other = busy / ticks - (ours - self.ours0)
        return max(0.0, other / max((total - self.total0) / ticks, 1e-9))


def wait_for_quiet(max_wait, threshold=0.15):
    """Waits until other processes use less than `threshold` of the CPUs over one second, at
    most max_wait seconds. Returns the seconds waited."""
    t0 = time.time()
    while time.time() - t0 < max_wait:
        load = CpuLoad().start()
        time.sleep(1.0)
        if load.stop() < threshold:
            break
    return time.time() - t0


def median(v):
    return statistics.median(v)


def fmt_time(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_ratio(r):
    return "—" if r is None or not math.isfinite(r) else f"{r:.2f}×"


def gib(b):
    return f"{b / 2**30:.2f} GiB"


class Suite:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.layers = {k: v for k, v in (SMOKE_LAYERS if args.smoke else LAYERS).items()
                       if k in args.layers.split(",")}
        self.largest = SMOKE_LARGEST if args.smoke else LARGEST
        self.reps = args.reps
        self.rounds = args.rounds
        self.sections = {}   # name -> list of row dicts
        self.targets = []    # (target, measured, met, note)
        self.problems = []   # disagreements found by the checks
        self.triad_elements = 2_000_000 if self.smoke else 40_000_000
        self.info = {}

    # --- running things -------------------------------------------------------------------

    def cpp(self, command, *args):
        cmd = [self.args.exe, command, *map(str, args)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def quiet(self):
        if self.args.quiet_wait > 0:
            wait_for_quiet(self.args.quiet_wait)

    def alternate(self, cpp_block, py_block, rounds=None):
        """Runs cpp_block() and py_block() `rounds` times (default --rounds), alternating;
        returns their results (lists, one entry per round) and the background load."""
        cpp_out, py_out, loads = [], [], []
        for _ in range(rounds or self.rounds):
            self.quiet()
            load = CpuLoad().start()
            cpp_out.append(cpp_block())
            if py_block is not None:
                py_out.append(py_block())
            loads.append(load.stop())
        return cpp_out, py_out, statistics.mean(loads)

    def check(self, what, ours, theirs):
        if not np.array_equal(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)):
            self.problems.append(f"{what}: convmat {ours} != {theirs}")

    def target(self, name, measured, goal, unit="×", note=""):
        met = measured >= goal
        if unit == "%":
            text = f"{measured * 100:.0f} % (goal ≥ {goal * 100:.0f} %)"
        else:
            text = f"{measured:.2f}× (goal ≥ {goal:g}×)"
        if not met:
            short = (goal - measured) / goal * 100
            note = f"missed by {short:.0f} %" + (f"; {note}" if note else "")
        self.targets.append((name, text, "met" if met else "**missed**", note))

    # --- sections -------------------------------------------------------------------------

    def section_triad(self):
        """STREAM's triad a = b + s·c on doubles (24 bytes per element), 1 and 2 threads."""
        rows = []
        for threads in (1, 2):
            runs, _, load = self.alternate(
                lambda: self.cpp("triad", "--elements", self.triad_elements, "--threads", threads,
                                 "--reps", self.reps), None)
            t = median(sum((r["seconds"] for r in runs), []))
            gbs = runs[0]["bytes"] / t / 1e9
            rows.append({"threads": threads, "seconds": t, "GB/s": gbs, "load": load})
        self.sections["triad"] = rows

    def section_build(self):
        """Build W (float32) by convmat and by SciPy (direct CSR, COO→CSR)."""
        rows = []
        for name, layer in self.layers.items():
            weight = bl.weight_data(layer, np.float32)
            direct, coo, direct_sys = [], [], []
            checks = {}

            def py():
                t, w = bl.timed(lambda: bl.build_csr_direct(layer, weight), self.reps,
                                system=direct_sys)
                direct.extend(t)
                checks["direct"] = (w.nnz, bl.values_checksum(w))
                del w
                t, w = bl.timed(lambda: bl.build_coo_to_csr(layer, weight),
                                max(1, self.reps // 2))
                coo.extend(t)
                checks["coo"] = (w.nnz, bl.values_checksum(w))
                del w
            runs, _, load = self.alternate(
                lambda: self.cpp("build", *layer.cli_args(), "--dtype", "float",
                                 "--reps", self.reps), py)
            ours = (runs[0]["nnz"], runs[0]["values_checksum"])
            self.check(f"build {name} (direct CSR)", ours, checks["direct"])
            self.check(f"build {name} (COO→CSR)", ours, checks["coo"])
            total = median(sum((r["seconds"] for r in runs), []))
            row = {
                "layer": name, "desc": layer.describe(), "nnz": runs[0]["nnz"],
                "convmat": total,
                "structure": median(sum((r["structure_seconds"] for r in runs), [])),
                "values": median(sum((r["values_seconds"] for r in runs), [])),
                "first": runs[0]["seconds"][0],
                "direct": median(direct), "coo": median(coo), "load": load,
                "system": median(sum((r["system_cpu_seconds"] for r in runs), [])),
                "direct_system": median(direct_sys),
            }
            rows.append(row)
            if name == "b":
                best = min(row["direct"], row["coo"])
                self.target("build W, layer b, vs SciPy's best construction", best / total,
                            BUILD_TARGET, note=self.build_floor_note(layer, row, best))
        self.sections["build"] = rows

    def build_floor_note(self, layer, row, best):
        """Why a build cannot go below a floor: W is written into fresh memory, which the
        operating system zeroes first, so its bytes cross the memory bus twice."""
        rc, _, rs, _ = layer.stored()
        w_bytes = row["nnz"] * 8 + (rc * rs * rs + 1) * 8  # float32 values, int32 columns, row ptrs
        triad = next((r["GB/s"] for r in self.sections.get("triad", []) if r["threads"] == 2),
                     None)
        if triad is None:
            return ""
        floor = 2 * w_bytes / (triad * 1e9)
        return (f"W is {w_bytes / 1e9:.2f} GB written into fresh memory that the kernel zeroes "
                f"first ({fmt_time(row['system'])} of kernel CPU per build): 2 × its bytes at "
                f"the triad's {triad:.1f} GB/s take {fmt_time(floor)}, so no build can be more "
                f"than {best / floor:.1f}× faster than SciPy's {fmt_time(best)}; convmat's "
                f"{fmt_time(row['convmat'])} is {floor / row['convmat']:.0%} of that floor's "
                f"speed. SciPy's best here tiles one channel's rows (groups = 1); against its "
                f"COO→CSR construction ({fmt_time(row['coo'])}) the ratio is "
                f"{row['coo'] / row['convmat']:.1f}×")

    def section_products(self):
        """W·x and Wᵀ·y, batch 1 and 16, float32 and float64, against the triad, SciPy and
        PyTorch (torch.set_num_threads(2), like convmat)."""
        import torch
        torch.set_num_threads(2)
        rows = []
        for name, layer in self.layers.items():
            for dtype, cname in ((np.float32, "float"), (np.float64, "double")):
                w = bl.build_csr_direct(layer, bl.weight_data(layer, dtype))
                for batch in (1, 16):
                    p = bl.Products(layer, dtype, batch, w)
                    times = {k: [] for k in ("scipy_wx", "scipy_wty", "torch_wx", "torch_wty")}
                    sums = {}

                    def py():
                        for k in times:
                            reps = self.reps
                            if k.startswith("scipy") and batch > 1:
                                reps = max(1, reps // 2)  # serial and slow: fewer repetitions
                            t, out = bl.timed(getattr(p, k), reps)
                            times[k].extend(t)
                            sums[k] = bl.Products.batch_checksum(
                                out.numpy() if hasattr(out, "numpy") else out, batch)
                    stored = 1 if batch == 1 else 0  # Wᵀ also as its own CSR, at batch 1
                    runs, _, load = self.alternate(
                        lambda: self.cpp("apply", *layer.cli_args(), "--dtype", cname,
                                         "--batch", batch, "--reps", self.reps,
                                         "--stored-transpose", stored,
                                         "--triad-elements", self.triad_elements), py)
                    r0 = runs[0]
                    triad = r0["triad_bytes"] / median(
                        sum((r["triad_seconds"] for r in runs), [])) / 1e9
                    if stored:
                        self.check(f"stored Wᵀ·y {name} {cname}", r0["wty_checksum"],
                                   r0["wty_stored_transpose_checksum"])
                    for k in ("scipy_wx", "torch_wx"):
                        self.check(f"W·x {name} {cname} batch {batch} vs {k}",
                                   r0["wx_checksum"], sums[k])
                    for k in ("scipy_wty", "torch_wty"):
                        self.check(f"Wᵀ·y {name} {cname} batch {batch} vs {k}",
                                   r0["wty_checksum"], sums[k])
                    for op in ("wx", "wty"):
                        t = median(sum((r[f"{op}_seconds"] for r in runs), []))
                        rows.append({
                            "op": "W·x" if op == "wx" else "Wᵀ·y", "layer": name,
                            "dtype": "f32" if dtype == np.float32 else "f64", "batch": batch,
                            "convmat": t, "GB/s": r0["bytes"] / t / 1e9, "triad": triad,
                            "scipy": median(times[f"scipy_{op}"]),
                            "torch": median(times[f"torch_{op}"]), "load": load,
                            "torch_op": "conv2d" if op == "wx" else "conv_transpose2d",
                            "floor": r0["bytes"] / (triad * 1e9),
                            "stored": median(sum((r["wty_stored_transpose_seconds"]
                                                  for r in runs), []))
                            if op == "wty" and stored else None,
                        })
                del w
        self.sections["products"] = rows
        # Targets: bandwidth at batch 1; transposed convolution (Wᵀ·y) vs conv_transpose2d.
        for op, goal in (("W·x", WX_TARGET), ("Wᵀ·y", WTY_TARGET)):
            sel = [r for r in rows if r["op"] == op and r["batch"] == 1]
            worst = min(sel, key=lambda r: r["GB/s"] / r["triad"])
            self.target(f"{op} bandwidth, batch 1, worst of a, b, c × f32, f64 "
                        f"({worst['layer']} {worst['dtype']})",
                        worst["GB/s"] / worst["triad"], goal, unit="%")
        for r in rows:
            if r["op"] != "Wᵀ·y":
                continue
            note = ""
            if r["floor"] > r["torch"]:
                note = (f"out of reach: reading W once at the triad's bandwidth takes "
                        f"{fmt_time(r['floor'])}, PyTorch needs {fmt_time(r['torch'])}")
            self.target(f"transposed convolution (Wᵀ·y) vs PyTorch conv_transpose2d, layer "
                        f"{r['layer']}, {r['dtype']}, batch {r['batch']}",
                        r["torch"] / r["convmat"], 1.0, note=note)

    def section_refill(self):
        """New weights into an existing W (structure kept) against a full rebuild."""
        rows = []
        for name in ("a", "b"):
            if name not in self.layers:
                continue
            layer = self.layers[name]
            runs, _, load = self.alternate(
                lambda: self.cpp("refill", *layer.cli_args(), "--dtype", "float",
                                 "--reps", self.reps), None)
            refill = median(sum((r["seconds"] for r in runs), []))
            rebuild = median(sum((r["rebuild_seconds"] for r in runs), []))
            rows.append({"layer": name, "nnz": runs[0]["nnz"], "refill": refill,
                         "rebuild": rebuild, "load": load})
        self.sections["refill"] = rows

    def section_largest(self):
        """The largest W (float32): build, memory, products."""
        layer = self.largest
        self.quiet()
        load = CpuLoad().start()
        r = self.cpp("apply", *layer.cli_args(), "--dtype", "float", "--batch", 1,
                     "--reps", self.reps, "--triad-elements", self.triad_elements)
        triad = r["triad_bytes"] / median(r["triad_seconds"]) / 1e9
        load = load.stop()
        wx, wty = median(r["wx_seconds"]), median(r["wty_seconds"])
        self.sections["largest"] = [{
            "desc": layer.describe(), "nnz": r["nnz"], "build": r["build_seconds"],
            "memory": r["memory_bytes"], "peak": r["peak_rss_bytes"], "wx": wx, "wty": wty,
            "wx_gbs": r["bytes"] / wx / 1e9, "wty_gbs": r["bytes"] / wty / 1e9, "load": load,
            "triad": triad,
        }]
        self.target("largest W: peak memory within 24 GiB", MEMORY_BUDGET / r["peak_rss_bytes"],
                    1.0)

    def section_lsq(self):
        """Least squares on the deconvolution problem (128² input, 7×7 Gaussian, no padding,
        consistent y): convmat's QR, Cholesky, LSQR and LSMR against SciPy's lsqr on the same W
        and y. The iterative solvers run once per round (tens of seconds each)."""
        size = 24 if self.smoke else 128
        w, y = bl.lsq_problem(size)
        rounds = 1 if self.smoke else min(self.rounds, 2)
        runs = [("qr", 1e-10), ("cholesky", 1e-10), ("lsqr", 1e-8), ("lsmr", 1e-8),
                ("lsqr", 1e-10), ("lsmr", 1e-10)]
        scipy_runs = (1e-8, 1e-10)

        def cpp():
            out = {}
            for method, btol in runs:
                reps = self.reps if method in ("qr", "cholesky") else 1
                out[method, btol] = self.cpp("lsq", "--method", method, "--btol", btol,
                                             "--size", size, "--reps", reps)
            return out

        def py():
            return {btol: bl.scipy_lsqr(w, y, btol) for btol in scipy_runs}
        cpp_out, py_out, load = self.alternate(cpp, py, rounds)
        r0 = cpp_out[0][runs[0]]
        self.check("least-squares problem: rows, cols, nnz", [r0["rows"], r0["cols"], r0["nnz"]],
                   [w.shape[0], w.shape[1], w.nnz])
        rows = []
        for method, btol in runs:
            last = cpp_out[-1][method, btol]
            if last["status"] != "success" or last["relative_residual"] > 10 * btol:
                self.problems.append(f"lsq {method} to {btol:g}: {last['status']}, relative "
                                     f"residual {last['relative_residual']:.2e}")
            rows.append({"who": "convmat", "method": method, "btol": btol,
                         "seconds": median(sum((o[method, btol]["seconds"] for o in cpp_out), [])),
                         "iterations": last["iterations"], "rank": last["rank"],
                         "residual": last["relative_residual"], "load": load,
                         "size": size, "shape": (r0["rows"], r0["cols"]), "nnz": r0["nnz"]})
        for btol in scipy_runs:
            seconds, itn, rel = py_out[-1][btol]
            if rel > 10 * btol:
                self.problems.append(f"SciPy lsqr to {btol:g}: relative residual {rel:.2e}")
            rows.append({"who": "SciPy", "method": "lsqr", "btol": btol,
                         "seconds": median([o[btol][0] for o in py_out]), "iterations": itn,
                         "rank": -1, "residual": rel, "load": load})
        self.sections["lsq"] = rows
        baseline = next(r for r in rows if r["who"] == "SciPy" and r["btol"] == 1e-8)
        best = min((r for r in rows if r["who"] == "convmat" and r["btol"] == 1e-10),
                   key=lambda r: r["seconds"])
        self.target(f"least squares to 1e-10 ({best['method']}) vs SciPy lsqr to 1e-8",
                    baseline["seconds"] / best["seconds"], LSQ_TARGET)

    def section_oracle(self):
        """The oracle's throughput: random small layers (1-3 d, conv and transposed, groups,
        stride, dilation, padding modes) checked by `check_output` against PyTorch's float32
        outputs, against PyTorch computing those outputs; and the `convmat check` command per
        layer (a process each, .npy files in and out) on a part of them."""
        import tempfile
        import torch
        torch.set_num_threads(2)
        count, cli_count = (50, 10) if self.smoke else (1000, 100)
        rng = np.random.default_rng(2026)
        cases = [bl.OracleCase.random(rng) for _ in range(count)]
        data = [c.data(np.float32) for c in cases]
        calls = [c.torch_call(*(None if a is None else torch.from_numpy(a) for a in d))
                 for c, d in zip(cases, data)]
        with torch.inference_mode():
            outputs = [f().numpy() for f in calls]
        with tempfile.TemporaryDirectory() as tmp:
            configs = os.path.join(tmp, "configs.txt")
            with open(configs, "w") as f:
                f.write("".join(c.line() + "\n" for c in cases))
            candidates = os.path.join(tmp, "candidates.bin")
            np.concatenate([o.ravel() for o in outputs]).astype(np.float64).tofile(candidates)
            torch_times = []

            def py():
                with torch.inference_mode():
                    for _ in range(self.reps):
                        t0 = time.perf_counter()
                        for f in calls:
                            f()
                        torch_times.append(time.perf_counter() - t0)
            runs, _, load = self.alternate(
                lambda: self.cpp("oracle", "--configs", configs, "--candidates", candidates,
                                 "--reps", self.reps), py)
            for r in runs:
                if r["passed"] != count:
                    self.problems.append(f"oracle: {count - r['passed']:.0f} of {count} PyTorch "
                                         "outputs failed check_output")
            cli_seconds = None
            if os.path.exists(self.args.cli):
                cli_seconds = 0.0
                for i, (c, (x, w, b), out) in enumerate(zip(cases[:cli_count], data, outputs)):
                    files = {}
                    for name, a in (("input", x), ("weight", w), ("bias", b), ("candidate", out)):
                        if a is not None:
                            files[name] = os.path.join(tmp, f"{i}_{name}.npy")
                            np.save(files[name], a)
                    cmd = [self.args.cli, "check", *c.cli_args()]
                    for name, path in files.items():
                        cmd += [f"--{name}", path]
                    t0 = time.perf_counter()
                    done = subprocess.run(cmd, capture_output=True, text=True)
                    cli_seconds += time.perf_counter() - t0
                    if done.returncode != 0:
                        self.problems.append(f"convmat check on {c.line()}: exit "
                                             f"{done.returncode}\n{done.stdout}{done.stderr}")
        ours = median(sum((r["seconds"] for r in runs), []))
        self.sections["oracle"] = [{
            "configs": count, "elements": runs[0]["elements"], "convmat": ours,
            "torch": median(torch_times), "load": load, "cli_configs": cli_count,
            "cli": cli_seconds,
            "ranks": [sum(c.rank == r for c in cases) for r in (1, 2, 3)],
            "transposed": sum(c.kind == "transposed" for c in cases),
            "modes": sum(c.mode != "zeros" for c in cases),
        }]

    def section_blocked(self):
        """The channel-blocked W against the CSR W (today's kernels, the baseline), same layer,
        same data, same run: W·x and Wᵀ·y at batch 1 and 16, float32 and float64, W's memory,
        and the transposed convolution against PyTorch's conv_transpose2d."""
        import torch
        torch.set_num_threads(2)
        rows = []
        for name, layer in self.layers.items():
            if name == "a":
                continue  # one output channel: automatic storage keeps CSR there
            for dtype, cname in ((np.float32, "float"), (np.float64, "double")):
                for batch in (1, 16):
                    p = bl.Products(layer, dtype, batch)
                    torch_times = {"torch_wx": [], "torch_wty": []}
                    sums = {}

                    def py():
                        for k in torch_times:
                            t, out = bl.timed(getattr(p, k), self.reps)
                            torch_times[k].extend(t)
                            sums[k] = bl.Products.batch_checksum(out.numpy(), batch)

                    def cpp():
                        return {storage: self.cpp("apply", *layer.cli_args(), "--dtype", cname,
                                                  "--batch", batch, "--reps", self.reps,
                                                  "--storage", storage)
                                for storage in ("csr", "channel_blocked")}
                    runs, _, load = self.alternate(cpp, py)
                    p = None  # its W (SciPy's CSR) is not needed past this point
                    r0 = runs[0]
                    for storage in ("csr", "channel_blocked"):
                        self.check(f"W·x {name} {cname} batch {batch} {storage} vs PyTorch",
                                   r0[storage]["wx_checksum"], sums["torch_wx"])
                        self.check(f"Wᵀ·y {name} {cname} batch {batch} {storage} vs PyTorch",
                                   r0[storage]["wty_checksum"], sums["torch_wty"])
                    row = {"layer": name, "dtype": "f32" if dtype == np.float32 else "f64",
                           "batch": batch, "load": load,
                           "memory_csr": r0["csr"]["memory_bytes"],
                           "memory_blocked": r0["channel_blocked"]["memory_bytes"],
                           "torch_wx": median(torch_times["torch_wx"]),
                           "torch_wty": median(torch_times["torch_wty"])}
                    for storage, key in (("csr", "csr"), ("channel_blocked", "blocked")):
                        for op in ("wx", "wty"):
                            row[f"{key}_{op}"] = median(
                                sum((r[storage][f"{op}_seconds"] for r in runs), []))
                    rows.append(row)
        self.sections["blocked"] = rows
        for r in rows:
            if r["layer"] == "b":
                goal = BLOCKED_BATCH1_TARGET if r["batch"] == 1 else BLOCKED_BATCH16_TARGET
                for op, label in (("wx", "W·x"), ("wty", "Wᵀ·y")):
                    self.target(f"channel-blocked {label} vs CSR, layer b, {r['dtype']}, "
                                f"batch {r['batch']}", r[f"csr_{op}"] / r[f"blocked_{op}"], goal,
                                note=self.blocked_note(r, op))
                if r["dtype"] == "f32" and r["batch"] == 1:
                    self.target("channel-blocked W's memory vs CSR, layer b, f32 (smaller by)",
                                1 - r["memory_blocked"] / r["memory_csr"], BLOCKED_MEMORY_TARGET,
                                unit="%")
            if r["layer"] == "c" and r["batch"] == 16:
                self.target(f"transposed convolution (channel-blocked Wᵀ·y) vs PyTorch "
                            f"conv_transpose2d, layer c, {r['dtype']}, batch 16",
                            r["torch_wty"] / r["blocked_wty"], 1.0)

    def blocked_note(self, r, op):
        """Why a blocked product cannot beat CSR by more: both read W once; at batch 1 the bytes
        bound it, at batch 16 the multiply-adds (one per nonzero and lane)."""
        triad = next((t["GB/s"] for t in self.sections.get("triad", []) if t["threads"] == 2),
                     None)
        if triad is None or r["batch"] != 1:
            return ""
        floor = r["memory_blocked"] / (triad * 1e9)
        return (f"reading the blocked W once at the triad's {triad:.1f} GB/s takes "
                f"{fmt_time(floor)}: at most {r[f'csr_{op}'] / floor:.2f}× over CSR's "
                f"{fmt_time(r[f'csr_{op}'])}")


    def section_preconditioned(self):
        """Preconditioned LSQR/LSMR (the layer's DCT or circulant preconditioner) against QR and
        plain LSQR on the same problem in the same run, to relative residual 1e-10; the answer
        compared with QR's minimum-norm solution; and noisy data (1 %) stopped by the
        discrepancy principle, against plain LSQR's best error to the true x."""
        size = {"gauss": 24, "multi": 16, "stride2": 24} if self.smoke else {}
        rows = []
        problems = ("gauss", "multi", "stride2")
        for problem in problems:
            extra = ["--problem", problem] + (["--size", size[problem]] if size else [])
            runs = [("qr", "none"), ("lsqr", "none"), ("lsqr", "auto"), ("lsmr", "auto")]
            if problem == "gauss":
                runs += [("lsqr", "dct"), ("lsqr", "circulant")]
            if problem == "multi":
                runs += [("lsqr", "dct")]
            rounds = 1 if self.smoke else 2

            def cpp():
                out = {}
                for method, kind in runs:
                    reps = self.reps if method == "qr" or kind != "none" else 1
                    out[method, kind] = self.cpp("lsq", *extra, "--method", method,
                                                 "--btol", 1e-10, "--preconditioner", kind,
                                                 "--reference", 1 if kind != "none" else 0,
                                                 "--reps", reps)
                return out
            cpp_out, _, load = self.alternate(cpp, None, rounds)
            for method, kind in runs:
                last = cpp_out[-1][method, kind]
                if last["status"] != "success" or last["relative_residual"] > 1e-9:
                    self.problems.append(f"preconditioned {problem} {method} {kind}: "
                                         f"{last['status']}, relative residual "
                                         f"{last['relative_residual']:.2e}")
                if kind != "none" and last["reference_error"] > 1e-6:
                    self.problems.append(f"preconditioned {problem} {method} {kind}: "
                                         f"{last['reference_error']:.2e} from QR's solution")
                rows.append({"problem": problem, "method": method, "kind": kind,
                             "used": last["preconditioner"],
                             "seconds": median(sum((o[method, kind]["seconds"]
                                                    for o in cpp_out), [])),
                             "iterations": last["iterations"],
                             "residual": last["relative_residual"],
                             "reference_error": last["reference_error"], "load": load,
                             "shape": (last["rows"], last["cols"]), "nnz": last["nnz"]})
        # Noisy data: 1 % noise on the Gaussian problem.
        extra = ["--problem", "gauss"] + (["--size", size["gauss"]] if size else [])
        noise = []
        for method, kind, more in (("lsqr", "none", ["--best-error", 40 if self.smoke else 150]),
                                   ("lsqr", "auto", []), ("lsmr", "auto", []),
                                   ("cholesky", "none", ["--damp-rule", "gcv"])):
            self.quiet()
            load = CpuLoad().start()
            r = self.cpp("lsq", *extra, "--method", method, "--preconditioner", kind,
                         "--noise", 0.01, "--reps", 1, *more)
            noise.append({"method": method, "kind": kind, "used": r["preconditioner"],
                          "delta": r["preconditioner_delta"], "damp": r["damp"],
                          "iterations": r["iterations"], "error": r["error"],
                          "best_error": r["best_error"], "best_at": r["best_error_iteration"],
                          "seconds": median(r["seconds"]), "stop": r["stop_code"],
                          "load": load.stop()})
        self.sections["preconditioned"] = rows
        self.sections["noise"] = noise
        gauss = {(r["method"], r["kind"]): r for r in rows if r["problem"] == "gauss"}
        best = min((r for r in rows if r["problem"] == "gauss" and r["kind"] != "none"),
                   key=lambda r: r["seconds"])
        self.target(f"preconditioned least squares to 1e-10 ({best['method']}, {best['used']}) "
                    "vs QR, 128² Gaussian (goal: ≤ 50 iterations too)",
                    gauss["qr", "none"]["seconds"] / best["seconds"], PRECONDITIONED_TARGET,
                    note=f"{best['iterations']:.0f} iterations")
        self.target(f"preconditioned iterations to 1e-10 ({best['method']}, {best['used']}), "
                    "128² Gaussian: 50 / iterations", 50 / max(best["iterations"], 1), 1.0)

    SECTIONS = [
        ("triad", section_triad),
        ("build", section_build),
        ("products", section_products),
        ("blocked", section_blocked),
        ("refill", section_refill),
        ("largest", section_largest),
        ("lsq", section_lsq),
        ("preconditioned", section_preconditioned),
        ("oracle", section_oracle),
    ]

    # --- output ---------------------------------------------------------------------------

    def machine(self):
        import scipy
        import torch
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return (f"{cpu}, {os.cpu_count()} CPUs, {gib(mem)} RAM, {platform.system()} "
                f"{platform.release()}; Python {platform.python_version()}, NumPy "
                f"{np.__version__}, SciPy {scipy.__version__}, PyTorch {torch.__version__} "
                f"(2 threads)")

    def markdown(self, command, started, elapsed):
        out = ["# convmat benchmark results", ""]
        if self.smoke:
            out += ["**Smoke run on tiny layers: it checks that the programs run and agree; its "
                    "figures mean nothing.**", ""]
        out.append(f"Command: `{command}`  ")
        out.append(f"Run: {started}, {elapsed / 60:.1f} min; {self.reps} repetitions × "
                   f"{self.rounds} rounds per figure, medians.  ")
        out.append(f"Machine: {self.machine()}.  ")
        out.append("convmat: 2 OpenMP threads; "
                   f"kernels: {self.info.get('simd', '?')}.")
        out.append("")
        out.append("The machine is shared (other engineers compile on it while this runs): "
                   "the *background* column is the share of both CPUs that other processes used "
                   "during that measurement. Baselines ran interleaved with convmat, so both saw "
                   "the same load, but figures with a high background are less reliable.")
        out.append("")
        if self.problems:
            out += ["## Disagreements", ""] + [f"- {p}" for p in self.problems] + [""]
        out += ["## Targets", "", "| target | measured | verdict | note |", "|---|---|---|---|"]
        out += [f"| {t} | {m} | {v} | {n} |" for t, m, v, n in self.targets]
        out.append("")
        if "triad" in self.sections:
            out += ["## Memory bandwidth floor: STREAM triad", "",
                    "a[i] = b[i] + s·c[i] on doubles, 24 bytes per element (STREAM's count).", "",
                    "| threads | time | bandwidth | background |", "|---|---|---|---|"]
            for r in self.sections["triad"]:
                out.append(f"| {r['threads']} | {fmt_time(r['seconds'])} | "
                           f"{r['GB/s']:.1f} GB/s | {r['load']:.0%} |")
            out.append("")
        if "build" in self.sections:
            out += ["## Build W (float32)", "",
                    "convmat: `ConvPattern` (structure) + values, fresh memory each time; SciPy: "
                    "`baselines.build_csr_direct` (CSR computed directly, one channel's rows "
                    "tiled, values one gather) and `build_coo_to_csr` (vectorized triplets, "
                    "`coo_matrix(...).tocsr()`). Ratio = SciPy time / convmat time.", "",
                    "*kernel CPU*: CPU seconds the process spent in the operating system during "
                    "one build (all threads), almost all of it zeroing fresh pages on first "
                    "touch; *first build*: the first one in a fresh process.", "",
                    "| layer | nonzeros | convmat (structure + values) | kernel CPU | first build "
                    "| SciPy direct CSR | kernel CPU | ratio | SciPy COO→CSR | ratio | background |",
                    "|---|---|---|---|---|---|---|---|---|---|---|"]
            for r in self.sections["build"]:
                out.append(
                    f"| {r['layer']}: {r['desc']} | {r['nnz'] / 1e6:.1f} M | "
                    f"{fmt_time(r['convmat'])} ({fmt_time(r['structure'])} + "
                    f"{fmt_time(r['values'])}) | {fmt_time(r['system'])} | "
                    f"{fmt_time(r['first'])} | {fmt_time(r['direct'])} | "
                    f"{fmt_time(r['direct_system'])} | {fmt_ratio(r['direct'] / r['convmat'])} | "
                    f"{fmt_time(r['coo'])} | {fmt_ratio(r['coo'] / r['convmat'])} | "
                    f"{r['load']:.0%} |")
            out.append("")
        if "products" in self.sections:
            out += ["## W·x and Wᵀ·y", "",
                    "Bandwidth = bytes a product must move (W's values, column indices and row "
                    "pointers once, input and output once) / time, against a 2-thread triad "
                    "run in the same process after each repetition (so under the same load). "
                    "SciPy: `W @ x` and `W.T @ y` (serial). PyTorch: `conv2d` / "
                    "`conv_transpose2d` on the same layer and data. Ratios = baseline time / "
                    "convmat time (> 1: convmat faster).", "",
                    "| product | layer | dtype | batch | convmat | bandwidth | triad | ratio | SciPy "
                    "| ratio | PyTorch | ratio | background |",
                    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            stored_rows = []
            for r in self.sections["products"]:
                out.append(
                    f"| {r['op']} | {r['layer']} | {r['dtype']} | {r['batch']} | "
                    f"{fmt_time(r['convmat'])} | {r['GB/s']:.1f} GB/s | {r['triad']:.1f} GB/s | "
                    f"{r['GB/s'] / r['triad']:.0%} | {fmt_time(r['scipy'])} | "
                    f"{fmt_ratio(r['scipy'] / r['convmat'])} | {fmt_time(r['torch'])} "
                    f"({r['torch_op']}) | {fmt_ratio(r['torch'] / r['convmat'])} | "
                    f"{r['load']:.0%} |")
                if r["stored"] is not None:
                    stored_rows.append(
                        f"| {r['layer']} | {r['dtype']} | {fmt_time(r['convmat'])} | "
                        f"{fmt_time(r['stored'])} | {fmt_ratio(r['convmat'] / r['stored'])} |")
            out.append("")
            if stored_rows:
                out += ["### Wᵀ·y: scatter over W against a stored transpose", "",
                        "A second CSR holding Wᵀ (W's memory again) applied with the W·x "
                        "kernels, against `multiply_transposed` on W itself (per-thread "
                        "accumulators, no copy). Ratio > 1: the stored transpose is faster.", "",
                        "| layer | dtype | scatter over W | stored Wᵀ | ratio |",
                        "|---|---|---|---|---|"] + stored_rows + [""]
        if "blocked" in self.sections:
            out += ["## Channel-blocked W against CSR", "",
                    "The same W stored two ways (include/convmat/core/channel_blocked_matrix.hpp): "
                    "CSR (today's kernels, the baseline) and channel-blocked (one column list per "
                    "output position and group, the values of 8 channels together). Same data, "
                    "same run, checksums equal to PyTorch's. Ratio = CSR time / blocked time; "
                    "PyTorch ratio = its time / the blocked time (> 1: convmat faster).", "",
                    "| layer | dtype | batch | W·x CSR | W·x blocked | ratio | Wᵀ·y CSR "
                    "| Wᵀ·y blocked | ratio | PyTorch conv2d | ratio | PyTorch conv_transpose2d "
                    "| ratio | memory CSR → blocked | background |",
                    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for r in self.sections["blocked"]:
                out.append(
                    f"| {r['layer']} | {r['dtype']} | {r['batch']} | {fmt_time(r['csr_wx'])} | "
                    f"{fmt_time(r['blocked_wx'])} | {fmt_ratio(r['csr_wx'] / r['blocked_wx'])} | "
                    f"{fmt_time(r['csr_wty'])} | {fmt_time(r['blocked_wty'])} | "
                    f"{fmt_ratio(r['csr_wty'] / r['blocked_wty'])} | {fmt_time(r['torch_wx'])} | "
                    f"{fmt_ratio(r['torch_wx'] / r['blocked_wx'])} | {fmt_time(r['torch_wty'])} | "
                    f"{fmt_ratio(r['torch_wty'] / r['blocked_wty'])} | "
                    f"{gib(r['memory_csr'])} → {gib(r['memory_blocked'])} "
                    f"(−{1 - r['memory_blocked'] / r['memory_csr']:.0%}) | {r['load']:.0%} |")
            out.append("")
        if "refill" in self.sections:
            out += ["## Refill W with new weights (float32, structure kept)", "",
                    "| layer | nonzeros | refill | full rebuild | ratio | background |",
                    "|---|---|---|---|---|---|"]
            for r in self.sections["refill"]:
                out.append(f"| {r['layer']} | {r['nnz'] / 1e6:.1f} M | {fmt_time(r['refill'])} | "
                           f"{fmt_time(r['rebuild'])} | "
                           f"{fmt_ratio(r['rebuild'] / r['refill'])} | {r['load']:.0%} |")
            out.append("")
        if "largest" in self.sections:
            r = self.sections["largest"][0]
            out += ["## The largest W (float32)", "",
                    f"{r['desc']}: {r['nnz'] / 1e6:.0f} M nonzeros.", "",
                    "| what | convmat | baseline | ratio |", "|---|---|---|---|",
                    f"| W's memory (values + indices + row pointers) | {gib(r['memory'])} | "
                    f"budget {gib(MEMORY_BUDGET)} | {r['memory'] / MEMORY_BUDGET:.0%} of it |",
                    f"| peak resident memory of the process | {gib(r['peak'])} | budget "
                    f"{gib(MEMORY_BUDGET)} | {r['peak'] / MEMORY_BUDGET:.0%} of it |",
                    f"| build (one, cold) | {fmt_time(r['build'])} | — | — |",
                    f"| W·x | {fmt_time(r['wx'])}, {r['wx_gbs']:.1f} GB/s | triad "
                    f"{r['triad']:.1f} GB/s | {r['wx_gbs'] / r['triad']:.0%} |",
                    f"| Wᵀ·y | {fmt_time(r['wty'])}, {r['wty_gbs']:.1f} GB/s | triad "
                    f"{r['triad']:.1f} GB/s | {r['wty_gbs'] / r['triad']:.0%} |", ""]
        if "lsq" in self.sections:
            r0 = self.sections["lsq"][0]
            out += ["## Least squares", "",
                    f"The deconvolution problem: a {r0['size']}×{r0['size']} input, a 7×7 "
                    "Gaussian (σ = 1, normalized), no padding, so W is "
                    f"{r0['shape'][0]:.0f} × {r0['shape'][1]:.0f} ({r0['nnz']:.0f} nonzeros) "
                    "and wide; a consistent "
                    "y = W x for a uniform random x. convmat: `deconvolve(W, y, method)` — QR "
                    "and Cholesky give the minimum-norm solution (QR of Wᵀ; CHOLMOD on W Wᵀ), "
                    "LSQR and LSMR stop at relative residual btol (atol = 0, conlim = 0). SciPy: "
                    "`scipy.sparse.linalg.lsqr` with the same settings. Times include the "
                    "factorization; residuals ‖y − W x̂‖/‖y‖ are recomputed from x̂. Ratio = "
                    "SciPy's lsqr to 1e-8 / this time.", "",
                    "| solver | target | time | relative residual | iterations | ratio "
                    "| background |", "|---|---|---|---|---|---|---|"]
            base = next(r for r in self.sections["lsq"]
                        if r["who"] == "SciPy" and r["btol"] == 1e-8)["seconds"]
            for r in self.sections["lsq"]:
                direct = r["method"] in ("qr", "cholesky")
                target = "exact (min-norm)" if direct else f"btol {r['btol']:g}"
                its = "—" if direct else f"{r['iterations']:,.0f}".replace(",", " ")
                out.append(f"| {r['who']} {r['method']} | {target} | {fmt_time(r['seconds'])} | "
                           f"{r['residual']:.1e} | {its} | {fmt_ratio(base / r['seconds'])} | "
                           f"{r['load']:.0%} |")
            out.append("")
        if "preconditioned" in self.sections:
            rows = self.sections["preconditioned"]
            names = {"gauss": "128² Gaussian 7×7, valid (wide, 1 channel)",
                     "multi": "3→3, 64², random 5×5, valid (wide)",
                     "stride2": "128² Gaussian 7×7, stride 2, valid (wide)"}
            out += ["## Preconditioned least squares", "",
                    "`deconvolve(W, y, method, preconditioner)` to relative residual 1e-10 "
                    "(atol = 0, conlim = 0), consistent y = W x; the preconditioner is built from "
                    "the layer's spec and weight (include/convmat/solve/preconditioner.hpp: "
                    "FFT- or DCT-diagonalized Gram matrix, on the side that keeps the minimum-norm "
                    "answer; its build is in the time). *from QR*: ‖x̂ − x_QR‖/‖x_QR‖, QR's "
                    "minimum-norm solution. Ratio = QR time / this time.", ""]
            for problem in dict.fromkeys(r["problem"] for r in rows):
                sel = [r for r in rows if r["problem"] == problem]
                qr = next(r for r in sel if r["method"] == "qr")
                plain = next(r for r in sel if r["method"] == "lsqr" and r["kind"] == "none")
                out += [f"**{names.get(problem, problem)}**: W {qr['shape'][0]:.0f} × "
                        f"{qr['shape'][1]:.0f}, {qr['nnz']:.0f} nonzeros.", "",
                        "| solver | preconditioner | time | iterations | vs plain LSQR "
                        "| relative residual | from QR | ratio | background |",
                        "|---|---|---|---|---|---|---|---|---|"]
                for r in sel:
                    direct = r["method"] == "qr"
                    its = "—" if direct else f"{r['iterations']:,.0f}".replace(",", " ")
                    fewer = ("—" if direct or r["kind"] == "none" else
                             f"{plain['iterations'] / max(r['iterations'], 1):.1f}× fewer")
                    pre = ("—" if r["kind"] == "none" else
                           r["used"] + (" (auto)" if r["kind"] == "auto" else ""))
                    ref = "—" if r["reference_error"] < 0 else f"{r['reference_error']:.1e}"
                    out.append(f"| {r['method']} | {pre} | {fmt_time(r['seconds'])} | {its} | "
                               f"{fewer} | {r['residual']:.1e} | {ref} | "
                               f"{fmt_ratio(qr['seconds'] / r['seconds'])} | {r['load']:.0%} |")
                out.append("")
        if "noise" in self.sections:
            out += ["### Noisy data: 1 % noise", "",
                    "The Gaussian problem with y = W x + e, ‖e‖ = 0.01‖W x‖. LSQR/LSMR stop by the "
                    "discrepancy principle (‖y − W x_k‖ ≤ 1.01·‖e‖/‖y‖·‖y‖); the preconditioner's "
                    "δ is automatic (the discrepancy damp of the FFT-diagonalized problem). Plain "
                    "LSQR's *best* is the smallest ‖x_k − x‖/‖x‖ over its first iterates — known "
                    "only with the true x. Cholesky: Tikhonov with the damp chosen by GCV "
                    "(FFT-diagonalized: the problem is beyond the dense limit). Error = ‖x̂ − x‖ / "
                    "‖x‖ to the true x (its null-space part is unrecoverable by any method).", "",
                    "| solver | preconditioner / damp | iterations | error at the stop "
                    "| plain LSQR's best error | time | background |",
                    "|---|---|---|---|---|---|---|"]
            for r in self.sections["noise"]:
                if r["method"] == "cholesky":
                    how = f"Tikhonov, GCV damp {r['damp']:.3g}"
                elif r["kind"] == "none":
                    how = "—"
                else:
                    how = f"{r['used']}, δ = {r['delta']:.3g}"
                best = (f"{r['best_error']:.4f} (iteration {r['best_at']:.0f})"
                        if r["best_error"] >= 0 else "—")
                its = "—" if r["method"] == "cholesky" else f"{r['iterations']:.0f}"
                out.append(f"| {r['method']} | {how} | {its} | {r['error']:.4f} | {best} | "
                           f"{fmt_time(r['seconds'])} | {r['load']:.0%} |")
            out.append("")
        if "oracle" in self.sections:
            r = self.sections["oracle"][0]
            out += ["## The oracle's throughput", "",
                    f"{r['configs']} random small layers (ranks 1/2/3: "
                    f"{'/'.join(map(str, r['ranks']))}; {r['transposed']} transposed; "
                    f"{r['modes']} with reflect, replicate or circular padding; groups 1–3, "
                    "stride and dilation 1–2, batch 1–2, bias or not; "
                    f"{r['elements']:.0f} output elements in all), integer-valued data. "
                    "PyTorch computes every output in float32 (`torch.nn.functional`, data "
                    "prepared beforehand); convmat's `check_output` builds W, computes the "
                    "oracle in float64 with each element's tolerance and compares it with "
                    "PyTorch's output (all must pass). Ratio = PyTorch time / convmat time.", "",
                    "| what | layers | convmat | per layer | PyTorch | per layer | ratio "
                    "| background |", "|---|---|---|---|---|---|---|---|",
                    f"| `check_output` vs computing the outputs | {r['configs']} | "
                    f"{fmt_time(r['convmat'])} | {fmt_time(r['convmat'] / r['configs'])} | "
                    f"{fmt_time(r['torch'])} | {fmt_time(r['torch'] / r['configs'])} | "
                    f"{fmt_ratio(r['torch'] / r['convmat'])} | {r['load']:.0%} |"]
            if r["cli"] is not None:
                out.append(f"| the `convmat check` command (a process each, .npy files) | "
                           f"{r['cli_configs']} | {fmt_time(r['cli'])} | "
                           f"{fmt_time(r['cli'] / r['cli_configs'])} | — | — | — | — |")
            out.append("")
        return "\n".join(out)

    def plot(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 4, figsize=(22, 6.5))
        if "build" in self.sections:
            ax = axes[0]
            rows = self.sections["build"]
            x = np.arange(len(rows))
            for i, (key, label) in enumerate((("convmat", "convmat"), ("direct", "SciPy direct"),
                                              ("coo", "SciPy COO→CSR"))):
                ax.bar(x + (i - 1) * 0.27, [r[key] for r in rows], 0.27, label=label)
            ax.set_xticks(x, [f"{r['layer']}\n{r['nnz'] / 1e6:.0f} M nnz" for r in rows])
            ax.set_yscale("log")
            ax.set_ylabel("seconds (log)")
            ax.set_title("build W, float32")
            ax.legend()
        if "products" in self.sections:
            rows = self.sections["products"]
            labels = [f"{r['op']} {r['layer']} {r['dtype']} b{r['batch']}" for r in rows]
            y = np.arange(len(rows))

            def product_panel(ax, bars, xlabel, title):
                for offset, values, label, color in bars:
                    ax.barh(y + offset, values, 0.8 / len(bars), label=label, color=color)
                ax.set_yticks(y, labels, fontsize=7)
                ax.invert_yaxis()
                ax.set_xlabel(xlabel)
                ax.set_title(title)

            product_panel(axes[1], [(0, [r["GB/s"] / r["triad"] * 100 for r in rows], None,
                                     ["C0" if r["op"] == "W·x" else "C1" for r in rows])],
                          "% of the 2-thread triad (same process)", "products: bandwidth")
            axes[1].axvline(WX_TARGET * 100, color="C0", ls="--", lw=1, label="W·x target")
            axes[1].axvline(WTY_TARGET * 100, color="C1", ls=":", lw=1, label="Wᵀ·y target")
            axes[1].legend(fontsize=8)
            product_panel(axes[2], [(-0.2, [r["torch"] / r["convmat"] for r in rows],
                                     "vs PyTorch", "C2"),
                                    (0.2, [r["scipy"] / r["convmat"] for r in rows],
                                     "vs SciPy", "C3")],
                          "speed-up of convmat (baseline time / convmat time, log)",
                          "products: against SciPy and PyTorch")
            axes[2].axvline(1, color="k", lw=1)
            axes[2].set_xscale("log")
            axes[2].legend(fontsize=8)
        if "lsq" in self.sections:
            ax = axes[3]
            rows = self.sections["lsq"]
            ax.barh(np.arange(len(rows)), [r["seconds"] for r in rows],
                    color=["C0" if r["who"] == "convmat" else "C3" for r in rows])
            ax.set_yticks(np.arange(len(rows)),
                          [f"{r['who']} {r['method']}" + ("" if r["method"] in ("qr", "cholesky")
                                                          else f" {r['btol']:g}") for r in rows])
            ax.invert_yaxis()
            ax.set_xscale("log")
            ax.set_xlabel("seconds (log)")
            ax.set_title("least squares, {:.0f}×{:.0f}".format(*rows[0]["shape"]))
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)

    # --- smoke checks ---------------------------------------------------------------------

    def sanity(self):
        """What --smoke asserts beyond the checksums: every figure positive and finite."""
        may_be_zero = {"load", "system", "direct_system"}  # shares and kernel CPU time
        bad = []
        for name, rows in self.sections.items():
            for r in rows:
                for k, v in r.items():
                    if not isinstance(v, float):
                        continue
                    if not math.isfinite(v) or v < 0 or (v == 0 and k not in may_be_zero):
                        bad.append(f"{name} {r}: {k} = {v}")
        return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "bench", "convmat_bench"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--cli", default=None,
                    help="the convmat command for the oracle section (default: cli/convmat next "
                         "to the directory of --exe)")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--sections", default=",".join(n for n, _ in Suite.SECTIONS))
    ap.add_argument("--layers", default="a,b,c", help="which of the layers a, b, c")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="seconds to wait for idle CPUs before each block (default 30, smoke 0)")
    ap.add_argument("--smoke", action="store_true", help="tiny layers, checks only")
    args = ap.parse_args()
    if args.cli is None:
        args.cli = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.exe))),
                                "cli", "convmat")
    if args.reps is None:
        args.reps = 2 if args.smoke else 5
    if args.rounds is None:
        args.rounds = 1 if args.smoke else 3
    if args.quiet_wait is None:
        args.quiet_wait = 0 if args.smoke else 30
    os.makedirs(args.out, exist_ok=True)
    command = " ".join(["/usr/bin/python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    started = time.strftime("%Y-%m-%d %H:%M")
    t0 = time.time()

    suite = Suite(args)
    wanted = args.sections.split(",")
    unknown = set(wanted) - {n for n, _ in Suite.SECTIONS}
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}")
    suite.info["simd"] = suite.cpp("info").get("kernels", "?")
    for name, fn in Suite.SECTIONS:
        if name in wanted:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            fn(suite)

    md = suite.markdown(command, started, time.time() - t0)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    suite.plot(os.path.join(args.out, "results.png"))
    print(md)
    failures = suite.problems + (suite.sanity() if args.smoke else [])
    if failures:
        print("\n".join(["bench: FAILED"] + failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

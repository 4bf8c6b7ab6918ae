#!/usr/bin/python3
"""The distributed W's benchmark (issue 11), every figure next to its baseline in the same run.

    /usr/bin/python3 bench/run_mpi.py [--exe build/bench/convmat_mpi_bench] [--out bench/results]
                                      [--reps 5] [--rounds 3] [--sections strong,weak,logview,paper]
                                      [--smoke]

Writes OUT/mpi.md (tables, targets, the machine and its background load) and OUT/mpi.json.

- strong: layer b (64->64, 3x3, 56x56) and the largest single-machine layer (64->64, 3x3,
  128x128) in float64: the build, W.x, W.T y and one LSQR iteration on 1 and 2 ranks (one thread
  each) against the serial convmat on 1 and 2 threads, alternating in rounds; the memory of each
  rank against W's bytes / ranks + the halo; the checksums of every configuration must agree.
- weak: 1, 2 and 4 ranks (oversubscribed on this 2-core machine: times are not meaningful), a slab
  of 64 rows of a 32->32, 3x3 layer 128 wide per rank: memory per rank and bytes sent per product
  against the model.
- logview: PETSc's own -log_view figures (MatMult, MatMultTranspose) on 2 ranks, layer b.
- paper: the 3-d 32->32, 3^3, 128^3 layer from the layout's counts (no build) and the rates
  measured above: ranks at 16 GB each, halo bytes per product, time per LSQR iteration at a stated
  network bandwidth.

--smoke runs the same code on tiny layers in seconds and only checks that it runs and agrees.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import CpuLoad, fmt_time, median, wait_for_quiet  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The layers as convmat_mpi_bench options (PyTorch's arguments).
def conv(c_in, c_out, size, kernel=3, pad=1):
    return ["--kind", "conv", "--in", str(c_in), "--out", str(c_out), "--size", size,
            "--kernel", str(kernel), "--pad", str(pad)]


STRONG = {"b": conv(64, 64, "56x56"), "largest": conv(64, 64, "128x128")}
SMOKE_STRONG = {"b": conv(8, 8, "12x12"), "largest": conv(16, 16, "24x24")}
WEAK_ROWS, WEAK_WIDTH, WEAK_CHANNELS = 64, 128, 32
PAPER = conv(32, 32, "128x128x128")
RANK_MEMORY = 16e9          # bytes per rank, the paper section's budget
NETWORK = 12.5e9            # bytes/s per link: 100 Gb/s (InfiniBand EDR, 100 GbE)
LATENCY = 2e-6              # s per message or reduction step
# Targets (issue 11).
WX_TARGET = 0.80            # 2-rank W.x at >= 80 % of the 2-thread serial product's speed
MEMORY_TARGET = 1.2         # memory per rank <= 1.2 x (W's bytes / ranks + the halo)
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_mpi_yield_when_idle": "1"}


def gb(b):
    return f"{b / 1e9:.2f} GB"


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows = {}       # section -> list of dicts
        self.targets = []    # (name, measured, verdict, note)
        self.problems = []
        self.loads = []

    def run(self, command, layer, ranks=None, threads=1, env=None, extra=()):
        cmd = [self.args.exe, command, *layer, *extra]
        if ranks is not None:
            cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", *cmd]
        full_env = dict(os.environ, **MPI_ENV, OMP_NUM_THREADS=str(threads), **(env or {}))
        out = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def measure(self, layer, command, **kw):
        return self.run(command, layer, extra=["--reps", str(self.args.reps),
                                               "--lsqr-iterations", str(self.args.iterations)],
                        **kw)

    def target(self, name, measured, goal, at_most=False, note=""):
        met = measured <= goal if at_most else measured >= goal
        self.targets.append((name, f"{measured:.2f} (goal {'≤' if at_most else '≥'} {goal:g})",
                             "met" if met else "**missed**", note))

    # --- strong scaling -------------------------------------------------------------------

    def strong(self):
        # The pairs compared run back to back in each round (1 thread, 1 rank; 2 threads, 2
        # ranks): the machine's memory bandwidth, which bounds every one of these products, moves
        # with other processes' load from minute to minute.
        configs = [("serial, 1 thread", "serial", None, 1), ("1 rank", "distributed", 1, 1),
                   ("serial, 2 threads", "serial", None, 2), ("2 ranks", "distributed", 2, 1)]
        layers = SMOKE_STRONG if self.args.smoke else STRONG
        self.rows["strong"] = []
        for name, layer in layers.items():
            results = {c[0]: [] for c in configs}
            for _ in range(self.args.rounds):
                if self.args.quiet_wait > 0:
                    wait_for_quiet(self.args.quiet_wait)
                load = CpuLoad().start()
                for label, command, ranks, threads in configs:
                    extra = {"threads": threads}
                    if command == "serial":
                        r = self.run(command, layer, extra=["--threads", str(threads), "--reps",
                                                            str(self.args.reps),
                                                            "--lsqr-iterations",
                                                            str(self.args.iterations)], **extra)
                    else:
                        r = self.measure(layer, command, ranks=ranks, **extra)
                    results[label].append(r)
                self.loads.append(load.stop())
            reference = results["serial, 1 thread"][0]
            for label, runs in results.items():
                for r in runs:
                    for key in ("wx_checksum", "wty_checksum"):
                        if r[key] != reference[key]:
                            self.problems.append(f"{name} {label}: {key} {r[key]} != "
                                                 f"{reference[key]}")
                row = {"layer": name, "config": label, "nnz": reference["nnz"],
                       "w_bytes": reference["w_bytes"],
                       "build": median([r["build_seconds"][0] for r in runs]),
                       "wx": median([t for r in runs for t in r["wx_seconds"]]),
                       "wty": median([t for r in runs for t in r["wty_seconds"]]),
                       "lsqr_iteration": median([r["lsqr_seconds"] / r["lsqr_iterations"]
                                                 for r in runs])}
                last = runs[-1]
                if "ranks" in last:
                    ranks = last["ranks"]
                    growth = [p - s for p, s in zip(last["peak_rss_bytes"], last["start_rss_bytes"])]
                    model = [last["w_bytes"] / ranks + 8 * h for h in last["halo_received"]]
                    row.update(ranks=ranks, memory=max(growth),
                               memory_ratio=max(g / m for g, m in zip(growth, model)),
                               bytes_sent=max(last["wx_bytes_sent"]),
                               model_sent=8 * max(last["halo_sent"]),
                               formula=8 * last["interface_halo"])
                else:
                    row.update(memory=last["peak_rss_bytes"])
                self.rows["strong"].append(row)
            by = {r["config"]: r for r in self.rows["strong"] if r["layer"] == name}
            two, serial2 = by["2 ranks"], by["serial, 2 threads"]
            # Also per round, the two run back to back: the spread says how much the load moved.
            paired = sorted(median(s["wx_seconds"]) / median(t["wx_seconds"])
                            for s, t in zip(results["serial, 2 threads"], results["2 ranks"]))
            self.target(f"layer {name}: 2-rank W·x speed / 2-thread serial W·x",
                        serial2["wx"] / two["wx"], WX_TARGET,
                        note="per round: " + ", ".join(f"{r:.2f}" for r in paired))
            self.target(f"layer {name}: memory per rank (2 ranks) / (W's bytes / 2 + halo)",
                        two["memory_ratio"], MEMORY_TARGET, at_most=True)

    # --- weak scaling ---------------------------------------------------------------------

    def weak(self):
        self.rows["weak"] = []
        rows, width, channels = ((8, 16, 4) if self.args.smoke
                                 else (WEAK_ROWS, WEAK_WIDTH, WEAK_CHANNELS))
        for ranks in (1, 2, 4):
            # Output rows = input rows with 3x3 and padding 1: a slab of `rows` rows per rank.
            layer = conv(channels, channels, f"{rows * ranks}x{width}")
            r = self.measure(layer, "distributed", ranks=ranks)
            growth = [p - s for p, s in zip(r["peak_rss_bytes"], r["start_rss_bytes"])]
            model = [r["w_bytes"] / ranks + 8 * h for h in r["halo_received"]]
            self.rows["weak"].append({
                "ranks": ranks, "layer": f"{channels}->{channels}, 3x3, {rows * ranks}x{width}",
                "w_bytes": r["w_bytes"], "memory": max(growth),
                "memory_ratio": max(g / m for g, m in zip(growth, model)),
                "bytes_sent": r["wx_bytes_sent"], "wty_bytes_sent": r["wty_bytes_sent"],
                "model_sent": [8 * h for h in r["halo_sent"]],
                "formula": 8 * r["interface_halo"],
                "wx": median(r["wx_seconds"])})
            if r["wx_bytes_sent"] != [8 * h for h in r["halo_sent"]]:
                self.problems.append(f"weak, {ranks} ranks: bytes sent {r['wx_bytes_sent']} != "
                                     f"the model's {[8 * h for h in r['halo_sent']]}")

    # --- PETSc's -log_view ----------------------------------------------------------------

    def logview(self):
        layer = (SMOKE_STRONG if self.args.smoke else STRONG)["b"]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "log.txt")
            r = self.measure(layer, "distributed", ranks=2,
                             env={"PETSC_OPTIONS": f"-log_view :{path}"})
            with open(path) as f:
                text = f.read()
        self.rows["logview"] = []
        for event in ("MatMult", "MatMultTranspose"):
            m = re.search(rf"^{event}\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)", text,
                          re.M)
            if not m:
                self.problems.append(f"-log_view has no {event} line")
                continue
            count, mess, avg = int(m.group(1)), float(m.group(2)), float(m.group(3))
            self.rows["logview"].append({"event": event, "count": count, "messages": mess,
                                         "average_length": avg,
                                         "bytes_per_product": mess * avg / count,
                                         "counted": sum(r["wx_bytes_sent"])})
        self.rows["logview_lines"] = [line for line in text.splitlines()
                                      if re.match(r"^(MatMult|MatMultTranspose|KSPSolve) ", line)]

    # --- the 3-d layer on paper -----------------------------------------------------------

    def paper(self):
        strong = {(r["layer"], r["config"]): r for r in self.rows.get("strong", [])}
        two = strong.get(("b", "2 ranks"))
        if two is None:
            self.problems.append("paper: needs the strong section's layer b")
            return
        # The memory overhead over the model, from the largest W measured (its fixed costs —
        # libraries, MPI buffers — matter least).
        # Measured per rank: nonzeros per second in W.x and W.T y, and the rest of an LSQR
        # iteration (vector operations) per local entry.
        wx_rate = two["nnz"] / 2 / two["wx"]
        wty_rate = two["nnz"] / 2 / two["wty"]
        b_layer = self.run("model", STRONG["b"], extra=["--ranks", "2"])
        vector_entries = b_layer["max_local_input"] + b_layer["max_local_output"]
        rest = max(0.0, two["lsqr_iteration"] - two["wx"] - two["wty"]) / vector_entries
        largest = strong.get(("largest", "2 ranks"), two)
        memory_factor = 1.0 if self.args.smoke else max(largest["memory_ratio"], 1.0)
        chosen = None
        for ranks in (16, 32, 43, 48, 56, 64, 96, 128):
            m = self.run("model", PAPER, extra=["--ranks", str(ranks)])
            need = m["max_rank_matrix_bytes"] * memory_factor + 8 * 6 * (
                m["max_local_input"] + m["max_local_output"])
            if need <= RANK_MEMORY and chosen is None:
                chosen = (ranks, m, need)
        if chosen is None:
            self.problems.append("paper: no slab count up to 128 fits 16 GB per rank")
            return
        ranks, m, need = chosen
        products = m["max_local_nnz"] / wx_rate + m["max_local_nnz"] / wty_rate
        vectors = rest * (m["max_local_input"] + m["max_local_output"])
        halo = 2 * 8 * m["max_halo_sent"] / NETWORK + 4 * LATENCY
        reductions = 3 * 2 * max(1, (ranks - 1).bit_length()) * LATENCY
        self.rows["paper"] = {
            "ranks": ranks, "nnz": m["nnz"], "w_bytes": m["w_bytes"],
            "max_rank_matrix_bytes": m["max_rank_matrix_bytes"], "need": need,
            "memory_factor": memory_factor, "positions": m["positions"],
            "interface_halo_bytes": 8 * m["interface_halo"],
            "max_sent_bytes": 8 * m["max_halo_sent"], "wx_rate": wx_rate, "wty_rate": wty_rate,
            "products": products, "vectors": vectors, "halo": halo, "reductions": reductions,
            "iteration": products + vectors + halo + reductions,
            "local_nnz": m["max_local_nnz"]}

    # --- the report -----------------------------------------------------------------------

    def markdown(self, command, started, seconds):
        out = ["# The distributed W: benchmark results", "",
               f"`{command}` — started {started}, {seconds / 60:.1f} min, "
               f"{os.cpu_count()} CPUs, other processes' load while measuring "
               f"{100 * statistics.mean(self.loads) if self.loads else 0:.0f} % of the CPUs "
               f"(mean over rounds).", "",
               "Serial: convmat's `ConvMatrix<double>` and `LsqrSolver` with OpenMP threads. "
               "Distributed: `DistributedConvMatrix` (PETSc MATMPIAIJ) and KSPLSQR, one thread per "
               "rank. Times are medians; a distributed time is the slowest rank's. Memory: the "
               "growth of each rank's peak resident memory over the build and the products, "
               "against the model W's bytes / ranks + 8 bytes per halo value.", ""]
        out += ["## Targets", "", "| target | measured | verdict | note |", "|---|---|---|---|"]
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.targets]
        if "strong" in self.rows:
            out += ["", "## Strong scaling (float64)", "",
                    "| layer | nonzeros | configuration | build | W·x | Wᵀ·y | LSQR iteration | "
                    "memory (per rank) | memory / model | bytes sent per W·x (per rank, max) |",
                    "|---|---|---|---|---|---|---|---|---|---|"]
            for r in self.rows["strong"]:
                ratio = f"{r['memory_ratio']:.2f}" if "memory_ratio" in r else "—"
                sent = (f"{r['bytes_sent']:.0f} (model {r['model_sent']:.0f}, formula "
                        f"{r['formula']:.0f})" if "bytes_sent" in r else "—")
                out.append(f"| {r['layer']} | {r['nnz']:.3g} | {r['config']} | "
                           f"{fmt_time(r['build'])} | {fmt_time(r['wx'])} | {fmt_time(r['wty'])} | "
                           f"{fmt_time(r['lsqr_iteration'])} | {gb(r['memory'])} | {ratio} | "
                           f"{sent} |")
        if "weak" in self.rows:
            out += ["", "## Weak scaling (a slab per rank; 4 ranks oversubscribe 2 cores)", "",
                    "| ranks | layer | W | memory per rank (max) | memory / model | bytes sent per "
                    "W·x, per rank | model | formula (interior rank) | bytes sent per Wᵀ·y |",
                    "|---|---|---|---|---|---|---|---|---|"]
            for r in self.rows["weak"]:
                out.append(f"| {r['ranks']} | {r['layer']} | {gb(r['w_bytes'])} | "
                           f"{gb(r['memory'])} | {r['memory_ratio']:.2f} | "
                           f"{', '.join(f'{b:.0f}' for b in r['bytes_sent'])} | "
                           f"{', '.join(f'{b:.0f}' for b in r['model_sent'])} | "
                           f"{r['formula']:.0f} | "
                           f"{', '.join(f'{b:.0f}' for b in r['wty_bytes_sent'])} |")
        if "logview" in self.rows:
            out += ["", "## PETSc's -log_view (2 ranks, layer b)", "",
                    "| event | count | Mess (all ranks) | AvgLen | bytes per product, all ranks "
                    "| counted by convmat_mpi_bench (one W·x) |", "|---|---|---|---|---|---|"]
            for r in self.rows["logview"]:
                out.append(f"| {r['event']} | {r['count']} | {r['messages']:.3g} | "
                           f"{r['average_length']:.4g} | {r['bytes_per_product']:.0f} | "
                           f"{r['counted']:.0f} |")
            out += ["", "```"] + self.rows["logview_lines"] + ["```"]
        if "paper" in self.rows:
            p = self.rows["paper"]
            out += ["", "## On paper: the 3-d layer 32→32, 3³, 128³ (zero padding 1)", "",
                    f"- W: {p['nnz']:.3g} nonzeros, {gb(p['w_bytes'])} in float64 with 32-bit "
                    f"indices (PETSc's scalar; float32 would need two thirds).",
                    f"- Ranks at {gb(RANK_MEMORY)} each: **{p['ranks']}** — the largest share is "
                    f"{gb(p['max_rank_matrix_bytes'])} (slabs are whole planes of the "
                    f"{p['positions']} along D), times the measured memory factor "
                    f"{p['memory_factor']:.2f}, plus six vectors: {gb(p['need'])}.",
                    f"- Halo per W·x: {p['interface_halo_bytes'] / 1e6:.1f} MB per interface "
                    f"((k−1)·d + 1 − s = 2 planes of 32 × 128² values), an interior rank sends "
                    f"{p['max_sent_bytes'] / 1e6:.1f} MB per product (one plane to each "
                    f"neighbour).",
                    f"- Time per LSQR iteration on {p['ranks']} ranks at "
                    f"{NETWORK / 1e9:.1f} GB/s per link and {LATENCY * 1e6:.0f} µs latency, from "
                    f"the per-rank rates measured on layer b (W·x {p['wx_rate'] / 1e6:.0f} M "
                    f"nonzeros/s, Wᵀ·y {p['wty_rate'] / 1e6:.0f} M nonzeros/s on one core): "
                    f"products {p['products']:.2f} s ({p['local_nnz']:.3g} nonzeros per rank), "
                    f"vector operations {p['vectors'] * 1e3:.0f} ms, halo {p['halo'] * 1e3:.1f} ms, "
                    f"reductions {p['reductions'] * 1e6:.0f} µs: about **{p['iteration']:.2f} s** "
                    f"— the products dominate; communication is under "
                    f"{100 * (p['halo'] + p['reductions']) / p['iteration']:.1f} %."]
        if self.problems:
            out += ["", "## Problems", ""] + [f"- {p}" for p in self.problems]
        return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "bench", "convmat_mpi_bench"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--iterations", type=int, default=20, help="LSQR iterations timed")
    ap.add_argument("--sections", default="strong,weak,logview,paper")
    ap.add_argument("--quiet-wait", type=float, default=None,
                    help="seconds to wait for idle CPUs before each round (default 30, smoke 0)")
    ap.add_argument("--smoke", action="store_true", help="tiny layers, checks only")
    args = ap.parse_args()
    args.reps = args.reps or (2 if args.smoke else 5)
    args.rounds = args.rounds or (1 if args.smoke else 3)
    if args.quiet_wait is None:
        args.quiet_wait = 0 if args.smoke else 30
    os.makedirs(args.out, exist_ok=True)
    command = " ".join(["/usr/bin/python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.time()
    bench = Bench(args)
    for name in args.sections.split(","):
        print(f"[bench mpi] {name} ...", file=sys.stderr, flush=True)
        getattr(bench, name)()
    md = bench.markdown(command, started, time.time() - t0)
    if not args.smoke:
        with open(os.path.join(args.out, "mpi.md"), "w") as f:
            f.write(md + "\n")
        with open(os.path.join(args.out, "mpi.json"), "w") as f:
            json.dump({"rows": bench.rows, "targets": bench.targets}, f, indent=1)
    print(md)
    if bench.problems:
        print("\n".join(["bench mpi: FAILED"] + bench.problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

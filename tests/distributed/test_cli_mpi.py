"""`convmat-mpi apply|deconv|analyze` against `convmat`, with 1, 2 and 3 ranks, and bad input on
one rank ending every rank with the same message.

Runs outside MPI: each test starts mpirun itself ($CONVMAT_MPIEXEC) on convmat-mpi
($CONVMAT_MPI_CLI) and compares with convmat ($CONVMAT_CLI) in the same directory. A rank's
stderr is read from its own file (mpirun --output-filename DIR: DIR/1/rank.N/stderr). Different
arguments per rank use mpirun's MPMD form "-n 1 A : -n 1 B : ...". A hang is killed by the timeout
and fails the test.
"""

import glob
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import numpy as np

MPIEXEC = os.environ["CONVMAT_MPIEXEC"]
MPI_CLI = os.environ["CONVMAT_MPI_CLI"]
INTERRUPT_DRIVER = os.environ["CONVMAT_MPI_INTERRUPT_DRIVER"]
CLI = os.environ["CONVMAT_CLI"]
TIMEOUT = 120
EPS = np.finfo(np.float64).eps


def mpirun(ranks, args, cwd, per_rank=None):
    """(exit status, stdout, {rank: stderr lines}). per_rank: a list of argument lists, one per
    rank (MPMD), instead of `args` on every rank."""
    with tempfile.TemporaryDirectory() as out:
        command = [MPIEXEC, "--oversubscribe", "--output-filename", out]
        if per_rank is None:
            command += ["-n", str(ranks), MPI_CLI] + args
        else:
            for i, a in enumerate(per_rank):
                command += ([":"] if i else []) + ["-n", "1", MPI_CLI] + a
        job = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)
        lines = {}
        for rank in range(ranks):
            path = os.path.join(out, "1", f"rank.{rank}", "stderr")
            if os.path.exists(path):
                with open(path) as f:
                    lines[rank] = [line for line in f.read().splitlines() if line.strip()]
        stdout = ""
        path = os.path.join(out, "1", "rank.0", "stdout")
        if os.path.exists(path):
            with open(path) as f:
                stdout = f.read()
    return job.returncode, stdout, lines


def serial(args, cwd):
    job = subprocess.run([CLI] + args, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)
    return job.returncode, job.stdout, job.stderr


# Layers: (flags, x shape, weight shape, bias channels or None); integer-valued data.
LAYERS = [
    (["--op", "conv2d", "--padding", "1", "--stride", "2"], (2, 3, 11, 9), (4, 3, 3, 3), 4),
    (["--op", "conv2d", "--padding", "2,0", "--dilation", "2", "--groups", "2",
      "--padding-mode", "circular"], (1, 4, 7, 6), (2, 2, 3, 2), None),
    (["--op", "conv_transpose2d", "--stride", "2", "--output-padding", "1"], (2, 3, 5, 4),
     (3, 2, 3, 3), 2),
    (["--op", "conv1d", "--stride", "3", "--padding", "2"], (3, 2, 13), (5, 2, 4), 5),
    (["--op", "conv3d", "--padding", "1"], (1, 2, 5, 4, 3), (3, 2, 3, 2, 3), None),
    # More ranks than output rows along the split axis (2 rows, 3 ranks).
    (["--op", "conv2d"], (1, 2, 4, 6), (2, 2, 3, 3), 2),
]


class ApplyEqualsConvmat(unittest.TestCase):
    def test_integer_data_byte_identical(self):
        rng = np.random.default_rng(11)
        with tempfile.TemporaryDirectory() as d:
            for i, (flags, xs, ws, bias) in enumerate(LAYERS):
                np.save(f"{d}/x.npy", rng.integers(-5, 6, xs).astype(np.float64))
                np.save(f"{d}/w.npy", rng.integers(-3, 4, ws).astype(np.float64))
                args = ["apply"] + flags + ["--input", "x.npy", "--weight", "w.npy"]
                if bias:
                    np.save(f"{d}/b.npy", rng.integers(-3, 4, (bias,)).astype(np.float64))
                    args += ["--bias", "b.npy"]
                status, _, err = serial(args + ["-o", "y.npy"], d)
                self.assertEqual(status, 0, err)
                with open(f"{d}/y.npy", "rb") as f:
                    expected = f.read()
                for ranks in (1, 2, 3):
                    with self.subTest(layer=i, ranks=ranks):
                        status, _, lines = mpirun(ranks, args + ["-o", f"y{ranks}.npy"], d)
                        self.assertEqual(status, 0, lines)
                        with open(f"{d}/y{ranks}.npy", "rb") as f:
                            self.assertEqual(f.read(), expected)
            self.assertEqual(glob.glob(f"{d}/*.tmp-*"), [])

    def test_float_data_within_rounding(self):
        # float32 input and weight: float32 output, as convmat writes it; the products are
        # float64 in both, summed in another order: each value within 2·taps·ε·max|w|·max|x|
        # before the rounding to float32, which both round alike or one ulp apart.
        rng = np.random.default_rng(12)
        with tempfile.TemporaryDirectory() as d:
            for i, (flags, xs, ws, _) in enumerate(LAYERS[:3]):
                x = rng.standard_normal(xs).astype(np.float32)
                w = rng.standard_normal(ws).astype(np.float32)
                np.save(f"{d}/x.npy", x)
                np.save(f"{d}/w.npy", w)
                args = ["apply"] + flags + ["--input", "x.npy", "--weight", "w.npy"]
                status, _, err = serial(args + ["-o", "y.npy"], d)
                self.assertEqual(status, 0, err)
                y = np.load(f"{d}/y.npy")
                taps = int(np.prod(ws[1:])) * max(1, xs[1] // ws[1] if "transpose" in flags[1]
                                                  else 1)
                bound = 2 * taps * EPS * np.abs(w).max() * np.abs(x).max()
                ulp = np.spacing(np.abs(y).astype(np.float32))
                for ranks in (1, 3):
                    with self.subTest(layer=i, ranks=ranks):
                        status, _, lines = mpirun(ranks, args + ["-o", "yd.npy"], d)
                        self.assertEqual(status, 0, lines)
                        yd = np.load(f"{d}/yd.npy")
                        self.assertEqual((yd.shape, yd.dtype), (y.shape, y.dtype))
                        self.assertTrue(np.all(np.abs(yd - y) <= bound + ulp))


class DeconvAndAnalyzeEqualConvmat(unittest.TestCase):
    @staticmethod
    def abs_norm_bound(w, groups=1):
        """A bound on ‖|W|‖₂ (and so on ‖W‖₂) from the weight alone: √(‖|W|‖₁·‖|W|‖∞), the
        largest column and row sums of |W| being at most the largest per-input-channel and
        per-output-channel sums of |w| (groups = 1)."""
        a = np.abs(w)
        return np.sqrt(a.sum(axis=(0, 2, 3)).max() * a.sum(axis=(1, 2, 3)).max())

    def test_deconv_lsqr(self):
        # A damped blur's inverse by LSQR: the same stop, iterations within one. Each tool reports
        # the gradient g = Wᵀ(y − W x) − λ²x recomputed from the x it returns; with
        # ĀᵀĀ = WᵀW + λ²I, x − x* = (ĀᵀĀ)⁻¹(−g), so each x is within ‖g‖ / (σ_min² + λ²) of the
        # exact damped solution x*, and the two within the sum (σ_min from `convmat analyze
        # --spectrum dense`), plus the rounding of g's recomputation, γ·(‖|W|‖·‖b‖ +
        # (‖|W|‖² + λ²)·‖x‖) with γ = (terms per row + terms per column + 3)·ε. The residuals
        # ‖b − W x‖ then differ by at most σ_max times that, plus their own rounding.
        rng = np.random.default_rng(13)
        damp = 0.5
        with tempfile.TemporaryDirectory() as d:
            w = rng.uniform(0.5, 1.0, (2, 2, 3, 3))
            bias = np.array([0.25, -0.5])
            y = rng.standard_normal((2, 2, 9, 8))
            np.save(f"{d}/w.npy", w)
            np.save(f"{d}/b.npy", bias)
            np.save(f"{d}/y.npy", y)
            layer = ["--op", "conv2d", "--padding", "1", "--weight", "w.npy"]
            args = ["deconv"] + layer + ["--input-shape", "2,2,9,8", "--bias", "b.npy",
                                         "--observed", "y.npy", "--damp", str(damp), "--atol",
                                         "1e-9", "--btol", "1e-9", "--json"]
            status, out, err = serial(["analyze"] + layer + ["--input-shape", "1,2,9,8",
                                                             "--spectrum", "dense", "--json"], d)
            self.assertEqual(status, 0, err)
            spectrum = json.loads(out)["spectrum"]
            s_max, s_min = spectrum["sigma_max"], spectrum["sigma_min"]
            status, out, err = serial(args + ["--method", "lsqr", "-o", "x.npy"], d)
            self.assertEqual(status, 0, err)
            s = json.loads(out)
            x = np.load(f"{d}/x.npy")
            b_norm = np.linalg.norm(y - bias[None, :, None, None])
            a_abs = self.abs_norm_bound(w)
            terms = w[0].size + w[:, 0].size
            gamma = (terms + 3) * EPS
            g_rounding = gamma * (a_abs * b_norm + (a_abs ** 2 + damp ** 2) * np.linalg.norm(x))
            for ranks in (1, 2, 3):
                with self.subTest(ranks=ranks):
                    status, out, lines = mpirun(ranks, args + ["-o", "xd.npy"], d)
                    self.assertEqual(status, 0, lines)
                    j = json.loads(out)
                    self.assertEqual((j["status"], j["stop_code"]), (s["status"], s["stop_code"]))
                    self.assertLessEqual(abs(j["iterations"] - s["iterations"]), 1)
                    xd = np.load(f"{d}/xd.npy")
                    self.assertEqual(xd.shape, x.shape)
                    x_bound = (s["normal_residual_norm"] + j["normal_residual_norm"] +
                               2 * g_rounding) / (s_min ** 2 + damp ** 2)
                    self.assertLessEqual(np.linalg.norm(xd - x), x_bound)
                    r_bound = s_max * x_bound + 2 * gamma * (b_norm + a_abs * np.linalg.norm(x))
                    self.assertLessEqual(abs(j["residual_norm"] - s["residual_norm"]), r_bound)

    def test_analyze_singular_values(self):
        # SLEPc's values against LAPACK's (`convmat analyze --spectrum dense`, backward stable:
        # exact here to max(m, n)·ε·σ_max). Both Lanczos codes stop at a relative residual of
        # tol = 1e-10 (PartialSpectrumOptions' default; convmat analyze has no flag for it), which
        # bounds a singular value's error by tol·σ; the Gram matrix's rounding adds
        # max(m, n)·ε·σ_max² / σ = rounding_level² / σ (the library's rounding_level, √(max(m, n)·ε)
        # ·σ_max), the shift-invert's shift δ ≤ 1e-10·‖|W|‖₁‖|W|‖∞ another tol·δ / σ. The condition
        # number follows from the two ends' relative errors. A factor 2 on the sum: the solvers
        # test their own running estimate of the residual, not the residual recomputed.
        tol, shift = 1e-10, 1e-10
        rng = np.random.default_rng(14)
        with tempfile.TemporaryDirectory() as d:
            w = rng.standard_normal((3, 2, 3, 3))
            np.save(f"{d}/w.npy", w)
            args = ["analyze", "--op", "conv2d", "--padding", "1", "--input-shape", "1,2,10,9",
                    "--weight", "w.npy", "--count", "2", "--json"]
            status, out, err = serial(args + ["--spectrum", "dense"], d)
            self.assertEqual(status, 0, err)
            dense = json.loads(out)
            values = np.array(dense["spectrum"]["values"])
            status, out, err = serial(args + ["--spectrum", "lanczos"], d)
            self.assertEqual(status, 0, err)
            s = json.loads(out)["spectrum"]
            level = s["rounding_level"]
            a_abs = self.abs_norm_bound(w)
            delta = shift * a_abs ** 2

            def bound(sigma):
                return 2 * (tol * sigma + (level ** 2 + tol * delta) / sigma)

            largest, smallest = values[:2], np.sort(values)[:2]
            for ranks in (1, 2, 3):
                with self.subTest(ranks=ranks):
                    status, out, lines = mpirun(ranks, args, d)
                    self.assertEqual(status, 0, lines)
                    j = json.loads(out)
                    self.assertEqual(j["matrix"]["nnz"], dense["matrix"]["nnz"])
                    p = j["spectrum"]
                    self.assertEqual(p["method"], "lanczos")
                    self.assertTrue(np.all(np.abs(np.array(p["largest"]) - largest) <=
                                           bound(largest)), (p["largest"], largest))
                    self.assertTrue(np.all(np.abs(np.array(p["smallest"]) - smallest) <=
                                           bound(smallest)), (p["smallest"], smallest))
                    self.assertEqual(p["rank"], s["rank"])
                    relative = bound(largest[0]) / largest[0] + bound(smallest[0]) / smallest[0]
                    kappa = largest[0] / smallest[0]
                    self.assertLessEqual(abs(p["condition_number"] - kappa),
                                         2 * relative * kappa)


class BadInputEndsEveryRank(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.d = self.dir.name
        rng = np.random.default_rng(15)
        np.save(f"{self.d}/x.npy", rng.integers(-5, 6, (1, 2, 9, 7)).astype(np.float64))
        np.save(f"{self.d}/x_other.npy", rng.integers(-5, 6, (1, 2, 8, 7)).astype(np.float64))
        np.save(f"{self.d}/w.npy", rng.integers(-3, 4, (3, 2, 3, 3)).astype(np.float64))
        self.apply = ["apply", "--op", "conv2d", "--weight", "w.npy", "-o", "y.npy"]

    def tearDown(self):
        self.dir.cleanup()

    def check(self, ranks, message, args=None, per_rank=None):
        """Non-zero exit, every rank's last stderr line is `message`, no output, no temp file."""
        status, _, lines = mpirun(ranks, args, self.d, per_rank)
        self.assertNotEqual(status, 0)
        for rank in range(ranks):
            self.assertEqual(lines.get(rank, [""])[-1], message, f"rank {rank}: {lines}")
        self.assertFalse(os.path.exists(f"{self.d}/y.npy"))
        self.assertEqual(glob.glob(f"{self.d}/*.tmp-*"), [])

    def test_a_file_missing_on_one_rank(self):
        for ranks in (2, 3):
            with self.subTest(ranks=ranks):
                per_rank = [self.apply + ["--input", "x.npy"]] * ranks
                per_rank[ranks - 1] = self.apply + ["--input", "absent.npy"]
                self.check(ranks, f"convmat-mpi apply: rank {ranks - 1}: absent.npy: cannot open: "
                           "No such file or directory", per_rank=per_rank)

    def test_a_shape_mismatch_on_one_rank(self):
        for ranks in (2, 3):
            with self.subTest(ranks=ranks):
                per_rank = [self.apply + ["--input", "x.npy"]] * ranks
                per_rank[1] = self.apply + ["--input", "x_other.npy"]
                status, _, lines = mpirun(ranks, None, self.d, per_rank)
                self.assertNotEqual(status, 0)
                self.assertEqual({lines[r][-1] for r in range(ranks)},
                                 {lines[0][-1]})  # the same message on every rank
                self.assertTrue(lines[0][-1].startswith(
                    "convmat-mpi apply: rank 1: the ranks read different inputs: this rank has "
                    "conv2d"), lines)
                self.assertIn("(1, 2, 8, 7) float64", lines[0][-1])
                self.assertIn("rank 0 has", lines[0][-1])
                self.assertFalse(os.path.exists(f"{self.d}/y.npy"))
                self.assertEqual(glob.glob(f"{self.d}/*.tmp-*"), [])

    def test_a_layer_refused(self):
        for ranks in (2, 3):
            with self.subTest(ranks=ranks):
                status, _, lines = mpirun(ranks, self.apply + ["--input", "x.npy", "--groups",
                                                               "2"], self.d)
                self.assertNotEqual(status, 0)
                last = {lines[r][-1] for r in range(ranks)}
                self.assertEqual(len(last), 1, lines)
                self.assertTrue(last.pop().startswith("convmat-mpi apply: rank 0: "))

    def test_a_layer_in_other_layouts_is_refused(self):
        # The slabs are cut from (N, C, *spatial) files: a channels-last file would be cut wrong.
        np.save(f"{self.d}/x_nhwc.npy", np.zeros((1, 9, 7, 2)))
        np.save(f"{self.d}/w_ohwi.npy", np.zeros((3, 3, 3, 2)))
        apply = ["apply", "--op", "conv2d", "-o", "y.npy"]
        for files, fmt in ((["--input", "x_nhwc.npy", "--weight", "w.npy"],
                            ["--data-format", "NHWC"]),
                           (["--input", "x.npy", "--weight", "w_ohwi.npy"],
                            ["--weight-format", "OHWI"])):
            with self.subTest(fmt=fmt):
                status, _, lines = mpirun(2, apply + files + fmt, self.d)
                self.assertNotEqual(status, 0)
                last = {lines[r][-1] for r in range(2)}
                self.assertEqual(len(last), 1, lines)
                message = last.pop()
                self.assertTrue(message.startswith(
                    "convmat-mpi apply: rank 0: convmat-mpi reads and writes convmat's own "
                    "layouts only"), message)
                self.assertIn(fmt[1], message)
                self.assertFalse(os.path.exists(f"{self.d}/y.npy"))

    def test_solver_flags_the_distributed_solver_does_not_take(self):
        np.save(f"{self.d}/yo.npy", np.zeros((1, 3, 7, 5)))
        deconv = ["deconv", "--op", "conv2d", "--input-shape", "1,2,9,7", "--weight", "w.npy",
                  "--observed", "yo.npy", "-o", "y.npy"]
        self.check(2, "convmat-mpi deconv: rank 0: --preconditioner dct: the distributed LSQR "
                   "takes no preconditioner; omit it or give none",
                   deconv + ["--preconditioner", "dct"])
        self.check(2, "convmat-mpi deconv: rank 0: --method qr: convmat-mpi solves by LSQR "
                   "(PETSc's KSPLSQR) only; use --method lsqr or omit it (convmat deconv has qr, "
                   "cholesky and lsmr on one machine)", deconv + ["--method", "qr"])

    def test_a_target_that_exists_is_kept_on_failure(self):
        with open(f"{self.d}/y.npy", "w") as f:
            f.write("old")
        per_rank = [self.apply + ["--input", "x.npy"], self.apply + ["--input", "absent.npy"]]
        status, _, _ = mpirun(2, None, self.d, per_rank)
        self.assertNotEqual(status, 0)
        with open(f"{self.d}/y.npy") as f:
            self.assertEqual(f.read(), "old")
        os.remove(f"{self.d}/y.npy")


class InterruptLeavesNoTemporaryFile(unittest.TestCase):
    """A signal while the output is unfinished: rank 0's temporary file is removed, an existing
    target kept. The driver (tests/distributed/interrupt_driver.cpp) is convmat-mpi whose rank 0
    stops itself (SIGSTOP) right after writing the header into its temporary file, the other ranks
    waiting for it; the test waits for that stop, then signals, so the signal arrives at that
    point on every run whatever the machine's load."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.d = self.dir.name
        rng = np.random.default_rng(16)
        np.save(f"{self.d}/x.npy", rng.integers(-5, 6, (1, 2, 9, 7)).astype(np.float64))
        np.save(f"{self.d}/w.npy", rng.integers(-3, 4, (3, 2, 3, 3)).astype(np.float64))

    def tearDown(self):
        self.dir.cleanup()

    def interrupt(self, sig, existing=None):
        """Runs the driver on 2 ranks, signals rank 0 (then SIGCONT) once it has stopped; checks
        the outcome: rank 0 removes its temporary file and ends by the signal, mpirun ends the
        other rank."""
        if existing is not None:
            with open(f"{self.d}/y.npy", "w") as f:
                f.write(existing)
        job = subprocess.Popen(
            [MPIEXEC, "--oversubscribe", "-n", "2", INTERRUPT_DRIVER, "apply", "--op", "conv2d",
             "--input", "x.npy", "--weight", "w.npy", "-o", "y.npy"],
            cwd=self.d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            rank0 = self.wait_for_stopped_child(job)
            self.assertEqual(len(glob.glob(f"{self.d}/y.npy.tmp-*")), 1,
                             "rank 0 stops after creating its temporary file")
            os.kill(rank0, sig)
            os.kill(rank0, signal.SIGCONT)
            _, err = job.communicate(timeout=TIMEOUT)
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()
        self.assertNotEqual(job.returncode, 0, err)
        self.assertEqual(glob.glob(f"{self.d}/*.tmp-*"), [], err)
        if existing is None:
            self.assertFalse(os.path.exists(f"{self.d}/y.npy"))
        else:
            with open(f"{self.d}/y.npy") as f:
                self.assertEqual(f.read(), existing)

    def wait_for_stopped_child(self, job):
        """The pid of mpirun's child in the stopped state (rank 0 at its SIGSTOP)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if job.poll() is not None:
                self.fail(f"the job ended before rank 0 stopped: {job.stderr.read()}")
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read()
                except OSError:
                    continue
                state, parent = stat[stat.rindex(")") + 2:].split()[:2]
                if state == "T" and int(parent) == job.pid:
                    return int(entry)
            time.sleep(0.02)  # polls a condition; the signal is only sent once it holds
        self.fail("rank 0 did not stop")

    def test_a_signal_to_rank_0(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with self.subTest(signal=sig.name):
                self.interrupt(sig)

    def test_an_existing_target_is_kept(self):
        self.interrupt(signal.SIGTERM, existing="old")


if __name__ == "__main__":
    unittest.main()

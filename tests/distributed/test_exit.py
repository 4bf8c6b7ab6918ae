"""Bad input on one rank ends every rank of an mpirun job with the same message and a non-zero
exit status, never a hang.

This module runs outside MPI: each test starts `mpirun -n 3` on a small script (the path of
mpirun is $CONVMAT_MPIEXEC) that passes convmat.petsc bad input on one rank and does not catch
the error, then reads each rank's stderr from its own file. A job that hangs is
killed by the timeout and fails the test.
"""

import os
import subprocess
import sys
import tempfile
import unittest

RANKS = 3
TIMEOUT = 120  # seconds; the job itself takes about 2 s

PROLOGUE = """
import numpy as np
from petsc4py import PETSc
import convmat.petsc as cp
rank = PETSc.COMM_WORLD.rank
M = cp.conv_matrix(np.ones((2, 1, 3, 3)), (9, 5))
"""


def run_job(body):
    """(exit status, {rank: [stderr lines]}) of `mpirun -n RANKS python -c PROLOGUE + body`.

    Each rank's stderr is read from its own file (--output-filename DIR writes
    DIR/1/rank.N/stderr): lines tagged on mpirun's merged stream can be split mid-line when
    ranks write at once.
    """
    with tempfile.TemporaryDirectory() as out:
        command = [os.environ["CONVMAT_MPIEXEC"], "-n", str(RANKS), "--oversubscribe",
                   "--output-filename", out, sys.executable, "-c", PROLOGUE + body]
        job = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
        lines = {}
        for rank in range(RANKS):
            path = os.path.join(out, "1", f"rank.{rank}", "stderr")
            if os.path.exists(path):
                with open(path) as f:
                    lines[rank] = [line for line in f.read().splitlines() if line.strip()]
    return job.returncode, lines


class BadInputEndsEveryRank(unittest.TestCase):
    def check(self, body, message, whole=True):
        """Every rank's last stderr line is `message` (whole=False: begins with it)."""
        status, lines = run_job(body)
        self.assertNotEqual(status, 0)
        for rank in range(RANKS):
            last = lines.get(rank, [""])[-1]
            self.assertTrue(last == message if whole else last.startswith(message),
                            f"rank {rank}'s stderr: {lines.get(rank)}")

    def test_a_wrong_slab_on_the_last_rank(self):
        # Rank 2's slab has one position too many along the first axis; ranks 0 and 1 are right.
        # The 7 output rows split 0, 2, 4, 7 and the 9 input positions (3x3 kernel, stride 1, so
        # a slab reaches one position past its rows: slab_layout.hpp) 0, 3, 5, 9: rank 2 has 4.
        self.check(f"""
b, e = cp.layout(M)["input_slab"]
extra = 1 if rank == {RANKS - 1} else 0
cp.from_local(M, np.zeros((1, e - b + extra, 5)))
""", f"ValueError: rank {RANKS - 1}: from_local: this rank's slab of the layer's input has shape "
           f"1x4x5, got 1x5x5")

    def test_a_wrong_sample_shape_on_rank_0(self):
        self.check("""
cp.scatter(M, np.zeros((1, 9, 4)) if rank == 0 else None)
""", "ValueError: rank 0: scatter: the layer's input has shape 1x9x5, got 1x9x4")

    def test_a_rank_over_its_memory_limit(self):
        # Every rank is over a 1000-byte limit; the lowest, rank 0, is the one named.
        self.check("""
cp.conv_matrix(np.ones((2, 1, 3, 3)), (9, 5), max_memory=1000)
""", "convmat._convmat.MemoryLimitExceeded: rank 0: this rank's share of the layer needs", whole=False)


if __name__ == "__main__":
    unittest.main()

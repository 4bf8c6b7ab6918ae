#!/usr/bin/python3
"""A downstream project against an install of this build into a temporary prefix:

    downstream_test.py SOURCE_DIR BUILD_DIR CXX_COMPILER VERSION

1. `cmake --install BUILD_DIR --prefix TMP` (the install a user runs, into a throwaway prefix);
2. CMake: tests/packaging/downstream/ does find_package(convmat REQUIRED) with
   CMAKE_PREFIX_PATH=TMP, links convmat::convmat, builds and runs seed 000's example;
3. pkg-config: the same program compiled by `CXX -std=c++20 $(pkg-config --cflags --libs convmat)`
   with PKG_CONFIG_PATH=TMP/lib*/pkgconfig, and `pkg-config --modversion` is VERSION.
The example checks its own numbers and exits 1 if they differ from the seed.
"""

import glob
import os
import shlex
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SOURCE, BUILD = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
CXX, VERSION = sys.argv[3], sys.argv[4]
DOWNSTREAM = SOURCE / "tests" / "packaging" / "downstream"


def run(command, **keywords):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **keywords)
    if result.returncode != 0:
        raise AssertionError(f"{command} exited with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


class Downstream(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="convmat_downstream_")
        cls.prefix = Path(cls.tmp.name) / "prefix"
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_find_package(self):
        build = Path(self.tmp.name) / "cmake-build"
        run(["cmake", "-S", DOWNSTREAM, "-B", build, f"-DCMAKE_PREFIX_PATH={self.prefix}",
             f"-DCMAKE_CXX_COMPILER={CXX}", "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", build])
        output = run([build / "seed_000"])
        self.assertEqual(output, f"convmat {VERSION} through find_package: W is 4 x 9, "
                                 "W x = [27, 37, 57, 67] as in seed 000\n")

    def test_pkg_config(self):
        [pc_dir] = glob.glob(str(self.prefix / "lib*" / "**" / "pkgconfig"), recursive=True)
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
        self.assertEqual(run(["pkg-config", "--modversion", "convmat"], env=env).strip(), VERSION)
        flags = shlex.split(run(["pkg-config", "--cflags", "--libs", "convmat"], env=env))
        self.assertIn(f"-I{self.prefix}/include", [os.path.normpath(f) if f.startswith("-I/")
                                                   else f for f in flags])
        program = Path(self.tmp.name) / "seed_000_pc"
        run([CXX, "-std=c++20", "-O2",
             f'-DCONVMAT_DOWNSTREAM_HOW="{VERSION} through pkg-config"',
             DOWNSTREAM / "seed_000.cpp", "-o", program, *flags])
        self.assertEqual(run([program]), f"convmat {VERSION} through pkg-config: W is 4 x 9, "
                                         "W x = [27, 37, 57, 67] as in seed 000\n")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

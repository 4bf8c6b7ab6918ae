#!/usr/bin/python3
"""The Python package as a pip user gets it, in a temporary folder:

    pip_test.py SOURCE_DIR BUILD_DIR VERSION

1. `pip wheel --no-build-isolation --no-index SOURCE_DIR` gives one wheel holding the extension,
   the tool (convmat/_bin/convmat), py.typed, the stub _convmat.pyi and the modules, with
   metadata Version VERSION (CMake's) and the NumPy/SciPy requirements;
2. a fresh `python3 -m venv --system-site-packages` installs that wheel with pip, offline; from
   another folder, with no PYTHONPATH, `import convmat` comes from the venv,
   convmat.__version__ == VERSION, seed 000's corr2d comes out, `python -m convmat demo` and the
   venv's `convmat` script run the tool;
3. `pip install -e` of a copy of the sources imports the package from that copy.

The extension and the tool are taken from BUILD_DIR (CONVMAT_CMAKE_BUILD_DIR, see setup.py): no
second compilation. A plain `pip install .` builds them from scratch in the same way.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

SOURCE, BUILD, VERSION = (Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), sys.argv[3])
SYSTEM_PYTHON = "/usr/bin/python3"

# Run in the venv, from a folder that is neither the sources nor the build tree.
CHECK_IMPORT = """
import sys, numpy, convmat, importlib.metadata
print(convmat.__file__)
print(convmat.__version__, importlib.metadata.version("convmat"))
x = numpy.arange(9.0).reshape(1, 1, 3, 3)
k = numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]])
print(convmat.conv2d(x, k)[0, 0].tolist())
"""


def run(command, **keywords):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **keywords)
    if result.returncode != 0:
        raise AssertionError(f"{command} exited with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def clean_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["CONVMAT_CMAKE_BUILD_DIR"] = str(BUILD)
    return env


class PipTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="convmat_pip_"))
        cls.env = clean_environment()
        cls.venv = cls.tmp / "venv"
        run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", cls.venv])
        cls.python = cls.venv / "bin" / "python"
        cls.elsewhere = cls.tmp / "elsewhere"
        cls.elsewhere.mkdir()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def check_installed(self, package_dir):
        lines = run([self.python, "-c", CHECK_IMPORT], cwd=self.elsewhere, env=self.env).split("\n")
        self.assertEqual(Path(lines[0]).parent, package_dir)
        self.assertEqual(lines[1], f"{VERSION} {VERSION}")
        self.assertEqual(lines[2], "[[27.0, 37.0], [57.0, 67.0]]")  # seed 000's corr2d
        demo = run([self.python, "-m", "convmat", "demo"], cwd=self.elsewhere, env=self.env)
        self.assertIn("seed 000", demo)
        usage = run([self.venv / "bin" / "convmat", "--help"], cwd=self.elsewhere, env=self.env)
        self.assertIn("usage: convmat", usage)

    def test_1_wheel_then_install(self):
        wheels = self.tmp / "wheels"
        run([self.python, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps",
             "-w", wheels, SOURCE], cwd=self.elsewhere, env=self.env)
        [wheel] = list(wheels.glob("convmat-*.whl"))
        self.assertTrue(wheel.name.startswith(f"convmat-{VERSION}-cp3"), wheel.name)
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            for expected in ("convmat/__init__.py", "convmat/__main__.py", "convmat/py.typed",
                             "convmat/_convmat.pyi", "convmat/_bin/convmat"):
                self.assertIn(expected, names)
            self.assertTrue(any(n.startswith("convmat/_convmat.cpython-") for n in names), names)
            tool = archive.getinfo("convmat/_bin/convmat")
            self.assertTrue((tool.external_attr >> 16) & 0o111, "the tool is not executable")
            [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
            text = archive.read(metadata).decode()
        self.assertIn(f"\nVersion: {VERSION}\n", text)
        self.assertIn("Requires-Dist: numpy", text)
        self.assertIn("Requires-Dist: scipy", text)
        self.assertIn("Requires-Python: >=3.9", text)

        run([self.python, "-m", "pip", "install", "--no-index", "--no-deps", wheel],
            cwd=self.elsewhere, env=self.env)
        site = Path(run([self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        env=self.env).strip())
        self.check_installed(site / "convmat")
        run([self.python, "-m", "pip", "uninstall", "-y", "convmat"], env=self.env)

    def test_2_editable(self):
        copy = self.tmp / "source"
        shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns(
            ".git", "build", "build-*", "__pycache__", "_convmat*.so", "_bin"))
        run([self.python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
             "-e", copy], cwd=self.elsewhere, env=self.env)
        self.check_installed(copy / "python" / "convmat")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

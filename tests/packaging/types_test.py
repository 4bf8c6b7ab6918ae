#!/usr/bin/python3
"""Type information: the stub of convmat._convmat matches the module, and mypy uses it.

    types_test.py PACKAGE_PARENT_DIR      (build/python: the package as built)

1. mypy's stubtest compares convmat/_convmat.pyi with the compiled module: a name the module has
   and the stub lacks (or the reverse), a wrong argument list or a wrong property is an error.
   Only the pybind11 metaclass of each class is allowed to differ.
2. mypy type-checks a user's file against the package (py.typed): correct uses pass, and a
   wrong one (an int where convmat.__version__ is a str; a str to memory_limit's int) fails
   with the types named -- the types really reach the checker.
"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

PACKAGE_PARENT = Path(sys.argv[1]).resolve()
CONFIG = "[mypy]\nignore_missing_imports = True\n"   # scipy and torch ship no types


def mypy(module, *arguments, cwd):
    return subprocess.run([sys.executable, "-m", module, *arguments], cwd=cwd,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": str(PACKAGE_PARENT), "MYPYPATH": str(PACKAGE_PARENT),
                               "PATH": "/usr/bin:/bin"})


class Types(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="convmat_types_")
        self.dir = Path(self.tmp.name)
        (self.dir / "mypy.ini").write_text(CONFIG)

    def tearDown(self):
        self.tmp.cleanup()

    def test_stub_matches_the_module(self):
        sys.path.insert(0, str(PACKAGE_PARENT))
        import convmat._convmat as module
        classes = [name for name, value in vars(module).items()
                   if isinstance(value, type) and type(value).__name__ == "pybind11_type"]
        self.assertIn("ConvSpec", classes)
        (self.dir / "allow.txt").write_text("".join(f"convmat._convmat.{c}\n" for c in classes))
        result = mypy("mypy.stubtest", "--mypy-config-file", "mypy.ini", "--allowlist",
                      "allow.txt", "convmat._convmat", cwd=self.dir)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_mypy_sees_the_types(self):
        (self.dir / "good.py").write_text(
            "import convmat\nimport convmat._convmat\n"
            "version: str = convmat.__version__\n"
            "limit: int = convmat._convmat.memory_limit() + 1\n"
            "convmat._convmat.set_memory_limit(None)\n")
        good = mypy("mypy", "--config-file", "mypy.ini", "good.py", cwd=self.dir)
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        (self.dir / "bad.py").write_text(
            "import convmat\nimport convmat._convmat\n"
            "version: int = convmat.__version__\n"
            "convmat._convmat.set_memory_limit('lots')\n")
        bad = mypy("mypy", "--config-file", "mypy.ini", "bad.py", cwd=self.dir)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn('bad.py:3: error: Incompatible types in assignment (expression has type '
                      '"str", variable has type "int")', bad.stdout)
        self.assertIn('bad.py:4: error: Argument 1 to "set_memory_limit" has incompatible type '
                      '"str"; expected "Optional[int]"', bad.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

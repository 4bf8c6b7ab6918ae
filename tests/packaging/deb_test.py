#!/usr/bin/python3
"""The Debian package CPack makes from this build, checked with dpkg-deb, in a temporary folder:

    deb_test.py BUILD_DIR VERSION

1. `cpack -G DEB` gives convmat_VERSION_<arch>.deb;
2. its control fields (dpkg-deb --field): the version, the Python package's dependencies, the
   development packages, and the shared libraries dpkg-shlibdeps found for the tool and the
   module (libc6, libstdc++6, libgomp1, SuiteSparse's libspqr/libcholmod); every package named
   is one this machine has installed, so `apt-get install ./convmat_*.deb` resolves here;
3. its contents (dpkg-deb --contents): the tool, library, headers, CMake config, pkg-config file
   and the Python package in /usr/lib/python3/dist-packages (with its link to the tool);
4. unpacked with dpkg-deb -x into a temporary root: the tool runs `convmat demo`, and
   /usr/bin/python3 imports convmat from the unpacked dist-packages and runs `python3 -m
   convmat --help` through the link.
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

BUILD, VERSION = Path(sys.argv[1]).resolve(), sys.argv[2]
PYTHON_DIR = "usr/lib/python3/dist-packages"


def run(command, **keywords):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **keywords)
    if result.returncode != 0:
        raise AssertionError(f"{command} exited with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def installed(package):
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                            capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


class DebianPackage(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="convmat_deb_")
        cls.dir = Path(cls.tmp.name)
        run(["cpack", "-G", "DEB", "--config", BUILD / "CPackConfig.cmake", "-B", cls.dir])
        [cls.deb] = list(cls.dir.glob("convmat_*.deb"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_control_fields(self):
        arch = run(["dpkg", "--print-architecture"]).strip()
        self.assertEqual(self.deb.name, f"convmat_{VERSION}_{arch}.deb")
        fields = run(["dpkg-deb", "--field", self.deb, "Package", "Version", "Architecture"])
        self.assertEqual(fields, f"Package: convmat\nVersion: {VERSION}\nArchitecture: {arch}\n")
        depends = run(["dpkg-deb", "--field", self.deb, "Depends"]).strip()
        names = [re.match(r"[\w.+-]+", alternative.strip()).group(0)
                 for item in depends.split(",") for alternative in item.split("|")]
        for expected in ("libc6", "libstdc++6", "libgomp1", "python3", "python3-numpy",
                         "python3-scipy", "libeigen3-dev", "libsuitesparse-dev"):
            self.assertIn(expected, names, depends)
        # found by dpkg-shlibdeps in the tool's and the module's NEEDED entries
        self.assertTrue(any(n.startswith("libspqr") for n in names), depends)
        self.assertTrue(any(n.startswith("libcholmod") for n in names), depends)
        self.assertRegex(depends, r"python3 \(>= 3\.\d+\), python3 \(<< 3\.\d+\.999\)")
        for item in depends.split(","):
            alternatives = [re.match(r"[\w.+-]+", a.strip()).group(0) for a in item.split("|")]
            self.assertTrue(any(installed(a) for a in alternatives),
                            f"{item.strip()} (Depends: {depends}): no such package installed here")

    def test_contents(self):
        listing = run(["dpkg-deb", "--contents", self.deb])
        paths = {line.split()[5].lstrip("."): line for line in listing.splitlines()}
        for expected in ("/usr/bin/convmat", "/usr/include/convmat/convmat.hpp",
                         "/usr/include/convmat/core/conv_matrix.hpp",
                         "/usr/lib/libconvmat.a", "/usr/lib/cmake/convmat/convmatConfig.cmake",
                         "/usr/lib/cmake/convmat/convmatTargets.cmake",
                         "/usr/lib/cmake/convmat/convmatConfigVersion.cmake",
                         "/usr/lib/pkgconfig/convmat.pc",
                         f"/{PYTHON_DIR}/convmat/__init__.py", f"/{PYTHON_DIR}/convmat/__main__.py",
                         f"/{PYTHON_DIR}/convmat/py.typed", f"/{PYTHON_DIR}/convmat/_convmat.pyi"):
            self.assertIn(expected, paths)
        self.assertTrue(paths["/usr/bin/convmat"].startswith("-rwxr-xr-x root/root"))
        self.assertTrue(any(re.fullmatch(rf"/{PYTHON_DIR}/convmat/_convmat\.cpython-3\d+-.*\.so", p)
                            for p in paths), sorted(paths))
        link = paths[f"/{PYTHON_DIR}/convmat/_bin/convmat"]
        self.assertTrue(link.startswith("lrwxrwxrwx"), link)
        self.assertTrue(link.endswith("-> ../../../../../bin/convmat"), link)

    def test_unpacked_runs(self):
        root = self.dir / "root"
        run(["dpkg-deb", "-x", self.deb, root])
        env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
        demo = run([root / "usr/bin/convmat", "demo"], env=env)
        self.assertIn("seed 000", demo)
        elsewhere = self.dir / "elsewhere"
        elsewhere.mkdir()
        env["PYTHONPATH"] = str(root / PYTHON_DIR)
        imported = run(["/usr/bin/python3", "-c",
                        "import convmat; print(convmat.__file__); print(convmat.__version__)"],
                       env=env, cwd=elsewhere)
        self.assertEqual(imported, f"{root / PYTHON_DIR}/convmat/__init__.py\n{VERSION}\n")
        usage = run(["/usr/bin/python3", "-m", "convmat", "--help"], env=env, cwd=elsewhere)
        self.assertIn("usage: convmat", usage)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

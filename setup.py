"""setuptools glue for pyproject.toml: the extension and the tool come from the CMake build.

build_ext configures and builds the CMake targets convmat_python (convmat/_convmat*.so) and
convmat_cli (the `convmat` tool, shipped as convmat/_bin/convmat for `python3 -m convmat`) for
the interpreter running pip, in setuptools' build_temp, then copies both into the package.

CONVMAT_CMAKE_BUILD_DIR=<dir> reuses an existing, configured build tree instead (its targets
are brought up to date, nothing else is configured): the test suite packs the tree it has just
built this way instead of compiling the library a second time. Other CMake settings come from
the environment as CMake reads them (CMAKE_BUILD_PARALLEL_LEVEL, CMAKE_CXX_COMPILER_LAUNCHER).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def cmake_version():
    """The one version: CMakeLists.txt's project(convmat VERSION x.y.z)."""
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*convmat\s+VERSION\s+([0-9][0-9.]*)", text)
    if not match:
        raise RuntimeError("CMakeLists.txt: no project(convmat VERSION x.y.z)")
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        reused = os.environ.get("CONVMAT_CMAKE_BUILD_DIR")
        if reused:
            build_dir = Path(reused).resolve()
            if not (build_dir / "CMakeCache.txt").is_file():
                raise RuntimeError(f"CONVMAT_CMAKE_BUILD_DIR={reused}: not a configured CMake build tree")
        else:
            build_dir = Path(self.build_temp).resolve() / "cmake"
            build_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir),
                            "-DCMAKE_BUILD_TYPE=Release",
                            f"-DCONVMAT_PYTHON_EXECUTABLE={sys.executable}",
                            "-DCONVMAT_BUILD_TESTS=OFF", "-DCONVMAT_BUILD_BENCH=OFF",
                            "-DCONVMAT_BUILD_WEB=OFF", "-DBUILD_TESTING=OFF"], check=True)
        command = ["cmake", "--build", str(build_dir), "--target", "convmat_python",
                   "convmat_python_stub", "convmat_cli"]
        if "CMAKE_BUILD_PARALLEL_LEVEL" not in os.environ:
            command += ["-j", str(os.cpu_count() or 1)]
        subprocess.run(command, check=True)

        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        module = build_dir / "python" / "convmat" / f"_convmat{suffix}"
        if not module.is_file():
            raise RuntimeError(f"{module} was not built: the build tree is for another Python "
                               f"than {sys.executable} (extension suffix {suffix})")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(module, target)
        shutil.copyfile(module.with_name("_convmat.pyi"), target.with_name("_convmat.pyi"))
        tool = target.parent / "_bin" / "convmat"
        tool.parent.mkdir(exist_ok=True)
        shutil.copyfile(build_dir / "cli" / "convmat", tool)
        tool.chmod(0o755)

    def copy_extensions_to_source(self):
        """`pip install -e .`: the tool goes next to the extension in python/convmat/ too."""
        super().copy_extensions_to_source()
        built = Path(self.build_lib) / "convmat" / "_bin" / "convmat"
        source = ROOT / "python" / "convmat" / "_bin" / "convmat"
        source.parent.mkdir(exist_ok=True)
        shutil.copyfile(built, source)
        source.chmod(0o755)
        stub = "_convmat.pyi"
        shutil.copyfile(Path(self.build_lib) / "convmat" / stub, ROOT / "python" / "convmat" / stub)


# setuptools' own build/ would land in the CMake build tree's place: keep its files in a subfolder.
SETUPTOOLS_DIR = ROOT / "build" / "setuptools"
SETUPTOOLS_DIR.mkdir(parents=True, exist_ok=True)

setup(version=cmake_version(),
      options={"build": {"build_base": str(SETUPTOOLS_DIR)},
               "egg_info": {"egg_base": str(SETUPTOOLS_DIR)}},
      ext_modules=[Extension("convmat._convmat", sources=[])],
      cmdclass={"build_ext": CMakeBuild})

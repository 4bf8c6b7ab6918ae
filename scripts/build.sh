#!/usr/bin/env bash
# Installs the dependencies (scripts/setup.sh), then configures and builds convmat in build/.
# Extra arguments go to CMake's configure step, e.g. -DCONVMAT_BUILD_PYTHON=OFF.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$root/build" -j "$(nproc)"

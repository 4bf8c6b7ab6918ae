#!/usr/bin/env bash
# The benchmark suite: builds convmat_bench (Release) and runs bench/run.py, which writes
# bench/results/results.md and results.png. Extra arguments go to run.py (see its --help), e.g.
#   bench/run.sh --sections build,products --reps 3
# Takes 20–40 minutes on a 2-core machine; not part of the test command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$root/build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$root/build" -j "$(nproc)" --target convmat_bench
exec /usr/bin/python3 "$root/bench/run.py" --exe "$root/build/bench/convmat_bench" "$@"

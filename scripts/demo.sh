#!/usr/bin/env bash
# The main job on its embedded default: sets everything up, builds, and runs `convmat demo`
# (the seeds' worked examples computed by W and by the direct loops, with a verdict for each).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
exec "$root/build/cli/convmat" demo

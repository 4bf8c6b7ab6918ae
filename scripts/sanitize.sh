#!/usr/bin/env bash
# The C++ and command-line test suites under AddressSanitizer (with leak detection) and
# UndefinedBehaviorSanitizer, in their own build directory, build-sanitize/ (README: Sanitizers).
#
# Every test that the sanitized tree registers with CTest runs: the Boost.Test suites, the
# command-line suites (tests/cli/cli_tests.py running the instrumented `convmat`) and the fuzz
# corpus replays. Python and the benchmarks are off there, so the Python suites and notebooks are
# not registered (the interpreter is not instrumented). A new C++ or command-line suite is in by
# being a CTest test of that tree; one that cannot run instrumented registers only
# `if(NOT CONVMAT_SANITIZE)`.
#
# Extra arguments go to ctest, e.g. scripts/sanitize.sh -R test_conv_matrix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-sanitize"
jobs=$(nproc)

"$root/scripts/setup.sh"
# Build type Sanitize (-O1 -g1, assertions on); the target sanitize_suites is every executable of
# the tree (library, command line, test programs, corpus replays) and nothing else.
cmake -S "$root" -B "$build" -DCONVMAT_SANITIZE=address,undefined \
  -DCONVMAT_BUILD_PYTHON=OFF -DCONVMAT_BUILD_BENCH=OFF -DCONVMAT_BUILD_FUZZERS=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target sanitize_suites

# A sanitizer report ends the program with status 86: neither the 0/1/2 of `convmat` nor the 1
# of a failed test, so a command-line test expecting "1: disagreement" cannot mistake a report
# for it. Stack-use-after-return and initialization-order checking are off by default in ASan.
# Options the caller sets come last and win.
asan="detect_leaks=1:exitcode=86:detect_stack_use_after_return=1:check_initialization_order=1"
asan+=":strict_init_order=1:strict_string_checks=1"
export ASAN_OPTIONS="$asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Idle OpenMP threads sleep instead of spinning: with ctest running two suites at once on two
# cores, spinning threads took a third more CPU time for the same tests.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"

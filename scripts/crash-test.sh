#!/usr/bin/env bash
# Runs the crash test (tests/crash/crash_test.cc) with chosen figures:
# the real idgate binary under load, killed with SIGKILL and restarted on
# the same state directory CYCLES times; then the ledger is compared with
# what the providers received. Appends a markdown row of figures to REPORT.
#
#   scripts/crash-test.sh [cycles] [seed]        e.g. scripts/crash-test.sh 200 7
#
# Environment: BUILD_DIR (default build/dev), JOBS (2), CLIENTS (8),
# MAX_MS (longest uptime before a kill, 1000), REPORT (build dir/crash-report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-200}
seed=${2:-1}
BUILD_DIR=${BUILD_DIR:-build/dev}
REPORT=${REPORT:-$BUILD_DIR/crash-report.md}

cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target crash_test idgate -j "${JOBS:-2}"
IDGATE_CRASH_CYCLES=$cycles IDGATE_CRASH_SEED=$seed IDGATE_CRASH_CLIENTS=${CLIENTS:-8} \
IDGATE_CRASH_MAX_MS=${MAX_MS:-1000} IDGATE_CRASH_REPORT=$(realpath -m "$REPORT") \
  "$BUILD_DIR/tests/crash/crash_test" --gtest_filter='CrashTest.KillNine*'
echo "figures appended to $REPORT"

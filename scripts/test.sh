#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test; then the
# unit to crash tests again under ASan+UBSan, and the std::mutex-synchronized
# subset under TSan (scripts/test-sanitizers.sh says why only that subset).
# Exits non-zero on any failure or sanitizer finding.
#
#   scripts/test.sh                 what CI runs
#   SANITIZERS=0 scripts/test.sh    the plain build and tests only (a quick local check)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/test}
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh lint helm redis
scripts/lint-protos.sh
scripts/check-format.sh

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600

if [[ ${SANITIZERS:-1} != 0 ]]; then
  # Their own build directories: BUILD_DIR is the plain build only.
  BUILD_DIR= JOBS=$JOBS scripts/test-sanitizers.sh
  BUILD_DIR= JOBS=$JOBS scripts/test-sanitizers.sh --tsan
fi

#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz for a given time, with ASan+UBSan,
# starting from the committed seed corpus.
#
#   scripts/fuzz.sh <validators|request|config|ledger> <seconds> [extra libFuzzer flags...]
#
# Builds in build-fuzz/ (override with IDGATE_FUZZ_BUILD_DIR) with clang++.
# New interesting inputs go to build-fuzz/fuzz-corpus/<target>/ and crashes to
# build-fuzz/fuzz-artifacts/<target>/: the committed corpus is never written.
# To keep a crash as a regression test, copy it into tests/fuzz/corpus/<target>/.
set -euo pipefail

usage() { echo "usage: $0 <validators|request|config|ledger> <seconds> [libFuzzer flags...]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
target=$1
seconds=$2
shift 2
[[ $seconds =~ ^[0-9]+$ ]] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
build=${IDGATE_FUZZ_BUILD_DIR:-$root/build-fuzz}
seeds=$root/tests/fuzz/corpus/$target
[[ -d $seeds ]] || { echo "no seed corpus at $seeds" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "clang++ not found (apt-get install clang)" >&2; exit 2; }

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDGATE_FUZZ=ON -DIDGATE_SANITIZE=address >/dev/null
cmake --build "$build" --target "fuzz_$target" -j "${IDGATE_JOBS:-2}"

work=$build/fuzz-corpus/$target
artifacts=$build/fuzz-artifacts/$target
log=$build/fuzz-$target.log
mkdir -p "$work" "$artifacts"
dict=()
[[ -f $root/tests/fuzz/$target.dict ]] && dict=(-dict="$root/tests/fuzz/$target.dict")

echo "fuzzing $target for ${seconds}s; log: $log"
set +e
"$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "${dict[@]}" "$@" "$work" "$seeds" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

echo "---- $target summary"
grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log" || true
grep -E '^#[0-9]+' "$log" | tail -n 1 || true
crashes=$(find "$artifacts" -type f | wc -l)
echo "findings: $crashes file(s) in $artifacts"
find "$artifacts" -type f
exit "$status"

#!/usr/bin/env bash
# Floor smoke run (ctest floor_smoke): starts floor_server with a temporary
# directory, sends it 300 carrier checks with idgate-load, requires every
# answer OK and VERDICT_MATCH and one 400-byte record in its log per call
# answered, then stops it with SIGTERM and requires exit code 0. It checks
# that bench/run.sh's floor still does the work it stands for, not its speed.
#
#   smoke_test.sh FLOOR_SERVER IDGATE_LOAD SOURCE_DIR PROTOSET
set -euo pipefail
floor=$1 load=$2 src=$3 protoset=$4
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"

server_start "$work/floor.stderr" "$floor" --listen=127.0.0.1:0 --dir="$work"

"$load" --config="$src/loadtest/carrier.json" --host="127.0.0.1:$port" --protoset="$protoset" -n 300 -c 16 \
  --connections=2 -t 10s --expect-verdict=VERDICT_MATCH -O json -o "$work/report.json" ||
  fail "idgate-load: errors or unexpected verdicts"
grep -q '"failures":0,' "$work/report.json" || fail "the report counts failures"
calls=$(grep -o '"count":[0-9]*' "$work/report.json" | head -n 1 | cut -d: -f2)
[[ $calls -eq 300 ]] || fail "300 calls sent, $calls counted"

server_stop
# The log is grown with zeros ahead of the records; what is not zero is records.
written=$(tr -d '\000' <"$work/floor.log" | wc -c)
[[ $written -eq $((calls * 400)) ]] || fail "$calls calls answered, $written bytes of records (expected $((calls * 400)))"
echo "floor_server: $calls calls, all OK and VERDICT_MATCH, $written bytes of records, exit 0"

#!/usr/bin/env bash
# Load smoke run (ctest idgate_load_smoke, hence scripts/test.sh): starts the
# gateway on free ports with a temporary state dir, runs idgate-load with
# each loadtest/ config for about a second (3 s in all), requires zero
# errors and the expected verdict (never a speed), then stops the gateway
# with SIGTERM and requires exit code 0.
#
#   smoke_test.sh IDGATE IDGATE_LOAD SOURCE_DIR PROTOSET
set -euo pipefail
idgate=$1 load=$2 src=$3 protoset=$4
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"

server_start "$work/gateway.log" "$idgate" --config="$src/loadtest/gateway.json" --state_dir="$work/state" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
echo "gateway pid $pid on 127.0.0.1:$port"

run() {  # config duration concurrency
  local out="$work/$1.json"
  if ! "$load" --config="$src/loadtest/$1.json" --host="127.0.0.1:$port" --protoset="$protoset" \
      -z "$2" --duration-stop=wait -c "$3" --connections=2 -t 5s \
      --expect-verdict=VERDICT_MATCH -O json -o "$out"; then
    cat "$out" >&2 || true
    fail "idgate-load $1: errors or unexpected verdicts"
  fi
  # Belt and braces: read the report, not only the exit status.
  grep -q '"failures":0,' "$out" || fail "$1: the report counts failures"
  grep -q '"OK":' "$out" || fail "$1: no OK call"
  echo "$1: $(grep -o '"count":[0-9]*' "$out" | head -n 1) calls, all OK and VERDICT_MATCH"
}
run carrier 1.5s 16
run bank 0.75s 16
run face 0.75s 8

server_stop
grep -q '"event":"stopped"' "$work/gateway.log" || fail "no \"stopped\" log line"
echo "gateway stopped with exit code 0"

#!/usr/bin/env bash
# The ghz lines of loadtest/README.md (section "ghz"), as written (the main
# README's ghz lines must be among them), against the
# gateway started as its section "Running the gateway to load" says, on free
# loopback ports: the only changes are the ports (:0, then the host the
# gateway announced, given to ghz after the options, which replaces the
# config's), the state directory (a scratch one) and the binaries (this
# build's, at the paths the README names). Every call must be OK and the
# gateway must count every one as VERDICT_MATCH. ctest smoke.ghz_loadtest.
#
#   ghz_loadtest.sh IDGATE SOURCE_DIR PROTOSET
set -euo pipefail
idgate=$1 src=$2 protoset=$3
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"
readme=$src/loadtest/README.md

ghz_block=$("$src/tests/smoke/readme_block.py" "$readme" ghz ghz) || fail "$readme: no ghz block"
gateway_line=$("$src/tests/smoke/readme_block.py" "$readme" "Running the gateway to load" build/release/app/idgate |
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep '^build/release/app/idgate ') ||
  fail "$readme: no gateway command"

# The main README's ghz lines must be ones this test runs.
while read -r line; do
  grep -qxF -- "$line" <<<"$ghz_block" ||
    fail "README.md's \"$line\" is not a line of loadtest/README.md's ghz block (which this test runs)"
done < <("$src/tests/smoke/readme_block.py" "$src/README.md" "Load tests, benchmarks, reliability" ghz |
  sed -n 's/ *#.*//; /^ghz /p')

# The repository's layout in a scratch directory, with this build's binaries.
root=$work/root
mkdir -p "$root/build/release/app"
ln -s "$idgate" "$root/build/release/app/idgate"
ln -s "$protoset" "$root/build/release/idgate.protoset"
ln -s "$src/loadtest" "$root/loadtest"
ln -s "$src/config" "$root/config"
ln -s "${IDGATE_TOOLS_DIR:-$src/.tools}" "$root/.tools"
cd "$root"

gateway_line=${gateway_line//127.0.0.1:50051/127.0.0.1:0}
gateway_line=${gateway_line//127.0.0.1:9464/127.0.0.1:0}
gateway_line=${gateway_line//\/tmp\/idgate-load/$work/state}
eval "set -- $gateway_line"
echo "gateway: $*"
server_start "$work/gateway.log" "$@"
metrics_port=$(sed -n 's/.*"event":"started".*"metrics_port":\([0-9][0-9]*\).*/\1/p' "$work/gateway.log" | head -n 1)
echo "gateway pid $pid on 127.0.0.1:$port, metrics on $metrics_port"

n=0
ghz() {
  n=$((n + 1))
  printf 'ghz %s\n' "$*" >"$work/cmd.$n"
  local rc=0 TIMEFORMAT='%R %U %S'
  { time timeout 180 ghz "$@" "127.0.0.1:$port" >"$work/out.$n" 2>&1 || rc=$?; } 2>"$work/time.$n"
  echo "$rc" >"$work/rc.$n"
}
PATH=$(tr ':' '\n' <<<"$PATH" | grep -v '/\.tools/bin$' | paste -sd: -)
eval "$ghz_block"
[[ $n -gt 0 ]] || fail "the README's block ran no ghz"

declare -A want=()
for i in $(seq 1 "$n"); do
  cmd=$(cat "$work/cmd.$i")
  out=$(cat "$work/out.$i")
  read -r wall user sys <"$work/time.$i"
  echo "--- $cmd ($wall s, ghz CPU ${user}+${sys} s)"
  grep -E '^\s*(Count|Total|Requests/sec|Average):|^\s*(50|99) % in|^\s*\[' <<<"$out" || true
  [[ $(cat "$work/rc.$i") == 0 ]] || { echo "$out" | tail -n 20; fail "exit status $(cat "$work/rc.$i"): $cmd"; }
  config=$(sed -n 's/.*--config=\([^ ]*\).*/\1/p' <<<"$cmd")
  total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$config")
  grep -qE "^\s*Count:\s+$total\s*$" <<<"$out" || fail "$cmd: not $total calls"
  grep -qE "^\s*\[OK\]\s+$total responses" <<<"$out" || fail "$cmd: not all $total calls OK"
  ! grep -q "Error distribution" <<<"$out" || fail "$cmd: errors"
  check=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; print({"carrier_three_factor":"CHECK_CARRIER_THREE_FACTOR","bank_four_factor":"CHECK_BANK_FOUR_FACTOR","face_verification":"CHECK_FACE_VERIFICATION"}[[k for k in d if k in ("carrier_three_factor","bank_four_factor","face_verification")][0]])' "$config")
  want[$check]=$(( ${want[$check]:-0} + total ))
done

# The verdicts, from the gateway's own count.
metrics=$(curl -s --max-time 10 "http://127.0.0.1:$metrics_port/metrics") || fail "no /metrics"
for check in "${!want[@]}"; do
  got=$(awk -v c="$check" '$1 == "idgate_verifications_total{check=\"" c "\",verdict=\"VERDICT_MATCH\"}" {print $2}' <<<"$metrics")
  [[ ${got:-0} == "${want[$check]}" ]] || fail "$check: ${got:-0} VERDICT_MATCH, expected ${want[$check]}"
  echo "$check: ${want[$check]} calls, all VERDICT_MATCH"
done
others=$(grep '^idgate_verifications_total{' <<<"$metrics" | grep -v 'VERDICT_MATCH' | awk '$2 != 0') || true
[[ -z $others ]] || fail "other verdicts: $others"

server_stop
echo "$n README ghz lines: every call OK and VERDICT_MATCH"

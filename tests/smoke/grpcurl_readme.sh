#!/usr/bin/env bash
# The README's grpcurl lines (section "Calling it"), as written, against the
# gateway of scripts/run.sh (config/dev.json) on a free loopback port:
# reflection's list and describe, a Verify, a health check, each exiting 0 and
# printing what it should. Run from the repository's root with .tools/bin off
# the PATH, so the README's own `export PATH=...` line must put grpcurl there.
# ctest smoke.grpcurl_readme.
#
#   grpcurl_readme.sh IDGATE SOURCE_DIR
set -euo pipefail
idgate=$1 src=$2
# shellcheck source=scripts/lib/server_smoke.sh
source "$src/scripts/lib/server_smoke.sh"

block=$("$src/tests/smoke/readme_block.py" "$src/README.md" "Calling it" grpcurl) ||
  fail "README.md: no grpcurl block in \"Calling it\""

# The gateway as scripts/run.sh starts it, on free ports and a scratch state.
server_start "$work/gateway.log" "$idgate" --config="$src/config/dev.json" --state_dir="$work/state" \
  --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
echo "gateway (config/dev.json) pid $pid on 127.0.0.1:$port"

# grpcurl, wrapped: the README's address becomes the test's, each call is
# recorded. `timeout` runs the grpcurl the PATH finds.
n=0
grpcurl() {
  n=$((n + 1))
  local a args=()
  for a in "$@"; do args+=("${a//127.0.0.1:50051/127.0.0.1:$port}"); done
  printf 'grpcurl %s\n' "$*" >"$work/cmd.$n"
  local rc=0
  timeout 30 grpcurl "${args[@]}" >"$work/out.$n" 2>&1 || rc=$?
  echo "$rc" >"$work/rc.$n"
}
PATH=$(tr ':' '\n' <<<"$PATH" | grep -v '/\.tools/bin$' | paste -sd: -)
cd "$src"
eval "$block"
[[ $n -gt 0 ]] || fail "the README's block ran no grpcurl"

seen=" "
for i in $(seq 1 "$n"); do
  cmd=$(cat "$work/cmd.$i")
  out=$(cat "$work/out.$i")
  echo "--- $(head -c 100 <<<"$cmd" | head -n 1)"
  echo "$out" | head -n 12
  [[ $(cat "$work/rc.$i") == 0 ]] || fail "exit status $(cat "$work/rc.$i"): $cmd"
  expect=()
  case "$cmd" in
    *" list"*) kind=list; expect=(idgate.v1.VerificationService grpc.health.v1.Health grpc.reflection) ;;
    *"describe idgate.v1.VerificationService"*) kind=describe; expect=("service VerificationService" "rpc Verify") ;;
    *" describe "*) kind=describe; expect=("is a message") ;;
    *"/Verify"*) kind=verify; expect=('"verdict": "VERDICT_MATCH"' '"provider": "carrier_mock"') ;;
    *"Health/Check"*) kind=health; expect=('"status": "SERVING"') ;;
    *) fail "a grpcurl line this test does not know: $cmd" ;;
  esac
  for e in "${expect[@]}"; do
    grep -qF -- "$e" <<<"$out" || fail "no '$e' in what printed: $cmd"
  done
  seen+="$kind "
done
for kind in list describe verify health; do
  [[ $seen == *" $kind "* ]] || fail "the README has no grpcurl $kind line"
done

server_stop
echo "$n README grpcurl lines: all exit 0 and print what they should"

# shellcheck shell=bash
# Sourced by the smoke tests that start a server binary (the gateway's load
# smoke, the design floor's): a scratch directory removed on exit, fail()
# with the server's log tail, and start/stop of one server that announces
# its port in a {"event":"started",...,"port":N} log line.
#
# After sourcing: $work is the scratch directory. server_start LOG CMD...
# runs CMD with stderr to LOG and sets $pid and $port; server_stop sends
# SIGTERM and fails unless the server exits with 0.

work=$(mktemp -d)
pid=
server_log=/dev/null
server_name=server
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- $server_name log (tail)" >&2
  tail -n 20 "$server_log" >&2 || true
  exit 1
}

server_start() {  # LOG CMD...
  server_log=$1
  server_name=$(basename "$2")
  shift
  "$@" 2>"$server_log" &
  pid=$!
  port=
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*"event":"started".*"port":\([0-9][0-9]*\).*/\1/p' "$server_log" 2>/dev/null | head -n 1 || true)
    [[ -n $port ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "$server_name exited during start-up"
    sleep 0.1
  done
  fail "$server_name did not start within 20 s"
}

server_stop() {
  local status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  pid=
  [[ $status -eq 0 ]] || fail "$server_name exited with $status after SIGTERM"
}

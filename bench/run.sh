#!/usr/bin/env bash
# One benchmark run, in one process tree, on this machine (see BENCHMARKS.md):
#
#   1. throughput: the bare gRPC baseline (bench/baseline) and the gateway
#      (carrier checks, embedded mock at zero latency, durable ledger with
#      group commit) under the same idgate-load settings, TRIALS interleaved
#      runs each; the ratio of the medians, latency percentiles, server CPU
#      per call; beside them the same gateway with its idempotency and limits
#      on a local redis-server (sharedState.redis): its throughput against
#      the in-memory gateway's, the Redis server's CPU per call, and Redis
#      round trips per call from Redis's own INFO commandstats;
#   2. added latency at half of the gateway's maximum load (paced rps),
#      TRIALS interleaved runs each (the gateway with Redis too, at the same
#      rate); the medians of their p50 and p99;
#      then one paced run of each server at the other fractions of that
#      maximum in SWEEP: latency against load, with how busy the two
#      cores were during each run;
#   3. high concurrency: 10,000 calls in flight with the mock at 1 s:
#      completion, latency percentiles, peak RSS (VmHWM) and peak threads;
#   4. the same throughput with h2load as an independent load generator,
#      and with ghz (loadtest/carrier.json, the config idgate-load reads,
#      with the same connections, concurrency and duration) against the
#      baseline and the gateway after each round of trials: its calls/s
#      and latency beside idgate-load's, and each generator's own CPU per
#      call (both share the two cores with the server);
#   5. optionally (COMPARE_IDGATE=<another idgate binary>, e.g. a build of
#      the previous commit) 1 and 3 again with that gateway: before/after
#      figures from the same run, against the same baseline.
#
# Writes $OUT_DIR/tables.md (BENCHMARKS.md-ready), results.json,
# latency.png and every raw report. All traffic stays on 127.0.0.1; every
# step is bounded by `timeout`.
#
# Environment: BUILD_DIR (build/release), OUT_DIR (bench/results), JOBS (2),
# DURATION seconds per run (10), TRIALS (3), CONNECTIONS (4),
# CONCURRENCY (128), WARMUP_CALLS for the gateway (100000, its idempotency
# store's size, so runs measure the steady state), SWEEP (fractions of the
# gateway's maximum besides one half, "0.1 0.25 0.75"; empty skips them),
# SKIP_BUILD=1, COMPARE_IDGATE. The gateway with Redis needs redis-server
# and redis-cli (scripts/install-deps.sh bench); without them it is skipped.
# ghz comes from scripts/install-deps.sh (.tools/bin, or IDGATE_TOOLS_DIR);
# without it the ghz runs are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD_DIR=${BUILD_DIR:-build/release}
OUT_DIR=${OUT_DIR:-bench/results}
JOBS=${JOBS:-2}
DURATION=${DURATION:-10}
TRIALS=${TRIALS:-3}
CONNECTIONS=${CONNECTIONS:-4}
CONCURRENCY=${CONCURRENCY:-128}
WARMUP_CALLS=${WARMUP_CALLS:-100000}
SWEEP=${SWEEP-0.1 0.25 0.75}
LOAD_CONFIG=$ROOT/loadtest/carrier.json
GHZ=${IDGATE_TOOLS_DIR:-$ROOT/.tools}/bin/ghz

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building Release in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target idgate idgate-load baseline_server floor_server idgate_protoset -j "$JOBS" >/dev/null
fi
IDGATE=$ROOT/$BUILD_DIR/app/idgate
LOAD=$ROOT/$BUILD_DIR/tools/idgate-load/idgate-load
BASELINE=$ROOT/$BUILD_DIR/bench/baseline/baseline_server
FLOOR=$ROOT/$BUILD_DIR/bench/floor/floor_server
PROTOSET=$ROOT/$BUILD_DIR/idgate.protoset
for f in "$IDGATE" "$LOAD" "$BASELINE" "$FLOOR" "$PROTOSET"; do
  [[ -e $f ]] || { echo "missing $f (build first)" >&2; exit 1; }
done

mkdir -p "$OUT_DIR/raw"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RAW=$OUT_DIR/raw
rm -f "$RAW"/*
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME CMD... : runs CMD with stderr to $RAW/NAME.log,
# waits (<= 20 s) for its {"event":"started",...,"port":N} line and sets
# SERVER_PID and SERVER_PORT.
start_server() {
  local name=$1
  shift
  "$@" 2>"$RAW/$name.log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_PORT=
  for _ in $(seq 1 200); do
    SERVER_PORT=$(sed -n 's/.*"event":"started".*"port":\([0-9][0-9]*\).*/\1/p' "$RAW/$name.log" 2>/dev/null | head -n 1 || true)
    [[ -n $SERVER_PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RAW/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $SERVER_PORT ]] || { echo "$name did not start" >&2; exit 1; }
  log "$name: pid $SERVER_PID, port $SERVER_PORT"
}

start_gateway() {  # NAME CONFIG BINARY (CONFIG relative to the repository, or absolute)
  local state config=$2
  [[ $config == /* ]] || config=$ROOT/$config
  state=$(mktemp -d "$WORK/state.XXXX")
  start_server "$1" "$3" --config="$config" --state_dir="$state" \
    --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
  METRICS_PORT=$(sed -n 's/.*"event":"started".*"metrics_port":\([0-9][0-9]*\).*/\1/p' "$RAW/$1.log" | head -n 1)
}

# stop_server NAME PID: SIGTERM, then the exit status into $RAW/NAME.exit.
stop_server() {
  local status=0
  kill -TERM "$2"
  timeout 60 tail --pid="$2" -f /dev/null || true
  wait "$2" || status=$?
  echo "$status" >"$RAW/$1.exit"
  log "$1 stopped, exit status $status"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
redis_info() { timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO "$1"; }
# The machine's busy and total ticks so far, all cores (idle and iowait
# are not busy).
machine_ticks() { awk '/^cpu /{t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# load NAME PORT SERVER_PID ARGS...: one idgate-load run -> $RAW/NAME.json,
# plus the server's CPU ticks over the run in $RAW/NAME.cpu, idgate-load's
# own wall, user and system seconds in $RAW/NAME.gen-cpu, and the
# machine's busy and total ticks before and after it in $RAW/NAME.machine.
# With REDIS_PID set (a gateway on the bench's redis-server), also Redis's
# CPU ticks in $RAW/NAME.redis-cpu and its INFO commandstats before and
# after in $RAW/NAME.redis-before and .redis-after.
load() {
  local name=$1 port=$2 pid=$3
  shift 3
  local c0 c1 m0 r0=
  c0=$(cpu_ticks "$pid")
  m0=$(machine_ticks)
  if [[ -n ${REDIS_PID:-} ]]; then
    r0=$(cpu_ticks "$REDIS_PID")
    redis_info commandstats >"$RAW/$name.redis-before"
  fi
  local TIMEFORMAT='%R %U %S'
  { time timeout 300 "$LOAD" --config="$LOAD_CONFIG" --protoset="$PROTOSET" --host="127.0.0.1:$port" \
    --duration-stop=wait -O json -o "$RAW/$name.json" "$@" 2>&3 || true; } 3>&2 2>"$RAW/$name.gen-cpu"
  if [[ -n $r0 ]]; then
    sleep 0.2  # each answer's write to Redis follows the answer
    echo "$(($(cpu_ticks "$REDIS_PID") - r0)) $(getconf CLK_TCK)" >"$RAW/$name.redis-cpu"
    redis_info commandstats >"$RAW/$name.redis-after"
  fi
  c1=$(cpu_ticks "$pid")
  echo "$((c1 - c0)) $(getconf CLK_TCK)" >"$RAW/$name.cpu"
  echo "$m0 $(machine_ticks)" >"$RAW/$name.machine"
  [[ -s $RAW/$name.json ]] || { echo "idgate-load $name wrote no report" >&2; exit 1; }
}

# ghz_run NAME PORT SERVER_PID: one ghz run of loadtest/carrier.json with
# the bench's connections, concurrency and duration (in-flight calls finish,
# as idgate-load's --duration-stop=wait) -> ghz's JSON report $RAW/NAME.json,
# and, as load() records them, NAME.cpu, NAME.gen-cpu (ghz's own CPU) and
# NAME.machine.
ghz_run() {
  local name=$1 port=$2 pid=$3
  local c0 m0 TIMEFORMAT='%R %U %S'
  c0=$(cpu_ticks "$pid")
  m0=$(machine_ticks)
  { time timeout 300 "$GHZ" --config="$LOAD_CONFIG" --protoset="$PROTOSET" -c "$CONCURRENCY" \
    --connections="$CONNECTIONS" -z "${DURATION}s" --duration-stop=wait -O json -o "$RAW/$name.json" \
    "127.0.0.1:$port" 2>"$RAW/$name.stderr" || true; } 2>"$RAW/$name.gen-cpu"
  echo "$(($(cpu_ticks "$pid") - c0)) $(getconf CLK_TCK)" >"$RAW/$name.cpu"
  echo "$m0 $(machine_ticks)" >"$RAW/$name.machine"
  [[ -s $RAW/$name.json ]] || { cat "$RAW/$name.stderr" >&2; echo "ghz $name wrote no report" >&2; exit 1; }
}

# start_redis: a redis-server on a free loopback port, in a directory of its
# own, with no persistence; sets REDIS_SERVER_PID and REDIS_PORT, and writes
# $WORK/gateway-redis.json: bench/configs/gateway-zero.json (its files as
# absolute paths) plus sharedState.redis at that server.
start_redis() {
  local dir
  dir=$(mktemp -d "$WORK/redis.XXXX")
  for _ in 1 2 3 4 5; do
    REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --save "" --appendonly no \
      --daemonize no --logfile "$RAW/redis.log" &
    REDIS_SERVER_PID=$!
    PIDS+=("$REDIS_SERVER_PID")
    for _ in $(seq 1 50); do
      [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null) == PONG ]] && break
      kill -0 "$REDIS_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$REDIS_SERVER_PID" 2>/dev/null && break  # else the port was taken meanwhile
  done
  [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null) == PONG ]] ||
    { cat "$RAW/redis.log" >&2; echo "redis-server did not start" >&2; exit 1; }
  log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'): pid $REDIS_SERVER_PID, port $REDIS_PORT"
  redis-server --version >"$RAW/redis-version.txt"
  redis_info memory >"$RAW/redis-memory-start.txt"
  python3 - "$ROOT/bench/configs/gateway-zero.json" "$REDIS_PORT" >"$WORK/gateway-redis.json" <<'PY'
import json, os, sys
src, port = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(src))
config = json.load(open(src))
def absolute(v):
    if isinstance(v, dict):
        return {k: (os.path.normpath(os.path.join(base, x))
                    if isinstance(x, str) and (k.endswith("File") or k == "file") and not os.path.isabs(x)
                    else absolute(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [absolute(x) for x in v]
    return v
config = absolute(config)
config["sharedState"] = {"redis": {"address": f"127.0.0.1:{port}"}}
json.dump(config, sys.stdout, indent=1)
PY
}

# Samples Threads/VmHWM of PID every 100 ms into $RAW/NAME.samples until
# $WORK/stop-NAME exists (bounded: 10 minutes).
sample_process() {
  local name=$1 pid=$2
  for _ in $(seq 1 6000); do
    [[ -e $WORK/stop-$name ]] && break
    awk '/^(Threads|VmRSS|VmHWM):/{printf "%s %s ", $1, $2} END{print ""}' "/proc/$pid/status" \
      >>"$RAW/$name.samples" 2>/dev/null || break
    sleep 0.1
  done
}

machine() {
  {
    if [[ $1 == start ]]; then
      echo "cores $(nproc)"
      echo "cpu $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
      echo "kernel $(uname -r)"
    fi
    echo "load average at $1 $(cut -d' ' -f1-3 /proc/loadavg)"
  } >>"$RAW/machine.txt"
}

# each_server PREFIX SUFFIX ARGS...: one load run of every server started
# by throughput_round, named PREFIX-<server>-SUFFIX, in the order of SERVERS
# (entries NAME:PORT:PID[:REDIS_PID]); ONLY="name ..." limits it to those.
each_server() {
  local prefix=$1 suffix=$2 entry name port pid redis_pid
  shift 2
  for entry in "${SERVERS[@]}"; do
    IFS=: read -r name port pid redis_pid <<<"$entry"
    [[ -z ${ONLY:-} || " $ONLY " == *" $name "* ]] || continue
    REDIS_PID=$redis_pid load "$prefix-$name-$suffix" "$port" "$pid" "$@" -c "$CONCURRENCY" \
      --connections="$CONNECTIONS" --expect-verdict=VERDICT_MATCH
  done
}

throughput_round() {  # TAG GATEWAY_BINARY
  local tag=$1 gateway=$2
  start_server "baseline$tag" "$BASELINE" --listen=127.0.0.1:0
  local bpid=$SERVER_PID bport=$SERVER_PORT
  start_gateway "gateway$tag" bench/configs/gateway-zero.json "$gateway"
  local gpid=$SERVER_PID gport=$SERVER_PORT gmetrics=$METRICS_PORT
  # The gateway right after the baseline, as before the floor existed; the
  # gateway with Redis next (main round only), then the floor (main round
  # only) last.
  SERVERS=("baseline$tag:$bport:$bpid" "gateway$tag:$gport:$gpid")
  local fpid= rgpid=
  if [[ -z $tag ]] && command -v redis-server >/dev/null; then
    start_redis
    start_gateway gateway-redis "$WORK/gateway-redis.json" "$gateway"
    rgpid=$SERVER_PID
    SERVERS+=("gateway-redis:$SERVER_PORT:$rgpid:$REDIS_SERVER_PID")
    log "warm-up: gateway with Redis $WARMUP_CALLS calls"
    REDIS_PID=$REDIS_SERVER_PID load warmup-gateway-redis "$SERVER_PORT" "$rgpid" -n "$WARMUP_CALLS" \
      -c "$CONCURRENCY" --connections="$CONNECTIONS"
  elif [[ -z $tag ]]; then
    log "redis-server not installed (scripts/install-deps.sh bench): no gateway with Redis"
  fi
  if [[ -z $tag ]]; then
    start_server floor "$FLOOR" --listen=127.0.0.1:0 --dir="$(mktemp -d "$WORK/floor.XXXX")"
    fpid=$SERVER_PID
    SERVERS+=("floor:$SERVER_PORT:$fpid")
    load warmup-floor "$SERVER_PORT" "$fpid" -z 2s -c "$CONCURRENCY" --connections="$CONNECTIONS"
  fi
  log "warm-up: baseline 2 s, gateway $WARMUP_CALLS calls"
  load "warmup-baseline$tag" "$bport" "$bpid" -z 2s -c "$CONCURRENCY" --connections="$CONNECTIONS"
  load "warmup-gateway$tag" "$gport" "$gpid" -n "$WARMUP_CALLS" -c "$CONCURRENCY" --connections="$CONNECTIONS"
  for t in $(seq 1 "$TRIALS"); do
    log "trial $t/$TRIALS$tag: ${SERVERS[*]%%:*}, ${DURATION}s each"
    each_server max "$t" -z "${DURATION}s"
    if [[ -z $tag && -x $GHZ ]]; then
      log "trial $t/$TRIALS: ghz against baseline and gateway, ${DURATION}s each"
      ghz_run "ghz-max-baseline-$t" "$bport" "$bpid"
      ghz_run "ghz-max-gateway-$t" "$gport" "$gpid"
    fi
  done
  if [[ -z $tag && ! -x $GHZ ]]; then
    log "ghz not installed (scripts/install-deps.sh): no ghz runs"
  elif [[ -z $tag ]]; then
    "$GHZ" --version >"$RAW/ghz-version.txt" 2>&1 || true
  fi
  if [[ -z $tag ]]; then
    local rate
    rate=$(python3 "$ROOT/bench/report.py" rate "$RAW" "$TRIALS" 0.5)
    for t in $(seq 1 "$TRIALS"); do
      log "half of the gateway's maximum, trial $t/$TRIALS: $rate calls/s, paced, each server"
      each_server half "$t" -z "${DURATION}s" -r "$rate"
    done
    local fraction sweep_rate
    for fraction in $SWEEP; do
      sweep_rate=$(python3 "$ROOT/bench/report.py" rate "$RAW" "$TRIALS" "$fraction")
      log "$fraction of the gateway's maximum: $sweep_rate calls/s, paced, each server but the gateway with Redis"
      ONLY="baseline gateway floor" each_server sweep "$fraction" -z "${DURATION}s" -r "$sweep_rate"
    done
    if [[ -d /dev/shm ]]; then
      # Diagnostic, not a product setting: the same gateway with its ledger
      # on tmpfs, where fdatasync costs nothing, to show how much of the
      # added latency is the durable group commit on this machine's disk.
      local shm
      shm=$(mktemp -d /dev/shm/idgate-bench.XXXX)
      start_server gateway-tmpfs "$IDGATE" --config="$ROOT/bench/configs/gateway-zero.json" \
        --state_dir="$shm" --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
      local tpid=$SERVER_PID tport=$SERVER_PORT
      load warmup-gateway-tmpfs "$tport" "$tpid" -z 2s -c "$CONCURRENCY" --connections="$CONNECTIONS"
      load half-gateway-tmpfs "$tport" "$tpid" -z "${DURATION}s" -r "$rate" -c "$CONCURRENCY" --connections="$CONNECTIONS" --expect-verdict=VERDICT_MATCH
      stop_server gateway-tmpfs "$tpid"
      rm -rf "$shm"
    fi
    h2load_round "$bport" "$gport" "$gmetrics"
  fi
  stop_server "gateway$tag" "$gpid"
  if [[ -n $rgpid ]]; then
    redis_info memory >"$RAW/redis-memory-end.txt"
    redis_info keyspace >"$RAW/redis-keyspace-end.txt"
    stop_server gateway-redis "$rgpid"
    stop_server redis "$REDIS_SERVER_PID"
  fi
  [[ -z $fpid ]] || stop_server floor "$fpid"
  stop_server "baseline$tag" "$bpid"
}

h2load_round() {  # BASELINE_PORT GATEWAY_PORT GATEWAY_METRICS_PORT
  if ! command -v h2load >/dev/null; then
    log "h2load not installed (apt-get install nghttp2-client): skipped"
    return
  fi
  # One body for every request (h2load sends the same bytes each time):
  # after the first, every call to the gateway is an idempotent replay.
  "$LOAD" --config="$LOAD_CONFIG" --write-h2load-body="$RAW/h2load-body.bin" --request-number=0 2>/dev/null
  local streams=$(((CONCURRENCY + CONNECTIONS - 1) / CONNECTIONS))
  local name port
  for name in baseline gateway; do
    port=$1
    [[ $name == gateway ]] && port=$2
    if [[ $name == gateway ]]; then
      curl -s "http://127.0.0.1:$3/metrics" >"$RAW/h2load-gateway-metrics-before.txt" || true
    fi
    log "h2load against the $name: -c $CONNECTIONS -m $streams, ${DURATION}s"
    timeout 120 h2load -c "$CONNECTIONS" -m "$streams" -t 1 -D "$DURATION" --warm-up-time=1 \
      -d "$RAW/h2load-body.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
      -H 'x-idgate-caller: esign-platform' \
      "http://127.0.0.1:$port/idgate.v1.VerificationService/Verify" >"$RAW/h2load-$name.txt" 2>&1 || true
    if [[ $name == gateway ]]; then
      curl -s "http://127.0.0.1:$3/metrics" >"$RAW/h2load-gateway-metrics-after.txt" || true
    fi
  done
}

concurrency_round() {  # TAG GATEWAY_BINARY
  local tag=$1 gateway=$2
  start_gateway "gateway-1s$tag" bench/configs/gateway-1s.json "$gateway"
  local gpid=$SERVER_PID gport=$SERVER_PORT
  sample_process "gateway-1s$tag" "$gpid" &
  local sampler=$!
  PIDS+=("$sampler")
  awk '/^(VmRSS|Threads):/{print $1, $2}' "/proc/$gpid/status" >"$RAW/gateway-1s$tag.idle"
  log "10,000 calls at once, mock at 1 s$tag"
  load "c10k-wave$tag" "$gport" "$gpid" -n 10000 -c 10000 --connections=10 -t 20s --expect-verdict=VERDICT_MATCH
  log "10,000 in flight for ${DURATION}s (closed loop), mock at 1 s$tag"
  load "c10k-sustained$tag" "$gport" "$gpid" -z "${DURATION}s" -c 10000 --connections=10 -t 20s \
    --skipFirst=10000 --expect-verdict=VERDICT_MATCH
  awk '/^(VmHWM|VmRSS|Threads):/{print $1, $2}' "/proc/$gpid/status" >"$RAW/gateway-1s$tag.status"
  touch "$WORK/stop-gateway-1s$tag"
  wait "$sampler" || true
  stop_server "gateway-1s$tag" "$gpid"
}

# fdatasync latency of small appends where the ledgers live (mktemp's dir).
disk_probe() {
  python3 - "$WORK" >>"$RAW/machine.txt" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fdatasync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
t = []
for _ in range(200):
    os.write(fd, b"x" * 500)
    s = time.perf_counter()
    os.fdatasync(fd)
    t.append(time.perf_counter() - s)
os.close(fd)
os.unlink(path)
t.sort()
print("fdatasync of a 500-byte append on the ledger's file system: p50 %.3f ms, p99 %.3f ms" % (t[100] * 1e3, t[197] * 1e3))
PY
}

machine start
disk_probe
throughput_round "" "$IDGATE"
concurrency_round "" "$IDGATE"
if [[ -n ${COMPARE_IDGATE:-} ]]; then
  log "the same with the gateway $COMPARE_IDGATE"
  throughput_round "-compare" "$COMPARE_IDGATE"
  concurrency_round "-compare" "$COMPARE_IDGATE"
fi
machine end

cat >"$RAW/settings.txt" <<EOF
duration ${DURATION}s, trials $TRIALS, connections $CONNECTIONS, concurrency $CONCURRENCY, gateway warm-up $WARMUP_CALLS calls
EOF
echo "$SWEEP" >"$RAW/sweep.txt"
python3 "$ROOT/bench/report.py" tables "$RAW" "$TRIALS" >"$OUT_DIR/tables.md"
python3 "$ROOT/bench/report.py" json "$RAW" "$TRIALS" >"$OUT_DIR/results.json"
python3 "$ROOT/bench/report.py" plot-data "$RAW" "$TRIALS" "$WORK"
if command -v gnuplot >/dev/null; then
  gnuplot -e "data='$WORK'; out='$OUT_DIR/latency.png'" "$ROOT/bench/plot/latency.gp"
else
  log "gnuplot not installed (apt-get install gnuplot-nox): no plot"
fi
log "done: $OUT_DIR/tables.md, results.json, latency.png"
cat "$OUT_DIR/tables.md"

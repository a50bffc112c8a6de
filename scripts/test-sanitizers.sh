#!/usr/bin/env bash
# Builds the tree with sanitizers and runs the unit, integration, fault,
# crash, hostile-caller and fuzz-corpus tests under them (not the Helm chart
# tests). Exits non-zero on any failure or sanitizer finding.
#
#   scripts/test-sanitizers.sh            ASan + UBSan, in build/asan
#   scripts/test-sanitizers.sh --tsan     TSan, in build/tsan (see below)
#   scripts/test-sanitizers.sh --tsan --all   TSan over every test (review by hand)
#   scripts/test-sanitizers.sh [--tsan [--all]] [--clean] [-- extra ctest args]
#
# Environment: JOBS (default 2), BUILD_DIR (overrides the directory),
# CTEST_EXCLUDE (regex of tests to skip; default the Helm tests).
#
# ASan+UBSan: leaks are detected (detect_leaks=1), UBSan stops at the first
# finding with a stack trace. Child processes (the idgate binary started by
# tests/faults, tests/crash, tests/hostile) inherit the same options, so a
# finding in them fails the test that started them.
#
# TSan: Debian's gRPC, Abseil, protobuf, OpenSSL and prometheus-cpp are not
# built with TSan. Races *inside* them are false positives (suppressed
# below), and so are many in our code: the synchronization those libraries
# do -- absl::Mutex, gRPC's completion queues between the thread that built
# an object and the gRPC thread that uses it -- is invisible to TSan. So by
# default --tsan runs only the tests whose threads synchronize through
# std::mutex/std::thread alone (the ledger's writer thread and group
# commit, retention, the audit, the config loader, the fuzz corpora), where
# a report is real and fails the run; it builds only their binaries. --all
# builds and runs everything; its reports must be read by hand
# (RELIABILITY.md, "Sanitizers", lists the known false ones).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=address
clean=0
all=0
ctest_extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --tsan) mode=thread; shift ;;
    --all) all=1; shift ;;
    --clean) clean=1; shift ;;
    --) shift; ctest_extra=("$@"); break ;;
    *) echo "usage: $0 [--tsan [--all]] [--clean] [-- ctest args]" >&2; exit 2 ;;
  esac
done

if [[ $mode == address ]]; then
  BUILD_DIR=${BUILD_DIR:-build/asan}
else
  BUILD_DIR=${BUILD_DIR:-build/tsan}
fi
JOBS=${JOBS:-2}
CTEST_EXCLUDE=${CTEST_EXCLUDE:-'^helm\.'}

[[ $clean == 1 ]] && rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"

select=()
targets=()
if [[ $mode == thread && $all == 0 ]]; then
  # Tests of components synchronized only by std::mutex / std::thread, and
  # only the binaries that hold them (a third of the build).
  select=(-R '^(AsyncLineWriter|DelayQueue|FileLedgerTest|FakeSinkLedgerTest|RetentionTest|LedgerScanTest|ChainVerifierTest|CheckpointSignatureTest|RecordFrameTest|ScanFramesTest|SegmentFileNameTest|Ed25519Test|HmacSha256Test|Sha256Test|SubjectKeyringTest|CatTest|VerifyTest|SharingTableTest|SubjectTest|MultiLedgerTest|ConfigLoader|fuzz_replay_)')
  targets=(--target async_line_writer_test delay_queue_test crypto_test subject_ref_test
           segment_format_test ledger_scan_test file_ledger_test retention_test
           config_loader_test idgate_audit_test fuzz_replay_validators fuzz_replay_request
           fuzz_replay_config fuzz_replay_ledger)
fi

start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDGATE_SANITIZE=$mode >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
built=$(date +%s)

abs_build=$(cd "$BUILD_DIR" && pwd)
if [[ $mode == address ]]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  # c-ares (gRPC's DNS resolver, used for "localhost" targets) keeps 10 bytes
  # from ares_init until exit: a leak in the system library, not ours.
  lsan_supp=$abs_build/lsan.supp
  printf '%s\n' 'leak:libcares.so' >"$lsan_supp"
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$lsan_supp:print_suppressions=0}
  # Upper bounds on latencies in tests/faults stretch under instrumentation.
  export IDGATE_TIME_SCALE=${IDGATE_TIME_SCALE:-3}
else
  export IDGATE_TIME_SCALE=${IDGATE_TIME_SCALE:-10}
  supp=$abs_build/tsan.supp
  cat >"$supp" <<'EOF'
# Uninstrumented system libraries (Debian 12): races in them, and
# interceptor calls from them, are not ours to see.
called_from_lib:libgrpc.so
called_from_lib:libupb.so
called_from_lib:libgrpc++.so
called_from_lib:libgpr.so
called_from_lib:libaddress_sorting.so
called_from_lib:libprotobuf.so
called_from_lib:libabsl_synchronization.so
called_from_lib:libabsl_base.so
called_from_lib:libabsl_spinlock_wait.so
called_from_lib:libcivetweb.so
called_from_lib:libprometheus-cpp-core.so
called_from_lib:libprometheus-cpp-pull.so
called_from_lib:libcrypto.so
called_from_lib:libssl.so
race:libgrpc.so
race:libupb.so
race:libgrpc++.so
race:libgpr.so
race:libprotobuf.so
race:libabsl_
race:libcivetweb.so
race:libprometheus-cpp
race:libcrypto.so
race:libssl.so
# prometheus-cpp locks its mutexes inside the library and unlocks them in
# inline header code compiled into Metrics: "unlock of an unlocked mutex".
mutex:idgate::Metrics::
mutex:idgate::ServeMetrics
race:grpc_core::
race:grpc_event_engine::
race:grpc::internal::
race:absl::lts_20220623::
deadlock:libgrpc.so
deadlock:libabsl_
EOF
  export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$supp:halt_on_error=0:second_deadlock_stack=1:report_signal_unsafe=0:exitcode=66}
fi

status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900 \
  -E "$CTEST_EXCLUDE" "${select[@]}" "${ctest_extra[@]}" || status=$?
done_at=$(date +%s)

echo "---- $mode sanitizers: build $((built - start)) s, tests $((done_at - built)) s, total $((done_at - start)) s (JOBS=$JOBS)"
exit $status

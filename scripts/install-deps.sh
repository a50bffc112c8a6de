#!/usr/bin/env bash
# Installs the Debian 12 packages idgate needs to build, run and test.
# Idempotent: packages already installed are skipped; sudo is used when not root.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev prometheus-cpp-dev libgtest-dev libgmock-dev libjemalloc-dev
  libhiredis-dev libevent-dev libcli11-dev
  openssl python3
)
# buf (proto lint) and the chart validators come from npm. Machines that
# already have Node.js from elsewhere (e.g. NodeSource) keep it: Debian's
# npm package would conflict with it.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi
# Extra groups, e.g. `install-deps.sh fuzz bench`.
for group in "$@"; do
  case "$group" in
    fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;
    bench) PACKAGES+=(nghttp2-client gnuplot-nox valgrind redis-server) ;;  # the gateway with Redis
    lint) PACKAGES+=(clang-format) ;;
    redis) PACKAGES+=(redis-server) ;;  # the tests start their own
    helm) PACKAGES+=(golang-go golang-github-masterminds-sprig-dev) ;;
    *) echo "unknown group: $group" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

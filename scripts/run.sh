#!/usr/bin/env bash
# Installs what is missing, builds Release and starts the gateway with the
# embedded mock providers (config/dev.json). Extra arguments go to idgate.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target idgate idgate-cli idgate-audit
mkdir -p var
exec build/release/app/idgate --config=config/dev.json --state_dir=var "$@"

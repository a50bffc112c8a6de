#!/usr/bin/env bash
# Installs what is missing (Debian packages, and grpcurl and ghz into
# .tools/bin), builds Release and starts the gateway with the embedded mock
# providers (config/dev.json). Extra arguments go to idgate, e.g.
# --config=loadtest/gateway.json for the load tests (a later flag wins).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
# idgate_protoset: build/release/idgate.protoset, which loadtest/'s ghz configs name.
cmake --build build/release --target idgate idgate-cli idgate-audit idgate_protoset
mkdir -p var
echo "run.sh: grpcurl and ghz are in .tools/bin (export PATH=\$PWD/.tools/bin:\$PATH)" >&2
exec build/release/app/idgate --config=config/dev.json --state_dir=var "$@"

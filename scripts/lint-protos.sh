#!/usr/bin/env bash
# Lints the protos with buf's STANDARD rules, so other teams can generate
# clients in any language. buf comes from the npm package @bufbuild/buf,
# installed into tools/buf/node_modules (pinned by its package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x tools/buf/node_modules/.bin/buf ]; then
  (cd tools/buf && npm ci --silent --no-audit --no-fund)
fi
tools/buf/node_modules/.bin/buf lint proto
echo "buf lint: ok"

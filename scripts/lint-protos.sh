#!/usr/bin/env bash
# Lints the protos with buf's STANDARD rules, so other teams can generate
# clients in any language. buf comes from the npm package @bufbuild/buf,
# installed into tools/buf/node_modules (pinned by its package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x tools/buf/node_modules/.bin/buf ]; then
  # npm 11's `npm ci` refuses this lock file (it does not record the optional
  # platform packages of other systems); install honours the pinned version.
  (cd tools/buf && npm install --no-save --silent --no-audit --no-fund)
fi
tools/buf/node_modules/.bin/buf lint proto
echo "buf lint: ok"

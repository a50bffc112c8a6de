#!/usr/bin/env bash
# Generates the "Parameters" section of helm/idgate/README.md from the @param
# comments of helm/idgate/values.yaml, with the pinned
# @bitnami/readme-generator-for-helm (scripts/install-deps.sh helm).
#
#   scripts/chart-readme.sh           rewrite helm/idgate/README.md
#   scripts/chart-readme.sh --check   fail (with the diff) if it is not current;
#                                     the generator also fails on a value without
#                                     a @param, or a @param without a value
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${IDGATE_TOOLS_DIR:-$ROOT/.tools}
CHART=$ROOT/helm/idgate
GENERATOR=$TOOLS/npm/node_modules/.bin/readme-generator
[ -x "$GENERATOR" ] || { echo "no $GENERATOR: run scripts/install-deps.sh helm" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$CHART/README.md" "$work/README.md"
if ! "$GENERATOR" --values "$CHART/values.yaml" --readme "$work/README.md" >"$work/log" 2>&1; then
  grep -E '^ERROR' "$work/log" >&2 || cat "$work/log" >&2
  echo "chart README: the @param comments of helm/idgate/values.yaml do not match its values" >&2
  exit 1
fi
if [[ ${1:-} == --check ]]; then
  if ! diff -u "$CHART/README.md" "$work/README.md"; then
    echo "chart README: helm/idgate/README.md is not current; run scripts/chart-readme.sh" >&2
    exit 1
  fi
  echo "chart README: current"
else
  cp "$work/README.md" "$CHART/README.md"
  echo "chart README: written $CHART/README.md"
fi

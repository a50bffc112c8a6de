#!/usr/bin/env bash
# helm package: the chart archive is made, holds the generated README and the
# values schema, and lints (--strict) and renders like the chart folder.
#
#   tests/helm/package.sh [--work DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${IDGATE_TOOLS_DIR:-$ROOT/.tools}
HELM=$TOOLS/bin/helm
WORK=$ROOT/build/helm-package
[[ ${1:-} == --work ]] && WORK=$2
[ -x "$HELM" ] || { echo "no $HELM: run scripts/install-deps.sh helm" >&2; exit 2; }
export HELM_CACHE_HOME=$WORK/cache HELM_CONFIG_HOME=$WORK/config HELM_DATA_HOME=$WORK/data

rm -rf "$WORK/out"
mkdir -p "$WORK/out"
"$HELM" package "$ROOT/helm/idgate" --destination "$WORK/out"
version=$(sed -n 's/^version: *//p' "$ROOT/helm/idgate/Chart.yaml")
archive=$WORK/out/idgate-$version.tgz
[ -f "$archive" ] || { echo "FAIL: no $archive" >&2; exit 1; }
contents=$(tar -tzf "$archive")
for f in Chart.yaml values.yaml values.schema.json values-production.yaml README.md templates/statefulset.yaml; do
  grep -qx "idgate/$f" <<<"$contents" || { echo "FAIL: $archive lacks idgate/$f" >&2; exit 1; }
done
"$HELM" lint "$archive" --strict
"$HELM" template idgate "$archive" -n idgate --kube-version 1.27.0 >"$WORK/out/from-archive.yaml"
"$HELM" template idgate "$ROOT/helm/idgate" -n idgate --kube-version 1.27.0 >"$WORK/out/from-folder.yaml"
diff -u "$WORK/out/from-folder.yaml" "$WORK/out/from-archive.yaml" ||
  { echo "FAIL: the archive renders differently from the folder" >&2; exit 1; }
echo "helm package: $archive ($(wc -c <"$archive") bytes), lints and renders like the folder"

#!/usr/bin/env bash
# Checks the Helm chart helm/idgate for one set of values, with the real tools
# (scripts/install-deps.sh helm puts them in .tools/bin), each stage printing
# its own mistakes as "<stage>: <message>":
#
#   lint           helm lint --strict (templates, Chart.yaml, values.schema.json)
#   values schema  helm template's check of the values against values.schema.json
#   render         helm template (past the values schema, so that the later
#                  stages still see what a broken value renders into)
#   kubernetes     kubeconform -strict: every object against the Kubernetes
#                  1.27 API schemas (the chart's lowest version; unknown fields
#                  refused) and the prometheus-operator ServiceMonitor CRD
#   pod security   the "restricted" Pod Security Standard + read-only root     } chart_checks.cjs:
#   chart lint     cross-object invariants of this chart (probes, drain,       } checks no tool
#                  selectors, references, mounted files, Redis egress, labels) } makes
#   config         the rendered config.json, checked by the gateway itself
#                  (idgate --check_config: its own parser and checks)
#
# usage: tests/helm/validate.sh [options] [VALUES_FILE...]
#   no VALUES_FILE: the chart's default values alone
#   --set K=V, --set-string K=V, --set-file K=FILE   as helm's (repeatable, in order)
#   --api-versions G/V[/Kind]  extra API the "cluster" serves (repeatable), e.g.
#                              monitoring.coreos.com/v1/ServiceMonitor
#   --namespace NS --name RELEASE
#   --kube-version X.Y.Z       default 1.27.0, the chart's kubeVersion floor
#   --expect-failure REGEX     the validation must FAIL and its output must match
#                              every such extended regex (repeatable)
#   --label NAME               output directory name (default: last values file's name)
#   --work DIR                 outputs (default build/helm-validate)
#   --idgate FILE              the gateway binary for the config stage (default
#                              build/release/app/idgate; ctest passes its own build's)
#
# Rendered output stays in WORK/out/<label>/ (manifest.yaml, config.json).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHART=$ROOT/helm/idgate
WORK=${IDGATE_HELM_WORK:-$ROOT/build/helm-validate}
TOOLS=${IDGATE_TOOLS_DIR:-$ROOT/.tools}
IDGATE=$ROOT/build/release/app/idgate

NAMESPACE=idgate
RELEASE=idgate
KUBE_VERSION=1.27.0
API_VERSIONS=()
EXPECT=()
VALUES=()
SETS=()   # helm arguments: --set K=V, --set-string K=V, --set-file K=FILE
LABEL=

while [ $# -gt 0 ]; do
  case "$1" in
    --set|--set-string) SETS+=("$1" "$2"); shift 2 ;;
    --set-file)
      # Absolute file, so the checks find it from any directory.
      f=${2#*=}; [[ $f == /* ]] || f=$PWD/$f
      SETS+=("$1" "${2%%=*}=$f"); shift 2 ;;
    --api-versions) API_VERSIONS+=("$2"); shift 2 ;;
    --namespace) NAMESPACE=$2; shift 2 ;;
    --name) RELEASE=$2; shift 2 ;;
    --kube-version) KUBE_VERSION=$2; shift 2 ;;
    --expect-failure) EXPECT+=("$2"); shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --idgate) IDGATE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) VALUES+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
for tool in helm kubeconform; do
  [ -x "$TOOLS/bin/$tool" ] || { echo "no $TOOLS/bin/$tool: run scripts/install-deps.sh helm" >&2; exit 2; }
done
[ -d "$TOOLS/npm/node_modules/yaml" ] || { echo "no $TOOLS/npm: run scripts/install-deps.sh helm" >&2; exit 2; }
[ -x "$IDGATE" ] || { echo "no gateway binary $IDGATE (build target idgate, or --idgate)" >&2; exit 2; }
HELM=$TOOLS/bin/helm
KUBECONFORM=$TOOLS/bin/kubeconform
SCHEMAS=$TOOLS/kubernetes-json-schema
# kubeconform's schema version: the one install-deps.sh converted.
SCHEMA_VERSION=$(cd "$SCHEMAS" && ls -d v*-standalone-strict | head -n 1)
SCHEMA_VERSION=${SCHEMA_VERSION%-standalone-strict}
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config HELM_DATA_HOME=$WORK/helm/data

# prefix STAGE: every line of stdin as "STAGE: line" (blank lines dropped).
prefix() { sed -e '/^[[:space:]]*$/d' -e "s/^/$1: /"; }

validate() {
  local label=default
  [ ${#VALUES[@]} -gt 0 ] && label=$(basename "${VALUES[-1]}" .yaml)
  [ -n "$LABEL" ] && label=$LABEL
  local out=$WORK/out/$label
  rm -rf "$out"; mkdir -p "$out"
  local failed=() f a
  local vargs=()
  for f in "${VALUES[@]}"; do vargs+=(-f "$f"); done
  vargs+=("${SETS[@]}")
  local targs=("$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION")
  for a in "${API_VERSIONS[@]}"; do targs+=(--api-versions "$a"); done

  echo "== helm chart $CHART, values: ${VALUES[*]:-(defaults)} ${SETS[*]}"
  # lint: only its findings ([ERROR]/[WARNING]; [INFO] is advice).
  if ! "$HELM" lint "$CHART" --strict --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" \
      "${vargs[@]}" >"$out/lint.txt" 2>&1; then
    grep -E '^\[(ERROR|WARNING)\]|^- ' "$out/lint.txt" | prefix lint
    failed+=(lint)
  fi

  # values schema, then render: helm template checks the values first and
  # renders nothing when they fail, so render again past that check.
  if "$HELM" template "${targs[@]}" "${vargs[@]}" >"$out/manifest.yaml" 2>"$out/template.txt"; then
    :
  else
    if grep -q "values don't meet the specifications of the schema" "$out/template.txt"; then
      grep -E '^- ' "$out/template.txt" | prefix "values schema"
      failed+=("values schema")
    fi
    if ! "$HELM" template "${targs[@]}" "${vargs[@]}" --skip-schema-validation \
        >"$out/manifest.yaml" 2>"$out/template.txt"; then
      grep -v '^Use --debug flag' "$out/template.txt" | prefix render
      failed+=(render)
      rm -f "$out/manifest.yaml"
    fi
  fi

  if [ -f "$out/manifest.yaml" ]; then
    if ! "$KUBECONFORM" -strict -summary -kubernetes-version "${SCHEMA_VERSION#v}" \
        -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
        "$out/manifest.yaml" >"$out/kubeconform.txt" 2>&1; then
      grep -v '^Summary:' "$out/kubeconform.txt" |
        sed -e "s|^$out/manifest.yaml - ||" \
            -e "s/ is invalid: problem validating schema. Check JSON formatting: jsonschema validation failed with '[^']*'/:/" |
        prefix kubernetes
      failed+=(kubernetes)
    else
      sed "s|^|kubeconform: |" "$out/kubeconform.txt"
    fi

    local cargs=(--manifest "$out/manifest.yaml" --config-out "$out/config.json" --values-file "$CHART/values.yaml")
    for f in "${VALUES[@]}"; do cargs+=(--values-file "$f"); done
    cargs+=("${SETS[@]}")
    NODE_PATH=$TOOLS/npm/node_modules node "$HERE/chart_checks.cjs" "${cargs[@]}" || failed+=("chart checks")

    if [ -f "$out/config.json" ]; then
      if ! "$IDGATE" --check_config --config="$out/config.json" >"$out/config.txt" 2>&1; then
        sed -n -e 's/.*"error":"\(.*\)"}$/\1/' -e 's/^config: //p' "$out/config.txt" | prefix config
        failed+=(config)
      fi
    else
      echo "config: no config.json rendered"
      failed+=(config)
    fi
  fi

  if [ ${#failed[@]} -gt 0 ]; then
    echo "== FAILED (${failed[*]}); output in $out"
    return 1
  fi
  echo "== OK; manifest in $out/manifest.yaml"
}

if [ ${#EXPECT[@]} -eq 0 ]; then
  validate 2>&1
  exit $?
fi

# Expected failure: the validation must fail, with every expected message.
log_file=$WORK/expect-failure.$$.log
set +e
validate >"$log_file" 2>&1
rc=$?
set -e
cat "$log_file"
ok=1
if [ $rc -eq 0 ]; then
  echo "EXPECTED FAILURE, but the validation passed"
  ok=0
fi
for re in "${EXPECT[@]}"; do
  if grep -Eq -- "$re" "$log_file"; then
    echo "expected and found: $re"
  else
    echo "EXPECTED BUT MISSING: $re"
    ok=0
  fi
done
rm -f "$log_file"
[ $ok -eq 1 ] && echo "== OK: the broken values were rejected as expected"
[ $ok -eq 1 ]

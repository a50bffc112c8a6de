#!/usr/bin/env bash
# Validates the Helm chart helm/idgate offline, without helm or a cluster:
#
#   render        the chart for the given values (tests/helm/render, Go text/template
#                 + sprig with Helm's built-ins), every template, failing on any
#                 template error; then again with missingkey=error (helm lint --strict)
#   values lint   each values file parses (YAML 1.1, no duplicate keys)
#   values schema the coalesced values against helm/idgate/values.schema.json (ajv)
#   kubernetes    every rendered object against the Kubernetes API schemas
#                 (npm kubernetes-models), unknown fields rejected
#   pod security  the "restricted" Pod Security Standard + read-only root file system
#   chart lint    cross-object invariants (probes, drain, selectors, references)
#   config        the rendered config.json parses as idgate.config.v1.GatewayConfig
#                 (unknown fields rejected, as the gateway does); the schema's config
#                 part matches proto/idgate/config/v1/config.proto
#
# usage: tests/helm/validate.sh [options] [VALUES_FILE...]
#   no VALUES_FILE: the chart's default values.yaml alone
#   --api-versions G/V[/Kind]  extra API the "cluster" serves (repeatable), e.g.
#                              monitoring.coreos.com/v1/ServiceMonitor
#   --namespace NS --name RELEASE --kube-version X.Y.Z
#   --expect-failure REGEX     the validation must FAIL and its output must match
#                              every such extended regex (repeatable)
#   --label NAME               output directory name (default: last values file's name)
#   --work DIR                 tools and outputs (default build/helm-validate)
#   --setup-only               install/build the tools and stop
#   --write-config-schema      regenerate the config definitions of values.schema.json
#                              from config.proto and stop
#
# Installs what it needs (Debian 12: golang-go, sprig, yaml.v2, protobuf-compiler,
# python3-protobuf, nodejs/npm; npm packages from tests/helm/package-lock.json into
# tests/helm/node_modules). Idempotent; sudo when not root. Rendered output stays in
# WORK/out/<label>/ (manifest.yaml is what `helm template` would print).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHART=$ROOT/helm/idgate
WORK=${IDGATE_HELM_WORK:-$ROOT/build/helm-validate}
PY=/usr/bin/python3 # Debian's python3-protobuf is only on the system interpreter

NAMESPACE=idgate
RELEASE=idgate
KUBE_VERSION=1.29.0
API_VERSIONS=()
EXPECT=()
VALUES=()
SETUP_ONLY=0
LABEL=
WRITE_SCHEMA=0

while [ $# -gt 0 ]; do
  case "$1" in
    --api-versions) API_VERSIONS+=("$2"); shift 2 ;;
    --namespace) NAMESPACE=$2; shift 2 ;;
    --name) RELEASE=$2; shift 2 ;;
    --kube-version) KUBE_VERSION=$2; shift 2 ;;
    --expect-failure) EXPECT+=("$2"); shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --setup-only) SETUP_ONLY=1; shift ;;
    --write-config-schema) WRITE_SCHEMA=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) VALUES+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done

# Absolute: the renderer is built from inside tests/helm.
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

log() { echo "helm-validate: $*" >&2; }

# ------------------------------------------------------------------ setup
install_packages() {
  local pkgs=(golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev
              protobuf-compiler python3-protobuf)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # nodejs may come from elsewhere (e.g. a newer build); any node >= 18 with npm will do.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build_renderer() {
  local sum
  sum=$(cat "$HERE"/render/*.go | sha256sum | cut -d' ' -f1)
  if [ -x "$WORK/bin/helm-render" ] && [ "$(cat "$WORK/bin/helm-render.sum" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  log "building helm-render (Go, GOPATH mode with Debian's packages)"
  mkdir -p "$WORK/bin"
  local gocache
  if ! gocache=$(go env GOCACHE 2>/dev/null) || [ -z "$gocache" ] || [ "$gocache" = off ]; then
    export GOCACHE=$WORK/go-cache
  fi
  (cd "$HERE" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
     go build -o "$WORK/bin/helm-render" ./render)
  echo "$sum" > "$WORK/bin/helm-render.sum"
}

install_node_modules() {
  local sum stamp=$HERE/node_modules/.idgate-stamp
  sum=$( (cat "$HERE/package-lock.json"; node --version) | sha256sum | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
  log "installing npm packages (tests/helm/package-lock.json)"
  [ -n "${HOME:-}" ] || export npm_config_cache=$WORK/npm-cache
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$sum" > "$stamp"
}

setup() {
  mkdir -p "$WORK"
  # ctest may run several validations at once: one setup at a time.
  exec 9>"$WORK/.setup.lock"
  flock 9
  install_packages
  build_renderer
  install_node_modules
  flock -u 9
}

descriptors() { # FileDescriptorSet of the gateway config, for the config checks
  protoc -I "$ROOT/proto" --include_imports --include_source_info \
    --descriptor_set_out="$1" "$ROOT/proto/idgate/config/v1/config.proto"
}

setup
[ $SETUP_ONLY -eq 1 ] && { log "tools ready in $WORK"; exit 0; }

if [ $WRITE_SCHEMA -eq 1 ]; then
  descriptors "$WORK/config.fds"
  "$PY" "$HERE/config_schema.py" --descriptors "$WORK/config.fds" \
    --schema "$CHART/values.schema.json" --write
  log "updated the config definitions of $CHART/values.schema.json"
  exit 0
fi

# ------------------------------------------------------------------ one validation
validate() {
  local label=default
  [ ${#VALUES[@]} -gt 0 ] && label=$(basename "${VALUES[-1]}" .yaml)
  [ -n "$LABEL" ] && label=$LABEL
  local out=$WORK/out/$label
  rm -rf "$out"; mkdir -p "$out"
  local failed=()
  local rargs=(-chart "$CHART" -name "$RELEASE" -namespace "$NAMESPACE" -kube-version "$KUBE_VERSION")
  local f a
  for f in "${VALUES[@]}"; do rargs+=(-f "$f"); done
  for a in "${API_VERSIONS[@]}"; do rargs+=(-api-versions "$a"); done

  echo "== helm chart $CHART, values: ${VALUES[*]:-(defaults)}"
  if ! "$WORK/bin/helm-render" "${rargs[@]}" -out "$out"; then
    failed+=(render)
  elif ! "$WORK/bin/helm-render" "${rargs[@]}" -strict 2> >(sed 's/^/lint (strict): /' >&2); then
    failed+=("lint (strict)")
  fi

  if [ -f "$out/values.json" ]; then
    local vargs=(--render-dir "$out" --schema "$CHART/values.schema.json" --values-file "$CHART/values.yaml")
    for f in "${VALUES[@]}"; do vargs+=(--values-file "$f"); done
    node "$HERE/validate.cjs" "${vargs[@]}" || failed+=(objects)
  fi

  descriptors "$out/config.fds"
  "$PY" "$HERE/config_schema.py" --descriptors "$out/config.fds" \
    --schema "$CHART/values.schema.json" --check || failed+=("config schema")
  if [ -f "$out/config.json" ]; then
    "$PY" "$HERE/config_schema.py" --descriptors "$out/config.fds" \
      --validate-config "$out/config.json" || failed+=(config)
  else
    echo "config: no config.json rendered" >&2
    failed+=(config)
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
validate > "$log_file" 2>&1
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

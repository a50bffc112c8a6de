#!/usr/bin/env bash
# Installs what idgate needs to build, run and test:
#
#   1. Debian 12 packages (apt), skipping those already installed; sudo only
#      when not root.
#   2. Tools by pinned version into the project-local, git-ignored folder
#      .tools (IDGATE_TOOLS_DIR overrides it), built with `go install` by the
#      Go at /usr/local/go (IDGATE_GO overrides it; Debian's Go 1.19 is too
#      old for them). Always: grpcurl and ghz (the README's calling and load
#      commands). Group `helm`: helm, kubeconform, the Kubernetes 1.27 JSON
#      schemas kubeconform reads offline, and the npm chart README generator.
#      Go's module and build caches, its config and telemetry, the npm and pip
#      caches all live under .tools: nothing is written elsewhere.
#
# Idempotent and fast when warm: each tool has a stamp naming what was
# installed; a matching stamp and binary skip it (no go, npm or pip run).
#
#   scripts/install-deps.sh [GROUP...]   groups: fuzz bench lint redis helm
#   export PATH=$PWD/.tools/bin:$PATH    then: helm, kubeconform, ghz, grpcurl,
#                                        readme-generator
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ------------------------------------------------------------ Debian packages
PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev prometheus-cpp-dev libgtest-dev libgmock-dev libjemalloc-dev
  libhiredis-dev libevent-dev libcli11-dev
  openssl python3 ca-certificates curl
)
# buf (proto lint) and the chart README generator come from npm. Machines that
# already have Node.js from elsewhere (e.g. NodeSource) keep it: Debian's
# npm package would conflict with it.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi
HELM_TOOLS=0
# Extra groups, e.g. `install-deps.sh fuzz bench`.
for group in "$@"; do
  case "$group" in
    fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;
    bench) PACKAGES+=(nghttp2-client gnuplot-nox valgrind redis-server) ;;  # the gateway with Redis
    lint) PACKAGES+=(clang-format) ;;
    redis) PACKAGES+=(redis-server) ;;  # the tests start their own
    # The chart checks: protoc + python3-protobuf (values.schema.json against
    # config.proto), python3-venv (the schema converter's own environment).
    helm) PACKAGES+=(python3-protobuf python3-venv); HELM_TOOLS=1 ;;
    *) echo "unknown group: $group" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ------------------------------------------------------------ pinned tools
# Pins. Go modules from the Go module proxy; ldflags as each project's own
# release build sets them (helm's Kubernetes version, below, too).
GRPCURL=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
GHZ=github.com/bojand/ghz/cmd/ghz@v0.121.0
HELM=helm.sh/helm/v3/cmd/helm@v3.21.4
KUBECONFORM=github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
# Kubernetes API schemas for the lowest version the chart supports
# (Chart.yaml kubeVersion >=1.27): the OpenAPI (swagger 2) document inside
# the k8s.io/kubernetes module, converted by the PyPI package
# openapi2jsonschema-ng (the converter of kubeconform's default schema
# repository, instrumenta/openapi2jsonschema, on current dependencies) into
# kubeconform's layout. The ServiceMonitor CRD from the prometheus-operator
# module, converted by the openapi2jsonschema.py script kubeconform ships.
KUBERNETES_SCHEMA_MODULE=k8s.io/kubernetes@v1.27.16
PROMETHEUS_OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator@v0.85.0
SCHEMA_CONVERTER_REQUIREMENTS=$ROOT/scripts/tools/schema-converter-requirements.txt
NPM_TOOLS_DIR=$ROOT/scripts/tools/npm  # package.json + package-lock.json

TOOLS=${IDGATE_TOOLS_DIR:-$ROOT/.tools}
GO=${IDGATE_GO:-/usr/local/go/bin/go}
mkdir -p "$TOOLS/bin" "$TOOLS/stamps"
TOOLS=$(cd "$TOOLS" && pwd)

# One install at a time (ctest's setup fixtures, a developer's second shell).
exec 9>"$TOOLS/.lock"
flock 9

log() { echo "install-deps: $*" >&2; }
stamp_ok() { [ "$(cat "$TOOLS/stamps/$1" 2>/dev/null)" = "$2" ]; }
stamp_write() { echo "$2" >"$TOOLS/stamps/$1"; }

# Go's environment: everything under $TOOLS. The user's go env file (GOPROXY,
# GOPRIVATE, ...) is still read; GOFLAGS and the caches are ours.
go_env() {
  if [ ! -x "$GO" ]; then
    echo "install-deps: no Go at $GO (helm v3.21 needs Go >= 1.26; set IDGATE_GO)" >&2
    exit 1
  fi
  if [ -z "${_GO_ENV_DONE:-}" ]; then
    local user_goenv
    user_goenv=$("$GO" env GOENV 2>/dev/null || true)
    [ -f "$user_goenv" ] && export GOENV=$user_goenv
    export GOPATH=$TOOLS/go GOMODCACHE=$TOOLS/go/pkg/mod GOCACHE=$TOOLS/cache/go-build
    export GOBIN=$TOOLS/bin GOFLAGS="-modcacherw -trimpath" GOTOOLCHAIN=local CGO_ENABLED=0
    export XDG_CONFIG_HOME=$TOOLS/config  # go telemetry's counters
    _GO_ENV_DONE=1
  fi
}

# go_install NAME MODULE/PKG@VERSION [LDFLAGS]
go_install() {
  local name=$1 pkg=$2 ldflags=${3:-}
  local want="$pkg $ldflags"
  if [ -x "$TOOLS/bin/$name" ] && stamp_ok "$name" "$want"; then return 0; fi
  go_env
  log "go install $pkg"
  local start=$SECONDS
  "$GO" install -ldflags="-s -w $ldflags" "$pkg"
  stamp_write "$name" "$want"
  log "$name: $((SECONDS - start)) s"
  GO_RAN=1
}
GO_RAN=0

# go_module_dir MODULE@VERSION: downloads the module, prints its directory.
go_module_dir() {
  go_env
  (cd "$TOOLS" && "$GO" mod download -json "$1") |
    sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'
}

# grpcurl and ghz are for people and the smoke tests, not for building: a
# machine without that Go (the Dockerfile's build stage) gets a warning.
if [ -x "$GO" ] || [ $HELM_TOOLS -eq 1 ]; then
  go_install grpcurl "$GRPCURL" "-X main.version=${GRPCURL##*@}"
  go_install ghz "$GHZ" "-X main.version=${GHZ##*@}"
elif [ ! -x "$TOOLS/bin/grpcurl" ] || [ ! -x "$TOOLS/bin/ghz" ]; then
  log "warning: no Go at $GO (set IDGATE_GO): grpcurl and ghz not installed"
fi

if [ $HELM_TOOLS -eq 1 ]; then
  # helm: its Makefile sets the version and the Kubernetes version it assumes
  # (the client-go it is built with); without them `helm version` says v3.21
  # and helm lint/template take Kubernetes 1.20, below the chart's kubeVersion.
  helm_version=${HELM##*@}
  helm_ldflags_file=$TOOLS/stamps/helm.ldflags
  if [ ! -x "$TOOLS/bin/helm" ] || ! stamp_ok helm "$HELM $(cat "$helm_ldflags_file" 2>/dev/null)"; then
    go_env
    helm_mod=$(cd "$TOOLS" && "$GO" mod download -json "helm.sh/helm/v3@$helm_version" |
      sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
    k8s=$(sed -n 's/^\s*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$helm_mod")
    [ -n "$k8s" ] || { log "no k8s.io/client-go in $helm_mod"; exit 1; }
    flags="-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.metadata="
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s"
    done
    echo "$flags" >"$helm_ldflags_file"
  fi
  go_install helm "$HELM" "$(cat "$helm_ldflags_file")"
  go_install kubeconform "$KUBECONFORM" "-X main.version=${KUBECONFORM##*@}"

  # Kubernetes JSON schemas, in kubeconform's layout:
  #   $TOOLS/kubernetes-json-schema/v1.27.16-standalone-strict/statefulset-apps-v1.json
  #   $TOOLS/kubernetes-json-schema/crds/monitoring.coreos.com/servicemonitor_v1.json
  schemas=$TOOLS/kubernetes-json-schema
  k8s_version=${KUBERNETES_SCHEMA_MODULE##*@}
  want="$KUBERNETES_SCHEMA_MODULE $PROMETHEUS_OPERATOR_MODULE $KUBECONFORM $(sha256sum "$SCHEMA_CONVERTER_REQUIREMENTS" | cut -c1-16) root-strict"
  if ! stamp_ok schemas "$want" || [ ! -f "$schemas/$k8s_version-standalone-strict/statefulset-apps-v1.json" ]; then
    start=$SECONDS
    log "Kubernetes $k8s_version schemas from $KUBERNETES_SCHEMA_MODULE"
    venv=$TOOLS/schema-converter
    rm -rf "$venv" "$schemas"
    /usr/bin/python3 -m venv "$venv"
    PIP_CACHE_DIR=$TOOLS/cache/pip "$venv/bin/pip" install -q --disable-pip-version-check \
      -r "$SCHEMA_CONVERTER_REQUIREMENTS"
    k8s_dir=$(go_module_dir "$KUBERNETES_SCHEMA_MODULE")
    out=$schemas/$k8s_version-standalone-strict
    mkdir -p "$out"
    # The converter resolves $refs against its working directory.
    (cd "$schemas" && "$venv/bin/openapi2jsonschema" --expanded --kubernetes --stand-alone --strict \
      -o "$k8s_version-standalone-strict" "$k8s_dir/api/openapi-spec/swagger.json" >"$TOOLS/stamps/schemas.log" 2>&1) ||
      { cat "$TOOLS/stamps/schemas.log" >&2; exit 1; }
    [ -f "$out/statefulset-apps-v1.json" ] || { cat "$TOOLS/stamps/schemas.log" >&2; exit 1; }
    po_dir=$(go_module_dir "$PROMETHEUS_OPERATOR_MODULE")
    kc_dir=$(go_module_dir "${KUBECONFORM%%/cmd/*}@${KUBECONFORM##*@}")
    mkdir -p "$schemas/crds/monitoring.coreos.com"
    (cd "$schemas/crds/monitoring.coreos.com" &&
      FILENAME_FORMAT='{kind}_{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 "$venv/bin/python3" "$kc_dir/scripts/openapi2jsonschema.py" \
        "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" >/dev/null)
    [ -f "$schemas/crds/monitoring.coreos.com/servicemonitor_v1.json" ] ||
      { log "no ServiceMonitor schema converted"; exit 1; }
    # Only the schemas are kept: the two modules' sources (about 100 MB) go.
    chmod -R u+w "$k8s_dir" "$po_dir"
    rm -rf "$k8s_dir" "$po_dir"
    stamp_write schemas "$want"
    log "schemas: $((SECONDS - start)) s"
  fi

  # npm tools (pinned by scripts/tools/npm/package-lock.json): the chart README
  # generator, and yaml for tests/helm/chart_checks.cjs.
  want="$(cat "$NPM_TOOLS_DIR/package-lock.json" | sha256sum | cut -c1-16) node $(node --version)"
  if ! stamp_ok npm "$want" || [ ! -x "$TOOLS/npm/node_modules/.bin/readme-generator" ]; then
    log "npm ci (scripts/tools/npm)"
    rm -rf "$TOOLS/npm"
    mkdir -p "$TOOLS/npm"
    cp "$NPM_TOOLS_DIR/package.json" "$NPM_TOOLS_DIR/package-lock.json" "$TOOLS/npm/"
    (cd "$TOOLS/npm" && npm_config_cache=$TOOLS/cache/npm npm ci --no-audit --no-fund --loglevel=error >&2)
    ln -sf ../npm/node_modules/.bin/readme-generator "$TOOLS/bin/readme-generator"
    stamp_write npm "$want"
  fi
fi

# After a build, keep the binaries and the downloaded module zips (about
# 200 MB: a changed pin rebuilds without the network), not the build cache
# and the unpacked sources (about 2 GB), which only a build reads.
if [ $GO_RAN -eq 1 ]; then
  log "trimming Go's build cache and unpacked modules"
  rm -rf "$TOOLS/cache/go-build"
  find "$TOOLS/go/pkg/mod" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
fi

# syntax=docker/dockerfile:1
#
# idgate container image on Debian 12 (bookworm).
#   build stage    the packages of scripts/install-deps.sh, a Release build of the
#                  four binaries only
#   runtime stage  those binaries plus the Debian packages that own the shared
#                  libraries they load (found with ldd + dpkg -S, so the list follows
#                  the code), ca-certificates and tzdata (ages are computed in
#                  Asia/Shanghai); no compiler, no shell tools beyond the base image
# Runs as uid/gid 10001 and works with a read-only root file system: it writes only
# to /var/lib/idgate (the ledger, a VOLUME) and /tmp (mount a tmpfs).
#
#   docker build -t idgate:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp -v idgate-ledger:/var/lib/idgate \
#     -p 8443:8443 -p 9464:9464 idgate:0.1.0 \
#     --config=/usr/share/idgate/config/dev.json --state_dir=/var/lib/idgate \
#     --listen=0.0.0.0:8443 --metrics_listen=0.0.0.0:9464
#
# ENTRYPOINT is idgate; arguments after the image name replace CMD. There is no
# default config on purpose: without --config the gateway refuses to start rather
# than run the development config. /usr/share/idgate/config is the repository's
# config/ folder (dev.json, its PUBLIC development keys, the mocks' test identities).
# The Helm chart passes --config, --state_dir and --log_level.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build
FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src

# Dependencies first: this layer is reused until install-deps.sh changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*

COPY . .

ARG CMAKE_BUILD_TYPE=Release
ARG IDGATE_TARGETS="idgate idgate-cli idgate-audit idgate-mock-providers"
ENV CCACHE_DIR=/ccache
RUN --mount=type=cache,target=/ccache \
    set -eu; \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE}"; \
    cmake --build /build --target ${IDGATE_TARGETS}; \
    mkdir -p /out/bin /out/share; \
    for t in ${IDGATE_TARGETS}; do \
      f=$(find /build -type f -name "$t" -perm -u+x | head -n 1); \
      if [ -z "$f" ]; then echo "binary $t not found under /build" >&2; exit 1; fi; \
      install -m 0755 -s "$f" "/out/bin/$t"; \
    done; \
    if [ -d config ]; then cp -r config /out/share/config; fi; \
    chmod -R a+rX,go-w /out/share

# The Debian packages that own every shared library the binaries load.
RUN set -eu; \
    ldd /out/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u > /tmp/libs; \
    : > /out/runtime-packages; \
    while read -r lib; do \
      real=$(readlink -f "$lib"); \
      pkg=$( (dpkg -S "$lib" || dpkg -S "$real" || dpkg -S "${real#/usr}") 2>/dev/null | head -n 1 | cut -d: -f1); \
      if [ -z "$pkg" ]; then echo "no Debian package owns $lib" >&2; exit 1; fi; \
      echo "$pkg" >> /out/runtime-packages; \
    done < /tmp/libs; \
    sort -u -o /out/runtime-packages /out/runtime-packages; \
    echo "runtime packages:"; cat /out/runtime-packages

# ---------------------------------------------------------------- runtime
FROM ${DEBIAN_IMAGE} AS runtime
ARG IDGATE_UID=10001
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata $(cat /tmp/runtime-packages); \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /tmp/runtime-packages; \
    groupadd --system --gid "${IDGATE_UID}" idgate; \
    useradd --system --uid "${IDGATE_UID}" --gid idgate --no-create-home \
      --home-dir /var/lib/idgate --shell /usr/sbin/nologin idgate; \
    install -d -o idgate -g idgate -m 0750 /var/lib/idgate; \
    install -d -m 0755 /etc/idgate

COPY --from=build /out/bin/ /usr/local/bin/
# Example configs (config/dev.json, test identities) for local runs; the chart
# mounts its own config at /etc/idgate/config.
COPY --from=build /out/share/ /usr/share/idgate/

# Numeric user, so that Kubernetes can verify runAsNonRoot.
USER ${IDGATE_UID}:${IDGATE_UID}
WORKDIR /var/lib/idgate
VOLUME ["/var/lib/idgate"]
# gRPC API (Verify, grpc.health.v1, reflection) and Prometheus /metrics.
EXPOSE 8443 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/idgate"]
CMD ["--state_dir=/var/lib/idgate", "--listen=0.0.0.0:8443", "--metrics_listen=0.0.0.0:9464"]

LABEL org.opencontainers.image.title="idgate" \
      org.opencontainers.image.description="gRPC identity-verification gateway with a durable disclosure ledger" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

# syntax=docker/dockerfile:1
#
# CloudScout appliance image: one static binary on an empty (scratch) base,
# no shell, no package manager, runs as UID 65532.
#
#   docker build -t cloudscout .                          # builds from source (needs golang:1.26)
#   make build && cp /etc/ssl/certs/ca-certificates.crt "$(go env GOROOT)/lib/time/zoneinfo.zip" dist/ \
#     && buildah bud --format docker --build-arg BINARY_FROM=prebuilt -t cloudscout .
#                                                         # packs a binary built on the host (no registry needed)
#
# BINARY_FROM picks the stage that provides /out: "build" compiles in a Go
# container, "prebuilt" takes dist/cloudscout, dist/ca-certificates.crt and
# dist/zoneinfo.zip from the build context. BuildKit and buildah only build the
# stages the final image needs, so the prebuilt path never pulls golang.
# buildah (1.28 at least) needs the argument even for the default:
#   buildah bud --format docker --build-arg BINARY_FROM=build -t cloudscout .
#
# Build with the docker image format (docker build does; buildah/podman need
# --format docker): the OCI format has no HEALTHCHECK.
ARG BINARY_FROM=build
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod points github.com/urfave/cli/v2 at the patched copy here.
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=dev
# The CA bundle and the Go time zone database come from the same image as
# the compiler, so a scratch image can verify HTTPS/S3 targets and read
# source time zones (ZONEINFO below).
RUN mkdir -p /out/empty \
 && CGO_ENABLED=0 go build -tags urfave_cli_no_docs -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/cloudscout ./cmd/cloudscout \
 && cp /etc/ssl/certs/ca-certificates.crt "$(go env GOROOT)/lib/time/zoneinfo.zip" /out/

FROM scratch AS prebuilt
COPY dist/cloudscout dist/ca-certificates.crt dist/zoneinfo.zip /out/
# An empty directory to copy with an owner below: scratch has no mkdir.
WORKDIR /out/empty

FROM ${BINARY_FROM} AS binary

FROM scratch
ARG VERSION=dev
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="CloudScout" \
      org.opencontainers.image.description="Log collector for Cloud Discovery: firewall and proxy logs in (syslog UDP/TCP/TLS, FTP), pseudonymized batches out" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/cloudscout/cloudscout" \
      org.opencontainers.image.url="https://github.com/cloudscout/cloudscout" \
      org.opencontainers.image.documentation="https://github.com/cloudscout/cloudscout#container"

# /etc/passwd and /etc/group name the nonroot user (65532, as in distroless).
COPY docker/rootfs/ /
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/zoneinfo.zip /usr/share/zoneinfo.zip
# State volume: owned by the runtime user so a fresh named volume (which
# takes the owner of the image's directory) is writable without root. /var/lib
# comes first so that it stays root's (a chowned copy may chown the parents
# it creates).
COPY --from=binary /out/empty/ /var/lib/
COPY --from=binary --chown=65532:65532 /out/empty/ /var/lib/cloudscout/
# Config: root-owned; bind-mount your own /etc/cloudscout read-only over it.
COPY docker/cloudscout.yaml /etc/cloudscout/cloudscout.yaml
COPY --from=binary /out/cloudscout /cloudscout

# CLOUDSCOUT_ADMIN and CLOUDSCOUT_DATA_DIR override the config file: inside
# the container the admin endpoint must listen beyond loopback to be
# published (compose publishes it on the host's 127.0.0.1 only), and state
# must live on the volume, the only writable place of a read-only rootfs.
ENV CLOUDSCOUT_CONFIG=/etc/cloudscout/cloudscout.yaml \
    CLOUDSCOUT_DATA_DIR=/var/lib/cloudscout \
    CLOUDSCOUT_ADMIN=0.0.0.0:5580 \
    CLOUDSCOUT_LOG_FORMAT=json \
    ZONEINFO=/usr/share/zoneinfo.zip

# Unprivileged ports inside; map 514->5514, 21->2121 on the host.
# syslog UDP+TCP, syslog TLS (RFC 5425), FTP control, FTP passive range, admin.
EXPOSE 5514/udp 5514/tcp 6514/tcp 2121/tcp 30000-30009/tcp 5580/tcp
# Only the state is a volume: with a read-only rootfs it is the one place the
# collector writes. /etc/cloudscout is meant to be bind-mounted read-only; a
# VOLUME there would only leave anonymous copies of the example config behind.
VOLUME ["/var/lib/cloudscout"]
WORKDIR /var/lib/cloudscout
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/cloudscout", "healthcheck"]
ENTRYPOINT ["/cloudscout"]
CMD ["run"]

#!/usr/bin/env bash
# One-time, idempotent set-up of podman, buildah and podman-compose on a
# Debian/Ubuntu machine without a Docker engine or registry access (CI and the
# development sandboxes), plus the clients scripts/container-e2e.sh drives
# (logger, curl, zstd, jq, openssl). Safe to run again: it installs only what
# is missing and rewrites the two config files only when they differ.
#
# Why the container settings (see docs in /etc/containers/*.conf below):
#   - default_ulimits: the sandbox forbids raising rlimits, podman's defaults ask for more;
#   - runc + cgroupfs: crun refuses the hybrid cgroup layout of these machines;
#   - vfs storage: overlay is not available here.
# On a normal workstation with Docker none of this is needed: use
# 'docker compose up -d' as the README says.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "container-setup: run as root (it installs packages and writes /etc/containers)" >&2
  exit 1
fi

need=()
for pair in podman:podman buildah:buildah runc:runc podman-compose:podman-compose \
            logger:bsdutils curl:curl zstd:zstd jq:jq openssl:openssl; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# write_if_changed FILE: replaces FILE with stdin only when the content differs.
write_if_changed() {
  local f=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then
    rm -f "$tmp"
    return 0
  fi
  install -m 0644 "$tmp" "$f"
  rm -f "$tmp"
  echo "container-setup: wrote $f"
}

mkdir -p /etc/containers
write_if_changed /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
write_if_changed /etc/containers/storage.conf <<'CONF'
[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF

podman --version
buildah --version
podman-compose --version 2>/dev/null | tail -n 1

#!/usr/bin/env bash
# Installs the real clients the tests drive: util-linux logger, rsyslog (with
# TLS), curl and lftp (FTP/FTPS), tinyproxy (forward proxy), zstd. Runs as
# root (CI) or through sudo; skips what is already there.
set -euo pipefail
need=()
command -v logger    >/dev/null || need+=(bsdutils)
command -v rsyslogd  >/dev/null || need+=(rsyslog)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -e /usr/lib/rsyslog/lmnsd_gtls.so ] || need+=(rsyslog-gnutls)
command -v curl      >/dev/null || need+=(curl)
command -v lftp      >/dev/null || need+=(lftp)
command -v tinyproxy >/dev/null || need+=(tinyproxy)
command -v zstd      >/dev/null || need+=(zstd)
command -v make      >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The package's own daemons are not wanted: tests start their own instances.
for svc in rsyslog tinyproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

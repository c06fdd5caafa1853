#!/usr/bin/env bash
# End-to-end test of the CloudScout appliance container, as users run it:
# the Dockerfile (prebuilt-binary path, built with buildah) and
# docker-compose.yml (run with podman-compose), on a machine without a
# Docker engine or registry access. Needs root (podman rootful) and Go.
#
#   sudo scripts/container-e2e.sh
#
# What it checks, in order:
#   1. image: builds twice (versions v1 and v2), size <= 20 MiB, no shell,
#      USER 65532, HEALTHCHECK without a shell, OCI labels, the shipped
#      example config validates inside the image (time zones included);
#   2. hardening of the running compose service: non-root, no capabilities,
#      no-new-privileges, read-only rootfs (and a write to it fails), admin
#      endpoint published on 127.0.0.1 only, limits, secret mounted read-only;
#   3. data path: syslog over UDP, TCP and TLS (and FTP when the binary has
#      the FTP server) to the published ports, `cloudscout upload` through
#      `podman exec`, records read back from the batches on the data volume;
#   4. restart: records accepted but not shipped before `podman restart` are
#      shipped after it, with the same pseudonyms (key on the volume);
#   5. upgrade: records spooled by the v1 container are shipped by a v2
#      container started on the same volume.
# Everything it creates (containers, volume, network, images, temp files) is
# removed on exit, also on failure; CLOUDSCOUT_E2E_KEEP=1 keeps it for a look.
#
# Environment: CLOUDSCOUT_E2E_KEEP=1 (keep on exit), CLOUDSCOUT_E2E_SKIP_SETUP=1
# (do not run scripts/container-setup.sh), CLOUDSCOUT_E2E_REQUIRE_FTP=1 (fail
# instead of skipping the FTP part when the binary has no FTP server),
# CLOUDSCOUT_E2E_MAX_IMAGE_MIB (image size budget in MiB, default 20).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
START=$(date +%s)
RUN_ID=$(date +%s)$$
PROJECT=cse2e$RUN_ID
REPO=localhost/cloudscout-e2e
V1=e2e-$RUN_ID-v1
V2=e2e-$RUN_ID-v2
TAG1=$REPO:$V1
TAG2=$REPO:$V2
MAX_IMAGE_BYTES=$((${CLOUDSCOUT_E2E_MAX_IMAGE_MIB:-20} * 1024 * 1024))
WORK=""
CTR=""
STEP="start"
NEW_IMAGES=()
NEW_BUILDERS=()

log() { printf '%s [%4ds] %s\n' "$(date +%T)" "$(($(date +%s) - START))" "$*"; }
fail() {
  printf '\nFAIL (%s): %s\n' "$STEP" "$*" >&2
  exit 1
}
step() {
  STEP=$1
  log "== $1"
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT ERR
  if [ "$rc" -ne 0 ] && [ -n "$CTR" ] && podman container exists "$CTR" 2>/dev/null; then
    echo "---- last container logs ($CTR) ----" >&2
    podman logs --tail 40 "$CTR" >&2 2>&1
  fi
  if [ "$rc" -ne 0 ] && [ -n "$WORK" ] && [ -s "$WORK/compose.log" ]; then
    echo "---- last podman-compose output ----" >&2
    tail -n 15 "$WORK/compose.log" >&2
  fi
  if [ "${CLOUDSCOUT_E2E_KEEP:-0}" = 1 ]; then
    log "CLOUDSCOUT_E2E_KEEP=1: keeping project $PROJECT, images $TAG1 $TAG2, $WORK"
    exit "$rc"
  fi
  log "cleaning up"
  if [ -n "$WORK" ] && [ -f "$WORK/compose/docker-compose.yml" ]; then
    (cd "$WORK/compose" && podman-compose -p "$PROJECT" down -v) >>"$WORK/compose.log" 2>&1
  fi
  for c in $(podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT" 2>/dev/null); do
    podman rm -f "$c" >/dev/null 2>&1
  done
  podman volume rm -f "${PROJECT}_cloudscout-data" >/dev/null 2>&1
  podman network rm -f "${PROJECT}_default" >/dev/null 2>&1
  podman rmi -f "$TAG1" "$TAG2" >/dev/null 2>&1
  # buildah 1.28 leaves a working container (and its image) behind for the
  # 'FROM ${BINARY_FROM}' stage: remove exactly those this run created.
  for b in "${NEW_BUILDERS[@]}"; do buildah rm "$b" >/dev/null 2>&1; done
  for i in "${NEW_IMAGES[@]}"; do podman rmi -f "$i" >/dev/null 2>&1; done
  [ -n "$WORK" ] && rm -rf "$WORK"
  if [ "$rc" -eq 0 ]; then
    log "PASS: container e2e in $(($(date +%s) - START))s"
  else
    log "container e2e FAILED after $(($(date +%s) - START))s"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'fail "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || fail "run as root (rootful podman)"

step "set-up"
if [ "${CLOUDSCOUT_E2E_SKIP_SETUP:-0}" != 1 ]; then
  "$ROOT/scripts/container-setup.sh" >/dev/null
fi
for cmd in go podman buildah podman-compose logger curl zstd jq openssl python3 sha256sum; do
  command -v "$cmd" >/dev/null || fail "missing $cmd (scripts/container-setup.sh installs it)"
done
WORK=$(mktemp -d /tmp/cloudscout-e2e.XXXXXX)
chmod 0755 "$WORK"

# Free host ports on 127.0.0.1: syslog (UDP and TCP on the same number), TLS,
# FTP, admin, and a run of 10 for the FTP passive range (published 1:1).
read -r SYSLOG_PORT TLS_PORT FTP_PORT ADMIN_PORT PASV_LO < <(python3 - <<'PY'
import random, socket
def free(port, udp_too=False):
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp_too else [])
    socks = []
    try:
        for k in kinds:
            s = socket.socket(socket.AF_INET, k)
            socks.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()
rng = random.SystemRandom()
picked = set()
def pick(udp_too=False):
    while True:
        p = rng.randrange(20000, 29999)
        if p not in picked and free(p, udp_too):
            picked.add(p)
            return p
out = [pick(True), pick(), pick(), pick()]
while True:
    lo = rng.randrange(40000, 49000)
    if all(free(p) for p in range(lo, lo + 10)):
        break
print(*out, lo)
PY
)
[ -n "${PASV_LO:-}" ] || fail "could not pick free ports"
PASV_RANGE="$PASV_LO-$((PASV_LO + 9))"
log "project $PROJECT; host ports: syslog $SYSLOG_PORT udp+tcp, tls $TLS_PORT, ftp $FTP_PORT, passive $PASV_RANGE, admin $ADMIN_PORT"

# ---------------------------------------------------------------- image ----
step "build"
mkdir -p "$WORK/bin"
for v in "$V1" "$V2"; do
  (cd "$ROOT" && CGO_ENABLED=0 go build -tags urfave_cli_no_docs -trimpath -ldflags "-s -w -X main.version=$v" \
      -o "$WORK/bin/$v" ./cmd/cloudscout) || fail "go build failed"
done
HAS_FTP=0
help=$("$WORK/bin/$V1" --help)
if grep -qE '^ +source( |,)' <<<"$help"; then
  HAS_FTP=1
fi

# A private build context holding exactly what the prebuilt path needs (the
# tree's dist/ may belong to a concurrent 'make build'); the Dockerfile and
# .dockerignore are the repository's own.
build_image() { # VERSION TAG
  local v=$1 tag=$2 ctx="$WORK/ctx-$1"
  mkdir -p "$ctx/dist" "$ctx/docker"
  cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ctx/"
  cp -r "$ROOT/docker/rootfs" "$ROOT/docker/cloudscout.yaml" "$ctx/docker/"
  cp "$WORK/bin/$v" "$ctx/dist/cloudscout"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/dist/"
  cp "$(go env GOROOT)/lib/time/zoneinfo.zip" "$ctx/dist/"
  local before_b before_i
  before_b=$(buildah containers -q --notruncate 2>/dev/null | sort)
  before_i=$(podman images -a -q --no-trunc | sort -u)
  buildah bud --isolation chroot --format docker --quiet \
      --build-arg BINARY_FROM=prebuilt --build-arg VERSION="$v" \
      --build-arg REVISION="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
      --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      -t "$tag" "$ctx" >"$WORK/build-$v.log" 2>&1 || { cat "$WORK/build-$v.log" >&2; fail "buildah bud $tag failed"; }
  local b i
  for b in $(comm -13 <(echo "$before_b") <(buildah containers -q --notruncate 2>/dev/null | sort)); do NEW_BUILDERS+=("$b"); done
  for i in $(comm -13 <(echo "$before_i") <(podman images -a -q --no-trunc | sort -u)); do NEW_IMAGES+=("$i"); done
}
build_image "$V1" "$TAG1"
build_image "$V2" "$TAG2"

step "image checks"
for tag in "$TAG1" "$TAG2"; do
  size=$(podman image inspect "$tag" --format '{{.Size}}')
  log "$tag: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f MB, %.1f MiB", s / 1e6, s / 1048576 }'))"
  [ "$size" -le "$MAX_IMAGE_BYTES" ] || fail "$tag is $size bytes, over the budget of $MAX_IMAGE_BYTES bytes"
done
insp() { podman image inspect "$TAG1" --format "$1"; }
[ "$(insp '{{.Config.User}}')" = "65532:65532" ] || fail "image USER is '$(insp '{{.Config.User}}')', want 65532:65532"
[ "$(insp '{{json .Config.Healthcheck.Test}}')" = '["CMD","/cloudscout","healthcheck"]' ] \
  || fail "HEALTHCHECK is $(insp '{{json .Config.Healthcheck.Test}}'), want the exec form without a shell"
[ "$(insp '{{index .Labels "org.opencontainers.image.version"}}')" = "$V1" ] || fail "version label missing or wrong"
[ "$(podman image inspect "$TAG2" --format '{{index .Labels "org.opencontainers.image.version"}}')" = "$V2" ] || fail "v2 version label wrong"
[ -n "$(insp '{{index .Labels "org.opencontainers.image.source"}}')" ] || fail "source label missing"
mnt=$(podman image mount "$TAG1")
files=$(cd "$mnt" && find . -mindepth 1 \( -type f -o -type l \) | sort | tr '\n' ' ')
datadir_owner=$(stat -c %u:%g "$mnt/var/lib/cloudscout")
podman image unmount "$TAG1" >/dev/null
want="./cloudscout ./etc/cloudscout/cloudscout.yaml ./etc/group ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./usr/share/zoneinfo.zip "
[ "$files" = "$want" ] || fail "unexpected files in the image (a shell or leftovers?): $files"
[ "$datadir_owner" = "65532:65532" ] || fail "/var/lib/cloudscout is owned by $datadir_owner, want 65532:65532"
# One-off runs: --no-healthcheck, since podman schedules health checks with
# systemd timers, which these machines lack (it would only log errors).
out=$(podman run --rm --no-healthcheck --network none "$TAG1" validate 2>&1) || fail "the example config baked into the image does not validate: $out"
out=$(podman run --rm --no-healthcheck --network none --read-only "$TAG1" --version)
[ "$out" = "cloudscout version $V1" ] || fail "version in the image: '$out'"

# --------------------------------------------------------------- config ----
step "config"
mkdir -p "$WORK/config" "$WORK/secrets" "$WORK/compose" "$WORK/send"
chmod 0755 "$WORK/config"
cp "$ROOT/docker-compose.yml" "$WORK/compose/docker-compose.yml" # run from here: no stray .env
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$WORK/config/tls.key" -out "$WORK/config/tls.crt" >/dev/null 2>&1 || fail "openssl req failed"
chown 65532:65532 "$WORK/config/tls.key" && chmod 0400 "$WORK/config/tls.key"
chmod 0644 "$WORK/config/tls.crt"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/secrets/upload-token"
chown 65532:65532 "$WORK/secrets/upload-token" && chmod 0400 "$WORK/secrets/upload-token"

# The test's config: the shipped example's container paths, plus a TLS
# listener, one source per transport (so each is counted on its own), a
# custom key=value format (independent of the built-in parsers), a source
# time zone (needs the zone database in the image) and no automatic sealing
# or shipping (the test ships with 'cloudscout upload').
FTP_USER=e2e-ftp
FTP_PASS=e2e-$RUN_ID-pw
{
  cat <<'YAML'
collector:
  name: e2e
  data_dir: /var/lib/cloudscout
  admin: 0.0.0.0:5580
  log_format: json
anonymize:
  key_file: /var/lib/cloudscout/anonymize.key
spool:
  segment_age: 1h
upload:
  interval: 1h
  targets:
    - name: outbox
      url: file:///var/lib/cloudscout/outbox
syslog:
  tls:
    cert: /etc/cloudscout/tls.crt
    key: /etc/cloudscout/tls.key
parsers:
  - name: e2e-kv
    type: kv
    vendor: CloudScout
    product: e2e
    time_layout: "2006-01-02 15:04:05"
    fields:
      "@timestamp": ts
      source.ip: src
      source.port: sport
      destination.ip: dst
      destination.port: dport
      destination.domain: host
      user.name: usr
      event.action: act
      source.bytes: up
      destination.bytes: down
    allow: [accept]
    deny: [deny]
    require: [source.ip]
sources:
  - name: syslog-udp
    format: e2e-kv
    timezone: Europe/Berlin
    listen: [udp://0.0.0.0:5514]
  - name: syslog-tcp
    format: e2e-kv
    timezone: Europe/Berlin
    listen: [tcp://0.0.0.0:5514]
  - name: syslog-tls
    format: e2e-kv
    timezone: Europe/Berlin
    listen: [tls://0.0.0.0:6514]
YAML
  if [ "$HAS_FTP" = 1 ]; then
    cat <<YAML
  - name: ftp-drop
    format: e2e-kv
    timezone: Europe/Berlin
    ftp:
      user: $FTP_USER
ftp:
  listen: ":2121"
  cert: /etc/cloudscout/tls.crt
  key: /etc/cloudscout/tls.key
YAML
  fi
} >"$WORK/config/cloudscout.yaml"
chmod 0644 "$WORK/config/cloudscout.yaml"
if [ "$HAS_FTP" = 1 ]; then
  # 'source passwd' stores the password's Argon2id hash in the config file.
  printf '%s\n' "$FTP_PASS" \
    | "$WORK/bin/$V1" source passwd --config "$WORK/config/cloudscout.yaml" ftp-drop >/dev/null \
    || fail "cloudscout source passwd failed"
  chmod 0644 "$WORK/config/cloudscout.yaml"
  grep -q 'argon2id' "$WORK/config/cloudscout.yaml" || fail "source passwd left no argon2id hash in the config"
fi
out=$(podman run --rm --no-healthcheck --network none -v "$WORK/config:/etc/cloudscout:ro" "$TAG1" validate 2>&1) \
  || fail "the test config does not validate in the image: $out"

export CLOUDSCOUT_BIND=127.0.0.1
export CLOUDSCOUT_SYSLOG_PORT=$SYSLOG_PORT CLOUDSCOUT_SYSLOG_TLS_PORT=$TLS_PORT
export CLOUDSCOUT_FTP_PORT=$FTP_PORT CLOUDSCOUT_FTP_PASSIVE_PORTS=$PASV_RANGE
export CLOUDSCOUT_FTP_PUBLIC_HOST=127.0.0.1 CLOUDSCOUT_ADMIN_PORT=$ADMIN_PORT
export CLOUDSCOUT_CONFIG_DIR=$WORK/config CLOUDSCOUT_UPLOAD_TOKEN_FILE=$WORK/secrets/upload-token

# ------------------------------------------------------------- helpers -----
compose() { (cd "$WORK/compose" && podman-compose -p "$PROJECT" "$@") >>"$WORK/compose.log" 2>&1; }

find_container() {
  CTR=$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' | head -n 1)
  [ -n "$CTR" ] || fail "no container for project $PROJECT"
}

wait_ready() { # deadline in seconds
  local deadline=$(($(date +%s) + ${1:-60})) out=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(podman inspect "$CTR" --format '{{.State.Running}}' 2>/dev/null)" = true ] &&
       out=$(podman exec "$CTR" /cloudscout healthcheck --ready 2>&1); then
      return 0
    fi
    sleep 1
  done
  fail "collector not ready within ${1:-60}s: $out"
}

status_json() { podman exec "$CTR" /cloudscout status --json 2>/dev/null || true; }

wait_records() { # SOURCE MIN: the running process counted at least MIN records for SOURCE
  local src=$1 min=$2 deadline=$(($(date +%s) + 30)) n=0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    n=$(status_json | jq -r --arg s "$src" '[.sources[]? | select(.name == $s) | .records] | first // 0')
    [ "${n:-0}" -ge "$min" ] && return 0
    sleep 0.5
  done
  fail "source $src: $n records, want $min: $(status_json | jq -c --arg s "$src" '.sources[]? | select(.name == $s)')"
}

line() { # PHASE TRANSPORT N: one event; the phase and number are in the destination name
  printf 'ts="2026-11-28 10:15:00" src=10.1.2.3 sport=%d dst=203.0.113.10 dport=443 host=%s-%s-%d.e2e.example usr="CORP\\jdoe" act=accept up=1200 down=45000\n' \
    "$((40000 + $3))" "$1" "$2" "$3"
}
lines() { local i; for ((i = 1; i <= $3; i++)); do line "$1" "$2" "$i"; done; }

send_udp() { # PHASE N
  lines "$1" udp "$2" >"$WORK/send/$1-udp.txt"
  logger -n 127.0.0.1 -P "$SYSLOG_PORT" --udp --rfc3164 -t e2e -f "$WORK/send/$1-udp.txt" || fail "logger (udp) failed"
}
send_tcp() { # PHASE N: RFC 6587 octet counting over one connection
  lines "$1" tcp "$2" >"$WORK/send/$1-tcp.txt"
  logger -n 127.0.0.1 -P "$SYSLOG_PORT" --tcp --octet-count --rfc5424 -t e2e -f "$WORK/send/$1-tcp.txt" || fail "logger (tcp) failed"
}
send_tls() { # PHASE N: RFC 5425 frames; the server certificate is verified
  local f="$WORK/send/$1-tls.bin" l msg
  : >"$f"
  while IFS= read -r l; do
    msg="<134>1 2026-11-28T10:15:00+01:00 e2e-host e2e - - - $l"
    printf '%d %s' "${#msg}" "$msg" >>"$f"
  done < <(lines "$1" tls "$2")
  timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost \
    -CAfile "$WORK/config/tls.crt" -verify_return_error -quiet -no_ign_eof <"$f" >/dev/null 2>"$WORK/send/$1-tls.err" \
    || fail "openssl s_client failed: $(tail -n 3 "$WORK/send/$1-tls.err")"
}
send_ftp() { # PHASE N: a log file uploaded over explicit FTPS (AUTH TLS), passive mode
  local f="$WORK/send/$1-ftp.log"
  lines "$1" ftp "$2" >"$f"
  curl -sS --fail --ftp-pasv --ssl-reqd --cacert "$WORK/config/tls.crt" --max-time 60 \
    -T "$f" --user "$FTP_USER:$FTP_PASS" "ftp://127.0.0.1:$FTP_PORT/$1-ftp.log" \
    || fail "FTPS upload with curl failed (passive range $PASV_RANGE, public host 127.0.0.1)"
}

upload_now() {
  local out
  out=$(podman exec "$CTR" /cloudscout upload 2>&1) || fail "cloudscout upload failed: $out"
  log "upload: $(echo "$out" | head -n 1)"
}

VOL=""
outbox_records() { # every record in every shipped batch, one JSON per line
  find "$VOL/outbox" -name '*.jsonl.zst' -print0 2>/dev/null | sort -z | xargs -0 -r zstd -dcq
}
count_shipped() { # SOURCE PHASE-TRANSPORT -> "total unique"
  outbox_records | jq -r --arg s "$1" --arg p "$2-" \
    'select(.labels.source == $s and (.destination.domain | startswith($p))) | .destination.domain' |
    awk '{ n++; if (!seen[$0]++) u++ } END { printf "%d %d\n", n, u }'
}
expect_shipped() { # SOURCE PHASE TRANSPORT N
  local got
  got=$(count_shipped "$1" "$2-$3")
  [ "$got" = "$4 $4" ] || fail "source $1, phase $2: shipped (total unique) = $got, want $4 $4"
}
check_batches() { # every batch matches its manifest (checksum, record count)
  local m z n
  while IFS= read -r -d '' m; do
    z=${m%.manifest.json}
    [ -f "$z" ] || fail "manifest without batch: $m"
    [ "$(sha256sum "$z" | cut -d' ' -f1)" = "$(jq -r .sha256 "$m")" ] || fail "checksum mismatch: $z"
    n=$(zstd -dcq "$z" | wc -l)
    [ "$n" = "$(jq -r .records "$m")" ] || fail "record count mismatch: $z has $n, manifest $(jq -r .records "$m")"
  done < <(find "$VOL/outbox" -name '*.manifest.json' -print0)
}
check_fields() { # anonymization, time zone and field mapping of every record
  local bad
  bad=$(outbox_records | jq -c 'select(
      (.["@timestamp"] != "2026-11-28T10:15:00+01:00")
      or (.user.name | startswith("tok:") | not) or (.user.domain != "CORP")
      or (.source.ip | startswith("tok:") | not)
      or (.destination.ip != "203.0.113.10") or (.destination.port != 443)
      or (.source.bytes != 1200) or (.destination.bytes != 45000)
      or (.event.type != ["allowed"]))' | head -n 3)
  [ -z "$bad" ] || fail "records not as expected (time zone, pseudonyms or fields): $bad"
  local toks
  toks=$(outbox_records | jq -r '.user.name' | sort -u | wc -l)
  [ "$toks" = 1 ] || fail "user jdoe has $toks different pseudonyms: the anonymization key changed"
}

# ------------------------------------------------------------ run (v1) ----
step "compose up ($V1)"
CLOUDSCOUT_IMAGE=$TAG1 compose up -d || fail "podman-compose up failed"
find_container
wait_ready 60
VOL=$(podman volume inspect "${PROJECT}_cloudscout-data" --format '{{.Mountpoint}}')
[ -d "$VOL" ] || fail "data volume ${PROJECT}_cloudscout-data not found"
log "container $CTR up, volume $VOL"

step "hardening"
ci() { podman inspect "$CTR" --format "$1"; }
[ "$(ci '{{.HostConfig.ReadonlyRootfs}}')" = true ] || fail "root filesystem is not read-only"
[ "$(podman top "$CTR" huser | tail -n +2 | sort -u | tr -d ' ')" = 65532 ] || fail "collector runs as host user $(podman top "$CTR" huser | tail -n +2 | tr '\n' ' '), want 65532"
[ "$(podman top "$CTR" capeff | tail -n +2 | sort -u | tr -d ' ')" = none ] || fail "effective capabilities: $(podman top "$CTR" capeff | tail -n +2)"
pid=$(ci '{{.State.Pid}}')
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "no_new_privs is not set on the collector"
grep -q '^CapBnd:[[:space:]]*0000000000000000' "/proc/$pid/status" || fail "bounding capability set is not empty"
# A write to the root filesystem must fail because it is read-only, not
# only for want of permissions: try as UID 0 in a root-owned 0755 directory.
out=$(timeout 30 podman exec --user 0:0 -e CLOUDSCOUT_DATA_DIR=/usr/share/rofs-probe "$CTR" /cloudscout run 2>&1) \
  && fail "a second collector could write to /usr/share: $out"
echo "$out" | grep -q 'read-only file system' || fail "write to the rootfs failed, but not for read-only: $out"
[ "$(ci '{{range (index .HostConfig.PortBindings "5580/tcp")}}{{.HostIP}} {{end}}')" = "127.0.0.1 " ] || fail "admin endpoint is not bound to the host's 127.0.0.1"
curl -fsS "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null || fail "admin /healthz not reachable on 127.0.0.1:$ADMIN_PORT"
metrics=$(curl -fsS "http://127.0.0.1:$ADMIN_PORT/metrics") || fail "admin /metrics not reachable"
grep -q '^cloudscout_' <<<"$metrics" || fail "no cloudscout_ metrics on the admin endpoint"
[ "$(ci '{{.HostConfig.Memory}}')" = 1073741824 ] || fail "memory limit is $(ci '{{.HostConfig.Memory}}'), want 1 GiB"
[ "$(ci '{{.HostConfig.NanoCpus}}')" = 2000000000 ] || fail "CPU limit is $(ci '{{.HostConfig.NanoCpus}}'), want 2"
[ "$(ci '{{.HostConfig.RestartPolicy.Name}}')" = unless-stopped ] || fail "restart policy is $(ci '{{.HostConfig.RestartPolicy.Name}}')"
[ "$(ci '{{range .Mounts}}{{if eq .Destination "/run/secrets/upload_token"}}{{.RW}}{{end}}{{end}}')" = false ] || fail "upload token secret not mounted read-only at /run/secrets/upload_token"
[ "$(ci '{{range .Mounts}}{{if eq .Destination "/etc/cloudscout"}}{{.RW}}{{end}}{{end}}')" = false ] || fail "config not mounted read-only"
podman healthcheck run "$CTR" >/dev/null 2>&1 || fail "the image HEALTHCHECK reports unhealthy"

step "syslog and FTP in, batches out ($V1)"
N=20
send_udp one "$N"
send_tcp one "$N"
send_tls one 10
wait_records syslog-udp "$N"
wait_records syslog-tcp "$N"
wait_records syslog-tls 10
if [ "$HAS_FTP" = 1 ]; then
  send_ftp one 15
  wait_records ftp-drop 15
else
  [ "${CLOUDSCOUT_E2E_REQUIRE_FTP:-0}" = 1 ] && fail "the binary has no 'source' command (FTP server not wired)"
  log "SKIP FTP: this binary has no 'cloudscout source' command (FTP server not wired yet)"
fi
upload_now
expect_shipped syslog-udp one udp "$N"
expect_shipped syslog-tcp one tcp "$N"
expect_shipped syslog-tls one tls 10
if [ "$HAS_FTP" = 1 ]; then expect_shipped ftp-drop one ftp 15; fi
check_batches
check_fields

step "restart keeps the spool"
send_tcp two 10
send_udp two 10
wait_records syslog-tcp $((N + 10))
wait_records syslog-udp $((N + 10))
expect_shipped syslog-tcp two tcp 0
podman restart -t 30 "$CTR" >>"$WORK/compose.log" 2>&1 || fail "podman restart failed"
wait_ready 60
[ "$(status_json | jq -r .version)" = "$V1" ] || fail "after restart the collector reports version $(status_json | jq -r .version)"
upload_now
expect_shipped syslog-tcp two tcp 10
expect_shipped syslog-udp two udp 10
expect_shipped syslog-tcp one tcp "$N"
check_batches
check_fields

# ------------------------------------------------------------ upgrade ------
step "upgrade $V1 -> $V2 on the same volume"
send_tcp three 10
wait_records syslog-tcp 10
expect_shipped syslog-tcp three tcp 0
compose down || fail "podman-compose down failed"
podman volume exists "${PROJECT}_cloudscout-data" || fail "compose down removed the data volume"
CLOUDSCOUT_IMAGE=$TAG2 compose up -d || fail "podman-compose up ($V2) failed"
find_container
wait_ready 60
[ "$(podman inspect "$CTR" --format '{{.ImageName}}')" = "$TAG2" ] || fail "the new container runs $(podman inspect "$CTR" --format '{{.ImageName}}')"
[ "$(status_json | jq -r .version)" = "$V2" ] || fail "the new container reports version $(status_json | jq -r .version)"
upload_now
expect_shipped syslog-tcp three tcp 10
expect_shipped syslog-tcp two tcp 10
expect_shipped syslog-udp one udp "$N"
check_batches
check_fields
total=$(outbox_records | wc -l)
log "shipped $total records in $(find "$VOL/outbox" -name '*.jsonl.zst' | wc -l) batches; all checks passed"

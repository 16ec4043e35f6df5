#!/usr/bin/env bash
# Build the project's Dockerfile and run the image against real Kafka brokers, on a machine
# with no Docker engine running and no container registry reachable (only Debian's packages
# and PyPI). Slow (a few minutes) and needs root: run it by hand, never from .ci/run or make.
#
#   sudo bash scripts/docker-check.sh            # from the repository root
#
# What it does, each step skipped when already done (re-runnable):
#  1. apt-get installs docker.io, debootstrap and curl when missing; starts dockerd
#     (host networking only: --bridge=none, no iptables) when no engine answers.
#  2. With no python:3.11-slim-bookworm image present (nothing can be pulled), builds a stand-in
#     of it: Debian bookworm minbase + python3 by debootstrap, a venv at /usr/local (so `python`
#     and `pip` are on PATH and pip is not "externally managed", as in the official image).
#  3. docker build --network host -t carepath:check . (the Dockerfile unchanged).
#  4. A plaintext broker (`carepath broker up --dir`), the worker container on it: health
#     `healthy`, uid 10001, RocksDB files in its named volume, /healthz /readyz /metrics, and
#     `replay --broker` of examples/sample.ndjson equal to the embedded replay.
#  5. The same with `broker up --secure` and `docker run --env-file D/client.env`.
#  6. docker-compose (when installed): `config` of both compose files, and the secure file's
#     one-shot `secrets` service run for real (apache/kafka cannot be pulled here).
# Prints one PASS/FAIL line a check and exits 1 if any failed. It removes the containers,
# volumes and brokers it made and stops the dockerd it started (images stay, for speed).
#
# Settings: CAREPATH_DOCKER_CHECK_DIR (work dir, default /tmp/carepath-docker-check),
# NO_CACHE=1 (build the image without the layer cache, to time a cold build), REBUILD_BASE=1
# (debootstrap the stand-in base again), KEEP=1 (leave the containers, brokers and daemon
# running to look at them).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${CAREPATH_DOCKER_CHECK_DIR:-/tmp/carepath-docker-check}
CLI=$ROOT/.venv/bin/carepath
PY=$ROOT/.venv/bin/python
IMAGE=carepath:check
BASE=python:3.11-slim-bookworm
UNTIL=2026-08-01T00:00:00Z
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PREFIX=carepath-check  # containers, volumes and the compose project
FAILED=0
STARTED_DOCKERD=""
BROKER_DIRS=()

say() { printf '%s\n' "docker-check: $*" >&2; }
pass() { printf 'PASS %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; FAILED=1; }
die() { fail "$*"; exit 1; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    say "KEEP=1: containers, brokers (${BROKER_DIRS[*]:-none}) and dockerd left running"
    return
  fi
  if docker info >/dev/null 2>&1; then
    docker rm -f "$PREFIX-worker" "$PREFIX-secure" "$PREFIX-web" >/dev/null 2>&1
    if command -v docker-compose >/dev/null 2>&1; then
      (cd "$ROOT" && docker-compose -p "$PREFIX" -f docker-compose.secure.yml down -v --rmi local \
         >/dev/null 2>&1)
    fi
    docker volume rm "$PREFIX-state" "$PREFIX-secure-state" >/dev/null 2>&1
  fi
  for d in "${BROKER_DIRS[@]}"; do "$CLI" broker down --dir "$d" >/dev/null 2>&1; done
  if [ -n "$STARTED_DOCKERD" ]; then
    kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 0.5; done
    say "stopped the dockerd it started (pid $STARTED_DOCKERD)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (apt-get, dockerd, debootstrap)"
[ -x "$CLI" ] || die "no $CLI: run make setup first"
mkdir -p "$WORK"
cd "$ROOT"

# --- 1. packages and a Docker engine ------------------------------------------------------
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" \
    >/dev/null || die "apt-get install ${need[*]}"
fi

if ! docker info >/dev/null 2>&1; then
  for driver in overlay2 vfs; do
    say "starting dockerd (storage $driver, host networking only), log $WORK/dockerd.log"
    setsid dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$driver" \
      >"$WORK/dockerd.log" 2>&1 < /dev/null &
    STARTED_DOCKERD=$!
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && break
      kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 && break
    kill "$STARTED_DOCKERD" 2>/dev/null; wait "$STARTED_DOCKERD" 2>/dev/null; STARTED_DOCKERD=""
  done
fi
docker info >/dev/null 2>&1 || die "no Docker engine (see $WORK/dockerd.log)"
pass "docker engine $(docker version -f '{{.Server.Version}}') ($(docker info -f '{{.Driver}}'))"

# --- 2. the base image: the official one if present, else a debootstrap stand-in -----------
STANDIN="v2: debootstrap bookworm minbase + Debian python3, venv at /usr/local, host CAs"
label=$(docker image inspect -f '{{index .Config.Labels "org.carepath.standin"}}' "$BASE" 2>/dev/null)
if [ "${REBUILD_BASE:-0}" = 1 ] && [ -n "$label" ]; then  # only ever a stand-in, never the real one
  docker rmi "$BASE" "$PREFIX-rootfs:bookworm" >/dev/null 2>&1; rm -rf "$WORK/rootfs"; label=""
fi
if docker image inspect "$BASE" >/dev/null 2>&1 && { [ -z "$label" ] || [ "$label" = "$STANDIN" ]; }; then
  say "$BASE present (${label:-the official image}): not rebuilt"
else
  rootfs=$WORK/rootfs
  if [ ! -x "$rootfs/usr/bin/python3" ]; then
    say "debootstrap bookworm minbase + python3 into $rootfs (about a minute)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
      --include=python3,python3-venv,python3-pip,ca-certificates,netbase,tzdata \
      bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
      || die "debootstrap (see $WORK/debootstrap.log)"
  fi
  # what the official slim image does not carry either: apt lists and caches, docs, man pages
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/etc/resolv.conf \
    "$rootfs"/etc/hostname
  # This machine reaches PyPI through a TLS proxy whose CA the host trusts (its extra CAs in
  # /usr/local/share/ca-certificates, pip's `cert` the system bundle): the stand-in trusts the
  # same, or the Dockerfile's pip install fails with CERTIFICATE_VERIFY_FAILED. A CA
  # certificate is public; the official image on an open network needs none of this.
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
  say "docker import -> $PREFIX-rootfs:bookworm"
  tar -C "$rootfs" --numeric-owner -c . | docker import - "$PREFIX-rootfs:bookworm" >/dev/null \
    || die "docker import of the rootfs"
  ctx=$WORK/base-context
  mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<EOF
# A local stand-in for $BASE (no registry reachable): Debian bookworm's python3 with a venv
# at /usr/local, so python/pip are on PATH and pip installs system-wide as in the official image.
FROM $PREFIX-rootfs:bookworm
RUN update-ca-certificates >/dev/null && python3 -m venv /usr/local \\
 && /usr/local/bin/pip --version && /usr/local/bin/python --version
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
LABEL org.carepath.standin="$STANDIN"
CMD ["python3"]
EOF
  docker build --network host -q -t "$BASE" "$ctx" >"$WORK/base-build.log" 2>&1 \
    || die "building the stand-in $BASE (see $WORK/base-build.log)"
  say "built the stand-in $BASE"
fi
pass "base $BASE: $(docker run --rm --network host "$BASE" python --version 2>&1), $(docker image inspect -f '{{.Size}}' "$BASE" | awk '{printf "%.0f MB", $1/1e6}')"

# --- 3. the project's image ---------------------------------------------------------------
t0=$(date +%s)
cache=(); [ "${NO_CACHE:-0}" = 1 ] && cache=(--no-cache)
if docker build --network host "${cache[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')
  pass "docker build -t $IMAGE in $(( $(date +%s) - t0 )) s, image $size"
else
  tail -20 "$WORK/build.log"; die "docker build (see $WORK/build.log)"
fi
cfg_user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
hc=$(docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMAGE")
[ "$cfg_user" = carepath ] && pass "image USER carepath" || fail "image USER is '$cfg_user'"
# the check asks /healthz of the service the container runs (agents/healthcheck.py); that
# it answers is what "healthy" below shows, for the worker and for `web`
case $hc in
  *agents.healthcheck*) pass "image HEALTHCHECK: python -m agents.healthcheck";;
  *) fail "HEALTHCHECK: $hc";;
esac
if docker run --rm --network host --entrypoint python "$IMAGE" -c \
   'import os, rocksdict; assert os.getuid() == 10001; print(rocksdict.__name__)' >/dev/null 2>&1; then
  pass "rocksdict imports in the image, as uid 10001"
else
  fail "rocksdict import as uid 10001"
fi

# wait_healthy NAME: seconds until `docker inspect` says healthy (0 and a FAIL otherwise)
wait_healthy() {
  local name=$1 start=$2 status
  for _ in $(seq 150); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$name" 2>/dev/null)
    [ "$status" = healthy ] && { echo $(( $(date +%s) - start )); return 0; }
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 1
  done
  docker logs --tail 30 "$name" >&2
  echo 0; return 1
}

# check_worker NAME WEBPORT VOLUME LABEL: health, uid, RocksDB files, the ops endpoints
check_worker() {
  local name=$1 port=$2 vol=$3 label=$4 start=$5 secs pid uid mp ready
  if secs=$(wait_healthy "$name" "$start"); then
    pass "$label: health healthy $secs s after docker run"
  else
    fail "$label: never healthy ($(docker inspect -f '{{.State.Health.Status}} {{.State.Status}}' "$name" 2>&1))"
    return 1
  fi
  pid=$(docker inspect -f '{{.State.Pid}}' "$name")
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
  [ "$uid" = 10001 ] && pass "$label: worker process (host pid $pid) runs as uid 10001: $(docker exec "$name" id)" \
    || fail "$label: worker runs as uid $uid"
  for _ in $(seq 90); do
    ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
    [ "$ready" = 200 ] && break; sleep 1
  done
  for ep in healthz readyz metrics; do
    code=$(curl -s -o "$WORK/$label.$ep" -w '%{http_code}' "http://127.0.0.1:$port/$ep")
    [ "$code" = 200 ] && pass "$label: GET /$ep 200 ($(wc -c <"$WORK/$label.$ep") bytes)" \
      || fail "$label: GET /$ep answered $code"
  done
  grep -q '^carepath_' "$WORK/$label.metrics" && pass "$label: /metrics has carepath_ series" \
    || fail "$label: no carepath_ series in /metrics"
  [ "$(docker exec "$name" printenv CAREPATH_STORE)" = rocksdb:// ] \
    && pass "$label: CAREPATH_STORE=rocksdb://" || fail "$label: CAREPATH_STORE is not rocksdb://"
  mp=$(docker volume inspect -f '{{.Mountpoint}}' "$vol")
  local owner; owner=$(stat -c '%u:%g %a' "$mp")
  [ "$owner" = "10001:10001 700" ] && pass "$label: volume $vol owned 10001:10001 mode 700" \
    || fail "$label: volume $vol is $owner"
}

# replay_equal LABEL BROKER [env file]: replay --broker == embedded replay of the sample
replay_equal() {
  local label=$1 broker=$2 envfile=${3:-} out=$WORK/$1
  rm -f "$out".*.ndjson
  (
    if [ -n "$envfile" ]; then set -a; . "$envfile"; set +a; fi
    "$CLI" replay examples/sample.ndjson --out "$out.live.ndjson" \
      --dead-letter "$out.live-dlq.ndjson" --until "$UNTIL" --broker "$broker" --timeout 180
  ) >"$out.replay.log" 2>&1 || { tail -5 "$out.replay.log"; fail "$label: replay --broker"; return 1; }
  env -u CAREPATH_BROKER "$CLI" replay examples/sample.ndjson --out "$out.embedded.ndjson" \
    --dead-letter "$out.embedded-dlq.ndjson" --until "$UNTIL" >"$out.embedded.log" 2>&1 \
    || { fail "$label: embedded replay"; return 1; }
  local summary
  if summary=$("$PY" - "$out" <<'EOF'
import sys, orjson
base = sys.argv[1]
def lines(path):
    return [orjson.loads(x) for x in open(path, "rb") if x.strip()]
def final(docs):  # the latest version of each output resource, as the tests compare
    return {(d["resourceType"], d["id"]): d for d in docs}
def dead(docs):  # their source (topic/offset or file/line) and received_at differ by nature
    return sorted(orjson.dumps({"error": d["error"], "raw": d.get("raw")},
                               option=orjson.OPT_SORT_KEYS) for d in docs)
def raw(path):
    return sorted(open(path, "rb").read().splitlines())
live, emb = lines(f"{base}.live.ndjson"), lines(f"{base}.embedded.ndjson")
dl, de = lines(f"{base}.live-dlq.ndjson"), lines(f"{base}.embedded-dlq.ndjson")
same = raw(f"{base}.live.ndjson") == raw(f"{base}.embedded.ndjson")
print(f"{len(live)} output records, {len(final(live))} resources, same lines: {same};"
      f" {len(dl)} dead letters, same errors and documents: {dead(dl) == dead(de)}")
sys.exit(0 if live and final(live) == final(emb) and dead(dl) == dead(de) else 1)
EOF
  ); then pass "$label: replay --broker equals embedded replay of examples/sample.ndjson: $summary"
  else fail "$label: replay --broker differs from embedded: $summary (see $out.*.ndjson)"
  fi
}

# --- 4. plaintext broker + worker container ----------------------------------------------
docker rm -f "$PREFIX-worker" "$PREFIX-secure" "$PREFIX-web" >/dev/null 2>&1
docker volume rm "$PREFIX-state" "$PREFIX-secure-state" >/dev/null 2>&1
bdir=$WORK/broker
"$CLI" broker down --dir "$bdir" >/dev/null 2>&1
BROKER_DIRS+=("$bdir")
addr=$("$CLI" broker up --dir "$bdir" 2>"$WORK/broker.log" | tail -1) || die "broker up (see $WORK/broker.log)"
port=${addr##*:}
pass "plaintext broker up at $addr ($bdir)"
web=$(free_port)
start=$(date +%s)
docker run -d --name "$PREFIX-worker" --network host \
  -e CAREPATH_BROKER="kafka://127.0.0.1:$port" -e CAREPATH_WEB_PORT="$web" \
  -e CAREPATH_TICK_INTERVAL=0 -v "$PREFIX-state:/var/lib/carepath" "$IMAGE" >/dev/null \
  || die "docker run the worker"
if check_worker "$PREFIX-worker" "$web" "$PREFIX-state" plaintext "$start"; then
  replay_equal plaintext "kafka://127.0.0.1:$port"
  mp=$(docker volume inspect -f '{{.Mountpoint}}' "$PREFIX-state")
  ssts=$(find "$mp" -name '*.sst' | wc -l); currents=$(find "$mp" -name CURRENT | wc -l)
  wals=$(find "$mp" -name '*.log' -size +0 | wc -l)
  one=$(find "$mp" -name CURRENT | head -1); one=${one#"$mp"}
  [ "$currents" -gt 0 ] && pass "plaintext: RocksDB in the volume: $currents databases (e.g. /var/lib/carepath${one%/CURRENT}), $wals non-empty WAL .log, $ssts .sst, $(du -sh "$mp" | cut -f1)" \
    || fail "plaintext: no RocksDB database in the volume ($(find "$mp" | head -5 | tr '\n' ' '))"
fi
docker rm -f "$PREFIX-worker" >/dev/null 2>&1

# `docker run IMAGE web`: the image's HEALTHCHECK (agents/healthcheck.py) asks /healthz of
# the service the container runs: for `web`, the port of CAREPATH_WEB_LISTEN (the worker's
# CAREPATH_WEB_PORT left at its default, where nothing listens in this container)
web=$(free_port)
start=$(date +%s)
docker run -d --name "$PREFIX-web" --network host -e CAREPATH_BROKER="kafka://127.0.0.1:$port" \
  -e CAREPATH_WEB_LISTEN="127.0.0.1:$web" "$IMAGE" web >/dev/null \
  || fail "docker run IMAGE web"
if secs=$(wait_healthy "$PREFIX-web" "$start"); then
  pass "web: IMAGE web (CAREPATH_WEB_LISTEN only): healthy $secs s after docker run"
else
  fail "web: IMAGE web never healthy"
fi
docker rm -f "$PREFIX-web" >/dev/null 2>&1

# --- 5. SASL_SSL broker, the worker with --env-file client.env --------------------------
sdir=$WORK/broker-secure
"$CLI" broker down --dir "$sdir" >/dev/null 2>&1
BROKER_DIRS+=("$sdir")
if "$CLI" broker up --secure --dir "$sdir" >"$WORK/broker-secure.log" 2>&1 && [ -f "$sdir/client.env" ]; then
  pass "secure broker up ($(grep -E '^CAREPATH_(BROKER|SECURITY_PROTOCOL|SASL_MECHANISM)=' "$sdir/client.env" | tr '\n' ' '))"
  ca=$(sed -n 's/^CAREPATH_SSL_CAFILE=//p' "$sdir/client.env")
  # the container gets the CA file at the path client.env names; the image's user must read it
  # (broker up writes it 0644; with a stricter umask, mount a readable copy: it is public)
  camount=$ca
  if [ "$(( $(stat -c '%a' "$ca") % 10 & 4 ))" = 0 ]; then
    install -m 0644 "$ca" "$WORK/secure-ca.pem"; camount=$WORK/secure-ca.pem
  fi
  web=$(free_port)
  start=$(date +%s)
  docker run -d --name "$PREFIX-secure" --network host --env-file "$sdir/client.env" \
    -e CAREPATH_WEB_PORT="$web" -e CAREPATH_TICK_INTERVAL=0 \
    -v "$camount:$ca:ro" -v "$PREFIX-secure-state:/var/lib/carepath" "$IMAGE" >/dev/null \
    || fail "docker run the secure worker"
  if check_worker "$PREFIX-secure" "$web" "$PREFIX-secure-state" secure "$start"; then
    replay_equal secure "$(sed -n 's/^CAREPATH_BROKER=//p' "$sdir/client.env")" "$sdir/client.env"
  fi
  docker rm -f "$PREFIX-secure" >/dev/null 2>&1
else
  fail "broker up --secure (see $WORK/broker-secure.log)"
fi

# --- 6. compose files ---------------------------------------------------------------------
if command -v docker-compose >/dev/null 2>&1; then
  for f in docker-compose.yml docker-compose.secure.yml; do
    docker-compose -f "$f" config -q 2>"$WORK/compose-config.log" && pass "docker-compose -f $f config" \
      || fail "docker-compose -f $f config ($(head -3 "$WORK/compose-config.log"))"
  done
  # apache/kafka:4.4.0 cannot be pulled here, so only the one-shot secrets service runs for real
  if docker-compose -p "$PREFIX" -f docker-compose.secure.yml build secrets >"$WORK/compose.log" 2>&1 \
     && docker-compose -p "$PREFIX" -f docker-compose.secure.yml run --rm --no-deps secrets \
        >>"$WORK/compose.log" 2>&1; then
    listing=$(docker run --rm -v "${PREFIX}_client-secrets:/run/carepath:ro" --entrypoint sh \
      "$IMAGE" -c 'ls -ln /run/carepath; grep -c "^CAREPATH_" /run/carepath/client.env')
    case $listing in
      *client.env*) pass "compose secrets service wrote client.env, readable by the image's user: $(echo "$listing" | tail -1) CAREPATH_ lines";;
      *) fail "compose secrets service: $listing";;
    esac
  else
    fail "docker-compose run secrets (see $WORK/compose.log)"
  fi
  docker-compose -p "$PREFIX" -f docker-compose.secure.yml down -v --rmi local >/dev/null 2>&1
  say "not run: the compose kafka services (apache/kafka:4.4.0 cannot be pulled without a registry)"
else
  say "no docker-compose: compose checks skipped"
fi

[ "$FAILED" = 0 ] && echo "docker-check: all PASS" || echo "docker-check: some checks FAILED"
exit "$FAILED"

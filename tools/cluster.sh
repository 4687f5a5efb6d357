#!/usr/bin/env bash
# A real local cluster on loopback (docs/deploy.md): PostgreSQL-backed API x2, scheduler x2 and
# Celery worker x2 on Redis, each process with its own WEDATA_HOME as if on its own machine.
#
#   tools/cluster.sh start    # creates the database if needed, migrates once, starts the six
#   tools/cluster.sh status   # each process: alive or not; each API's /healthz
#   tools/cluster.sh stop     # SIGTERM to all, then SIGKILL what is left after 15 s
#
# Settings (environment):
#   WEDATA_CLUSTER_DIR   where homes, logs, pids and the shared key live  (/tmp/wedata-cluster)
#   WEDATA_CLUSTER_DB    the PostgreSQL database, created when missing      (wedata_cluster)
#   WEDATA_CLUSTER_PG    the PostgreSQL server URL, without the database     (postgresql+psycopg://postgres@127.0.0.1:5432)
#   WEDATA_BROKER_URL    the Celery broker                                  (redis://127.0.0.1:6379/5)
#   WEDATA_CLUSTER_PORT  the first API port; the second is PORT+1           (8181)
#   WEDATA_CLUSTER_GROUP the resource group the workers consume; the engines send every group's
#                        attempts to workers (WEDATA_REMOTE_GROUPS=*)        (every group: "*")
#   WEDATA               the wedata command                                 (.venv/bin/wedata, else wedata)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WEDATA_CLUSTER_DIR:-/tmp/wedata-cluster}
DB=${WEDATA_CLUSTER_DB:-wedata_cluster}
PG=${WEDATA_CLUSTER_PG:-postgresql+psycopg://postgres@127.0.0.1:5432}
BROKER=${WEDATA_BROKER_URL:-redis://127.0.0.1:6379/5}
PORT=${WEDATA_CLUSTER_PORT:-8181}
GROUP=${WEDATA_CLUSTER_GROUP:-}
WEDATA=${WEDATA:-}
if [ -z "$WEDATA" ]; then
  if [ -x "$ROOT/.venv/bin/wedata" ]; then WEDATA="$ROOT/.venv/bin/wedata"; else WEDATA=wedata; fi
fi
NAMES=(api1 api2 scheduler1 scheduler2 worker1 worker2)

shared_env() {
  # What every machine of a cluster shares: the database, the broker, the encryption key of the
  # secrets stored in it, the admin credential the first start creates, and which groups are remote.
  export WEDATA_DATABASE_URL="$PG/$DB" WEDATA_BROKER_URL="$BROKER" WEDATA_KEY_FILE="$DIR/secret.key"
  export WEDATA_REMOTE_GROUPS="*" WEDATA_ACCESS_LOG=0
  # shellcheck disable=SC1091
  . "$DIR/admin.env"
}

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

launch() {  # name, then the wedata arguments
  local name=$1; shift
  if alive "$name"; then echo "$name already runs (pid $(cat "$DIR/$name.pid"))"; return; fi
  mkdir -p "$DIR/$name"
  WEDATA_HOME="$DIR/$name" setsid "$WEDATA" "$@" >"$DIR/$name.log" 2>&1 < /dev/null &
  echo $! >"$DIR/$name.pid"
  echo "$name: pid $! ($WEDATA $*), log $DIR/$name.log"
}

create_database() {
  local admin="${PG/postgresql+psycopg/postgresql}/postgres"
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    psql "$admin" -qc "CREATE DATABASE \"$DB\""
    echo "created the database $DB"
  fi
}

wait_healthy() {  # port name
  for _ in $(seq 1 150); do
    if curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "the API on port $1 did not become healthy; the end of its log ($DIR/$2.log):" >&2
  tail -n 20 "$DIR/$2.log" >&2 || true
  return 1
}

start() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  if [ ! -f "$DIR/admin.env" ]; then
    umask 077
    printf 'export WEDATA_SECRET_ID=AKID%s WEDATA_SECRET_KEY=%s\n' \
      "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
      "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$DIR/admin.env"
  fi
  create_database
  shared_env
  # The schema once, before anything runs (docs/deploy.md: upgrading with everything running).
  WEDATA_HOME="$DIR/api1" "$WEDATA" db upgrade >/dev/null
  launch api1 server --no-scheduler --port "$PORT"
  wait_healthy "$PORT" api1  # the first start records the admin credential
  launch api2 server --no-scheduler --port "$((PORT + 1))"
  launch scheduler1 scheduler
  launch scheduler2 scheduler
  local groups=${GROUP:-}
  if [ -z "$groups" ]; then
    echo "workers: set WEDATA_CLUSTER_GROUP to the resource group id(s) they consume (CreateResourceGroup)" >&2
    echo "         and run: $0 workers" >&2
  else
    workers
  fi
  wait_healthy "$((PORT + 1))" api2
  echo
  echo "API: http://127.0.0.1:$PORT and http://127.0.0.1:$((PORT + 1)) (put a load balancer in front of both)"
  echo "credential: $DIR/admin.env"
}

workers() {
  shared_env
  [ -n "$GROUP" ] || { echo "WEDATA_CLUSTER_GROUP is not set" >&2; exit 2; }
  launch worker1 worker --groups "$GROUP" --slots 4
  launch worker2 worker --groups "$GROUP" --slots 4
}

status() {
  for name in "${NAMES[@]}"; do
    if alive "$name"; then echo "$name: running (pid $(cat "$DIR/$name.pid"))"; else echo "$name: stopped"; fi
  done
  for port in "$PORT" "$((PORT + 1))"; do
    echo "healthz :$port $(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null || echo unreachable)"
  done
}

stop() {
  local pids=()
  for name in "${NAMES[@]}"; do
    if alive "$name"; then
      pids+=("$(cat "$DIR/$name.pid")")
      kill -TERM -- "-$(cat "$DIR/$name.pid")" 2>/dev/null || kill -TERM "$(cat "$DIR/$name.pid")" || true
    fi
    rm -f "$DIR/$name.pid"
  done
  for _ in $(seq 1 75); do
    local left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && { echo "stopped"; return; }
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "stopped (some with SIGKILL)"
}

case "${1:-}" in
  start) start ;;
  workers) workers ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|workers|status|stop" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Starts Dispatcher locally with everything it needs: PostgreSQL, local secrets, the simulated
# telephony provider and demo data. Ctrl-C (or SIGTERM) stops everything it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# DISPATCHER_LOCAL_DIR moves the local state (secrets, cluster, build) elsewhere; the tests use it.
LOCAL="${DISPATCHER_LOCAL_DIR:-$ROOT/.local}"
shown="${DISPATCHER_LOCAL_DIR:-.local}"

usage() {
  cat <<EOF
Usage: ./run.sh [options]

Starts PostgreSQL (unless DATABASE_URL is set), then the Dispatcher service with the simulated
telephony provider and demo data, and prints the dashboard URL. Ctrl-C stops everything.

Options:
  --port N            port of the service (default: \$PORT, else 8080)
  --clean             start from an empty database (removes the local cluster first)
  --no-demo           no demo agency, batches or signup stream
  --live              real providers: needs ULTRAVOX_WEBHOOK_SECRETS and/or TWILIO_* in the environment
  --database-url URL  use this PostgreSQL (postgres:// URL or Npgsql connection string)
  -h, --help          this help

PostgreSQL, in order: DATABASE_URL; a cluster in .local/postgres from the machine's PostgreSQL
binaries (/usr/lib/postgresql/*/bin, or PG_BIN), kept between runs; 'docker compose up -d db'
where a Docker engine runs. Secrets (CREDENTIALS_KEY, API_KEYS) are generated once into
.local/secrets.env. Logs of the local PostgreSQL: .local/postgres.log.
EOF
}

port="${PORT:-8080}"
clean=false
demo=true
mode="${TELEPHONY_MODE:-}"
database_url="${DATABASE_URL:-}"
usage_error() { echo "run.sh: $* (see ./run.sh --help)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) [[ $# -ge 2 ]] || usage_error "--port needs a number"; port="$2"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --clean) clean=true; shift ;;
    --no-demo) demo=false; shift ;;
    --live) mode=live; shift ;;
    --database-url) [[ $# -ge 2 ]] || usage_error "--database-url needs a URL"; database_url="$2"; shift 2 ;;
    --database-url=*) database_url="${1#--database-url=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
  echo "run.sh: port '$port' is not a TCP port" >&2; exit 2
fi
# Before anything starts or builds: a port in use would only fail the service after a minute's build.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run.sh: port $port is in use; choose another with --port N (or PORT)" >&2; exit 2
fi

# Never fails: when run.sh's output is piped (./run.sh | tee log) and Ctrl-C has already ended the
# reader, a failed write must not stop the clean-up that follows it.
say() { printf '\033[1m==> %s\033[0m\n' "$*" 2>/dev/null || true; }
die() { echo "run.sh: $*" >&2; exit 1; }
command -v dotnet >/dev/null || die "the .NET 10 SDK is needed (dotnet on PATH); see README.md"

mkdir -p "$LOCAL"
started_postgres=""   # "cluster" or "compose" once this script started one
service_pid=""
service_status=""

# Stops what this script started: the service first (it drains its jobs), then PostgreSQL.
stop_all() {
  if [[ -n "$service_pid" ]] && kill -0 "$service_pid" 2>/dev/null; then
    say "stopping the service"
    kill -TERM "$service_pid" 2>/dev/null || true
    if wait "$service_pid"; then service_status=0; else service_status=$?; fi
  fi
  service_pid=""
  case "$started_postgres" in
    cluster) say "stopping PostgreSQL"; as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null || true ;;
    compose) say "stopping PostgreSQL (docker compose)"; (cd "$ROOT" && docker compose stop db >/dev/null) || true ;;
  esac
  started_postgres=""
}
# On Ctrl-C or SIGTERM the script exits with the service's own exit code (0 for a clean stop).
# SIGPIPE is ignored from then on, so a closed output pipe cannot kill the script half-way.
trap 'rc=$?; trap - EXIT INT TERM; trap "" PIPE; stop_all; exit "$rc"' EXIT
trap 'trap - EXIT INT TERM; trap "" PIPE; stop_all; exit "${service_status:-130}"' INT
trap 'trap - EXIT INT TERM; trap "" PIPE; stop_all; exit "${service_status:-143}"' TERM

# --- secrets, generated once and kept in .local ---------------------------------------------
secrets="$LOCAL/secrets.env"
if [[ ! -f "$secrets" ]]; then
  say "generating local secrets into $shown/secrets.env"
  umask 077
  {
    echo "CREDENTIALS_KEY=$(head -c 32 /dev/urandom | base64)"
    echo "API_KEYS=local-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$secrets"
  umask 022
fi
set -a; source "$secrets"; set +a

# --- PostgreSQL ------------------------------------------------------------------------------
PGDATA_DIR="$LOCAL/postgres"
as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return; fi
}
free_port() {
  local p
  for p in $(seq "$1" "$(( $1 + 100 ))"); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port for PostgreSQL from $1"
}

if [[ -n "$database_url" ]]; then
  say "PostgreSQL: DATABASE_URL"
  $clean && echo "run.sh: --clean is ignored with DATABASE_URL (drop your database yourself)" >&2
elif PG_BIN="$(find_pg_bin)" && [[ -n "$PG_BIN" ]]; then
  if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "running as root, PostgreSQL must run as the 'postgres' user, which does not exist (apt-get install postgresql creates it)"
  fi
  if $clean && [[ -d "$PGDATA_DIR" ]]; then
    say "--clean: removing the local cluster"
    rm -rf "$PGDATA_DIR"
  fi
  if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
    say "PostgreSQL: creating a cluster in $shown/postgres ($PG_BIN)"
    mkdir -p "$PGDATA_DIR"
    if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PGDATA_DIR"; fi
    chmod 700 "$PGDATA_DIR"
    as_postgres test -w "$PGDATA_DIR" || die "the postgres user cannot write $PGDATA_DIR (a folder above it is closed to it); set DATABASE_URL instead"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  touch "$LOCAL/postgres.log"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$LOCAL/postgres.log"; fi
  # In its own session, so a Ctrl-C in the terminal reaches this script, not PostgreSQL: the
  # service must drain its jobs before its database goes away.
  start_postgres() {
    as_postgres setsid -w "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOCAL/postgres.log" -w -t 60 \
      -o "-p $1 -c listen_addresses=127.0.0.1 -k $PGDATA_DIR" start >/dev/null
  }
  pg_port="$(free_port 54320)"
  say "PostgreSQL: starting on 127.0.0.1:$pg_port"
  if ! start_postgres "$pg_port"; then
    # Another process may have taken the port between the look and the start: once more, on the next free one.
    say "PostgreSQL: did not start on port $pg_port (taken meanwhile?)"
    pg_port="$(free_port $((pg_port + 1)))"
    say "PostgreSQL: starting on 127.0.0.1:$pg_port"
    start_postgres "$pg_port" || die "PostgreSQL did not start; see $shown/postgres.log"
  fi
  started_postgres=cluster
  if ! as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'dispatcher'" postgres | grep -q 1; then
    as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres dispatcher
  fi
  database_url="postgres://postgres@127.0.0.1:$pg_port/dispatcher"
elif command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  say "PostgreSQL: docker compose up -d db"
  if $clean; then (cd "$ROOT" && docker compose down -v >/dev/null 2>&1) || true; fi
  (cd "$ROOT" && docker compose up -d --wait db)
  started_postgres=compose
  database_url="postgres://dispatcher:dispatcher@127.0.0.1:${DB_PORT:-5432}/dispatcher"
else
  die "no PostgreSQL: install its server binaries (Debian/Ubuntu: sudo apt-get install -y postgresql), run a Docker engine, or set DATABASE_URL"
fi

# --- the service -----------------------------------------------------------------------------
if [[ -z "$mode" ]]; then
  for name in ULTRAVOX_BASE_URL ULTRAVOX_WEBHOOK_SECRETS TWILIO_ACCOUNT_SID; do
    if [[ -n "${!name:-}" ]]; then mode=live; fi
  done
  mode="${mode:-simulated}"
fi
if [[ "$mode" != simulated ]] && $demo; then
  echo "run.sh: telephony is $mode, so no demo data (it dials made-up numbers)" >&2
  demo=false
fi

say "building the service (dotnet publish -c Release into $shown/app)"
dotnet publish "$ROOT/Dispatcher.Web/Dispatcher.Web.csproj" -c Release -o "$LOCAL/app" --nologo -v quiet >"$LOCAL/build.log" 2>&1 \
  || { cat "$LOCAL/build.log" >&2; die "the build failed"; }

# The demo retries unanswered onboarding calls after seconds, not minutes: a signup nobody answers
# is a failed call in Hangfire's Failed list within the first minute, for a new user to requeue.
if [ "$demo" = true ]; then export ONBOARDING_RETRY_BASE_SECONDS="${ONBOARDING_RETRY_BASE_SECONDS:-10}"; fi

say "starting Dispatcher on port $port (telephony: $mode, demo data: $demo)"
DATABASE_URL="$database_url" PORT="$port" TELEPHONY_MODE="$mode" DEMO_DATA="$demo" \
  ASPNETCORE_URLS="http://127.0.0.1:$port" ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}" LOG_FORMAT="${LOG_FORMAT:-text}" \
  bash -c 'cd "$1" && exec setsid dotnet Dispatcher.Web.dll' run.sh "$LOCAL/app" &
service_pid=$!

ready=false
for _ in $(seq 1 240); do
  if ! kill -0 "$service_pid" 2>/dev/null; then
    wait "$service_pid" || true
    service_pid=""
    die "the service stopped during start-up (see its output above)"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && head -n 1 <&3 | grep -q ' 200 ') 2>/dev/null; then
    echo
    say "Dispatcher is ready: http://localhost:$port${DASHBOARD_PATH:-/hangfire}"
    echo "    REST API key: $API_KEYS   (header X-Api-Key; secrets in $shown/secrets.env)"
    echo "    Ctrl-C stops the service and the PostgreSQL this script started."
    echo
    ready=true
    break
  fi
  sleep 0.5
done

$ready || echo "run.sh: the service is not ready after 2 minutes (see /readyz); still running it" >&2
if wait "$service_pid"; then status=0; else status=$?; fi
service_pid=""
exit "$status"

#!/usr/bin/env bash
# The one command line of the intake pipeline. `./deploy.sh help` lists the commands.
#
# Where a Docker engine answers, it drives Docker Compose; where none does, it runs every service as
# a local process under supervisord (DEPLOY_MODE=local|compose forces one). Settings come from .env
# (created from .env.example on first use); variables already set in the environment win.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$REPO_DIR"
export REPO_DIR
export RUN_DIR="${RUN_DIR:-$REPO_DIR/.run}"
VENV="${VENV:-$REPO_DIR/.venv}"
export VENV_BIN="$VENV/bin"
SUPERVISOR_CONF="$REPO_DIR/deploy/supervisord.conf"
INFRA=(kafka redis smtp)
APPS=(crm api stream mailer workflow-agent relay bridge reconciler flower frontend)
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-90}"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

quiet() {  # quiet WHAT CMD...: run CMD with its output kept aside; on failure show it and stop
  local what="$1" out
  shift
  out="$(mktemp)"
  if ! "$@" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    fail "$what failed"
  fi
  rm -f "$out"
}

# --- configuration -------------------------------------------------------------------------------

new_secret() { python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "${1:-32}"; }

set_secret() {  # set_secret FILE NAME VALUE [PLACEHOLDER]: give NAME a value in FILE unless it has a real one
  local file="$1" name="$2" value="$3" placeholder="${4:-}" current
  current="$(sed -n "s/^$name=//p" "$file" | tail -n 1)"
  [[ -n "$current" && "$current" != "$placeholder" ]] && return 0
  if grep -q "^$name=" "$file"; then sed -i "s|^$name=.*|$name=$value|" "$file"; else printf '%s=%s\n' "$name" "$value" >>"$file"; fi
  GENERATED+=("$name")
}

prepare_settings() {  # the settings file: created on first use, its owner's alone, its secrets generated
  local file="${ENV_FILE:-.env}"
  if [[ -z "${ENV_FILE:-}" && ! -f .env ]]; then
    (umask 077 && cp .env.example .env)
    step "created .env from .env.example"
  fi
  [[ -f "$file" && -w "$file" ]] || return 0  # e.g. ENV_FILE=/dev/null: the environment says everything
  if [[ "$(stat -c %a "$file")" != 600 ]]; then
    chmod 600 "$file"
    step "${file#"$REPO_DIR"/}: made readable by its owner only (it holds secrets)"
  fi
  GENERATED=()
  set_secret "$file" DJANGO_SECRET_KEY "$(new_secret 50)" change-me
  set_secret "$file" FLOWER_BASIC_AUTH "admin:$(new_secret 18)"
  set_secret "$file" MAILDEV_WEB_USER admin
  set_secret "$file" MAILDEV_WEB_PASS "$(new_secret 18)"
  set_secret "$file" CRM_API_TOKEN "$(new_secret 32)"
  [[ ${#GENERATED[@]} -eq 0 ]] || step "generated into ${file#"$REPO_DIR"/}: ${GENERATED[*]}"
}

load_env() {
  prepare_settings
  local file="${ENV_FILE:-.env}" line name value
  if [[ -f "$file" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      [[ "$line" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
      name="${BASH_REMATCH[1]}"
      value="${BASH_REMATCH[2]}"
      value="${value%\"}"; value="${value#\"}"; value="${value%\'}"; value="${value#\'}"
      [[ -n "${!name+x}" ]] || export "$name=$value"
    done <"$file"
  fi
  export API_PORT="${API_PORT:-5000}" KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
  export STREAM_PORT="${STREAM_PORT:-5001}"
  export STREAM_PUBLIC_URL="${STREAM_PUBLIC_URL:-http://localhost:$STREAM_PORT}"
  # Each live viewer is a socket of the stream process: supervisord raises its children's limit to
  # this, within the hard limit (above it supervisord would refuse to start).
  local hard_fds
  hard_fds="$(ulimit -Hn)"
  [[ "$hard_fds" =~ ^[0-9]+$ ]] || hard_fds=16384
  export SUPERVISOR_MINFDS="$((hard_fds < 16384 ? hard_fds : 16384))"
  export REDIS_PORT="${REDIS_PORT:-6379}" SMTP_PORT="${SMTP_PORT:-1025}" MAILDEV_WEB_PORT="${MAILDEV_WEB_PORT:-1080}"
  export CRM_PORT="${CRM_PORT:-8001}" FLOWER_PORT="${FLOWER_PORT:-5555}" FRONTEND_PORT="${FRONTEND_PORT:-3000}"
  export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.base}"
  export BIND_HOST="${BIND_HOST:-127.0.0.1}" API_WORKERS="${API_WORKERS:-2}"
  export MAILER_CONCURRENCY="${MAILER_CONCURRENCY:-4}" WORKFLOW_CONCURRENCY="${WORKFLOW_CONCURRENCY:-4}" WORKER_NICE="${WORKER_NICE:-10}"
  export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
  export CRM_API_BASE="${CRM_API_BASE:-http://127.0.0.1:$CRM_PORT/crm/api}"
  export FLOWER_MAX_TASKS="${FLOWER_MAX_TASKS:-5000}"
  # Without a settings file (ENV_FILE=/dev/null: the benchmark, tests) these secrets live for this run.
  [[ -n "${FLOWER_BASIC_AUTH:-}" ]] || export FLOWER_BASIC_AUTH="admin:$(new_secret 18)"
  [[ -n "${MAILDEV_WEB_USER:-}" ]] || export MAILDEV_WEB_USER=admin
  [[ -n "${MAILDEV_WEB_PASS:-}" ]] || export MAILDEV_WEB_PASS="$(new_secret 18)"
  [[ -n "${CRM_API_TOKEN:-}" ]] || export CRM_API_TOKEN="$(new_secret 32)"
  unset FLOWER_UNAUTHENTICATED_API  # an old .env's; Flower would open its API to every web page with it
  local first="${KAFKA_BOOTSTRAP_SERVERS%%,*}"
  export KAFKA_HOST="${first%:*}" KAFKA_PORT="${first##*:}"
  export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
  export KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_DIR/data/kafka}" KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
}

use_compose() {
  case "${DEPLOY_MODE:-auto}" in
    compose) return 0 ;;
    local) return 1 ;;
    *) command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 ;;
  esac
}

# --- installation (idempotent: each part is redone only when its inputs change) ------------------

stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    case "$pkg" in
      redis-server) command -v redis-server >/dev/null 2>&1 || missing+=("$pkg") ;;
      openjdk-17-jre-headless) java_ok || missing+=("$pkg") ;;
      maven) command -v mvn >/dev/null 2>&1 || missing+=("$pkg") ;;
      chromium) [[ -x /usr/bin/chromium ]] || missing+=("$pkg") ;;
      *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
    esac
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ "$(id -u)" == 0 ]] || fail "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
  step "installing Debian packages: ${missing[*]}"
  quiet "apt-get update" apt-get update -qq
  quiet "apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

ensure_python() {
  local reqs="$1" hash
  command -v python3 >/dev/null || fail "python3 (3.11+) is required"
  [[ -x "$VENV_BIN/python" ]] || { step "creating the virtualenv in ${VENV#"$REPO_DIR"/}"; python3 -m venv "$VENV"; }
  hash="$(cat requirements/*.txt | sha256sum | cut -d' ' -f1)-$reqs"
  if ! stamp_ok "$VENV/.installed" "$hash"; then
    step "installing Python packages (requirements/$reqs.txt)"
    quiet "pip install" "$VENV_BIN/pip" install -q --disable-pip-version-check -r "requirements/$reqs.txt"
    echo "$hash" >"$VENV/.installed"
  fi
}

KAFKA_RUNNER="$REPO_DIR/deploy/kafka/broker.py"

java_ok() { python3 "$KAFKA_RUNNER" java >/dev/null 2>&1; }  # a Java 17+ runtime (PATH or JAVA_HOME)

ensure_kafka() {  # Apache Kafka's jars from Maven Central (deploy/kafka/pom.xml), once per pom
  ensure_apt openjdk-17-jre-headless maven
  [[ -f "$REPO_DIR/deploy/kafka/lib/.installed" ]] || step "installing Apache Kafka $(python3 "$KAFKA_RUNNER" version) from Maven Central"
  quiet "the Kafka install (mvn dependency:copy-dependencies)" python3 "$KAFKA_RUNNER" install
}

ensure_npm() {  # ensure_npm DIR: npm ci from the lock file when it changed
  local dir="$1" hash
  command -v npm >/dev/null || fail "Node.js 20 and npm are required (apt-get install nodejs npm)"
  hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if ! stamp_ok "$dir/node_modules/.installed" "$hash"; then
    step "installing npm packages in ${dir#"$REPO_DIR"/}"
    quiet "npm ci in ${dir#"$REPO_DIR"/}" npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$hash" >"$dir/node_modules/.installed"
  fi
}

build_frontend() {
  [[ -f frontend/package.json ]] || return 0
  ensure_npm "$REPO_DIR/frontend"
  local hash
  hash="$(find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if ! stamp_ok frontend/dist/.built "$hash"; then
    step "building the frontend (vite)"
    quiet "the frontend build" npm run --prefix frontend build
    echo "$hash" >frontend/dist/.built
  fi
}

install_all() {  # install_all REQUIREMENTS
  ensure_apt redis-server
  ensure_kafka
  ensure_python "$1"
  ensure_npm "$REPO_DIR/deploy/smtp"
  build_frontend
}

# --- local processes -----------------------------------------------------------------------------

ctl() { "$VENV_BIN/supervisorctl" -c "$SUPERVISOR_CONF" "$@"; }

running() {
  [[ -f "$RUN_DIR/supervisord.pid" ]] && kill -0 "$(cat "$RUN_DIR/supervisord.pid")" 2>/dev/null
}

check_ports() {
  local taken=() entry name var port
  for entry in "api API_PORT" "stream STREAM_PORT" "kafka KAFKA_PORT" "kafka-controller KAFKA_CONTROLLER_PORT" "redis REDIS_PORT" \
    "smtp SMTP_PORT" "smtp-web MAILDEV_WEB_PORT" "crm CRM_PORT" "flower FLOWER_PORT" "frontend FRONTEND_PORT"; do
    read -r name var <<<"$entry"
    port="${!var}"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken+=("port $port ($name, $var) is already in use")
    fi
  done
  if [[ ${#taken[@]} -gt 0 ]]; then
    printf 'error: %s\n' "${taken[@]}" >&2
    fail "free those ports or change them in .env; nothing was started"
  fi
}

health() { "$VENV_BIN/python" deploy/health.py "$@"; }

wait_healthy() {  # wait_healthy NAME...: until every health check passes, or HEALTH_TIMEOUT ends
  local name
  if ! health --wait "$HEALTH_TIMEOUT" "$@"; then
    for name in "$@"; do
      health "$name" >/dev/null 2>&1 || tail -n 20 "$RUN_DIR/logs/$name.log" 2>/dev/null || true
    done
    fail "not healthy within ${HEALTH_TIMEOUT}s (./deploy.sh logs NAME)"
  fi
}

local_start() {
  if running; then
    echo "already running (./deploy.sh status shows it; ./deploy.sh restart restarts it)"
    return 0
  fi
  check_ports
  install_all local
  mkdir -p "$RUN_DIR/logs"
  write_service_env
  step "starting supervisord"
  quiet "supervisord" "$VENV_BIN/supervisord" -c "$SUPERVISOR_CONF"
  step "starting kafka (log in ${KAFKA_DATA_DIR#"$REPO_DIR"/}), redis, smtp"
  ctl start "infra:*" >/dev/null
  wait_healthy kafka-broker redis smtp
  step "applying migrations"
  quiet "migrate" "$VENV_BIN/python" manage.py migrate --noinput
  quiet "migrate (the mock CRM's database)" "$VENV_BIN/python" manage.py migrate --noinput --settings config.settings.crm_server
  step "creating Kafka topic ${KAFKA_TOPIC:-events.contact_form} (${KAFKA_NUM_PARTITIONS:-3} partitions) if missing"
  quiet "topic creation" "$VENV_BIN/python" manage.py kafka_topics
  wait_healthy kafka
  step "starting ${APPS[*]}"
  ctl start "app:*" >/dev/null
  wait_healthy "${APPS[@]}"
  step "all services healthy"
  print_urls
}

local_stop() {
  if ! running; then
    echo "not running"
    return 0
  fi
  step "stopping every service"
  local pid
  pid="$(cat "$RUN_DIR/supervisord.pid")"
  ctl shutdown >/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  step "stopped"
}

local_status() {
  if ! running; then
    echo "not running"
    return 3
  fi
  local name state result code=0
  printf '%-15s %-10s %s\n' SERVICE PROCESS HEALTH
  for name in "${INFRA[@]}" "${APPS[@]}"; do
    state="$(ctl status "$(group_of "$name"):$name" 2>/dev/null | awk '{print $2}')" || true
    result="$(health "$name" 2>&1)" || code=1
    [[ "$state" == RUNNING ]] || code=1  # a stopped process's heartbeat can outlive it for a few seconds
    printf '%-15s %-10s %s\n' "$name" "${state:-UNKNOWN}" "${result#"$name "}"
  done
  echo
  health --lag || code=1
  return $code
}

group_of() { [[ " ${INFRA[*]} " == *" $1 "* ]] && echo infra || echo app; }

known_service() {
  [[ " ${INFRA[*]} ${APPS[*]} " == *" $1 "* ]] || fail "unknown service '$1' (one of: ${INFRA[*]} ${APPS[*]})"
}

local_logs() {
  local files=()
  if [[ -n "${1:-}" ]]; then known_service "$1"; files=("$RUN_DIR/logs/$1.log"); else files=("$RUN_DIR"/logs/*.log); fi
  [[ -e "${files[0]}" ]] || fail "no logs yet in ${RUN_DIR}/logs (./deploy.sh start first)"
  if [[ -t 1 ]]; then tail -n 50 -F "${files[@]}"; else tail -n 200 "${files[@]}"; fi
}

service_arg() {  # service_arg VERB NAME: NAME must be a known service of a running stack
  [[ -n "${2:-}" ]] || fail "usage: ./deploy.sh $1 NAME"
  known_service "$2"
  running || fail "not running (./deploy.sh start)"
}

write_service_env() {  # the resolved settings, for deploy/with-env.sh (re-read at each app start)
  mkdir -p "$RUN_DIR"
  (umask 077 && export -p >"$RUN_DIR/service.env")
}

local_restart_service() {
  service_arg restart-service "${1:-}"
  write_service_env
  step "restarting $1"
  ctl restart "$(group_of "$1"):$1" >/dev/null
  wait_healthy "$1"
  step "$1 healthy"
}

local_stop_service() {
  service_arg stop-service "${1:-}"
  step "stopping $1"
  ctl stop "$(group_of "$1"):$1" >/dev/null
}

local_cleanup() {
  local_stop
  step "removing run state, logs, the SQLite database, Kafka's log ($KAFKA_DATA_DIR) and build output"
  rm -rf "$RUN_DIR" "$REPO_DIR/data" "$KAFKA_DATA_DIR" "$REPO_DIR/staticfiles" "$REPO_DIR/frontend/dist"
}

local_kafka() {  # local_kafka TOOL ARGS...: a Kafka tool from the broker's jars, against KAFKA_BOOTSTRAP_SERVERS
  [[ -n "${1:-}" ]] || { python3 "$KAFKA_RUNNER" tools | sed 's/^/  /'; fail "usage: ./deploy.sh kafka TOOL [ARGS...] (tools above)"; }
  ensure_kafka
  exec python3 "$KAFKA_RUNNER" tool "$@"
}

print_urls() {
  if use_compose; then
    cat <<EOF

  Frontend          ${PUBLIC_URL:-http://localhost:$FRONTEND_PORT}  (published on ${PUBLIC_BIND_ADDRESS:-127.0.0.1}:$FRONTEND_PORT)
  API, through it   ${PUBLIC_URL:-http://localhost:$FRONTEND_PORT}/api/submissions/  (docs: /api/docs/, admin: /admin/)
  Flower            http://127.0.0.1:$FLOWER_PORT  (user and password: FLOWER_BASIC_AUTH in ${ENV_FILE:-.env})
  SMTP catcher UI   http://127.0.0.1:$MAILDEV_WEB_PORT  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS)
  Kafka, Redis, PostgreSQL, the CRM: inside the Compose network only (./deploy.sh kafka TOOL ...)
EOF
    return
  fi
  cat <<EOF

  Frontend          http://localhost:$FRONTEND_PORT
  API               http://localhost:$API_PORT/api/submissions/
  API docs          http://localhost:$API_PORT/api/docs/  (schema: /api/schema/)
  Live progress     $STREAM_PUBLIC_URL/api/submissions/<id>/events  (server-sent events)
  Admin             http://localhost:$API_PORT/admin/  (create a user: .venv/bin/python manage.py createsuperuser)
  Flower            http://localhost:$FLOWER_PORT  (user and password: FLOWER_BASIC_AUTH in ${ENV_FILE:-.env})
  SMTP catcher UI   http://localhost:$MAILDEV_WEB_PORT  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS; SMTP on port $SMTP_PORT)
  Mock CRM          http://localhost:$CRM_PORT/crm/api/leads/  (Authorization: Bearer \$CRM_API_TOKEN)
  Kafka             $KAFKA_BOOTSTRAP_SERVERS  (topic ${KAFKA_TOPIC:-events.contact_form})
EOF
}

# --- tests ---------------------------------------------------------------------------------------

run_tests() {
  ensure_apt redis-server chromium
  ensure_kafka
  ensure_python test
  ensure_npm "$REPO_DIR/deploy/smtp"
  build_frontend
  local code=0
  step "lint (ruff check, ruff format --check)"
  { "$VENV_BIN/ruff" check --quiet . && "$VENV_BIN/ruff" format --check --quiet .; } || code=1
  if [[ -f frontend/package.json ]]; then
    step "frontend component tests (vitest)"
    (cd frontend && npm test --silent) || code=1
  fi
  step "Python tests: unit, integration, end-to-end (pytest)"
  set +e
  "$VENV_BIN/python" -m pytest "$@"
  local pytest_code=$?
  set -e
  # Exit code 5 means no test ran: that is a failure here, never a silent pass.
  if [[ $pytest_code -eq 5 ]]; then echo "error: pytest collected no tests" >&2; pytest_code=1; fi
  [[ $pytest_code -eq 0 ]] || code=$pytest_code
  return $code
}

run_chaos() {  # run_chaos [N] [CASE...]: the fault suite at N submissions per case, on its own stack
  local count="${1:-300}"
  [[ $# -gt 0 ]] && shift
  [[ "$count" =~ ^[0-9]+$ ]] || fail "usage: ./deploy.sh chaos [N] [CASE...]"
  ensure_apt redis-server
  ensure_kafka
  ensure_python test
  ensure_npm "$REPO_DIR/deploy/smtp"
  step "fault suite: $count submissions at 30/s per case (its own servers on free ports)"
  "$VENV_BIN/python" -m tests.faults --count "$count" "$@"
}

start_bench_postgres() {  # start_bench_postgres DIR PORT: a throwaway PostgreSQL cluster for the benchmark
  local dir="$1" port="$2" bin as=()
  ensure_apt postgresql
  bin="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)"
  [[ -x "$bin/initdb" ]] || fail "PostgreSQL's initdb not found under /usr/lib/postgresql"
  mkdir -p "$dir"
  if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; as=(runuser -u postgres --); fi  # initdb refuses root
  quiet "initdb" "${as[@]}" "$bin/initdb" -D "$dir" -A trust -U postgres
  # synchronous_commit=off: the durability of SQLite's synchronous=NORMAL (a power loss can lose the
  # last commits, a crash of a process cannot), so the two are compared on equal terms.
  quiet "pg_ctl start" "${as[@]}" "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c synchronous_commit=off" start
  quiet "createdb" "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres intake
  BENCH_PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop)
  export BENCH_EXTRA_PIDS="postgresql=$(head -n 1 "$dir/postmaster.pid")"  # its CPU and memory count too
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/intake"
}

run_bench() {  # run_bench [--smoke] [--no-viewers] [--postgresql]: the stack on its own ports and data
  local args=() arg postgres=0
  for arg in "$@"; do
    case "$arg" in
      --smoke | --no-viewers) args+=("$arg") ;;
      --postgresql) postgres=1 ;;
      *) fail "usage: ./deploy.sh bench [--smoke] [--no-viewers] [--postgresql]" ;;
    esac
  done
  # Its own ports, data and run directory (a running stack stays untouched), each overridable.
  export RUN_DIR="${BENCH_RUN_DIR:-$REPO_DIR/.run-bench}" ENV_FILE=/dev/null
  local data="${BENCH_DATA_DIR:-$REPO_DIR/data/bench}" database
  database="$([[ $postgres == 1 ]] && echo postgresql || echo sqlite)"
  local out="${BENCH_OUT:-$REPO_DIR/bench-results/$database}"
  export API_PORT="${API_PORT:-5100}" STREAM_PORT="${STREAM_PORT:-5101}" CRM_PORT="${CRM_PORT:-8101}"
  export REDIS_PORT="${REDIS_PORT:-6479}" SMTP_PORT="${SMTP_PORT:-1125}" MAILDEV_WEB_PORT="${MAILDEV_WEB_PORT:-1180}"
  export FLOWER_PORT="${FLOWER_PORT:-5655}" FRONTEND_PORT="${FRONTEND_PORT:-3100}"
  export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9192}" KAFKA_DATA_DIR="$data/kafka"
  export DATABASE_URL="${BENCH_DATABASE_URL:-sqlite:///$data/db.sqlite3}" CRM_DATABASE_URL="sqlite:///$data/crm.sqlite3"
  export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')}"
  # As users run it, with the per-address limit lifted (one client sends everything) and the
  # synchronous baseline endpoint on for the comparison.
  export SUBMISSION_RATE_LIMIT="1000000/minute" BENCH_BASELINE=true LOG_LEVEL="${LOG_LEVEL:-WARNING}"
  export STREAM_MAX_PER_CLIENT=1000000  # its 1,000 live viewers come from one address
  load_env
  ensure_python test
  if running; then local_stop; fi
  rm -rf "$data" "$RUN_DIR"
  mkdir -p "$data"
  BENCH_PG_STOP=()
  if [[ $postgres == 1 ]]; then
    step "starting a throwaway PostgreSQL for the benchmark (${data#"$REPO_DIR"/}/pg)"
    start_bench_postgres "$data/pg" "${BENCH_PG_PORT:-5532}"
  fi
  step "starting the stack for the benchmark (run directory ${RUN_DIR#"$REPO_DIR"/}, data ${data#"$REPO_DIR"/})"
  local_start
  local code=0
  step "benchmark${args[*]:+ (${args[*]})} on $([[ $postgres == 1 ]] && echo PostgreSQL || echo SQLite): load from a separate process on loopback"
  "$VENV_BIN/python" -m tests.benchmarks.bench --out "$out" "${args[@]}" || code=$?
  local_stop
  [[ ${#BENCH_PG_STOP[@]} -eq 0 ]] || quiet "pg_ctl stop" "${BENCH_PG_STOP[@]}"
  [[ -n "${BENCH_KEEP_DATA:-}" ]] || rm -rf "$data"
  return $code
}

# --- Docker Compose ------------------------------------------------------------------------------

compose() { docker compose --env-file "${ENV_FILE:-.env}" "$@"; }

compose_cmd() {
  local cmd="$1"; shift
  case "$cmd" in
    start)
      step "starting the stack with Docker Compose"
      compose up -d --build --wait
      print_urls ;;
    stop) compose stop ;;
    restart) compose restart ;;
    status) compose ps ;;
    logs) if [[ -t 1 ]]; then compose logs -f --tail 50 "$@"; else compose logs --tail 200 "$@"; fi ;;
    restart-service) [[ -n "${1:-}" ]] || fail "usage: ./deploy.sh restart-service NAME"; compose restart "$1" ;;
    stop-service) [[ -n "${1:-}" ]] || fail "usage: ./deploy.sh stop-service NAME"; compose stop "$1" ;;
    build) compose build ;;
    cleanup) compose down --volumes --remove-orphans ;;
    kafka)
      [[ -n "${1:-}" ]] || fail "usage: ./deploy.sh kafka TOOL [ARGS...]"
      local tool="${1#kafka-}"; shift
      compose exec kafka "/opt/kafka/bin/kafka-${tool%.sh}.sh" --bootstrap-server localhost:29092 "$@" ;;
  esac
}

usage() {
  cat <<'EOF'
Usage: ./deploy.sh COMMAND [ARGS]

  start                 install what is missing, start every service, wait until healthy, print URLs
  stop                  stop every service
  restart               stop, then start
  status                each service's process state and health check, and the bridge's consumer lag
                        per partition (exit 0 only if all healthy)
  logs [SERVICE]        recent log lines (followed on a terminal); all services or one
  restart-service NAME  restart one service and wait until it is healthy
  stop-service NAME     stop one service (restart-service starts it again)
  build                 install dependencies and build the frontend, without starting anything
  cleanup               stop, then delete run state, logs, the database, Kafka's log and build output
  kafka TOOL [ARGS]     a Kafka command-line tool against the configured broker, e.g.
                          ./deploy.sh kafka topics --describe --topic events.contact_form
                          ./deploy.sh kafka consumer-groups --describe --group bridge
                          ./deploy.sh kafka console-consumer --topic events.contact_form --from-beginning
                        (tools: topics consumer-groups console-consumer console-producer get-offsets
                        broker-api-versions configs log-dirs delete-records metadata-quorum features)
  test [PYTEST ARGS]    install test dependencies and run every test (vitest, then pytest)
  chaos [N] [CASE...]   the fault suite at N submissions per case (default 300), one line per case
  bench [--smoke] [--postgresql]
                        the benchmark: starts the stack on its own ports and data (Flower on, the
                        rate limit lifted), drives it from a separate process, prints a table and
                        writes bench-results/DATABASE/bench.json and bench.png (about 20 min;
                        --smoke: a minute, that it works; --postgresql: on a throwaway PostgreSQL
                        cluster instead of SQLite; --no-viewers: skip the live-viewer phase)
  help                  this text

Services: kafka redis smtp crm api stream mailer workflow-agent relay bridge reconciler flower frontend
Mode: Docker Compose when a Docker engine answers, else local processes under supervisord
      (DEPLOY_MODE=local|compose forces one). Settings: .env (see .env.example), created readable
      by its owner only, with its secrets (Django key, Flower, SMTP catcher, CRM token) generated.
EOF
}

main() {
  local cmd="${1:-help}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    help | -h | --help) usage; return 0 ;;
    start | stop | restart | status | logs | restart-service | stop-service | build | cleanup | test | kafka | chaos | bench) ;;
    *) usage >&2; fail "unknown command '$cmd'" ;;
  esac
  # Tests start their own servers with their own settings: a developer's .env must not leak in.
  if [[ "$cmd" == test ]]; then run_tests "$@"; return; fi
  if [[ "$cmd" == chaos ]]; then run_chaos "$@"; return; fi
  if [[ "$cmd" == bench ]]; then run_bench "$@"; return; fi
  load_env
  if use_compose; then compose_cmd "$cmd" "$@"; return; fi
  case "$cmd" in
    start) local_start ;;
    stop) local_stop ;;
    restart) local_stop; local_start ;;
    status) local_status ;;
    logs) local_logs "$@" ;;
    restart-service) local_restart_service "$@" ;;
    stop-service) local_stop_service "$@" ;;
    build) install_all local; step "built" ;;
    cleanup) local_cleanup ;;
    kafka) local_kafka "$@" ;;
  esac
}

main "$@"

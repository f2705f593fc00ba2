#!/usr/bin/env bash
# The one command line of the intake pipeline. `./deploy.sh help` lists the commands.
#
# Where a Docker engine answers, it drives Docker Compose; where none does, it runs every service as
# a local process under supervisord (DEPLOY_MODE=local|compose forces one). Settings come from .env
# (created from .env.example on first use); variables already set in the environment win.
#
# -E: the ERR trap below also fires inside functions, so no step can end the script without a word.
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$REPO_DIR"
export REPO_DIR
export RUN_DIR="${RUN_DIR:-$REPO_DIR/.run}"
VENV="${VENV:-$REPO_DIR/.venv}"
export VENV_BIN="$VENV/bin"
SUPERVISOR_CONF="$REPO_DIR/deploy/supervisord.conf"
# The one reader of .env and of every default (deploy.sh evaluates its `export` lines).
SETTINGS_READER="$REPO_DIR/backend/config/envfile.py"
INFRA=(kafka redis smtp)
APPS=(crm api stream mailer workflow-agent relay bridge reconciler flower frontend)
SCALABLE=(mailer workflow-agent bridge)  # ./deploy.sh scale: several processes each (numprocs in supervisord.conf)
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-90}"
MIN_PYTHON=3.11

LAST_STEP=""
step() { LAST_STEP="$*"; printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The ERR trap: a command that set -e would end the script on is named, with its line, its function
# and the step it was part of. In a subshell ($(...)) it stays quiet and exits with the same status:
# the line of the parent that ran the subshell is the one reported.
on_error() {  # on_error STATUS LINE COMMAND
  local status="$1" line="$2" command="$3" where
  [[ "$BASHPID" == "$$" ]] || exit "$status"
  # A function's own `return N` is a verdict it has explained (tests failed, not running), not a crash.
  [[ "$command" != return* ]] || exit "$status"
  where="${FUNCNAME[*]:1:${#FUNCNAME[@]}-2}"  # the functions it ran in, without on_error and the script's own "main"
  printf 'error: "%s" failed at deploy.sh line %s%s: this command exited with status %s:\n  %s\n' \
    "${LAST_STEP:-./deploy.sh ${COMMAND:-}}" "$line" "${where:+ (in ${where// / < })}" "$status" "$command" >&2
  exit "$status"
}
trap 'on_error "$?" "$LINENO" "$BASH_COMMAND"' ERR

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

# progress WHAT FILTER CMD...: run CMD, with FILTER turning its output into a few progress lines on
# stderr (stdout keeps one line per step); on failure show the output's end and stop.
progress() {
  local what="$1" filter="$2" out code=0
  shift 2
  out="$(mktemp)"
  "$@" 2>&1 | tee "$out" | "$filter" >&2 || code=$?
  if [[ $code -ne 0 ]]; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    fail "$what failed"
  fi
  rm -f "$out"
}

pip_progress() {  # pip's output: a line per package it collects, one when it installs them
  local line start=$SECONDS packages
  while IFS= read -r line; do
    case "$line" in
      "Collecting "*)
        line="${line#Collecting }"
        printf '    [%3ds] collecting %s\n' $((SECONDS - start)) "${line%% (*}" ;;
      "Installing collected packages: "*)
        IFS=, read -ra packages <<<"${line#*: }"
        printf '    [%3ds] installing %d packages\n' $((SECONDS - start)) "${#packages[@]}" ;;
    esac
  done
}

npm_progress() {  # npm's http log: a line every 5 s with the packages fetched so far, then its summary
  local line fetched=0 start=$SECONDS last=$SECONDS
  while IFS= read -r line; do
    case "$line" in
      *"http fetch GET 200 "*) fetched=$((fetched + 1)) ;;
      "added "* | "removed "* | "changed "* | "up to date"*) printf '    [%3ds] %s\n' $((SECONDS - start)) "$line" ;;
    esac
    if ((SECONDS - last >= 5)); then
      printf '    [%3ds] %d packages fetched\n' $((SECONDS - start)) "$fetched"
      last=$SECONDS
    fi
  done
}

# --- configuration -------------------------------------------------------------------------------

new_secret() { python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "${1:-32}"; }

set_secret() {  # set_secret FILE NAME VALUE [PLACEHOLDER]: give NAME a value in FILE unless it has a real one
  local file="$1" name="$2" value="$3" placeholder="${4:-}" current
  current="$(python3 "$SETTINGS_READER" read "$file" "$name")"  # quotes and `export ` as the code reads them
  [[ -n "$current" && "$current" != "$placeholder" ]] && return 0
  if grep -Eq "^(export )?$name=" "$file"; then
    sed -i -E "s|^(export )?$name=.*|$name=$value|" "$file"
  else
    printf '%s=%s\n' "$name" "$value" >>"$file"
  fi
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
  set_secret "$file" REDIS_PASSWORD "$(new_secret 24)"
  set_secret "$file" KAFKA_SASL_PASSWORD "$(new_secret 24)"
  set_secret "$file" KAFKA_UI_USER admin  # Compose's Kafka UI and Grafana
  set_secret "$file" KAFKA_UI_PASSWORD "$(new_secret 18)"
  set_secret "$file" GRAFANA_ADMIN_USER admin
  set_secret "$file" GRAFANA_ADMIN_PASSWORD "$(new_secret 18)"
  [[ ${#GENERATED[@]} -eq 0 ]] || step "generated into ${file#"$REPO_DIR"/}: ${GENERATED[*]}"
}

load_env() {  # the settings: .env read by backend/config/envfile.py (as the code reads it), with its defaults
  command -v python3 >/dev/null || fail "python3 ($MIN_PYTHON+) is required: it reads the settings (Debian: apt-get install python3 python3-venv)"
  prepare_settings
  local resolved
  # Without a settings file (ENV_FILE=/dev/null: the benchmark, tests) Redis' password lives for this
  # run; it is set before the settings are read, so that the broker URL built from it carries it.
  if [[ -z "${REDIS_PASSWORD:-}" && -z "$(python3 "$SETTINGS_READER" read "${ENV_FILE:-.env}" REDIS_PASSWORD)" ]]; then
    REDIS_PASSWORD="$(new_secret 24)"
    export REDIS_PASSWORD
  fi
  resolved="$(python3 "$SETTINGS_READER" export --env-file "${ENV_FILE:-.env}")" || fail "could not read the settings in ${ENV_FILE:-.env}"
  eval "$resolved"
  export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.base}"
  # Each live viewer is a socket of the stream process: supervisord raises its children's limit to
  # this, within the hard limit (above it supervisord would refuse to start).
  local hard_fds
  hard_fds="$(ulimit -Hn)"
  [[ "$hard_fds" =~ ^[0-9]+$ ]] || hard_fds=16384
  export SUPERVISOR_MINFDS="$((hard_fds < 16384 ? hard_fds : 16384))"
  # Without a settings file (ENV_FILE=/dev/null: the benchmark, tests) these secrets live for this run.
  [[ -n "${FLOWER_BASIC_AUTH:-}" ]] || FLOWER_BASIC_AUTH="admin:$(new_secret 18)"
  [[ -n "${MAILDEV_WEB_USER:-}" ]] || MAILDEV_WEB_USER="admin"
  [[ -n "${MAILDEV_WEB_PASS:-}" ]] || MAILDEV_WEB_PASS="$(new_secret 18)"
  [[ -n "${CRM_API_TOKEN:-}" ]] || CRM_API_TOKEN="$(new_secret 32)"
  [[ -n "${KAFKA_SASL_PASSWORD:-}" ]] || KAFKA_SASL_PASSWORD="$(new_secret 24)"
  export FLOWER_BASIC_AUTH MAILDEV_WEB_USER MAILDEV_WEB_PASS CRM_API_TOKEN KAFKA_SASL_PASSWORD
  unset FLOWER_UNAUTHENTICATED_API  # an old .env's; Flower would open its API to every web page with it
  local first="${KAFKA_BOOTSTRAP_SERVERS%%,*}"
  export KAFKA_HOST="${first%:*}" KAFKA_PORT="${first##*:}"
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

version_at_least() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]; }  # HAVE WANT

node_minimum() {  # the frontend's engines.node (">=20.19" gives 20.19): Vite's own floor
  python3 -c 'import json, re, sys; print(re.sub(r"[^0-9.]", "", json.load(open(sys.argv[1])).get("engines", {}).get("node", "")))' \
    "$REPO_DIR/frontend/package.json" 2>/dev/null || true
}

java_found() {  # the first line of `java -version`, or "not found"
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  if command -v "$java" >/dev/null 2>&1; then { "$java" -version 2>&1 || true; } | head -n 1; else echo "not found"; fi
}

check_tools() {  # the runtimes' versions, before anything is installed or started, each with what to do
  local python node want_node problems=()
  python="$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" || python=""
  version_at_least "${python:-0}" "$MIN_PYTHON" ||
    problems+=("Python $MIN_PYTHON+ is required (python3: ${python:-not found}); Debian 12 has it: apt-get install python3 python3-venv")
  want_node="$(node_minimum)"
  node="$(node --version 2>/dev/null)" || node=""
  if [[ -z "$node" ]] || ! version_at_least "${node#v}" "${want_node:-0}" || ! command -v npm >/dev/null 2>&1; then
    problems+=("Node.js ${want_node:-20}+ with npm is required (node: ${node:-not found}; npm: $(command -v npm >/dev/null 2>&1 && echo found || echo not found)). Debian 12's own nodejs package is 18, too old: install Node.js 20 or 22 from NodeSource (https://github.com/nodesource/distributions) or with nvm (https://github.com/nvm-sh/nvm)")
  fi
  # start installs Debian's Java 17 when it runs as root; anyone else must bring one.
  if ! java_ok && [[ "$(id -u)" != 0 ]]; then
    problems+=("Java 17+ is required for Kafka (java: $(java_found)): apt-get install openjdk-17-jre-headless as root, or point JAVA_HOME at a 17+ runtime")
  fi
  [[ ${#problems[@]} -eq 0 ]] && return 0
  printf 'error: %s\n' "${problems[@]}" >&2
  fail "nothing was installed or started"
}

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
  [[ -x "$VENV_BIN/python" ]] || { step "creating the virtualenv in ${VENV#"$REPO_DIR"/}"; python3 -m venv "$VENV"; }
  hash="$(cat requirements/*.lock pyproject.toml | sha256sum | cut -d' ' -f1)-$reqs"
  if ! stamp_ok "$VENV/.installed" "$hash"; then
    step "installing Python packages (requirements/$reqs.lock: every version pinned, every file hashed)"
    progress "pip install" pip_progress "$VENV_BIN/pip" install --disable-pip-version-check --progress-bar off \
      --require-hashes -r "requirements/$reqs.lock"
    step "installing the project's own packages (pyproject.toml; editable: they run from backend/ and bridge/)"
    "$VENV_BIN/pip" install --disable-pip-version-check --quiet --no-deps -e .
    echo "$hash" >"$VENV/.installed"
  fi
}

KAFKA_RUNNER="$REPO_DIR/deploy/kafka/broker.py"

java_ok() { python3 "$KAFKA_RUNNER" java >/dev/null 2>&1; }  # a Java 17+ runtime (PATH or JAVA_HOME)

# 0 for a folder that does not exist yet (a first run has no ~/.m2), and no failure when Maven
# moves a file while find walks the tree.
count_jars() { { find "$1" -name '*.jar' 2>/dev/null || true; } | wc -l; }

ensure_kafka() {  # Apache Kafka's jars from Maven Central (deploy/kafka/pom.xml), once per pom
  ensure_apt openjdk-17-jre-headless maven
  [[ -f "$REPO_DIR/deploy/kafka/lib/.installed" ]] || step "installing Apache Kafka $(python3 "$KAFKA_RUNNER" version) from Maven Central"
  # broker.py runs Maven quietly (and is a no-op when this pom's jars are there): while it runs, a line
  # every 5 s counts the jars Maven has put into its local repository so far.
  local m2="$HOME/.m2/repository" out pid code=0 start=$SECONDS last=$SECONDS before
  before="$(count_jars "$m2")"
  out="$(mktemp)"
  python3 "$KAFKA_RUNNER" install >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - last >= 5)); then
      printf '    [%3ds] %d jars downloaded into ~/.m2\n' $((SECONDS - start)) $(($(count_jars "$m2") - before)) >&2
      last=$SECONDS
    fi
    sleep 0.5  # the poll interval of the progress line
  done
  wait "$pid" || code=$?
  if [[ $code -ne 0 ]]; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    fail "the Kafka install (mvn dependency:copy-dependencies) failed"
  fi
  [[ ! -s "$out" ]] || printf '    [%3ds] %d jars in deploy/kafka/lib\n' $((SECONDS - start)) "$(count_jars "$REPO_DIR/deploy/kafka/lib")" >&2
  rm -f "$out"
}

ensure_npm() {  # ensure_npm DIR: npm ci from the lock file when it changed
  local dir="$1" hash
  command -v npm >/dev/null || fail "npm is required (./deploy.sh start checks the Node.js version and says how to get one)"
  hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if ! stamp_ok "$dir/node_modules/.installed" "$hash"; then
    step "installing npm packages in ${dir#"$REPO_DIR"/}"
    progress "npm ci in ${dir#"$REPO_DIR"/}" npm_progress npm ci --prefix "$dir" --no-audit --no-fund --loglevel=http
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

running() {  # this run directory's supervisord answers on its socket
  # A pid file outlives a reboot, and its pid may by then be another process's: it counts only if
  # that process is supervisord with our configuration and it is the one our socket answers for.
  local pid
  pid="$(cat "$RUN_DIR/supervisord.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *supervisord*"$SUPERVISOR_CONF"* ]] || return 1
  [[ "$(ctl pid 2>/dev/null)" == "$pid" ]]
}

forget_stale_pid() {  # called when not running: a pid file left by a crash or a reboot says nothing
  [[ -f "$RUN_DIR/supervisord.pid" ]] || return 0
  step "ignoring a stale ${RUN_DIR#"$REPO_DIR"/}/supervisord.pid (pid $(cat "$RUN_DIR/supervisord.pid") is not this stack's supervisord)"
  rm -f "$RUN_DIR/supervisord.pid"
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

# Scaled services: supervisord declares NAME-0 ... NAME-<numprocs-1>; RUN_DIR/scale/NAME says how many
# of them run (1 when absent), for `start` as much as for `scale`.
scalable() { [[ " ${SCALABLE[*]} " == *" $1 "* ]]; }

scale_of() {
  local count
  count="$(cat "$RUN_DIR/scale/$1" 2>/dev/null || true)"
  if [[ "$count" =~ ^[1-9][0-9]*$ ]]; then echo "$count"; else echo 1; fi
}

declared_processes() {  # numprocs of a scalable service in supervisord.conf
  awk -v section="[program:$1]" '$0 == section { inside = 1; next } /^\[/ { inside = 0 }
    inside && /^numprocs=/ { sub(/^numprocs=/, ""); print; exit }' "$SUPERVISOR_CONF"
}

processes_of() {  # processes_of NAME [COUNT]: supervisord's names of a service's processes (COUNT: of a scalable one)
  local count i
  if scalable "$1"; then
    count="${2:-$(scale_of "$1")}"
    for ((i = 0; i < count; i++)); do echo "app:$1-$i"; done
  else
    echo "$(group_of "$1"):$1"
  fi
}

checks_of() {  # the health checks of services: NAME, or NAME:COUNT for a scalable one
  local name
  for name in "$@"; do
    if scalable "$name"; then echo "$name:$(scale_of "$name")"; else echo "$name"; fi
  done
}

process_states() { ctl status 2>/dev/null | awk '{ print $1, $2 }' || true; }  # "group:process STATE" lines

wait_healthy() {  # wait_healthy CHECK...: until every health check passes, or HEALTH_TIMEOUT ends
  local name file
  if ! health --wait "$HEALTH_TIMEOUT" "$@"; then
    for name in "$@"; do
      health "$name" >/dev/null 2>&1 && continue
      while IFS= read -r file; do tail -n 20 "$file" || true; done < <(log_files "${name%%:*}")
    done
    fail "not healthy within ${HEALTH_TIMEOUT}s (./deploy.sh logs NAME)"
  fi
}

local_start() {
  if running; then
    echo "already running (./deploy.sh status shows it; ./deploy.sh restart restarts it)"
    return 0
  fi
  forget_stale_pid
  check_tools
  check_ports
  install_all local
  # Logs, the database and Kafka's log hold personal data: this user's alone (also those of an older
  # start, made before this umask; their folders closed is enough).
  umask 077
  mkdir -p "$RUN_DIR/logs" "$REPO_DIR/data" "$KAFKA_DATA_DIR"
  chmod go-rwx "$RUN_DIR" "$RUN_DIR/logs" "$REPO_DIR/data" "$KAFKA_DATA_DIR" "$RUN_DIR"/logs/*.log 2>/dev/null || true
  write_service_env
  step "starting supervisord"
  quiet "supervisord" "$VENV_BIN/supervisord" -c "$SUPERVISOR_CONF"
  step "starting kafka (log in ${KAFKA_DATA_DIR#"$REPO_DIR"/}), redis, smtp"
  ctl start "infra:*" >/dev/null
  wait_healthy kafka-broker redis smtp
  step "applying migrations"
  quiet "migrate" "$VENV_BIN/python" manage.py migrate --noinput
  quiet "migrate (the mock CRM's database)" "$VENV_BIN/python" manage.py migrate --noinput --settings config.settings.crm_server
  step "creating Kafka topic $KAFKA_TOPIC ($KAFKA_NUM_PARTITIONS partitions) if missing"
  quiet "topic creation" "$VENV_BIN/python" manage.py kafka_topics
  wait_healthy kafka
  local name processes=() checks=() described=()
  for name in "${APPS[@]}"; do
    mapfile -t -O "${#processes[@]}" processes < <(processes_of "$name")
    if scalable "$name" && [[ "$(scale_of "$name")" -gt 1 ]]; then described+=("$name ($(scale_of "$name") processes)"); else described+=("$name"); fi
  done
  step "starting ${described[*]}"
  quiet "supervisorctl start" ctl start "${processes[@]}"
  mapfile -t checks < <(checks_of "${APPS[@]}")
  wait_healthy "${checks[@]}"
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

process_column() {  # process_column NAME: supervisord's state of a service; of a scaled one, with its count
  local processes=() process state first="" same=1 up=0
  mapfile -t processes < <(processes_of "$1")
  for process in "${processes[@]}"; do
    state="${STATES[$process]:-UNKNOWN}"
    [[ -n "$first" ]] || first="$state"
    [[ "$state" == "$first" ]] || same=0
    [[ "$state" != RUNNING ]] || up=$((up + 1))
  done
  if [[ ${#processes[@]} -eq 1 ]]; then
    echo "$first"
  elif [[ $same == 1 ]]; then
    echo "$first(${#processes[@]})"
  else
    echo "RUNNING($up/${#processes[@]})"
  fi
}

local_status() {
  if ! running; then
    echo "not running"
    return 3
  fi
  local name process state line result checks=() code=0
  declare -gA STATES=()
  declare -A results=()
  while read -r process state; do STATES["$process"]="$state"; done < <(process_states)
  mapfile -t checks < <(checks_of "${INFRA[@]}" "${APPS[@]}")
  while IFS= read -r line; do results["${line%% *}"]="${line#* }"; done < <(health "${checks[@]}" 2>&1 || true)
  printf '%-15s %-10s %s\n' SERVICE PROCESS HEALTH
  for name in "${INFRA[@]}" "${APPS[@]}"; do
    state="$(process_column "$name")"
    result="${results[$name]:-down (no answer from deploy/health.py)}"
    # A stopped process's heartbeat can outlive it for a few seconds: both must say so.
    [[ "$result" == ok* && ( "$state" == RUNNING || "$state" =~ ^RUNNING\([0-9]+\)$ ) ]] || code=1
    printf '%-15s %-10s %s\n' "$name" "$state" "$result"
  done
  echo
  health --lag || code=1
  return $code
}

group_of() { [[ " ${INFRA[*]} " == *" $1 "* ]] && echo infra || echo app; }

known_service() {
  [[ " ${INFRA[*]} ${APPS[*]} " == *" $1 "* ]] || fail "unknown service '$1' (one of: ${INFRA[*]} ${APPS[*]})"
}

log_files() {  # log_files [NAME]: the log files of a service (each of its processes'), an instance's (mailer-1), or all
  local file base
  for file in "$RUN_DIR"/logs/*.log; do
    [[ -e "$file" ]] || continue
    base="$(basename "$file" .log)"
    if [[ -z "${1:-}" || "$base" == "$1" ]] || { [[ "$base" =~ ^(.+)-[0-9]+$ ]] && [[ "${BASH_REMATCH[1]}" == "$1" ]] && scalable "$1"; }; then
      echo "$file"
    fi
  done
}

logs_options() {  # logs_options ARGS...: sets LOG_SERVICE, LOG_FOLLOW (1 or 0) and LOG_FILTER
  LOG_SERVICE="" LOG_FOLLOW="" LOG_FILTER=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -f | --follow) LOG_FOLLOW=1 ;;
      --no-follow) LOG_FOLLOW=0 ;;
      --correlation | --grep)
        [[ -n "${2:-}" ]] || fail "usage: ./deploy.sh logs [SERVICE] $1 TEXT"
        LOG_FILTER="$2"
        shift ;;
      --correlation=* | --grep=*)
        LOG_FILTER="${1#*=}"
        [[ -n "$LOG_FILTER" ]] || fail "usage: ./deploy.sh logs [SERVICE] ${1%%=*} TEXT" ;;
      -*) fail "unknown option '$1' of logs (./deploy.sh help)" ;;
      *)
        [[ -z "$LOG_SERVICE" ]] || fail "usage: ./deploy.sh logs [SERVICE] [--follow] [--correlation ID | --grep TEXT]"
        LOG_SERVICE="$1" ;;
    esac
    shift
  done
  # On a terminal the logs are followed, as ever; a search prints what it finds and ends (--follow: and goes on).
  if [[ -z "$LOG_FOLLOW" ]]; then
    if [[ -t 1 && -z "$LOG_FILTER" ]]; then LOG_FOLLOW=1; else LOG_FOLLOW=0; fi
  fi
}

# The lines of the files that contain LOG_FILTER, each after its process's name, in the order of the
# time stamp each carries (ISO 8601 as in JSON lines and Python's, or an access log's [10/Oct/2026:…]);
# a line without one sorts with the line before it.
# shellcheck disable=SC2016  # an awk program: its $0 is awk's
LOG_MATCHES_AWK='
function stamp(line,    s, month) {
  if (match(line, /[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]([.,][0-9]+)?/)) {
    s = substr(line, RSTART, RLENGTH); sub(/T/, " ", s); sub(/,/, ".", s); return s
  }
  if (match(line, /[0-9][0-9]\/[A-Z][a-z][a-z]\/[0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/)) {
    s = substr(line, RSTART, RLENGTH)
    month = (index("JanFebMarAprMayJunJulAugSepOctNovDec", substr(s, 4, 3)) + 2) / 3
    return sprintf("%s-%02d-%s %s", substr(s, 8, 4), month, substr(s, 1, 2), substr(s, 13, 8))
  }
  return ""
}
FNR == 1 { key = ""; name = FILENAME; sub(/^.*\//, "", name); sub(/\.log$/, "", name) }
{ s = stamp($0); if (s != "") key = s }
index($0, ENVIRON["LOG_FILTER"]) { printf "%s\t%s | %s\n", key, name, $0 }
'

log_matches() {  # log_matches FILE...: exit 1 when no line matches
  local found
  found="$(LOG_FILTER="$LOG_FILTER" awk "$LOG_MATCHES_AWK" "$@" | LC_ALL=C sort -s -t $'\t' -k1,1 | cut -f2-)"
  if [[ -z "$found" ]]; then
    echo "no log line contains '$LOG_FILTER'" >&2
    return 1
  fi
  printf '%s\n' "$found"
}

log_stream() {  # log_stream NAME: tail -F's output, the lines that contain LOG_FILTER after their process's name
  local line name="$1"
  while IFS= read -r line; do
    if [[ "$line" =~ ^==\>\ (.*)\ \<==$ ]]; then
      name="$(basename "${BASH_REMATCH[1]}" .log)"
    elif [[ "$line" == *"$LOG_FILTER"* ]]; then
      printf '%s | %s\n' "$name" "$line"
    fi
  done
}

local_logs() {
  logs_options "$@"
  local files=() code=0
  if [[ -n "$LOG_SERVICE" && ! "$LOG_SERVICE" =~ ^(.+)-[0-9]+$ ]]; then known_service "$LOG_SERVICE"; fi
  mapfile -t files < <(log_files "$LOG_SERVICE")
  [[ ${#files[@]} -gt 0 ]] || fail "no logs${LOG_SERVICE:+ of $LOG_SERVICE} yet in ${RUN_DIR}/logs (./deploy.sh start first)"
  if [[ -z "$LOG_FILTER" ]]; then
    if [[ $LOG_FOLLOW == 1 ]]; then tail -n 50 -F "${files[@]}"; else tail -n 200 "${files[@]}"; fi
    return
  fi
  log_matches "${files[@]}" || code=$?
  [[ $LOG_FOLLOW == 1 ]] || return $code
  tail -n 0 -F "${files[@]}" 2>/dev/null | log_stream "$(basename "${files[0]}" .log)"
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
  local processes=()
  mapfile -t processes < <(processes_of "$1")
  step "restarting $1${processes[1]:+ (${#processes[@]} processes)}"
  quiet "supervisorctl restart" ctl restart "${processes[@]}"
  wait_healthy "$(checks_of "$1")"
  step "$1 healthy"
}

local_stop_service() {
  service_arg stop-service "${1:-}"
  local processes=()
  if scalable "$1"; then
    mapfile -t processes < <(processes_of "$1" "$(declared_processes "$1")")
  else
    processes=("$(group_of "$1"):$1")
  fi
  step "stopping $1"
  ctl stop "${processes[@]}" >/dev/null
}

scale_args() {  # scale_args NAME COUNT: a scalable service and a count of 1 or more
  [[ -n "${1:-}" && "${2:-}" =~ ^[0-9]+$ ]] || fail "usage: ./deploy.sh scale SERVICE N (SERVICE: ${SCALABLE[*]})"
  scalable "$1" || fail "'$1' cannot be scaled (these can: ${SCALABLE[*]})"
  [[ "$2" -ge 1 ]] || fail "scale to 1 or more (./deploy.sh stop-service $1 stops it)"
}

local_scale() {  # local_scale NAME COUNT: start or stop processes until COUNT of NAME run; remembered for start
  scale_args "$@"
  local name="$1" count="$2" most process state i start=() stop=()
  most="$(declared_processes "$name")"
  [[ "$count" -le "$most" ]] || fail "$name runs at most $most processes here (numprocs of [program:$name] in deploy/supervisord.conf)"
  mkdir -p "$RUN_DIR/scale"
  echo "$count" >"$RUN_DIR/scale/$name"
  if ! running; then
    step "$name: $count process(es) from the next start"
    return 0
  fi
  declare -A states=()
  while read -r process state; do states["$process"]="$state"; done < <(process_states)
  # New processes start with the settings the running ones were started with (service.env, as
  # written by start or restart-service), so that every process of a service runs alike.
  for ((i = 0; i < most; i++)); do
    state="${states[app:$name-$i]:-STOPPED}"
    if ((i < count)); then
      [[ "$state" == RUNNING || "$state" == STARTING ]] || start+=("app:$name-$i")
    elif [[ "$state" == RUNNING || "$state" == STARTING || "$state" == BACKOFF ]]; then
      stop+=("app:$name-$i")
    fi
  done
  if [[ ${#stop[@]} -gt 0 ]]; then
    step "stopping ${#stop[@]} $name process(es)"
    quiet "supervisorctl stop" ctl stop "${stop[@]}"
  fi
  if [[ ${#start[@]} -gt 0 ]]; then
    step "starting ${#start[@]} $name process(es)"
    quiet "supervisorctl start" ctl start "${start[@]}"
  fi
  wait_healthy "$name:$count"
  step "$name: $count process(es) running"
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
    cat <<EOT

  Frontend          $PUBLIC_URL  (published on $PUBLIC_BIND_ADDRESS:$FRONTEND_PORT)
  API, through it   $PUBLIC_URL/api/submissions/  (docs: /api/docs/, admin: /admin/)
  Flower            http://127.0.0.1:$FLOWER_PORT  (user and password: FLOWER_BASIC_AUTH in ${ENV_FILE:-.env})
  SMTP catcher UI   http://127.0.0.1:$MAILDEV_WEB_PORT  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS)
  Kafka UI          http://127.0.0.1:$KAFKA_UI_PORT  (read-only; KAFKA_UI_USER / KAFKA_UI_PASSWORD)
  Grafana           http://127.0.0.1:$GRAFANA_PORT  (dashboard "Intake pipeline"; GRAFANA_ADMIN_USER / GRAFANA_ADMIN_PASSWORD)
  Prometheus        http://127.0.0.1:$PROMETHEUS_PORT
  Event console     ${PUBLIC_URL:-http://localhost:$FRONTEND_PORT}/admin/console/  (staff)
  Kafka, Redis, PostgreSQL, the CRM: inside the Compose network only (./deploy.sh kafka TOOL ...)
EOT
    return
  fi
  cat <<EOT

  Frontend          http://localhost:$FRONTEND_PORT
  API               http://localhost:$API_PORT/api/submissions/
  API docs          http://localhost:$API_PORT/api/docs/  (schema: /api/schema/)
  Live progress     $STREAM_PUBLIC_URL/api/submissions/<id>/events  (server-sent events)
  Admin             http://localhost:$API_PORT/admin/  (create a user: .venv/bin/python manage.py createsuperuser)
  Event console     http://localhost:$API_PORT/admin/console/  (staff: Kafka topics, lag, records, dead letters)
  Metrics           http://localhost:$API_PORT/metrics; relay, bridge, workers, reconciler on 127.0.0.1:$METRICS_PORT_RELAY-$METRICS_PORT_RECONCILER
  Flower            http://localhost:$FLOWER_PORT  (user and password: FLOWER_BASIC_AUTH in ${ENV_FILE:-.env})
  SMTP catcher UI   http://localhost:$MAILDEV_WEB_PORT  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS; SMTP on port $SMTP_PORT)
  Mock CRM          http://localhost:$CRM_PORT/crm/api/leads/  (Authorization: Bearer \$CRM_API_TOKEN)
  Kafka             $KAFKA_BOOTSTRAP_SERVERS  (topic $KAFKA_TOPIC)
EOT
}

# --- tests ---------------------------------------------------------------------------------------

shell_scripts() {  # the repository's shell scripts: *.sh and files whose first line names sh or bash
  local file first
  while IFS= read -r file; do
    [[ -f "$file" ]] || continue
    IFS= read -r first <"$file" || true
    if [[ "$file" == *.sh || "$first" =~ ^\#!.*[/\ ](ba)?sh$ ]]; then echo "$file"; fi
  done < <(git ls-files --cached --others --exclude-standard)
}

run_tests() {
  check_tools
  ensure_apt redis-server chromium shellcheck
  ensure_kafka
  ensure_python test
  ensure_npm "$REPO_DIR/deploy/smtp"
  build_frontend
  local code=0 scripts=()
  step "lint (ruff check, ruff format --check, import rules, shellcheck)"
  { "$VENV_BIN/ruff" check --quiet . && "$VENV_BIN/ruff" format --check --quiet .; } || code=1
  # .importlinter: contracts at the bottom, the stages in the middle, orchestration on top.
  "$VENV_BIN/lint-imports" --no-cache .importlinter >/dev/null || {
    "$VENV_BIN/lint-imports" --no-cache .importlinter | sed -n '/Broken contracts/,$p'
    code=1
  }
  mapfile -t scripts < <(shell_scripts)
  shellcheck "${scripts[@]}" || code=1
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
  check_tools
  ensure_apt redis-server
  ensure_kafka
  ensure_python test
  ensure_npm "$REPO_DIR/deploy/smtp"
  step "fault suite: $count submissions at 30/s per case (its own servers on free ports)"
  "$VENV_BIN/python" -m tests.faults --count "$count" "$@" || return $?  # it prints its own verdict
}

start_bench_postgres() {  # start_bench_postgres PORT: a throwaway PostgreSQL cluster for the benchmark
  local port="$1" dir bin as=()
  ensure_apt postgresql
  bin="$({ find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null || true; } | sort -V | tail -n 1)"
  [[ -x "$bin/initdb" ]] || fail "PostgreSQL's initdb not found under /usr/lib/postgresql"
  # In the system's temporary folder: the server runs as the postgres user when we are root (initdb
  # refuses root), and that user cannot reach a clone under a home such as /root (mode 700).
  dir="$(mktemp -d "${TMPDIR:-/tmp}/intake-bench-pg.XXXXXX")"
  step "a throwaway PostgreSQL for the benchmark in $dir"
  if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir"; as=(runuser -u postgres --); fi
  quiet "initdb" "${as[@]}" "$bin/initdb" -D "$dir" -A trust -U postgres
  # synchronous_commit=off: the durability of SQLite's synchronous=NORMAL (a power loss can lose the
  # last commits, a crash of a process cannot), so the two are compared on equal terms.
  quiet "pg_ctl start" "${as[@]}" "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c synchronous_commit=off" start
  quiet "createdb" "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres intake
  BENCH_PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop)
  BENCH_PG_DIR="$dir"
  BENCH_EXTRA_PIDS="postgresql=$(head -n 1 "$dir/postmaster.pid")"  # its CPU and memory count too
  export BENCH_EXTRA_PIDS
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
  [[ $postgres == 0 ]] || start_bench_postgres "${BENCH_PG_PORT:-5532}"
  step "starting the stack for the benchmark (run directory ${RUN_DIR#"$REPO_DIR"/}, data ${data#"$REPO_DIR"/})"
  local_start
  local code=0
  step "benchmark${args[*]:+ (${args[*]})} on $([[ $postgres == 1 ]] && echo PostgreSQL || echo SQLite): load from a separate process on loopback"
  "$VENV_BIN/python" -m tests.benchmarks.bench --out "$out" "${args[@]}" || code=$?
  local_stop
  if [[ ${#BENCH_PG_STOP[@]} -gt 0 ]]; then
    quiet "pg_ctl stop" "${BENCH_PG_STOP[@]}"
    [[ -n "${BENCH_KEEP_DATA:-}" ]] || rm -rf "$BENCH_PG_DIR"
  fi
  [[ -n "${BENCH_KEEP_DATA:-}" ]] || rm -rf "$data"
  return $code
}

# --- Docker Compose ------------------------------------------------------------------------------

compose() { docker compose --env-file "${ENV_FILE:-.env}" "$@"; }

compose_logs() {  # as local_logs, from `docker compose logs` (its time stamps sort a search)
  logs_options "$@"
  local service=()
  [[ -z "$LOG_SERVICE" ]] || service=("$LOG_SERVICE")
  if [[ -z "$LOG_FILTER" ]]; then
    if [[ $LOG_FOLLOW == 1 ]]; then compose logs -f --tail 50 "${service[@]}"; else compose logs --tail 200 "${service[@]}"; fi
    return
  fi
  compose logs --no-color --timestamps "${service[@]}" | grep -F -- "$LOG_FILTER" | LC_ALL=C sort -s -k3,3 || true
  [[ $LOG_FOLLOW == 1 ]] || return 0
  compose logs -f --no-color --timestamps --tail 0 "${service[@]}" | grep --line-buffered -F -- "$LOG_FILTER"
}

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
    logs) compose_logs "$@" ;;
    scale)
      scale_args "$@"
      step "scaling $1 to $2 container(s)"
      compose up -d --no-deps --no-recreate --wait --scale "$1=$2" "$1" ;;
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
  status                each service's process state (RUNNING(2): two processes) and health check,
                        and the bridge's consumer lag per partition (exit 0 only if all healthy)
  logs [SERVICE] [--follow] [--correlation ID | --grep TEXT]
                        recent log lines of all services or one (mailer: each of its processes;
                        mailer-1: one of them); followed on a terminal or with --follow (-f),
                        not with --no-follow. --correlation ID: only the lines that contain ID (a
                        submission's correlation_id), from every service, in time order, each after
                        its process's name; --grep TEXT: the same for any text. Exit 1 if none.
  scale SERVICE N       run N processes of SERVICE (mailer, workflow-agent, bridge; at most 8 each),
                        starting or stopping only the difference, and wait until they answer; kept
                        for the next start (cleanup forgets it). Compose: docker compose up --scale
  restart-service NAME  restart one service (every process of a scaled one), wait until it is healthy
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
      (DEPLOY_MODE=local|compose forces one). Local mode needs Python 3.11+, Node.js 20.19+ (not
      Debian 12's nodejs 18: NodeSource or nvm) and Java 17+ (installed when run as root); start,
      build, test and chaos check them first.
Settings: .env (see .env.example), created readable by its owner only, with its secrets (Django
      key, Flower, SMTP catcher, CRM token) generated. deploy.sh and the code read it one way
      (backend/config/envfile.py: `export NAME=value` and quotes as django-environ reads them; the
      environment wins; an empty or missing setting takes its default, and API_PUBLIC_URL,
      STREAM_PUBLIC_URL, CORS_ORIGINS, CELERY_BROKER_URL and CRM_API_BASE follow the ports).
EOF
}

main() {
  local cmd="${1:-help}"
  COMMAND="$cmd"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    help | -h | --help) usage; return 0 ;;
    start | stop | restart | status | logs | scale | restart-service | stop-service | build | cleanup | test | kafka | chaos | bench) ;;
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
    scale) local_scale "$@" ;;
    restart-service) local_restart_service "$@" ;;
    stop-service) local_stop_service "$@" ;;
    build) check_tools; install_all local; step "built" ;;
    cleanup) local_cleanup ;;
    kafka) local_kafka "$@" ;;
  esac
}

main "$@"

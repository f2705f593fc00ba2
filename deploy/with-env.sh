#!/usr/bin/env bash
# Runs a service with the settings ./deploy.sh resolved most recently (RUN_DIR/service.env): a
# restart-service after an edit of .env applies the edit, though supervisord keeps the environment
# it was started with. Then it becomes the service (exec), so supervisord's signals reach it.
set -euo pipefail
if [[ -f "$RUN_DIR/service.env" ]]; then
  # shellcheck disable=SC1091
  source "$RUN_DIR/service.env"
fi
# A scaled bridge (./deploy.sh scale bridge N: processes bridge-0, bridge-1, ... in supervisord's
# SUPERVISOR_PROCESS_NAME) is one static member of the consumer group per process, each with its own
# id: bridge-1 onwards add their number to the first one's (KAFKA_GROUP_INSTANCE_ID, else the bridge's
# own default, bridge-<hostname>); two members with one id would fence each other.
if [[ "${SUPERVISOR_PROCESS_NAME:-}" =~ ^bridge-([1-9][0-9]*)$ ]]; then
  export KAFKA_GROUP_INSTANCE_ID="${KAFKA_GROUP_INSTANCE_ID:-bridge-$HOSTNAME}-${BASH_REMATCH[1]}"
fi
# ./deploy.sh dev (DEV_RELOAD=1): the frontend is Vite's dev server (hot module replacement), and
# every Python service runs under watchfiles, which restarts it when a .py file it could import
# changes. Its whole process group is stopped with it (stopasgroup in supervisord.conf).
if [[ "${DEV_RELOAD:-0}" == 1 ]]; then
  if [[ "${SUPERVISOR_PROCESS_NAME:-}" == frontend ]]; then
    exec npm --prefix "$REPO_DIR/frontend" run dev -- --host "$BIND_HOST" --port "$FRONTEND_PORT" --strictPort
  fi
  exec "$VENV_BIN/watchfiles" --filter python --sigint-timeout 10 "$(printf '%q ' "$@")" "$REPO_DIR/backend" "$REPO_DIR/bridge"
fi
exec "$@"

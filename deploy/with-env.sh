#!/usr/bin/env bash
# Runs a service with the settings deploy.sh resolved most recently (RUN_DIR/service.env): a
# restart-service after an edit of .env applies the edit, though supervisord keeps the environment
# it was started with. Then it becomes the service (exec), so supervisord's signals reach it.
set -euo pipefail
if [[ -f "$RUN_DIR/service.env" ]]; then
  # shellcheck disable=SC1091
  source "$RUN_DIR/service.env"
fi
exec "$@"

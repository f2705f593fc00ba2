"""The CRM client used by the workflow, and the mock CRM's own fault injection."""

from config.env import env

CRM_API_BASE = env.str("CRM_API_BASE").rstrip("/")
CRM_API_TIMEOUT = env.float("CRM_API_TIMEOUT")
# The bearer token the workflow sends to the CRM and the mock CRM requires (deploy.sh generates one
# into .env). Empty: the mock CRM refuses every API request.
CRM_API_TOKEN = env.str("CRM_API_TOKEN")
# Read by the mock CRM server only: every request waits this long and fails at this rate.
CRM_LATENCY_MS = env.int("CRM_LATENCY_MS")
CRM_FAIL_RATE = env.float("CRM_FAIL_RATE")
# How those failures answer (503: worth retrying; 4xx: refused for good) and to which methods.
CRM_FAIL_STATUS = env.int("CRM_FAIL_STATUS")
CRM_FAIL_METHODS = env.list("CRM_FAIL_METHODS")
# Owners leads are assigned to, chosen by the submitter's email domain (see workflow/rules.py).
LEAD_OWNERS = env.list("LEAD_OWNERS")

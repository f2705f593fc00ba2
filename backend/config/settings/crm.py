"""The CRM client used by the workflow, and the mock CRM's own fault injection."""

from config.env import env

CRM_API_BASE = env.str("CRM_API_BASE", default="http://127.0.0.1:8001/crm/api").rstrip("/")
CRM_API_TIMEOUT = env.float("CRM_API_TIMEOUT", default=5.0)
# The bearer token the workflow sends to the CRM and the mock CRM requires (deploy.sh generates one
# into .env). Empty: the mock CRM refuses every API request.
CRM_API_TOKEN = env.str("CRM_API_TOKEN", default="")
# Read by the mock CRM server only: every request waits this long and fails at this rate.
CRM_LATENCY_MS = env.int("CRM_LATENCY_MS", default=0)
CRM_FAIL_RATE = env.float("CRM_FAIL_RATE", default=0.0)
# How those failures answer (503: worth retrying; 4xx: refused for good) and to which methods.
CRM_FAIL_STATUS = env.int("CRM_FAIL_STATUS", default=503)
CRM_FAIL_METHODS = env.list("CRM_FAIL_METHODS", default=["GET", "POST", "DELETE"])
# Owners leads are assigned to, chosen by the submitter's email domain (see workflow/rules.py).
LEAD_OWNERS = env.list("LEAD_OWNERS", default=["alice@sales.example", "bob@sales.example", "carol@sales.example"])

"""REST API, OpenAPI, CORS, throttling, and the live stream's limit."""

from config.env import env
from config.settings.security import TRUSTED_PROXIES

API_PORT = env.int("API_PORT", default=5000)
# Live viewers one stream process (config.settings.stream) holds at most; more get a 503.
STREAM_MAX_VIEWERS = env.int("STREAM_MAX_VIEWERS", default=5000)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_THROTTLE_RATES": {"submissions": env.str("SUBMISSION_RATE_LIMIT", default="30/minute")},
    # The client address of every rate limit: X-Forwarded-For is believed only this many proxies deep.
    "NUM_PROXIES": TRUSTED_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Contact intake API",
    "DESCRIPTION": "Accepts contact-form submissions and shows each one's progress through the pipeline.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CORS_ORIGINS = env.list("CORS_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"])
if CORS_ORIGINS == ["*"]:
    CORS_ALLOW_ALL_ORIGINS = True
else:
    CORS_ALLOWED_ORIGINS = CORS_ORIGINS

# The demo controls let a visitor make a workflow step fail on purpose: off unless switched on (the
# frontend hides them then too, from its /config.json).
DEMO_CONTROLS = env.bool("DEMO_CONTROLS", default=False)

# The synchronous baseline endpoint (intake/baseline.py), for `./deploy.sh bench` only.
BENCH_BASELINE = env.bool("BENCH_BASELINE", default=False)
BENCH_BASELINE_CRM_LATENCY_MS = env.int("BENCH_BASELINE_CRM_LATENCY_MS", default=100)

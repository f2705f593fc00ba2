"""REST API, OpenAPI, CORS, throttling, and the live stream's limit."""

from config.env import env
from config.settings.security import TRUSTED_PROXIES

API_PORT = env.int("API_PORT")
# Live viewers one stream process (config.settings.stream) holds at most; more get a 503.
STREAM_MAX_VIEWERS = env.int("STREAM_MAX_VIEWERS")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_THROTTLE_RATES": {"submissions": env.str("SUBMISSION_RATE_LIMIT")},
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
    # A submission's access token: intake.access checks it in the views, so no authentication class
    # declares it; the detail names it as its security (the stream also takes it as a query parameter).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "submissionToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The `access_token` of the submission's 201 answer; it opens that submission only.",
            },
            "submissionTokenQuery": {"type": "apiKey", "in": "query", "name": "access_token"},
        }
    },
    # The live stream is another process (uvicorn, config.urls_stream) on STREAM_PORT, so no view of this
    # one can describe it: it is appended as a path whose operation's `servers` names where it is served.
    "APPEND_PATHS": {
        "/api/submissions/{submission_id}/events": {
            "get": {
                "operationId": "submissions_events",
                "servers": [
                    {
                        "url": env.str("STREAM_PUBLIC_URL"),
                        "description": "The live-progress stream (STREAM_PUBLIC_URL)",
                    }
                ],
                "summary": "One submission's progress, live (server-sent events)",
                "description": "The state first, then each changed state, as `event: state` messages whose "
                "`data` is the JSON of `SubmissionOutput`, with a `: keep-alive` comment after 15 s of "
                "silence. It ends at a final status or after 5 minutes (EventSource reconnects). A browser's "
                "EventSource cannot send headers: pass the token as `?access_token=`.",
                "tags": ["submissions"],
                "parameters": [
                    {
                        "in": "path",
                        "name": "submission_id",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "security": [{"submissionTokenQuery": []}, {"submissionToken": []}, {"cookieAuth": []}],
                "responses": {
                    "200": {
                        "description": "A stream of server-sent events.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **{
                        str(code): {
                            "description": description,
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                            **(
                                {"headers": {"Retry-After": {"schema": {"type": "integer"}}}}
                                if code in (429, 503)
                                else {}
                            ),
                        }
                        for code, description in (
                            (401, "No access token (and not logged in as staff)."),
                            (403, "An access token that does not open it, or expired."),
                            (404, "No submission has this id."),
                            (429, "STREAM_MAX_PER_CLIENT streams are open from this client address."),
                            (503, "This process follows STREAM_MAX_VIEWERS viewers: poll the detail instead."),
                        )
                    },
                },
            },
        }
    },
}

CORS_ORIGINS = env.list("CORS_ORIGINS")
if CORS_ORIGINS == ["*"]:
    CORS_ALLOW_ALL_ORIGINS = True
else:
    CORS_ALLOWED_ORIGINS = CORS_ORIGINS

# The demo controls let a visitor make a workflow step fail on purpose: off unless switched on (the
# frontend hides them then too, from its /config.json).
DEMO_CONTROLS = env.bool("DEMO_CONTROLS")

# The synchronous baseline endpoint (pipeline/baseline.py), for `./deploy.sh bench` only.
BENCH_BASELINE = env.bool("BENCH_BASELINE")
BENCH_BASELINE_CRM_LATENCY_MS = env.int("BENCH_BASELINE_CRM_LATENCY_MS")

"""Safe by default: who may see what, how fast, and the production switch.

PRODUCTION=true is the one switch for a real deployment: start-up refuses DEBUG, a weak or default
secret key, an open CORS policy and the benchmark's endpoint, and turns on HTTPS-only cookies, HSTS
and the redirect to HTTPS (each can still be set on its own below). `manage.py check --deploy` is then
clean (a test asserts it).
"""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from config.env import env

PRODUCTION = env.bool("PRODUCTION")

# Proxies in front of the API and the stream: the operator's own (TRUSTED_PROXIES: a TLS terminator,
# a load balancer; 0 when nothing stands in front), plus the bundled nginx in Compose
# (BUNDLED_PROXY_HOPS=1, set there). The client's address is read from X-Forwarded-For only that far
# (infra/client.py); each proxy appends its peer, so what a client wrote itself is never reached.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES") + env.int("BUNDLED_PROXY_HOPS")

# --- HTTPS (all on in production; a local stack serves plain HTTP on loopback) ---
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT")
# Health checks and Prometheus's scrapes come over plain HTTP from inside the host or container: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^crm/health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE")
# Behind a trusted proxy that terminates TLS, its X-Forwarded-Proto says whether the visitor used HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES > 0 else None
# Origins (scheme://host[:port]) whose forms may POST with a CSRF token, e.g. the admin's public URL.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- personal data ---
# The submit response carries an access token; the detail and the live stream need it for this long.
SUBMISSION_ACCESS_HOURS = env.int("SUBMISSION_ACCESS_HOURS")
SUBMISSION_ACCESS_TTL = timedelta(hours=SUBMISSION_ACCESS_HOURS)

# --- abuse ---
# Confirmations one address receives at most in the window; more submissions are accepted (the lead
# is created) but their confirmation is not sent, so the form cannot be used to flood a mailbox.
CONFIRMATIONS_PER_RECIPIENT = env.int("CONFIRMATIONS_PER_RECIPIENT")
CONFIRMATION_WINDOW = timedelta(hours=env.int("CONFIRMATION_WINDOW_HOURS"))
# Live streams one client address holds open at once in one stream process; more get a 429.
STREAM_MAX_PER_CLIENT = env.int("STREAM_MAX_PER_CLIENT")

# --- admin login: django-axes locks an address, and a username, after repeated failures ---
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT")
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES"))
# An address that fails too often is locked out, whatever names it tries; a user name only together
# with the address that failed with it (by name alone, anyone could lock the real admin out).
AXES_LOCKOUT_PARAMETERS = ["ip_address", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "infra.client.client_address"
AXES_VERBOSE = False

# Secret keys that are known to everyone (.env.example's placeholder, Django's template).
KNOWN_SECRET_KEYS = {"change-me", "changeme", "secret", "build", "unit-tests-only", "integration-tests"}


def secret_key_weakness(key: str) -> str | None:
    """Why a secret key is unfit for production, or None (the rule of Django's security.W009)."""
    if key in KNOWN_SECRET_KEYS or key.startswith("django-insecure"):
        return "it is a published placeholder"
    if len(key) < 50 or len(set(key)) < 5:
        return "it is shorter than 50 characters or has fewer than 5 distinct ones"
    return None


def production_refusals(*, debug: bool, secret_key: str, cors_origins: list[str], bench_baseline: bool) -> list[str]:
    """What stops a production start, each with what to do."""
    refusals = []
    if debug:
        refusals.append("DJANGO_DEBUG=true: debug pages show settings and data; set DJANGO_DEBUG=false")
    weakness = secret_key_weakness(secret_key)
    if weakness:
        refusals.append(
            f"DJANGO_SECRET_KEY is weak ({weakness}); generate one: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if "*" in cors_origins:
        refusals.append("CORS_ORIGINS=*: any web page could call the API; list the frontend's origin")
    if bench_baseline:
        refusals.append("BENCH_BASELINE=true: the benchmark's synchronous endpoint; set it false")
    return refusals


def check_production(**kwargs) -> None:
    refusals = production_refusals(**kwargs)
    if refusals:
        raise ImproperlyConfigured("PRODUCTION=true refuses to start:\n  - " + "\n  - ".join(refusals))

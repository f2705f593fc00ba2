"""Django settings shared by every process; integrations live in their own modules below."""

from common.logs import logging_config
from config.env import REPO_DIR, env, env_required
from config.settings.observability import LOG_FORMAT, LOG_LEVEL

DEBUG = env.bool("DJANGO_DEBUG")
# Local mode generates a key into .env (deploy.sh); there is no built-in production key.
SECRET_KEY = env_required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "templated_mail",
    "health_check",
    "axes",
    "django_prometheus",
    "outbox",
    "intake",
    "mailer",
    "workflow",
    "pipeline",
    "console",
]

MIDDLEWARE = [
    # First and (all but) last, as django-prometheus asks: every request is counted and timed.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "infra.middleware.BodySizeLimitMiddleware",
    "common.logs.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it answers a locked-out admin login with 429.
    "axes.middleware.AxesMiddleware",
]

# The largest request body accepted (a submission is a few KiB); larger ones get a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config(url: str, default_sqlite) -> dict:
    """One database from its URL (empty: SQLite at `default_sqlite`), with the settings below."""
    config = env.db_url_config(url or f"sqlite:///{default_sqlite}")
    if config["NAME"] == str(default_sqlite):
        default_sqlite.parent.mkdir(exist_ok=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several processes (API, workers, relay, reconciler) write to one file. WAL lets readers run
        # beside the writer; synchronous=NORMAL syncs the WAL at checkpoints, not at every commit (a
        # power loss can drop the last commits, an application crash cannot); IMMEDIATE takes the
        # write lock at BEGIN, so two writers queue instead of deadlocking on a lock upgrade; and
        # infra.sqlite queues the writers of every process on one OS file lock instead of SQLite's
        # sleep-and-retry (see its docstring). The timeout is how long a statement outside a
        # transaction waits for the lock.
        config["ENGINE"] = "infra.sqlite"
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000; "
                # What is deleted is overwritten, not left in free pages (erasure, retention).
                "PRAGMA secure_delete=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    # Connections are kept between requests and tasks (each thread has its own), checked before reuse.
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE")
    config["CONN_HEALTH_CHECKS"] = True
    return config


# An empty DATABASE_URL means the embedded default, SQLite in data/.
DATABASES = {"default": database_config(env.str("DATABASE_URL"), REPO_DIR / "data" / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = REPO_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve admin, DRF and Swagger assets straight from the installed apps: no collectstatic needed.
WHITENOISE_USE_FINDERS = True

# JSON lines, each with the correlation id of the submission it is about (common/logs.py); LOG_FORMAT=plain: text.
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

from config.settings.api import *  # noqa: E402,F403
from config.settings.celery import *  # noqa: E402,F403
from config.settings.crm import *  # noqa: E402,F403
from config.settings.email import *  # noqa: E402,F403
from config.settings.kafka import *  # noqa: E402,F403
from config.settings.observability import *  # noqa: E402,F403
from config.settings.privacy import *  # noqa: E402,F403
from config.settings.security import *  # noqa: E402,F403

# A real deployment refuses to start on an unsafe setting (config/settings/security.py).
if PRODUCTION:  # noqa: F405
    check_production(debug=DEBUG, secret_key=SECRET_KEY, cors_origins=CORS_ORIGINS, bench_baseline=BENCH_BASELINE)  # noqa: F405

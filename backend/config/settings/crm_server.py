"""Settings for the mock CRM process: the same code base, its own apps, URLs and database.

The CRM stands for another company's system: it keeps its leads in a database of its own
(CRM_DATABASE_URL, by default SQLite in data/crm.sqlite3), so it never takes the pipeline's write lock,
and it runs none of the pipeline's apps (no app imports `crm`, and the pipeline's admin has no CRM page).
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import REPO_DIR, database_config, env

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",  # DRF imports its models; the CRM checks its own bearer token (crm/auth.py)
    "rest_framework",
    "crm",
]
# Its own requests only: no sessions, admin login or request metrics (those are the API's).
MIDDLEWARE = [
    "infra.middleware.BodySizeLimitMiddleware",
    "common.logs.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
ROOT_URLCONF = "crm.urls"
DATABASES = {"default": database_config(env.str("CRM_DATABASE_URL"), REPO_DIR / "data" / "crm.sqlite3")}
# A machine's API: JSON in and out, its bearer token checked by the views' permission (no sessions).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

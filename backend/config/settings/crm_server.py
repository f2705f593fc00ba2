"""Settings for the mock CRM process: the same project, serving only the CRM's URLs.

The CRM stands for another company's system: it keeps its leads in a database of its own
(CRM_DATABASE_URL, by default SQLite in data/crm.sqlite3), so it never takes the pipeline's write lock.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import REPO_DIR, database_config, env

ROOT_URLCONF = "crm.urls"
# It stands for another company's system: the pipeline's request metrics are the API's, not its own.
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("django_prometheus.")]  # noqa: F405
DATABASES = {"default": database_config(env.str("CRM_DATABASE_URL", default=""), REPO_DIR / "data" / "crm.sqlite3")}

"""The one reader of the environment: `.env` at the repository root, then the process environment.

Variables already set in the process environment win over `.env`, so `deploy.sh`, Compose and
tests can override any setting without editing the file.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent

env = environ.Env()
# ENV_FILE points elsewhere (tests point it at /dev/null so a developer's .env cannot leak in).
ENV_FILE = Path(env.str("ENV_FILE", default=str(REPO_DIR / ".env")))
if ENV_FILE.is_file():
    env.read_env(ENV_FILE)


def env_required(name: str) -> str:
    """Return a variable that has no safe default, or stop start-up saying which one is missing."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set (see .env.example).")
    return value

"""The one reader of the environment: `.env` at the repository root, then the process environment.

Variables already set in the process environment win over `.env`, so `./deploy.sh`, Compose and
tests can override any setting without editing the file. django-environ reads the file (as it does
for the bridge and the CLI), and every default comes from the one table, `common.defaults`: the
settings modules state none of their own.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from common.defaults import Settings

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent

env = environ.Env()
# ENV_FILE points elsewhere (tests point it at /dev/null so a developer's .env cannot leak in).
ENV_FILE = Path(env.str("ENV_FILE", default=str(REPO_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)  # into os.environ; a name already set there keeps its value
# An unset or empty setting reads as its default or derived value (API_PUBLIC_URL follows API_PORT),
# through a view: written into os.environ, a derived value would reach child processes that were
# given other ports.
env.ENVIRON = Settings(os.environ)


def env_required(name: str) -> str:
    """Return a variable that has no safe default, or stop start-up saying which one is missing."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set (see .env.example).")
    return value

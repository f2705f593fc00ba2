"""Settings for the mock CRM process: the same project, serving only the CRM's URLs."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "crm.urls"

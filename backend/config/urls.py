from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from health_check.views import HealthCheckView
from redis.asyncio import Redis

from pipeline.api import SubmissionDetailApi, SubmissionListCreateApi
from pipeline.baseline import SubmissionBaselineApi

admin.site.site_header = "Contact intake: operations"

urlpatterns = [
    path("api/submissions/", SubmissionListCreateApi.as_view(), name="submission-list"),
    path("api/submissions/<uuid:submission_id>/", SubmissionDetailApi.as_view(), name="submission-detail"),
    path("api/baseline/submissions/", SubmissionBaselineApi.as_view(), name="submission-baseline"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Liveness: can this process accept a submission (its database answers)?
    path("health", HealthCheckView.as_view(checks=["health_check.checks.Database"]), name="health"),
    # Readiness of everything downstream, for operators: it names internal hosts, so staff only
    # (anyone else is sent to the admin's login).
    path(
        "health/deps",
        staff_member_required(
            HealthCheckView.as_view(
                checks=[
                    "health_check.checks.Database",
                    (
                        "health_check.contrib.redis.Redis",
                        {"client_factory": lambda: Redis.from_url(settings.REDIS_URL)},
                    ),
                    "infra.health_checks.Kafka",
                    "infra.health_checks.PipelineProcesses",
                ]
            )
        ),
        name="health-deps",
    ),
    # Prometheus's scrape (django-prometheus): every gunicorn worker's numbers, added up (config/gunicorn.py).
    # Not proxied by nginx; served where the API listens (BIND_HOST), like /health.
    path("", include("django_prometheus.urls")),
    # The event console: staff-only admin pages that read Kafka live (before the admin's catch-all).
    path("admin/console/", include("console.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "config.views.not_found"

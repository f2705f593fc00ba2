"""URLs of the live-progress process (config.settings.stream): the event stream and its liveness."""

from django.urls import path

from pipeline.stream import stream_health, submission_events_api

urlpatterns = [
    path("api/submissions/<uuid:submission_id>/events", submission_events_api, name="submission-events"),
    path("health", stream_health, name="health"),
]

"""The console's pages, under /admin/console/ (config/urls.py), each behind the admin's login."""

from django.urls import path

from console import views
from console.views import console_view

app_name = "console"

urlpatterns = [
    path("", console_view(views.overview), name="overview"),
    path("groups/", console_view(views.groups), name="groups"),
    path("records/", console_view(views.records), name="records"),
    path("search/", console_view(views.search), name="search"),
    path("dlq/", console_view(views.dead_letters), name="dlq"),
    path("dlq/replay/", console_view(views.dead_letter_replay), name="dlq-replay"),
    path("dlq/replay-all/", console_view(views.dead_letters_replay_all), name="dlq-replay-all"),
]

"""Project-wide error pages: the API's paths answer in JSON, as its schema says."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    """404: JSON under /api/ (a path no route matches, e.g. an id that is not a UUID), else Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)

"""Request guards that run before any view."""

from django.conf import settings
from django.http import JsonResponse

CHUNK = 64 * 1024
# A body up to this many times the limit is read and discarded, so that the client's keep-alive
# connection stays usable for its next request; a larger one closes the connection instead.
DRAIN_FACTOR = 16


class BodySizeLimitMiddleware:
    """A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets a JSON 413, not an error page and a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        response = JsonResponse(
            {"detail": f"Request body of {length} bytes is larger than the limit of {limit} bytes."}, status=413
        )
        if length <= limit * DRAIN_FACTOR:
            stream, remaining = request.META["wsgi.input"], length
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
        else:
            response["Connection"] = "close"
        return response

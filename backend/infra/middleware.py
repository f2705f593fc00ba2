"""Request guards that run before any view."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, JsonResponse

CHUNK = 64 * 1024
# A body up to this many times the limit is read and discarded, so that the client's keep-alive
# connection stays usable for its next request; a larger one closes the connection instead.
DRAIN_FACTOR = 16


class BodySizeLimitMiddleware:
    """A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets a JSON 413, not an error page and a traceback.

    Sync under gunicorn (the API), async under uvicorn (the live stream), so neither waits on a thread.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    async def __acall__(self, request):
        refusal = self.refusal(request)
        return refusal if refusal is not None else await self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest) -> JsonResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return None
        response = JsonResponse(
            {"detail": f"Request body of {length} bytes is larger than the limit of {limit} bytes."}, status=413
        )
        stream = request.META.get("wsgi.input")  # under ASGI the server has read the body already
        if stream is not None and length <= limit * DRAIN_FACTOR:
            remaining = length
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
        elif stream is not None:
            response["Connection"] = "close"
        return response

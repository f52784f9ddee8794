"""Request input that no text column can hold, taken out in one place for every view.

PostgreSQL refuses NUL characters in text (SQLite keeps them, and they then break exports
and searches later), so a NUL typed or pasted into any field, or sent in a query string,
failed the request with a database error: the orders search, a bulk tag name, a segment's
name. Django's form ``CharField`` already refuses them with a message; this covers the
parameters that views read directly. A NUL never carries meaning in text, so it is
dropped rather than refused. Form bodies, multipart ones (file uploads) too, are cleaned
once parsed, so that a view may still choose its upload handlers.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, QueryDict

NUL = "\x00"


def without_nul(params: QueryDict) -> QueryDict:
    """A copy of ``params`` whose names and values hold no NUL character."""
    cleaned = QueryDict(mutable=True, encoding=params.encoding)
    for key, values in params.lists():
        for value in values:
            cleaned.appendlist(key.replace(NUL, ""), value.replace(NUL, ""))
    cleaned._mutable = False
    return cleaned


def _has_nul(params: QueryDict) -> bool:
    return any(
        NUL in key or any(NUL in value for value in values) for key, values in params.lists()
    )


class NulCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" in request.META.get("QUERY_STRING", ""):  # cheap: almost never there
            request.GET = without_nul(request.GET)
        if request.method == "POST":
            # Cleaned when the body is first parsed, not now: a view may still choose its
            # upload handlers (which must come before the body is read).
            load = request._load_post_and_files  # type: ignore[attr-defined]

            def load_without_nul() -> None:
                load()
                if _has_nul(request._post):  # type: ignore[attr-defined]
                    request._post = without_nul(request._post)  # type: ignore[attr-defined]

            request._load_post_and_files = load_without_nul  # type: ignore[attr-defined]
        return self.get_response(request)


# The largest id a parameter may name: a database bigint holds 19 digits.
MAX_ID_DIGITS = 18


def id_param(value: str | None) -> int | None:
    """The whole number a parameter names (an id, a page), or None: ASCII digits only, at
    most 18 of them. ``str.isdigit`` also accepts "²", which ``int`` refuses."""
    value = (value or "").strip()
    if not value or len(value) > MAX_ID_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    return int(value)

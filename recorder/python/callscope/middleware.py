"""Django: profile a request by adding ``?profile`` to its URL.

    MIDDLEWARE = [
        "callscope.middleware.ProfilerMiddleware",
        ...
    ]

Settings (pyinstrument's names are read too, so a project switches by changing the
middleware's path):

``CALLSCOPE_SHOW_CALLBACK`` (``PYINSTRUMENT_SHOW_CALLBACK``)
    a function, or its import path, taking the request and saying whether ``?profile`` may
    replace the response with the HTML report. Default: ``settings.DEBUG``.
``CALLSCOPE_PROFILE_DIR`` (``PYINSTRUMENT_PROFILE_DIR``)
    save every request's session (``.pyisession``, opened by ``callscope --load`` or the
    viewer) in this directory, named by time, method and path.
``CALLSCOPE_INTERVAL`` (``PYINSTRUMENT_INTERVAL``)
    the sampling interval in seconds (default 0.001).
``CALLSCOPE_URL_ARGUMENT`` (``PYINSTRUMENT_URL_ARGUMENT``)
    the query argument that asks for a report (default ``profile``).

Only the request's own thread is recorded, so requests served at the same time by a
threaded server (``runserver``, gunicorn's gthread) each get their own profile.
"""

from __future__ import annotations

from typing import Any, Callable

from callscope._web import MiddlewareOptions

_UNSET = object()


def _setting(name: str, default: Any) -> Any:
    from django.conf import settings

    for prefix in ("CALLSCOPE_", "PYINSTRUMENT_"):
        value = getattr(settings, prefix + name, _UNSET)
        if value is not _UNSET:
            return value
    return default


def _show_allowed(request: Any) -> bool:
    from django.conf import settings

    callback = _setting("SHOW_CALLBACK", None)
    if callback is None:
        return bool(settings.DEBUG)
    if isinstance(callback, str):
        from django.utils.module_loading import import_string

        callback = import_string(callback)
    return bool(callback(request))


class ProfilerMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        # Read at each request: settings may change (as tests change them).
        options = MiddlewareOptions(
            interval=float(_setting("INTERVAL", 0.001)),
            profile_dir=_setting("PROFILE_DIR", None),
            allow=_show_allowed,
            url_argument=_setting("URL_ARGUMENT", "profile"),
        )
        profile = options.profile_for(request.META.get("QUERY_STRING", ""), request)
        if profile is None:
            return self.get_response(request)
        profile.start(f"{request.method} {request.path}")
        try:
            response = self.get_response(request)
        finally:
            html = profile.finish(request.method, request.path)
        if html is None:
            return response
        from django.http import HttpResponse

        return HttpResponse(html, content_type="text/html; charset=utf-8")

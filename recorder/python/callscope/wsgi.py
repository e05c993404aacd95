"""Profile requests of any WSGI application (Flask, Django's WSGI handler, Pyramid, ...).

    from callscope.wsgi import ProfilerMiddleware
    app.wsgi_app = ProfilerMiddleware(app.wsgi_app)       # Flask

``GET /orders?profile`` then answers with the HTML report of that request instead of the
page; ``profile_dir="profiles"`` keeps every request's session in ``profiles/``. Wrapping
the app is the opt-in, so anyone may ask for a report unless ``allow(environ)`` says no:
pass it in production, since a report shows file paths and code names.

Only the thread serving the request is recorded, so requests served at the same time on
other threads do not mix.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Optional

from callscope._web import MiddlewareOptions, RequestProfile

Environ = dict
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class ProfilerMiddleware(MiddlewareOptions):
    def __init__(
        self,
        app: WSGIApp,
        *,
        interval: float = 0.001,
        profile_dir: Optional[str] = None,
        allow: Optional[Callable[[Environ], bool]] = None,
        url_argument: str = "profile",
    ) -> None:
        super().__init__(
            interval=interval, profile_dir=profile_dir, allow=allow, url_argument=url_argument
        )
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        profile = self.profile_for(environ.get("QUERY_STRING", ""), environ)
        if profile is None:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        profile.start(f"{method} {path}")
        if profile.show:
            return self._report(profile, environ, start_response, method, path)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            profile.finish(method, path)
            raise
        # The body may be a generator doing the work: the profile ends when it is closed.
        return _ProfiledBody(body, lambda: profile.finish(method, path))

    def _report(
        self,
        profile: RequestProfile,
        environ: Environ,
        start_response: StartResponse,
        method: str,
        path: str,
    ) -> List[bytes]:
        def discard(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            return lambda data: None

        try:
            body = self.app(environ, discard)
            try:
                for _ in body:
                    pass
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        finally:
            html = profile.finish(method, path)
        data = (html or "").encode("utf-8")
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        return [data]


class _ProfiledBody:
    """The application's body, passed through; ``close()`` ends the profile."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], Any]) -> None:
        self._body = body
        self._done: Optional[Callable[[], Any]] = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()

"""Profile requests of any ASGI application (FastAPI, Starlette, Django's ASGI handler, ...).

    from callscope.asgi import ProfilerMiddleware
    app.add_middleware(ProfilerMiddleware)                # FastAPI / Starlette
    app = ProfilerMiddleware(app)                         # any ASGI app

The options are the WSGI middleware's (``interval``, ``profile_dir``, ``allow(scope)``,
``url_argument``), plus ``async_mode`` (as :class:`callscope.Profiler`'s) and ``threads``.
Sync routes run in a thread pool, so by default every thread is recorded
(``threads="all"``): the route's work shows under its worker thread. A request served at
the same time on the same server shows in that profile too; ``threads="current"``
records the event loop's thread only.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, MutableMapping, Optional

from callscope._web import MiddlewareOptions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ProfilerMiddleware(MiddlewareOptions):
    def __init__(
        self,
        app: ASGIApp,
        *,
        interval: float = 0.001,
        profile_dir: Optional[str] = None,
        allow: Optional[Callable[[Scope], bool]] = None,
        url_argument: str = "profile",
        async_mode: str = "enabled",
        threads: str = "all",
    ) -> None:
        super().__init__(
            interval=interval,
            profile_dir=profile_dir,
            allow=allow,
            url_argument=url_argument,
            async_mode=async_mode,
            threads=threads,
        )
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        profile = self.profile_for(scope.get("query_string", b""), scope)
        if profile is None:
            await self.app(scope, receive, send)
            return
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        profile.start(f"{method} {path}")

        async def discard(message: Message) -> None:
            pass

        try:
            await self.app(scope, receive, discard if profile.show else send)
        finally:
            html = profile.finish(method, path)
        if html is not None:
            await _send_html(send, html)


async def _send_html(send: Send, html: str) -> None:
    body = html.encode("utf-8")
    headers: Dict[bytes, bytes] = {
        b"content-type": b"text/html; charset=utf-8",
        b"content-length": str(len(body)).encode(),
    }
    await send({"type": "http.response.start", "status": 200, "headers": list(headers.items())})
    await send({"type": "http.response.body", "body": body})

"""What the web middlewares share: when a request is profiled, and what becomes of its
profile (the HTML report as the response, a session file in a directory, or both).

The Django, WSGI and ASGI middlewares differ only in how they read a request and send a
response; the decisions and the files are made here, once.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qs

from callscope.profiler import Profiler

#: What a file name made from a request or a test id may not contain.
UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def asks_for_profile(query_string: Union[str, bytes], url_argument: str) -> bool:
    """Whether the query names ``url_argument`` (``?profile``, ``?profile=1``, ...)."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    return url_argument in parse_qs(query_string, keep_blank_values=True)


def session_file_name(method: str, path: str, when: Optional[float] = None) -> str:
    """``20261202T104512.123-GET-orders_42.pyisession``: sorts by time, says what was asked.
    Only letters, digits, ``.``, ``_`` and ``-`` come from the request."""
    when = time.time() if when is None else when
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
    where = UNSAFE_IN_NAMES.sub("_", path.strip("/"))[:80].strip("._") or "root"
    what = UNSAFE_IN_NAMES.sub("_", method.upper())[:16] or "REQUEST"
    return f"{stamp}-{what}-{where}.pyisession"


class RequestProfile:
    """One request's profiler, and what to do with its session when the request ends.

    ``show`` means the response is replaced by the HTML report; ``profile_dir`` (when set)
    keeps every profiled request's session there.
    """

    def __init__(
        self,
        *,
        show: bool,
        profile_dir: Optional[str],
        interval: float,
        async_mode: str,
        threads: str,
    ) -> None:
        self.show = show
        self.profile_dir = profile_dir
        self.profiler = Profiler(interval=interval, async_mode=async_mode, threads=threads)

    def start(self, description: str) -> None:
        self.profiler.start(target_description=description)

    def finish(self, method: str, path: str) -> Optional[str]:
        """Stops the profiler, saves the session when a directory is set, and returns the
        HTML report when the response is to be replaced by it."""
        session = self.profiler.stop()
        if self.profile_dir:
            save(session, self.profile_dir, session_file_name(method, path))
        if self.show:
            from callscope import report

            return report.report(session)
        return None


class MiddlewareOptions:
    """The options of a middleware, and the decision it makes with them for each request.
    The WSGI and ASGI middlewares are given them; Django's reads them from its settings."""

    def __init__(
        self,
        *,
        interval: float,
        profile_dir: Optional[str],
        allow: Optional[Callable[[Any], bool]],
        url_argument: str,
        async_mode: str = "disabled",
        threads: str = "current",
    ) -> None:
        self.interval = interval
        self.profile_dir = profile_dir
        self.allow = allow
        self.url_argument = url_argument
        self.async_mode = async_mode
        self.threads = threads

    def profile_for(self, query_string: Union[str, bytes], request: Any) -> Optional[RequestProfile]:
        """The profile to take of ``request`` (an environ, a scope, a Django request), or
        ``None`` when it is not profiled."""
        asked = asks_for_profile(query_string, self.url_argument)
        show = asked and (self.allow is None or bool(self.allow(request)))
        if not show and not self.profile_dir:
            return None
        return RequestProfile(
            show=show,
            profile_dir=self.profile_dir,
            interval=self.interval,
            async_mode=self.async_mode,
            threads=self.threads,
        )


def save(session, directory: str, name: str) -> str:
    """Writes ``session`` as ``directory/name``, never over another request's file."""
    os.makedirs(directory, exist_ok=True)
    stem, ext = os.path.splitext(name)
    for n in range(1, 1000):
        path = os.path.join(directory, name if n == 1 else f"{stem}-{n}{ext}")
        try:
            # O_EXCL: two requests in the same millisecond get two files.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        session.save(path)
        return path
    raise FileExistsError(f"too many sessions named {name} in {directory}")

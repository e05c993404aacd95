"""The Profiler API, named as pyinstrument's so that switching is a change of import."""

from __future__ import annotations

import atexit
import os
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Dict, Optional, Set, Union

    from callscope.renderers import Renderer

from callscope import _async, _native
from callscope._native import Session

_ASYNC_MODES = ("enabled", "disabled", "strict")
# Profilers still running when the interpreter exits are stopped first: the timer thread
# must not outlive the interpreter.
_running: Set["Profiler"] = set()


@atexit.register
def _stop_all() -> None:
    for profiler in list(_running):
        try:
            profiler.stop()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_native._before_fork,
        after_in_parent=_native._after_fork_parent,
        after_in_child=_native._after_fork_child,
    )


def stream_supports_unicode(stream: IO[str]) -> bool:
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "") in ("utf8", "utf16", "utf32")


def stream_supports_color(stream: IO[str]) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Profiler:
    """Samples the program's threads while running.

    ``interval`` is the sampling interval in seconds. ``threads="all"`` records every
    thread; ``threads="current"`` only the thread that calls :meth:`start` (one profiler
    per request in a threaded server). A Profiler may be started on any thread, and
    several may run at once.

    ``async_mode``, as pyinstrument's, says what a Profiler started inside an asyncio task
    records while the task awaits: ``"enabled"`` shows the await it waits at, under an
    ``[await]`` frame, whatever the loop runs meanwhile; tasks created inside (a
    ``gather``'s children) are profiled with their own stacks. ``"strict"`` also shows time
    the loop spends outside the profiled context without an await as
    ``[out-of-context]``. ``"disabled"`` records the stacks as they are (the loop's
    ``select``, other tasks' work).
    """

    def __init__(
        self, interval: float = 0.001, async_mode: str = "enabled", threads: str = "all"
    ) -> None:
        if async_mode not in _ASYNC_MODES:
            raise ValueError(f"async_mode must be one of {', '.join(_ASYNC_MODES)}")
        if threads not in ("all", "current"):
            raise ValueError('threads must be "all" or "current"')
        if not interval > 0:
            raise ValueError("interval must be a positive number of seconds")
        self._threads = threads
        self._interval = float(interval)
        self._async_mode = async_mode
        self._recording: Optional[Any] = None
        self._owner: Optional[int] = None
        self._last_session: Optional[Session] = None
        self._context_reset: Optional[Any] = None
        # Set by the `callscope` command's child: where its recording is streamed.
        self._spool_fd: Optional[int] = None

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def threads(self) -> str:
        return self._threads

    @property
    def async_mode(self) -> str:
        return self._async_mode

    @property
    def is_running(self) -> bool:
        return self._recording is not None

    @property
    def last_session(self) -> Optional[Session]:
        return self._last_session

    def start(self, caller_frame: Any = None, target_description: Optional[str] = None) -> None:
        """Starts sampling, from any thread."""
        if self._recording is not None:
            raise RuntimeError("this Profiler is already running; call stop() first")
        marked = _async.enter(self._async_mode, caller_frame)
        watch, self._context_reset = marked if marked else (None, None)
        try:
            self._recording = _native.start(
                self._interval, target_description, self._threads, self._spool_fd, watch
            )
        except BaseException:
            self._leave_context()
            raise
        self._owner = threading.get_ident()
        _running.add(self)

    def stop(self) -> Session:
        """Stops sampling and returns the session (also kept as ``last_session``): every
        start/stop pair since the Profiler was made or :meth:`reset` is in it."""
        if self._recording is None:
            raise RuntimeError("this Profiler is not running")
        if threading.get_ident() != self._owner:
            raise RuntimeError("stop() must be called from the thread that called start()")
        recording, self._recording = self._recording, None
        _running.discard(self)
        session = recording.stop()
        self._leave_context()
        if self._last_session is not None:
            # Consecutive start/stop pairs build one session, as pyinstrument's do.
            session = Session.combine(self._last_session, session)
        self._last_session = session
        return session

    def _leave_context(self) -> None:
        if self._context_reset is not None:
            _async.leave(self._context_reset)
            self._context_reset = None

    def reset(self) -> None:
        """Stops if running and forgets what was recorded: the next start() begins a new
        session."""
        if self._recording is not None:
            self.stop()
        self._last_session = None

    def __enter__(self) -> "Profiler":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _session(self) -> Session:
        if self._recording is not None:
            raise RuntimeError("the Profiler is still running: call stop() before rendering")
        if self._last_session is None:
            raise RuntimeError("nothing recorded yet: call start() and stop() first")
        return self._last_session

    def output(self, renderer: Renderer) -> Union[str, bytes]:
        return renderer.render(self._session())

    def output_text(
        self,
        unicode: bool = False,
        color: bool = False,
        show_all: bool = False,
        timeline: bool = False,
        time: str = "seconds",
        flat: bool = False,
        flat_time: str = "self",
        short_mode: bool = False,
        processor_options: Optional[Dict[str, Any]] = None,
        collapse_recursion: bool = True,
    ) -> str:
        from callscope.renderers import TextRenderer

        renderer = TextRenderer(
            unicode=unicode,
            color=color,
            show_all=show_all,
            timeline=timeline,
            time=time,
            flat=flat,
            flat_time=flat_time,
            short_mode=short_mode,
            processor_options=processor_options,
            collapse_recursion=collapse_recursion,
        )
        return renderer.render(self._session())

    def print(
        self,
        file: Optional[IO[str]] = None,
        *,
        unicode: Optional[bool] = None,
        color: Optional[bool] = None,
        **options: Any,
    ) -> None:
        """Prints the call tree; unicode and colour follow what ``file`` supports."""
        file = sys.stdout if file is None else file
        if unicode is None:
            unicode = stream_supports_unicode(file)
        if color is None:
            color = stream_supports_color(file)
        print(self.output_text(unicode=unicode, color=color, **options), file=file)

    def write_session(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Saves the session as a ``.pyisession`` file (``callscope --load`` reads it)."""
        self._session().save(os.fspath(path))

    def output_html(self) -> str:
        """A self-contained HTML report of the last session: one file that opens in a
        browser from disk, with the call tree, flame graph and function table."""
        from callscope import report

        return report.report(self._session())

    def write_html(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes :meth:`output_html` to ``path``."""
        from callscope import report

        report.write(self.output_html(), path)

    def open_in_browser(self) -> str:
        """Writes the report to a temporary file and opens it in the default browser.
        Returns the file's path (printed to stderr when no browser could take it)."""
        from callscope import report

        path, opened = report.open_in_browser(self.output_html())
        if not opened:
            print(f"callscope: no browser found; the report is at {path}", file=sys.stderr)
        return path

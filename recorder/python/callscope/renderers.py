"""Renderers for ``Profiler.output(renderer)`` and the ``-r`` option of the command line.

Each turns a :class:`callscope.Session` into text or bytes; the work is done by
callscope's Rust model, the same code that the viewer runs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Union

from callscope._native import Session

#: pyinstrument's processor option names, as accepted by ``processor_options``.
_PROCESSOR_OPTIONS = {"filter_threshold", "show", "hide", "show_regex", "hide_regex"}


def tree_options(
    show_all: bool = False,
    timeline: bool = False,
    processor_options: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Keyword arguments for the model's processors, from pyinstrument-style options."""
    options: Dict[str, Any] = {"show_all": show_all, "timeline": timeline}
    for key, value in (processor_options or {}).items():
        if key not in _PROCESSOR_OPTIONS:
            raise ValueError(
                f"unknown processor option {key!r}; expected one of "
                + ", ".join(sorted(_PROCESSOR_OPTIONS))
            )
        options["threshold" if key == "filter_threshold" else key] = value
    return options


class Renderer:
    """Base class: ``render(session)`` returns ``str`` or, when ``output_is_binary``, bytes."""

    output_file_extension = "txt"
    output_is_binary = False
    #: The keyword arguments ``__init__`` accepts (the command line's ``-p`` options).
    options: tuple = ()

    def render(self, session: Session) -> Union[str, bytes]:
        raise NotImplementedError


class TextRenderer(Renderer):
    """The call tree as the terminal shows it. ``collapse_recursion`` (on by default) folds
    a function's direct calls of itself into one line, ``[× N recursive calls]``."""

    options = ("unicode", "color", "show_all", "timeline", "time", "flat", "flat_time",
               "short_mode", "processor_options", "collapse_recursion")  # fmt: skip

    def __init__(
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
    ) -> None:
        if flat_time not in ("self", "total"):
            raise ValueError("flat_time must be 'self' or 'total'")
        self.options = dict(
            tree_options(show_all, timeline, processor_options),
            unicode=unicode,
            color=color,
            time=time,
            flat=flat_time if flat else None,
            header=not short_mode,
            collapse_recursion=collapse_recursion,
        )

    def render(self, session: Session) -> str:
        return session.render_text(**self.options)


#: pyinstrument's name for the text renderer.
ConsoleRenderer = TextRenderer


class SessionRenderer(Renderer):
    """A ``.pyisession`` file: callscope's compressed session format."""

    output_file_extension = "pyisession"
    output_is_binary = True

    def render(self, session: Session) -> bytes:
        return session.to_bytes("callscope")


class SpeedscopeRenderer(Renderer):
    """JSON for https://www.speedscope.app (one profile per thread)."""

    output_file_extension = "speedscope.json"

    def render(self, session: Session) -> str:
        return session.to_bytes("speedscope").decode("utf-8")


class JSONRenderer(Renderer):
    """The processed call tree as pyinstrument-style JSON."""

    output_file_extension = "json"
    options = ("show_all", "timeline")

    def __init__(self, show_all: bool = False, timeline: bool = False) -> None:
        self.show_all = show_all
        self.timeline = timeline

    def render(self, session: Session) -> str:
        return session.render_json(show_all=self.show_all, timeline=self.timeline)


class CollapsedRenderer(Renderer):
    """Collapsed stacks (``a;b;c 12``), for flamegraph.pl, inferno and speedscope."""

    output_file_extension = "collapsed.txt"

    def render(self, session: Session) -> str:
        return session.to_bytes("collapsed").decode("utf-8")


class PstatsRenderer(Renderer):
    """Python's profile statistics, as cProfile writes them: ``pstats.Stats``, snakeviz and
    tuna read the file. Call counts are sample counts (a sampling profiler counts no calls)."""

    output_file_extension = "prof"
    output_is_binary = True

    def render(self, session: Session) -> bytes:
        return session.to_bytes("pstats")


class PprofRenderer(Renderer):
    """pprof's gzip-compressed protobuf, with wall and CPU time per thread and stack, as
    ``go tool pprof``, Pyroscope and Grafana read it."""

    output_file_extension = "pb.gz"
    output_is_binary = True

    def render(self, session: Session) -> bytes:
        return session.to_bytes("pprof")


class FirefoxRenderer(Renderer):
    """The Firefox Profiler's processed profile JSON: open it at profiler.firefox.com for a
    track per thread, with its activity graph and thread states."""

    output_file_extension = "firefox.json"

    def render(self, session: Session) -> str:
        return session.to_bytes("firefox").decode("utf-8")


class HTMLRenderer(Renderer):
    """A self-contained HTML report: the viewer with the session inside, for sharing."""

    output_file_extension = "html"

    def render(self, session: Session) -> str:
        from callscope import report

        return report.report(session)


#: The ``-r`` names of the command line.
BY_NAME = {
    "text": TextRenderer,
    "html": HTMLRenderer,
    "session": SessionRenderer,
    "speedscope": SpeedscopeRenderer,
    "json": JSONRenderer,
    "collapsed": CollapsedRenderer,
    "pstats": PstatsRenderer,
    "pprof": PprofRenderer,
    "firefox": FirefoxRenderer,
}

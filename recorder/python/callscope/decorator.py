"""``callscope.profile``: profile one function or block and print a short tree to stderr.

    @profile
    def handler(): ...

    with profile(interval=0.0005):
        work()
"""

from __future__ import annotations

import functools
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

from callscope.profiler import Profiler, stream_supports_color, stream_supports_unicode


class _Block:
    def __init__(self, interval: float, options: dict) -> None:
        self.interval = interval
        self.options = options
        self.description: Optional[str] = None
        self.profiler: Optional[Profiler] = None

    def __enter__(self) -> "_Block":
        self.profiler = Profiler(interval=self.interval)
        self.profiler.start(target_description=self.description)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.profiler is not None
        session = self.profiler.stop()
        err = sys.stderr
        title = f"callscope: {self.description or 'block'}" if self.description else "callscope"
        text = session.render_text(
            header=False,
            unicode=self.options.get("unicode", stream_supports_unicode(err)),
            color=self.options.get("color", stream_supports_color(err)),
            show_all=self.options.get("show_all", False),
            time=self.options.get("time", "seconds"),
        )
        print(
            f"{title}: {session.duration:.3f} s, {session.sample_count} samples\n{text}",
            file=err,
        )

    def __call__(self, func: Callable) -> Callable:
        description = getattr(func, "__qualname__", getattr(func, "__name__", "function"))

        def block() -> "_Block":
            b = _Block(self.interval, self.options)
            b.description = f"{description}()"
            return b

        import inspect  # only here: importing it costs every `callscope` run 8 ms

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with block():
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with block():
                return func(*args, **kwargs)

        return wrapper


def profile(func: Optional[Callable] = None, *, interval: float = 0.001, **options: Any) -> Any:
    """Decorator (``@profile`` or ``@profile(...)``) and context manager (``with profile():``).

    Options: ``unicode``, ``color``, ``show_all``, ``time`` (as for ``Profiler.print``).
    """
    block = _Block(interval, options)
    if func is not None:
        if not callable(func):
            raise TypeError("profile() takes a function, or keyword options only")
        return block(func)
    return block

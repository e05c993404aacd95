"""callscope: a low-overhead sampling profiler for Python.

    from callscope import Profiler

    with Profiler() as profiler:
        do_work()
    profiler.print()

The names follow pyinstrument's, so switching is a change of import.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from callscope.decorator import profile
    from callscope.profiler import Profiler

from callscope._native import Session, SessionLoadError, __version__

__all__ = ["Profiler", "Session", "SessionLoadError", "profile", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported when first asked for: the `callscope` command's launcher imports this
    # package but neither of them, and every millisecond of its start-up is the program's.
    if name == "Profiler":
        from callscope.profiler import Profiler

        return Profiler
    if name == "profile":
        from callscope.decorator import profile

        return profile
    raise AttributeError(f"module 'callscope' has no attribute {name!r}")


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext callscope``: the ``%callscope`` and ``%%callscope`` magics."""
    from callscope.magic import load_ipython_extension as load

    load(ipython)

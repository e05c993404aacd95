"""callscope: a low-overhead sampling profiler for Python.

    from callscope import Profiler

    with Profiler() as profiler:
        do_work()
    profiler.print()

The names follow pyinstrument's, so switching is a change of import.
"""

from callscope._native import Session, SessionLoadError, __version__
from callscope.decorator import profile
from callscope.profiler import Profiler

__all__ = ["Profiler", "Session", "SessionLoadError", "profile", "__version__"]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext callscope``: the ``%callscope`` and ``%%callscope`` magics."""
    from callscope.magic import load_ipython_extension as load

    load(ipython)

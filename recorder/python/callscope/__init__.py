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

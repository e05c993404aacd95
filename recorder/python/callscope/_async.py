"""Async mode's marks, as pyinstrument's: a Profiler started with ``async_mode`` adds a token
to a context variable, which the tasks created inside inherit. The sampler reads the
variable from memory to tell whether the loop runs the profiled context (see the
recorder's ``tasks.rs``); these are the live objects it is given."""

from __future__ import annotations

import contextvars
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Tuple

# The tokens of the async-mode Profilers whose context this is, outermost first.
_PROFILERS: contextvars.ContextVar[Tuple[object, ...]] = contextvars.ContextVar(
    "callscope_profilers", default=()
)
_probes: Optional[Tuple[contextvars.Context, contextvars.Context]] = None


def _hamt_probes() -> Tuple[contextvars.Context, contextvars.Context]:
    """Two contexts whose variables' HAMT roots are a bitmap node (one variable) and an
    array node (more than the 16 a bitmap node holds): the node types come from them."""
    global _probes
    if _probes is None:
        variables = [contextvars.ContextVar(f"callscope_probe_{i}") for i in range(64)]
        small, large = contextvars.Context(), contextvars.Context()
        small.run(variables[0].set, 0)

        def fill() -> None:
            for v in variables:
                v.set(0)

        large.run(fill)
        _probes = (small, large)
    return _probes


def _running_task() -> Any:
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _caller(frame: Any) -> Any:
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "callscope"
    ):
        frame = frame.f_back
    return frame


def enter(mode: str, caller_frame: Any) -> Optional[Tuple[tuple, contextvars.Token]]:
    """Marks the current context for a Profiler starting with ``mode``: the sampler's
    ``watch`` argument, and the token that undoes the mark. None when there is nothing to
    watch: ``"enabled"`` outside a task records the stacks as they are anyway."""
    if mode == "disabled":
        return None
    task = _running_task()
    if task is None and mode != "strict":
        return None
    coro = task.get_coro() if task is not None else None
    if isinstance(coro, types.CoroutineType):
        code = coro.cr_code
    elif isinstance(coro, types.GeneratorType):
        code = coro.gi_code
    else:
        coro = None
        code = _caller(caller_frame or sys._getframe(1)).f_code
    token = object()
    reset = _PROFILERS.set(_PROFILERS.get() + (token,))
    return (_PROFILERS, token, coro, code, mode == "strict", _hamt_probes()), reset


def leave(reset: contextvars.Token) -> None:
    try:
        _PROFILERS.reset(reset)
    except (ValueError, RuntimeError):
        # Stopped in another context than it started in: that context keeps its mark,
        # which no recording reads any more.
        pass

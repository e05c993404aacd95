"""What the sampler cannot read from memory alone, asked of the interpreter at the end of a
recording: the name of the C function a call instruction calls, and (3.9, 3.10) the
qualified names of functions."""

from __future__ import annotations

import bisect
import gc
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    import dis
    from typing import Dict, List, Optional, Sequence, Tuple

# Code objects that run with nothing but their frame holding them, which the sampler may
# not reach through other threads' frames (see `live_frame_codes`): the program's module
# code, as callscope's runner compiled it.
_roots: List[types.CodeType] = []


def keep(code: types.CodeType) -> None:
    """Makes `code` one the sampler can find while it runs."""
    _roots.append(code)

_CALLS = {
    "CALL",
    "PRECALL",
    "CALL_KW",
    "CALL_FUNCTION",
    "CALL_FUNCTION_KW",
    "CALL_FUNCTION_EX",
    "CALL_METHOD",
}
_NO_PUSH = {"KW_NAMES", "NOP", "EXTENDED_ARG", "CACHE", "RESUME", "PRECALL"}
_NAMED_LOADS = {
    "LOAD_GLOBAL",
    "LOAD_NAME",
    "LOAD_ATTR",
    "LOAD_METHOD",
    "LOAD_DEREF",
    "LOAD_CLASSDEREF",
    "LOAD_FAST",
    "LOAD_FAST_CHECK",
    "LOAD_SUPER_ATTR",
    "LOAD_FROM_DICT_OR_GLOBALS",
}


def _effect(ins: dis.Instruction) -> int:
    import dis  # Only when a recording ends: the runner imports this module at start-up.

    arg = ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None
    return dis.stack_effect(ins.opcode, arg, jump=False)


def _pushes(ins: dis.Instruction, effect: int) -> Optional[int]:
    """How many stack items ``ins`` pushes, or None when it shuffles the stack."""
    name = ins.opname
    if name in ("LOAD_ATTR", "LOAD_METHOD"):
        return effect + 1
    if name == "LOAD_SUPER_ATTR":
        return effect + 3
    if name.startswith(("LOAD_", "PUSH_")) or name in ("COPY", "DUP_TOP", "DUP_TOP_TWO"):
        return effect
    if name.startswith(("STORE_", "POP_", "DELETE_")) or name in _NO_PUSH:
        return 0
    if name.startswith(("SWAP", "ROT_")):
        return None
    if name.startswith("UNPACK_"):
        return effect + 1
    return max(1, effect)


def _producer(instrs: Sequence[dis.Instruction], i: int, depth: int):
    """The instruction before ``instrs[i]`` that pushed the item ``depth`` places from the
    top of the stack (1 is the top) as ``instrs[i]`` starts, following straight-line
    code backwards."""
    j = i - 1
    while j >= 0 and depth > 0:
        ins = instrs[j]
        effect = _effect(ins)
        pushes = _pushes(ins, effect)
        if pushes is None:
            return None
        if depth <= pushes:
            return ins
        depth -= effect
        j -= 1
    return None


def _name(ins) -> Optional[str]:
    if ins is None or ins.opname not in _NAMED_LOADS or not isinstance(ins.argval, str):
        return None
    return ins.argval


def callee_names(code: types.CodeType, offsets: Sequence[int]) -> List[Optional[str]]:
    """For each byte offset, the name of the C function the call instruction there calls.

    A call of a Python function is also a call instruction with no frame above it, for
    the instant its frame is being made (on 3.9 nearly half the time of a loop of calls of
    a small function): a global name bound to a Python function in the code's module is
    not a C call, and the sample stays on the calling line."""
    import dis

    try:
        instrs = list(dis.get_instructions(code))
    except Exception:
        return [None] * len(offsets)
    starts = [ins.offset for ins in instrs]
    namespace = _module_namespace(code.co_filename)
    out: List[Optional[str]] = []
    for offset in offsets:
        ins = _callee(instrs, starts, offset)
        name = _name(ins)
        if name is not None and ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            if type(namespace.get(name)) is types.FunctionType:
                name = None
        out.append(name)
    return out


# Loaded modules by file, rebuilt when the number of modules changes: asked once per call
# site at the end of every recording (a per-request profile stops often).
_MODULES: Tuple[int, Dict[str, types.ModuleType]] = (-1, {})


def _module_namespace(filename: str) -> Dict[str, object]:
    """The globals of the loaded module whose file is ``filename`` (empty if none is)."""
    global _MODULES
    modules = list(sys.modules.values())
    if _MODULES[0] != len(modules):
        by_file = {}
        for module in modules:
            try:
                file = getattr(module, "__file__", None)
            except Exception:
                continue
            if isinstance(file, str):
                by_file[file] = module
        _MODULES = (len(modules), by_file)
    module = _MODULES[1].get(filename)
    return vars(module) if module is not None else {}


def _callee(instrs, starts, offset: int) -> Optional[dis.Instruction]:
    """The instruction that pushed the callable of the call at ``offset``."""
    # The frame may point at an inline cache entry of its instruction (3.11+).
    i = bisect.bisect_right(starts, offset) - 1
    if i < 0 or instrs[i].opname not in _CALLS:
        return None
    if sys.version_info[:2] == (3, 11) and instrs[i].opname in ("CALL", "PRECALL"):
        # 3.11 splits a call in PRECALL n + CALL n, which together consume n + 2 items
        # (their stack effects, -n and -1, are booked on each half).
        if instrs[i].opname == "CALL" and i > 0 and instrs[i - 1].opname == "PRECALL":
            i -= 1
        pops = instrs[i].arg + 2
    else:
        pops = 1 - _effect(instrs[i])
    # Where the callable sits among the items the call consumes (1 is the top): 3.11 and
    # 3.12 lay a call out as [NULL or method, callable or self, args...], the others as
    # [callable, (self or NULL,) args...].
    slot = pops - 1 if sys.version_info[:2] in ((3, 11), (3, 12)) else pops
    return _producer(instrs, i, slot)


def live_frame_codes() -> List[types.CodeType]:
    """The code objects of every frame on every thread's stack now: objects that are
    certainly alive, so the sampler may keep references to them.

    Without a GIL (free-threaded builds), another thread's frames are popped and freed
    while they are followed: `f_back` read freed memory there (python/cpython#152355) and
    killed the stress test's program with SIGSEGV in 2 of 20 runs on 3.13t. There only
    this thread's frames are followed, and the codes given to `keep`."""
    if _gil_enabled():
        frames = list(sys._current_frames().values())
        out = []
    else:
        frames = [sys._getframe()]
        out = list(_roots)
    for frame in frames:
        while frame is not None:
            out.append(frame.f_code)
            frame = frame.f_back
    return out


def find_live(ids: Sequence[int]) -> Dict[int, Tuple[types.CodeType, Optional[str]]]:
    """The live code objects among ``ids`` (addresses the sampler read), each with the
    ``__qualname__`` of a function that owns it where there is one. Codes are found only
    through live references (stacks, functions, the constants of those codes), never
    from the address alone, which may belong to a freed object."""
    wanted = set(ids)
    found: Dict[int, Tuple[types.CodeType, Optional[str]]] = {}

    def visit(code: types.CodeType, qualname: Optional[str]) -> None:
        todo = [(code, qualname)]
        while todo:
            c, q = todo.pop()
            key = id(c)
            if key in wanted and (key not in found or found[key][1] is None):
                found[key] = (c, q)
            todo.extend((k, None) for k in c.co_consts if type(k) is types.CodeType)

    for code in live_frame_codes():
        visit(code, None)
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType:
            visit(obj.__code__, obj.__qualname__)
    if not _gil_enabled():
        for function in _module_functions():
            visit(function.__code__, function.__qualname__)
    return found


def _gil_enabled() -> bool:
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def _module_functions():
    """The functions in loaded modules' namespaces and in their classes.

    Free-threaded 3.13 makes functions and code objects immortal once a second thread
    starts, and `gc.get_objects()` no longer lists those (here 42 functions of 779 after
    one thread ran); and without a GIL other threads' frames are not followed. Nested
    functions and lambdas are found through the constants of these functions' code."""
    # Only types are tested, never attributes looked up: a module's namespace may hold
    # proxies whose every attribute runs code of the program's.
    for module in list(sys.modules.values()):
        if not issubclass(type(module), types.ModuleType):
            continue
        for value in list(vars(module).values()):
            if issubclass(type(value), type):
                members = list(vars(value).values())
            else:
                members = [value]
            for member in members:
                kind = type(member)
                if kind is staticmethod or kind is classmethod:
                    member, kind = member.__func__, type(member.__func__)
                if kind is types.FunctionType:
                    yield member
                elif kind is property:
                    for f in (member.fget, member.fset, member.fdel):
                        if type(f) is types.FunctionType:
                            yield f

"""Runs a program the way ``python`` would: ``__name__ == "__main__"``, ``sys.argv`` and
``sys.path[0]`` as Python sets them. Everything that can fail before the program starts
(a missing file, a syntax error, a missing module) is found here, before profiling starts,
and reported as Python reports it.
"""

from __future__ import annotations

import builtins
import os
import sys
import threading
import types

from . import _calls

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, List, Optional, Tuple


class TargetError(Exception):
    """The program cannot be started; ``exit_code`` is what Python would exit with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Target:
    """A script, ``-m module`` or ``-c code``, with its arguments."""

    def __init__(self, kind: str, value: str, args: List[str]) -> None:
        assert kind in ("script", "module", "code")
        self.kind = kind
        self.value = value
        self.args = args

    @property
    def description(self) -> str:
        head = {"script": self.value, "module": f"-m {self.value}", "code": "-c ..."}[self.kind]
        return " ".join([head, *self.args])

    def prepare(self) -> Callable[[], None]:
        """Sets up ``sys`` as Python would and returns the function that runs the program."""
        if self.kind == "script":
            return self._prepare_script()
        if self.kind == "module":
            return self._prepare_module()
        return self._prepare_code()

    def _prepare_script(self) -> Callable[[], None]:
        path = os.path.abspath(self.value)
        if os.path.isdir(path) or path.endswith(".zip"):
            import runpy

            # A directory or zip with __main__.py: runpy does what `python dir/` does.
            if not os.path.exists(path):
                raise TargetError(_cannot_open(path, "No such file or directory", 2), 2)
            sys.argv[:] = [self.value, *self.args]
            sys.path.insert(0, path)
            return lambda: runpy.run_path(path, run_name="__main__")
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            raise TargetError(_cannot_open(path, e.strerror or str(e), e.errno), 2) from None
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as e:
            raise TargetError(_syntax_error(e), 1) from None
        except ValueError as e:  # null bytes
            raise TargetError(f"callscope: {self.value}: {e}", 1) from None
        sys.argv[:] = [self.value, *self.args]
        sys.path.insert(0, os.path.dirname(os.path.realpath(path)))
        module = _fresh_main(path)
        _calls.keep(code)
        return lambda: exec(code, module.__dict__)

    def _prepare_module(self) -> Callable[[], None]:
        import importlib.util
        import runpy

        sys.argv[:] = [self.value, *self.args]
        sys.path.insert(0, os.getcwd())
        try:
            spec = importlib.util.find_spec(self.value)
        except (ImportError, ValueError) as e:
            raise TargetError(f"callscope: {e}", 1) from None
        if spec is None:
            raise TargetError(f"callscope: No module named {self.value}", 1)
        module = self.value
        return lambda: runpy.run_module(module, run_name="__main__", alter_sys=True)

    def _prepare_code(self) -> Callable[[], None]:
        try:
            code = compile(self.value, "<string>", "exec", dont_inherit=True)
        except SyntaxError as e:
            raise TargetError(_syntax_error(e), 1) from None
        sys.argv[:] = ["-c", *self.args]
        sys.path.insert(0, "")
        module = _fresh_main("<string>")
        _calls.keep(code)
        return lambda: exec(code, module.__dict__)


# Options that take a value: everything after the first argument that is not an option
# (or after -m/-c and their value) belongs to the program.
_VALUE_OPTIONS = {
    "-r", "--renderer", "-o", "--outfile", "-i", "--interval", "-p", "--render-option",
    "--show", "--show-regex", "--hide", "--hide-regex", "--load",
}  # fmt: skip


def split_argv(argv: List[str]) -> Tuple[List[str], Optional[Target]]:
    """callscope's own arguments, and the program to run (if any) with its arguments."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-m", "-c"):
            if i + 1 >= len(argv):
                return argv, None  # argparse reports the missing value
            kind = "module" if arg == "-m" else "code"
            return argv[:i], Target(kind, argv[i + 1], argv[i + 2 :])
        if arg.startswith("-m") and len(arg) > 2:
            return argv[:i], Target("module", arg[2:], argv[i + 1 :])
        if arg == "--":
            rest = argv[i + 1 :]
            return argv[:i], (Target("script", rest[0], rest[1:]) if rest else None)
        if not arg.startswith("-") or arg == "-":
            return argv[:i], Target("script", arg, argv[i + 1 :])
        if arg in _VALUE_OPTIONS:
            i += 2
        elif arg == "--load-prev" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            i += 2
        else:
            i += 1
    return argv, None


def _cannot_open(path: str, reason: str, errno: Optional[int]) -> str:
    return f"callscope: can't open file {path!r}: [Errno {errno}] {reason}"


def _syntax_error(e: SyntaxError) -> str:
    where = f"{e.filename}, line {e.lineno}" if e.filename else f"line {e.lineno}"
    return f"callscope: {type(e).__name__} in {where}: {e.msg}"


def _fresh_main(path: str) -> types.ModuleType:
    """A new ``__main__`` module, registered, so pickling and ``sys.modules["__main__"]``
    see the program rather than callscope."""
    module = types.ModuleType("__main__")
    module.__dict__.update(
        __file__=path,
        __builtins__=builtins,
        __spec__=None,
        __package__=None,
        __cached__=None,
        __loader__=None,
    )
    sys.modules["__main__"] = module
    return module


def wait_for_threads() -> None:
    """Waits for the program's non-daemon threads, as the interpreter does before exiting,
    so their time is in the profile."""
    main = threading.main_thread()
    while True:
        pending = [
            t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()
        ]
        if not pending:
            return
        for t in pending:
            t.join()


def print_program_exception(exc: BaseException) -> None:
    """Prints the program's traceback without callscope's and runpy's own frames."""
    import traceback

    tb = exc.__traceback__
    package = os.path.dirname(os.path.abspath(__file__))

    def ours(filename: str) -> bool:
        path = os.path.abspath(filename)
        return os.path.dirname(path) == package or "runpy" in os.path.basename(filename)

    while tb is not None and ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code for ``SystemExit(code)``, as the interpreter computes it."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    print(code, file=sys.stderr)
    return 1

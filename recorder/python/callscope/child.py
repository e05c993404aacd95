"""The program's side of the ``callscope`` command (see ``launcher.py``): it runs the
program under a Profiler that streams the recording to the launcher. ``python -m
callscope`` comes here before importing the command's own modules: every millisecond of
this process's start-up is the program's.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NoReturn, Optional, Tuple

# The child's two descriptors, "SPOOL,GATE": the stream's write end, and the read end of
# the gate it waits at until the launcher has checked the options.
FDS_ENV = "CALLSCOPE_CHILD_FDS"


def fds() -> Optional[Tuple[int, int]]:
    """The stream's and the gate's file descriptors, taken out of the environment (and made
    non-inheritable) so that the program's own subprocesses do not see them; None when
    this process is not a launcher's child."""
    value = os.environ.pop(FDS_ENV, None)
    if value is None:
        return None
    spool, gate = (int(v) for v in value.split(","))
    os.set_inheritable(spool, False)
    os.set_inheritable(gate, False)
    return spool, gate


def wait(gate: int) -> Optional[float]:
    """Waits until the launcher has checked the options; returns the sampling interval it
    parsed, or None when it refused them (it has said why)."""
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = os.read(gate, 64)
            if not chunk:
                return None
            data += chunk
    except KeyboardInterrupt:
        # Ctrl-C before the program started: the launcher passes 130 on.
        os._exit(130)
    finally:
        os.close(gate)
    return float(data)


def run(argv: List[str], spool_fd: int, gate_fd: int) -> NoReturn:
    """The launcher's child: runs the program under a Profiler streaming to ``spool_fd``,
    once the launcher has checked the options and sent the interval through the gate."""
    # Imported before the wait, while the launcher parses.
    from callscope.profiler import Profiler
    from callscope.runner import (
        TargetError,
        exit_code_of,
        print_program_exception,
        split_argv,
        wait_for_threads,
    )

    interval = wait(gate_fd)
    if interval is None:
        os._exit(0)
    _, target = split_argv(argv)
    assert target is not None
    try:
        program = target.prepare()
    except TargetError as e:
        print(str(e), file=sys.stderr)
        sys.exit(e.exit_code)

    # Started before the program, outside any task: async mode would have nothing to watch
    # ("disabled" is pyinstrument's command-line default too).
    profiler = Profiler(interval=interval, async_mode="disabled")
    profiler._spool_fd = spool_fd
    exit_code = 0
    try:
        profiler.start(target_description=target.description)
    except (RuntimeError, ValueError) as e:
        print(f"callscope: {e}", file=sys.stderr)
        sys.exit(1)
    try:
        program()
        wait_for_threads()
    except SystemExit as e:
        exit_code = exit_code_of(e)
    except KeyboardInterrupt:
        print("callscope: interrupted (Ctrl-C); the profile so far follows", file=sys.stderr)
        exit_code = 130
    except BaseException as e:
        print_program_exception(e)
        exit_code = 1
    finally:
        profiler.stop()
    sys.stdout.flush()
    sys.exit(exit_code)

"""The `callscope` command's launcher: the program runs in a child process that streams its
recording to a pipe as it happens; the launcher rebuilds the session from the pipe, so the
profile survives however the program ends (``os._exit``, a signal, a segfault), and passes
the program's exit status on as a shell reports it (``n``, or 128 + the signal).

Signals sent to the launcher reach the program as if sent to it directly. Those the
terminal sends to the whole foreground process group (Ctrl-C, Ctrl-\\, a resize) already
reach the program, so only signals sent by a process are forwarded.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

from callscope import _native
from callscope._native import Session

SPOOL_ENV = "CALLSCOPE_SPOOL_FD"
INTERVAL_ENV = "CALLSCOPE_INTERVAL"
FORWARDED = {
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
}
# si_code of a signal sent by kill(), sigqueue() or tgkill(): zero or negative.
_SENT_BY_A_PROCESS = 0


def child_spool_fd() -> Optional[int]:
    """In the child: the stream's file descriptor, taken out of the environment so that
    the program's own subprocesses do not see it."""
    value = os.environ.pop(SPOOL_ENV, None)
    if value is None:
        return None
    fd = int(value)
    os.set_inheritable(fd, False)
    return fd


def child_interval() -> float:
    """In the child: the sampling interval the launcher parsed."""
    return float(os.environ.pop(INTERVAL_ENV, "0.001"))


def run(argv: List[str], interval: float) -> Tuple[Optional[Session], int, Optional[str]]:
    """Runs ``python -m callscope ARGV`` as the child; returns the session (None if the
    program never started recording), the exit status to pass on, and how the program
    ended when it did not exit by itself."""
    # Imported here: the child, which imports this module too, never needs them.
    import fcntl
    import subprocess

    read_end, write_end = os.pipe()
    # A larger pipe, so that the child is never holding samples the pipe could not take
    # when it dies (the first ticks send every code object the program has imported).
    try:
        fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass
    waited = FORWARDED | {signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "callscope", *argv],
            env=dict(os.environ, **{SPOOL_ENV: str(write_end), INTERVAL_ENV: repr(interval)}),
            pass_fds=(write_end,),
            preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, old_mask),
        )
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        raise
    finally:
        os.close(write_end)
    replay = _native.Replay()
    problems: List[str] = []
    done = threading.Event()
    reader = threading.Thread(target=_pump, args=(read_end, replay, done, problems), daemon=True)
    reader.start()
    try:
        while child.poll() is None:
            info = signal.sigtimedwait(waited, 0.2)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if info.si_code <= _SENT_BY_A_PROCESS:
                child.send_signal(info.si_signo)
    finally:
        # The program's own children may keep the pipe open: take what is there and stop.
        done.set()
        reader.join()
        os.close(read_end)
        while signal.sigtimedwait(waited, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    status = child.returncode
    note = None
    if status < 0:
        name = signal.Signals(-status).name
        note = f"the program was killed by {name}; the profile up to then follows"
        status = 128 - status
    elif not replay.ended:
        note = "the program ended without finishing its profile (os._exit?); the profile up to then follows"
    for problem in problems:
        print(f"callscope: {problem}", file=sys.stderr)
    return replay.finish(), status, note


def _pump(fd: int, replay, done: threading.Event, problems: List[str]) -> None:
    import select

    broken = False
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            if done.is_set():
                return
            continue
        data = os.read(fd, 1 << 16)
        if not data:
            return
        if broken:
            continue
        try:
            replay.feed(data)
        except ValueError as e:
            problems.append(f"the recording stream was damaged, the profile stops there: {e}")
            broken = True

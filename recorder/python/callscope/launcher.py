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
from callscope.child import FDS_ENV
from callscope._native import Session

FORWARDED = {
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
}
_WAITED = FORWARDED | {signal.SIGCHLD}
# si_code of a signal sent by kill(), sigqueue() or tgkill(): zero or negative.
_SENT_BY_A_PROCESS = 0


class Child:
    """The program's process. It is started before the launcher parses its options, so
    that its interpreter starts while the launcher imports and parses, and waits at a gate
    until :meth:`run` opens it (or :meth:`cancel` closes it)."""

    def __init__(self, argv: List[str]) -> None:
        # Imported here: the child, which imports this module too, never needs it.
        import fcntl

        self.read_end, write_end = os.pipe()
        gate_read, self.gate = os.pipe()
        # A larger pipe, so that the child is never holding samples the pipe could not take
        # when it dies (the first ticks send every code object the program has imported).
        try:
            fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass
        # From here until the child has ended, the signals to forward are taken by
        # sigtimedwait rather than delivered; the child starts with the mask as it was.
        self.old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
        try:
            os.set_inheritable(write_end, True)
            os.set_inheritable(gate_read, True)
            env = dict(os.environ, **{FDS_ENV: f"{write_end},{gate_read}"})
            # posix_spawn rather than subprocess: importing subprocess costs the launcher
            # more than its whole start-up otherwise. SIGPIPE and SIGXFSZ back to their
            # defaults, as subprocess does (Python ignores them).
            self.pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "callscope", *argv],
                env,
                setsigmask=self.old_mask,
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
            )
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.old_mask)
            os.close(self.read_end)
            os.close(self.gate)
            raise
        finally:
            os.close(write_end)
            os.close(gate_read)
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def cancel(self) -> None:
        """The options were refused: the child ends without running the program."""
        os.close(self.gate)
        os.close(self.read_end)
        _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        self._restore_signals()

    def _restore_signals(self) -> None:
        while signal.sigtimedwait(_WAITED, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old_mask)

    def run(self, interval: float) -> Tuple[Optional[Session], int, Optional[str]]:
        """Lets the program start; returns the session (None if the program never started
        recording), the exit status to pass on, and how the program ended when it did not
        exit by itself."""
        try:
            os.write(self.gate, f"{interval!r}\n".encode())
        except OSError:
            pass  # the child has ended already (Ctrl-C while it started)
        os.close(self.gate)
        replay = _native.Replay()
        problems: List[str] = []
        done = threading.Event()
        reader = threading.Thread(
            target=_pump, args=(self.read_end, replay, done, problems), daemon=True
        )
        reader.start()
        try:
            while self.poll() is None:
                info = signal.sigtimedwait(_WAITED, 0.2)
                if info is None or info.si_signo == signal.SIGCHLD:
                    continue
                if info.si_code <= _SENT_BY_A_PROCESS:
                    os.kill(self.pid, info.si_signo)
        finally:
            # The program's own children may keep the pipe open: take what is there and stop.
            done.set()
            reader.join()
            os.close(self.read_end)
            self._restore_signals()
        status = self.returncode
        assert status is not None
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

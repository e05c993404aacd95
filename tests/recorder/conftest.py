"""Helpers for the recorder's end-to-end tests: real programs run under the real
``callscope`` command (or the API) on the CPython that runs pytest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

import callscope

pytest_plugins = ["pytester"]

# The tests send the programs they run SIGINT and SIGHUP and expect what a terminal gives:
# a suite started in the background (`make test &` ignores SIGINT) or under nohup (SIGHUP)
# would hand them those signals ignored, since exec keeps a signal ignored. Seen as exit
# status 0 instead of 130 and 129 in a clean-clone run started with nohup.
for _signal, _default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGHUP, signal.SIG_DFL)):
    if signal.getsignal(_signal) == signal.SIG_IGN:
        signal.signal(_signal, _default)

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
FIXTURES = HERE.parent / "fixtures" / "pyinstrument"


def run_callscope(*args: str, cwd: Path = SCRIPTS, env: Dict[str, str] = None, **kw):
    """Runs ``python -m callscope ARGS`` and returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ, NO_COLOR="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "callscope", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


@pytest.fixture
def profile_script(tmp_path):
    """Profiles a script from ``scripts/`` and returns its Session."""

    def run(
        name: str, *args: str, expect_code: int = 0, options: Sequence[str] = ()
    ) -> callscope.Session:
        out = tmp_path / (name + ".pyisession")
        proc = run_callscope(*options, "-r", "session", "-o", str(out), name, *args)
        assert proc.returncode == expect_code, proc.stderr
        return callscope.Session.load(str(out))

    return run


def thread_totals(session: callscope.Session) -> Dict[str, Dict[str, float]]:
    """Inclusive seconds per function name, per thread name, counting recursion once, from
    the session's speedscope export (one profile per thread; threads of one name together)."""
    doc = json.loads(session.to_bytes("speedscope"))
    frames = doc["shared"]["frames"]
    totals: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for profile in doc["profiles"]:
        per_func = totals[profile["name"].rsplit(" (", 1)[0]]
        for stack, weight in zip(profile["samples"], profile["weights"]):
            for func in {frames[i]["name"] for i in stack}:
                per_func[func] += weight / 1e6
    return {name: dict(per_func) for name, per_func in totals.items()}


def busy(seconds: float) -> None:
    """Keeps the CPU busy for ``seconds`` of wall time."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main_totals(session: callscope.Session) -> Dict[str, float]:
    return thread_totals(session)["MainThread"]


def longest_gap(session: callscope.Session, thread: str = "MainThread") -> float:
    """The largest weight of one sample, in seconds. Weights are the wall time since the
    previous sample, so a timer stalled by the machine (seen here up to 45 ms on a loaded
    2-core box) gives that span to the stack it reads next: a phase's total is only known
    to within this."""
    doc = json.loads(session.to_bytes("speedscope"))
    for profile in doc["profiles"]:
        if profile["name"].rsplit(" (", 1)[0] == thread:
            return max(profile["weights"], default=0) / 1e6
    raise KeyError(thread)


def stacks(session: callscope.Session, thread: str = "MainThread") -> List[List[str]]:
    """Every sample's stack of function names, outermost first, of the threads named
    ``thread``."""
    doc = json.loads(session.to_bytes("speedscope"))
    frames = doc["shared"]["frames"]
    found = [p for p in doc["profiles"] if p["name"].rsplit(" (", 1)[0] == thread]
    if not found:
        raise KeyError(thread)
    return [[frames[i]["name"] for i in s] for p in found for s in p["samples"]]

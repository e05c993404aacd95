"""pytest: profile a test run (installed with callscope, as the ``callscope`` plugin).

    pytest --callscope              one session and HTML report for the whole run
    pytest --callscope-per-test     one session and report per test
    pytest ... --callscope-dir DIR  where they go (default: callscope-profiles)

Each test's profile covers its setup, call and teardown, so slow fixtures show. At the end
of the run the slowest profiled tests' trees are printed (``--callscope-top N``, default 3).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

import pytest

from callscope._web import UNSAFE_IN_NAMES
from callscope.profiler import Profiler

def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("callscope", "profiling with callscope")
    group.addoption("--callscope", action="store_true", help="profile the whole test run")
    group.addoption(
        "--callscope-per-test", action="store_true", help="profile each test on its own"
    )
    group.addoption(
        "--callscope-dir",
        default="callscope-profiles",
        help="directory for the sessions and reports (default: callscope-profiles)",
    )
    group.addoption(
        "--callscope-interval", type=float, default=0.001, help="sampling interval in seconds"
    )
    group.addoption(
        "--callscope-top",
        type=int,
        default=3,
        help="print the trees of the N slowest profiled tests (default 3; 0 for none)",
    )


def pytest_configure(config: Any) -> None:
    if config.getoption("callscope") or config.getoption("callscope_per_test"):
        config.pluginmanager.register(CallscopePlugin(config), "callscope-profiling")


def file_stem(nodeid: str) -> str:
    """``tests/test_api.py::test_x[a-1]`` → ``tests_test_api.py_test_x_a-1_``."""
    return UNSAFE_IN_NAMES.sub("_", nodeid)[:150] or "test"


class CallscopePlugin:
    def __init__(self, config: Any) -> None:
        self.whole_run = bool(config.getoption("callscope"))
        self.per_test = bool(config.getoption("callscope_per_test"))
        self.directory = os.path.abspath(config.getoption("callscope_dir"))
        self.interval = float(config.getoption("callscope_interval"))
        self.top = int(config.getoption("callscope_top"))
        self.run_profiler: Optional[Profiler] = None
        self.test_profiler: Optional[Profiler] = None
        # (seconds, nodeid, session) of every profiled test, for the summary.
        self.tests: List[Tuple[float, str, Any]] = []
        self.written: Dict[str, str] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: Any) -> None:
        if self.whole_run:
            self.run_profiler = Profiler(interval=self.interval)
            self.run_profiler.start(target_description="pytest")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: Any) -> None:
        if self.run_profiler is not None and self.run_profiler.is_running:
            s = self.run_profiler.stop()
            self.written["the test run"] = self._write(s, "pytest-run")

    # Setup, call and teardown of one test are start/stop pairs of one Profiler, so they
    # build one session.
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: Any) -> Any:
        if self.per_test:
            self.test_profiler = Profiler(interval=self.interval, threads="current")
        yield from self._phase(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: Any) -> Any:
        yield from self._phase(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: Any) -> Any:
        yield from self._phase(item)
        profiler, self.test_profiler = self.test_profiler, None
        if profiler is not None and profiler.last_session is not None:
            s = profiler.last_session
            self.tests.append((s.duration, item.nodeid, s))
            self._write(s, file_stem(item.nodeid))

    def _phase(self, item: Any) -> Any:
        profiler = self.test_profiler
        if profiler is None:
            yield
            return
        profiler.start(target_description=item.nodeid)
        try:
            yield
        finally:
            profiler.stop()

    def _write(self, session: Any, stem: str) -> str:
        from callscope import report

        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, stem)
        session.save(path + ".pyisession")
        report.write(report.report(session), path + ".html")
        return path + ".html"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if not (self.tests or self.written):
            return
        tr.write_sep("=", "callscope")
        if self.per_test:
            tr.write_line(f"{len(self.tests)} test profiles in {self.directory}")
        for what, path in self.written.items():
            tr.write_line(f"{what}: {path}")
        slowest = sorted(self.tests, key=lambda t: t[0], reverse=True)[: max(self.top, 0)]
        for seconds, nodeid, session in slowest:
            tr.write_sep("-", f"{nodeid} ({seconds:.3f} s)")
            tree = session.render_text(header=False, unicode=True, threshold=0.05)
            tr.write_line(tree.rstrip("\n"))

"""``pytest --callscope`` and ``--callscope-per-test``, run on a small suite by pytester."""

from __future__ import annotations

import callscope
from conftest import main_totals

SUITE = '''
import time
import pytest

def crunch(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

@pytest.fixture
def slow_fixture():
    crunch(0.05)
    yield
    crunch(0.03)

def test_slow(slow_fixture):
    crunch(0.15)

@pytest.mark.parametrize("n", [1, 2])
def test_quick(n):
    crunch(0.01 * n)

def test_fails():
    crunch(0.02)
    assert False
'''


def test_whole_run_writes_one_session_and_report(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("--callscope", "--callscope-dir", "profiles")
    result.assert_outcomes(passed=3, failed=1)
    run = pytester.path / "profiles" / "pytest-run"
    session = callscope.Session.load(str(run) + ".pyisession")
    totals = main_totals(session)
    assert totals["test_slow"] > 0.08 and totals["slow_fixture"] > 0.04, totals
    assert (run.with_suffix(".html")).read_text().lstrip().lower().startswith("<!doctype html>")
    result.stdout.fnmatch_lines(["*callscope*", f"the test run: {run}.html"])


def test_per_test_profiles_cover_setup_call_and_teardown(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("--callscope-per-test", "--callscope-top", "1")
    result.assert_outcomes(passed=3, failed=1)
    directory = pytester.path / "callscope-profiles"
    names = sorted(p.name for p in directory.glob("*.pyisession"))
    assert names == [
        "test_suite.py_test_fails.pyisession",
        "test_suite.py_test_quick_1_.pyisession",
        "test_suite.py_test_quick_2_.pyisession",
        "test_suite.py_test_slow.pyisession",
    ], names
    slow = main_totals(callscope.Session.load(str(directory / "test_suite.py_test_slow.pyisession")))
    # Fixture setup (0.05) and teardown (0.03) are in the test's profile, beside its body.
    assert slow["test_slow"] > 0.08 and slow["slow_fixture"] > 0.04, slow
    quick = main_totals(callscope.Session.load(str(directory / "test_suite.py_test_quick_1_.pyisession")))
    assert "test_slow" not in quick
    # The summary prints the slowest test's tree, and only that one.
    out = result.stdout.str()
    assert "4 test profiles in" in out
    assert "test_suite.py::test_slow (" in out and "test_suite.py::test_quick[1] (" not in out
    assert "crunch" in out.split("test_suite.py::test_slow (", 1)[1]


def test_without_the_options_nothing_is_profiled(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3, failed=1)
    assert not (pytester.path / "callscope-profiles").exists()
    out = result.stdout.str()
    assert "plugins:" in out and "callscope" in out  # loaded through its entry point
    assert "test profiles" not in out and "the test run" not in out

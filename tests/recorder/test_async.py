"""Async mode, as pyinstrument's: a Profiler started inside a task shows where the task
waits, not where the event loop does."""

import asyncio
import contextvars
import json
import subprocess
import sys
from collections import defaultdict

import pytest

import callscope
from callscope import Profiler
from conftest import FIXTURES, busy, longest_gap, main_totals, stacks


def profile_task(mode, body):
    """Runs ``body()`` in a task under a Profiler started inside that task."""

    async def main():
        with Profiler(interval=0.001, async_mode=mode) as p:
            await body()
        return p.last_session

    return asyncio.run(main())


def names(session):
    return {name for stack in stacks(session) for name in stack}


def loop_waits(session):
    """Samples in the event loop's selector (`select`, `epoll.poll`)."""
    return [st for st in stacks(session) if any(n.endswith(("select", "poll")) for n in st)]


async def wait_after_work():
    busy(0.1)
    await asyncio.sleep(0.3)


def test_time_awaiting_shows_under_the_await_it_waits_at():
    s = profile_task("enabled", wait_after_work)
    t = main_totals(s)
    assert t["[await]"] > 0.2, t
    assert t["wait_after_work"] > 0.3, t
    assert any(st[-3:] == ["wait_after_work", "sleep", "[await]"] for st in stacks(s))
    # The await is shown under the loop frames the task runs in, as its work is.
    awaiting = next(st for st in stacks(s) if st[-1] == "[await]")
    working = next(st for st in stacks(s) if st[-1] == "busy")
    assert awaiting[: awaiting.index("wait_after_work")] == working[: working.index("wait_after_work")]
    assert not loop_waits(s)


def test_disabled_mode_shows_the_loop_waiting():
    s = profile_task("disabled", wait_after_work)
    assert "[await]" not in names(s)
    assert loop_waits(s)


async def child_a():
    busy(0.1)
    await asyncio.sleep(0.05)


async def child_b():
    busy(0.15)
    await asyncio.sleep(0.15)


async def fan_out():
    await asyncio.gather(child_a(), child_b())


def test_tasks_created_inside_are_profiled_with_their_own_stacks():
    s = profile_task("enabled", fan_out)
    t, slack = main_totals(s), longest_gap(s)
    # The children inherit the profiled context: their work is recorded as it runs.
    assert t["child_a"] > 0.08 - slack and t["child_b"] > 0.12 - slack, (t, slack)
    assert any(st[-2:] == ["child_b", "busy"] and "fan_out" not in st for st in stacks(s))
    # While every child waits, the profiled task waits at its gather.
    assert any(st[-2:] == ["fan_out", "[await]"] for st in stacks(s))
    assert t["[await]"] > 0.05, t
    assert not loop_waits(s)


async def elsewhere():
    busy(0.3)


def run_beside_other_task(mode):
    async def main():
        other = asyncio.ensure_future(elsewhere())  # made before: not profiled
        with Profiler(interval=0.001, async_mode=mode) as p:
            await asyncio.sleep(0.01)  # `elsewhere` runs meanwhile
            busy(0.05)
        await other
        return p.last_session

    return asyncio.run(main())


@pytest.mark.parametrize("mode", ["enabled", "strict"])
def test_another_tasks_work_is_the_profiled_task_awaiting(mode):
    s = run_beside_other_task(mode)
    assert "elsewhere" not in names(s)
    t = main_totals(s)
    assert t["[await]"] > 0.2 and t["busy"] > 0.03, t


def test_disabled_mode_shows_the_other_tasks_work():
    s = run_beside_other_task("disabled")
    assert main_totals(s)["elsewhere"] > 0.2


def outside():
    busy(0.15)


def inside():
    busy(0.15)


def run_in_and_out_of_context(mode):
    context = contextvars.copy_context()
    p = Profiler(interval=0.001, async_mode=mode)
    context.run(p.start)
    outside()
    context.run(inside)
    context.run(p.stop)
    return p.last_session


def test_strict_mode_shows_time_outside_the_context_as_out_of_context():
    s = run_in_and_out_of_context("strict")
    t = main_totals(s)
    assert "outside" not in t, t
    assert t["[out-of-context]"] > 0.08 and t["inside"] > 0.08, t
    # Under the function that started the Profiler.
    assert any(
        st[-2:] == ["run_in_and_out_of_context", "[out-of-context]"] for st in stacks(s)
    )


def test_enabled_mode_outside_a_task_records_every_stack():
    s = run_in_and_out_of_context("enabled")
    t = main_totals(s)
    assert t["outside"] > 0.08 and t["inside"] > 0.08, t
    assert "[out-of-context]" not in t


def paths_from(session, root):
    """Seconds per stack of function names from ``root`` down, for the main thread."""
    doc = json.loads(session.to_bytes("speedscope"))
    frames = doc["shared"]["frames"]
    profile = next(p for p in doc["profiles"] if p["name"].startswith("MainThread"))
    totals = defaultdict(float)
    for stack, weight in zip(profile["samples"], profile["weights"]):
        names = [frames[i]["name"] for i in stack]
        if root in names:
            names = names[names.index(root) :]
            for depth in range(1, len(names) + 1):
                totals[tuple(names[:depth])] += weight / 1e6
    return totals


def test_the_same_program_gives_pyinstruments_async_tree(tmp_path):
    # pyinstrument 5.1.3 recorded this program's fixture with async_mode="enabled".
    script = FIXTURES / "scripts" / "api_async_mode.py"
    out = tmp_path / "ours.pyisession"
    subprocess.run([sys.executable, str(script), "callscope", str(out)], check=True, timeout=60)
    ours = paths_from(callscope.Session.load(str(out)), "Handle._run")
    theirs = paths_from(callscope.Session.load(str(FIXTURES / "api_async_mode.pyisession")), "Handle._run")

    def significant(paths):
        return {p for p, seconds in paths.items() if seconds > 0.05 and "perf_counter" not in p}

    assert significant(ours) == significant(theirs), (sorted(ours.items()), sorted(theirs.items()))
    assert ours[("Handle._run", "main", "fetch", "sleep", "[await]")] > 0.15

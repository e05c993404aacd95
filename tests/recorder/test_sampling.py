"""What the sampler records for real programs."""

from conftest import main_totals, stacks, thread_totals


def test_sleep_time_is_split_as_the_program_slept(profile_script):
    s = profile_script("sleeps.py")
    t = main_totals(s)
    slept = t["short"] + t["medium"] + t["long"]
    assert 0.55 < slept < 0.75, t
    for name, share in (("short", 1 / 6), ("medium", 2 / 6), ("long", 3 / 6)):
        assert abs(t[name] / slept - share) < 0.05, (name, t)
    # Wall weights add up to the duration: nothing is lost between samples.
    assert abs(t["main"] - s.duration) < 0.05
    counts = s.counts
    assert counts["errors"] == 0
    # A pass per tick, but for ticks the scheduler of a loaded machine delays.
    assert s.sample_count >= 0.6 * s.duration / s.interval, (s.sample_count, s.duration)


def test_every_thread_is_profiled_under_its_name(profile_script):
    s = profile_script("threads.py")
    totals = thread_totals(s)
    worker = totals["cpu-worker"]
    assert worker["crunch"] > 0.05, worker
    assert "crunch" not in totals["MainThread"]
    # A thread started before the worker, waiting in sleep, is there too.
    assert totals["early-waiter"]["waiter"] > 0.1
    # The main thread sits in join() while the worker runs, and is sampled there.
    assert totals["MainThread"]["main"] > 0.9 * totals["cpu-worker"]["crunch"]
    by_name = {t["name"]: t for t in s.threads}
    assert by_name["cpu-worker"]["cpu_time"] > 0.5 * by_name["cpu-worker"]["wall_time"]
    assert by_name["early-waiter"]["cpu_time"] < 0.5 * by_name["early-waiter"]["wall_time"]
    assert by_name["MainThread"]["is_main"]
    assert s.counts["errors"] == 0


def test_call_shapes(profile_script):
    s = profile_script("shapes.py")
    all_stacks = stacks(s)
    t = main_totals(s)
    nested = [st for st in all_stacks if "inner" in st]
    assert nested and all(st[st.index("outer") :][:4] == ["outer", "middle", "inner", "spin"] for st in nested if st[-1] == "spin")
    # Methods are named by the class that defines them, on every version.
    assert t["Parser.parse"] > 0.01
    assert t["Parser.build"] > 0.01
    assert "JsonParser.parse" not in t
    # Generators and closures appear under their own names, inside their callers.
    assert t["numbers"] > 0.01
    assert any(st[-3:] == ["main", "numbers", "spin"] for st in all_stacks)
    assert t["add_all"] > 0.01
    # 900 levels of recursion are recorded whole.
    deepest = max(st.count("recurse") for st in all_stacks)
    assert deepest == 901, deepest
    assert s.counts["errors"] == 0


def test_a_long_c_call_keeps_its_time(profile_script, tmp_path):
    s = profile_script("long_c_call.py")
    t = main_totals(s)
    assert abs(t["pause"] - 0.1) < 0.03, t
    # The regex call cannot be interrupted; the sample after it carries the time it took.
    assert t["c_work"] > 0.2, t


def test_fork_while_profiling(profile_script):
    s = profile_script("forks.py")
    t = main_totals(s)
    assert t["busy"] > 0.08, t
    assert s.counts["errors"] == 0

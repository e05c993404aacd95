"""The Python API, named as pyinstrument's."""

import io
import threading
import time

import pytest

import callscope
from callscope import Profiler
from callscope.renderers import SpeedscopeRenderer
from conftest import busy, main_totals, thread_totals


def sleepy():
    time.sleep(0.05)


def test_context_manager_and_rendering(tmp_path):
    with Profiler(interval=0.0005) as p:
        sleepy()
    assert not p.is_running
    s = p.last_session
    assert isinstance(s, callscope.Session)
    assert 0.03 < main_totals(s)["sleepy"] < 0.2
    text = p.output_text()
    assert "sleepy" in text and "test_api.py" in text
    assert "\x1b[" in p.output_text(color=True)
    assert "%" in p.output_text(time="percent_of_total")
    buf = io.StringIO()
    p.print(file=buf)
    assert "sleepy" in buf.getvalue() and "\x1b[" not in buf.getvalue()
    assert '"frames"' in p.output(SpeedscopeRenderer())
    path = tmp_path / "x.pyisession"
    p.write_session(path)
    again = callscope.Session.load(str(path))
    assert again.sample_count == s.sample_count and again.duration == s.duration
    assert again.python_version == s.python_version != ""


def parse():
    busy(0.06)


def render():
    busy(0.06)


def test_consecutive_start_stop_pairs_build_one_session():
    p = Profiler(interval=0.0005)
    p.start()
    parse()
    first = p.stop()
    time.sleep(0.2)  # not profiled: left out of the session
    p.start()
    render()
    both = p.stop()
    assert p.last_session is both
    totals = main_totals(both)
    assert totals["parse"] > 0.03 and totals["render"] > 0.03
    assert both.sample_count > first.sample_count
    assert first.duration < both.duration < first.duration + 0.15
    p.reset()
    p.start()
    render()
    fresh = p.stop()
    assert "parse" not in main_totals(fresh) and "render" in main_totals(fresh)


def test_misuse_gets_clear_errors():
    p = Profiler()
    with pytest.raises(RuntimeError, match="nothing recorded"):
        p.output_text()
    with pytest.raises(RuntimeError, match="not running"):
        p.stop()
    p.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            p.start()
        with pytest.raises(RuntimeError, match="still running"):
            p.output_text()
        errors = []
        t = threading.Thread(target=lambda: errors.append(_raises(p.stop)))
        t.start()
        t.join()
        assert "thread that called start" in str(errors[0])
    finally:
        p.stop()
    with pytest.raises(ValueError):
        Profiler(async_mode="sometimes")
    p.reset()
    assert p.last_session is None


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test inspects it
        return e
    return None


def _request(name, seconds, out, barrier):
    """What a per-request middleware does: a Profiler of its own thread only."""
    barrier.wait()
    with Profiler(interval=0.0005, threads="current") as p:
        busy(seconds)
    out[name] = p.last_session


def test_profilers_start_on_any_thread_and_record_their_own_thread():
    # Failed on the signal-based sampler: start() off the main thread raised RuntimeError.
    sessions = {}
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=_request, args=(n, 0.3, sessions, barrier), name=n)
        for n in ("req-a", "req-b")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in ("req-a", "req-b"):
        s = sessions[name]
        assert [t["name"] for t in s.threads] == [name]
        assert 0.25 < s.duration < 1.0


def _first_work():
    busy(0.15)


def _second_work(stop):
    busy(0.1)
    stop.wait()


def test_a_thread_reusing_an_ended_threads_ident_keeps_its_own_name():
    # Failed before: at the end, threads were named by ident, so the ended "first" took the
    # name of "second", which glibc gives the same ident (a 3.9 stress run showed it as
    # one thread recorded twice).
    stop = threading.Event()
    with Profiler(interval=0.001) as p:
        first = threading.Thread(target=_first_work, name="first")
        first.start()
        first.join()
        second = threading.Thread(target=_second_work, args=(stop,), name="second")
        second.start()
        time.sleep(0.2)
        same_ident = first.ident == second.ident
    stop.set()
    second.join()
    assert same_ident, "the test needs glibc to reuse the ended thread's ident"
    totals = thread_totals(p.last_session)
    assert "_first_work" in totals["first"]
    assert "_first_work" not in totals["second"]
    assert "_second_work" in totals["second"]


def test_cpu_time_is_the_programs_not_the_samplers():
    # Failed before: the session's CPU time was the process's, which counts callscope's
    # timer thread: about 0.2 s for this second of sleep at 20 kHz.
    with Profiler(interval=0.00005) as p:
        time.sleep(1.0)
    s = p.last_session
    assert s.sample_count > 1000
    assert s.cpu_time < 0.05, s.cpu_time
    with Profiler(interval=0.00005) as p:
        before = time.thread_time()
        busy(0.3)
        used = time.thread_time() - before
    assert used - 0.01 < p.last_session.cpu_time < used + 0.05, (p.last_session.cpu_time, used)


def test_threads_must_be_all_or_current():
    with pytest.raises(ValueError, match="threads"):
        Profiler(threads="main")
    assert Profiler().threads == "all"


def test_profilers_can_nest():
    outer = Profiler()
    outer.start()
    with Profiler() as inner:
        sleepy()
    time.sleep(0.03)
    outer_session = outer.stop()
    assert main_totals(inner.last_session)["sleepy"] > 0.03
    assert outer_session.duration > inner.last_session.duration + 0.02
    assert main_totals(outer_session)["sleepy"] > 0.03


def test_profile_decorator_and_block_print_to_stderr(capsys):
    @callscope.profile
    def decorated():
        sleepy()
        return 42

    assert decorated() == 42
    err = capsys.readouterr().err
    assert "callscope: test_profile_decorator_and_block_print_to_stderr.<locals>.decorated()" in err
    assert "sleepy" in err
    with callscope.profile(interval=0.0005):
        sleepy()
    assert "sleepy" in capsys.readouterr().err


def test_load_refuses_foreign_data(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(callscope.SessionLoadError, match="x.json"):
        callscope.Session.load(str(path))
    with pytest.raises(callscope.SessionLoadError):
        callscope.Session.from_bytes(b"")

"""The ``callscope`` command: running programs as Python would, and its outputs."""

import collections
import io
import json
import os
import pstats
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import callscope
from conftest import FIXTURES, SCRIPTS, main_totals, run_callscope


def test_prints_the_tree_and_keeps_the_session(tmp_path):
    proc = run_callscope("sleeps.py", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "callscope · sleeps.py"
    tree = "\n".join(lines)
    assert re.search(r"0\.[23]\d\d long  sleeps\.py:12", tree), tree
    # The launcher's own frames are not in the tree.
    assert "cli.py" not in tree and "runpy" not in tree
    m = re.search(r"--load-prev (\S+)", proc.stderr)
    assert m, proc.stderr
    again = run_callscope("--load-prev", m.group(1), "-p", "time=percent_of_total",
                          env={"XDG_CACHE_HOME": str(tmp_path)})
    assert again.returncode == 0, again.stderr
    assert re.search(r"\d+\.\d% long", again.stdout), again.stdout
    latest = run_callscope("--load-prev", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert "long  sleeps.py" in latest.stdout


def test_runs_the_script_as_python_would():
    proc = run_callscope("exits.py", "argv", "x", "--flag")
    assert proc.returncode == 0, proc.stderr
    assert "'__main__' ['exits.py', 'argv', 'x', '--flag'] True" in proc.stdout


def test_module_and_code_targets():
    proc = run_callscope("-m", "pkg.tool", "a", "-b")
    assert proc.returncode == 0, proc.stderr
    assert "module __main__ ['a', '-b']" in proc.stdout
    assert "work  pkg/tool.py" in proc.stdout
    proc = run_callscope("-c", "import sys, time\ndef nap():\n    time.sleep(0.05)\nnap()\nprint(sys.argv)", "z")
    assert proc.returncode == 0, proc.stderr
    assert "['-c', 'z']" in proc.stdout
    assert re.search(r"0\.0\d\d nap  <string>:2", proc.stdout), proc.stdout


def test_exit_code_is_passed_on(tmp_path):
    out = tmp_path / "s.pyisession"
    proc = run_callscope("-r", "session", "-o", str(out), "exits.py", "exit3")
    assert proc.returncode == 3
    assert callscope.Session.load(str(out)).duration > 0.04


def test_an_exception_prints_its_traceback_and_keeps_the_profile(tmp_path):
    out = tmp_path / "s.pyisession"
    proc = run_callscope("-r", "session", "-o", str(out), "exits.py", "raise")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "ValueError: boom from the program" in proc.stderr
    assert "runner.py" not in proc.stderr and "cli.py" not in proc.stderr
    assert main_totals(callscope.Session.load(str(out)))["busy"] > 0.04


def test_ctrl_c_stops_the_program_and_keeps_the_profile(tmp_path):
    out = tmp_path / "s.pyisession"
    proc = subprocess.Popen(
        [sys.executable, "-m", "callscope", "-r", "session", "-o", str(out), "exits.py", "sleep"],
        cwd=SCRIPTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "sleeping"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    totals = main_totals(callscope.Session.load(str(out)))
    assert 0.1 < totals["main"] < 5, totals


def test_a_missing_script_or_a_syntax_error_is_one_line(tmp_path):
    proc = run_callscope("no_such_script.py")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "can't open file" in proc.stderr and "No such file or directory" in proc.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    proc = run_callscope(str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "SyntaxError" in proc.stderr and "line 1" in proc.stderr
    proc = run_callscope("-m", "no_such_module_here")
    assert proc.returncode == 1
    assert "No module named no_such_module_here" in proc.stderr


@pytest.mark.parametrize("renderer", ["speedscope", "json", "collapsed", "session", "text"])
def test_renderers_write_files(tmp_path, renderer):
    out = tmp_path / f"out.{renderer}"
    proc = run_callscope("-r", renderer, "-o", str(out), "sleeps.py")
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    if renderer == "speedscope":
        doc = json.loads(data)
        assert doc["$schema"].endswith("file-format-schema.json")
        assert any(f["name"] == "long" for f in doc["shared"]["frames"])
    elif renderer == "json":
        assert json.loads(data)["root_frame"]["function"] == "<module>"
    elif renderer == "collapsed":
        # Every stack through `long`: a sample may also catch it just before its sleep.
        through = [l for l in data.decode().splitlines() if ";long " in l]
        assert sum(int(l.rsplit(" ", 1)[1]) for l in through) > 200, through
    elif renderer == "session":
        assert data[:2] == b"\x1f\x8b"
        assert main_totals(callscope.Session.load(str(out)))["long"] > 0.25
    else:
        assert "long  sleeps.py:12" in data.decode()


def test_render_options_and_filters(tmp_path):
    out = tmp_path / "s.pyisession"
    assert run_callscope("-r", "session", "-o", str(out), "shapes.py").returncode == 0
    flat = run_callscope("--load", str(out), "-p", "flat=true")
    assert flat.returncode == 0, flat.stderr
    assert re.search(r"^\d\.\d+ spin  shapes\.py:5$", flat.stdout, re.M), flat.stdout
    hidden = run_callscope("--load", str(out), "--hide", "*/shapes.py")
    assert "frames hidden" in hidden.stdout and "Parser.parse" not in hidden.stdout
    assert "├─" not in run_callscope("--load", str(out), "--no-unicode").stdout
    timeline = run_callscope("--load", str(out), "-t")
    assert timeline.returncode == 0
    bad = run_callscope("--load", str(out), "-p", "nonsense=1")
    assert bad.returncode == 2 and "no option 'nonsense'" in bad.stderr


def test_color_only_on_a_terminal_and_never_with_no_color(tmp_path):
    out = tmp_path / "s.pyisession"
    run_callscope("-r", "session", "-o", str(out), "sleeps.py")
    assert "\x1b[" not in run_callscope("--load", str(out), env={"NO_COLOR": ""}).stdout
    assert "\x1b[" in run_callscope("--load", str(out), "--color").stdout

    def on_tty(env):
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(sys.executable, [sys.executable, "-m", "callscope", "--load", str(out)], env)
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        return b"".join(chunks).decode()

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[" in on_tty(env)
    assert "\x1b[" not in on_tty(dict(env, NO_COLOR="1"))


def test_load_of_pyinstrument_sessions_matches_pyinstrument_output():
    for name in ("mixed", "recursion", "asyncio_sleep", "api_async_mode"):
        # pyinstrument prints every level of a recursion.
        proc = run_callscope(
            "--load", str(FIXTURES / f"{name}.pyisession"), "--no-unicode", "-p", "collapse_recursion=false"
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        theirs = (FIXTURES / f"{name}.pyinstrument.txt").read_text()
        pattern = re.compile(r"^[ |`\-│├└─]*(\d+\.\d+) (\S+)", re.M)
        ours = sorted(pattern.findall(proc.stdout))
        expected = sorted(pattern.findall(theirs))
        assert ours == expected, (name, proc.stdout, theirs)


def test_load_errors_are_clear(tmp_path):
    junk = tmp_path / "junk.pyisession"
    junk.write_bytes(b"\x1f\x8b\x08\x00garbage")
    proc = run_callscope("--load", str(junk))
    assert proc.returncode == 1
    assert "junk.pyisession" in proc.stderr and "gzip" in proc.stderr
    proc = run_callscope("--load", str(tmp_path / "missing.pyisession"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_version_and_usage():
    proc = run_callscope("--version")
    assert proc.stdout.strip() == f"callscope {callscope.__version__}"
    proc = run_callscope()
    assert proc.returncode == 2 and "usage:" in proc.stderr


@pytest.mark.parametrize(
    "mode, status, how",
    [("exit", 3, "os._exit"), ("term", 143, "SIGTERM"), ("hup", 129, "SIGHUP"),
     ("segv", 139, "SIGSEGV"), ("abort", 134, "SIGABRT")],
)  # fmt: skip
def test_a_program_that_dies_still_leaves_its_profile(tmp_path, mode, status, how):
    # Failed before the launcher: the exit status was kept, the profile lost.
    out = tmp_path / "p.pyisession"
    proc = run_callscope("-r", "session", "-o", str(out), "ends.py", mode)
    assert proc.returncode == status, proc.stderr
    assert how in proc.stderr
    s = callscope.Session.load(str(out))
    assert 0.15 < main_totals(s)["busy"] < 0.5, main_totals(s)


def test_a_signal_to_callscope_reaches_the_program_and_the_profile_is_kept(tmp_path):
    out = tmp_path / "p.pyisession"
    proc = subprocess.Popen(
        [sys.executable, "-m", "callscope", "-r", "session", "-o", str(out), "ends.py", "wait"],
        cwd=SCRIPTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "SIGTERM" in err
    assert main_totals(callscope.Session.load(str(out)))["busy"] > 0.15


def export_shapes(tmp_path, renderer, name):
    """shapes.py's session, and its export with ``-r renderer`` from ``--load``."""
    session_file, out = tmp_path / "x.pyisession", tmp_path / name
    proc = run_callscope("-r", "session", "-o", str(session_file), "shapes.py")
    assert proc.returncode == 0, proc.stderr
    proc = run_callscope("--load", str(session_file), "-r", renderer, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return session_file, out


def test_pstats_output_loads_in_python_pstats_with_the_function_tables_times(tmp_path):
    session_file, out = export_shapes(tmp_path, "pstats", "x.prof")
    stats = pstats.Stats(str(out)).stats
    by_name = {name: figures for (_, _, name), figures in stats.items()}
    session = callscope.Session.load(str(session_file))

    def table(flat):
        """The function table's seconds per Python function (`name  shapes.py:line`)."""
        text = session.render_text(flat=flat, show_all=True, header=False)
        rows = (line.split() for line in text.splitlines() if "shapes.py:" in line)
        return {row[1]: float(row[0]) for row in rows}

    totals, own = table("total"), table("self")
    for name in ("outer", "middle", "inner", "spin", "Parser.parse", "recurse"):
        cc, nc, tt, ct, callers = by_name[name]
        assert cc == nc > 0
        # The table prints milliseconds: equal within its rounding (half a millisecond, and
        # a float's error on top: 0.3485 s printed as 0.348 is 0.0005000000000000004 off).
        half = 0.0005 + 1e-9
        assert abs(ct - totals[name]) <= half and abs(tt - own.get(name, 0)) <= half, (
            name, (tt, ct), (own.get(name), totals[name]))  # fmt: skip
    # Own time: spin does the work, its callers do none; recursion is counted once.
    assert by_name["spin"][2] > 0.5 * by_name["spin"][3]
    assert by_name["middle"][2] < 0.05 * by_name["middle"][3] + 0.005
    # Callers: middle is called by outer only, for all its time.
    callers = {name: figures for (_, _, name), figures in by_name["middle"][4].items()}
    assert set(callers) == {"outer"}
    assert abs(callers["outer"][3] - by_name["middle"][3]) < 1e-9
    # pstats' own reports run on it.
    report = io.StringIO()
    pstats.Stats(str(out), stream=report).sort_stats("cumulative").print_stats(5).print_callers("spin")
    assert "spin" in report.getvalue() and "shapes.py" in report.getvalue()


def go_pprof_top(path, sample_index):
    """``go tool pprof -top`` of a file, as {name: (flat ms, cum ms)}, and its header."""
    proc = subprocess.run(
        ["go", "tool", "pprof", "-top", "-unit=ms", "-nodefraction=0", "-nodecount=100000",
         f"-sample_index={sample_index}", str(path)],
        capture_output=True, text=True, env={**os.environ, "PPROF_TMPDIR": str(path.parent)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)(?:ms)?\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(?:ms)?\s+[\d.]+%\s+(.+)$", line)
        if m:
            rows[m[3]] = (float(m[1]), float(m[2]))
    return rows, proc.stdout


def test_pprof_output_reads_in_go_pprof_with_the_function_tables_times(tmp_path):
    session_file, out = export_shapes(tmp_path, "pprof", "x.pb.gz")
    wall, text = go_pprof_top(out, "wall")
    assert "Type: wall" in text, text
    session = callscope.Session.load(str(session_file))

    def table(flat):
        """The function table's milliseconds per function (`s  name  file:line`), by name:
        pprof's -top puts together the functions of one name."""
        text = session.render_text(flat=flat, show_all=True, header=False)
        ms = collections.defaultdict(list)
        for row in (line.split() for line in text.splitlines()):
            ms[row[1]].append(float(row[0]) * 1000)
        return ms

    totals, own = table("total"), table("self")
    for name in ("outer", "middle", "inner", "spin", "Parser.parse", "recurse"):
        flat, cum = wall[name]
        # Within the rounding of the function table (milliseconds, per function). Own
        # times add up; a sample under two functions of one name counts once in pprof.
        assert abs(flat - sum(own.get(name, [0]))) <= 2, (name, flat, own.get(name))
        assert max(totals[name]) - 2 <= cum <= sum(totals[name]) + 2, (name, cum, totals[name])
    # Names pprof could take for C++ are kept; the launcher's frames are left out, as the
    # function table leaves them.
    assert "<module>" in wall and "<unknown>" not in wall, text
    assert not any(name.startswith(("run_child", "_run_code")) for name in wall), wall
    # CPU time is the second sample type: shapes.py computes, so most of it is CPU.
    cpu, _ = go_pprof_top(out, "cpu")
    assert cpu["spin"][1] > 0.5 * wall["spin"][1], (cpu["spin"], wall["spin"])


def test_deep_recursion_prints_a_few_lines_unless_asked_for_every_level(tmp_path):
    out = tmp_path / "deep.pyisession"
    proc = run_callscope("-r", "session", "-o", str(out), "deep_recursion.py")
    assert proc.returncode == 0, proc.stderr
    folded = run_callscope("--load", str(out))
    assert re.search(r"down  deep_recursion\.py:8  \[× 3,000 recursive calls\]", folded.stdout), folded.stdout
    assert len(folded.stdout.splitlines()) < 30
    every = run_callscope("--load", str(out), "-p", "collapse_recursion=false")
    assert every.stdout.count("down  deep_recursion.py:8") > 2_900


def test_firefox_output_has_each_threads_samples_with_callscopes_times(tmp_path):
    session_file, out = export_shapes(tmp_path, "firefox", "x.firefox.json")
    doc = json.loads(out.read_text())
    session = callscope.Session.load(str(session_file))
    interval_ms = doc["meta"]["interval"]
    assert interval_ms == session.interval * 1000
    categories = [c["name"] for c in doc["meta"]["categories"]]
    (main,) = [t for t in doc["threads"] if t["isMainThread"]]
    (recorded,) = [t for t in session.threads if t["is_main"]]
    samples = main["samples"]
    # Weights are ticks: the track's running time is callscope's wall time, less the
    # launcher's few samples.
    ms = sum(samples["weight"]) * interval_ms
    assert abs(ms - recorded["wall_time"] * 1000) <= 0.05 * recorded["wall_time"] * 1000 + 5, (ms, recorded)
    # shapes.py computes: its samples are drawn as running Python, the CPU deltas add up
    # to about the thread's CPU time.
    names = main["stringArray"]
    leaf_categories = collections.Counter(
        categories[main["frameTable"]["category"][main["stackTable"]["frame"][s]]] for s in samples["stack"]
    )
    assert leaf_categories.most_common(1)[0][0] == "Python", leaf_categories
    assert abs(sum(samples["threadCPUDelta"]) / 1e6 - recorded["cpu_time"]) < 0.05 + 0.1 * recorded["cpu_time"], recorded
    assert any(n.startswith("Parser.parse  ") and "shapes.py:" in n for n in names), names


def test_py_spy_raw_output_loads_with_its_functions_and_sample_counts(tmp_path):
    py_spy = Path(sys.executable).with_name("py-spy")
    raw = tmp_path / "raw.txt"
    proc = subprocess.run(
        [str(py_spy), "record", "-r", "200", "-f", "raw", "-o", str(raw), "--",
         sys.executable, str(SCRIPTS / "shapes.py")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0 or not raw.exists():
        pytest.skip(f"py-spy cannot record here: {proc.stderr.strip()[-300:]}")
    session = callscope.Session.load(str(raw))

    def stacks_of(text):
        """Samples per call path of collapsed text; py-spy's empty stack as we name it."""
        out = collections.Counter()
        for line in filter(str.strip, text.splitlines()):
            stack, count = line.rsplit(" ", 1)
            out[stack.strip() or "[no Python frames]"] += int(count)
        return out

    # Every frame keeps its name, file and line, and every path its count: written back
    # out, the session is py-spy's file.
    theirs = stacks_of(raw.read_text())
    assert stacks_of(session.to_bytes("collapsed").decode()) == theirs
    assert session.counts["samples"] == sum(theirs.values())
    assert any(path.endswith("spin (shapes.py:8)") for path in theirs), theirs

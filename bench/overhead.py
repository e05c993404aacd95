"""Profiler overhead, side by side in one run: each workload plain, under callscope (at 1 ms
and at 0.1 ms), under pyinstrument and under py-spy (when it runs here) at 1 ms; and an
asyncio workload profiled from inside its task with ``async_mode="enabled"`` by callscope
and pyinstrument. Medians of ``--runs`` runs, interleaved so that machine noise hits
every profiler alike; each run's ratio is to the plain run of its own round.

    .venv/bin/python bench/overhead.py [--runs 7]

Then the steady-state cost (bench/workloads/steady.py: the same work timed in windows with
and without a Profiler, in one process, so that this machine's drifting speed cancels
out). Also prints the samples callscope took per second and as a share of those expected, the
samples each profiler served per thread on the contention workload, the sampler thread's
CPU time per pass against stack depth, and callscope's memory per 100,000 samples.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
WORKLOADS = {
    "call-heavy": HERE / "workloads" / "call_heavy.py",
    "mixed": HERE / "workloads" / "mixed.py",
    "contention": HERE / "workloads" / "contention.py",
}
# Profiled through the Profiler API from inside a task (async_mode="enabled"): the script
# takes the profiler's module name, or "none".
API_WORKLOADS = {
    "async": HERE / "workloads" / "async_tasks.py",
}
PY = sys.executable


def run(cmd: List[str], check: bool = True) -> Tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) and exit status of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if check and code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err}")
    return elapsed, usage.ru_maxrss, code


def pyspy_works(out: Path) -> Optional[str]:
    exe = shutil.which("py-spy", path=os.path.dirname(PY)) or shutil.which("py-spy")
    if not exe:
        return None
    subprocess.run(
        [exe, "record", "-r", "1000", "-f", "raw", "-o", str(out), "--",
         PY, "-c", "import time; time.sleep(0.3)"],
        capture_output=True,
    )
    return exe if out.exists() else None


def commands(workload: Path, tmp: Path, pyspy: Optional[str]) -> Dict[str, List[str]]:
    cmds = {
        "plain": [PY, str(workload)],
        "callscope": [PY, "-m", "callscope", "-i", "0.001", "-r", "session",
                      "-o", str(tmp / "cs.pyisession"), str(workload)],
        "callscope@0.1ms": [PY, "-m", "callscope", "-i", "0.0001", "-r", "session",
                            "-o", str(tmp / "cs10k.pyisession"), str(workload)],
        "pyinstrument": [PY, "-m", "pyinstrument", "-i", "0.001", "-r", "session",
                         "-o", str(tmp / "pyi.json"), str(workload)],
    }  # fmt: skip
    if pyspy:
        cmds["py-spy"] = [pyspy, "record", "-r", "1000", "--threads", "-f", "raw",
                          "-o", str(tmp / "spy.txt"), "--", PY, str(workload)]  # fmt: skip
    return cmds


def api_commands(workload: Path) -> Dict[str, List[str]]:
    return {name: [PY, str(workload), module] for name, module in
            (("plain", "none"), ("callscope", "callscope"), ("pyinstrument", "pyinstrument"))}  # fmt: skip


def callscope_samples(tmp: Path, workload: Path, interval: float = 0.001) -> Tuple[float, float]:
    """Sampling passes per second, and their share of duration / interval."""
    import callscope

    out = tmp / "rate.pyisession"
    run([PY, "-m", "callscope", "-i", str(interval), "-r", "session", "-o", str(out), str(workload)])
    s = callscope.Session.load(str(out))
    passes = s.counts["samples"]
    return passes / s.duration, passes / (s.duration / interval)


def per_thread(tmp: Path, pyspy: Optional[str]) -> None:
    """Samples each profiler served per thread on the contention workload, at 1 ms."""
    import json

    import callscope

    workload = WORKLOADS["contention"]
    cmds = commands(workload, tmp, pyspy)
    print("contention: samples per thread at 1 ms (ticks expected: duration / 1 ms)")
    run(cmds["callscope"])
    s = callscope.Session.load(str(tmp / "cs.pyisession"))
    counts = ", ".join(f"{t['name']} {t['samples']}" for t in s.threads)
    print(f"  callscope     {counts}  (duration {s.duration:.2f} s → {s.duration / 0.001:,.0f} ticks)")
    run(cmds["pyinstrument"])
    doc = json.loads((tmp / "pyi.json").read_text())
    records = len(doc.get("frame_records", []))
    duration = doc.get("duration", 0.0)
    print(f"  pyinstrument  the profiling thread only: {records} (duration {duration:.2f} s)")
    if pyspy:
        spy_out = tmp / "spy.txt"
        spy_out.unlink(missing_ok=True)
        _, _, code = run(cmds["py-spy"], check=False)
        if spy_out.exists() and spy_out.stat().st_size > 0:
            threads: Dict[str, int] = {}
            for line in spy_out.read_text().splitlines():
                stack, _, n = line.rpartition(" ")
                thread = stack.split(";", 1)[0]
                threads[thread] = threads.get(thread, 0) + int(n)
            print("  py-spy        " + ", ".join(f"{k} {v}" for k, v in sorted(threads.items())))
        else:
            print(f"  py-spy        crashed (exit status {code})")


def cost_by_depth(tmp: Path) -> None:
    """The sampler thread's CPU time per pass, for one thread at each stack depth."""
    script = HERE / "workloads" / "deep.py"
    figures = []
    for depth in (10, 50, 200):
        out = subprocess.run([PY, str(script), str(depth), "2", "0.001"], capture_output=True,
                             text=True, check=True)  # fmt: skip
        figures.append(f"depth {depth}: {float(out.stdout):.1f} µs")
    print("callscope sampler CPU per pass (2 threads, one at the depth): " + ", ".join(figures))


def steady(rounds: int) -> None:
    """The cost while a program runs, with the machine's drift cancelled out: windows with
    and without a Profiler, alternately, in one process (see workloads/steady.py)."""
    configs = (("callscope", "0.001"), ("callscope", "0.0001"), ("pyinstrument", "0.001"))
    print(f"steady state (workloads/steady.py, median of {rounds} runs): "
          "× a workload's pace without a profiler")  # fmt: skip
    print(f"  {'workload':<11} {'callscope 1 ms':>15} {'callscope 0.1 ms':>17} {'pyinstrument':>13}")
    for name in ("call_heavy", "mixed", "contention"):
        cells = []
        for profiler, interval in configs:
            ratios = [
                float(subprocess.run([PY, str(HERE / "workloads" / "steady.py"), name, profiler, interval],
                                     capture_output=True, text=True, check=True).stdout)
                for _ in range(rounds)
            ]  # fmt: skip
            cells.append(f"{statistics.median(ratios):.3f}×")
        print(f"  {name.replace('_', '-'):<11} {cells[0]:>15} {cells[1]:>17} {cells[2]:>13}")


def fixed_cost(tmp: Path, runs: int) -> None:
    """What each command adds to an empty program: start-up, and saving the session."""
    empty = tmp / "empty.py"
    empty.write_text("pass\n")
    cmds = {
        "plain": [PY, str(empty)],
        "callscope": [PY, "-m", "callscope", "-r", "session", "-o", str(tmp / "e.pyisession"), str(empty)],
        "pyinstrument": [PY, "-m", "pyinstrument", "-r", "session", "-o", str(tmp / "e.json"), str(empty)],
    }  # fmt: skip
    times: Dict[str, List[float]] = {k: [] for k in cmds}
    for _ in range(max(runs, 5)):
        for key, cmd in cmds.items():
            times[key].append(run(cmd)[0])
    plain = statistics.median(times["plain"])
    added = ", ".join(
        f"{key} +{(statistics.median(times[key]) - plain) * 1000:.0f} ms" for key in cmds if key != "plain"
    )
    print(f"start-up and saving, on an empty program: plain {plain * 1000:.0f} ms; {added}")


def memory_per_100k(tmp: Path) -> Tuple[float, int]:
    """Bytes of peak RSS per 100,000 samples: the difference between a short and a long run
    of the same program, so fixed costs (the interpreter, the extension) cancel out."""
    import callscope

    script = HERE / "workloads" / "threads_for_memory.py"
    results = []
    for seconds in (2.0, 8.0):
        out = tmp / f"mem{seconds}.pyisession"
        _, rss, _ = run([PY, "-m", "callscope", "-i", "0.0001", "-r", "session", "-o", str(out),
                         str(script), str(seconds)])  # fmt: skip
        results.append((rss * 1024, callscope.Session.load(str(out)).sample_count))
    (rss_a, n_a), (rss_b, n_b) = results
    return (rss_b - rss_a) / (n_b - n_a) * 100_000, n_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="callscope-bench-"))
    pyspy = pyspy_works(tmp / "probe.txt")
    import pyinstrument

    print(f"CPython {sys.version.split()[0]}, pyinstrument {pyinstrument.__version__}, "
          f"py-spy {'available' if pyspy else 'not available'}; {args.runs} rounds: median "
          "time, and median of each run's ratio to the plain run of its round")  # fmt: skip
    header = f"{'workload':<11} {'profiler':<16} {'median s':>9} {'× plain':>8}"
    print(header)
    print("-" * len(header))
    for name, workload in {**WORKLOADS, **API_WORKLOADS}.items():
        api = name in API_WORKLOADS
        cmds = api_commands(workload) if api else commands(workload, tmp, pyspy)
        # Per round: this machine's speed drifts by more than the overheads measured, so
        # each run is compared with the plain run of its own round.
        times: Dict[str, Dict[int, float]] = {k: {} for k in cmds}
        crashes = 0
        for round_ in range(args.runs):
            for key, cmd in cmds.items():
                if key != "py-spy":
                    times[key][round_] = run(cmd)[0]
                    continue
                # py-spy is a guest here: a run only counts if it wrote its samples
                # (it also exits 1 after writing when its child was already reaped).
                spy_out = tmp / "spy.txt"
                spy_out.unlink(missing_ok=True)
                elapsed, _, code = run(cmd, check=False)
                if spy_out.exists() and spy_out.stat().st_size > 0:
                    times[key][round_] = elapsed
                else:
                    crashes += 1
                    print(f"  (py-spy run failed on {name}: exit status {code})", file=sys.stderr)
        plain = times["plain"]
        for key in cmds:
            if len(times[key]) < 3:
                print(f"{name:<11} {key:<16} crashed in {crashes} of {args.runs} runs: no figure")
                continue
            med = statistics.median(times[key].values())
            ratio = statistics.median(t / plain[r] for r, t in times[key].items())
            note = f"  (the {len(times[key])} runs that did not crash)" if key == "py-spy" and crashes else ""
            print(f"{name:<11} {key:<16} {med:>9.3f} {ratio:>7.3f}×{note}")
        if api:
            continue
        taken = []
        for interval in (0.001, 0.0001):
            rate, share = callscope_samples(tmp, workload, interval)
            taken.append(f"{rate:,.0f} samples/s ({share:.0%} of expected) at {interval * 1000:g} ms")
        print(f"{name:<11} callscope took " + ", ".join(taken))
    steady(max(3, args.runs // 2))
    fixed_cost(tmp, args.runs)
    per_thread(tmp, pyspy)
    cost_by_depth(tmp)
    per_100k, samples = memory_per_100k(tmp)
    print(f"callscope memory: {per_100k / 1e6:.1f} MB per 100k samples "
          f"(peak RSS, {samples:,} samples over 8 s, 9 threads)")  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

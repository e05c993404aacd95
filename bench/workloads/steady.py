"""A profiler's steady-state cost, measured so that this machine's drifting speed cancels
out: WORKLOAD's `unit()` is timed over and over, in windows alternately with and without a
running Profiler (PROFILER: callscope or pyinstrument, at INTERVAL seconds). Neighbouring
windows run at the same machine speed, so each profiled window is compared with the
unprofiled windows on either side of it. Prints the median of those ratios.

    python bench/workloads/steady.py WORKLOAD PROFILER INTERVAL [WINDOWS]

Whole runs of a program (bench/overhead.py's main table) also count start-up and saving,
but two plain runs of the same program differed by up to half here, far more than a
sampler's cost; this measures the cost while a program runs.

For `contention`, two worker threads run `work` all along, with or without the profiler,
and a window's figure is its wall time per step of work done by all three threads: the
main thread's time alone would measure its share of the GIL, which anything that changes
how the scheduler hands the GIL over moves both ways (a thread that only wakes at 10 kHz
slowed the main thread by 1.3-1.8x here, one that spins sped it up 1.3-2x) while the
program's throughput is what a user waits for.
"""

import importlib
import importlib.util
import statistics
import sys
import threading
import time
from pathlib import Path

UNITS_PER_WINDOW = 12
# Steps of contention.py's `work` in one piece of a worker's.
WORKER_STEPS = 1_000


def load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def window(module, done=None):
    """Median seconds of `module.unit()`; the first unit of a window (caches after a
    profiler started or stopped) is left out. With `done` (a function giving the steps the
    workers have finished so far), seconds per step of all threads' work over the whole
    window."""
    unit = module.unit
    unit()
    times = []
    start_all, done_before = time.perf_counter(), done() if done else 0
    for _ in range(UNITS_PER_WINDOW):
        start = time.perf_counter()
        unit()
        times.append(time.perf_counter() - start)
    if done:
        steps = UNITS_PER_WINDOW * module.UNIT_STEPS + done() - done_before
        return (time.perf_counter() - start_all) / steps
    return statistics.median(times)


def main():
    workload, name, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    windows = int(sys.argv[4]) if len(sys.argv) > 4 else 41
    module = load(workload)
    stop = threading.Event()
    workers, finished = [], [0, 0]
    done = None
    if workload == "contention":
        def spin(i):
            while not stop.is_set():
                module.work(WORKER_STEPS)
                finished[i] += WORKER_STEPS

        def done():
            return sum(finished)

        workers = [threading.Thread(target=spin, args=(i,), name=f"worker-{i + 1}") for i in (0, 1)]
        for w in workers:
            w.start()
    for _ in range(3):
        module.unit()
    figures = []
    for k in range(windows):
        if k % 2:
            # callscope and pyinstrument share this API (as in async_tasks.py).
            p = importlib.import_module(name).Profiler(interval=interval)
            p.start()
            figures.append(window(module, done))
            p.stop()
        else:
            figures.append(window(module, done))
    stop.set()
    for w in workers:
        w.join()
    ratios = [figures[k] / ((figures[k - 1] + figures[k + 1]) / 2) for k in range(1, windows - 1, 2)]
    print(f"{statistics.median(ratios):.4f}")


if __name__ == "__main__":
    main()

"""A profiler's steady-state cost, measured so that this machine's drifting speed cancels
out: WORKLOAD's `unit()` is timed over and over, in windows alternately with and without a
running Profiler (PROFILER: callscope or pyinstrument, at INTERVAL seconds). Neighbouring
windows run at the same machine speed, so each profiled window is compared with the
unprofiled windows on either side of it. Prints the median of those ratios.

    python bench/workloads/steady.py WORKLOAD PROFILER INTERVAL [WINDOWS]

Whole runs of a program (bench/overhead.py's main table) also count start-up and saving,
but two plain runs of the same program differed by up to half here, far more than a
sampler's cost; this measures the cost while a program runs. For `contention`, two
worker threads run `work` all along, with or without the profiler.
"""

import importlib
import importlib.util
import statistics
import sys
import threading
import time
from pathlib import Path

UNITS_PER_WINDOW = 12


def load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def window(unit):
    """Median seconds of a unit; the first unit of a window (caches after a profiler
    started or stopped) is left out."""
    times = []
    for _ in range(UNITS_PER_WINDOW + 1):
        start = time.perf_counter()
        unit()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main():
    workload, name, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    windows = int(sys.argv[4]) if len(sys.argv) > 4 else 41
    module = load(workload)
    stop = threading.Event()
    workers = []
    if workload == "contention":
        def spin():
            while not stop.is_set():
                module.work(10_000)

        workers = [threading.Thread(target=spin, name=f"worker-{i}") for i in (1, 2)]
        for w in workers:
            w.start()
    for _ in range(3):
        module.unit()
    medians = []
    for k in range(windows):
        if k % 2:
            # callscope and pyinstrument share this API (as in async_tasks.py).
            p = importlib.import_module(name).Profiler(interval=interval)
            p.start()
            medians.append(window(module.unit))
            p.stop()
        else:
            medians.append(window(module.unit))
    stop.set()
    for w in workers:
        w.join()
    ratios = [medians[k] / ((medians[k - 1] + medians[k + 1]) / 2) for k in range(1, windows - 1, 2)]
    print(f"{statistics.median(ratios):.4f}")


if __name__ == "__main__":
    main()

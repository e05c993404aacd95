"""A thread that recurses to DEPTH and spins there for SECONDS while a Profiler records at
INTERVAL; prints the sampler thread's CPU time per sampling pass (µs)."""
import os
import sys
import threading
import time

import callscope

DEPTH, SECONDS, INTERVAL = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])


def spin_at(depth, until):
    if depth > 1:
        return spin_at(depth - 1, until)
    while time.perf_counter() < until:
        pass


def sampler_cpu_ns():
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/comm") as f:
            if f.read().strip() == "callscope-timer":
                with open(f"/proc/self/task/{tid}/schedstat") as s:
                    return int(s.read().split()[0])
    raise SystemExit("no callscope-timer thread")


p = callscope.Profiler(interval=INTERVAL)
p.start()
t = threading.Thread(target=spin_at, args=(DEPTH, time.perf_counter() + SECONDS))
t.start()
t.join()
cpu = sampler_cpu_ns()
session = p.stop()
print(f"{cpu / 1000 / session.counts['samples']:.2f}")

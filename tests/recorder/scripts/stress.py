"""Everything that changes a stack under a sampler at once, for a few seconds: threads
starting and ending (300 in all), exceptions unwinding deep stacks, fork, and
multiprocessing with each start method. Exits 0 when every part did its work."""
import multiprocessing
import os
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
# Forking a multi-threaded free-threaded 3.13 process is what CPython itself warns against
# (DeprecationWarning: "may lead to deadlocks"); there it crashed once in three runs.
FORK = "--no-fork" not in sys.argv


def deep(n):
    if n == 0:
        raise ValueError("bottom")
    return deep(n - 1)


def unwind(until):
    count = 0
    while time.perf_counter() < until:
        try:
            deep(200)
        except ValueError:
            count += 1
    return count


def short_lived(i):
    # Some end at once, some after a little work: exits land mid-sample.
    if i % 3:
        sum(range(2000 * (i % 7)))


def square(x):
    return x * x


def churn(until, started):
    n = 0
    while time.perf_counter() < until or n < 300:
        batch = [threading.Thread(target=short_lived, args=(n + k,)) for k in range(10)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
        n += len(batch)
        time.sleep(SECONDS / 60)
    started.append(n)


def main():
    until = time.perf_counter() + SECONDS
    started = []
    churner = threading.Thread(target=churn, args=(until, started), name="churn")
    unwinder = threading.Thread(target=unwind, args=(until,), name="unwind")
    churner.start()
    unwinder.start()
    if FORK:
        pid = os.fork()
        if pid == 0:
            unwind(time.perf_counter() + 0.2)
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 7, status
    for method in ("fork", "spawn", "forkserver") if FORK else ("spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            assert pool.map(square, range(20)) == [x * x for x in range(20)]
    unwind(until)
    churner.join()
    unwinder.join()
    assert started and started[0] >= 300, started
    print(f"threads={started[0]}")


if __name__ == "__main__":
    main()

"""Contention: three CPU-bound threads (the main thread and two workers) for the same
work, each a loop of small pure-Python calls."""
import threading


def step(x):
    return (x * 31 + 7) % 1_000_003


def work(n):
    x = 1
    for _ in range(n):
        x = step(x)
    return x


# Steps of `work` in one `unit()`.
UNIT_STEPS = 30_000


def unit():
    """One small piece of the main thread's work, for bench/workloads/steady.py (which
    keeps two workers busy meanwhile)."""
    work(UNIT_STEPS)


def main():
    n = 6_000_000
    workers = [threading.Thread(target=work, args=(n,), name=f"worker-{i}") for i in (1, 2)]
    for w in workers:
        w.start()
    work(n)
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()

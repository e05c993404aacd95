"""A recursion 3,000 calls deep, spending its time at the bottom."""
import sys
import time

sys.setrecursionlimit(10_000)


def down(n):
    if n == 0:
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            pass
        return
    down(n - 1)


down(3_000)

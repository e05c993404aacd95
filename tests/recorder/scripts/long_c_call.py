"""A long call into C that holds the GIL and never reaches a safe point."""
import re
import time


def pause():
    time.sleep(0.1)


def c_work():
    # Catastrophic backtracking inside the regex engine: about 0.3-0.6 s in one C call.
    t = time.perf_counter()
    re.match(r"(a+)+b", "a" * 24)
    return time.perf_counter() - t


def main():
    pause()
    spent = c_work()
    print(f"c_work {spent:.3f}")


main()

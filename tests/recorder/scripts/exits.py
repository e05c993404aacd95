"""Behaves as told by its first argument, to test how callscope passes outcomes on."""
import sys
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main(mode):
    busy(0.05)
    if mode == "exit3":
        sys.exit(3)
    if mode == "raise":
        raise ValueError("boom from the program")
    if mode == "sleep":
        print("sleeping", flush=True)
        time.sleep(30)
    if mode == "argv":
        import os
        print(repr(__name__), sys.argv, repr(sys.path[0]) == repr(os.path.dirname(os.path.abspath(__file__))))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")

"""Memory per sample: eight threads with distinct stacks, for SECONDS (argv[1])."""
import sys
import threading
import time

SECONDS = float(sys.argv[1])


def level(n, stop):
    if n:
        return level(n - 1, stop)
    x = 0
    while time.perf_counter() < stop:
        x += 1
        if x % 500 == 0:
            time.sleep(0.0005)


def main():
    stop = time.perf_counter() + SECONDS
    threads = [threading.Thread(target=level, args=(5 + 3 * i, stop)) for i in range(8)]
    for t in threads:
        t.start()
    level(2, stop)
    for t in threads:
        t.join()


main()

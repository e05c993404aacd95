"""Two threads for the export tests: the main thread computes while a worker computes and
then sleeps."""

import threading
import time


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def worker():
    crunch(1_000_000)
    time.sleep(0.1)


thread = threading.Thread(target=worker, name="worker")
thread.start()
crunch(1_500_000)
thread.join()

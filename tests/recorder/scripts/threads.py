import threading
import time


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def waiter():
    time.sleep(0.2)


def main():
    before = threading.Thread(target=waiter, name="early-waiter")
    before.start()
    worker = threading.Thread(target=crunch, args=(3_000_000,), name="cpu-worker")
    worker.start()
    # The main thread blocks in join while the worker runs.
    worker.join()
    before.join()
    # Short-lived threads that exit while sampling runs.
    for i in range(50):
        t = threading.Thread(target=crunch, args=(2_000,), name=f"short-{i}")
        t.start()
        t.join()


main()

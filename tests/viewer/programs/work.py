"""A small program for the report tests: a CPU-bound function and a sleep."""

import time


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def wait():
    time.sleep(0.2)


def main():
    crunch(2_000_000)
    wait()


main()

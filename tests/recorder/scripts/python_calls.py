"""A loop that calls a Python function millions of times, and a C function beside it."""


def tiny():
    return 1


def calls():
    for _ in range(2_000_000):
        tiny()


def sorts():
    for _ in range(30):
        sorted(range(100_000), reverse=True)


calls()
sorts()

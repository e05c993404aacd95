import os
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main():
    busy(0.05)
    pid = os.fork()
    if pid == 0:
        busy(0.05)
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    print("child exit", os.WEXITSTATUS(status))
    busy(0.05)


main()

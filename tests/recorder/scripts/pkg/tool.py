import sys
import time


def work():
    time.sleep(0.05)


if __name__ == "__main__":
    work()
    print("module", __name__, sys.argv[1:])

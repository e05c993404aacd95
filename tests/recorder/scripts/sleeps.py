import time


def short():
    time.sleep(0.1)


def medium():
    time.sleep(0.2)


def long():
    time.sleep(0.3)


def main():
    short()
    medium()
    long()


if __name__ == "__main__":
    main()

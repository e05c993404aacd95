"""Call-heavy: recursive fib plus list, dict and string work (pyinstrument's worst case)."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def containers(n):
    d = {}
    for i in range(n):
        d[str(i)] = [i, i * 2, str(i * 3)]
    keys = sorted(d, key=lambda k: d[k][1], reverse=True)
    return len("|".join(keys[:5000]).upper().split("|"))


def main():
    for _ in range(20):
        fib(25)
        for _ in range(150):
            containers(2_000)



def unit():
    """One small piece of the same work, for bench/workloads/steady.py."""
    fib(21)
    containers(4_000)


if __name__ == "__main__":
    main()

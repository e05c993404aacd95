"""Nested calls, methods, class methods, generators, closures and deep recursion."""
import sys


def spin(n):
    x = 0
    for i in range(n):
        x += i
    return x


def inner():
    return spin(1_000_000)


def middle():
    return inner()


def outer():
    return middle()


class Parser:
    def parse(self):
        return spin(1_000_000)

    @classmethod
    def build(cls):
        return spin(1_000_000)


class JsonParser(Parser):
    pass


def numbers(n):
    for i in range(n):
        spin(1_000)
        yield i


def make_adder(k):
    def add_all(values):
        return [spin(300) + k for v in values]

    return add_all


def recurse(depth):
    if depth == 0:
        return spin(1_500_000)
    return recurse(depth - 1)


def main():
    outer()
    JsonParser().parse()
    Parser.build()
    total = sum(numbers(2_000))
    make_adder(3)(range(8_000))
    sys.setrecursionlimit(5_000)
    recurse(900)
    return total


if __name__ == "__main__":
    main()

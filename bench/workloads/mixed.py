"""A realistic mix: JSON parsing, regexes, sorting and a small class hierarchy."""
import json
import random
import re

WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
EMAIL = re.compile(r"(?P<user>[\w.]+)@(?P<host>[\w.]+)")


class Shape:
    def area(self):
        raise NotImplementedError

    def describe(self):
        return f"{type(self).__name__}:{self.area():.2f}"


class Rect(Shape):
    def __init__(self, w, h):
        self.w, self.h = w, h

    def area(self):
        return self.w * self.h


class Circle(Shape):
    def __init__(self, r):
        self.r = r

    def area(self):
        return 3.14159 * self.r * self.r


def make_documents(rng, n):
    words = ["alpha", "beta-gamma", "delta", "eps", "zeta-eta-theta", "iota"]
    return [
        json.dumps({
            "id": i,
            "text": " ".join(rng.choice(words) for _ in range(30)),
            "contact": f"user{i}@example{i % 7}.org",
            "scores": [rng.random() for _ in range(10)],
        })
        for i in range(n)
    ]


def analyse(docs):
    counts = {}
    hosts = set()
    for raw in docs:
        doc = json.loads(raw)
        for word in WORD.findall(doc["text"]):
            counts[word] = counts.get(word, 0) + 1
        m = EMAIL.search(doc["contact"])
        hosts.add(m.group("host"))
        doc["scores"].sort()
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), hosts


def shapes(rng, n):
    items = [Rect(rng.random(), rng.random()) if i % 2 else Circle(rng.random()) for i in range(n)]
    items.sort(key=lambda s: s.area())
    return [s.describe() for s in items[:1000]]


def main():
    rng = random.Random(1)
    for _ in range(8):
        docs = make_documents(rng, 8_000)
        analyse(docs)
        shapes(rng, 60_000)



_rng = random.Random(2)


def unit():
    """One small piece of the same work, for bench/workloads/steady.py."""
    analyse(make_documents(_rng, 150))
    shapes(_rng, 1_500)


if __name__ == "__main__":
    main()

"""alloc_heavy.py - an allocation-heavy, deterministic Python workload.

Run with PYTHONMALLOC=malloc (otherwise pymalloc serves objects up to 512
bytes from its own arenas and malloc sees little). Every phase prints a
digest of what it built, so two runs print the same lines exactly when the
interpreter computed the same things; timings are never printed.

Phases: many small objects (tuples, lists, dicts, instances) kept alive
together; strings built and joined; a JSON round trip; big lists and
bytearrays grown and shrunk (realloc through the whole size range); sets
and dicts grown past several resizes; a sort of half a million records; and a
deliberately fragmenting churn of mixed lifetimes.
"""

import hashlib
import json
import random
import sys


def digest(obj):
    """A short, stable fingerprint of a structure of builtins."""
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def report(phase, *values):
    print(phase, *values)
    sys.stdout.flush()


class Node:
    __slots__ = ("key", "value", "children")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.children = []


def small_objects(rng):
    # ~600k small objects alive at once, then freed together.
    nodes = [Node(i, (i, str(i), float(i) / 3)) for i in range(200000)]
    for i, node in enumerate(nodes[1:], 1):
        nodes[rng.randrange(i)].children.append(node)
    depth_sum = 0
    stack = [(nodes[0], 0)]
    while stack:
        node, depth = stack.pop()
        depth_sum += depth
        stack.extend((c, depth + 1) for c in node.children)
    records = [{"id": i, "name": "n%d" % i, "tags": [i % 7, i % 11]}
               for i in range(100000)]
    total = sum(r["tags"][0] * r["tags"][1] for r in records)
    report("small_objects", len(nodes), depth_sum, total)


def strings(rng):
    words = ["".join(chr(97 + rng.randrange(26))
                     for _ in range(rng.randrange(1, 12)))
             for _ in range(100000)]
    text = " ".join(words)
    upper = text.upper()
    pieces = upper.split("E")
    rebuilt = "e".join(pieces)
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    s = ""
    for i in range(20000):          # quadratic-looking concatenation
        s += words[i]
    report("strings", len(text), len(pieces), digest(rebuilt[:1000]),
           common, len(s))


def json_round_trip(rng):
    doc = {"k%d" % i: [rng.randrange(1000), "v" * rng.randrange(50),
                       {"x": rng.random() < 0.5, "y": None}]
           for i in range(50000)}
    encoded = json.dumps(doc, sort_keys=True)
    decoded = json.loads(encoded)
    report("json", len(encoded), decoded == doc, digest(encoded[-200:]))


def growth(rng):
    # Lists and bytearrays grown one element at a time up to tens of MB
    # (realloc from a few bytes to direct mappings), then shrunk.
    lst = []
    for i in range(2000000):
        lst.append(i)
    del lst[1000:]
    buf = bytearray()
    for i in range(200):
        buf += bytes([i % 256]) * 100000
    checksum = sum(buf[::4096])
    del buf[10:]
    blobs = [bytes(rng.randrange(1, 1 << rng.randrange(1, 22)))
             for _ in range(300)]
    report("growth", len(lst), checksum, len(buf),
           sum(len(b) for b in blobs))


def containers(rng):
    s = set()
    d = {}
    for i in range(300000):
        v = rng.randrange(1 << 40)
        s.add(v)
        d[v] = i
    for v in list(s)[::2]:
        s.discard(v)
        del d[v]
    report("containers", len(s), len(d), sum(d.values()) % 1000003)


def sorting(rng):
    rows = [(rng.randrange(1000), "%06d" % rng.randrange(10 ** 6), i)
            for i in range(500000)]
    rows.sort()
    report("sorting", rows[0], rows[-1], digest(rows[::25000]))


def churn(rng):
    # Mixed lifetimes: a window of live objects of random sizes, most
    # short-lived, some kept for the whole phase.
    keep = []
    window = [None] * 4096
    total = 0
    for i in range(250000):
        size = rng.choice((8, 24, 100, 500, 3000, 20000))
        obj = "x" * size if i % 3 else [0] * (size // 8)
        window[rng.randrange(len(window))] = obj
        if i % 997 == 0:
            keep.append(obj)
        total += len(obj)
    report("churn", total, len(keep), sum(map(len, keep)))


def main():
    rng = random.Random(20240601)
    for phase in (small_objects, strings, json_round_trip, growth,
                  containers, sorting, churn):
        phase(rng)
    report("done")


if __name__ == "__main__":
    main()

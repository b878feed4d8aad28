#!/usr/bin/env python3
"""alloc_heavy.py - an allocation-heavy Python program for bench/run.

Run it with PYTHONMALLOC=malloc, so that every Python object, including the
small ones pymalloc would otherwise pool, comes from the allocator under test.
It does what Python programs spend their allocations on: dicts and lists of
records, strings built and split, short-lived objects in churn, JSON round
trips, a sort, and a cache that grows and is cut back (so freed memory must be
reused across sizes).  Deterministic: the same seed gives the same work.

  python3 alloc_heavy.py [--scale S]     (S=1.0 is ~5-10 s under glibc)

Prints a checksum, so a result from a broken run does not pass unnoticed.
"""
import argparse
import json
import random


class Record:
    """A small object with a __dict__, like most application objects."""

    def __init__(self, key, value, tags):
        self.key = key
        self.value = value
        self.tags = tags


def records(rng, n):
    out = []
    for i in range(n):
        key = "user:%d:%s" % (i, "x" * rng.randrange(1, 40))
        tags = [str(rng.randrange(1000)) for _ in range(rng.randrange(1, 6))]
        out.append(Record(key, {"id": i, "score": rng.random(), "name": key[5:]}, tags))
    return out


def string_churn(rng, n):
    """Build strings piece by piece, split them, join them again."""
    total = 0
    for i in range(n):
        parts = [("%x" % rng.getrandbits(32)) * rng.randrange(1, 8) for _ in range(8)]
        line = ",".join(parts)
        fields = line.split(",")
        total += len(" ".join(reversed(fields)))
    return total


def json_round_trip(recs):
    blob = json.dumps([{"k": r.key, "v": r.value, "t": r.tags} for r in recs])
    back = json.loads(blob)
    return len(blob) + len(back)


def cache_cycles(rng, cycles, size):
    """A dict cache that grows to `size` entries, then is cut to a tenth; the
    values alternate between small tuples and larger lists per cycle."""
    cache = {}
    checksum = 0
    for c in range(cycles):
        for i in range(size):
            if c % 2:
                cache[(c, i)] = list(range(rng.randrange(8, 64)))
            else:
                cache[(c, i)] = (i, str(i), float(i))
        keys = list(cache)
        rng.shuffle(keys)
        for k in keys[: len(keys) * 9 // 10]:
            del cache[k]
        checksum += len(cache)
    return checksum


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    rng = random.Random(42)
    n = max(1, int(200_000 * args.scale))

    checksum = 0
    recs = records(rng, n)
    checksum += sum(len(r.tags) for r in recs)
    checksum += string_churn(rng, n)
    checksum += json_round_trip(recs[: n // 2])
    recs.sort(key=lambda r: (r.value["score"], r.key))
    checksum += len(recs[0].key)
    del recs
    checksum += cache_cycles(rng, 6, n // 2)
    print("checksum", checksum)


if __name__ == "__main__":
    main()

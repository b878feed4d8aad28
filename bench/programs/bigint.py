#!/usr/bin/env python3
"""bigint.py - big-integer arithmetic for bench/run.

Run it with PYTHONMALLOC=malloc.  CPython's ints are arrays of 30-bit digits
allocated for every result, so big-number arithmetic is a stream of
allocations from a few hundred bytes to hundreds of kilobytes, each freed as
soon as the next result replaces it: the page-level sizes and their churn,
with realloc-free growth.  It computes

  - digits of pi with Machin's formula in fixed point (arctan series: many
    divisions of a big int by small ones, sums of big ints);
  - a factorial by a running product (one bigger int each step);
  - Fibonacci numbers by fast doubling (few, very large products);

and prints a digest of the results (their lengths and last digits), so a
run under a broken allocator cannot pass for a result.

  python3 bigint.py [--scale S]     (S=1.0 is a few seconds under glibc)
"""
import argparse
import hashlib


def arctan_inv(x, one):
    """arctan(1/x) * one, by the alternating series."""
    total = term = one // x
    x2 = x * x
    n, sign = 3, -1
    while term:
        term //= x2
        total += sign * (term // n)
        n += 2
        sign = -sign
    return total


def pi_digits(digits):
    one = 10 ** (digits + 10)
    pi = 4 * (4 * arctan_inv(5, one) - arctan_inv(239, one))
    return pi // 10 ** 10


def factorial(n):
    p = 1
    for k in range(2, n + 1):
        p *= k
    return p


def fib(n):
    """(F(n), F(n+1)) by fast doubling."""
    if n == 0:
        return 0, 1
    a, b = fib(n >> 1)
    c = a * (2 * b - a)
    d = a * a + b * b
    return (d, c + d) if n & 1 else (c, d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    scale = ap.parse_args().scale
    h = hashlib.sha256()
    for name, value in (("pi", pi_digits(int(40000 * scale))),
                        ("factorial", factorial(int(40000 * scale))),
                        ("fib", fib(int(3000000 * scale))[0])):
        # Binary digits: str() of a huge int is quadratic and would measure
        # CPython's base conversion, not the allocator.
        bits = value.bit_length()
        low = value % ((1 << 61) - 1)
        h.update(("%s %d %d\n" % (name, bits, low)).encode())
        print("%s: %d bits, mod 2^61-1 %d" % (name, bits, low))
    print("digest", h.hexdigest()[:16])


if __name__ == "__main__":
    main()

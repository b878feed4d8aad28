#!/usr/bin/env python3
"""gen_large_c.py - write a large C file for the gcc workload of bench/run.

  gen_large_c.py N > big.c      (N functions; 3000 is ~10 s at -O2 under glibc)

gcc's cc1 allocates heavily (trees, RTL, GC pages via mmap, obstacks and
malloc for everything else), and the amount grows with the size of each
function, so the functions are of mixed shape: loops over arrays, switch
tables, struct copies, string handling, recursion.  Deterministic output.
"""
import sys


HEADER = """\
#include <stddef.h>
#include <string.h>

struct point { long x, y, z; double w; };
struct node { struct node *next; int key; char name[24]; };
extern int sink(long);
"""


def body(i):
    kind = i % 5
    if kind == 0:
        return f"""
long f{i}(const long *a, size_t n) {{
    long acc = {i};
    for (size_t k = 0; k < n; k++) {{
        if (a[k] & 1) acc += a[k] * {i % 97 + 3};
        else acc ^= a[k] >> {i % 7 + 1};
        if (acc > {i * 13 + 1000}) acc -= {i % 31 + 1};
    }}
    return acc;
}}"""
    if kind == 1:
        cases = "\n".join(
            f"    case {c}: r = x * {c + i % 11} + {c * 3}; break;" for c in range(24)
        )
        return f"""
long f{i}(long x) {{
    long r = 0;
    switch (x & 31) {{
{cases}
    default: r = -x;
    }}
    return r + sink(r);
}}"""
    if kind == 2:
        return f"""
struct point f{i}(struct point p, struct point q) {{
    struct point r = p;
    for (int k = 0; k < {i % 9 + 2}; k++) {{
        r.x += q.x * k; r.y -= q.y + k; r.z ^= q.z << (k & 3);
        r.w = r.w * 0.5 + q.w * {i % 5 + 1}.0;
    }}
    return r;
}}"""
    if kind == 3:
        return f"""
size_t f{i}(struct node *head, const char *needle) {{
    size_t hits = 0;
    char buf[64];
    for (struct node *n = head; n; n = n->next) {{
        memcpy(buf, n->name, sizeof(n->name));
        buf[sizeof(n->name) - 1] = 0;
        if (strstr(buf, needle) || n->key == {i}) hits++;
        else if (strlen(buf) > {i % 20}) hits += sink(n->key);
    }}
    return hits;
}}"""
    return f"""
long f{i}(long n) {{
    static const long table[] = {{ {", ".join(str((i * 7 + k * 13) % 1000) for k in range(32))} }};
    if (n <= 1) return table[n & 31];
    return f{i}(n - 1) + table[(n * {i % 17 + 1}) & 31] - f{i}(n / 2);
}}"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    out = [HEADER]
    for i in range(n):
        out.append(body(i))
    # One function that uses them all, so nothing is dead code.
    calls = "\n".join(
        f"    acc += (long)sizeof(f{i});" if i % 5 == 2 else f"    acc += (long)&f{i} & 1;"
        for i in range(n)
    )
    out.append(f"\nlong use_all(void) {{\n    long acc = 0;\n{calls}\n    return acc;\n}}\n")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""seeds.py - writes the seed corpus of tests/fuzz/corpus/ (committed; run
again after changing an input format): small hand-made programs for each
fuzz target, in the encodings fuzz_malloc.c, fuzz_conf.c and fuzz_pages.c
read. Usage: tests/fuzz/seeds.py [DIR] (default: next to this file)."""
import os
import struct
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")

def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)

# ---------------------------------------------------------------- malloc
# op byte (% 8): 0 malloc, 1 calloc, 2 realloc, 3 aligned, 4 free,
# 5 usable, 6 trim, 7 check; then the slot byte; then the operands.
M_MALLOC, M_CALLOC, M_REALLOC, M_ALIGNED, M_FREE, M_USABLE, M_TRIM, M_CHECK = range(8)
NR_EDGES = 38      # len(edges) in fuzz_malloc.c
NR_ABSURD = 8

def size_edge(i, delta):        # kind 2: edges[i] + delta (-1, 0, +1)
    return bytes([2, i, delta + 1])
def size_small(n):              # kind 1: n % 1025
    return bytes([1]) + u16(n)
def size_pages(n):              # kind 5: n % (4 MiB + 65537)
    return bytes([5]) + u32(n)
def size_huge(n):               # kind 6: 4 MiB + n % (5 MiB + 1)
    return bytes([6]) + u32(n)
def size_absurd(i):             # kind 7 with the top bit: absurd[i]
    return bytes([0x87, i])

def malloc(slot, size, hint=3): return bytes([M_MALLOC, slot]) + size + bytes([hint])
def free(slot, how=0): return bytes([M_FREE, slot, how])
def realloc(slot, size, variant=0, extra=b""):
    return bytes([M_REALLOC, slot]) + size + bytes([variant]) + extra

malloc_seeds = {}
p = b""
for i in range(NR_EDGES):
    for d in (-1, 0, 1):
        p += malloc(i % 64, size_edge(i, d), hint=(i + d) % 4)
    p += free(i % 64, how=i % 3) if i % 5 == 0 else b""
p += bytes([M_CHECK, 0])
malloc_seeds["edges"] = p

p = b""
for i, (variant, n) in enumerate([(0, 100), (1, 4000), (2, 3), (3, 0), (0, 0)]):
    p += bytes([M_CALLOC, i]) + size_small(n) + bytes([variant, 7])
p += bytes([M_CALLOC, 9]) + size_pages(3 << 20) + bytes([0])
p += bytes([M_CALLOC, 10]) + size_absurd(7) + bytes([2, 5])
malloc_seeds["calloc"] = p

p = malloc(1, size_small(1))
for i in range(0, NR_EDGES, 3):
    p += realloc(1, size_edge(i, 1))
p += realloc(1, size_huge(123456))
p += realloc(1, size_absurd(5))
p += realloc(1, size_small(10))
p += realloc(1, size_small(700), variant=1, extra=bytes([4]))
p += realloc(1, size_small(70), variant=2, extra=bytes([1]))
p += realloc(1, size_small(0))
p += realloc(2, size_small(33))          # realloc(NULL, 33)
malloc_seeds["realloc"] = p

p = b""
for call in range(5):
    for a in list(range(0, 24, 3)) + [24, 25, 26, 27, 28, 29, 30, 31]:
        p += bytes([M_ALIGNED, (call * 16 + a) % 64, call, a]) + size_small(100 + a)
    p += bytes([M_ALIGNED, 63, call, 22]) + size_huge(4096)
p += bytes([M_CHECK, 0, M_TRIM, 0, M_USABLE, 5])
malloc_seeds["aligned"] = p

p = b""
for i in range(NR_ABSURD):
    p += malloc(i, size_absurd(i))
    p += bytes([M_ALIGNED, i, 2, 12]) + size_absurd(i)
malloc_seeds["absurd"] = p

p = b""
for i in range(12):
    p += malloc(i, size_pages(i * 300000 + 1))
for i in range(0, 12, 2):
    p += free(i, how=1)
p += bytes([M_TRIM, 0, M_CHECK, 0])
for i in range(4):
    p += malloc(20 + i, size_huge(i * 1000000))
p += free(21) + bytes([M_TRIM, 0]) + malloc(21, size_huge(5))
malloc_seeds["pages_trim"] = p

# ------------------------------------------------------------------ conf
# first byte: bit 0 = parsed late; then the string.
conf_seeds = {
    "limit": b"\0limit:1g",
    "report": b"\0bad_free:report",
    "report_spaces": b"\0  bad_free :  report  ,",
    "report_bad": b"\0bad_free:reportx,bad_free:,bad_free",
    "help": b"\0help",
    "sizes": b"\0limit:99999999999999999999,max_memory:512MiB,limit:16t,limit:1kb,limit:0x10",
    "uints": b"\0watermark_scale_factor:0,watermark_scale_factor:3000,min_free_kbytes:1073741824,lowmem_reserve_ratio:0,limit:1m",
    "late": b"\1numa_fake:2,reclaim_threads:0,pcp_batch:7,classifier:false,decay_ms:5",
    "bools": b"\0stats_print:true,warn_alloc:TRUE,classifier:fals,abort_conf:false",
    "empty": b"\0,, ,\t,",
    "junk": b"\0\x01\x7f:\xff,k\xe9y:v\x1b[31m,:,:::,unknown:1",
    "everything": b"\0limit:64m,min_free_kbytes:100,watermark_scale_factor:50,lowmem_reserve_ratio:32,warn_alloc:true,numa_fake:1,decay_ms:100,reclaim_threads:1,percpu_pagelist_high_fraction:8,pcp_batch:16,lifetime_ms:10,classifier:true,lifetime_sample:1,stats_print:false,bad_free:abort",
}

# ----------------------------------------------------------------- pages
# op byte (% 8): 0-1 alloc, 2 exact, 3 free, 4 bad free, 5 resize,
# 6 drain (release with the top bit), 7 check; then the slot byte.
def palloc(slot, order, gfp): return bytes([0, slot, order]) + u16(gfp)
def pexact(slot, align_order, size, gfp):
    return bytes([2, slot, align_order]) + u32(size) + u16(gfp)
def pfree(slot): return bytes([3, slot])
def pbad(slot, how, arg=1): return bytes([4, slot, how, arg, 3])
def presize(slot, size): return bytes([5, slot]) + u32(size)
OWNER_LARGE, OWNER_API, OWNER_BOTH = 1 << 9, 2 << 9, 3 << 9
pages_seeds = {}
p = b""
for o in range(13):
    p += palloc(o, o, [0, 1, 2, 8, 0x10, 0x20, 0x40, 0x80, 0x100, 3, 4, OWNER_API, OWNER_LARGE][o])
p += bytes([7, 0])
for o in range(13):
    p += pfree(o)
pages_seeds["orders"] = p
p = b""
for i, size in enumerate([0, 1, 4095, 4096, 4097, 12293, (1 << 20) + 1, (4 << 20) - 1, 4 << 20, (4 << 20) + 1]):
    p += pexact(i, [0, 3, 11, 12, 13, 2, 0, 5, 0, 0][i], size, [0, 8, 1, 2, OWNER_API, 0x20, 0, 4, OWNER_LARGE, 0][i])
p += presize(1, 40000) + presize(2, 1) + presize(6, 3 << 20) + bytes([7, 0])
pages_seeds["exact"] = p
p = palloc(0, 3, OWNER_API) + pexact(1, 0, 5 * 4096, OWNER_LARGE)
for how in range(8):
    p += pbad(0, how, 5) + pbad(1, how, 2)
p += pfree(0) + pbad(0, 0) + bytes([7, 0])
pages_seeds["bad_frees"] = p
p = b""
for i in range(40):
    p += palloc(i, 10, 0x40 if i % 2 else 0x10)
p += bytes([0x86, 0, 7, 0])
for i in range(0, 40, 2):
    p += pfree(i)
p += bytes([0x86, 0, 6, 0, 7, 0])
pages_seeds["pressure"] = p

for name, seeds in (("malloc", malloc_seeds), ("conf", conf_seeds), ("pages", pages_seeds)):
    d = os.path.join(top, name)
    os.makedirs(d, exist_ok=True)
    for seed, data in seeds.items():
        with open(os.path.join(d, "seed-" + seed), "wb") as f:
            f.write(data)

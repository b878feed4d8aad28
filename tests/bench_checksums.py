#!/usr/bin/env python3
"""bench_checksums.py - bench/run flags a result that differs from glibc's.

Part 1 feeds report.checksums() made-up results: equal checksums pass; a
run with another checksum is a mismatch (and exit status 3); a run that
checksummed another number of operations is listed as not compared, not as
a mismatch; a reference whose own runs disagree is a mismatch; a program
whose output digest differs is a mismatch.

Part 2 runs bench/run for real on one workload family under glibc and
libbuddymalloc, once as it is and once with BENCH_CHECKSUM_FLIP=buddymalloc
(bench_alloc perturbs that allocator's checksums): the first exits 0 with
every row agreeing, the second exits 3 and names the rows in latest.md.
Skipped when bench_alloc is not built (no Google Benchmark).

TAP on stdout.  Environment: top_srcdir, top_builddir (make check sets them).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

top_srcdir = os.path.abspath(os.environ.get("top_srcdir", "."))
top_builddir = os.path.abspath(os.environ.get("top_builddir", "."))
sys.path.insert(0, os.path.join(top_srcdir, "bench"))
sys.dont_write_bytecode = True
import report  # noqa: E402

n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("# " + line)


def workload(name, per_alloc):
    """A workload row: per_alloc = {alloc: [(ops, checksum), ...]}."""
    return {"name": name, "family": name.split("/")[0], "threads": 1,
            "results": {a: {"samples": {"checksum_ops": [float(o) for o, _ in v],
                                        "checksum": [float(c) for _, c in v]}}
                        for a, v in per_alloc.items()}}


def results(workloads, programs=()):
    return {"workloads": list(workloads), "memory": {}, "errors": [],
            "programs": [{"name": p, "results": {a: {"checksums": v} for a, v in r.items()}}
                         for p, r in programs]}


def kinds(c):
    return ({(m["row"], m["allocator"]) for m in c["mismatches"]},
            {(m["row"], m["allocator"]) for m in c["incomparable"]})


print("1..9")

# --- part 1: the comparison -------------------------------------------------
same = results([workload("pairs", {"glibc": [(4096, 7), (4096, 7)],
                                   "jemalloc": [(4096, 7)], "buddymalloc": [(4096, 7)]})],
               [("bigint", {"glibc": ["ab", "ab"], "buddymalloc": ["ab", "ab"]})])
c = report.checksums(same)
ok(c["rows"] == 2 and not c["mismatches"] and not c["incomparable"]
   and report.exit_status(same) == 0,
   "equal checksums: 2 rows compared, no mismatch, exit status 0", c)

wrong = results([workload("pairs", {"glibc": [(4096, 7), (4096, 7)],
                                    "jemalloc": [(4096, 7)],
                                    "buddymalloc": [(4096, 7), (4096, 8)]}),
                 workload("ring", {"glibc": [(4096, 5)], "buddymalloc": [(4096, 5)]})])
c = report.checksums(wrong)
ok(kinds(c)[0] == {("pairs (1 thr)", "buddymalloc")} and not c["incomparable"],
   "one run with another checksum: that row and allocator flagged, nothing else", c)
ok(report.exit_status(wrong) == report.CHECKSUM_MISMATCH_STATUS == 3,
   "a mismatch makes the exit status 3")
v = report.verdicts(dict(wrong, allocators=[]), "buddymalloc")
chk = [x for x in v["checks"] if "checksums" in x["name"]]
ok(len(chk) == 1 and not chk[0]["pass"], "the verdict on checksums fails", v)

short = results([workload("ring", {"glibc": [(4096, 5)], "buddymalloc": [(1000, 9)]})])
c = report.checksums(short)
ok(kinds(c) == (set(), {("ring (1 thr)", "buddymalloc")}) and report.exit_status(short) == 0,
   "another number of checksummed operations: not compared, not a mismatch", c)

noisy = results([workload("larson", {"glibc": [(4096, 5), (4096, 6)],
                                     "buddymalloc": [(4096, 5)]})])
c = report.checksums(noisy)
ok(kinds(c)[0] == {("larson (1 thr)", "glibc")},
   "a reference that disagrees with itself is flagged", c)

prog = results([], [("gcc", {"glibc": ["ab", "ab"], "jemalloc": ["ab", "cd"]})])
c = report.checksums(prog)
ok(kinds(c)[0] == {("program gcc", "jemalloc")} and report.exit_status(prog) == 3,
   "a program whose output differs from glibc's is flagged", c)

# --- part 2: bench/run end to end ------------------------------------------------
bench_alloc = os.path.join(top_builddir, "bench", "bench_alloc")
so = os.path.join(top_builddir, ".libs", "libbuddymalloc.so")
libc = next((p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                         "/lib/aarch64-linux-gnu/libc.so.6") if os.path.exists(p)), None)


def bench_run(out, flip):
    env = dict(os.environ)
    env.pop("BENCH_CHECKSUM_FLIP", None)
    if flip:
        env["BENCH_CHECKSUM_FLIP"] = flip
    p = subprocess.run([sys.executable, os.path.join(top_srcdir, "bench", "run"), "--quick",
                        "--build-dir", top_builddir, "--workloads", "^aligned$",
                        "--no-programs", "--reps", "1", "--out", out,
                        "--alloc", "glibc=" + libc, "--alloc", "buddymalloc=" + so,
                        "--alloc", "jemalloc=", "--alloc", "mimalloc=",
                        "--alloc", "tcmalloc="],
                       env=env, capture_output=True, text=True, timeout=300)
    try:
        with open(os.path.join(out, "latest.json")) as f:
            data = json.load(f)
        with open(os.path.join(out, "latest.md")) as f:
            md = f.read()
    except (OSError, json.JSONDecodeError):
        data, md = None, ""
    return p, data, md


if not (os.path.exists(bench_alloc) and os.path.exists(so) and libc):
    for name in ("bench/run as it is: every row agrees with glibc, exit 0",
                 "bench/run with a flipped checksum: rows flagged, exit 3"):
        n += 1
        print("ok %d - %s # SKIP bench_alloc, libbuddymalloc.so or libc.so.6 missing" % (n, name))
else:
    tmp = tempfile.mkdtemp(prefix="bench_checksums.")
    try:
        p, data, md = bench_run(os.path.join(tmp, "plain"), None)
        c = (data or {}).get("checksums", {})
        ok(p.returncode == 0 and c.get("rows", 0) >= 4 and not c.get("mismatches")
           and "agree with glibc" in md,
           "bench/run as it is: every row agrees with glibc, exit 0",
           "exit %d\n%s\n%s" % (p.returncode, c, p.stdout[-2000:] + p.stderr[-2000:]))
        p, data, md = bench_run(os.path.join(tmp, "flip"), "buddymalloc")
        c = (data or {}).get("checksums", {})
        flagged = {(m["row"], m["allocator"]) for m in c.get("mismatches", [])}
        want = {("aligned/align:%d (1 thr)" % a, "buddymalloc")
                for a in (64, 4096, 65536, 2097152)}
        ok(p.returncode == 3 and want <= flagged
           and all(a.startswith("buddymalloc") for _, a in flagged)
           and "computed a different result" in md and "CHECKSUM MISMATCH" in p.stdout,
           "bench/run with a flipped checksum: rows flagged, exit 3",
           "exit %d\nflagged %s\n%s" % (p.returncode, sorted(flagged), p.stdout[-2000:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

sys.exit(0)

#!/usr/bin/env python3
"""inspect_tree.py - buddymalloc_stats_print's layouts and JSON, and the
mallctl name tree, checked from inside a python3 that runs on the
preloaded library (tests/api/inspect_tree.sh starts it).

    inspect_tree.py LIBRARY.so doc/man/inspection.roff

The manual's MALLCTL NAMES section is the reference: every name documented
there (one '.BR "name" " (type, rw)"' line each) must appear as a leaf of
the JSON form, and every leaf of the JSON form (but "report") must be
documented; every leaf must resolve through buddymalloc_mallctl with the
documented type's size; settings marked rw must be writable and r- ones
must refuse writes (EPERM). TAP on stdout.
"""
import ctypes
import errno
import json
import os
import re
import sys
import tempfile

so, doc = sys.argv[1], sys.argv[2]
lib = ctypes.CDLL(so)
me = ctypes.CDLL(None)
lib.buddymalloc_mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p,
                                    ctypes.POINTER(ctypes.c_size_t),
                                    ctypes.c_void_p, ctypes.c_size_t]
lib.buddymalloc_stats_print.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_char_p]

tests = []


def test(fn):
    tests.append(fn)
    return fn


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def stats(opts):
    """What buddymalloc_stats_print(NULL, NULL, opts) writes to stderr."""
    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            lib.buddymalloc_stats_print(None, None,
                                        None if opts is None else opts.encode())
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        return f.read().decode()


def stats_json(opts="J"):
    text = stats(opts)
    check(text.endswith("\n") and text.count("\n") == 1,
          "JSON is one line and a newline: %r" % text[:200])
    return json.loads(text)


def leaves(v, path=()):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, path + (str(i),))
    else:
        yield ".".join(path), v


TYPES = {
    "bool": ctypes.c_bool,
    "unsigned int": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "ssize_t": ctypes.c_ssize_t,
    "const char *": ctypes.c_char_p,
}
MIGRATE_TYPES = "(Unmovable|Movable|Reclaimable|HighAtomic|Isolate)"


def documented():
    """{name pattern: (compiled regex, type, rw)} from the manual."""
    names = {}
    line_re = re.compile(r'^\.BR "([^"]+)" " \(([^,]+), (r-|rw)\)"$')
    for line in open(doc):
        m = line_re.match(line.rstrip("\n"))
        if not m:
            continue
        name, typ, rw = m.groups()
        rx = re.escape(name)
        for ph in ("<i>", "<j>", "<order>"):
            rx = rx.replace(re.escape(ph), r"\d+")
        rx = rx.replace(re.escape("<Type>"), MIGRATE_TYPES)
        names[name] = (re.compile("^" + rx + "$"), typ, rw)
    return names


def ctl_size(name):
    size = ctypes.c_size_t(0)
    err = lib.buddymalloc_mallctl(name.encode(), None, ctypes.byref(size),
                                  None, 0)
    return err, size.value


def ctl_get(name, ctype):
    v = ctype()
    size = ctypes.c_size_t(ctypes.sizeof(ctype))
    err = lib.buddymalloc_mallctl(name.encode(), ctypes.byref(v),
                                  ctypes.byref(size), None, 0)
    check(err == 0, "reading %s: error %d" % (name, err))
    return v.value


def ctl_set(name, ctype, value):
    v = ctype(value)
    return lib.buddymalloc_mallctl(name.encode(), None, None, ctypes.byref(v),
                                   ctypes.sizeof(ctype))


# ------------------------------------------------------------------ tests

@test
def test_served_by_buddymalloc():
    ours = ctypes.cast(lib.malloc, ctypes.c_void_p).value
    used = ctypes.cast(me.malloc, ctypes.c_void_p).value
    check(ours == used, "this process's malloc is not libbuddymalloc's")
    held = [bytearray(1 << 20) for _ in range(32)]
    check(ctl_get("stats.allocated", ctypes.c_size_t) >= 32 << 20,
          "32 MiB held, stats.allocated says less")
    del held


@test
def test_summary_layout():
    lines = stats("summary").splitlines()
    check(re.match(r"^buddymalloc \(pid %d, exe .+\):$" % os.getpid(),
                   lines[0]), lines[0])
    check(re.match(r"^resident bytes   = +\d+$", lines[1]), lines[1])
    check(any(re.match(r"^  live           = +\d+  \(", l) for l in lines),
          "live line")


@test
def test_buddyinfo_layout():
    lines = stats("buddyinfo").splitlines()
    check(lines, "empty")
    for l in lines:
        check(re.match(r"^Node \d+, zone [ \w]{8} (?:[ \d]{5}\d ){11}$", l),
              "buddyinfo line %r" % l)


@test
def test_pagetypeinfo_layout():
    lines = stats("pagetypeinfo").splitlines()
    check(lines[0] == "Page block order: 9", lines[0])
    check(lines[1] == "Pages per block:  512", lines[1])
    check(lines[2] == "", "blank line")
    check(re.match(r"^Free pages count per migrate type at order  "
                   r"(?:[ \d]{5}\d ){11}$", lines[3]), lines[3])
    rows = [l for l in lines if ", type " in l]
    check(rows, "no type rows")
    for l in rows:
        check(re.match(r"^Node +\d+, zone [ \w]{8}, type [ \w]{12} "
                       r"(?:[ \d]{5}\d ){11}$", l), "row %r" % l)
    head = [l for l in lines if l.startswith("Number of blocks type")]
    check(len(head) == 1, "blocks header")
    blocks = lines[lines.index(head[0]) + 1:]
    check(blocks, "no blocks rows")
    for l in blocks:
        check(re.match(r"^Node \d+, zone [ \w]{8} (?:[ \d]{11}\d ){5}$", l),
              "blocks row %r" % l)


@test
def test_zoneinfo_layout():
    text = stats("zoneinfo")
    check(re.search(r"^Node \d+, zone +Normal$", text, re.M), "zone line")
    for rx in (r"^  pages free +-?\d+$", r"^        min +\d+$",
               r"^        low +\d+$", r"^        high +\d+$",
               r"^        managed +\d+$", r"^        protection: \(",
               r"^  pagesets$", r"^    cpu: \d+$",
               r"^              count: \d+$"):
        check(re.search(rx, text, re.M), "zoneinfo lacks %s" % rx)


@test
def test_vmstat_layout():
    lines = stats("vmstat").splitlines()
    for l in lines:
        check(re.match(r"^[a-z_]+ \d+$", l), "vmstat line %r" % l)
    names = {l.split()[0] for l in lines}
    check("nr_free_pages" in names, "nr_free_pages")
    for event in stats_json("vmstat+J")["stats"]["vmstat"]:
        check(event in names, "vmstat lacks %s" % event)


@test
def test_slabinfo_layout():
    lines = stats("slabinfo").splitlines()
    check(lines[0] == "slabinfo - version: 2.1", lines[0])
    check(lines[1].startswith("# name            <active_objs> <num_objs> "
                              "<objsize> <objperslab> <pagesperslab> : "
                              "tunables <limit> <batchcount> "
                              "<sharedfactor> : slabdata <active_slabs> "
                              "<num_slabs> <sharedavail>"), lines[1])
    check(len(lines) > 2, "no cache lines")
    for l in lines[2:]:
        check(re.match(r"^kmalloc-(?:mov-|rcl-)?\d+ +\d+ +\d+ +\d+ +\d+ +\d+"
                       r" : tunables +0 +0 +0 : slabdata +\d+ +\d+ +\d+$", l),
              "slabinfo line %r" % l)


@test
def test_percpu_layout():
    lines = stats("percpu").splitlines()
    check(re.match(r"^ +cpu +pcp_pages +cached_bytes$", lines[0]), lines[0])
    check(len(lines) == 1 + len(stats_json("percpu+J")["stats"]["cpu"]),
          "one line per CPU")
    for l in lines[1:]:
        check(re.match(r"^ +\d+ +\d+ +\d+$", l), "percpu line %r" % l)


@test
def test_lifetime_layout():
    lines = stats("lifetime").splitlines()
    check(re.match(r"^lifetime classifier: (on|off)$", lines[0]), lines[0])


@test
def test_all_and_default():
    text = stats("all")
    for marker in ("buddymalloc (pid ", "\nNode 0, zone ",
                   "Page block order:", "\nnr_free_pages ", "  pagesets",
                   "slabinfo - version", "pcp_pages", "lifetime classifier:"):
        check(marker in text, "all lacks %r" % marker)
    default = stats("")
    check("buddymalloc (pid " not in default, "default has no summary")
    check("Page block order:" in default and "slabinfo" not in default,
          "default: the /proc reports")
    null = stats(None)
    check("Page block order:" in null and "buddymalloc (pid " not in null,
          "NULL: as \"\"")


@test
def test_json_valid_and_keyed():
    j = stats_json("J")
    check(set(j) == {"report", "version", "opt", "stats"}, sorted(j))
    check(j["report"]["pid"] == os.getpid(), "report.pid")
    check(j["report"]["thread"] == open("/proc/self/comm").read().strip(),
          "report.thread: this thread")
    check(os.path.realpath(j["report"]["exe"]) ==
          os.path.realpath(sys.executable), "report.exe")
    for key in ("allocated", "resident_bytes", "vmstat", "classifier", "zone",
                "slab", "cpu"):
        check(key in j["stats"], "stats lacks %s" % key)
    check(j == stats_json("all+J") or set(j) == set(stats_json("all+J")),
          "all+J")
    part = stats_json("slabinfo+J")
    check(set(part) == {"report", "version", "stats"}, sorted(part))
    check(set(part["stats"]) == {"slab"}, sorted(part["stats"]))
    summ = stats_json("summary json")
    check("opt" in summ and "zone" not in summ["stats"], "summary json")
    zone = stats_json("buddyinfo+J")["stats"]["zone"][0]
    check(len(zone["nr_free"]) == 11, "11 orders")
    check(set(zone["type_free"]) == set(MIGRATE_TYPES[1:-1].split("|")),
          "type_free keys")


@test
def test_every_leaf_documented_and_back():
    names = documented()
    check(len(names) > 100, "%d names in %s" % (len(names), doc))
    seen = set()
    for leaf, _ in leaves(stats_json("J")):
        if leaf.startswith("report."):
            continue
        match = [n for n, (rx, _, _) in names.items() if rx.match(leaf)]
        check(len(match) == 1, "JSON leaf %s documented %d times" %
              (leaf, len(match)))
        seen.add(match[0])
    missing = sorted(set(names) - seen)
    check(not missing, "documented but not in the JSON: %s" % missing)


@test
def test_every_leaf_resolves():
    names = documented()
    j = stats_json("J")
    for leaf, value in leaves(j):
        if leaf.startswith("report."):
            continue
        (_, typ, rw), = [v for v in names.values() if v[0].match(leaf)]
        err, size = ctl_size(leaf)
        check(err == 0, "%s: error %d" % (leaf, err))
        check(size == ctypes.sizeof(TYPES[typ]),
              "%s: size %d, documented %s" % (leaf, size, typ))
        got = ctl_get(leaf, TYPES[typ])
        if typ == "const char *":
            got = got.decode()
        # Settings and names do not change by themselves; counters may,
        # and so does the order of the classifier's sites.
        if leaf.startswith("stats.classifier.site."):
            continue
        if leaf.startswith("opt.") or leaf == "version" or \
                leaf.endswith((".name", ".type", ".size", ".objects_per_slab",
                               ".order", ".node")):
            check(got == value, "%s: mallctl %r, JSON %r" % (leaf, got, value))


@test
def test_settings_rw_as_documented():
    names = documented()
    for name, (_, typ, rw) in names.items():
        if not name.startswith("opt."):
            continue
        ctype = TYPES[typ]
        value = ctl_get(name, ctype)
        err = ctl_set(name, ctype, value)
        want = 0 if rw == "rw" else errno.EPERM
        check(err == want, "writing %s back: %d, want %d (%s)" %
              (name, err, want, rw))
        check(ctl_get(name, ctype) == value, "%s changed" % name)
    # A write takes effect, and the JSON shows it.
    old = ctl_get("opt.decay_ms", ctypes.c_uint)
    check(ctl_set("opt.decay_ms", ctypes.c_uint, 1234) == 0, "decay_ms")
    check(stats_json("summary+J")["opt"]["decay_ms"] == 1234, "JSON decay_ms")
    ctl_set("opt.decay_ms", ctypes.c_uint, old)


@test
def test_statistics_read_only_and_bounds():
    for name in ("version", "stats.allocated", "stats.vmstat.pcp_refill",
                 "stats.zone.0.free", "stats.slab.0.size",
                 "stats.cpu.0.pcp_pages", "stats.classifier.samples"):
        check(ctl_set(name, ctypes.c_size_t, 1) == errno.EPERM,
              "%s writable" % name)
    j = stats_json("J")["stats"]
    for name in ("stats.zone.%d.name" % len(j["zone"]),
                 "stats.slab.%d.size" % len(j["slab"]),
                 "stats.cpu.%d.pcp_pages" % len(j["cpu"]),
                 "stats.zone.0.nr_free.11", "stats.zone.0.type_free.Nope.0",
                 "stats.zone.0.nope", "stats.nope", "opt.nope", "nope",
                 "stats.zone.x.name", "stats.zone.0", "stats.cpu.0"):
        check(ctl_size(name)[0] == errno.ENOENT, "%s resolves" % name)


print("1..%d" % len(tests))
failed = 0
for i, fn in enumerate(tests, 1):
    try:
        fn()
        print("ok %d - %s" % (i, fn.__name__))
    except Exception as e:	# a failed check, or anything unexpected
        failed += 1
        print("# %s" % e)
        print("not ok %d - %s" % (i, fn.__name__))
    sys.stdout.flush()
sys.exit(1 if failed else 0)

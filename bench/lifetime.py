#!/usr/bin/env python3
"""bench/lifetime.py - a long-lived cache beside short-lived peaks, per allocator.

  bench/lifetime.py [--build-dir DIR] [--alloc NAME=PATH ...] [--only a,b]
                    [--reps N] [--peaks N] [--trough S] [--peak-mib MIB]
                    [--cache-mib MIB] [--insert-one-in N]
                    [--buddymalloc-conf CONF] [--out DIR]

bench/lifetime_loop (bench/lifetime.c) is a server that keeps a cache of
long-lived entries while it handles peaks of short-lived requests: requests
pile up to --peak-mib live, then all die; one request in --insert-one-in
stores an entry in the cache (at most --cache-mib, oldest evicted first), so
entries live across several peaks. Both populations have the same sizes
(log-uniform 16 B..32 KiB) but come from different call sites. After each
peak, a trough of --trough seconds in which the program makes no call at
all; then it measures its resident memory, and the 2 MiB windows (pageblocks)
of its heap that hold at least one resident page.

Configurations: glibc, jemalloc, mimalloc, tcmalloc, libbuddymalloc, and
libbuddymalloc with BUDDYMALLOC_CONF=classifier:false, each with the
program's own calls of malloc (call sites apart) and with -w, where both go
through one shared xmalloc(); and jemalloc with the cache in an arena of its
own, tuned by hand (the bound). Interleaved (each repetition runs every
configuration in turn, starting with a different one), medians of --reps
(default 3). Each process has libbenchprobe.so in front, and a run whose
malloc was not served by its allocator is reported as a problem; the
program also says whether buddymalloc_mallctl is there, and what its
classifier setting reads.

  --only NAMES        configurations to run (names as in the table, e.g.
                      'buddymalloc,buddymalloc-wrapper'); to tune one, with
                      --reps 1 and --buddymalloc-conf 'lifetime_ms:500'

Writes lifetime.md to --out (default: bench/results in the source tree),
every sample to raw/lifetime-STAMP/lifetime.json there (git-ignored), and
prints the tables; with --only, lifetime.md goes to raw/lifetime-STAMP/ too,
and the table of every configuration stays as it is. `make bench-lifetime` runs it with
configure's paths; about 9 minutes on 2 cores with the defaults.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import burst  # noqa: E402

MIB = 1048576.0
WINDOW = 2 * MIB
BASELINE = "jemalloc"

# The hand-tuned bound: the cache in an arena of its own, and what keeps
# the requests' freed memory resident in an idle trough turned off: the
# thread cache (it holds freed objects of every small size, each pinning a
# page of the request arena) and decay that runs only on allocator calls (a
# background thread purges, with a decay shorter than the trough).
JEMALLOC_ARENA_CONF = "background_thread:true,dirty_decay_ms:1000,tcache:false"


def log(msg):
    print(msg, flush=True)


def configs(allocs, buddy_conf):
    """The runs, in table order: {name, alloc, variant, path, preload, env,
    args, served_as, classifier}."""
    out = []
    for a in allocs:
        if a["status"] != "ok":
            continue
        kinds = [(a["name"], {}, None)]
        if a["name"] == "buddymalloc":
            kinds = [("buddymalloc", {}, "1"),
                     ("buddymalloc-noclassifier", {"classifier": "false"}, "0")]
        for name, conf, classifier in kinds:
            for variant, args in (("direct", []), ("xmalloc", ["-w"])):
                env = {}
                if a["name"] == "buddymalloc":
                    items = ["%s:%s" % kv for kv in conf.items()]
                    if buddy_conf:
                        items.append(buddy_conf)
                    if items:
                        env["BUDDYMALLOC_CONF"] = ",".join(items)
                out.append({"name": name + ("-wrapper" if args else ""), "alloc": a["name"],
                            "variant": variant, "path": a["path"], "preload": a["preload"],
                            "env": env, "args": args,
                            "served_as": a["name"] if a["name"] in ("jemalloc", "buddymalloc")
                            else "none",
                            "classifier": classifier})
        if a["name"] == "jemalloc":
            out.append({"name": "jemalloc-arena", "alloc": "jemalloc", "variant": "direct",
                        "path": a["path"], "preload": a["preload"],
                        "env": {"MALLOC_CONF": JEMALLOC_ARENA_CONF}, "args": ["-a"],
                        "served_as": "jemalloc", "classifier": None})
    return out


def parse(lines):
    """lifetime_loop's output -> {allocator, base, peaks, troughs}."""
    res = {"peaks": [], "troughs": []}
    for line in lines:
        f = line.split()
        if not f:
            continue
        if f[0] == "allocator":
            res["allocator"] = {"mallctl": f[1], "classifier": f[2], "arena": f[3]}
        elif f[0] == "base":
            res["base"] = dict(zip(("rss", "heap", "units", "harness"), map(int, f[1:5])))
        elif f[0] == "peak":
            res["peaks"].append(dict(zip(("i", "hwm", "live", "requests", "entries", "ns",
                                          "cpu_ns", "calls", "faults"), map(int, f[1:10]))))
        elif f[0] == "trough":
            res["troughs"].append(dict(zip(("i", "rss", "heap", "units", "harness", "live",
                                            "entries"), map(int, f[1:8]))))
        elif f[0] == "cpu":
            res["cpu"] = {"process_ns": int(f[1]), "thread_ns": int(f[2])}
    return res


def derive(res):
    """Per-trough figures above the start (the process before the first
    allocation): resident bytes without the program's own arrays, and 2 MiB
    windows of the heap."""
    b = res["base"]
    for t in res["troughs"]:
        t["above"] = (t["rss"] - t["harness"]) - (b["rss"] - b["harness"])
        t["units_above"] = t["units"] - b["units"]
    res["peak_rss"] = max(p["hwm"] for p in res["peaks"])
    calls = sum(p["calls"] for p in res["peaks"])
    res["ops_per_s"] = calls / (sum(p["ns"] for p in res["peaks"]) / 1e9)
    res["ops_per_cpu_s"] = calls / (sum(p["cpu_ns"] for p in res["peaks"]) / 1e9)
    # Page faults of a peak after the first (which faults everything in).
    res["faults_per_peak"] = statistics.mean(p["faults"] for p in res["peaks"][1:]) \
        if len(res["peaks"]) > 1 else res["peaks"][0]["faults"]
    # rusage counts in microseconds: a difference below that is none.
    res["other_threads_cpu_s"] = max(0, res["cpu"]["process_ns"] - res["cpu"]["thread_ns"]) / 1e9
    return res


def run_one(ctx, cfg, opts, run_dir, errors):
    args = ["-p", str(opts.peak_mib), "-c", str(opts.cache_mib),
            "-i", str(opts.insert_one_in), "-n", str(opts.peaks),
            "-s", str(opts.trough)] + cfg["args"]
    p, probe_out = burst.start(ctx, cfg, args, run_dir)
    try:
        stdout, _ = p.communicate(timeout=opts.peaks * (opts.trough + 60))
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        errors.append("%s: timed out" % cfg["name"])
        return None
    with open(os.path.join(run_dir, "stdout"), "w") as f:
        f.write(stdout)
    if not burst.finish(p, probe_out, cfg, errors, "lifetime"):
        return None
    if p.returncode != 0:
        errors.append("%s: exit %d (see %s/stderr)" % (cfg["name"], p.returncode, run_dir))
        return None
    res = parse(stdout.splitlines())
    if "base" not in res or len(res["troughs"]) != opts.peaks or "cpu" not in res:
        errors.append("%s: incomplete output (see %s)" % (cfg["name"], run_dir))
        return None
    served = res["allocator"]["mallctl"]
    if served != cfg["served_as"]:
        errors.append("%s: the program found %s's mallctl, expected %s"
                      % (cfg["name"], served, cfg["served_as"]))
        return None
    got = res["allocator"]["classifier"]
    if cfg["classifier"] is not None and got not in ("-", cfg["classifier"]):
        errors.append("%s: opt.classifier reads %s, expected %s"
                      % (cfg["name"], got, cfg["classifier"]))
        return None
    return derive(res)


def measure(ctx, cfgs, opts, raw_dir):
    errors = []
    runs = {c["name"]: [] for c in cfgs}
    for rep in range(opts.reps):
        t_rep = time.monotonic()
        order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
        for c in order:
            r = run_one(ctx, c, opts, os.path.join(raw_dir, "%s.rep%d" % (c["name"], rep)),
                        errors)
            if r:
                runs[c["name"]].append(r)
        log("lifetime: repetition %d/%d done in %.0f s" % (rep + 1, opts.reps,
                                                            time.monotonic() - t_rep))
    return runs, errors


def med(values):
    return statistics.median(values) if values else float("nan")


def summarise(cfgs, runs):
    """Medians per configuration."""
    out = {}
    for c in cfgs:
        rs = runs[c["name"]]
        if not rs:
            continue
        n = len(rs[0]["troughs"])
        out[c["name"]] = {
            "alloc": c["alloc"], "variant": c["variant"], "env": c["env"],
            "classifier": sorted({r["allocator"]["classifier"] for r in rs}),
            "runs": len(rs),
            "peak_rss": med([r["peak_rss"] for r in rs]),
            "ops_per_s": med([r["ops_per_s"] for r in rs]),
            "ops_per_cpu_s": med([r["ops_per_cpu_s"] for r in rs]),
            "other_threads_cpu_s": med([r["other_threads_cpu_s"] for r in rs]),
            "faults_per_peak": med([r["faults_per_peak"] for r in rs]),
            "base_rss": med([r["base"]["rss"] for r in rs]),
            "base_units": med([r["base"]["units"] for r in rs]),
            "troughs": [{k: med([r["troughs"][i][k] for r in rs])
                         for k in ("above", "units_above", "live", "rss", "units")}
                        for i in range(n)],
        }
    return out


# --- report ---------------------------------------------------------------------

def label(name, s):
    """Row label: allocator and settings."""
    alloc = s["alloc"]
    if name.startswith("buddymalloc-noclassifier"):
        return "buddymalloc, classifier:false"
    if name.startswith("jemalloc-arena"):
        return "jemalloc, cache in its own arena (hand-tuned)"
    return alloc


def called_from(s):
    """The table's column for how the program calls malloc."""
    return "two sites" if s["variant"] == "direct" else "one xmalloc()"


def baseline_for(summary, s):
    """jemalloc with the same calls (direct or through xmalloc)."""
    want = BASELINE if s["variant"] == "direct" else BASELINE + "-wrapper"
    return summary.get(want)


def main_table(summary):
    lines = ["| allocator | malloc called from | peak RSS (MiB) | first trough (MiB) "
             "| last trough (MiB) | live (MiB) | trough / live | trough in 2 MiB units / live "
             "| throughput / jemalloc |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary.items():
        first, last = s["troughs"][0], s["troughs"][-1]
        base = baseline_for(summary, s)
        lines.append("| %s | %s | %.0f | %.1f | %.1f | %.1f | %.2f | %.2f | %s |" % (
            label(name, s), called_from(s),
            s["peak_rss"] / MIB, first["above"] / MIB, last["above"] / MIB,
            last["live"] / MIB, last["above"] / last["live"],
            last["units_above"] * WINDOW / last["live"],
            "%.2f" % (s["ops_per_cpu_s"] / base["ops_per_cpu_s"]) if base else "–"))
    return lines


def troughs_table(summary):
    n = len(next(iter(summary.values()))["troughs"])
    lines = ["| allocator | malloc called from | " +
             " | ".join("trough %d" % (i + 1) for i in range(n)) + " |",
             "|---|---|" + "---:|" * n]
    for name, s in summary.items():
        lines.append("| %s | %s | %s |" % (
            label(name, s), called_from(s),
            " | ".join("%.2f / %.2f" % (t["above"] / t["live"],
                                        t["units_above"] * WINDOW / t["live"])
                       for t in s["troughs"])))
    live = next(iter(summary.values()))["troughs"]
    lines.append("| live (MiB) | | " + " | ".join("%.1f" % (t["live"] / MIB) for t in live)
                 + " |")
    return lines


def throughput_table(summary):
    lines = ["| allocator | malloc called from | million calls per CPU second "
             "| million calls per second (wall) | page faults per peak "
             "| CPU seconds of other threads |",
             "|---|---|---:|---:|---:|---:|"]
    for name, s in summary.items():
        lines.append("| %s | %s | %.3f | %.3f | %.0f | %.2f |" % (
            label(name, s), called_from(s),
            s["ops_per_cpu_s"] / 1e6, s["ops_per_s"] / 1e6, s["faults_per_peak"],
            s["other_threads_cpu_s"]))
    return lines


def markdown(results):
    m, o, summary = results["machine"], results["settings"], results["summary"]
    buddy = [s for n, s in summary.items() if s["alloc"] == "buddymalloc"]
    base_rss = [s["base_rss"] for s in summary.values()]
    base_units = [int(s["base_units"]) for s in summary.values()]
    classifier_note = ""
    if buddy and all(s["classifier"] == ["-"] for s in buddy):
        classifier_note = (" This libbuddymalloc has no `classifier` setting "
                           "(`opt.classifier` cannot be read): its two configurations "
                           "run the same allocator.")
    out = [
        "# A long-lived cache beside short-lived peaks (bench/lifetime.py)", "",
        "%s, libbuddymalloc built from %s, %d repetition(s) interleaved, medians. Machine: %d × %s "
        "(`lscpu`: %s), Linux %s, transparent huge pages: %s. Load average (1 min) at start "
        "%.1f, at end %.1f. Took %.0f s."
        % (results["date"], results["commit"], results["reps"], m["nproc"], m["cpu"],
           results["lscpu_model"], m["kernel"], m["thp"], m["loadavg"][0], m["loadavg"][1],
           results["duration_s"]), "",
        "The workload (`bench/lifetime_loop`, issue 9's benchmark): a server handles "
        "requests until %d MiB of request objects are live, then all of them die in a "
        "random order; that is a peak, and %d peaks are run. One request in %d stores an "
        "entry in a cache of at most %d MiB, which evicts its oldest entries, so an entry "
        "lives across about %.0f peaks and long-lived and short-lived objects are "
        "allocated interleaved. Both have the same sizes (log-uniform 16 B..32 KiB) and "
        "are written in full; they come from different call sites (*two sites*) or both "
        "through one non-inlined `xmalloc()` (*one xmalloc()*, the wrapper variant, where "
        "malloc sees one return address: requests through handle_request → request_new "
        "→ xmalloc, cache entries through handle_request → respond → cache_insert → "
        "xmalloc in the source; gcc -O2 turns the calls of respond and cache_insert "
        "into tail calls, so at run time the cache's chain is one frame shorter). "
        "After each peak the program sleeps %g s (the trough) and makes no call at all: "
        "no allocation, no free, no purge, no hint; then it measures."
        % (o["peak_mib"], o["peaks"], o["insert_one_in"], o["cache_mib"],
           o["cache_mib"] / (o["peak_mib"] / o["insert_one_in"]), o["trough"]), "",
        "- **peak RSS**: the largest VmHWM of a peak (whole process).",
        "- **trough**: resident memory at the end of a trough (`/proc/self/statm`) minus "
        "what was resident before the first allocation, both without the program's own "
        "arrays (mmap, measured with mincore); *first* after peak 1, *last* after peak %d."
        % o["peaks"],
        "- **live**: the cache's bytes at the last trough (sum of requested sizes; the "
        "requests are all dead).",
        "- **2 MiB units**: 2 MiB-aligned windows of the anonymous writable mappings "
        "(`/proc/self/maps`) with at least one resident page (`mincore`), minus those at "
        "the start, × 2 MiB: what the trough costs if memory is given back only in whole "
        "pageblocks (or huge pages).",
        "- **throughput**: malloc and free calls per CPU second of the program's thread "
        "in the peaks (the troughs left out), including the memset of every block and "
        "the page faults it takes; ratio to jemalloc with the same calls. CPU time "
        "rather than the clock because the machine is shared (a busy neighbour "
        "stretches the wall time of a peak at random); the wall-clock figure, and the "
        "CPU time of the allocator's own threads (background purging), are in the "
        "throughput table.", "",
        "jemalloc's hand-tuned row allocates the cache entries with "
        "`mallocx(size, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE)` from an arena made with "
        "`mallctl(\"arenas.create\")` and frees them with `dallocx`, and runs with "
        "`MALLOC_CONF=%s`: without a background thread jemalloc purges only during "
        "allocator calls, so nothing goes back in an idle trough, and its thread cache "
        "keeps freed request objects of every size, each pinning a 2 MiB window."
        % JEMALLOC_ARENA_CONF,
        "libbuddymalloc runs with its defaults%s, and with `BUDDYMALLOC_CONF=classifier:false`."
        "%s" % ((" plus `%s`" % o["buddymalloc_conf"]) if o["buddymalloc_conf"] else "",
                classifier_note), "",
        "Issue 9's targets for libbuddymalloc: last trough ≤ 1.3 × live, ≤ 2 × live in "
        "2 MiB units, throughput ≥ jemalloc's.", "",
    ] + main_table(summary) + [
        "", "## Every trough", "",
        "trough / live and 2 MiB units × 2 MiB / live after each peak.", "",
    ] + troughs_table(summary) + [
        "", "## Throughput", "",
        "Medians. An allocator that gives the peak's memory back in the trough takes "
        "its page faults again in the next peak (%d MiB is %d pages); one that keeps "
        "it resident does not. Page faults per peak: the mean over peaks 2..%d (the "
        "first faults everything in, under every allocator). CPU seconds of other "
        "threads: the whole run's (the allocator's background threads)."
        % (o["peak_mib"], o["peak_mib"] * 256, o["peaks"]), "",
    ] + throughput_table(summary) + [
        "", "Before the first allocation the processes had %.1f–%.1f MiB resident and "
        "%d–%d 2 MiB windows with resident pages (libraries' data, the allocator's "
        "start-up); the troughs are counted above that."
        % (min(base_rss) / MIB, max(base_rss) / MIB, min(base_units), max(base_units)),
        "",
    ]
    if results["errors"]:
        out += ["## Problems", ""] + ["- " + e for e in results["errors"]] + [""]
    return "\n".join(out)


def source_commit():
    """The library's source: the last commit that changed anything outside
    bench/ ('b0a58ce'), with ' + local changes' if files outside bench/
    differ from it; '' outside git."""
    top = os.path.dirname(HERE)
    try:
        rev = subprocess.run(["git", "-C", top, "log", "-1", "--format=%h", "--", ".",
                              ":(exclude)bench"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain",
                                "--untracked-files=no", "--", ".", ":(exclude)bench"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
    return rev + (" + local changes" if dirty else "") if rev else ""


def lscpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return ""


def run(build_dir, allocs, opts, out_dir, machine):
    ctx = {"loop": os.path.join(build_dir, "bench", "lifetime_loop"),
           "probe": os.path.join(build_dir, "bench", ".libs", "libbenchprobe.so")}
    for need in ("loop", "probe"):
        if not os.path.exists(ctx[need]):
            raise SystemExit("bench/lifetime.py: %s not built (make bench-build)" % ctx[need])
    cfgs = configs(allocs, opts.buddymalloc_conf)
    if opts.only:
        want = set(opts.only.split(","))
        unknown = want - {c["name"] for c in cfgs}
        if unknown:
            raise SystemExit("bench/lifetime.py: no configuration %s (there are: %s)"
                             % (", ".join(sorted(unknown)),
                                ", ".join(c["name"] for c in cfgs)))
        cfgs = [c for c in cfgs if c["name"] in want]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    raw_dir = os.path.join(out_dir, "raw", "lifetime-" + stamp)
    os.makedirs(raw_dir, exist_ok=True)
    t0 = time.monotonic()
    load0 = os.getloadavg()[0]
    runs, errors = measure(ctx, cfgs, opts, raw_dir)
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": source_commit(), "lscpu_model": lscpu_model(),
        "reps": opts.reps,
        "settings": {"peak_mib": opts.peak_mib, "cache_mib": opts.cache_mib,
                     "insert_one_in": opts.insert_one_in, "peaks": opts.peaks,
                     "trough": opts.trough, "buddymalloc_conf": opts.buddymalloc_conf},
        "machine": dict(machine, loadavg=[load0, os.getloadavg()[0]]),
        "summary": summarise(cfgs, runs), "errors": errors, "runs": runs,
        "duration_s": time.monotonic() - t0,
    }
    with open(os.path.join(raw_dir, "lifetime.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    # A run of some configurations only (tuning) does not replace the table
    # of all of them.
    md_dir = raw_dir if opts.only else out_dir
    results["md"] = os.path.join(md_dir, "lifetime.md")
    if results["summary"]:
        with open(results["md"], "w") as f:
            f.write(markdown(results))
    return results


def main():
    ap = burst.runner_args(__doc__)
    ap.add_argument("--only", help="comma-separated configurations (e.g. buddymalloc,"
                    "buddymalloc-wrapper,jemalloc-arena)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"),
                    help="results directory (default: bench/results in the source tree)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    ap.add_argument("--peaks", type=int, default=6, help="peaks per run (default 6)")
    ap.add_argument("--trough", type=float, default=2.0,
                    help="seconds idle after each peak (default 2)")
    ap.add_argument("--peak-mib", type=int, default=256,
                    help="live request bytes at the top of a peak (default 256)")
    ap.add_argument("--cache-mib", type=int, default=24,
                    help="the cache's capacity (default 24)")
    ap.add_argument("--insert-one-in", type=int, default=32,
                    help="one request in N stores a cache entry (default 32)")
    ap.add_argument("--buddymalloc-conf", default="",
                    help="more BUDDYMALLOC_CONF for the libbuddymalloc runs "
                         "(e.g. 'lifetime_ms:500')")
    opts = ap.parse_args()
    opts.build_dir = os.path.abspath(opts.build_dir)
    bench_run = burst.bench_run_module()
    allocs = bench_run.discover_allocators(argparse.Namespace(
        alloc=opts.alloc, build_dir=opts.build_dir, only=None))
    results = run(opts.build_dir, allocs, opts, os.path.abspath(opts.out),
                  bench_run.machine_info())
    if results["summary"]:
        print()
        print("\n".join(main_table(results["summary"])))
        print()
        print("\n".join(troughs_table(results["summary"])))
    for e in results["errors"]:
        print("problem: " + e)
    print("wrote %s; samples in %s" % (results["md"], os.path.dirname(results["md"])
                                       if opts.only else os.path.join(opts.out, "raw")))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench/burst.py - resident memory after bursts, per allocator.

  bench/burst.py [--build-dir DIR] [--alloc NAME=PATH ...] [--only a,b]
                 [--reps N] [--idle-only | --threads-only] [--out DIR]
                 [--total MIB] [--live MIB] [--idle S]

Two workloads of bench/burst_loop (bench/burst.c), under glibc, jemalloc,
jemalloc with its background thread (MALLOC_CONF=background_thread:true),
mimalloc, tcmalloc and libbuddymalloc, interleaved (each repetition runs
every allocator in turn, starting with a different one), medians:

  idle     a 1 GiB burst of mixed sizes (16 B..8 KiB, and one block in 128
           of 8 KiB..1 MiB), every block touched, freed in random order down
           to 64 MiB live; then the program sleeps and makes no allocator
           call. From outside, this script reads the process's resident
           memory (/proc/PID/statm) every 100 ms for 10 s after the free.
  threads  two threads allocating and freeing mixed sizes at a high rate in
           20 bursts, a quarter of the frees done by the other thread;
           peak resident memory (VmHWM) and resident memory after each burst.

Writes burst.md (tables), burst.png (gnuplot) and burst.json (medians and
every sample) to --out (default: bench/results in the source tree), the
raw output to raw/burst-STAMP/ there (git-ignored), and prints the tables.
Also run by `bench/run --burst` / `--burst-only` and `make bench-burst`.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import charts  # noqa: E402
import programs  # noqa: E402

MIB = 1048576.0
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_S = 0.1
# Columns of the idle table: seconds after the free.
IDLE_POINTS = [0.0, 0.5, 1.0, 2.0, 5.0, 10.0]
# Rows of the threads table: resident memory after these bursts (1-based).
BURST_POINTS = [1, 5, 10, 20]
JEMALLOC_BG = "jemalloc-bg"


def log(msg):
    print(msg, flush=True)


def configs(allocs):
    """The runs: one per allocator found, and jemalloc again with its
    background thread. Each is {name, path, preload, env}."""
    out = []
    for a in allocs:
        if a["status"] != "ok":
            continue
        out.append({"name": a["name"], "path": a["path"], "preload": a["preload"], "env": {}})
        if a["name"] == "jemalloc":
            out.append({"name": JEMALLOC_BG, "path": a["path"], "preload": a["preload"],
                        "env": {"MALLOC_CONF": "background_thread:true"}})
    return out


def statm_rss(pid):
    """Resident bytes of pid (second field of /proc/PID/statm), or None."""
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


def status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def start(ctx, cfg, args, run_dir):
    """Start burst_loop under cfg with the probe in front; returns the
    Popen and the probe file."""
    os.makedirs(run_dir, exist_ok=True)
    probe_out = os.path.join(run_dir, "probe")
    if os.path.exists(probe_out):
        os.unlink(probe_out)
    env = programs.clean_env(dict(cfg["env"], BENCH_PROBE_OUT=probe_out))
    env["LD_PRELOAD"] = ctx["probe"] + " " + cfg["preload"]
    err = open(os.path.join(run_dir, "stderr"), "w")
    p = subprocess.Popen([ctx["loop"]] + args, stdout=subprocess.PIPE, stderr=err,
                         env=env, text=True)
    err.close()
    return p, probe_out


def finish(p, probe_out, cfg, errors, what):
    """Reap p; check that malloc was served by cfg's library."""
    p.wait()
    served = programs.served_check(programs.read_probe(probe_out), cfg["path"])
    if not served["ok"]:
        errors.append("%s under %s: malloc not served by %s: %s"
                      % (what, cfg["name"], cfg["name"], served))
        return False
    return True


def expect(p, word):
    """The next stdout line of p, split, which must start with word."""
    line = p.stdout.readline()
    parts = line.split()
    if not parts or parts[0] != word:
        raise RuntimeError("expected '%s ...', got %r" % (word, line.strip()))
    return parts


def run_idle(ctx, cfg, opts, run_dir, errors):
    """One idle burst; returns {base, live, peak, burst_ms, rss: [...]}."""
    nr = int(round(opts.idle / SAMPLE_S)) + 1
    p, probe_out = start(ctx, cfg, ["idle", "-t", str(opts.total), "-l", str(opts.live),
                                    "-s", str(opts.idle)], run_dir)
    try:
        base = int(expect(p, "base")[1])
        freed = expect(p, "freed")
        t0 = time.monotonic()
        rss = []
        for k in range(nr):
            delay = t0 + k * SAMPLE_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            rss.append(statm_rss(p.pid))
        peak = status_kib(p.pid, "VmHWM:")
    except (RuntimeError, OSError) as e:
        p.kill()
        p.wait()
        errors.append("idle burst under %s: %s" % (cfg["name"], e))
        return None
    # The program sleeps one second longer than the samples take: stop it.
    p.send_signal(signal.SIGKILL)
    if not finish(p, probe_out, cfg, errors, "idle burst"):
        return None
    if None in rss:
        errors.append("idle burst under %s: the process ended early" % cfg["name"])
        return None
    return {"base": base, "live": int(freed[1]), "objects": int(freed[2]),
            "burst_ms": float(freed[3]), "peak": peak, "rss": rss}


def run_threads(ctx, cfg, opts, run_dir, errors):
    """One run of the two-thread bursts; returns {hwm, peak_live, ops, after}."""
    p, probe_out = start(ctx, cfg, ["threads"], run_dir)
    after, result = [], None
    for line in p.stdout:
        parts = line.split()
        if parts and parts[0] == "burst":
            after.append(int(parts[2]))
        elif parts and parts[0] == "result":
            result = parts
    if not finish(p, probe_out, cfg, errors, "threads") or p.returncode != 0 or not result:
        if p.returncode != 0:
            errors.append("threads under %s: exit %d" % (cfg["name"], p.returncode))
        return None
    return {"hwm": int(result[1]), "peak_live": int(result[2]),
            "ops_per_s": float(result[3]), "after": after}


def median_list(rows):
    """Element-wise median of equal-length lists."""
    return [statistics.median(v) for v in zip(*rows)]


def measure(ctx, cfgs, opts, raw_dir):
    errors = []
    idle = {c["name"]: [] for c in cfgs}
    threads = {c["name"]: [] for c in cfgs}
    for rep in range(opts.burst_reps):
        t_rep = time.monotonic()
        order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
        if not opts.threads_only:
            for c in order:
                r = run_idle(ctx, c, opts, os.path.join(raw_dir, "idle.%s.rep%d" % (c["name"], rep)),
                             errors)
                if r:
                    idle[c["name"]].append(r)
        if not opts.idle_only:
            for c in order:
                r = run_threads(ctx, c, opts,
                                os.path.join(raw_dir, "threads.%s.rep%d" % (c["name"], rep)),
                                errors)
                if r:
                    threads[c["name"]].append(r)
        log("burst: repetition %d/%d done in %.0f s" % (rep + 1, opts.burst_reps,
                                                         time.monotonic() - t_rep))
    res = {"idle": {}, "threads": {}}
    for kind, by_name, numbers, series in (
            ("idle", idle, ("live", "base", "peak", "burst_ms"), "rss"),
            ("threads", threads, ("hwm", "peak_live", "ops_per_s"), "after")):
        for name, runs in by_name.items():
            if runs:
                m = {k: statistics.median(r[k] for r in runs) for k in numbers}
                m[series] = median_list([r[series] for r in runs])
                m["samples"] = runs
                res[kind][name] = m
    return res, errors


# --- report ---------------------------------------------------------------------

def idle_table(res):
    if not res["idle"]:
        return []
    lines = ["| allocator | peak RSS (MiB) | " +
             " | ".join("RSS/live %gs" % t for t in IDLE_POINTS) + " | RSS at %gs (MiB) |"
             % IDLE_POINTS[-1],
             "|---|---:|" + "---:|" * len(IDLE_POINTS) + "---:|"]
    for name, r in res["idle"].items():
        cells = []
        for t in IDLE_POINTS:
            k = int(round(t / SAMPLE_S))
            cells.append("%.2f" % (r["rss"][k] / r["live"]) if k < len(r["rss"]) else "–")
        lines.append("| %s | %.0f | %s | %.0f |" % (name, r["peak"] / MIB, " | ".join(cells),
                                                  r["rss"][-1] / MIB))
    return lines


def threads_table(res):
    if not res["threads"]:
        return []
    base = res["threads"].get("jemalloc")
    lines = ["| allocator | peak RSS (MiB) | peak / jemalloc's | peak / peak live | " +
             " | ".join("RSS after burst %d (MiB)" % b for b in BURST_POINTS) +
             " | million ops/s |",
             "|---|---:|---:|---:|" + "---:|" * len(BURST_POINTS) + "---:|"]
    for name, r in res["threads"].items():
        after = ["%.0f" % (r["after"][b - 1] / MIB) if b <= len(r["after"]) else "–"
                 for b in BURST_POINTS]
        lines.append("| %s | %.0f | %s | %.2f | %s | %.2f |" % (
            name, r["hwm"] / MIB, "%.2f" % (r["hwm"] / base["hwm"]) if base else "–",
            r["hwm"] / r["peak_live"], " | ".join(after), r["ops_per_s"] / 1e6))
    return lines


def markdown(results):
    m = results["machine"]
    out = ["# Resident memory after bursts (bench/burst.py)", "",
           "%s, %d repetition(s) interleaved, medians. Machine: %d × %s, Linux %s, "
           "transparent huge pages: %s. Load average (1 min) at start %.1f, at end %.1f."
           % (results["date"], results["reps"], m["nproc"], m["cpu"], m["kernel"], m["thp"],
              m["loadavg"][0], m["loadavg"][1]), ""]
    if results["idle"]:
        live = statistics.median(r["live"] for r in results["idle"].values())
        base = statistics.median(r["base"] for r in results["idle"].values())
        out += ["## Idle after a burst", "",
                "A %d MiB burst of mixed sizes, every block touched, freed in random order "
                "down to %.0f MiB live; then no allocator call. RSS sampled from outside every "
                "%d ms; RSS/live = whole-process RSS / live bytes (the process's RSS before "
                "the burst was %.1f MiB). *t* = seconds after the last free."
                % (results["settings"]["total_mib"], live / MIB, SAMPLE_S * 1000, base / MIB),
                ""] + idle_table(results) + [""]
    if results["threads"]:
        r0 = next(iter(results["threads"].values()))
        out += ["## Two threads in bursts", "",
                "Two threads, %d bursts; in each, every thread does 200000 steps over 8192 "
                "slots (free a random slot's block, a quarter of them through the other "
                "thread, allocate a new one of a mixed size, touch it), then frees "
                "everything. Peak RSS is VmHWM; peak live is the most bytes held at once "
                "(requested sizes); RSS after a burst is read with everything freed."
                % len(r0["after"]), ""] + threads_table(results) + [""]
    out += ["![burst.png](burst.png)", ""]
    if results["errors"]:
        out += ["## Problems", ""] + ["- " + e for e in results["errors"]] + [""]
    return "\n".join(out)


def chart(results, out_dir, plot_dir):
    if shutil.which("gnuplot") is None:
        return "gnuplot not installed (Debian: gnuplot-nox); no chart"
    os.makedirs(plot_dir, exist_ok=True)
    panels = []
    names = list(results["idle"])
    if names:
        dat = os.path.join(plot_dir, "burst-idle.dat")
        nr = min(len(results["idle"][n]["rss"]) for n in names)
        rows = ["# seconds " + " ".join(names)]
        for k in range(nr):
            rows.append("%.1f %s" % (k * SAMPLE_S, " ".join(
                "%.2f" % (results["idle"][n]["rss"][k] / MIB) for n in names)))
        charts.write(dat, rows)
        live = statistics.median(r["live"] for r in results["idle"].values()) / MIB
        plots = ", ".join(
            "'%s' using 1:%d title '%s' with lines lw 2 %s lc rgb '%s'"
            % (dat, i + 2, n, "dt 2" if n == JEMALLOC_BG else "",
               charts.COLOURS.get(n, charts.COLOURS["jemalloc"])) for i, n in enumerate(names))
        plots += ", %g title 'live' with lines dt 3 lw 2 lc rgb '#000000'" % live
        panels.append("set title 'Idle after a %d MiB burst freed to %.0f MiB live'\n"
                      "set xlabel 'seconds after the free'\nset ylabel 'resident MiB'\n"
                      "set logscale y 2\nset yrange [%g:*]\nplot %s\nunset logscale y\n"
                      % (results["settings"]["total_mib"], live, live / 2, plots))
    names = list(results["threads"])
    if names:
        dat = os.path.join(plot_dir, "burst-threads.dat")
        nr = min(len(results["threads"][n]["after"]) for n in names)
        rows = ["# burst " + " ".join(names)]
        for k in range(nr):
            rows.append("%d %s" % (k + 1, " ".join(
                "%.2f" % (results["threads"][n]["after"][k] / MIB) for n in names)))
        charts.write(dat, rows)
        plots = ", ".join(
            "'%s' using 1:%d title '%s' with linespoints lw 2 pt 7 ps 0.6 %s lc rgb '%s'"
            % (dat, i + 2, n, "dt 2" if n == JEMALLOC_BG else "",
               charts.COLOURS.get(n, charts.COLOURS["jemalloc"])) for i, n in enumerate(names))
        panels.append("set title 'Two threads in bursts: RSS after each burst'\n"
                      "set xlabel 'burst'\nset ylabel 'resident MiB'\nset yrange [0:*]\n"
                      "plot %s\n" % plots)
    script = charts.COMMON + """\
set terminal pngcairo noenhanced size %d,520 font "Sans,10"
set output '%s'
set key outside bottom center horizontal font ",9" samplen 3
set multiplot layout 1,%d title "Resident memory after bursts (%s; lower is better)" font ",13"
%s
unset multiplot
""" % (620 * len(panels), os.path.join(out_dir, "burst.png"), len(panels),
       results["machine"].get("cpu", ""), "\n".join(panels))
    ok, err = charts.gnuplot(os.path.join(plot_dir, "burst.gp"), script)
    return "" if ok else "gnuplot failed: " + err


def run(build_dir, allocs, opts, out_dir, machine):
    """Measure, write burst.md, burst.json and burst.png under out_dir;
    returns the results (with "errors")."""
    ctx = {"loop": os.path.join(build_dir, "bench", "burst_loop"),
           "probe": os.path.join(build_dir, "bench", ".libs", "libbenchprobe.so")}
    for need in ("loop", "probe"):
        if not os.path.exists(ctx[need]):
            raise SystemExit("bench/burst.py: %s not built (make bench-build)" % ctx[need])
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    raw_dir = os.path.join(out_dir, "raw", "burst-" + stamp)
    os.makedirs(raw_dir, exist_ok=True)
    cfgs = configs(allocs)
    load0 = os.getloadavg()[0]
    res, errors = measure(ctx, cfgs, opts, raw_dir)
    results = dict(res, errors=errors, reps=opts.burst_reps,
                   date=datetime.datetime.now(datetime.timezone.utc).strftime(
                       "%Y-%m-%d %H:%M UTC"),
                   settings={"total_mib": opts.total, "live_mib": opts.live,
                             "idle_s": opts.idle},
                   machine=dict(machine, loadavg=[load0, os.getloadavg()[0]]))
    note = chart(results, out_dir, os.path.join(raw_dir, "plot"))
    if note:
        results["errors"].append(note)
    with open(os.path.join(out_dir, "burst.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "burst.md"), "w") as f:
        f.write(markdown(results))
    return results


def bench_run_module():
    """bench/run as a module: it knows where the allocators are
    (discover_allocators) and what the machine is (machine_info); it is a
    script, not a module file."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(HERE, "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    bench_run = importlib.util.module_from_spec(spec)
    loader.exec_module(bench_run)
    return bench_run


def add_options(ap):
    """The options bench/run shares."""
    ap.add_argument("--burst-reps", dest="burst_reps", type=int, default=3,
                    help="repetitions of the burst workloads (default 3)")
    ap.add_argument("--total", type=int, default=1024, help="idle burst: MiB allocated")
    ap.add_argument("--live", type=int, default=64, help="idle burst: MiB kept")
    ap.add_argument("--idle", type=float, default=10.0,
                    help="idle burst: seconds sampled after the free")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--idle-only", action="store_true", help="only the idle burst")
    g.add_argument("--threads-only", action="store_true", help="only the threaded bursts")


def runner_args(doc):
    """The argument parser of a runner (this one, lifetime.py) with the
    options they share: where the build is and the allocators' paths."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.getcwd(),
                    help="the configured build directory (default: .)")
    ap.add_argument("--alloc", action="append", default=[], metavar="NAME=PATH",
                    help="shared object for an allocator (as bench/run)")
    return ap


def main():
    ap = runner_args(__doc__)
    ap.add_argument("--only", help="comma-separated allocators (jemalloc includes %s)"
                    % JEMALLOC_BG)
    ap.add_argument("--out", default=os.path.join(HERE, "results"),
                    help="results directory (default: bench/results in the source tree)")
    add_options(ap)
    opts = ap.parse_args()
    opts.build_dir = os.path.abspath(opts.build_dir)
    bench_run = bench_run_module()
    allocs = bench_run.discover_allocators(opts)
    results = run(opts.build_dir, allocs, opts, os.path.abspath(opts.out),
                  bench_run.machine_info())
    print()
    print("\n".join(idle_table(results)))
    print()
    print("\n".join(threads_table(results)))
    for e in results["errors"]:
        print("problem: " + e)
    print("wrote %s/burst.md, burst.json, burst.png" % os.path.abspath(opts.out))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

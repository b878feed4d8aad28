"""report.py - summary, verdicts and the Markdown table for bench/run.

Ratios are against jemalloc (the allocator most users would compare with);
if jemalloc did not run, against glibc.  Geometric means are balanced by
family: first the geomean within a workload family (pairs_fixed at 1..16
threads, the size sweep's sizes, ...), then the geomean of those, so the
size sweep's many sizes count as one workload, not forty.
"""
import math

ORDER = ["glibc", "jemalloc", "mimalloc", "tcmalloc", "buddymalloc", "buddymalloc-linked"]
MIB = 1048576.0
# A workload counts in the resident-memory geomean only if its peak grows at
# least this much over the RSS the process had when it started (under some
# allocator).  Below that, the peak is the process's baseline (program,
# Google Benchmark, the allocator's start-up footprint), not the workload.
RSS_MIN_GROWTH = 4 * MIB
# "No workload more than 20% slower than the best of the others."
SLOW_LIMIT = 0.8
# Checksums are compared with this allocator's (the C library's malloc: the
# one a program's result is checked against first).
CHECKSUM_REFERENCE = "glibc"
# bench/run's exit status when some row's checksum differs from the reference.
CHECKSUM_MISMATCH_STATUS = 3


def geomean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def balanced_geomean(groups):
    """groups: {family: [ratios]} -> geomean of per-family geomeans."""
    return geomean([geomean(v) for v in groups.values() if v])


def columns(results):
    """Allocators that produced results, in display order."""
    seen = set()
    for w in results["workloads"]:
        seen.update(w["results"])
    for p in results["programs"]:
        seen.update(p["results"])
    seen.update(results["memory"])
    return [a for a in ORDER if a in seen]


def baseline(results):
    cols = columns(results)
    for b in (results.get("baseline", "jemalloc"), "jemalloc", "glibc"):
        if b in cols:
            return b
    return cols[0] if cols else None


def value(w, alloc, key):
    r = w["results"].get(alloc)
    return r.get(key) if r else None


def ratio(a, b):
    return a / b if a and b else None


def program_speed(p, alloc):
    """Higher is better: requests/s for redis, 1/(user+sys time) otherwise.
    CPU time rather than wall time because the machines are shared: a busy
    neighbour stretches wall time at random, but not the CPU time of these
    single-threaded programs, which equals their wall time when the machine
    is idle.  (An allocator's background threads count: they cost CPU.)"""
    r = p["results"].get(alloc)
    if not r:
        return None
    if "requests_per_second" in r:
        return r["requests_per_second"]
    return 1.0 / r["user_sys_s"] if r.get("user_sys_s") else None


def program_rss(p, alloc):
    r = p["results"].get(alloc)
    return r["maxrss_kib"] * 1024.0 if r else None


def throughput_groups(results, num, den):
    groups = {}
    for w in results["workloads"]:
        q = ratio(value(w, num, "items_per_second"), value(w, den, "items_per_second"))
        if q:
            groups.setdefault(w["family"], []).append(q)
    return groups


def rss_significant(w):
    growth = [(r.get("peak_rss") or 0) - (r.get("rss_start") or 0) for r in w["results"].values()]
    return bool(growth) and max(growth) >= RSS_MIN_GROWTH


def rss_groups(results, num, den, with_programs):
    groups = {}
    for w in results["workloads"]:
        if not rss_significant(w):
            continue
        q = ratio(value(w, num, "peak_rss"), value(w, den, "peak_rss"))
        if q:
            groups.setdefault(w["family"], []).append(q)
    mem = results["memory"]
    if num in mem and den in mem:
        q = ratio(mem[num].get("peak_rss"), mem[den].get("peak_rss"))
        if q:
            groups["memory_burst"] = [q]
    if with_programs:
        for p in results["programs"]:
            q = ratio(program_rss(p, num), program_rss(p, den))
            if q:
                groups["program:" + p["name"]] = [q]
    return groups


def summary(results):
    base = baseline(results)
    out = {"baseline": base, "allocators": {}}
    for a in columns(results):
        s = {
            "throughput_geomean": balanced_geomean(throughput_groups(results, a, base)),
            "peak_rss_geomean": balanced_geomean(rss_groups(results, a, base, False)),
            "program_speed_geomean": geomean(
                [ratio(program_speed(p, a), program_speed(p, base)) for p in results["programs"]]),
            "program_rss_geomean": geomean(
                [ratio(program_rss(p, a), program_rss(p, base)) for p in results["programs"]]),
        }
        m = results["memory"].get(a)
        if m:
            s["burst_free_ratio"] = m.get("free_ratio")
            s["burst_trim_ratio"] = m.get("trim_ratio")
        out["allocators"][a] = s
    return out


def slow_rows(results, target):
    """Workloads and programs where target is >20% slower than the best other."""
    others = [a for a in columns(results) if not a.startswith(target)]
    rows = []
    for w in results["workloads"]:
        mine = value(w, target, "items_per_second")
        best = max(((value(w, o, "items_per_second") or 0, o) for o in others), default=(0, None))
        if mine and best[0] and mine / best[0] < SLOW_LIMIT:
            rows.append(("%s (%d thr)" % (w["name"], w["threads"]), mine / best[0], best[1]))
    for p in results["programs"]:
        mine = program_speed(p, target)
        best = max(((program_speed(p, o) or 0, o) for o in others), default=(0, None))
        if mine and best[0] and mine / best[0] < SLOW_LIMIT:
            rows.append(("program " + p["name"], mine / best[0], best[1]))
    return sorted(rows, key=lambda r: r[1])


# --- checksums ----------------------------------------------------------------------

def checksum_values(results):
    """[(row, {allocator: [(ops, checksum), ...]})] for every row that
    recorded checksums: one pair per run (ops is None for programs)."""
    out = []
    for w in results["workloads"]:
        vals = {}
        for alloc, r in w["results"].items():
            s = r.get("samples", {})
            cs, ops = s.get("checksum", []), s.get("checksum_ops", [])
            if cs and len(cs) == len(ops):
                vals[alloc] = [(int(o), "%012x" % int(c)) for o, c in zip(ops, cs)]
        if vals:
            out.append(("%s (%d thr)" % (w["name"], w["threads"]), vals))
    vals = {}
    for alloc, m in results.get("memory", {}).items():
        s = m.get("samples", {})
        cs, ops = s.get("checksum", []), s.get("checksum_ops", [])
        if cs and len(cs) == len(ops):
            vals[alloc] = [(int(o), "%012x" % int(c)) for o, c in zip(ops, cs)]
    if vals:
        out.append(("memory_burst", vals))
    for p in results["programs"]:
        vals = {alloc: [(None, c) for c in r.get("checksums", [])]
                for alloc, r in p["results"].items() if r.get("checksums")}
        if vals:
            out.append(("program " + p["name"], vals))
    return out


def checksums(results):
    """Compare every run's checksum with the reference allocator's first run
    of the same row.  A mismatch is a run with the same number of checksummed
    operations and another checksum (a wrong result), or a reference whose
    own runs disagree (a workload that is not deterministic: a bench bug).
    A run that checksummed another number of operations (its final
    iteration count fell short of the prefix) cannot be compared; it is
    listed apart and is not a mismatch."""
    out = {"reference": None, "rows": 0, "mismatches": [], "incomparable": []}
    for row, vals in checksum_values(results):
        ref = CHECKSUM_REFERENCE if CHECKSUM_REFERENCE in vals else next(
            (a for a in ORDER if a in vals), None)
        if ref is None:
            continue
        out["reference"] = out["reference"] or ref
        out["rows"] += 1
        want = vals[ref][0]
        for alloc in [a for a in ORDER if a in vals]:
            for got in vals[alloc]:
                if got == want:
                    continue
                item = {"row": row, "allocator": alloc, "reference": ref,
                        "got": got[1], "want": want[1], "ops": got[0], "want_ops": want[0]}
                if got[0] != want[0]:
                    out["incomparable"].append(item)
                else:
                    out["mismatches"].append(item)
                break
    return out


def exit_status(results):
    """bench/run's exit status: CHECKSUM_MISMATCH_STATUS if some result
    differs from the reference allocator's, else 0."""
    c = results.get("checksums") or checksums(results)
    return CHECKSUM_MISMATCH_STATUS if c["mismatches"] else 0


def checksum_lines(results, markdown):
    c = results.get("checksums") or checksums(results)
    L = []
    if markdown:
        L.append("## Checksums")
        L.append("")
        L.append("Each workload checksums a fixed prefix of its work (tags written into "
                 "the blocks it allocates and read back before they are freed); each "
                 "program, what it produced. Every run is compared with %s's first run "
                 "of the same row." % (c["reference"] or CHECKSUM_REFERENCE))
        L.append("")
    pre = "- " if markdown else "  "
    if c["mismatches"]:
        L.append(("**%d run(s) computed a different result from %s's** (exit status %d):"
                  if markdown else "CHECKSUM MISMATCH: %d run(s) differ from %s's (exit status %d):")
                 % (len(c["mismatches"]), c["reference"], CHECKSUM_MISMATCH_STATUS))
        for m in c["mismatches"]:
            L.append(pre + "%s under %s: checksum %s, %s's %s" % (
                m["row"], m["allocator"], m["got"], m["reference"], m["want"]))
    else:
        L.append("checksums: all %d rows agree with %s's" % (c["rows"], c["reference"]))
    for m in c["incomparable"]:
        L.append(pre + "not compared: %s under %s checksummed %s operations, %s %s" % (
            m["row"], m["allocator"], m["ops"], m["reference"], m["want_ops"]))
    if markdown:
        L.append("")
    return L


def verdicts(results, target):
    cols = columns(results)
    if target not in cols:
        return {"target": target, "evaluated": False,
                "reason": "%s did not run (%s)" % (target, skip_reason(results, target))}
    v = {"target": target, "evaluated": True, "checks": []}

    def check(name, val, ok, detail):
        v["checks"].append({"name": name, "value": val, "pass": ok, "detail": detail})

    for peer in ("jemalloc", "mimalloc"):
        if peer in cols:
            g = balanced_geomean(throughput_groups(results, target, peer))
            check("throughput geomean >= %s" % peer, g, g is not None and g >= 1.0,
                  "geomean of %s/%s throughput over workload families: %s"
                  % (target, peer, fmt_ratio(g)))
    if "jemalloc" in cols:
        g = balanced_geomean(rss_groups(results, target, "jemalloc", True))
        check("peak RSS <= jemalloc", g, g is not None and g <= 1.0,
              "geomean of %s/jemalloc peak RSS over workload families and programs: %s"
              % (target, fmt_ratio(g)))
    c = results.get("checksums") or checksums(results)
    bad = [m for m in c["mismatches"] if m["allocator"].startswith(target)]
    check("same results as %s (checksums)" % (c["reference"] or CHECKSUM_REFERENCE), len(bad),
          not bad, "%d of %d rows differ" % (len({m["row"] for m in bad}), c["rows"]))
    slow = slow_rows(results, target)
    check("no workload >20% slower than the best", len(slow), not slow,
          "%d workload(s) or program(s) below 0.80 of the best other allocator" % len(slow)
          if slow else "every workload and program within 20% of the best")
    v["slow"] = [{"workload": n, "ratio_to_best": r, "best": b} for n, r, b in slow]
    return v


def skip_reason(results, name):
    for a in results["allocators"]:
        if a["name"] == name:
            return a.get("reason") or a.get("status")
    return "not configured"


# --- formatting ---------------------------------------------------------------------

def fmt_ratio(r):
    return "%.2f" % r if r else "–"


def fmt_abs(v):
    """An absolute rate or size with about three significant digits."""
    if not v:
        return "–"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3g" % v


def fmt_mib(b):
    return fmt_abs(b / MIB) if b else "–"


def fmt_rate(r):
    if not r:
        return "–"
    if r >= 1e6:
        return "%.1fM" % (r / 1e6)
    return "%.0fk" % (r / 1e3)


def table(header, rows, text_cols=2):
    """A Markdown table; the first text_cols columns left-aligned, the
    rest (numbers) right-aligned."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i < text_cols else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def bold_best(cells, vals, higher_better=True):
    """Bold the cell whose value is best."""
    present = [(v, i) for i, v in enumerate(vals) if v]
    if len(present) < 2:
        return cells
    best = max(present)[1] if higher_better else min(present)[1]
    cells = list(cells)
    cells[best] = "**%s**" % cells[best]
    return cells


def machine_line(m):
    return "%s × %s, %s RAM, Linux %s, %s, transparent huge pages: %s" % (
        m.get("nproc"), m.get("cpu") or "unknown CPU", m.get("memory"), m.get("kernel"),
        m.get("glibc"), m.get("thp") or "?")


def load_note(results):
    """The machine is shared: say how busy it was, so a reader can judge."""
    la = results["machine"].get("loadavg")
    if not la:
        return ""
    return " Load average (1 min) at start %.1f, at end %.1f." % (la[0], la[1])


def summary_rows(cols, summ):
    """One row of summary ratios per allocator column."""
    keys = ("throughput_geomean", "peak_rss_geomean", "program_speed_geomean",
            "program_rss_geomean", "burst_free_ratio", "burst_trim_ratio")
    return [[a] + [fmt_ratio(summ.get(a, {}).get(k)) for k in keys] for a in cols]


def readme_block(results, chart_files, prefix="results/"):
    """The results section of a README, between its markers; prefix is the
    path from that README to bench/results/."""
    cols = columns(results)
    summ = results.get("summary", {}).get("allocators", {})
    L = ["Latest `bench/run --%s`, %s. Machine: %s.%s Full tables: "
         "[latest.md](%slatest.md); data: "
         "[latest.json](%slatest.json)." % (
             results["mode"], results["date"], machine_line(results["machine"]),
             load_note(results), prefix, prefix), ""]
    rows = summary_rows(cols, summ)
    for a in results["allocators"]:
        if a["status"] != "ok":
            rows.append([a["name"], "skipped: " + a["reason"], "", "", "", "", ""])
    L += table(["allocator (ratio to %s)" % baseline(results), "workload throughput",
                "workload peak RSS", "program speed", "program peak RSS",
                "burst resident/live after free", "after trim"], rows, text_cols=1)
    L.append("")
    v = results.get("verdicts", {})
    L.append("**Targets for %s** (issue 4):" % v.get("target", "buddymalloc"))
    L.append("")
    if not v.get("evaluated"):
        L.append("- not evaluated: " + v.get("reason", ""))
    else:
        for c in v["checks"]:
            L.append("- **%s** %s: %s" % ("PASS" if c["pass"] else "FAIL", c["name"], c["detail"]))
    L.append("")
    for c in chart_files:
        L.append("![%s](%s%s)" % (c, prefix, c))
        L.append("")
    return "\n".join(L).rstrip() + "\n"


def markdown(results, chart_files, chart_note):
    cols = columns(results)
    base = baseline(results)
    others = [a for a in cols if a != base]
    L = []
    L.append("# Allocator comparison")
    L.append("")
    L.append("Generated by `bench/run --%s` on %s (%d repetitions of each workload, %d of "
             "each program, interleaved; medians). Run time %.1f min." % (
                 results["mode"], results["date"], results["reps"], results["program_reps"],
                 results.get("duration_s", 0) / 60.0))
    L.append("")
    L.append("Machine: " + machine_line(results["machine"]) + "." + load_note(results))
    L.append("")
    rows = []
    for a in results["allocators"]:
        status = "measured" if a["status"] == "ok" else "**skipped**: " + a["reason"]
        rows.append([a["name"], "`%s`" % a["path"] if a["path"] else "–", a.get("version") or "–",
                     a.get("purge") or "–", status])
    L += table(["allocator", "library", "package", "purge call", "status"], rows, text_cols=5)
    L.append("")
    L.append("Ratios are against **%s**. Throughput and program speed: higher is better. "
             "Resident memory: lower is better. Geometric means are taken per workload "
             "family first, then across families." % base)
    L.append("")

    # Summary
    L.append("## Summary")
    L.append("")
    summ = results.get("summary", {}).get("allocators", {})
    rows = summary_rows(cols, summ)
    L += table(["allocator", "workload throughput", "workload peak RSS", "program speed",
                "program peak RSS", "burst: resident/live after free", "after trim"], rows,
               text_cols=1)
    L.append("")

    # Throughput
    L.append("## Throughput of the in-process workloads")
    L.append("")
    L.append("Million operations per second for %s; ratio to it for the others. "
             "Best in bold." % base)
    L.append("")
    rows = []
    for w in results["workloads"]:
        b = value(w, base, "items_per_second")
        vals = [b] + [value(w, a, "items_per_second") for a in others]
        cells = [fmt_abs(b / 1e6) if b else "–"] + [
            fmt_ratio(ratio(value(w, a, "items_per_second"), b)) for a in others]
        rows.append([w["name"], str(w["threads"])] + bold_best(cells, vals))
    L += table(["workload", "threads", base + " (M/s)"] + others, rows)
    L.append("")

    # Resident memory of workloads
    L.append("## Resident memory of the in-process workloads")
    L.append("")
    L.append("Peak RSS of the benchmark process during the workload / RSS after the "
             "workload freed everything (threads still alive). MiB for %s; ratios to it "
             "for the others. Includes the process's baseline (a few MiB); rows marked "
             "† grow less than %d MiB over it under every allocator and are left out "
             "of the peak-RSS geomean." % (base, RSS_MIN_GROWTH / MIB))
    L.append("")
    rows = []
    for w in results["workloads"]:
        bp, bf = value(w, base, "peak_rss"), value(w, base, "rss_after_free")
        cells = ["%s / %s" % (fmt_mib(bp), fmt_mib(bf))]
        for a in others:
            cells.append("%s / %s" % (fmt_ratio(ratio(value(w, a, "peak_rss"), bp)),
                                      fmt_ratio(ratio(value(w, a, "rss_after_free"), bf))))
        name = w["name"] if rss_significant(w) else w["name"] + " †"
        rows.append([name, str(w["threads"])] + cells)
    L += table(["workload", "threads", base + " (MiB)"] + others, rows)
    L.append("")

    # Memory burst
    mem = results["memory"]
    if mem:
        any_m = next(iter(mem.values()))
        L.append("## Memory after a burst")
        L.append("")
        L.append("`memory_burst`: allocate %.0f MiB in 16 B..2 KiB objects, free all but a "
                 "random 1/16 (%.1f MiB live), sit idle %g s (*after free*), then call the "
                 "allocator's purge (*after trim*). Resident/live = (RSS − RSS before the "
                 "burst) / live bytes; 1.0 is perfect." % (
                     any_m.get("burst_bytes", 0) / MIB, any_m.get("live_bytes", 0) / MIB,
                     any_m.get("idle_seconds", 0)))
        L.append("")
        rows = []
        purge = {a["name"]: a.get("purge") for a in results["allocators"]}
        for a in cols:
            m = mem.get(a)
            if not m:
                continue
            rows.append([a, fmt_mib(m.get("peak_rss")), fmt_mib(m.get("rss_free_now")),
                         fmt_mib(m.get("rss_after_free")), fmt_mib(m.get("rss_after_trim")),
                         fmt_ratio(m.get("free_ratio")), fmt_ratio(m.get("trim_ratio")),
                         purge.get(a.replace("-linked", "")) or "–"])
        L += table(["allocator", "peak MiB", "right after free", "after free (idle)",
                    "after trim", "resident/live after free", "after trim", "purge call"], rows,
                   text_cols=1)
        L.append("")

    # Programs (the linked variant exists only for the in-process workloads)
    pcols = [a for a in cols if any(a in p["results"] for p in results["programs"])]
    if results["programs"]:
        L.append("## Real programs")
        L.append("")
        L.append("Each cell: value (ratio to %s). Wall and CPU time and peak RSS: lower is "
                 "better; redis requests/s: higher is better. Peak RSS is the largest "
                 "process of the run (for gcc, cc1; for redis, the server). The "
                 "*program speed* geomean uses user+sys time (redis: requests/s), which a "
                 "busy shared machine disturbs less than wall time." % base)
        L.append("")
        rows = []
        for p in results["programs"]:
            metrics = [("wall time s", lambda r: r["wall_s"], "%.2f", False),
                       ("user+sys s", lambda r: r["user_sys_s"], "%.2f", False),
                       ("peak RSS MiB", lambda r: r["maxrss_kib"] / 1024.0, "%.1f", False)]
            if p["name"] == "redis":
                metrics.insert(0, ("requests/s", lambda r: r.get("requests_per_second"),
                                   None, True))
            for label, get, f, higher in metrics:
                bval = get(p["results"][base]) if base in p["results"] else None
                cells, vals = [], []
                for a in pcols:
                    r = p["results"].get(a)
                    v = get(r) if r else None
                    vals.append(v)
                    if v is None:
                        cells.append("–")
                        continue
                    txt = fmt_rate(v) if f is None else f % v
                    cells.append(txt if a == base else "%s (%s)" % (txt, fmt_ratio(ratio(v, bval))))
                rows.append([p["name"], label] + bold_best(cells, vals, higher))
        L += table(["program", "metric"] + pcols, rows)
        L.append("")
        L.append("Who served malloc (libbenchprobe: the library each process's `malloc` "
                 "binds to; stats: the allocator's own statistics appeared when its "
                 "stats-at-exit switch was on in the untimed verification run):")
        L.append("")
        rows = []
        for p in results["programs"]:
            cells = []
            for a in pcols:
                r = p["results"].get(a)
                if not r:
                    cells.append("–")
                    continue
                sv = r["served"]
                txt = ("yes, %d proc (%s)" % (sv["processes"], ", ".join(sv["executables"]))
                       if sv["ok"] else "**NO**: %s" % "; ".join(sv["wrong"]))
                st = r.get("check", {}).get("stats_seen")
                if st is not None:
                    txt += ", stats " + ("seen" if st else "**missing**")
                cells.append(txt)
            rows.append([p["name"], "served"] + cells)
        L += table(["program", "check"] + pcols, rows, text_cols=2 + len(pcols))
        L.append("")

    # Charts
    if chart_files:
        L.append("## Charts")
        L.append("")
        titles = {"threads.png": "Throughput against thread count",
                  "sizes.png": "Throughput against request size",
                  "memory.png": "Resident memory",
                  "programs.png": "Real programs"}
        for c in chart_files:
            L.append("![%s](%s)" % (titles.get(c, c), c))
            L.append("")
    elif chart_note:
        L.append("Charts: " + chart_note)
        L.append("")

    L += checksum_lines(results, markdown=True)

    if results["errors"]:
        L.append("## Problems during the run")
        L.append("")
        for e in results["errors"]:
            L.append("- " + e.replace("|", "\\|"))
        L.append("")

    L += verdict_lines(results.get("verdicts", {}), markdown=True)
    return "\n".join(L) + "\n"


def verdict_lines(v, markdown):
    L = []
    if markdown:
        L.append("## Targets for %s" % v.get("target", "buddymalloc"))
        L.append("")
        L.append("From issue 4: geomean throughput at or above jemalloc's and mimalloc's; "
                 "peak resident memory at or below jemalloc's; no workload more than 20% "
                 "slower than the best of the others. Goals, not tests.")
        L.append("")
    else:
        L.append("targets for %s:" % v.get("target", "buddymalloc"))
    if not v.get("evaluated"):
        L.append(("- " if markdown else "  ") + "not evaluated: " + v.get("reason", ""))
        return L
    for c in v["checks"]:
        mark = "PASS" if c["pass"] else "FAIL"
        L.append(("- **%s** %s: %s" if markdown else "  %s  %s: %s") % (mark, c["name"], c["detail"]))
    if v.get("slow"):
        L.append("")
        L.append("Slowest against the best other allocator:" if markdown else "  slowest:")
        for s in v["slow"][:15]:
            L.append(("- %s: %.2f of %s" if markdown else "    %s: %.2f of %s")
                     % (s["workload"], s["ratio_to_best"], s["best"]))
    return L


def console_summary(results):
    cols = columns(results)
    summ = results.get("summary", {}).get("allocators", {})
    base = baseline(results)
    L = ["summary (ratios to %s; throughput/speed higher is better, RSS lower):" % base,
         "  %-20s %10s %10s %10s %10s %10s" % ("allocator", "tput", "peak RSS", "prog speed",
                                                "prog RSS", "burst r/l")]
    for a in cols:
        s = summ.get(a, {})
        L.append("  %-20s %10s %10s %10s %10s %10s" % (
            a, fmt_ratio(s.get("throughput_geomean")), fmt_ratio(s.get("peak_rss_geomean")),
            fmt_ratio(s.get("program_speed_geomean")), fmt_ratio(s.get("program_rss_geomean")),
            fmt_ratio(s.get("burst_free_ratio"))))
    for a in results["allocators"]:
        if a["status"] != "ok":
            L.append("  %-20s skipped: %s" % (a["name"], a["reason"]))
    L += checksum_lines(results, markdown=False)
    L += verdict_lines(results.get("verdicts", {}), markdown=False)
    return L

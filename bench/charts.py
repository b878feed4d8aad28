"""charts.py - gnuplot charts for bench/run (Debian: gnuplot-nox).

  threads.png   throughput against thread count, one panel per threaded workload
  sizes.png     throughput of the size sweep against request size
  memory.png    resident memory: the burst workload, threaded workloads at the
                highest thread count, real programs
  programs.png  real programs: speed (1/CPU time; redis requests/s) and wall
                time relative to the baseline

Data files and gnuplot scripts are written next to the raw results
(raw/plot/), so a chart can be re-made or restyled by hand.
"""
import os
import shutil
import subprocess

import report

# One colour per allocator, the same in every chart.
COLOURS = {
    "glibc": "#7f7f7f",
    "jemalloc": "#1f77b4",
    "mimalloc": "#2ca02c",
    "tcmalloc": "#ff7f0e",
    "buddymalloc": "#d62728",
    "buddymalloc-linked": "#9467bd",
}
MIB = 1048576.0

COMMON = """\
set datafile missing "?"
set grid ytics lc rgb "#dddddd"
set border lc rgb "#444444"
set key noenhanced
"""


def num(v, scale=1.0):
    return "%.6g" % (v / scale) if v else "?"


def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def gnuplot(script_path, script):
    with open(script_path, "w") as f:
        f.write(script)
    p = subprocess.run(["gnuplot", script_path], capture_output=True, text=True)
    return p.returncode == 0, p.stderr.strip()


def threaded_families(results):
    fams = []
    for w in results["workloads"]:
        if w["threads"] > 1 and w["name"] not in fams:
            fams.append(w["name"])
    return fams


def chart_threads(results, cols, out_dir, plot_dir):
    fams = threaded_families(results)
    if not fams:
        return None
    panels = []
    for i, name in enumerate(fams):
        dat = os.path.join(plot_dir, "threads-%d.dat" % i)
        rows = ["# threads " + " ".join(cols)]
        for w in results["workloads"]:
            if w["name"] == name:
                rows.append("%d %s" % (w["threads"], " ".join(
                    num(report.value(w, a, "items_per_second"), 1e6) for a in cols)))
        write(dat, rows)
        plots = ", ".join(
            "'%s' using 1:%d title '%s' with linespoints lw 2 pt 7 ps 0.9 lc rgb '%s'"
            % (dat, k + 2, a, COLOURS.get(a, "#000000")) for k, a in enumerate(cols))
        panels.append("set title '%s'\nplot %s\n" % (name, plots))
    ncols = 3 if len(panels) > 4 else 2
    nrows = (len(panels) + ncols - 1) // ncols
    script = COMMON + """\
set terminal pngcairo noenhanced size %d,%d font "Sans,10"
set output '%s'
set logscale x 2
set xtics (1, 2, 4, 8, 16)
set xrange [0.8:20]
set yrange [0:*]
set offsets 0, 0, graph 0.22, 0
set xlabel 'threads'
set ylabel 'million operations / s'
set key top center horizontal maxrows 2 font ",9" samplen 2
set multiplot layout %d,%d title "Throughput against thread count (%s, higher is better)" font ",13"
%s
unset multiplot
""" % (520 * ncols, 380 * nrows + 40, os.path.join(out_dir, "threads.png"), nrows, ncols,
       results["machine"].get("cpu", ""), "\n".join(panels))
    return "threads.png", gnuplot(os.path.join(plot_dir, "threads.gp"), script)


def chart_sizes(results, cols, out_dir, plot_dir):
    rows = ["# size " + " ".join(cols)]
    for w in results["workloads"]:
        if w["family"] == "size_sweep":
            size = int(w["name"].split("size:")[1])
            rows.append("%d %s" % (size, " ".join(
                num(report.value(w, a, "items_per_second"), 1e6) for a in cols)))
    if len(rows) < 3:
        return None
    dat = os.path.join(plot_dir, "sizes.dat")
    write(dat, rows)
    plots = ", ".join(
        "'%s' using 1:%d title '%s' with linespoints lw 2 pt 7 ps 0.7 lc rgb '%s'"
        % (dat, k + 2, a, COLOURS.get(a, "#000000")) for k, a in enumerate(cols))
    script = COMMON + """\
set terminal pngcairo noenhanced size 1100,560 font "Sans,10"
set output '%s'
set title "size_sweep: allocate, touch and free batches of one size (higher is better)" font ",12"
set logscale x 2
set logscale y 10
set xtics ("16" 16, "64" 64, "256" 256, "1K" 1024, "4K" 4096, "16K" 16384, "64K" 65536, "256K" 262144, "1M" 1048576, "4M" 4194304, "16M" 16777216, "32M" 33554432)
set xlabel 'request size (bytes)'
set ylabel 'million allocations / s (log)'
set key top right font ",9"
set arrow from 4096, graph 0 to 4096, graph 1 nohead dt 2 lc rgb "#999999"
set arrow from 4194304, graph 0 to 4194304, graph 1 nohead dt 2 lc rgb "#999999"
set label "page" at 4096, graph 0.04 offset 0.5,0 tc rgb "#777777"
set label "4 MiB: above the largest buddy block" at 4194304, graph 0.04 right offset -0.5,0 tc rgb "#777777"
plot %s
""" % (os.path.join(out_dir, "sizes.png"), plots)
    return "sizes.png", gnuplot(os.path.join(plot_dir, "sizes.gp"), script)


def histogram(title, ylabel, dat, cols, extra="", extra_plot=""):
    plots = ", ".join(
        "'%s' using %d%s title '%s' lc rgb '%s'"
        % (dat, k + 2, ":xtic(1)" if k == 0 else "", a, COLOURS.get(a, "#000000"))
        for k, a in enumerate(cols)) + extra_plot
    return """\
set title "%s"
set ylabel '%s'
%s
plot %s
unset arrow
unset label
""" % (title, ylabel, extra, plots)


HIST = """\
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics nomirror
set yrange [0:*]
set offsets 0, 0, graph 0.2, 0
set key top center horizontal maxrows 2 font ",9" samplen 2
"""


def chart_memory(results, cols, out_dir, plot_dir):
    panels = []
    mem = results["memory"]
    mcols = [a for a in cols if a in mem]
    if mcols:
        dat = os.path.join(plot_dir, "memory-burst.dat")
        rows = ["# phase " + " ".join(mcols)]
        for label, key in (("peak", "peak_rss"), ("freed", "rss_free_now"),
                           ("freed + idle", "rss_after_free"), ("trimmed", "rss_after_trim")):
            rows.append('"%s" %s' % (label, " ".join(num(mem[a].get(key), MIB) for a in mcols)))
        write(dat, rows)
        m = mem[mcols[0]]
        live = (m.get("live_bytes", 0) + m.get("rss_base", 0)) / MIB
        # The live level as a plotted line, so it has an entry in the key.
        extra_plot = ", %g title 'live + baseline' with lines dt 2 lw 2 lc rgb '#000000'" % live
        panels.append(histogram("memory_burst: %.0f MiB burst, 1/16 kept (MiB, lower is better)"
                                % (m.get("burst_bytes", 0) / MIB), "resident MiB", dat, mcols,
                                "", extra_plot))
    fams = threaded_families(results)
    if fams:
        dat = os.path.join(plot_dir, "memory-threads.dat")
        rows = ["# workload " + " ".join(cols)]
        for name in fams:
            ws = [w for w in results["workloads"] if w["name"] == name]
            w = max(ws, key=lambda x: x["threads"])
            rows.append('"%s" %s' % (name.split("/")[0], " ".join(
                num(report.value(w, a, "peak_rss"), MIB) for a in cols)))
        write(dat, rows)
        panels.append(histogram("Peak RSS of threaded workloads at %d threads (MiB)"
                                % max(w["threads"] for w in results["workloads"]),
                                "peak resident MiB", dat, cols,
                                "set xtics rotate by -25"))
    if results["programs"]:
        pcols = program_columns(results, cols)
        dat = os.path.join(plot_dir, "memory-programs.dat")
        rows = ["# program " + " ".join(pcols)]
        for p in results["programs"]:
            rows.append('"%s" %s' % (p["name"], " ".join(
                num(report.program_rss(p, a), MIB) for a in pcols)))
        write(dat, rows)
        panels.append(histogram("Peak RSS of real programs (MiB)", "peak resident MiB", dat,
                                pcols, "set xtics norotate"))
    if not panels:
        return None
    script = COMMON + HIST + """\
set terminal pngcairo noenhanced size %d,520 font "Sans,10"
set output '%s'
set multiplot layout 1,%d title "Resident memory (lower is better)" font ",13"
%s
unset multiplot
""" % (560 * len(panels), os.path.join(out_dir, "memory.png"), len(panels), "\n".join(panels))
    return "memory.png", gnuplot(os.path.join(plot_dir, "memory.gp"), script)


def program_columns(results, cols):
    """Allocators with program results (not the linked variant)."""
    return [a for a in cols if any(a in p["results"] for p in results["programs"])]


def chart_programs(results, cols, out_dir, plot_dir):
    progs = results["programs"]
    base = report.baseline(results)
    if not progs or not base:
        return None
    cols = program_columns(results, cols)
    dat = os.path.join(plot_dir, "programs.dat")
    rows = ["# program " + " ".join(cols)]
    for p in progs:
        rows.append('"%s" %s' % (p["name"], " ".join(
            num(report.ratio(report.program_speed(p, a), report.program_speed(p, base)))
            for a in cols)))
    write(dat, rows)
    dat2 = os.path.join(plot_dir, "programs-wall.dat")
    rows = ["# program " + " ".join(cols)]
    for p in progs:
        def wall(a):
            r = p["results"].get(a)
            return r["wall_s"] if r else None
        rows.append('"%s" %s' % (p["name"], " ".join(
            num(report.ratio(wall(a), wall(base))) for a in cols)))
    write(dat2, rows)
    one = 'set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#000000"'
    panels = [
        histogram("Speed relative to %s (1/CPU time; redis: requests/s; higher is better)"
                  % base, "ratio", dat, cols, one),
        histogram("Wall time relative to %s (lower is better)" % base, "ratio",
                  dat2, cols, one),
    ]
    script = COMMON + HIST + """\
set terminal pngcairo noenhanced size 1200,480 font "Sans,10"
set output '%s'
set multiplot layout 1,2 title "Real programs under each allocator" font ",13"
%s
unset multiplot
""" % (os.path.join(out_dir, "programs.png"), "\n".join(panels))
    return "programs.png", gnuplot(os.path.join(plot_dir, "programs.gp"), script)


def draw_all(results, out_dir, plot_dir):
    """Returns ([png file names], note): the note says why charts are missing."""
    if shutil.which("gnuplot") is None:
        return [], "gnuplot not installed (Debian: gnuplot-nox); no charts"
    os.makedirs(plot_dir, exist_ok=True)
    cols = report.columns(results)
    made, problems = [], []
    for fn in (chart_threads, chart_sizes, chart_memory, chart_programs):
        r = fn(results, cols, out_dir, plot_dir)
        if r is None:
            continue
        name, (ok, err) = r
        if ok:
            made.append(name)
        else:
            problems.append("%s: %s" % (name, err[:300]))
    return made, "; ".join(problems)

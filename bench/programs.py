"""programs.py - real programs under each allocator, for bench/run.

Each program runs through runproc (fork, exec with LD_PRELOAD, wait4), which
reports wall time, user and system time and peak RSS.  libbenchprobe.so is
preloaded before the allocator and writes, for every process that starts, which
library its malloc binds to; a row counts only if every process was served
by the allocator the row is named after.

Programs:
  python  /usr/bin/python3 bench/programs/alloc_heavy.py, PYTHONMALLOC=malloc
  sqlite  sqlite3 :memory: < bench/programs/sqlite_workload.sql
  gcc     gcc -O2 -c on a generated C file (bench/programs/gen_large_c.py)
  redis   redis-server on a free 127.0.0.1 port, loaded by redis-benchmark
          (the client is not preloaded: it is the server we measure)
  sort    sort -k2,2n -k1,1 of a generated text file (deterministic lines)
  perl    perl bench/programs/hash_churn.pl: hashes, regexes, sorting
  bigint  /usr/bin/python3 bench/programs/bigint.py, PYTHONMALLOC=malloc:
          big-integer arithmetic (pi, a factorial, Fibonacci), every result
          a new block of a few hundred bytes to hundreds of kilobytes

Every run records a checksum of what the program produced, which bench/run
compares across allocators: the digest of its standard output (gcc: of the
object file it wrote; redis: of the replies to a fixed series of SETs and
GETs sent after the benchmark, since redis-benchmark's keys are random).
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM_DIR = os.path.join(HERE, "programs")

PROGRAMS = ["python", "sqlite", "gcc", "redis", "sort", "perl", "bigint"]

# Per mode: how big each program's job is.
SCALE = {
    "quick": {"python_scale": 0.25, "sqlite_rows": 100000, "gcc_functions": 600,
              "redis_requests": 200000, "redis_keys": 100000, "sort_lines": 400000,
              "perl_scale": 1, "bigint_scale": 0.5, "timeout": 120},
    "full": {"python_scale": 1.0, "sqlite_rows": 400000, "gcc_functions": 2000,
             "redis_requests": 1000000, "redis_keys": 200000, "sort_lines": 2000000,
             "perl_scale": 4, "bigint_scale": 2.0, "timeout": 900},
}

REDIS_TESTS = "set,get,lpush,lpop,sadd,hset"

# Environment that makes each allocator print its statistics at exit, and a
# pattern those statistics contain: the second, independent check that the
# allocator served the program (done in the untimed verification run).
STATS_ENV = {
    "jemalloc": ({"MALLOC_CONF": "stats_print:true"}, r"Begin jemalloc statistics"),
    "mimalloc": ({"MIMALLOC_SHOW_STATS": "1"}, r"heap stats:"),
    "tcmalloc": ({"MALLOCSTATS": "1"}, r"MALLOC:"),
    "buddymalloc": ({"BUDDYMALLOC_CONF": "stats_print:true"},
                    r"buddymalloc|Node +\d+, zone"),
}


class ProgramError(Exception):
    pass


def tool(name):
    """Absolute path of a program the workloads need, or None."""
    return shutil.which(name)


def missing_tools():
    """Names of programs a run would need but this machine lacks."""
    need = {"python": "/usr/bin/python3", "sqlite": "sqlite3", "gcc": "gcc",
            "redis": "redis-server", "sort": "sort", "perl": "perl",
            "bigint": "/usr/bin/python3"}
    out = {}
    for prog, exe in need.items():
        if not (os.path.isabs(exe) and os.access(exe, os.X_OK)) and tool(exe) is None:
            out[prog] = exe
    if tool("redis-benchmark") is None:
        out["redis"] = "redis-benchmark"
    return out


def prepare(mode, work_dir):
    """Inputs made once per runner invocation (the generated C file)."""
    os.makedirs(work_dir, exist_ok=True)
    big_c = os.path.join(work_dir, "big.c")
    with open(big_c, "w") as f:
        subprocess.run(["python3", os.path.join(PROGRAM_DIR, "gen_large_c.py"),
                        str(SCALE[mode]["gcc_functions"])], stdout=f, check=True)
    sort_in = os.path.join(work_dir, "sort.txt")
    with open(sort_in, "w") as f:
        x = 12345
        for i in range(SCALE[mode]["sort_lines"]):
            x = (x * 1103515245 + 12345) % 2147483648
            f.write("w%07d %d %s\n" % (x % 9999991, x % 100003, "x" * (x % 61)))
    return {"big_c": big_c, "sort_in": sort_in}


def clean_env(extra=None):
    """The runner's environment without any preload, plus `extra`."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for names, _ in STATS_ENV.values():
        for k in names:
            env.pop(k, None)
    env.update(extra or {})
    return env


def read_probe(path):
    """[(pid, exe, provider)] from libbenchprobe's output file."""
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    rows.append(tuple(parts))
    return rows


def served_check(probe_rows, expected_path):
    """Summarise whether every process bound malloc to expected_path."""
    want = os.path.realpath(expected_path)
    bad = [(exe, prov) for _, exe, prov in probe_rows
           if os.path.realpath(prov) != want]
    exes = sorted({os.path.basename(exe) for _, exe, _ in probe_rows})
    return {
        "processes": len(probe_rows),
        "executables": exes,
        "ok": len(probe_rows) > 0 and not bad,
        "wrong": ["%s -> %s" % (os.path.basename(e), p) for e, p in bad][:5],
    }


def runproc_cmd(ctx, preload, result, out, err, timeout, argv, stdin=None):
    cmd = [ctx["runproc"], "-p", preload, "-r", result, "-o", out, "-e", err,
           "-t", str(timeout)]
    if stdin:
        cmd += ["-i", stdin]
    return cmd + ["--"] + argv


def run_runproc(cmd, env):
    """Run runproc to completion.  If we are interrupted, SIGTERM it first:
    runproc then kills the program's whole process group (cc1, as, ...),
    which a SIGKILL to runproc alone would leave running."""
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def load_result(path):
    with open(path) as f:
        return json.load(f)


def output_digest(path):
    """A short hash of a file the program wrote (its stdout, gcc's object
    file), so runs under different allocators can be checked to have
    computed the same thing."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:12]


def run_simple(ctx, prog, alloc, run_dir, verify):
    """python, sqlite, gcc, sort or perl: one process tree, timed by runproc."""
    s = SCALE[ctx["mode"]]
    stdin = None
    env_extra = {}
    if prog == "python":
        argv = ["/usr/bin/python3", os.path.join(PROGRAM_DIR, "alloc_heavy.py"),
                "--scale", str(s["python_scale"])]
        env_extra["PYTHONMALLOC"] = "malloc"
    elif prog == "sqlite":
        argv = ["sqlite3", "-cmd", ".parameter set @n %d" % s["sqlite_rows"], ":memory:"]
        stdin = os.path.join(PROGRAM_DIR, "sqlite_workload.sql")
    elif prog == "gcc":
        argv = ["gcc", "-O2", "-c", ctx["inputs"]["big_c"], "-o",
                os.path.join(run_dir, "big.o")]
    elif prog == "sort":
        argv = ["sort", "-k2,2n", "-k1,1", ctx["inputs"]["sort_in"]]
        env_extra["LC_ALL"] = "C"
    elif prog == "perl":
        argv = ["perl", os.path.join(PROGRAM_DIR, "hash_churn.pl"), str(s["perl_scale"])]
    elif prog == "bigint":
        argv = ["/usr/bin/python3", os.path.join(PROGRAM_DIR, "bigint.py"),
                "--scale", str(s["bigint_scale"])]
        env_extra["PYTHONMALLOC"] = "malloc"
    else:
        raise ValueError(prog)
    return run_measured(ctx, prog, alloc, run_dir, verify, argv, env_extra, stdin)


def run_measured(ctx, prog, alloc, run_dir, verify, argv, env_extra, stdin):
    os.makedirs(run_dir, exist_ok=True)
    files = {k: os.path.join(run_dir, k) for k in ("result.json", "stdout", "stderr", "probe")}
    if os.path.exists(files["probe"]):
        os.unlink(files["probe"])
    env_extra = dict(env_extra, BENCH_PROBE_OUT=files["probe"])
    stats_re = None
    if verify and alloc["name"] in STATS_ENV:
        stats_env, stats_re = STATS_ENV[alloc["name"]]
        env_extra.update(stats_env)
    cmd = runproc_cmd(ctx, ctx["probe"] + " " + alloc["preload"], files["result.json"],
                      files["stdout"], files["stderr"], SCALE[ctx["mode"]]["timeout"],
                      argv, stdin)
    run_runproc(cmd, clean_env(env_extra))
    if not os.path.exists(files["result.json"]):
        raise ProgramError("%s: runproc wrote no result" % prog)
    res = load_result(files["result.json"])
    if res["exit"] != 0:
        raise ProgramError("%s under %s: exit %s signal %s (see %s)" % (
            prog, alloc["name"], res["exit"], res["signal"], files["stderr"]))
    res["served"] = served_check(read_probe(files["probe"]), alloc["path"])
    res["output"] = output_digest(files["stdout"])
    obj = os.path.join(run_dir, "big.o")
    res["checksum"] = output_digest(obj) if prog == "gcc" else res["output"]
    if stats_re is not None:
        with open(files["stderr"], errors="replace") as f:
            res["stats_seen"] = re.search(stats_re, f.read()) is not None
    return res


# --- redis ----------------------------------------------------------------

def free_loopback_port():
    """A port the kernel just had free on 127.0.0.1.  Another process could
    take it before redis binds; the caller retries on a bind failure."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_command(port, line, timeout=2.0):
    """Send one inline command to 127.0.0.1:port; return the first reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\r\n")
        try:
            return s.recv(256).decode(errors="replace").strip()
        except (ConnectionResetError, socket.timeout):
            return ""


def wait_redis_up(port, proc, deadline_s=15.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            if redis_command(port, "PING", 0.5) == "+PONG":
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def parse_redis_csv(text):
    """{test: requests per second} from redis-benchmark --csv."""
    rps = {}
    for line in text.splitlines():
        cells = [c.strip('"') for c in line.strip().split('","')]
        if len(cells) >= 2 and cells[0] != "test":
            try:
                rps[cells[0]] = float(cells[1])
            except ValueError:
                pass
    return rps


# The data check: values of mixed lengths stored and read back.
REDIS_CHECK_KEYS = 500


def redis_check_value(i):
    n = 8 + (i * 7919) % 3000
    return ("%d:" % i + "abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


def resp_command(*args):
    out = "*%d\r\n" % len(args)
    for a in args:
        out += "$%d\r\n%s\r\n" % (len(a.encode()), a)
    return out.encode()


def redis_checksum(port, timeout=10.0):
    """SET then GET REDIS_CHECK_KEYS keys of fixed values in one pipeline;
    the digest of the replies.  Deterministic whatever the benchmark did
    (its keys are key:NNN, these ck:NNN)."""
    cmds, expect = b"", 0
    for i in range(REDIS_CHECK_KEYS):
        v = redis_check_value(i)
        cmds += resp_command("SET", "ck:%d" % i, v)
        expect += len(b"+OK\r\n")
    for i in range(REDIS_CHECK_KEYS):
        v = redis_check_value(i).encode()
        cmds += resp_command("GET", "ck:%d" % i)
        expect += len(b"$%d\r\n" % len(v)) + len(v) + 2
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(cmds)
        while len(reply) < expect:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return hashlib.sha256(reply).hexdigest()[:12]


def run_redis(ctx, alloc, run_dir, verify):
    for attempt in range(3):
        try:
            return run_redis_once(ctx, alloc, run_dir, verify)
        except PortTaken:
            if attempt == 2:
                raise ProgramError("redis: could not bind a free loopback port")


class PortTaken(Exception):
    pass


def run_redis_once(ctx, alloc, run_dir, verify):
    s = SCALE[ctx["mode"]]
    os.makedirs(run_dir, exist_ok=True)
    files = {k: os.path.join(run_dir, k) for k in ("result.json", "stdout", "stderr", "probe")}
    for k in ("probe", "result.json"):
        if os.path.exists(files[k]):
            os.unlink(files[k])
    port = free_loopback_port()
    env_extra = {"BENCH_PROBE_OUT": files["probe"]}
    stats_re = None
    if verify and alloc["name"] in STATS_ENV:
        stats_env, stats_re = STATS_ENV[alloc["name"]]
        env_extra.update(stats_env)
    # Bound to loopback only; no persistence, so the run is memory-only.
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--protected-mode", "yes", "--save", "", "--appendonly", "no",
            "--dir", run_dir, "--logfile", "", "--daemonize", "no"]
    cmd = runproc_cmd(ctx, ctx["probe"] + " " + alloc["preload"], files["result.json"],
                      files["stdout"], files["stderr"], s["timeout"], argv)
    server = subprocess.Popen(cmd, env=clean_env(env_extra))
    try:
        if not wait_redis_up(port, server):
            if server.poll() is None:
                server.terminate()
            server.wait(timeout=10)
            with open(files["stdout"], errors="replace") as f:
                if "Address already in use" in f.read():
                    raise PortTaken()
            how = ""
            if os.path.exists(files["result.json"]):
                r = load_result(files["result.json"])
                how = " (exit %s, signal %s)" % (r["exit"], r["signal"])
            raise ProgramError("redis-server under %s did not come up%s; see %s"
                               % (alloc["name"], how, run_dir))
        bench = subprocess.run(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "--csv",
             "-n", str(s["redis_requests"]), "-r", str(s["redis_keys"]), "-d", "256",
             "-P", "16", "-t", REDIS_TESTS],
            env=clean_env(), capture_output=True, text=True, timeout=s["timeout"])
        with open(os.path.join(run_dir, "redis-benchmark.csv"), "w") as f:
            f.write(bench.stdout)
        rps = parse_redis_csv(bench.stdout)
        if bench.returncode != 0 or not rps:
            raise ProgramError("redis-benchmark failed under %s: %s"
                               % (alloc["name"], bench.stderr.strip()[:200]))
        checksum = redis_checksum(port)
        redis_command(port, "SHUTDOWN NOSAVE")
        server.wait(timeout=30)
    finally:
        # runproc kills the server's process group on SIGTERM.
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    if not os.path.exists(files["result.json"]):
        raise ProgramError("redis: runproc wrote no result")
    res = load_result(files["result.json"])
    res["rps"] = rps
    # Throughput over the whole run: total requests / total time
    # (the harmonic mean of the per-test rates).
    res["requests_per_second"] = len(rps) / sum(1.0 / v for v in rps.values())
    res["served"] = served_check(read_probe(files["probe"]), alloc["path"])
    res["checksum"] = checksum
    if stats_re is not None:
        with open(files["stderr"], errors="replace") as f:
            text = f.read()
        with open(files["stdout"], errors="replace") as f:
            text += f.read()
        res["stats_seen"] = re.search(stats_re, text) is not None
    return res


def run_program(ctx, prog, alloc, run_dir, verify=False):
    """Run `prog` under `alloc`; returns runproc's result plus checks."""
    if prog == "redis":
        return run_redis(ctx, alloc, run_dir, verify)
    return run_simple(ctx, prog, alloc, run_dir, verify)

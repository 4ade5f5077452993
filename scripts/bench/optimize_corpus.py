#!/usr/bin/python3
"""Runs `memopt optimize` on each corpus script and checks its final program independently;
one JSON line per script (scripts/bench/generality_table.py turns them into docs/generality.md).

    scripts/bench/optimize_corpus.py --memopt build/bin/memopt --out DIR [--only PATTERN]
        [--jobs N] [--runs 3] [--time-limit-min 20] [--corpus scripts/bench/optimize-corpus.txt]

Per script (its own directory DIR/NAME/):
  1. the plain run: the script alone in a fresh copy of its work directory (cwd), run --runs
     times with /usr/bin/time -f '%e %M' (peak RSS: wait4's ru_maxrss in KiB, the figure
     optimize measures); medians of wall time and peak. The first run's stdout and written
     files are the reference.
  2. `memopt optimize SCRIPT -o DIR/NAME/optimize -q` from a fresh copy, killed after the time
     limit; its wall time, exit status and last stderr line are recorded. A failure is a row,
     never the end of the benchmark. Its lazy-imports analysis cache (MEMOPT_CACHE_DIR) is
     DIR/module-cache, emptied when the benchmark starts and shared by its scripts, as one
     user's optimize runs share ~/.cache/memopt; with --cold-cache each script has its own.
  3. the independent check: steps.json's final_command run --runs times, each in a fresh copy of
     the work directory; every run's exit status, stdout and written files (bytes) must equal
     the reference's (stdout with printed timings masked when the original's runs differ in
     them, or when only they differ: then the row says so, `timings_masked`). Figures are not compared here (optimize hashes their pixels inside its
     sandbox; outside it only stdout and files are). Median peak RSS of those runs.
     When steps.json's comparison method is "outputs, entropy pinned" (the original's runs
     differ only by the random numbers drawn from the OS), the comparison is made under the same
     pinning instead: the original run twice and the final program --runs times more, each with
     only optimize's runtime hook on PYTHONPATH and MEMOPT_SANDBOX_PIN_ENTROPY=1 (the hook then
     pins the OS's entropy and records nothing); the final program's peaks stay those of its
     unhooked runs.

Every run: MPLBACKEND=Agg, SCIKIT_LEARN_DATA an empty directory, /usr/bin/python3; the plain
runs use PYTHONHASHSEED=1, the final program's runs PYTHONHASHSEED=2 (pinned: the original 3, the
final program 4).
"""
import argparse
import concurrent.futures
import fnmatch
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

EXAMPLES = "/usr/share/doc/python-sklearn-doc/examples"
PYTHON = "/usr/bin/python3"
HOOK = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "python", "memopt", "_sandbox"))
PINNED = "outputs, entropy pinned"


def read_corpus(path):
    """(relative path, plain seconds from the selection comment) per corpus line."""
    rows = []
    for line in open(path):
        entry, _, comment = line.partition("#")
        if entry.strip():
            seconds = re.match(r"\s*([\d.]+) s", comment)
            rows.append((entry.strip(), float(seconds.group(1)) if seconds else 1.0))
    return rows


def fresh_copy(work, into):
    if os.path.exists(into):
        shutil.rmtree(into)
    shutil.copytree(work, into)
    return into


def written(cwd, ignore):
    found = {}
    for root, dirs, files in os.walk(cwd):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, cwd)
            if rel not in ignore:
                with open(path, "rb") as f:
                    found[rel] = hashlib.sha256(f.read()).hexdigest()
    return found


def timed_run(command, cwd, env, timeout):
    """(exit status, wall s, peak KiB, stdout bytes, stderr text) of one run under /usr/bin/time."""
    timing = cwd + ".time"
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", timing, "timeout", "-s", "KILL",
                           str(timeout)] + command, cwd=cwd, env=env, capture_output=True)
    last = [l for l in open(timing).read().splitlines() if re.fullmatch(r"[\d.]+ \d+", l)][-1].split()
    os.remove(timing)
    return done.returncode, float(last[0]), int(last[1]), done.stdout, done.stderr.decode(errors="replace")


def environment(base, seed, pin_entropy=False):
    env = dict(os.environ, MPLBACKEND="Agg", SCIKIT_LEARN_DATA=os.path.join(base, "sklearn-data"),
               PYTHONHASHSEED=str(seed))
    if pin_entropy:  # optimize's hook with nothing but its entropy pinning (it restores PYTHONPATH)
        if env.get("PYTHONPATH"):
            env["MEMOPT_SANDBOX_PYTHONPATH"] = env["PYTHONPATH"]
        env["PYTHONPATH"] = HOOK + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["MEMOPT_SANDBOX_PIN_ENTROPY"] = "1"
    return env


TIME_WORDS = ("time", "took", "elapsed", "duration", "done in")
NUMBER = re.compile(rb"(?<![A-Za-z0-9_.])(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
TIMING = re.compile(rb"(?<![A-Za-z0-9_.])(\d+\.?\d*|\.\d+)([eE][-+]?\d+)? *(seconds|second|minutes|secs|sec|min|ms|s)(?![A-Za-z0-9_])",
                    re.IGNORECASE)


def masked_timings(text):
    """stdout with printed timings replaced by '#': the rules of transforms/timings.h (a number
    with a time unit; every number, and no spaces, in a line about time), for this independent
    check of programs whose own runs differ only in their timings."""
    lines = []
    for line in text.split(b"\n"):
        if any(w.encode() in line.lower() for w in TIME_WORDS):
            line = NUMBER.sub(b"#", TIMING.sub(b"#", line)).replace(b" ", b"")
        else:
            line = TIMING.sub(b"#", line)
        lines.append(line)
    return b"\n".join(lines)


def first_difference(expected, got, timings_vary=False):
    if expected["status"] != got["status"]:
        return f"exit status {got['status']} (expected {expected['status']})"
    if expected["stdout"] != got["stdout"] and \
            not (timings_vary and masked_timings(expected["stdout"]) == masked_timings(got["stdout"])):
        a, b = expected["stdout"].splitlines(), got["stdout"].splitlines()
        for i, (x, y) in enumerate(zip(a, b), 1):
            if x != y:
                return f"stdout line {i}: {x.decode(errors='replace')[:50]!r} vs {y.decode(errors='replace')[:50]!r}"
        return f"stdout has {len(b)} lines, expected {len(a)}"
    missing = sorted(set(expected["files"]) - set(got["files"]))
    extra = sorted(set(got["files"]) - set(expected["files"]))
    changed = sorted(f for f in expected["files"] if f in got["files"] and expected["files"][f] != got["files"][f])
    if missing or extra or changed:
        return "; ".join(p for p in [missing and "did not write " + ", ".join(missing[:3]),
                                     extra and "also wrote " + ", ".join(extra[:3]),
                                     changed and "different bytes in " + ", ".join(changed[:3])] if p)
    return ""


def measure(command, base, work, ignore, seed, runs, timeout, pin_entropy=False):
    """Runs `command` `runs` times, each in a fresh copy of work; medians and each run's outputs."""
    results = []
    for i in range(runs):
        cwd = fresh_copy(work, os.path.join(base, f"run-{seed}-{i}"))
        status, wall, kib, out, err = timed_run(command, cwd, environment(base, seed, pin_entropy), timeout)
        results.append({"status": status, "wall_s": wall, "peak_kib": kib, "stdout": out,
                        "files": written(cwd, ignore), "stderr_tail": err.strip().splitlines()[-1:]})
        shutil.rmtree(cwd)
    return results


def summary(runs):
    return {"peak_bytes": int(statistics.median(r["peak_kib"] for r in runs)) * 1024,
            "peak_runs_bytes": [r["peak_kib"] * 1024 for r in runs],
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "wall_runs": [r["wall_s"] for r in runs]}


def run_optimize(memopt, base, work, script, limit_s, jobs, module_cache):
    out = os.path.join(base, "optimize")
    cwd = fresh_copy(work, os.path.join(base, "optimize-cwd"))
    env = environment(base, 0)
    del env["PYTHONHASHSEED"]  # optimize sets its own seeds per run
    env["MEMOPT_CACHE_DIR"] = module_cache  # lazy-imports' analysis of library modules (module_cache.py)
    start = time.monotonic()
    try:
        done = subprocess.run([memopt, "optimize", script, "-o", out, "-q", "--jobs", str(jobs)], cwd=cwd, env=env,
                              capture_output=True, timeout=limit_s)
        status, err = done.returncode, done.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        status, err = "timeout", f"killed after {limit_s:.0f} s " + (e.stderr or b"").decode(errors="replace")
    seconds = time.monotonic() - start
    open(os.path.join(base, "optimize.stderr"), "w").write(err)
    lines = [l for l in err.strip().splitlines() if l.strip()]
    row = {"optimize_status": status, "optimize_s": round(seconds, 2),
           "optimize_message": (lines[-1] if lines else "")[:300]}
    steps_path = os.path.join(out, "steps.json")
    if os.path.exists(steps_path):
        steps = json.load(open(steps_path))
        row.update(final_command=steps["final_command"], comparison=steps.get("comparison", {}).get("method", ""),
                   accepted=[s["pass"] for s in steps["steps"] if s.get("accepted") and s["pass"] != "baseline"],
                   optimize_baseline_bytes=steps["baseline"]["peak_rss_bytes"],
                   optimize_final_bytes=steps["final_peak_rss_bytes"],
                   rejected={s["pass"]: s.get("reason", "")[:200] for s in steps["steps"] if not s.get("accepted")})
    return row


def pinned_runs(row, base, work, script, args):
    """The original twice and the final program --runs times, with the OS's entropy pinned: the
    reference, whether its two runs differ only in printed timings, the final program's runs."""
    original = measure([PYTHON, script], base, work, {script}, 3, 2, args.run_timeout, pin_entropy=True)
    row["pinned_entropy"] = True
    row["pinned_varies"] = first_difference(original[0], original[1])
    timings_vary = bool(row["pinned_varies"]) and not first_difference(original[0], original[1], timings_vary=True)
    final = measure(row["final_command"], base, work, {script}, 4, args.runs, args.run_timeout, pin_entropy=True)
    return original[0], timings_vary, final


def bench_one(rel, args):
    name = rel.replace("/", "__").removesuffix(".py")
    base = os.path.abspath(os.path.join(args.out, name))
    if os.path.exists(base):
        shutil.rmtree(base)
    work = os.path.join(base, "work")
    os.makedirs(work)
    os.makedirs(os.path.join(base, "sklearn-data"))
    script = os.path.basename(rel)
    shutil.copy(os.path.join(EXAMPLES, rel), work)
    row = {"script": rel}
    plain = measure([PYTHON, script], base, work, {script}, 1, args.runs, args.run_timeout)
    row.update({"plain_" + k: v for k, v in summary(plain).items()}, plain_status=plain[0]["status"])
    if plain[0]["status"] != 0:
        return dict(row, error="plain run failed: " + " ".join(plain[0]["stderr_tail"]))
    row["plain_varies"] = next((d for d in (first_difference(plain[0], r) for r in plain[1:]) if d), "")
    # the original's own runs differ only in the timings they print: compare the rest
    timings_vary = bool(row["plain_varies"]) and \
        not any(first_difference(plain[0], r, timings_vary=True) for r in plain[1:])
    row["plain_timings_vary"] = timings_vary
    # the shared cache starts empty (main): the first scripts pay the analysis of the library
    # modules, as a user's first optimize does; --cold-cache: every script pays it
    cache = os.path.join(base, "module-cache") if args.cold_cache else os.path.join(os.path.abspath(args.out), "module-cache")
    row.update(run_optimize(args.memopt, base, work, script, args.time_limit_min * 60, args.optimize_jobs, cache),
               module_cache="cold" if args.cold_cache else "shared")
    if "final_command" in row:
        final = measure(row["final_command"], base, work, {script}, 2, args.runs, args.run_timeout)
        row.update({"final_" + k: v for k, v in summary(final).items()})
        reference = plain[0]
        if row.get("comparison") == PINNED:  # optimize proved it under pinned entropy: check it so
            reference, timings_vary, final = pinned_runs(row, base, work, script, args)
        row["difference"] = next((d for d in (first_difference(reference, r, timings_vary) for r in final) if d), "")
        if row["difference"] and not timings_vary and \
                not any(first_difference(reference, r, timings_vary=True) for r in final):
            # only printed timings differ, though the original's own runs happened to print the
            # same: identical by optimize's rules (transforms/timings.h), and said so
            row["timings_masked"], row["difference"] = row["difference"], ""
        row["identical"] = not row["difference"]
    if not args.keep:
        shutil.rmtree(os.path.join(base, "optimize", ".runs"), ignore_errors=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memopt", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "optimize-corpus.txt"))
    parser.add_argument("--only", default="")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--optimize-jobs", type=int, default=2, help="memopt optimize --jobs (its runs at a time)")
    parser.add_argument("--time-limit-min", type=float, default=20)
    parser.add_argument("--run-timeout", type=int, default=120)
    parser.add_argument("--keep", action="store_true", help="keep optimize's sandbox (OUT/.runs)")
    parser.add_argument("--cold-cache", action="store_true",
                        help="give each script's optimize an empty module cache (default: one cache for the run, empty at its start)")
    args = parser.parse_args()
    args.memopt = os.path.abspath(args.memopt)
    patterns = [p for p in args.only.split(",") if p]
    corpus = [(s, t) for s, t in read_corpus(args.corpus)
              if not patterns or any(fnmatch.fnmatch(s, p) or p in s for p in patterns)]
    if not corpus:
        sys.exit(f"bench-optimize: no corpus script matches {args.only!r}")
    os.makedirs(args.out, exist_ok=True)
    shutil.rmtree(os.path.join(args.out, "module-cache"), ignore_errors=True)
    results = os.path.join(args.out, "results.jsonl")
    expected_total = sum(t for _, t in corpus)
    done_weight, count, lock, start = 0.0, 0, threading.Lock(), time.monotonic()
    with open(results, "w") as log, concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(bench_one, s, args): (s, t) for s, t in corpus}
        for future in concurrent.futures.as_completed(futures):
            rel, weight = futures[future]
            try:
                row = future.result()
            except Exception as e:  # a broken benchmark step is a row too
                row = {"script": rel, "error": f"benchmark error: {type(e).__name__}: {e}"}
            with lock:
                log.write(json.dumps(row) + "\n")
                log.flush()
                count, done_weight = count + 1, done_weight + weight
                elapsed = time.monotonic() - start
                eta = elapsed * (expected_total - done_weight) / max(done_weight, 1e-9)
                saving = ""
                if "final_peak_bytes" in row:
                    saving = f", saved {100 * (1 - row['final_peak_bytes'] / row['plain_peak_bytes']):.1f} %"
                print(f"bench-optimize: [{count}/{len(corpus)}] {rel}: optimize "
                      f"{row.get('optimize_status', '-')} in {row.get('optimize_s', 0):.0f} s{saving}, "
                      f"identical {row.get('identical', '-')}; elapsed {elapsed / 60:.1f} min, "
                      f"ETA {eta / 60:.0f} min", file=sys.stderr, flush=True)
    print(results)


if __name__ == "__main__":
    main()

"""Tracer overhead, side by side: every configuration of every workload in each round.

    overhead.py --memopt BIN [--baseline BIN] [--rounds N] [--workloads rf,py,churn]
                [--no-heaptrack] --work DIR --out FILE

The machine is shared and noisy, so the configurations are interleaved round by round and
compared as ratios of medians measured in the same loop. Wall time is what a user waits;
CPU time (user + system of the whole process tree, from RUSAGE_CHILDREN) is less disturbed
by other jobs on the machine, so both are shown. `--baseline` adds the memopt configurations
of another build (the "before" of a change) to the same rounds.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOADS = {
    "rf": ("scikit-learn random forest (`scripts/bench/rf_workload.py 40000`)",
           [PYTHON, f"{HERE}/rf_workload.py", "40000"]),
    "py": ("pure Python dicts and strings, pandas groupby (`scripts/bench/py_alloc_workload.py 80000`)",
           [PYTHON, f"{HERE}/py_alloc_workload.py", "80000"]),
    "churn": ("native churn, 20 M malloc/free pairs (`scripts/bench/churn.c`, `churn 20000000`)",
              None),  # built into the work directory
}
RECORD_FLAGS = {"record": [], "stacks": ["--stacks"], "stacks1": ["--stacks=1"]}
LABELS = {"plain": "plain", "record": "`memopt record`", "stacks": "`memopt record --stacks`",
          "stacks1": "`memopt record --stacks=1`", "heaptrack": "heaptrack (Debian 1.4)"}
TARGETS = {("churn", "record"): "≤ 2x", ("churn", "stacks"): "≤ 2.5x",
           ("rf", "record"): "≤ 1.05x", ("rf", "stacks"): "≤ 1.10x"}


def run(argv, env):
    """Wall and CPU seconds of one run (its whole process tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def command(config, build, program, work, tag):
    if config == "plain":
        return program
    if config == "heaptrack":
        return ["heaptrack", "-o", f"{work}/{tag}", *program]
    trace = f"{work}/{tag}.trace"
    return [build, "record", "-q", "--force", *RECORD_FLAGS[config], "-o", trace, "--", *program]


def clean(work, tag):
    for name in os.listdir(work):
        if name.startswith(tag + "."):
            path = os.path.join(work, name)
            if os.path.isfile(path):
                os.remove(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--memopt", required=True)
    parser.add_argument("--baseline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", default="rf,py,churn")
    parser.add_argument("--no-heaptrack", action="store_true")
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    churn = f"{args.work}/churn"
    subprocess.run(["cc", "-O2", "-fno-builtin", "-pthread", "-o", churn, f"{HERE}/churn.c"], check=True)
    programs = {name: (program or [churn, "20000000"]) for name, (_, program) in WORKLOADS.items()}
    workloads = args.workloads.split(",")
    configs = [("plain", None), ("record", args.memopt), ("stacks", args.memopt), ("stacks1", args.memopt)]
    if args.baseline:
        configs += [(c, args.baseline) for c in ("record", "stacks", "stacks1")]
    if not args.no_heaptrack and shutil.which("heaptrack"):
        configs.append(("heaptrack", None))
    env = dict(os.environ, MPLBACKEND="Agg")

    def key(config, build):
        return config + ("@before" if build and build == args.baseline and build != args.memopt else "")

    times = {}  # (workload, key) -> [(wall, cpu)]
    for round_ in range(1, args.rounds + 1):
        for workload in workloads:
            for config, build in configs:
                tag = f"{workload}-{key(config, build)}"
                wall, cpu = run(command(config, build, programs[workload], args.work, tag), env)
                clean(args.work, tag)
                times.setdefault((workload, key(config, build)), []).append((wall, cpu))
                print(f"bench: round {round_} {workload:5} {key(config, build):15} wall {wall:6.2f} s  cpu {cpu:6.2f} s",
                      file=sys.stderr, flush=True)

    lines = []
    for workload in workloads:
        lines += [f"**{WORKLOADS[workload][0]}**", "",
                  "| configuration | median wall | wall ratio | median CPU | CPU ratio | target |",
                  "|---|---|---|---|---|---|"]
        plain_wall = statistics.median(w for w, _ in times[(workload, "plain")])
        plain_cpu = statistics.median(c for _, c in times[(workload, "plain")])
        for config, build in configs:
            k = key(config, build)
            runs = times[(workload, k)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            label = LABELS[config] + (" (before)" if k.endswith("@before") else "")
            target = TARGETS.get((workload, config), "") if not k.endswith("@before") else ""
            lines.append(f"| {label} | {wall:.2f} s | {wall / plain_wall:.2f}x | {cpu:.2f} s | "
                         f"{cpu / plain_cpu:.2f}x | {target} |")
        lines += ["", "Runs (wall/CPU seconds): " + "; ".join(
            f"{key(c, b)}: " + ", ".join(f"{w:.2f}/{u:.2f}" for w, u in times[(workload, key(c, b))])
            for c, b in configs), ""]
    text = "\n".join(lines)
    with open(args.out, "w") as out:
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()

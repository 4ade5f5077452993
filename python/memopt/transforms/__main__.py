"""python3 -m memopt.transforms PASS SCRIPT OUT_DIR [--profile P] [--launcher JSON] [--select IDS]
python3 -m memopt.transforms copy SCRIPT OUT_DIR     (the program and its local modules, unchanged)
python3 -m memopt.transforms --list-json             (the pass table, PASSES in __init__.py)
python3 -m memopt.transforms diff OLD NEW OUT_DIR    (OUT_DIR/changes.diff: NEW against OLD)

Prints the pass's report as one JSON object on stdout (with "diff": "changes.diff" when the
pass wrote one beside its program; `diff` prints {"diff": ...} alone); exit status 0 also when
the pass refused (applied=false, reason given), 2 on bad usage."""
import argparse
import importlib
import inspect
import json
import os
import sys

from . import LAUNCHER, PASSES, find, table

COPY = "copy"  # not a pass: the baseline step of `memopt optimize`
DIFF = "diff"  # not a pass: the final program's changes against the script


def parse(argv):
    if argv == ["--list-json"]:
        return None
    parser = argparse.ArgumentParser(prog="memopt.transforms")
    parser.add_argument("pass_name", choices=[p.name for p in PASSES] + [COPY])
    parser.add_argument("script")
    parser.add_argument("outdir")
    parser.add_argument("--profile")
    parser.add_argument("--launcher", help="launcher passes: JSON {\"python_flags\": [...], \"env\": {...}}")
    parser.add_argument("--select", help="rewrite passes with candidates: comma-separated ids to apply (\"\": none)")
    return parser.parse_args(argv)


def read_profile(path):
    if not path:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # the passes fall back to static analysis


def copy_program(script, outdir):
    from .common import Report, prepare_outdir, write_program
    report = Report(COPY, applied=True, files=prepare_outdir(script, outdir))
    with open(script, encoding="utf-8", newline="") as f:
        report.program = write_program(script, outdir, f.read())
    return report


def diff_programs(argv):
    """`diff OLD NEW OUT_DIR`: the one diff implementation (common.write_diff) for the C++ side."""
    from .common import write_diff
    if len(argv) != 3 or not all(os.path.isfile(p) for p in argv[:2]) or not os.path.isdir(argv[2]):
        print("usage: python3 -m memopt.transforms diff OLD NEW OUT_DIR (existing files and directory)",
              file=sys.stderr)
        return 2
    texts = []
    for path in argv[:2]:
        with open(path, encoding="utf-8", newline="") as f:
            texts.append(f.read())
    json.dump({"diff": write_diff(texts[0], texts[1], os.path.basename(argv[1]), argv[2])}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def run_pass(args):
    from .common import PassRefused, Report
    entry = find(args.pass_name)
    module = importlib.import_module(f".{entry.module}", __package__)
    extra = json.loads(args.launcher or "{}") if entry.kind == LAUNCHER else read_profile(args.profile)
    # Candidates (docs/optimize.md, "Candidate-subset search"): a rewrite pass may list the edits
    # it can make as `candidates` in its report and take `--select ID1,ID2,...` (`""`: none).
    # The ids reach run() as the keyword `select` only when run() declares that parameter.
    kwargs = {}
    if args.select is not None:
        if "select" not in inspect.signature(module.run).parameters:
            print(f"memopt.transforms: pass {entry.name} has no candidates to select (--select)", file=sys.stderr)
            sys.exit(2)
        kwargs["select"] = [i for i in args.select.split(",") if i]
    try:
        return module.run(args.script, args.outdir, extra, **kwargs)
    except PassRefused as e:
        return Report(entry.name, reason=str(e))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [DIFF]:
        return diff_programs(argv[1:])
    args = parse(argv)
    if args is None:
        json.dump(table(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if not os.path.isfile(args.script):
        print(f"{args.script}: no such file", file=sys.stderr)
        return 2
    from .common import DIFF_NAME
    report = copy_program(args.script, args.outdir) if args.pass_name == COPY else run_pass(args)
    result = report.as_dict()
    if report.applied and os.path.isfile(os.path.join(args.outdir, DIFF_NAME)):
        result["diff"] = DIFF_NAME  # written by common.write_program beside the program
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

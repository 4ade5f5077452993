"""python3 -m memopt.transforms PASS SCRIPT OUT_DIR [--profile P] [--launcher JSON]

Prints the pass's report as one JSON object on stdout; exit status 0 also when the pass
refused (applied=false, reason given), 2 on bad usage."""
import argparse
import json
import os
import sys

from .common import PassRefused, Report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="memopt.transforms")
    parser.add_argument("pass_name", choices=["static-to-dynamic", "dead-data", "flatten", "flags", "copy"])
    parser.add_argument("script")
    parser.add_argument("outdir")
    parser.add_argument("--profile")
    parser.add_argument("--launcher", help="flags: JSON {\"python_flags\": [...], \"env\": {...}}")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.script):
        print(f"{args.script}: no such file", file=sys.stderr)
        return 2
    profile = None
    if args.profile:
        try:
            with open(args.profile) as f:
                profile = json.load(f)
        except (OSError, ValueError):
            profile = None  # the passes fall back to static analysis
    if args.pass_name == "copy":  # the baseline step: the program and its local modules
        from .common import prepare_outdir, write_program
        report = Report("copy", applied=True, files=prepare_outdir(args.script, args.outdir))
        with open(args.script, encoding="utf-8") as f:
            report.program = write_program(args.script, args.outdir, f.read())
        json.dump(report.as_dict(), sys.stdout)
        return 0
    from . import static_to_dynamic, dead_data, flatten, flags
    module = {"static-to-dynamic": static_to_dynamic, "dead-data": dead_data,
              "flatten": flatten, "flags": flags}[args.pass_name]
    try:
        if args.pass_name == "flags":
            report = module.run(args.script, args.outdir, json.loads(args.launcher or "{}"))
        else:
            report = module.run(args.script, args.outdir, profile)
    except PassRefused as e:
        report = Report(args.pass_name, reason=str(e))
    json.dump(report.as_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

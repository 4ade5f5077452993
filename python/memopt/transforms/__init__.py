"""memopt's transform passes (the Python side of transforms/ in C++).

Each pass reads a Python program, writes a new program into an output directory and
returns a report: {"pass", "applied", "changes": [...], "reason", "program", "files"}.
Programs are parsed and rewritten with the standard `ast` module only. Run by the C++
side as `/usr/bin/python3 -m memopt.transforms PASS SCRIPT OUT_DIR [options]`.

PASSES below is the one pass table: the CLI (`memopt transform --pass`, `memopt optimize
--passes` and their --help), the optimize loop's order and the dispatch here all come from
it. The C++ side reads it once with `python3 -m memopt.transforms --list-json`
(transforms/pass_table.cpp). This module imports no pass, so listing the table is cheap.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

# What a pass produces.
REWRITE = "rewrite"    # the module's run(script, outdir, profile) rewrites the source
LAUNCHER = "launcher"  # memopt measures interpreter options and environment settings
#                        (transforms/flags.cpp), the module's run(script, outdir, launcher)
#                        writes the program with the chosen ones (shebang line, run.sh)
KINDS = (REWRITE, LAUNCHER)


@dataclass(frozen=True)
class Pass:
    name: str     # `memopt transform --pass NAME`, the pass names in steps.json
    step: int     # the step of the paper's method (2-5) the pass automates
    kind: str     # REWRITE or LAUNCHER
    module: str   # memopt.transforms.<module>, whose run(...) is the entry point
    summary: str  # one line for --help


# In the paper's order: the order `memopt optimize` tries them in.
PASSES = (
    Pass("static-to-dynamic", 2, REWRITE, "static_to_dynamic",
         "a tree model loaded whole becomes a per-tree store; a table read whole becomes a stream"),
    Pass("lazy-imports", 3, REWRITE, "lazy_imports",
         "modules whose code never ran are not loaded; re-exporting packages skip their bodies"),
    Pass("dead-data", 3, REWRITE, "dead_data",
         "unused imports and stores, data alive after its last use, unread CSV columns, needless copies, .npy loads mapped read-only"),
    Pass("flatten", 4, REWRITE, "flatten",
         "pandas replaced by an inlined stand-in; local helper modules inlined"),
    Pass("flags", 5, LAUNCHER, "flags",
         "interpreter options and allocator settings, each measured, written into the launcher"),
)


def find(name):
    """The pass called `name`, or None."""
    return next((p for p in PASSES if p.name == name), None)


def table():
    """The table as plain data: what `--list-json` prints."""
    return [asdict(p) for p in PASSES]

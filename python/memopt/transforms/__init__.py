"""memopt's transform passes (the Python side of transforms/ in C++).

Each pass reads a Python program, writes a new program into an output directory and
returns a report: {"pass", "applied", "changes": [...], "reason", "program", "files"}.
Programs are parsed and rewritten with the standard `ast` module only. Run by the C++
side as `/usr/bin/python3 -m memopt.transforms PASS SCRIPT OUT_DIR [options]`.
"""
PASSES = ("static-to-dynamic", "dead-data", "flatten", "flags")

"""--memopt-bin-path DIR: one trace per test, as pytest-memray keeps one .bin per test.

The session is recorded as one trace (DIR/memopt-pytest.trace, one phase test:NODEID per
test). When the traced pytest has ended, and its trace is complete, the launching pytest cuts
each test's phase out of it with `memopt report TRACE --format trace --phase test:NODEID#N
-o DIR/tests/NAME.trace ...` (reports/analysis/phase_window.h), up to BATCH tests per call
(the trace is read once per call): a trace of the test's own allocations that `memopt
report` reads like any other. The names come from the node ids
(file_names); the re-executed pytest writes them into DIR/memopt-pytest.json beside each
test's results, and this side reads them back from there.

Only DIR/tests/ is written: a DIR/tests that exists and is not a directory (or is a link) is
refused before any test runs; files in it from an earlier run are replaced.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

RESULTS_NAME = "memopt-pytest.json"
TESTS_DIR = "tests"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_NAME = 120
BATCH = 500  # tests per `memopt report` call: command lines stay far below the kernel's limit


def file_names(nodeids) -> dict[str, str]:
    """A file name per node id, unique and safe: 'tests/test_a.py::TestX::test_y[1-a/b]' ->
    'tests_test_a.py__TestX__test_y_1-a_b_.trace'. A long name keeps its start and its end
    (the test's own name); names that collide (after replacing or cutting) get -2, -3, ... in
    the order given."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for nodeid in nodeids:
        stem = _UNSAFE.sub("_", nodeid).lstrip(".") or "test"
        if len(stem) > _MAX_NAME:
            stem = stem[:_MAX_NAME // 3] + "..." + stem[-(_MAX_NAME - _MAX_NAME // 3 - 3):]
        name, n = stem, 1
        while name.lower() in taken:  # lower(): also distinct on a case-insensitive file system
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        names[nodeid] = name + ".trace"
    return names


def tests_dir_problem(bin_path: str) -> str | None:
    """Why DIR/tests cannot hold the per-test traces, or None."""
    tests = Path(bin_path) / TESTS_DIR
    if tests.is_symlink():
        return f"{tests} is a symbolic link; the per-test traces go only into a directory of their own"
    if tests.exists() and not tests.is_dir():
        return f"{tests} exists and is not a directory; the per-test traces go only into a directory of their own"
    return None


def write_test_traces(program: str, bin_path: str, trace: Path, started: float) -> None:
    """Cuts each test's phase out of the session trace into DIR/tests/; says where, in one
    line. `started`: when the traced pytest was launched (older results are not its own)."""
    results = Path(bin_path) / RESULTS_NAME
    try:
        if results.stat().st_mtime < started - 1:  # a second for coarse file-system clocks
            raise OSError("left by an earlier run")
        tests = [(test["phase"], test["trace_file"]) for test in json.loads(results.read_text())["tests"]]
    except (OSError, ValueError, KeyError, TypeError):
        print(f"memopt: no per-test traces: the traced pytest measured no test (it wrote no {results})", file=sys.stderr)
        return
    problem = tests_dir_problem(bin_path)
    if problem:
        print(f"memopt: {problem}", file=sys.stderr)
        return
    directory = Path(bin_path) / TESTS_DIR
    directory.mkdir(exist_ok=True)
    # Never outside DIR/tests, whatever the JSON says.
    jobs = [(phase, directory / Path(name).name) for phase, name in tests]
    failed = 0
    for start in range(0, len(jobs), BATCH):
        batch = jobs[start:start + BATCH]
        if _cut(program, trace, batch) is None:
            continue
        for job in batch:  # one of them failed: each alone, to say which
            error = _cut(program, trace, [job])
            if error is not None:
                failed += 1
                print(f"memopt: no per-test trace for {job[0]}: {error}", file=sys.stderr)
    written = len(jobs) - failed
    print(f"memopt: {written} per-test trace{'s' if written != 1 else ''} in {directory}{os.sep} "
          f"(memopt report {directory / 'NAME.trace'}); per-test results in {Path(bin_path) / RESULTS_NAME}")


def _cut(program: str, trace: Path, jobs) -> str | None:
    """Runs one `memopt report --format trace` for these (phase, output) pairs; its error line or None."""
    command = [program, "report", str(trace), "--format", "trace", "-f"]
    for phase, output in jobs:
        command += ["--phase", phase, "-o", str(output)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["failed"])[-1]

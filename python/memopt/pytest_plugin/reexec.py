"""`pytest --memopt`: run this very pytest command again under `memopt record`.

The preload tracer must be in the process from its first allocation, so the plugin cannot
switch it on in a running pytest. Instead the first pytest (before configuring, collecting or
running anything) starts `memopt record -- python3 ARGV...` and exits with its status; the
second one finds the tracer loaded and measures each test through its in-process API
(native.py). The trace goes to --memopt-bin-path (one file for the session, one phase
test:NODEID per test, then cut into one trace per test: bins.py) or to a temporary directory
removed at the end.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .bins import tests_dir_problem, write_test_traces

CHILD_ENV = "MEMOPT_PYTEST_CHILD"  # set in the re-executed pytest
TRACE_NAME = "memopt-pytest.trace"


def memopt_program() -> str:
    """MEMOPT_BINARY, else `memopt` on PATH, else the build tree next to this source tree."""
    named = os.environ.get("MEMOPT_BINARY")
    if named:
        return named
    found = shutil.which("memopt")
    if found:
        return found
    source_root = Path(__file__).resolve().parents[3]
    built = source_root / "build" / "bin" / "memopt"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    raise pytest.UsageError("--memopt needs the memopt program: put it on PATH or set MEMOPT_BINARY=/path/to/memopt")


def run_under_tracer(config, bin_path: str | None) -> int:
    """Runs the same command under `memopt record`; returns its exit status."""
    program = memopt_program()
    problem = tests_dir_problem(bin_path) if bin_path else None
    if problem:
        raise pytest.UsageError(f"--memopt-bin-path: {problem}")
    temporary = None if bin_path else tempfile.mkdtemp(prefix="memopt-pytest-")
    trace = Path(bin_path or temporary) / TRACE_NAME
    # Kept traces are for reading: sampled stacks (memopt record's default rate) name the sites.
    stacks = ["--stacks"] if bin_path else []
    command = [program, "record", "-q", "-f", *stacks, "-o", str(trace), "--", sys.executable, *sys.orig_argv[1:]]
    environment = dict(os.environ, **{CHILD_ENV: "1"})
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child; its status ends us
    try:
        started = time.time()
        status = subprocess.call(command, env=environment)
        if bin_path:
            write_test_traces(program, bin_path, trace, started)
        return status
    except OSError as error:
        raise pytest.UsageError(f"--memopt: cannot run {program}: {error.strerror}") from None
    finally:
        signal.signal(signal.SIGINT, previous)
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)

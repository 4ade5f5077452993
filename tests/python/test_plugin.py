"""The limit_memory marker on real pytest runs, with and without `memopt record` underneath."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
CASES = HERE / "limit_memory_cases.py"
MEMOPT = os.environ.get("MEMOPT_BINARY", "")


def run_cases(tmp_path, prefix=()):
    command = [*prefix, sys.executable, "-m", "pytest", "-p", "memopt.pytest_plugin", "-p", "no:cacheprovider",
               "-q", "-rA", "--junitxml", str(tmp_path / "junit.xml"), str(CASES)]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)


def outcomes(output):
    return {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) \S+::(\w+)", output, re.M)}


def check(result):
    out = result.stdout
    got = outcomes(out)
    assert got == {
        "test_over_limit": "FAILED", "test_over_limit_freed": "FAILED", "test_within_limit": "PASSED",
        "test_fixture_not_counted": "PASSED", "test_bytes_limit": "FAILED", "test_own_failure": "FAILED",
        "test_unmarked": "PASSED"}, out
    assert result.returncode == 1
    # The message names the measured peak, the limit and the line that allocated.
    assert re.search(r"memory limit exceeded: peak 38\.\d MiB during the test body \(tracemalloc\), "
                     r"limit 24 MB \(22\.9 MiB\), over by 1[45]\.\d MiB", out), out
    assert "limit_memory_cases.py:14: +38.1 MiB" in out, out
    assert "data = bytearray(40 * 10**6)" in out
    assert "the peak was freed before it ended" in out
    assert "its own assertion" in out
    return out


def test_marker_without_tracer(tmp_path):
    out = check(run_cases(tmp_path))
    assert "memopt trace phase" not in out


@pytest.mark.skipif(not MEMOPT, reason="MEMOPT_BINARY not set")
def test_marker_under_memopt_record(tmp_path):
    trace = tmp_path / "pytest.trace"
    result = run_cases(tmp_path, (MEMOPT, "record", "-q", "-o", str(trace), "--"))
    out = check(result)
    assert "memopt trace phase: test:" in out
    summary = json.loads(subprocess.run([MEMOPT, "report", str(trace), "--format", "json"],
                                        capture_output=True, text=True, check=True).stdout)
    # Phase names are test:NODEID; the node id's path depends on where pytest puts its
    # rootdir (the clone's location), so match on the test name.
    phases = {p["name"]: p for p in summary["phases"]}
    over = next(p for name, p in phases.items() if name.endswith("limit_memory_cases.py::test_over_limit"))
    assert over["peak_heap_bytes"] >= 40 * 10**6  # whole-process heap while the test ran
    marked = {"test_over_limit", "test_over_limit_freed", "test_within_limit", "test_fixture_not_counted",
              "test_bytes_limit", "test_own_failure"}
    assert {name.rsplit("::", 1)[1] for name in phases if name.startswith("test:")} == marked


@pytest.mark.skipif(not MEMOPT, reason="MEMOPT_BINARY not set")
def test_gate_on_a_pytest_run(tmp_path):
    """memopt gate around a whole test run: the CI use of both together."""
    result = subprocess.run([MEMOPT, "gate", "--max-peak", "4GB", "--junit", str(tmp_path / "gate.xml"), "--",
                             sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(CASES) + "::test_within_limit"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "memopt gate: PASS peak_rss" in result.stderr


def test_bad_limit_is_a_usage_error(tmp_path):
    case = tmp_path / "test_bad.py"
    case.write_text("import pytest\n@pytest.mark.limit_memory('lots')\ndef test_x():\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "memopt.pytest_plugin", "-p", "no:cacheprovider",
                             "-q", str(case)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "not a memory size: 'lots'" in result.stdout + result.stderr


def test_parse_size():
    from memopt.pytest_plugin import parse_size
    assert parse_size("24 MB") == 24 * 10**6
    assert parse_size("1.5GiB") == int(1.5 * 2**30)
    assert parse_size(4096) == 4096
    assert parse_size("512 kib") == 512 * 1024
    for bad in ("", "-1 MB", "12 parsecs", True, -5):
        with pytest.raises(ValueError):
            parse_size(bad)

"""The limit_memory marker on real pytest runs, with and without the tracer underneath."""
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
EXPECTED = {"test_over_limit": "FAILED", "test_over_limit_freed": "FAILED", "test_within_limit": "PASSED",
            "test_fixture_not_counted": "PASSED", "test_bytes_limit": "FAILED", "test_own_failure": "FAILED",
            "test_unmarked": "PASSED"}


def run_cases(tmp_path, prefix=(), options=()):
    command = [*prefix, sys.executable, "-m", "pytest", "-p", "memopt.pytest_plugin", "-p", "no:cacheprovider",
               "-q", "-rA", *options, "--junitxml", str(tmp_path / "junit.xml"), str(CASES)]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)


def outcomes(output):
    return {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) \S+::(\w+)", output, re.M)}


def check(result):
    out = result.stdout
    assert outcomes(out) == EXPECTED, out + result.stderr
    assert result.returncode == 1
    assert "its own assertion" in out
    assert "data = bytearray(40 * 10**6)" in out
    return out


def test_marker_without_tracer(tmp_path):
    """No tracer: tracemalloc measures, and the message says what it cannot see."""
    out = check(run_cases(tmp_path))
    # The peak, the limit read as pytest-memray reads it (24 MB = 24 MiB) and the margin.
    assert re.search(r"memory limit exceeded: peak 38\.\d MiB during the test body \(tracemalloc: Python "
                     r"allocations only; run with --memopt to count native memory\), limit 24 MB \(24\.0 MiB\), "
                     r"over by 14\.\d MiB", out), out
    assert re.search(r"38\.1 MiB in \d+ blocks?:\n\s+\S*limit_memory_cases\.py:14  \| data = bytearray", out), out
    assert re.search(r"allocations of \d+\.\d KiB or more still live at the end of the body", out), out
    assert "memopt trace phase" not in out


@pytest.mark.skipif(not MEMOPT, reason="MEMOPT_BINARY not set")
def test_marker_under_memopt_record(tmp_path):
    """Under `memopt record` the plugin counts the process heap, and each test is a phase."""
    trace = tmp_path / "pytest.trace"
    result = run_cases(tmp_path, (MEMOPT, "record", "-q", "-o", str(trace), "--"))
    out = check(result)
    assert "memopt trace phase: test:" in out
    assert re.search(r"memory limit exceeded: peak 38\.\d MiB during the test body \(process heap, native "
                     r"allocations included\), limit 24 MB \(24\.0 MiB\)", out), out
    # The freed case names the line that held the memory at the high-water mark.
    assert re.search(r"allocations live at the high-water mark \(blocks of 384\.0 KiB or more\)[^\n]*:\n"
                     r"\s+38\.\d MiB in 40 blocks:\n\s+\S+limit_memory_cases\.py:20 in <listcomp>", out), out
    summary = json.loads(subprocess.run([MEMOPT, "report", str(trace), "--format", "json"],
                                        capture_output=True, text=True, check=True).stdout)
    phases = {p["name"]: p for p in summary["phases"]}
    over = next(p for name, p in phases.items() if name.endswith("limit_memory_cases.py::test_over_limit"))
    assert over["peak_heap_bytes"] >= 40 * 10**6
    marked = {name for name in EXPECTED if name != "test_unmarked"}
    assert {name.rsplit("::", 1)[1] for name in phases if name.startswith("test:")} == marked


@pytest.mark.skipif(not MEMOPT, reason="MEMOPT_BINARY not set")
def test_gate_on_a_pytest_run(tmp_path):
    """memopt gate around a whole test run: the CI use of both together."""
    result = subprocess.run([MEMOPT, "gate", "--max-peak", "4GB", "--junit", str(tmp_path / "gate.xml"), "--",
                             sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(CASES) + "::test_within_limit"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "memopt gate: PASS peak_rss" in result.stderr


def test_parse_limit_as_pytest_memray():
    from memopt.pytest_plugin import parse_limit
    assert parse_limit("24 MB") == 24 * 2**20
    assert parse_limit("24mb") == 24 * 2**20
    assert parse_limit("1.5GiB") == int(1.5 * 2**30)
    assert parse_limit("512 KB") == parse_limit("512 KiB") == 512 * 1024
    assert parse_limit(".5 GB") == 2**29
    assert parse_limit("100 B") == 100
    assert parse_limit("24 MB per test") == 24 * 2**20  # pytest-memray matches the start only
    assert parse_limit(4096) == 4096
    for bad in ("", "-1 MB", "12 parsecs", "24", "MB", True, -5, 2.5, None):
        with pytest.raises(ValueError):
            parse_limit(bad)


def test_per_test_file_names_are_safe_and_distinct():
    from memopt.pytest_plugin.bins import file_names
    names = file_names(["t/test_a.py::TestX::test_y[1-a/b]", "t/test_a.py::TestX::test_y[1-a:b]",
                        "t/test_a.py::test_Z", "t/test_a.py::test_z", "../x.py::test", "a.py::" + "n" * 300])
    assert list(names.values())[:2] == ["t_test_a.py__TestX__test_y_1-a_b_.trace", "t_test_a.py__TestX__test_y_1-a_b_-2.trace"]
    assert names["t/test_a.py::test_z"] == "t_test_a.py__test_z-2.trace"  # distinct without regard to case
    assert names["../x.py::test"] == "_x.py__test.trace"  # never hidden, never '..'
    long = names["a.py::" + "n" * 300]
    assert len(long) <= 130 and long.startswith("a.py__nnn") and long.endswith("nnn.trace") and "..." in long
    assert all(re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.trace", name) for name in names.values())

"""pytest --memopt on real pytest runs: native memory, current_thread_only, --fail-on-increase,
limit_leaks, a suite spelled for pytest-memray, usage errors."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

CASES = pathlib.Path(__file__).parent / "cases"
MEMOPT = os.environ.get("MEMOPT_BINARY", "")
needs_memopt = pytest.mark.skipif(not MEMOPT, reason="MEMOPT_BINARY not set")


def pytest_run(tmp_path, *arguments, env=None, cache=False):
    command = [sys.executable, "-m", "pytest", "-p", "memopt.pytest_plugin", "-q", "-rA",
               *(["-o", f"cache_dir={tmp_path / 'cache'}"] if cache else ["-p", "no:cacheprovider"]), *arguments]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env=dict(os.environ, **(env or {})))


def outcomes(output):
    return {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) [^:\s]+::(\S+)", output, re.M)}


def section(output, test):
    """The failure text of one test."""
    match = re.search(rf"_{{3,}} {re.escape(test)} _{{3,}}\n(.*?)(?=\n_{{3,}} |\n={{3,}} )", output, re.S)
    assert match, output
    return match.group(1)


@needs_memopt
def test_native_memory_counts(tmp_path):
    result = pytest_run(tmp_path, "--memopt", str(CASES / "native_cases.py"))
    out = result.stdout
    assert outcomes(out) == {
        "test_native_malloc_over_limit": "FAILED", "test_numpy_over_limit": "FAILED",
        "test_native_within_limit": "PASSED", "test_thread_only_ignores_other_threads": "PASSED",
        "test_all_threads_counted": "FAILED", "test_thread_only_counts_its_own": "FAILED",
        "test_grows_between_runs": "PASSED"}, out + result.stderr
    assert result.returncode == 1
    # 200 MiB malloc'd and filled through ctypes: the high-water mark and the line that made it,
    # although the block is gone before the test ends.
    text = section(out, "test_native_malloc_over_limit")
    assert re.search(r"memory limit exceeded: peak 200\.0 MiB during the test body \(process heap, native "
                     r"allocations included\), limit 24 MB \(24\.0 MiB\), over by 176\.0 MiB", text), text
    assert re.search(r"allocations live at the high-water mark[^\n]*:\n\s+200\.0 MiB in 1 block:\n"
                     r"\s+\S+native_cases\.py:25 in test_native_malloc_over_limit  \| block = libc\.malloc", text), text
    text = section(out, "test_numpy_over_limit")
    # --stacks=1 (the default, as in pytest-memray): the innermost Python frame, numpy's own.
    assert re.search(r"peak 200\.\d MiB", text) and re.search(r"numeric\.py:\d+ in ones", text), text
    text = section(out, "test_thread_only_counts_its_own")
    assert "during the test's thread" in text and "peak 100.0 MiB" in text, text
    # The summary ranks every test (--memopt measures all of them).
    assert "memopt report" in out and "test_native_within_limit: peak 8.0 MiB" in out, out


@needs_memopt
def test_fail_on_increase(tmp_path):
    case = str(CASES / "native_cases.py") + "::test_grows_between_runs"
    first = pytest_run(tmp_path, "--memopt", "--fail-on-increase", case, env={"CASE_MIB": "8"}, cache=True)
    assert outcomes(first.stdout) == {"test_grows_between_runs": "PASSED"}, first.stdout + first.stderr
    same = pytest_run(tmp_path, "--memopt", "--fail-on-increase", case, env={"CASE_MIB": "8"}, cache=True)
    assert outcomes(same.stdout) == {"test_grows_between_runs": "PASSED"}, same.stdout
    grown = pytest_run(tmp_path, "--memopt", "--fail-on-increase", case, env={"CASE_MIB": "16"}, cache=True)
    assert outcomes(grown.stdout) == {"test_grows_between_runs": "FAILED"}, grown.stdout
    assert re.search(r"memory use grew since the last run: peak 16\.0 MiB, the last successful run's 8\.0 MiB",
                     grown.stdout), grown.stdout
    # Without the option the growth is recorded, not judged (pytest-memray: the same).
    plain = pytest_run(tmp_path, "--memopt", case, env={"CASE_MIB": "32"}, cache=True)
    assert outcomes(plain.stdout) == {"test_grows_between_runs": "PASSED"}, plain.stdout


@needs_memopt
def test_limit_leaks(tmp_path):
    result = pytest_run(tmp_path, "--memopt", str(CASES / "leak_cases.py"))
    out = result.stdout
    assert outcomes(out) == {"test_native_leak": "FAILED", "test_python_leak": "FAILED", "test_no_leak": "PASSED",
                             "test_leak_filtered": "PASSED", "test_local_block_is_not_a_leak": "PASSED"}, out + result.stderr
    text = section(out, "test_native_leak")
    assert re.search(r"memory leak limit exceeded: 1 location left 4\.0 MiB or more allocated", text), text
    assert re.search(r"4\.0 MiB in 4 blocks:\n\s+\S+leak_cases\.py:16 in test_native_leak", text), text
    text = section(out, "test_python_leak")
    assert re.search(r"2\.\d MiB in \d+ blocks:\n\s+\S+leak_cases\.py:22  \| KEEP\.append\(bytearray\(1024\)\)",
                     text), text


MEMRAY_SUITE = {
    "test_pass_23_mib_under_24_mb": "PASSED", "test_fail_25_mib_over_24_mb": "FAILED",
    "test_pass_other_thread_not_counted": "PASSED", "test_fail_own_assertion_wins": "FAILED",
    "test_fail_leak": "FAILED", "test_pass_leak_filtered": "PASSED", "test_pass_no_leak": "PASSED",
    "TestClassMarks::test_fail_class_mark": "FAILED", "TestClassMarks::test_parametrized[1]": "PASSED",
    "TestClassMarks::test_parametrized[4]": "FAILED", "test_pass_unmarked": "PASSED"}


@needs_memopt
def test_suite_spelled_for_pytest_memray(tmp_path):
    """pytest-memray's spelling, options included, gives pytest-memray's outcomes."""
    result = pytest_run(tmp_path, "--memopt", "--most-allocations=2", "--stacks=3", "--native",
                        "--trace-python-allocators", str(CASES / "memray_suite.py"))
    assert outcomes(result.stdout) == MEMRAY_SUITE, result.stdout + result.stderr
    assert "its own assertion" in section(result.stdout, "test_fail_own_assertion_wins")
    summary = result.stdout.split("memopt report", 1)[1]
    assert len(re.findall(r"^\S+::\S+: peak ", summary, re.M)) == 2, summary  # --most-allocations=2
    assert "native: " in section(result.stdout, "test_fail_25_mib_over_24_mb")  # --native
    hidden = pytest_run(tmp_path, "--memopt", "--hide-memopt-summary", str(CASES / "memray_suite.py"))
    assert outcomes(hidden.stdout) == MEMRAY_SUITE and "memopt report" not in hidden.stdout


def test_suite_spelled_for_pytest_memray_without_tracer(tmp_path):
    """Without --memopt the marks still apply (as pytest-memray's do without --memray)."""
    result = pytest_run(tmp_path, "--stacks=2", str(CASES / "memray_suite.py"))
    # Two documented differences (docs/ci.md): tracemalloc cannot tell threads apart, and its
    # frames carry no function names for a filter_fn to match.
    expected = dict(MEMRAY_SUITE, test_pass_other_thread_not_counted="FAILED", test_pass_leak_filtered="FAILED")
    assert outcomes(result.stdout) == expected, result.stdout + result.stderr
    assert "memopt report" not in result.stdout


@needs_memopt
def test_bin_path_keeps_the_trace_and_results(tmp_path):
    results = tmp_path / "results"
    result = pytest_run(tmp_path, "--memopt", "--memopt-bin-path", str(results),
                        str(CASES / "native_cases.py") + "::test_native_within_limit")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads((results / "memopt-pytest.json").read_text())
    assert document["schema"] == "memopt.pytest/1"
    [test] = document["tests"]
    assert test["nodeid"].endswith("test_native_within_limit") and test["peak_bytes"] >= 8 << 20
    summary = json.loads(subprocess.run([MEMOPT, "report", str(results / "memopt-pytest.trace"), "--format", "json"],
                                        capture_output=True, text=True, check=True).stdout)
    [phase] = [p for p in summary["phases"] if p["name"].endswith("::test_native_within_limit")]
    assert phase["peak_heap_bytes"] >= 8 << 20


def report_json(trace):
    done = subprocess.run([MEMOPT, "report", str(trace), "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_memopt
def test_bin_path_writes_one_trace_per_test(tmp_path):
    results = tmp_path / "results"
    result = pytest_run(tmp_path, "--memopt", "--memopt-bin-path", str(results), str(CASES / "bin_cases.py"))
    assert result.returncode == 0, result.stdout + result.stderr
    tests_dir = results / "tests"
    assert f"memopt: 3 per-test traces in {tests_dir}{os.sep}" in result.stdout, result.stdout
    files = sorted(path.name for path in tests_dir.iterdir())  # node ids are relative to pytest's rootdir
    endings = ["bin_cases.py__test_native_100_mib.trace", "bin_cases.py__test_native_1_mib_a_b__c_d__.trace",
               "bin_cases.py__test_native_1_mib_plain_.trace"]
    assert len(files) == 3 and all(name.endswith(end) for name, end in zip(files, endings)), files
    document = json.loads((results / "memopt-pytest.json").read_text())
    peaks = {}
    for test in document["tests"]:
        summary = report_json(results / test["trace_file"])
        [phase] = summary["phases"]  # the test's own phase, and only its allocations
        assert phase["name"] == "test:" + test["nodeid"]
        peaks[test["nodeid"].split("::", 1)[1]] = summary["peak_heap_bytes"]
        assert summary["top_sites"], summary  # recorded with stacks: the sites are named
    big, small = peaks["test_native_100_mib"], peaks["test_native_1_mib[plain]"]
    assert 100 << 20 <= big < 101 << 20, peaks
    assert 1 << 20 <= small < 2 << 20 and peaks["test_native_1_mib[a/b::c[d]]"] < 2 << 20, peaks
    text = subprocess.run([MEMOPT, "report", str(tests_dir / files[0])], capture_output=True, text=True).stdout
    assert "bin_cases.py:" in text, text  # the allocating Python line, as in the session's trace


@needs_memopt
def test_bin_path_never_writes_over_a_tests_file(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "tests").write_text("mine\n")
    result = pytest_run(tmp_path, "--memopt", "--memopt-bin-path", str(results), str(CASES / "bin_cases.py"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "tests exists and is not a directory" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (results / "tests").read_text() == "mine\n"
    assert not (results / "memopt-pytest.trace").exists()  # refused before any test ran


@pytest.mark.parametrize("mark, message", [
    ("limit_memory('24 MB', bogus=True)",
     r"test_x: @pytest.mark.limit_memory\(limit, \*, current_thread_only=False\): got an unexpected keyword "
     r"argument 'bogus'"),
    ("limit_memory('lots')", r"test_x: limit_memory: not a memory size: 'lots'"),
    ("limit_memory()", r"test_x: @pytest.mark.limit_memory.*missing a required argument: 'limit'"),
    ("limit_leaks('1 MB', filter_fn=3)", r"test_x: limit_leaks: filter_fn must be callable"),
])
def test_mark_usage_errors(tmp_path, mark, message):
    case = tmp_path / "test_bad.py"
    case.write_text(f"import pytest\n@pytest.mark.{mark}\ndef test_x():\n    pass\n")
    result = pytest_run(tmp_path, str(case))
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage-error status
    assert re.search("ERROR: test_bad.py::" + message, result.stderr), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_two_marks_and_bad_options_are_usage_errors(tmp_path):
    case = tmp_path / "test_two.py"
    case.write_text("import pytest\n@pytest.mark.limit_memory('1 MB')\n@pytest.mark.limit_leaks('1 MB')\n"
                    "def test_x():\n    pass\n")
    result = pytest_run(tmp_path, str(case))
    assert result.returncode == 4 and "only one of limit_memory and limit_leaks" in result.stderr, result.stderr
    result = pytest_run(tmp_path, "--stacks=0", str(case))
    assert result.returncode == 4 and "--stacks: 0 is not a positive number" in result.stderr, result.stderr
    afile = tmp_path / "afile"
    afile.write_text("")
    result = pytest_run(tmp_path, "--memopt-bin-path", str(afile), str(case))
    assert result.returncode == 4 and "is not a directory" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_memopt_without_the_program_is_a_usage_error(tmp_path):
    case = tmp_path / "test_ok.py"
    case.write_text("def test_x():\n    pass\n")
    environment = {"MEMOPT_BINARY": str(tmp_path / "no-such-memopt")}
    result = pytest_run(tmp_path, "--memopt", str(case), env=environment)
    assert result.returncode == 4 and "--memopt: cannot run" in result.stderr, result.stdout + result.stderr

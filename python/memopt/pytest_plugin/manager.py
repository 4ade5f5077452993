"""The per-session state: measures test bodies, judges the marks, keeps results between runs,
prints the summary."""
from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import pytest

import memopt

from . import marks as mark_rules
from .measure import NativeMeasurement, Result, TracemallocMeasurement
from .native import NativeHeap
from .bins import RESULTS_NAME, TESTS_DIR, file_names
from .reexec import TRACE_NAME
from .sizes import format_size
from .stacks import describe

CACHE_PREFIX = "memopt/"
SUMMARY_TOP_BLOCKS = 5


def option(config, name: str):
    """The command-line value, else the ini value (as pytest-memray's value_or_ini)."""
    value = config.getoption(name, None)
    if value is not None:
        return value
    try:
        return config.getini(name)
    except (KeyError, ValueError):
        return None


def _watch_threshold(mark) -> int:
    """Blocks this large get a slot and a Python line: fine enough to name what holds a
    limit's worth of memory, coarse enough that 64 slots rarely run out."""
    if mark is None:
        return 1 << 20
    if mark.name == "limit_leaks":
        return max(4096, min(mark.limit, 64 << 10))
    return max(16 << 10, min(mark.limit // 64, 1 << 20))


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Manager:
    def __init__(self, config) -> None:
        self.config = config
        self.heap = NativeHeap.find()
        if self.heap is not None and not self.heap.recording:
            self.heap = None  # loaded without `memopt record`: it counts nothing
        self.all_tests = bool(option(config, "memopt"))
        if self.all_tests and self.heap is None:
            raise pytest.UsageError("--memopt: the memopt tracer is not recording in this process "
                                    "(run pytest itself with --memopt, not under another launcher)")
        self.depth = int(option(config, "stacks") or 1)
        self.native = bool(option(config, "native"))
        self.fail_on_increase = bool(option(config, "fail_on_increase"))
        self.results: dict[str, Result] = {}
        self.phases: dict[str, str] = {}  # the trace phase of each test's (last) measured run
        self._runs: dict[str, int] = {}
        self.marks: dict[str, mark_rules.Mark | None] = {}

    # -- collection -------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            self.marks[item.nodeid] = mark_rules.read_mark(item)

    # -- the test body ----------------------------------------------------------------------
    def _measurement(self, mark):
        leak_frames = max(self.depth, 5) if mark is not None and mark.name == "limit_leaks" else None
        if self.heap is None:
            return TracemallocMeasurement(depth=self.depth, leak_frames=leak_frames)
        return NativeMeasurement(self.heap, thread_only=bool(mark and mark.current_thread_only),
                                 threshold=_watch_threshold(mark), depth=self.depth, native=self.native,
                                 leak_frames=leak_frames)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        nodeid = pyfuncitem.nodeid
        mark = self.marks[nodeid] if nodeid in self.marks else mark_rules.read_mark(pyfuncitem)
        if mark is None and not self.all_tests:
            yield
            return
        measurement = self._measurement(mark)
        rss_before = _rss_bytes()
        phase = f"test:{nodeid}"
        self._runs[nodeid] = self._runs.get(nodeid, 0) + 1  # a rerun repeats the phase: NAME#N
        self.phases[nodeid] = f"{phase}#{self._runs[nodeid]}"
        memopt.phase_begin(phase)
        measurement.start()
        try:
            outcome = yield
        finally:
            result = measurement.stop()
            memopt.phase_end(phase)
        self.results[nodeid] = result
        pyfuncitem.user_properties.append(("memopt_peak_bytes", result.peak))
        if mark is None or outcome.excinfo is not None:
            return  # measured only, or the test failed for its own reason (pytest-memray: the same)
        message = self._verdict(nodeid, mark, result)
        if message:
            message.extend(self._context(rss_before, phase))
            pytest.fail("\n".join(message), pytrace=False)

    def _verdict(self, nodeid: str, mark, result: Result) -> list[str] | None:
        if mark.name == "limit_leaks":
            return mark_rules.leak_failure(mark, result, self.depth)
        cache = getattr(self.config, "cache", None)  # None under -p no:cacheprovider
        if cache is not None:  # pytest-memray's order: the increase first, the cache only when it passes
            key = CACHE_PREFIX + nodeid
            entry = cache.get(key, {})
            previous = entry.get("peak_bytes")
            if self.fail_on_increase and previous is not None and result.peak > previous:
                return mark_rules.increase_failure(previous, result.peak)
            entry["peak_bytes"] = result.peak
            cache.set(key, entry)
        return mark_rules.memory_failure(mark, result, self.depth)

    def _context(self, rss_before, phase: str) -> list[str]:
        lines = []
        rss_after = _rss_bytes()
        if rss_before is not None and rss_after is not None:
            max_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, rss_after)
            lines.append(f"process RSS {format_size(rss_before)} -> {format_size(rss_after)} "
                         f"(max {format_size(max_rss)} so far)")
        if memopt.tracing():
            lines.append(f"memopt trace phase: {phase}")
        return lines

    # -- the end ----------------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.all_tests or option(self.config, "hide_memopt_summary"):
            return
        most = option(self.config, "most_allocations")
        most = 5 if most in (None, "") else int(most)
        ranked = sorted(self.results.items(), key=lambda item: item[1].peak, reverse=True)
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "memopt report")
        for nodeid, result in ranked[:most or len(ranked)]:
            write(f"{nodeid}: peak {format_size(result.peak)} above the body's start, "
                  f"{format_size(max(0, result.leaked))} still allocated at its end")
            for block in result.at_peak[:SUMMARY_TOP_BLOCKS]:
                where = describe(block.stack, 1, indent="")[0]
                write(f"    {format_size(block.size)} in {block.count} block{'s' if block.count != 1 else ''}: {where}")
        bin_path = self.config.getoption("memopt_bin_path")
        if bin_path:
            write(f"memopt: the session's trace {Path(bin_path) / TRACE_NAME} (one phase test:NODEID per test) "
                  f"is cut into one trace per test in {Path(bin_path) / TESTS_DIR}{os.sep} once pytest ends")

    def pytest_unconfigure(self) -> None:
        bin_path = self.config.getoption("memopt_bin_path")
        if not bin_path or not self.results:
            return
        names = file_names(self.results)
        tests = [{"nodeid": nodeid, "peak_bytes": result.peak, "leaked_bytes": result.leaked,
                  "measured": result.source, "phase": self.phases.get(nodeid, f"test:{nodeid}"),
                  "trace_file": f"{TESTS_DIR}/{names[nodeid]}",
                  "at_peak": [{"bytes": block.size, "count": block.count,
                               "stack": [f"{f.function}:{f.filename}:{f.lineno}" for f in block.stack.frames]}
                              for block in result.at_peak]}
                 for nodeid, result in self.results.items()]
        document = {"schema": "memopt.pytest/1", "trace": TRACE_NAME, "tests": tests}
        (Path(bin_path) / RESULTS_NAME).write_text(json.dumps(document, indent=1) + "\n")

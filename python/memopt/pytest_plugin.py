"""pytest plugin: fail a test whose peak memory during the test body exceeds a limit.

    # conftest.py (or: pytest -p memopt.pytest_plugin)
    pytest_plugins = ["memopt.pytest_plugin"]

    @pytest.mark.limit_memory("24 MB")
    def test_predict():
        ...

The peak is measured with tracemalloc over the test function's body (fixtures excluded):
the highest amount of Python-tracked memory (objects, buffers, numpy arrays) allocated
during the body, above what was allocated when it began. On failure the message names the
measured peak, the limit and the top allocating source lines (tracemalloc), with the
process RSS as context. Sizes accept B, KB, MB, GB (10^3) and KiB, MiB, GiB (2^10), or a
number of bytes.

Under `memopt record` (the preload tracer) each marked test is also a phase named
"test:NODEID" in the trace, so `memopt report` shows per-test peaks of the whole process
heap (native allocations included). Running without memopt underneath works the same,
without the phases.
"""
from __future__ import annotations

import linecache
import re
import resource
import tracemalloc

import pytest

import memopt

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "k": 2**10, "m": 2**20, "g": 2**30}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_TOP_LINES = 5


def parse_size(value) -> int:
    """'24 MB' -> 24000000, '1.5GiB' -> 1610612736, 4096 -> 4096."""
    if isinstance(value, bool):
        raise ValueError(f"not a memory size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative memory size: {value}")
        return value
    match = _SIZE.match(str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a memory size: {value!r} (use e.g. '24 MB', '512 KiB' or a number of bytes)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _rss_bytes() -> int | None:
    try:
        import psutil
        return psutil.Process().memory_info().rss
    except Exception:  # psutil missing or /proc unreadable: RSS is only context
        return None


# pytest's and pluggy's own bookkeeping around the call is not the test's allocation.
_NOISE = [tracemalloc.Filter(False, pattern) for pattern in
          (tracemalloc.__file__, __file__, "*/pluggy/*", "*/_pytest/*", "*/psutil/*")]


def _top_lines(start: tracemalloc.Snapshot, end: tracemalloc.Snapshot, count: int, minimum: int) -> list[str]:
    lines = []
    for stat in end.compare_to(start, "lineno")[:count]:
        if stat.size_diff < minimum:
            break
        frame = stat.traceback[0]
        source = linecache.getline(frame.filename, frame.lineno).strip()
        lines.append(f"  {frame.filename}:{frame.lineno}: +{format_size(stat.size_diff)} "
                     f"in {stat.count_diff:+d} blocks" + (f"  | {source}" if source else ""))
    return lines


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "limit_memory(limit): fail the test when the peak memory allocated during its body "
        "(tracemalloc) exceeds limit, e.g. '24 MB' (memopt.pytest_plugin)")


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    marker = pyfuncitem.get_closest_marker("limit_memory")
    if marker is None:
        yield
        return
    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(f"{pyfuncitem.nodeid}: use @pytest.mark.limit_memory('24 MB')")
    try:
        limit = parse_size(marker.args[0])
    except ValueError as error:
        raise pytest.UsageError(f"{pyfuncitem.nodeid}: limit_memory: {error}") from None

    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start(1)
    start_snapshot = tracemalloc.take_snapshot()
    tracemalloc.reset_peak()
    start_current, _ = tracemalloc.get_traced_memory()
    rss_before = _rss_bytes()
    phase = f"test:{pyfuncitem.nodeid}"
    memopt.phase_begin(phase)
    try:
        outcome = yield
    finally:
        memopt.phase_end(phase)
    _, peak = tracemalloc.get_traced_memory()
    measured = max(0, peak - start_current)
    end_snapshot = tracemalloc.take_snapshot() if measured > limit else None
    rss_after = _rss_bytes()  # after the snapshot: psutil's own allocations stay out of it
    if started_here:
        tracemalloc.stop()
    pyfuncitem.user_properties.append(("memopt_peak_bytes", measured))
    if measured <= limit or outcome.excinfo is not None:
        return  # within the limit, or the test already failed for its own reason

    top = _top_lines(start_snapshot.filter_traces(_NOISE), end_snapshot.filter_traces(_NOISE), _TOP_LINES,
                     minimum=max(1024, measured // 100))
    message = [f"memory limit exceeded: peak {format_size(measured)} during the test body "
               f"(tracemalloc), limit {marker.args[0]!s} ({format_size(limit)}), "
               f"over by {format_size(measured - limit)}"]
    if top:
        message.append("top allocating lines (still allocated at the end of the test):")
        message.extend(top)
    else:
        message.append("top allocating lines: none still allocated at the end of the test "
                       "(the peak was freed before it ended)")
    if rss_before is not None and rss_after is not None:
        max_rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, rss_after)
        message.append(f"process RSS {format_size(rss_before)} -> {format_size(rss_after)} "
                       f"(max {format_size(max_rss)} so far)")
    if memopt.tracing():
        message.append(f"memopt trace phase: {phase}")
    pytest.fail("\n".join(message), pytrace=False)

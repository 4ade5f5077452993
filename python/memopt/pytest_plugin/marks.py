"""The marks, spelled as in pytest-memray, and the verdicts they give.

    @pytest.mark.limit_memory(limit, *, current_thread_only=False)
    @pytest.mark.limit_leaks(location_limit, *, filter_fn=None, current_thread_only=False)

A mark that cannot be read (a wrong argument, an unparsable size, two memory marks on one
test) is a pytest UsageError at collection, naming the test: one line, no traceback.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import pytest

from .measure import Block, Result
from .sizes import format_size, parse_limit
from .stacks import Stack, describe


def limit_memory(limit, *, current_thread_only=False):
    """fail the test when the peak memory allocated during its body reaches limit (e.g. '24 MB' = 24 MiB)"""


def limit_leaks(location_limit, *, filter_fn=None, current_thread_only=False):
    """fail the test when one call stack leaves location_limit or more allocated at the end of its body"""


MARKS = {"limit_memory": limit_memory, "limit_leaks": limit_leaks}


@dataclass
class Mark:
    name: str
    limit: int
    limit_text: str
    current_thread_only: bool = False
    filter_fn: Callable[[Stack], bool] | None = None


def marker_lines() -> list[str]:
    return [f"{name}{inspect.signature(function)}: {function.__doc__} (memopt.pytest_plugin)"
            for name, function in MARKS.items()]


def read_mark(item) -> Mark | None:
    """The test's memory mark, checked; raises pytest.UsageError naming the test."""
    found = [marker for marker in item.iter_markers() if marker.name in MARKS]
    if not found:
        return None
    if len({marker.name for marker in found}) > 1:
        raise pytest.UsageError(f"{item.nodeid}: only one of limit_memory and limit_leaks can be applied to a test")
    marker = found[0]  # the closest one, as pytest-memray takes it
    try:
        bound = inspect.signature(MARKS[marker.name]).bind(*marker.args, **marker.kwargs)
    except TypeError as error:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{marker.name}{inspect.signature(MARKS[marker.name])}: "
                                f"{error}") from None
    arguments = bound.arguments
    limit_text = arguments.get("limit", arguments.get("location_limit"))
    try:
        limit = parse_limit(limit_text)
    except ValueError as error:
        raise pytest.UsageError(f"{item.nodeid}: {marker.name}: {error}") from None
    filter_fn = arguments.get("filter_fn")
    if filter_fn is not None and not callable(filter_fn):
        raise pytest.UsageError(f"{item.nodeid}: limit_leaks: filter_fn must be callable, got {filter_fn!r}")
    return Mark(marker.name, limit, str(limit_text), bool(arguments.get("current_thread_only", False)), filter_fn)


def _blocks_text(blocks: list[Block], depth: int, limit: int = 10) -> list[str]:
    lines = []
    for block in blocks[:limit]:
        lines.append(f"  {format_size(block.size)} in {block.count} block{'s' if block.count != 1 else ''}:")
        lines.extend(describe(block.stack, depth))
        if block.native:
            lines.append("    native: " + " <- ".join(block.native[:max(depth, 4)]))
    if len(blocks) > limit:
        lines.append(f"  ...and {len(blocks) - limit} more")
    return lines


def memory_failure(mark: Mark, result: Result, depth: int) -> list[str] | None:
    """The message lines when the peak reached the limit (pytest-memray fails at >= too)."""
    if result.peak < mark.limit:
        return None
    scope = "the test's thread" if mark.current_thread_only else "the test body"
    lines = [f"memory limit exceeded: peak {format_size(result.peak)} during {scope} ({result.source}), "
             f"limit {mark.limit_text} ({format_size(mark.limit)}), over by {format_size(result.peak - mark.limit)}"]
    if result.at_peak:
        lines.append(result.at_peak_title + ":")
        lines.extend(_blocks_text(result.at_peak, depth))
    else:
        lines.append(result.at_peak_title + ": none")
    return lines


def leak_failure(mark: Mark, result: Result, depth: int) -> list[str] | None:
    """The message lines when a call stack left location_limit or more allocated."""
    over = [block for block in result.leaks
            if block.size >= mark.limit and (mark.filter_fn is None or mark.filter_fn(block.stack))]
    if not over:
        return None
    lines = [f"memory leak limit exceeded: {len(over)} location{'s' if len(over) != 1 else ''} left "
             f"{format_size(over[0].size)} or more allocated at the end of the test body, limit "
             f"{mark.limit_text} ({format_size(mark.limit)}) per location ({result.source}; "
             f"{format_size(max(0, result.leaked))} more allocated in all than when the body began)",
             "leaked allocations by location:"]
    lines.extend(_blocks_text(over, max(depth, 5)))
    return lines


def increase_failure(previous: int, now: int) -> list[str]:
    return [f"memory use grew since the last run: peak {format_size(now)}, the last successful run's "
            f"{format_size(previous)} (--fail-on-increase)"]

"""What one test body allocated: its high-water mark, the blocks live there, and its leaks.

Two ways to measure, one interface (start(), stop() -> Result):
- NativeMeasurement, when the preload tracer runs in this process (`pytest --memopt`): the
  whole process heap, malloc family and anonymous mmap, C extensions included. The blocks
  live at the high-water mark are the watched ones (inprocess_api.h: blocks of `threshold`
  bytes or more, with the Python line that was running when each was made).
- TracemallocMeasurement otherwise: Python allocations only, and the lines still holding
  memory when the body ends (tracemalloc keeps no snapshot of its peak).
"""
from __future__ import annotations

import sys
import threading
import tracemalloc
from dataclasses import dataclass, field

from .sizes import format_size
from .stacks import NOISE_PATTERNS, Stack, python_stack, stack_from_tracemalloc

_NOISE_FILTERS = [tracemalloc.Filter(False, pattern) for pattern in (tracemalloc.__file__, *NOISE_PATTERNS)]


@dataclass
class Block:
    """Bytes held by the allocations of one call stack (`count` blocks)."""

    size: int
    count: int
    stack: Stack
    native: tuple[str, ...] = ()


@dataclass
class Result:
    peak: int                 # bytes above the body's start, at its high-water mark
    leaked: int               # bytes still allocated at the end, above the start
    source: str               # what was measured, for messages
    at_peak: list[Block]      # biggest first; empty when unknown
    at_peak_title: str        # what at_peak holds
    leaks: list[Block] = field(default_factory=list)  # allocations of the body still live at its end


def _group(blocks, depth: int) -> list[Block]:
    """Blocks with the same first `depth` frames added up, biggest first."""
    groups: dict = {}
    for block in blocks:
        key = (block.stack.frames[:depth], block.native[:depth])
        group = groups.setdefault(key, Block(0, 0, Stack(key[0]), key[1]))
        group.size += block.size
        group.count += block.count
    return sorted(groups.values(), key=lambda group: group.size, reverse=True)


def _bits(mask: int):
    slot = 0
    while mask:
        if mask & 1:
            yield slot
        mask >>= 1
        slot += 1


def _stack_of_thread(thread: int, here: int) -> Stack:
    """The Python stack now running in `thread`. No frame is kept in a local of a frame that
    outlives this call: a frame referring to itself is a cycle that would keep the test's
    locals (its arrays) alive until the next garbage collection."""
    if thread == here:
        return python_stack(sys._getframe(1))
    return python_stack(sys._current_frames().get(thread))


class NativeMeasurement:
    def __init__(self, heap, *, thread_only: bool, threshold: int, depth: int, native: bool,
                 leak_frames: int | None) -> None:
        self.heap, self.thread_only, self.threshold = heap, thread_only, threshold
        self.depth, self.native, self.leak_frames = depth, native, leak_frames
        self._stacks: dict[int, tuple[Stack, tuple[str, ...]]] = {}  # by block generation
        self._active = False
        self._thread = threading.get_ident()

    def start(self) -> None:
        # limit_leaks: tracemalloc for the blocks too small to watch. Started here, it holds
        # exactly the body's allocations; already running (the user's), a snapshot is the base.
        self._tracemalloc_here = self.leak_frames is not None and not tracemalloc.is_tracing()
        self._leak_base = None
        if self._tracemalloc_here:
            tracemalloc.start(self.leak_frames)
        elif self.leak_frames is not None:
            self._leak_base = tracemalloc.take_snapshot()
        self._active = True
        self.heap.watch(self.threshold, self._name_new_blocks)
        self.heap.reset_peak()
        self._start = self.heap.totals()

    def _name_new_blocks(self, body_returned: bool = False) -> None:
        """Runs at a safe point soon after a watched block appeared: the Python line then
        running in the allocating thread is the one that asked for it. Once the body has
        returned, the test's own thread has no such line any more."""
        if not self._active:
            return
        self.heap.acknowledge()
        totals = self.heap.totals()
        here = threading.get_ident()
        for slot in _bits(totals.live_mask | totals.peak_live_mask | totals.thread_peak_live_mask):
            block = self.heap.slot(slot)
            if block is None or block.generation in self._stacks:
                continue
            native = tuple(self.heap.native_frames(block)) if self.native else ()
            unknown = body_returned and block.thread == here
            self._stacks[block.generation] = (Stack(()) if unknown else _stack_of_thread(block.thread, here), native)

    def _blocks(self, mask: int) -> list[Block]:
        blocks = []
        for slot in _bits(mask):
            block = self.heap.slot(slot)
            if block is None or (self.thread_only and block.thread != self._thread):
                continue
            stack, native = self._stacks.get(block.generation, (Stack(()), ()))
            blocks.append(Block(block.size, 1, stack, native))
        return blocks

    def stop(self) -> Result:
        end = self.heap.totals()
        self._name_new_blocks(body_returned=True)  # the ones made just before the end
        self._active = False
        if self.thread_only:
            peak, leaked = end.thread_peak - self._start.thread_current, end.thread_current - self._start.thread_current
            peak_mask = end.thread_peak_live_mask
        else:
            peak, leaked = end.peak - self._start.current, end.current - self._start.current
            peak_mask = end.peak_live_mask
        at_peak = self._blocks(peak_mask)
        live_at_end = self._blocks(end.live_mask)
        self.heap.stop_watching()
        peak = max(0, peak)
        watched = sum(block.size for block in at_peak)
        title = f"allocations live at the high-water mark (blocks of {format_size(self.threshold)} or more)"
        if peak > watched:
            title += f"; {format_size(peak - watched)} more in smaller blocks"
        if end.unwatched_blocks:
            title += f"; {end.unwatched_blocks} large blocks not watched (all 64 slots busy)"
        result = Result(peak, leaked, "process heap, native allocations included", _group(at_peak, self.depth), title)
        if self.leak_frames is not None:
            result.leaks = self._leaks(live_at_end)
        return result

    def _leaks(self, live_at_end: list[Block]) -> list[Block]:
        """Watched blocks still live, plus what tracemalloc saw in smaller blocks (the larger
        ones tracemalloc also saw are the watched blocks themselves)."""
        snapshot = tracemalloc.take_snapshot().filter_traces(_NOISE_FILTERS)
        if self._tracemalloc_here:
            tracemalloc.stop()
            small = [Block(trace.size, 1, stack_from_tracemalloc(trace.traceback))
                     for trace in snapshot.traces if trace.size < self.threshold]
        else:
            base = self._leak_base.filter_traces(_NOISE_FILTERS)
            small = [Block(stat.size_diff, stat.count_diff, stack_from_tracemalloc(stat.traceback))
                     for stat in snapshot.compare_to(base, "traceback") if stat.size_diff > 0]
        return _group(live_at_end + small, sys.maxsize)


class TracemallocMeasurement:
    def __init__(self, *, depth: int, leak_frames: int | None) -> None:
        self.depth, self.leak_frames = depth, leak_frames

    def start(self) -> None:
        self._started_here = not tracemalloc.is_tracing()
        if self._started_here:
            tracemalloc.start(max(self.depth, self.leak_frames or 1))
        self._snapshot = tracemalloc.take_snapshot().filter_traces(_NOISE_FILTERS)
        tracemalloc.reset_peak()
        self._current, _ = tracemalloc.get_traced_memory()

    def stop(self) -> Result:
        current, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot().filter_traces(_NOISE_FILTERS)
        if self._started_here:
            tracemalloc.stop()
        stats = [stat for stat in snapshot.compare_to(self._snapshot, "traceback") if stat.size_diff > 0]
        grown = [Block(stat.size_diff, stat.count_diff, stack_from_tracemalloc(stat.traceback)) for stat in stats]
        measured = max(0, peak - self._current)
        minimum = max(1024, measured // 100)  # the interpreter's small change is not the story
        result = Result(measured, current - self._current,
                        "tracemalloc: Python allocations only; run with --memopt to count native memory",
                        [block for block in _group(grown, self.depth) if block.size >= minimum],
                        f"allocations of {format_size(minimum)} or more still live at the end of the body "
                        "(tracemalloc keeps no record of its high-water mark; --memopt shows the blocks live there)")
        if self.leak_frames is not None:
            result.leaks = _group(grown, sys.maxsize)
        return result

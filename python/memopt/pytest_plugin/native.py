"""ctypes binding of the tracer's in-process C API (profiler/preload/inprocess_api.h).

Present only when libmemopt_preload.so is loaded and recording (`pytest --memopt`, or any
pytest run under `memopt record`). Keep the structures in step with the header.
"""
from __future__ import annotations

import ctypes
import os

WATCH_SLOTS = 64
WATCHED_FRAMES = 16


class HeapTotals(ctypes.Structure):
    _fields_ = [("current", ctypes.c_int64), ("peak", ctypes.c_int64),
                ("thread_current", ctypes.c_int64), ("thread_peak", ctypes.c_int64),
                ("live_mask", ctypes.c_uint64), ("peak_live_mask", ctypes.c_uint64),
                ("thread_peak_live_mask", ctypes.c_uint64),
                ("untracked_mappings", ctypes.c_uint64), ("unwatched_blocks", ctypes.c_uint64)]


class WatchedBlock(ctypes.Structure):
    _fields_ = [("address", ctypes.c_uint64), ("size", ctypes.c_uint64), ("generation", ctypes.c_uint64),
                ("thread", ctypes.c_uint64), ("live", ctypes.c_uint32), ("depth", ctypes.c_uint32),
                ("frames", ctypes.c_uint64 * WATCHED_FRAMES)]


PENDING_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


class NativeHeap:
    """The process heap as the preloaded tracer counts it (malloc family and anonymous mmap)."""

    def __init__(self, process: ctypes.CDLL) -> None:
        self._read_totals = process.memopt_read_heap_totals
        self._read_totals.argtypes = [ctypes.POINTER(HeapTotals)]
        self._read_totals.restype = None
        self._reset_peak = process.memopt_reset_peak
        self._reset_peak.argtypes = []
        self._reset_peak.restype = None
        self._watch = process.memopt_watch_blocks
        self._watch.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._watch.restype = None
        self._acknowledge = process.memopt_watch_acknowledge
        self._acknowledge.argtypes = []
        self._acknowledge.restype = None
        self._read_slot = process.memopt_read_watched_slot
        self._read_slot.argtypes = [ctypes.c_uint, ctypes.POINTER(WatchedBlock)]
        self._read_slot.restype = ctypes.c_int
        enable = process.memopt_inprocess_enable
        enable.restype = ctypes.c_int
        self.recording = enable() == 1
        self._schedule = ctypes.cast(ctypes.pythonapi.Py_AddPendingCall, ctypes.c_void_p).value
        # One thunk for the process's life: a call queued just before watching stopped may
        # still run later, and must find live code (it then finds no handler).
        self._handler = None
        self._callback = PENDING_FN(self._pending)
        self._dladdr = None

    @classmethod
    def find(cls) -> "NativeHeap | None":
        try:
            return cls(ctypes.CDLL(None))
        except AttributeError:  # the tracer is not loaded in this process
            return None

    def totals(self) -> HeapTotals:
        totals = HeapTotals()
        self._read_totals(ctypes.byref(totals))
        return totals

    def reset_peak(self) -> None:
        self._reset_peak()

    def _pending(self, _arg) -> int:
        handler = self._handler
        if handler is not None:
            try:
                handler()
            except BaseException:  # noqa: BLE001 - raised here, it would surface in the test's code
                pass
        return 0

    def watch(self, threshold: int, on_new_blocks) -> None:
        """Watches blocks of `threshold` bytes or more; on_new_blocks() runs in the main thread
        at the next safe point after new ones appeared (Py_AddPendingCall)."""
        self._handler = on_new_blocks
        self._watch(threshold, self._schedule, ctypes.cast(self._callback, ctypes.c_void_p), None)

    def stop_watching(self) -> None:
        self._watch(0, None, None, None)
        self._handler = None

    def acknowledge(self) -> None:
        self._acknowledge()

    def slot(self, index: int) -> WatchedBlock | None:
        block = WatchedBlock()
        return block if self._read_slot(index, ctypes.byref(block)) else None

    def native_frames(self, block: WatchedBlock) -> list[str]:
        """'function (library)' for each frame outside the tracer, innermost first."""
        if self._dladdr is None:
            self._dladdr = ctypes.CDLL(None).dladdr
            self._dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
            self._dladdr.restype = ctypes.c_int
        names = []
        for address in block.frames[:block.depth]:
            info = _DlInfo()
            if not self._dladdr(address, ctypes.byref(info)) or not info.dli_fname:
                names.append(f"0x{address:x}")
                continue
            library = os.path.basename(info.dli_fname.decode(errors="replace"))
            if library.startswith("libmemopt_preload"):
                continue
            symbol = info.dli_sname.decode(errors="replace") if info.dli_sname else f"0x{address:x}"
            names.append(f"{symbol} ({library})")
        return names

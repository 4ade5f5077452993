"""memopt's small Python side: phase markers for `memopt record` and `memopt probe`.

    import memopt
    with memopt.phase("predict"):
        ...

When the program runs under `memopt record` (the preload library) or `memopt probe` (the
embedded interpreter), the marker is written to the trace/profile with a timestamp. Run
plainly, `phase()` does nothing and costs next to nothing.
"""
from __future__ import annotations

import contextlib
import ctypes

__all__ = ["phase", "phase_begin", "phase_end", "tracing"]

_begin = None
_end = None


def _bind() -> None:
    """Finds memopt_phase_begin/end in the process (preload library or probe executable)."""
    global _begin, _end
    try:
        process = ctypes.CDLL(None)
        begin = process.memopt_phase_begin
        end = process.memopt_phase_end
    except (OSError, AttributeError):
        return
    begin.argtypes = [ctypes.c_char_p]
    begin.restype = None
    end.argtypes = [ctypes.c_char_p]
    end.restype = None
    _begin, _end = begin, end


_bind()


def tracing() -> bool:
    """True when a memopt tracer or probe is listening for phase markers."""
    return _begin is not None


def phase_begin(name: str) -> None:
    if _begin is not None:
        _begin(name.encode("utf-8", "replace"))


def phase_end(name: str) -> None:
    if _end is not None:
        _end(name.encode("utf-8", "replace"))


@contextlib.contextmanager
def phase(name: str):
    """Marks the enclosed block as phase `name` (nested phases are allowed)."""
    phase_begin(name)
    try:
        yield
    finally:
        phase_end(name)

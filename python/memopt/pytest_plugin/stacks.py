"""Call stacks as the marks' filter_fn sees them (the same shape as pytest-memray's)."""
from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass

import pluggy
import pytest

import _pytest


@dataclass(frozen=True)
class StackFrame:
    """One frame of a call stack."""

    function: str
    filename: str
    lineno: int


@dataclass(frozen=True)
class Stack:
    """The call stack that led to an allocation, most recent frame first."""

    frames: tuple[StackFrame, ...]


# The plugin's own frames and pytest's, which surround every test body.
_NOISE_DIRS = tuple(os.path.dirname(module.__file__) + os.sep for module in (sys.modules[__name__], pluggy, _pytest, pytest))
NOISE_PATTERNS = tuple(directory + "*" for directory in _NOISE_DIRS)
MAX_FRAMES = 16


def is_noise(filename: str) -> bool:
    return filename.startswith(_NOISE_DIRS)


def python_stack(frame, limit: int = MAX_FRAMES) -> Stack:
    """The frames from `frame` outwards: past the plugin's own (innermost), up to pytest's
    (which called the test)."""
    frames = []
    while frame is not None and len(frames) < limit:
        code = frame.f_code
        if not is_noise(code.co_filename):
            frames.append(StackFrame(code.co_name, code.co_filename, frame.f_lineno))
        elif frames:
            break
        frame = frame.f_back
    return Stack(tuple(frames))


def stack_from_tracemalloc(traceback) -> Stack:
    """The same from a tracemalloc traceback (which keeps no function names: '?')."""
    frames = []
    for frame in reversed(traceback):  # most recent first
        if not is_noise(frame.filename):
            frames.append(StackFrame("?", frame.filename, frame.lineno))
        elif frames:
            break
    return Stack(tuple(frames))


def describe(stack: Stack, depth: int, indent: str = "    ") -> list[str]:
    """Up to `depth` frames, each 'file:line in function  | source'."""
    if not stack.frames:
        return [f"{indent}(no Python line: made where no Python code was running, or just before the body returned)"]
    lines = []
    for frame in stack.frames[:depth]:
        source = linecache.getline(frame.filename, frame.lineno).strip()
        where = f"{frame.filename}:{frame.lineno}" + (f" in {frame.function}" if frame.function != "?" else "")
        lines.append(f"{indent}{where}" + (f"  | {source}" if source else ""))
    if len(stack.frames) > depth:
        lines.append(f"{indent}...")
    return lines

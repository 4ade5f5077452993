"""pytest plugin: memory limits on tests, spelled as in pytest-memray, native memory included.

    pytest --memopt                      # every test measured, native allocations included
    pytest -p memopt.pytest_plugin       # when the plugin is not installed (PYTHONPATH=.../python)

    @pytest.mark.limit_memory("24 MB")            # 24 MiB, as pytest-memray reads it
    def test_predict(): ...

    @pytest.mark.limit_leaks("1 MB", filter_fn=None, current_thread_only=False)
    def test_no_leak(): ...

With --memopt, pytest runs again under `memopt record` (reexec.py) and each test body's
high-water mark is the whole process heap as the tracer counts it (malloc family and
anonymous mmap: C extensions, numpy, BLAS), read in process (native.py). Failures name the
blocks live at the high-water mark and the Python line that made each. Without --memopt the
marks still apply, measured by tracemalloc (Python allocations only), and the message says so.
docs/ci.md has the options and what matches pytest-memray and what differs.
"""
from __future__ import annotations

import argparse
import os

import pytest

from .manager import Manager
from .marks import marker_lines
from .reexec import CHILD_ENV, run_under_tracer
from .sizes import format_size, parse_limit
from .stacks import Stack, StackFrame

__all__ = ["Stack", "StackFrame", "parse_limit", "format_size"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _directory(text: str) -> str:
    """--memopt-bin-path: an existing writable directory, or one that can be made."""
    path = os.path.abspath(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path} is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot create directory {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{path} is not writable")
    return path


# Options pytest-memray spells the same way. When pytest-memray is loaded too, it owns them
# (argparse refuses the same option twice) and both plugins read the one value.
_SHARED = [
    (("--most-allocations",), dict(type=int, default=None, help="with --memopt, show the N tests whose bodies "
                                                                "used most memory (N=0 for all; default 5)")),
    (("--stacks",), dict(type=_positive_int, default=None, help="show N frames of each allocation's call "
                                                                "stack in failures (default 1)")),
    (("--native",), dict(action="store_true", default=None, help="also show native frames (C functions and "
                                                                 "libraries) of the blocks in failures")),
    (("--trace-python-allocators",), dict(action="store_true", default=None,
                                          help="accepted for pytest-memray suites; memopt always counts "
                                               "Python's allocator by the memory it takes from the system")),
    (("--fail-on-increase",), dict(action="store_true", default=None,
                                   help="fail a limit_memory test whose peak grew since its last successful "
                                        "run (kept in pytest's cache)")),
]


def pytest_addoption(parser, pluginmanager) -> None:
    group = parser.getgroup("memopt", "memory limits (memopt)")
    group.addoption("--memopt", action="store_true", default=None,
                    help="measure every test under the memopt tracer, native allocations included "
                         "(runs pytest again under `memopt record`)")
    group.addoption("--memopt-bin-path", type=_directory, default=None, metavar="DIR",
                    help="with --memopt, keep the trace (one phase per test) and per-test results in DIR")
    group.addoption("--hide-memopt-summary", action="store_true", default=None,
                    help="with --memopt, do not print the per-test summary at the end")
    memray_loaded = pluginmanager.has_plugin("memray")
    for names, settings in _SHARED:
        if not memray_loaded:
            group.addoption(*names, **settings)
    parser.addini("memopt", "measure every test (as --memopt)", type="bool")
    parser.addini("hide_memopt_summary", "hide the --memopt summary", type="bool")
    if not memray_loaded:
        parser.addini("most_allocations", "with --memopt, show the N tests that used most memory")
        parser.addini("stacks", "frames shown of each allocation's call stack", type="string")
        parser.addini("native", "also show native frames", type="bool")
        parser.addini("trace_python_allocators", "accepted for pytest-memray suites", type="bool")
        parser.addini("fail_on_increase", "as --fail-on-increase", type="bool")


def _needs_tracer(config, options) -> bool:
    """--memopt (or `memopt = true`) asked for, and no recording tracer in this process."""
    wanted = getattr(options, "memopt", None) or _ini_true(config, "memopt")
    if not wanted or os.environ.get(CHILD_ENV) or getattr(options, "help", False) or getattr(options, "version", False):
        return False
    from .native import NativeHeap
    heap = NativeHeap.find()
    return heap is None or not heap.recording


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, args):
    """The earliest point (before conftest.py files import the code under test, which would
    then be imported twice): when the plugin comes from -p or an entry point."""
    if not _needs_tracer(early_config, early_config.known_args_namespace):
        return
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # the child writes to the real terminal
    raise SystemExit(run_under_tracer(early_config, early_config.known_args_namespace.memopt_bin_path))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """The same, when the plugin came from a conftest.py (pytest_plugins = [...])."""
    if not _needs_tracer(config, config.option):
        return None
    return run_under_tracer(config, config.getoption("memopt_bin_path"))


def _ini_true(config, name: str) -> bool:
    try:
        return bool(config.getini(name))
    except (KeyError, ValueError):
        return False


def pytest_configure(config) -> None:
    for line in marker_lines():
        config.addinivalue_line("markers", line)
    config.pluginmanager.register(Manager(config), "memopt_manager")

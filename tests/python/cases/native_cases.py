# Run by test_plugin_native.py with --memopt: native memory counts toward the limit.
import ctypes
import os
import threading

import numpy
import pytest

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
MiB = 1 << 20


def fill_and_free(size):
    block = libc.malloc(size)
    libc.memset(block, 1, size)
    libc.free(block)


@pytest.mark.limit_memory("24 MB")
def test_native_malloc_over_limit():
    block = libc.malloc(200 * MiB)
    libc.memset(block, 1, 200 * MiB)
    libc.free(block)


@pytest.mark.limit_memory("24 MB")
def test_numpy_over_limit():
    total = numpy.ones(25 * MiB).sum()  # 200 MiB of float64, gone by the end
    assert total == 25 * MiB


@pytest.mark.limit_memory("24 MB")
def test_native_within_limit():
    fill_and_free(8 * MiB)


@pytest.mark.limit_memory("24 MB", current_thread_only=True)
def test_thread_only_ignores_other_threads():
    worker = threading.Thread(target=fill_and_free, args=(100 * MiB,))
    worker.start()
    worker.join()


@pytest.mark.limit_memory("24 MB")
def test_all_threads_counted():
    worker = threading.Thread(target=fill_and_free, args=(100 * MiB,))
    worker.start()
    worker.join()


@pytest.mark.limit_memory("24 MB", current_thread_only=True)
def test_thread_only_counts_its_own():
    fill_and_free(100 * MiB)


@pytest.mark.limit_memory("1 GB")
def test_grows_between_runs():
    fill_and_free(int(os.environ.get("CASE_MIB", "8")) * MiB)

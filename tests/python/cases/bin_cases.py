# Run by test_plugin_native.py with --memopt --memopt-bin-path: one trace per test, each with
# its own peak.
import ctypes

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


def test_native_100_mib():
    fill_and_free(100 * MiB)


@pytest.mark.parametrize("label", ["plain", "a/b::c[d]"])
def test_native_1_mib(label):
    fill_and_free(1 * MiB)

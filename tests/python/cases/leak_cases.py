# Run by test_plugin_native.py: limit_leaks, native and Python leaks.
import ctypes

import pytest

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
KEEP = []


@pytest.mark.limit_leaks("1 MB")
def test_native_leak():
    for _ in range(4):
        KEEP.append(libc.malloc(1 << 20))  # never freed


@pytest.mark.limit_leaks("1 MB")
def test_python_leak():
    for _ in range(2000):
        KEEP.append(bytearray(1024))


@pytest.mark.limit_leaks("1 MB")
def test_no_leak():
    for _ in range(4):
        libc.free(libc.malloc(1 << 20))
    data = [bytearray(1024) for _ in range(2000)]
    del data


def known_cache():
    KEEP.append(libc.malloc(4 << 20))


@pytest.mark.limit_leaks("1 MB", filter_fn=lambda stack: not any(f.function == "known_cache" for f in stack.frames))
def test_leak_filtered():
    known_cache()


@pytest.mark.limit_leaks("1 MB")
def test_local_block_is_not_a_leak():
    data = bytearray(8 << 20)  # freed when the body returns, although the plugin named its line
    assert data is not None

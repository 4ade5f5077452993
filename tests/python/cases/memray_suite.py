# A suite written for pytest-memray (its docs' spelling), run unchanged with memopt's plugin.
# The expected outcome of each test under pytest-memray is in its name.
import threading

import pytest

KEEP = []
MiB = 1 << 20


@pytest.mark.limit_memory("24 MB")
def test_pass_23_mib_under_24_mb():
    data = bytearray(23 * MiB)  # 24 MB is 24 MiB in pytest-memray (24.1e6 < 23 MiB < 24 MiB)
    assert len(data) == 23 * MiB


@pytest.mark.limit_memory("24 MB")
def test_fail_25_mib_over_24_mb():
    data = bytearray(25 * MiB)
    assert data


@pytest.mark.limit_memory("24 MB", current_thread_only=True)
def test_pass_other_thread_not_counted():
    worker = threading.Thread(target=lambda: bytearray(50 * MiB))
    worker.start()
    worker.join()


@pytest.mark.limit_memory("1 KB")
def test_fail_own_assertion_wins():
    KEEP.append(bytearray(MiB))
    assert False, "its own assertion"


@pytest.mark.limit_leaks("1 MB")
def test_fail_leak():
    for _ in range(3):
        KEEP.append(bytearray(MiB))


@pytest.mark.limit_leaks("1 MB", filter_fn=lambda stack: all("ignored" not in f.function for f in stack.frames))
def test_pass_leak_filtered():
    def ignored():
        KEEP.append(bytearray(3 * MiB))
    ignored()


@pytest.mark.limit_leaks("1 MB", current_thread_only=True)
def test_pass_no_leak():
    data = bytearray(3 * MiB)
    del data


class TestClassMarks:
    pytestmark = pytest.mark.limit_memory("2 MB")

    def test_fail_class_mark(self):
        KEEP.append(bytearray(3 * MiB))

    @pytest.mark.parametrize("size", [1, 4])
    def test_parametrized(self, size):
        data = bytearray(size * MiB // 2)
        assert data is not None


def test_pass_unmarked():
    KEEP.append(bytearray(30 * MiB))

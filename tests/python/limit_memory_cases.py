# Cases run by test_plugin.py in a child pytest, each with a known outcome.
import pytest

KEEP = []


@pytest.fixture
def big_fixture():
    return bytearray(40 * 10**6)  # fixtures are not part of the test body


@pytest.mark.limit_memory("24 MB")
def test_over_limit():
    data = bytearray(40 * 10**6)
    KEEP.append(data)


@pytest.mark.limit_memory("24 MB")
def test_over_limit_freed():
    data = [bytearray(10**6) for _ in range(40)]
    del data


@pytest.mark.limit_memory("24 MB")
def test_within_limit():
    data = bytearray(2 * 10**6)
    assert len(data) == 2 * 10**6


@pytest.mark.limit_memory("24 MB")
def test_fixture_not_counted(big_fixture):
    assert len(big_fixture) == 40 * 10**6


@pytest.mark.limit_memory(1000)
def test_bytes_limit():
    KEEP.append(bytearray(100_000))


@pytest.mark.limit_memory("24 MB")
def test_own_failure():
    KEEP.append(bytearray(40 * 10**6))
    assert False, "its own assertion"


def test_unmarked():
    KEEP.append(bytearray(40 * 10**6))

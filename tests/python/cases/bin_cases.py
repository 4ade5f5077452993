# Run by test_plugin_native.py with --memopt --memopt-bin-path: one trace per test, each with
# its own peak.
import pytest

from native_cases import MiB, fill_and_free  # the same native allocation helper


def test_native_100_mib():
    fill_and_free(100 * MiB)


@pytest.mark.parametrize("label", ["plain", "a/b::c[d]"])
def test_native_1_mib(label):
    fill_and_free(1 * MiB)

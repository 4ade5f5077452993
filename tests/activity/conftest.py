"""Shared set-up of the activity tests: the example's folder on sys.path, the native binary."""
import os
import sys

import pytest

EXAMPLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                       "activity"))
sys.path.insert(0, EXAMPLE)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def native():
    """Path of activity_predict (CTest passes it in ACTIVITY_PREDICT)."""
    path = os.environ.get("ACTIVITY_PREDICT", "")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("set ACTIVITY_PREDICT to the built activity_predict binary")
    return path

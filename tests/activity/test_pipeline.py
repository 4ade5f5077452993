"""app.py, train.py, export_model.py and the native predictor, end to end on small data."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import generate
from conftest import EXAMPLE

PYTHON = "/usr/bin/python3"


def run(*args, cwd=None):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def script(name):
    return os.path.join(EXAMPLE, name)


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A small forest (5 trees) trained and exported once, and the paper-size recording."""
    work = tmp_path_factory.mktemp("activity")
    trained = run(PYTHON, script("train.py"), "-o", work / "model.joblib",
                  "--train-rows", 256_000, "--test-rows", 64_000, "--trees", 5)
    assert trained.returncode == 0, trained.stderr
    exported = run(PYTHON, script("export_model.py"), work / "model.joblib",
                   "-o", work / "model.forest")
    assert exported.returncode == 0, exported.stderr
    generated = run(PYTHON, script("generate.py"), "-o", work / "recording.csv")
    assert generated.returncode == 0, generated.stderr
    return work


def test_trainer_reports_a_realistic_held_out_accuracy(work):
    summary = json.loads((work / "model.json").read_text())
    assert summary["trees"] == 5 and summary["nodes"] > 1000
    assert summary["chance"] < 0.3 < 0.6 < summary["test_accuracy"] < 1.0


def test_python_and_native_features_agree(work, native):
    result = run(native, work / "recording.csv", work / "model.forest", work / "p.csv",
                 "--features", work / "features.csv")
    assert result.returncode == 0, result.stderr
    import app
    expected = app.compute_features(pd.read_csv(work / "recording.csv"))
    got = np.loadtxt(work / "features.csv", delimiter=",")
    assert got.shape == expected.shape == (1544, 15)
    scale = np.maximum(np.abs(expected), 1e-300)
    assert np.max(np.abs(got - expected) / scale) <= 1e-9
    assert np.array_equal(got, expected)  # in fact bit for bit (docs/activity-features.md)


def test_native_predictions_equal_app_py_at_the_papers_size(work, native):
    app_run = run(PYTHON, script("app.py"), "recording.csv", "model.joblib", "app.csv",
                  cwd=work)
    assert app_run.returncode == 0, app_run.stderr
    native_run = run(native, "recording.csv", "model.forest", "native.csv", cwd=work)
    assert native_run.returncode == 0, native_run.stderr
    app_lines = (work / "app.csv").read_text().splitlines()
    assert app_lines[0] == "block,label" and len(app_lines) == 1545
    assert (work / "native.csv").read_bytes() == (work / "app.csv").read_bytes()
    # and both are what scikit-learn predicts for the whole feature matrix at once
    import app
    import joblib
    model = joblib.load(work / "model.joblib")
    features = app.compute_features(pd.read_csv(work / "recording.csv"))
    labels = [int(line.split(",")[1]) for line in app_lines[1:]]
    assert labels == list(model.predict(features))


def test_native_batches_and_a_partial_last_block(work, native, tmp_path):
    xyz, label = generate.generate(128 * 10 + 50, seed=21)
    generate.write_recording(str(tmp_path / "r.csv"), xyz, label)
    app_run = run(PYTHON, script("app.py"), tmp_path / "r.csv", work / "model.joblib",
                  tmp_path / "app.csv")
    assert app_run.returncode == 0, app_run.stderr
    for batch in ("1", "3", "1000"):
        out = tmp_path / f"native{batch}.csv"
        result = run(native, tmp_path / "r.csv", work / "model.forest", out, "--batch", batch)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == (tmp_path / "app.csv").read_bytes()
        assert len(out.read_text().splitlines()) == 11


def test_malformed_recording_is_named_with_its_line(work, native, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("seq,x,y,z,label\n0,1,2,3,1\n1,2,3,4,1,9\n")
    result = run(native, bad, work / "model.forest", tmp_path / "out.csv")
    assert result.returncode == 2
    assert result.stderr == f"activity_predict: {bad}:3: expected 5 fields seq,x,y,z,label, found 6\n"
    app_run = run(PYTHON, script("app.py"), bad, work / "model.joblib", tmp_path / "o.csv")
    assert app_run.returncode != 0 and "line 3" in app_run.stderr  # pandas' own message


def test_missing_files_give_clear_errors(work, native, tmp_path):
    missing = tmp_path / "missing.forest"
    result = run(native, work / "recording.csv", missing, tmp_path / "out.csv")
    assert result.returncode == 2
    assert result.stderr == \
        f"activity_predict: {missing}: cannot open model: No such file or directory\n"
    result = run(native, tmp_path / "none.csv", work / "model.forest", tmp_path / "out.csv")
    assert result.returncode == 2 and "none.csv: cannot open: No such file" in result.stderr

    app_run = run(PYTHON, script("app.py"), work / "recording.csv", tmp_path / "none.joblib",
                  tmp_path / "o.csv")
    assert app_run.returncode != 0 and "none.joblib" in app_run.stderr
    export = run(PYTHON, script("export_model.py"), tmp_path / "none.joblib", "-o",
                 tmp_path / "m.forest")
    assert export.returncode == 2
    assert export.stderr == f"export_model.py: {tmp_path / 'none.joblib'}: No such file or directory\n"


def test_exported_file_layout(work):
    data = (work / "model.forest").read_bytes()
    assert data[:8] == b"MOFOREST"
    version, features, classes, trees = np.frombuffer(data[8:24], "<u4")
    assert (version, features, classes, trees) == (1, 15, 6, 5)
    assert list(np.frombuffer(data[24:48], "<i4")) == [1, 2, 3, 4, 5, 6]

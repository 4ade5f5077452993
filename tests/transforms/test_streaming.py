"""static-to-dynamic part (a): whole-file tables processed in blocks become streams.
Before/after source on small inputs, refusals, and output equality on the activity app."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from memopt.transforms import dead_data, flatten, static_to_dynamic
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Not the activity app: other names, another block size, two columns, a module-level load.
WINDOWED = """\
    import sys
    import numpy as np
    import pandas as pd

    WINDOW = 4
    SIGNALS = ("a", "b")

    def spread(rows):
        low = rows.min(axis=1)
        return np.column_stack([rows.max(axis=1) - low, np.abs(rows[:, 1:] - rows[:, :-1]).sum(axis=1)])

    def summarize(table):
        count = len(table) // WINDOW
        parts = []
        for name in SIGNALS:
            v = table[name].to_numpy(dtype=np.float64)[: count * WINDOW]
            parts.append(spread(v.reshape(count, WINDOW)))
        return np.hstack(parts)

    table = pd.read_csv(sys.argv[1])
    print("rows", len(table))
    stats = summarize(table)
    print(stats.shape, repr(stats.sum()), repr(stats[-1].tolist()) if len(stats) else "-")
    np.savetxt("stats.txt", stats, fmt="%.17g")
    """


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def run(script, *args, cwd):
    r = subprocess.run([PY, script, *args], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def table(path, rows, quoted=False):
    rng = np.random.default_rng(rows)
    with open(path, "w") as f:
        f.write("a,b,c\n")
        for i in range(rows):
            a = f'"{rng.normal():.6f}"' if quoted and i == 7 else f"{rng.normal():.6f}"
            f.write(f"{a},{rng.integers(0, 4096)},{i}\n")
    return str(path)


def same_outputs(tmp_path, original, transformed, data):
    for name, script in (("a", original), ("b", transformed)):
        (tmp_path / name).mkdir(exist_ok=True)
        out = run(script, data, cwd=tmp_path / name)
        (tmp_path / name / "stdout").write_text(out)
    for name in ("stdout", "stats.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("rows,quoted", [(5003, False), (4096, False), (3, False), (0, False), (999, True)])
def test_streams_blockwise_load(tmp_path, rows, quoted):
    src = write(tmp_path / "s.py", WINDOWED)
    report = static_to_dynamic.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "table = _MemoptCsvStream(pd.read_csv, sys.argv[1])" in out
    assert "stats = _memopt_blockwise(summarize, table, WINDOW, ['a', 'b'])" in out
    assert any("streamed: 2048 rows (512 blocks)" in c for c in report.changes)
    assert "table = pd.read_csv(sys.argv[1])" in (tmp_path / "s.py").read_text()  # input untouched
    # several pieces and a partial last block (5003), exact pieces (4096), no complete
    # block (3), an empty table (0), a quoted value: the fallback to the whole read (999)
    same_outputs(tmp_path, src, str(tmp_path / "out" / "s.py"), table(tmp_path / "t.csv", rows, quoted))


def test_streams_after_flatten_and_keeps_dead_data_working(tmp_path):
    src = write(tmp_path / "s.py", WINDOWED)
    flatten.run(src, str(tmp_path / "f"))
    static_to_dynamic.run(str(tmp_path / "f" / "s.py"), str(tmp_path / "g"))
    out = (tmp_path / "g" / "s.py").read_text()
    assert "_MemoptCsvStream(pd.read_csv, sys.argv[1])" in out and "pd = _MemoptPandas" in out
    dead_data.run(str(tmp_path / "g" / "s.py"), str(tmp_path / "h"))
    same_outputs(tmp_path, src, str(tmp_path / "h" / "s.py"), table(tmp_path / "t.csv", 1030))


@pytest.mark.parametrize("old,new", [
    # blocks depend on each other: a running sum over the whole column
    ("v = table[name].to_numpy(dtype=np.float64)[: count * WINDOW]",
     "v = np.cumsum(table[name].to_numpy(dtype=np.float64))[: count * WINDOW]"),
    # a statistic over all blocks
    ("low = rows.min(axis=1)", "low = rows.min()"),
    # the number of blocks used as a value
    ("low = rows.min(axis=1)", "low = rows.min(axis=1) / rows.shape[0]"),
    # the last partial block kept (blocks of different sizes)
    ("count = len(table) // WINDOW", "count = -(-len(table) // WINDOW)"),
    # an effect per call
    ("low = rows.min(axis=1)", "low = rows.min(axis=1); print(low)"),
    # the data used elsewhere
    ('print("rows", len(table))', 'print("rows", len(table), table["c"].sum())'),
    # the file may change before the blocks are read
    ('print("rows", len(table))', 'print("rows", len(table)); open(sys.argv[1], "a").close()'),
], ids=["cumsum", "global-min", "block-count", "partial-block", "print", "used-elsewhere", "write"])
def test_refuses_when_not_provably_blockwise(tmp_path, old, new):
    text = textwrap.dedent(WINDOWED)
    assert old in text
    src = write(tmp_path / "s.py", text.replace(old, new))
    with pytest.raises(PassRefused) as e:
        static_to_dynamic.run(src, str(tmp_path / "out"))
    assert "not streamed: pd.read_csv (line" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_reports_loads_it_leaves_alone(tmp_path):
    src = write(tmp_path / "s.py", """\
        import sys
        import numpy as np
        x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
        print(x.sum())
        """)
    with pytest.raises(PassRefused) as e:
        static_to_dynamic.run(src, str(tmp_path / "out"))
    assert "not streamed: np.loadtxt (line 3): loadtxt arrays are not streamed" in str(e.value)


@pytest.fixture(scope="module")
def activity(tmp_path_factory):
    d = tmp_path_factory.mktemp("activity")
    ex = os.path.join(SOURCE, "examples", "activity")
    # 6500 rows: 50 blocks and a partial one; several pieces of 2048 rows
    subprocess.run([PY, os.path.join(ex, "generate.py"), "-o", str(d / "rec.csv"), "--rows", "6500"], check=True,
                   capture_output=True)
    subprocess.run([PY, os.path.join(ex, "train.py"), "-o", str(d / "model.joblib"), "--train-rows", "25600",
                    "--test-rows", "2560", "--trees", "3"], check=True, capture_output=True)
    return d


def test_activity_app_streamed_outputs_identical(activity, tmp_path):
    app = os.path.join(SOURCE, "examples", "activity", "app.py")
    report = static_to_dynamic.run(app, str(tmp_path / "s2d"))
    assert any("read whole into data" in c and "compute_features" in c for c in report.changes)
    dead_data.run(str(tmp_path / "s2d" / "app.py"), str(tmp_path / "dd"))
    flatten.run(str(tmp_path / "dd" / "app.py"), str(tmp_path / "fl"))
    args = [str(activity / "rec.csv"), str(activity / "model.joblib"), "pred.csv"]
    (tmp_path / "orig").mkdir()
    expected = run(app, *args, cwd=tmp_path / "orig")
    for step in ("s2d", "fl"):
        (tmp_path / ("run-" + step)).mkdir()
        assert run(str(tmp_path / step / "app.py"), *args, cwd=tmp_path / ("run-" + step)) == expected
        assert (tmp_path / ("run-" + step) / "pred.csv").read_bytes() == (tmp_path / "orig" / "pred.csv").read_bytes()

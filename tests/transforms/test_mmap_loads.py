"""dead-data's read-only maps (mmap_loads.py, runtime/_memopt_npy.py): `x = np.load(path)` of an
array never written is mapped; every kind of write keeps the load; the runtime falls back to
np.load for anything that is not a mappable .npy file; a write we cannot see raises."""
import io
import os
import subprocess

import numpy as np
import pytest

from memopt.transforms import dead_data
from memopt.transforms.common import runtime_source
from test_soundness import assert_same_or_refused, transformed

PY = "/usr/bin/python3"


def npy(values):
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()


DATA = {"d.npy": npy(np.arange(12.0).reshape(3, 4))}


def test_a_never_written_array_is_mapped_with_the_same_values_and_type(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        x = np.load("d.npy")
        row = x[1]
        print(x.sum(), x[:2], repr(row), type(x).__name__, x.dtype, x.shape)
        print(np.sqrt(x).max(), (x * 2).mean(), [float(r.sum()) for r in x])
        """, DATA)
    assert "x = _memopt_load_npy(np.load, 'd.npy')" in text
    assert any("maps the .npy file read-only" in c and "x is never written in place" in c for c in report.changes)


@pytest.mark.parametrize("write, why", [
    ("x[0, 0] = 5", "item or attribute assignment"),
    ("x += 1", "augmented assignment"),
    ("x.sort()", ".sort() writes in place"),
    ("x.fill(0)", ".fill() writes in place"),
    ("np.add(x, 1, out=x)", "out= argument"),
    ("np.add(x, 1, x)", "positional output"),
    ("np.sqrt(x, x)", "positional output"),
    ("np.copyto(x, 0)", "writes its first argument"),
    ("v = x[1:]\nv[0] = 3", "item or attribute assignment"),
    ("v = x.T.reshape(-1)\nv.sort()", ".sort() writes in place"),
    ("for r in x:\n    r[0] = 1", "item or attribute assignment"),
    ("def zero(a):\n    a[:] = 0\nzero(x)", "in zero(): item or attribute assignment"),
    ("print(x.flags.writeable)", ".flags tells a map"),
    ("from sklearn.preprocessing import StandardScaler\nStandardScaler(copy=False).fit(x)", "copy=False"),
    ("np.save('d.npy', x * 2)", "np.save() is given the same path"),
    ("x.T[0] = 1", "item or attribute assignment"),
])
def test_load_kept_when_the_array_may_be_written(tmp_path, write, why):
    report, text = assert_same_or_refused(tmp_path, dead_data, "import numpy as np\nx = np.load('d.npy')\n"
                                          + write + "\nprint(x.sum())\n", DATA)
    said = report.changes if report else [text]
    assert report is None or "_memopt_load_npy" not in text
    assert any("np.load kept" in c and why in c for c in said), said


def test_load_kept_with_options_or_dynamic_names(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        a = np.load("d.npy", allow_pickle=False)
        b = np.load("d.npy")
        print(a.sum(), eval("b").sum())
        """, DATA)
    said = report.changes if report else [text]
    assert report is None or "_memopt_load_npy" not in text
    assert any("arguments other than one path" in c for c in said) and any("dynamically" in c for c in said)


def test_a_write_inside_a_library_raises_instead_of_changing_the_array(tmp_path):
    """The condition's other half: a write we cannot see fails the run (the differential
    check then rejects the step), it never changes a value silently."""
    report, _, original, rewritten = transformed(tmp_path, dead_data, """\
        import numpy as np
        x = np.load("d.npy")
        np.random.default_rng(0).shuffle(x)
        print(x.sum())
        """, DATA)
    assert original[0] == 0 and rewritten[0] != 0
    assert "read-only" in rewritten[3]


def _helper():
    scope = {}
    exec(runtime_source("_memopt_npy.py"), scope)
    return scope["_memopt_load_npy"]


def test_runtime_falls_back_to_np_load_for_what_it_cannot_map(tmp_path):
    load = _helper()
    np.savez(tmp_path / "z.npz", a=np.ones(3))
    np.save(tmp_path / "o.npy", np.array([{"k": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "e.npy", np.zeros((0, 3), dtype=np.int32))
    mapped = load(np.load, str(tmp_path / "e.npy"))
    assert type(mapped) is np.ndarray and mapped.shape == (0, 3) and mapped.dtype == np.int32
    assert not mapped.flags.writeable
    assert list(load(np.load, tmp_path / "z.npz")["a"]) == [1, 1, 1]  # a PathLike .npz: np.load's NpzFile
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load(np.load, str(tmp_path / "o.npy"))  # the error np.load gives
    with open(tmp_path / "e.npy", "rb") as f:
        assert load(np.load, f).shape == (0, 3)  # a file object: np.load itself
    with pytest.raises(FileNotFoundError):
        load(np.load, str(tmp_path / "missing.npy"))
    with pytest.raises(IsADirectoryError):
        load(np.load, str(tmp_path))  # not a regular file: np.load's own error


def test_mapping_saves_the_pages_never_read(tmp_path):
    """A 64 MB array of which the program reads one row: the mapped program never reads the
    rest (peak RSS over 32 MB lower); a memory figure, not a time: stable on a loaded machine."""
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "big.npy", np.ones((8000, 1000)))
    (tmp_path / "in" / "app.py").write_text("import numpy as np\nx = np.load('big.npy')\nprint(x[0].sum())\n")
    dead_data.run(str(tmp_path / "in" / "app.py"), str(tmp_path / "out"))
    os.symlink(tmp_path / "in" / "big.npy", tmp_path / "out" / "big.npy")
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from this (large) pytest process
    peak = ("import re, runpy; runpy.run_path('app.py'); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    original = subprocess.run([PY, "-c", peak], cwd=tmp_path / "in", capture_output=True, text=True,
                              check=True).stdout.split()
    mapped = subprocess.run([PY, "-c", peak], cwd=tmp_path / "out", capture_output=True, text=True,
                            check=True).stdout.split()
    assert original[0] == mapped[0] == "1000.0"
    assert int(original[1]) - int(mapped[1]) > 32_000, (original, mapped)


def test_load_kept_inside_a_loop(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        kept = []
        for _ in range(3):
            x = np.load("d.npy")
            kept.append(x)
        print(sum(k.sum() for k in kept))
        """, DATA)
    said = report.changes if report else [text]
    assert report is None or "_memopt_load_npy" not in text
    assert any("np.load kept" in c and "inside a loop" in c for c in said), said


def test_a_view_of_a_load_is_mapped_and_its_writes_keep_it(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        head = np.load("d.npy")[:2]
        col = np.load("d.npy").T[0]
        col[0] = 7
        print(head.sum(), col)
        """, DATA)
    assert "head = _memopt_load_npy(np.load, 'd.npy')[:2]" in text
    assert "col = np.load('d.npy').T[0]" in text or 'col = np.load("d.npy").T[0]' in text  # kept as written
    assert any("np.load kept: col = " in c and "item or attribute assignment" in c for c in report.changes)

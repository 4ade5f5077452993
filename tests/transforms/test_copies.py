"""dead-data: copies never mutated become the original; mutations or leaks keep the copy."""
import subprocess
import textwrap

import pytest

from memopt.transforms import dead_data
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"

PROGRAM = """\
    import numpy as np

    def main():
        a = np.arange(12.0).reshape(3, 4)
        b = a.copy()
        names = [str(i) for i in range(3)]
        kept = list(names)
        print(b.sum(axis=1), b[1].mean(), b.shape, len(kept), kept[0], f"{a[0, 0]}")
        print(np.sqrt(b).max() + a.min(), sorted(kept))
        {mutation}

    main()
    """


def source(mutation="pass"):
    return textwrap.dedent(PROGRAM).replace("{mutation}", mutation)


def transform(tmp_path, text):
    src = tmp_path / "s.py"
    src.write_text(text)
    report = dead_data.run(str(src), str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    run = lambda p: subprocess.run([PY, str(p)], capture_output=True, text=True, check=True).stdout
    assert run(tmp_path / "out" / "s.py") == run(src)
    return report, out


def test_copies_never_mutated_become_the_original(tmp_path):
    report, out = transform(tmp_path, source())
    assert "b = a\n" in out and "a.copy()" not in out
    assert "kept = names\n" in out
    assert any("copy never mutated: b = a.copy() (line 5) -> b = a" in c for c in report.changes)
    assert any("copy never mutated: kept = list(names)" in c for c in report.changes)


@pytest.mark.parametrize("mutation,why", [
    ("b += 1", "augmented assignment"),
    ("b[0, 0] = 5", "item assignment"),
    ("a[:, 1] = 0", "item assignment"),
    ("b.fill(0)", ".fill() may change it"),
    ("kept.append('x')", ".append() may change it"),
    ("np.sqrt(a, a)", "passed to np.sqrt()"),
    ("print(id(b) == id(a))", "passed to id()"),
    ("helper = max; helper(b.tolist()); sorted(b.ravel()); print(b is a)", "compare"),
    ("v = b.reshape(-1); v[0] = 1", "assign"),
    ("len(kept.copy()); store = {'k': kept}; print(len(store))", "dict"),
    ("unknown = print; unknown(b)", "passed to unknown()"),
])
def test_copy_kept_when_mutated_or_leaked(tmp_path, mutation, why):
    text = source(mutation)
    src = tmp_path / "s.py"
    src.write_text(text)
    try:
        report = dead_data.run(str(src), str(tmp_path / "out"))
        notes = report.changes
        out = (tmp_path / "out" / "s.py").read_text()
    except PassRefused as e:
        notes, out = [str(e)], text
    variable = "kept" if "kept" in mutation else "b"
    original = "list(names)" if variable == "kept" else "a.copy()"
    assert f"{variable} = {original}" in out
    assert any("copy kept" in n and why in n for n in notes), notes

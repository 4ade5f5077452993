"""Unit tests of the Python passes on small inputs: before/after source and refusals."""
import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier

from memopt.transforms import dead_data, flags, flatten, static_to_dynamic
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def run(script, *args, cwd):
    return subprocess.run([PY, script, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_dead_data_removes_unused_imports_and_dels_after_last_use(tmp_path):
    src = write(tmp_path / "s.py", """\
        import os
        import json
        import numpy as np

        def main():
            big = np.ones(1000)
            total = big.sum()
            print(json.dumps(float(total)))
            print("done")

        main()
        """)
    report = dead_data.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "import os" not in out and "import json" in out
    assert "del big" in out
    assert any("removed unused import os" in c for c in report.changes)
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == run(src, cwd=tmp_path)
    assert (tmp_path / "s.py").read_text().startswith("import os")  # input untouched


def test_dead_data_usecols_only_for_constant_column_reads(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    src = write(tmp_path / "s.py", """\
        import pandas as pd
        COLS = ["a", "c"]
        def total(frame):
            return sum(frame[c].sum() for c in COLS)
        data = pd.read_csv("t.csv")
        print(len(data), total(data))
        """)
    dead_data.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "usecols=['a', 'c']" in out
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == run(src, cwd=tmp_path)


def test_dead_data_refuses_dynamic_programs(tmp_path):
    src = write(tmp_path / "s.py", "import os\nprint(globals()['os'])\n")
    with pytest.raises(PassRefused):
        dead_data.run(src, str(tmp_path / "out"))


@pytest.mark.parametrize("model", [
    RandomForestClassifier(n_estimators=5, random_state=0),
    DecisionTreeClassifier(random_state=0),
    RandomForestRegressor(n_estimators=4, random_state=0),
    ExtraTreesRegressor(n_estimators=3, random_state=0),
])
def test_static_to_dynamic_predictions_identical(tmp_path, model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) if "Classifier" in type(model).__name__ else X[:, 0] * 3
    joblib.dump(model.fit(X, y), tmp_path / "m.joblib")
    np.save(tmp_path / "x.npy", rng.normal(size=(50, 4)))
    src = write(tmp_path / "s.py", """\
        import joblib
        import numpy as np
        m = joblib.load("m.joblib")
        x = np.load("x.npy")
        print(repr(m.predict(x).tolist()))
        if hasattr(m, "classes_"):
            print(repr(m.predict_proba(x).tolist()))
        """)
    report = static_to_dynamic.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "m = _memopt_load_model('m.joblib')" in out and "\nimport joblib\n" not in out
    assert report.applied
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == run(src, cwd=tmp_path)
    # second run reads the cached store
    assert os.path.isdir(tmp_path / "out" / "_memopt_store")
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == run(src, cwd=tmp_path)


def test_static_to_dynamic_refuses_without_model(tmp_path):
    src = write(tmp_path / "s.py", "print(1)\n")
    with pytest.raises(PassRefused):
        static_to_dynamic.run(src, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_flatten_replaces_pandas_and_refuses_other_uses(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1.5,2.5\n3.0,4\n")
    src = write(tmp_path / "s.py", """\
        import pandas as pd
        d = pd.read_csv("t.csv")
        print(d["a"].to_numpy().sum(), len(d))
        pd.DataFrame({"x": d["b"].to_numpy()}).to_csv("o.csv", index=False)
        """)
    flatten.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "\nimport pandas as pd\n" not in out
    expected = run(src, cwd=tmp_path)
    reference = (tmp_path / "o.csv").read_text()
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == expected
    assert (tmp_path / "o.csv").read_text() == reference
    other = write(tmp_path / "u.py", "import pandas as pd\nprint(pd.concat([]))\n")
    with pytest.raises(PassRefused):
        flatten.run(other, str(tmp_path / "out2"))


def test_flatten_inlines_helper_module(tmp_path):
    write(tmp_path / "helper.py", "def twice(x):\n    return 2 * x\n")
    src = write(tmp_path / "s.py", "import helper\nprint(helper.twice(2))\n")
    report = flatten.run(src, str(tmp_path / "out"))
    out = (tmp_path / "out" / "s.py").read_text()
    assert "import helper" not in out and "def twice" in out
    assert any("inlined local module" in c for c in report.changes)
    assert run(str(tmp_path / "out" / "s.py"), cwd=tmp_path) == "4\n"


def test_flags_writes_launcher_or_refuses(tmp_path):
    src = write(tmp_path / "s.py", "print('hi')\n")
    with pytest.raises(PassRefused):
        flags.run(src, str(tmp_path / "out"), {})
    report = flags.run(src, str(tmp_path / "out"), {"python_flags": ["-OO"], "env": {"OMP_NUM_THREADS": "1"}})
    out = (tmp_path / "out" / "s.py").read_text()
    assert out.startswith("#!/usr/bin/env -S OMP_NUM_THREADS=1 /usr/bin/python3 -OO")
    assert "setdefault('OMP_NUM_THREADS', '1')" in out
    assert (tmp_path / "out" / "run.sh").exists() and report.applied

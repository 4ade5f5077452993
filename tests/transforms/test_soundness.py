"""Adversarial programs for the passes' safety conditions (issue 13, items 5 and 6).

Each case runs the original and the rewritten program on small data, each in its own copy
of the inputs, and asserts identical stdout, exit status and files — or that the pass
refused with a message naming why."""
import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from memopt.transforms import dead_data, flatten, static_to_dynamic
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"
RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "python", "memopt", "transforms", "runtime")


def _run_in_copy(program, inputs, workdir):
    """Runs `program` in a fresh copy of `inputs`; (status, stdout, {file: bytes})."""
    os.makedirs(workdir)
    for name in os.listdir(inputs):
        if os.path.isfile(os.path.join(inputs, name)) and not name.endswith(".py"):
            shutil.copy2(os.path.join(inputs, name), workdir)
    r = subprocess.run([PY, program], cwd=workdir, capture_output=True, text=True, timeout=120)
    files = {n: open(os.path.join(workdir, n), "rb").read() for n in sorted(os.listdir(workdir))}
    return r.returncode, r.stdout, files, r.stderr


def transformed(tmp_path, module, source, data=None):
    """(report or None, refusal message or '', original run, rewritten run or None)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, content in (data or {}).items():
        (inputs / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    script = inputs / "app.py"
    script.write_text(textwrap.dedent(source))
    try:
        report = module.run(str(script), str(tmp_path / "out"))
    except PassRefused as e:
        return None, str(e), None, None
    original = _run_in_copy(str(script), str(inputs), str(tmp_path / "run-original"))
    rewritten = _run_in_copy(str(tmp_path / "out" / "app.py"), str(inputs), str(tmp_path / "run-rewritten"))
    return report, "", original, rewritten


def assert_same_or_refused(tmp_path, module, source, data=None, refusal=None):
    report, why, original, rewritten = transformed(tmp_path, module, source, data)
    if report is None:
        assert refusal is None or refusal in why, why
        return None, why
    assert original[0] == 0, original[3]
    assert rewritten[:3] == original[:3], (rewritten[3], (tmp_path / "out" / "app.py").read_text())
    return report, (tmp_path / "out" / "app.py").read_text()


# --- dead-data: dynamic scope blocks del ---------------------------------------------------

@pytest.mark.parametrize("dynamic", [
    'print(eval("big[3]"))',
    'exec("print(len(big))")',
    'print(sorted(k for k in locals() if not k.startswith("_")))',
    'print(vars()["big"][2])',
    'name = "bi" + "g"; print(sys._getframe().f_locals[name][1])',
])
def test_del_not_inserted_in_a_function_using_dynamic_scope(tmp_path, dynamic):
    report, text = assert_same_or_refused(tmp_path, dead_data, f"""\
        import sys
        import numpy as np

        def main():
            big = np.arange(10)
            total = big.sum()
            print(total)
            {dynamic}

        main()
        """)
    said = report.changes if report else [text]  # refused: nothing else to remove
    assert report is None or "del big" not in text
    assert any("no del" in c and ("main()" in c or "frames" in c) for c in said), said


@pytest.mark.parametrize("dynamic", [
    'print(globals()["big"].size)',
    'print(eval("big.size"))',
    'print(getattr(sys.modules[__name__], "bi" + "g").size)',
    'print(sys.modules[__name__].__dict__["big"].size)',
])
def test_del_not_inserted_at_module_level_when_globals_are_reached(tmp_path, dynamic):
    report, text = assert_same_or_refused(tmp_path, dead_data, f"""\
        import sys
        import numpy as np

        def show():
            {dynamic}

        big = np.ones(5)
        s = big.sum()
        print(s)
        show()
        """)
    assert "del big" not in (text or "")


def test_del_not_inserted_for_resources_or_finalizers(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        out = open("o.txt", "w")
        out.write("x")
        print(repr(open("o.txt").read()))
        print("end")
        """)
    assert "del out" not in (text or "")


def test_del_not_inserted_for_what_a_function_returning_a_file_returns(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import os

        def writer(path):
            return open(path, "w")

        def main():
            out = writer("o.txt")
            out.write("x")
            print(repr(open("o.txt").read()))
            print("end")

        main()
        """)
    assert "del out" not in text


def test_copy_kept_when_eval_can_change_the_original(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np

        def main():
            a = np.arange(4)
            b = a.copy()
            eval("a.fill(0)")
            print(b.tolist())

        main()
        """)
    assert "b = a.copy()" in text if report else "copies kept in main()" in text, text


# --- dead-data: usecols sees every store ---------------------------------------------------

TABLE = "a,b,c\n1,2,3\n4,5,6\n7,8,9\n"


STORES = ['COLS[0] = "b"', 'COLS.append("b")', 'COLS.extend(["b"])', 'COLS.insert(0, "b")', 'COLS += ["b"]',
          'alias = COLS; alias[0] = "b"', 'grow(COLS)', 'def rebind():\n    global COLS\n    COLS = ["b"]\nrebind()',
          'for COLS in [["b"]]: pass', '(COLS := ["b"])', '*COLS, = ["b"]', 'del COLS; COLS = ["b"]',
          'import contextlib\nwith contextlib.nullcontext(["b"]) as COLS: pass']


def _column_list_program(store):
    store = textwrap.indent(store, "        ").lstrip()
    return f"""\
        import pandas as pd
        COLS = ["a"]

        def grow(names):
            names.append("b")

        if len(COLS) > 5:
            pass
        {store}
        data = pd.read_csv("t.csv")
        for c in COLS:
            print(c, data[c].sum())
        print(len(data))
        """


@pytest.mark.parametrize("store", STORES)
def test_usecols_not_added_when_the_column_list_may_change(tmp_path, store):
    src = tmp_path / "app.py"
    src.write_text(textwrap.dedent(_column_list_program(store)))
    try:
        dead_data.run(str(src), str(tmp_path / "out"))
        text = (tmp_path / "out" / "app.py").read_text()
    except PassRefused as e:
        text = str(e)
    assert "usecols=" not in text, text


@pytest.mark.parametrize("store", [STORES[0], STORES[1], STORES[9]])
def test_column_list_changes_keep_the_output(tmp_path, store):
    report, text = assert_same_or_refused(tmp_path, dead_data, _column_list_program(store), {"t.csv": TABLE})
    assert "usecols=" not in text


@pytest.mark.parametrize("loop", [
    'for c in COLS:\n    c = "b"\n    print(data[c].sum())',
    'for c in ["a"]:\n    print(data[c].sum())\nfor c in ["b"]:\n    print(data[c].sum())',
    'def f(c):\n    return data[c].sum()\nfor c in COLS:\n    print(f("b"))',
])
def test_usecols_gives_up_when_a_loop_variable_is_rebound(tmp_path, loop):
    loop = textwrap.indent(loop, "        ").lstrip()
    report, text = assert_same_or_refused(tmp_path, dead_data, f"""\
        import pandas as pd
        COLS = ["a"]
        data = pd.read_csv("t.csv")
        {loop}
        """, {"t.csv": TABLE})


def test_usecols_gives_up_when_columns_are_named_dynamically(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import pandas as pd
        data = pd.read_csv("t.csv")
        print(data["a"].sum(), eval('data["b"].sum()'))
        """, {"t.csv": TABLE})
    assert "usecols=" not in text and "usecols: not added, names are reached dynamically (eval()" in text


def test_usecols_still_added_for_a_list_only_read(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import pandas as pd
        COLS = ["c", "a"]
        data = pd.read_csv("t.csv")
        print(len(COLS), "a" in COLS, COLS[0])
        for c in COLS:
            print(c, data[c].sum())
        """, {"t.csv": TABLE})
    assert "usecols=['a', 'c']" in text


# --- flatten: the pandas stand-in ----------------------------------------------------------

MIXED = "a,b,c\n1,2.5,3\n4,5,6\n7,8.25,9\n"


def test_flatten_falls_back_to_pandas_for_what_numpy_shares(tmp_path):
    report, text = assert_same_or_refused(tmp_path, flatten, """\
        import numpy as np
        import pandas as pd
        d = pd.read_csv("t.csv")
        for r in (d["a"].sum(), d["b"].mean(), d["a"] * 2, np.sqrt(d["b"]), getattr(d["b"], "describe")(),
                  d["a"].value_counts()):
            print(repr(r), isinstance(r, np.generic))
        pd.DataFrame({"x": d["b"].to_numpy(), "y": d["a"].to_numpy()}).to_csv("o.csv", index=False)
        """, {"t.csv": MIXED})
    assert report is not None and "\nimport pandas as pd\n" not in text


@pytest.mark.parametrize("use,name", [('d.describe()', "describe"), ('d.groupby("a")["b"].sum()', "groupby"),
                                      ('d.iloc[1]', "iloc"), ('d["b"].iloc[0]', "iloc"), ('list(d.columns)', "columns"),
                                      ('isinstance(d, pd.DataFrame)', "other than by calling"),
                                      ('type(d).__name__', "type()")])
def test_flatten_refuses_pandas_only_uses(tmp_path, use, name):
    report, why = assert_same_or_refused(tmp_path, flatten, f"""\
        import pandas as pd
        d = pd.read_csv("t.csv")
        print({use})
        """, {"t.csv": MIXED})
    assert report is None and name in why, why


@pytest.mark.parametrize("table", [
    MIXED,                                                             # int and float columns
    "a,b\n0.1234567890123456789,1e-300\n2.5,3\n",                      # digits pandas parses its own way
    "a,b\n1,\n2,3\n",                                                  # missing value
    "a,b\n1,2\n\n3,4\n",                                               # blank line
    'a,b\n"1",2\n3,4\n',                                               # quotes
    "a,a\n1,2\n3,4\n",                                                 # duplicate names
    "a,b\n1,2,3\n4,5,6\n",                                             # more fields than names
])
def test_flatten_reads_and_writes_like_pandas(tmp_path, table):
    report, text = assert_same_or_refused(tmp_path, flatten, """\
        import pandas as pd
        d = pd.read_csv("t.csv", usecols=["b", "a"]) if "b" in open("t.csv").readline() else pd.read_csv("t.csv")
        print(len(d), d.shape, [x for x in d["a"]], d["a"].to_numpy().dtype)
        for k, v in d["a"].value_counts().sort_index().items():
            print(k, v)
        pd.DataFrame({"a": d["a"].to_numpy(), "twice": d["a"].to_numpy() * 2.0}).to_csv("o.csv")
        """, {"t.csv": table})
    assert report is not None


def _frame_runtime():
    spec = importlib.util.spec_from_file_location("_memopt_frame", os.path.join(RUNTIME, "_memopt_frame.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._MemoptPandas


@pytest.mark.parametrize("use", [
    lambda d: d["a"].sum(), lambda d: d["b"].mean(), lambda d: d.describe(), lambda d: d["b"].describe(),
    lambda d: d.groupby("a")["b"].sum(), lambda d: d.iloc[1], lambda d: d.iloc[0, 1], lambda d: d["b"].iloc[-1],
    lambda d: d.columns, lambda d: repr(d), lambda d: d["a"] + d["c"], lambda d: np.asarray(d["b"]),
    lambda d: list(d["a"].value_counts().items()), lambda d: list(d["a"].items()), lambda d: d.to_numpy(),
    lambda d: len(d["a"].value_counts()), lambda d: list(d["b"].value_counts()),
])
def test_stand_in_fallback_gives_pandas_results_and_types(tmp_path, use):
    (tmp_path / "t.csv").write_text(MIXED)
    expected = use(pd.read_csv(tmp_path / "t.csv"))
    got = use(_frame_runtime().read_csv(str(tmp_path / "t.csv")))
    assert type(got) is type(expected)
    if isinstance(expected, (pd.Series, pd.DataFrame)):
        assert got.equals(expected)
        assert repr(got) == repr(expected)
    elif isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and (got == expected).all()
    else:
        assert repr(got) == repr(expected)


def test_stand_in_hands_over_after_a_change_made_through_pandas(tmp_path):
    (tmp_path / "t.csv").write_text(MIXED)
    d = _frame_runtime().read_csv(str(tmp_path / "t.csv"))
    d.iloc[0, 0] = 100
    assert d["a"].tolist() == [100, 4, 7] and type(d["a"]) is pd.Series


# --- static-to-dynamic: the per-tree store -------------------------------------------------

@pytest.fixture
def forest(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    model = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    np.save(tmp_path / "x.npy", rng.normal(size=(20, 3)))
    return {"m.joblib": path.read_bytes(), "x.npy": (tmp_path / "x.npy").read_bytes()}


@pytest.mark.parametrize("use,name", [
    ("m.estimators_[0].get_depth()", "get_depth"), ("m.estimators_[0].tree_.feature[:5].tolist()", "feature"),
    ("m.feature_importances_.tolist()", "feature_importances_"), ("m.score(x, m.predict(x))", "score"),
])
def test_store_refused_for_attributes_it_does_not_mirror(tmp_path, forest, use, name):
    report, why = assert_same_or_refused(tmp_path, static_to_dynamic, f"""\
        import joblib
        import numpy as np
        m = joblib.load("m.joblib")
        x = np.load("x.npy")
        print({use})
        """, forest)
    assert report is None and name in why, why


def test_store_falls_back_to_the_real_model(tmp_path, forest):
    report, text = assert_same_or_refused(tmp_path, static_to_dynamic, """\
        import joblib
        import numpy as np
        m = joblib.load("m.joblib")
        x = np.load("x.npy")
        print(sum(t.tree_.node_count for t in m.estimators_), m.predict(x).tolist())
        print(getattr(m.estimators_[0].tree_, "threshold")[:3].tolist(), getattr(m.estimators_[1], "get_depth")())
        print(repr(m), m.estimators_[0])
        print(m.predict(x).tolist(), m.predict_proba(x).round(6).tolist())
        """, forest)
    assert report is not None and "_memopt_load_model" in text


@pytest.mark.parametrize("change", ['m.estimators_.pop(); m.estimators_ = m.estimators_[:2]',
                                    'm.classes_ = np.array([5, 6])'])
def test_store_follows_changes_to_the_model(tmp_path, forest, change):
    report, text = assert_same_or_refused(tmp_path, static_to_dynamic, f"""\
        import joblib
        import numpy as np
        m = joblib.load("m.joblib")
        x = np.load("x.npy")
        print(len(m.estimators_), m.predict(x).tolist())
        {change}
        print(len(m.estimators_), m.predict(x).tolist(), m.predict_proba(x).round(6).tolist())
        """, forest)
    assert report is not None


def test_imports_kept_when_modules_are_looked_up_by_name(tmp_path):
    report, why = assert_same_or_refused(tmp_path, dead_data, """\
        import sys
        import json
        print(sys.modules["json"].dumps([1]))
        """)
    assert report is None and "imports kept" in why, why


def test_del_not_inserted_at_module_level_when_module_code_calls_locals(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        big = np.ones(5)
        s = big.sum()
        print(s)
        print(locals()["big"].size)
        """)
    assert report is None or "del big" not in text


def test_inlined_runtimes_import_only_the_standard_library_at_their_top():
    """A runtime's top-level statements run at the program's top, before any of the program's
    own lines: importing numpy there would load it before a program's
    `os.environ["OMP_NUM_THREADS"] = "1"` and ignore the setting. So numpy (and any other
    library) is imported inside the functions that use it."""
    for name in sorted(os.listdir(RUNTIME)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(RUNTIME, name)) as f:
            tree = ast.parse(f.read())
        for st in tree.body:
            modules = [a.name for a in st.names] if isinstance(st, ast.Import) else \
                [st.module] if isinstance(st, ast.ImportFrom) else []
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names or top.startswith("_memopt"), f"{name}: import {module}"

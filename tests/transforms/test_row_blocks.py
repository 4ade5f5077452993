"""static-to-dynamic part (c), row_blocks.py and runtime/_memopt_rows.py: predictions over a
stacked mesh computed block by block, equal to the whole call, and every fallback."""
import os
import subprocess
import textwrap
import tracemalloc

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from memopt.transforms import static_to_dynamic
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"
RUNTIME = os.path.join(os.path.dirname(static_to_dynamic.__file__), "runtime", "_memopt_rows.py")


@pytest.fixture(scope="module")
def rows():
    space = {}
    exec(compile(open(RUNTIME).read(), RUNTIME, "exec"), space)
    return space


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 2)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    xx, yy = np.meshgrid(np.linspace(-1, 2, 700), np.linspace(-1, 2, 600))
    return X, y, xx.ravel(), yy.ravel()


def stack(parts):
    return np.c_[parts]


@pytest.mark.parametrize("make, method", [
    (lambda: KMeans(3, n_init=1, random_state=0), "predict"),
    (lambda: SVC(), "decision_function"),
    (lambda: GaussianNB(), "predict_proba"),
    (lambda: LogisticRegression(), "predict_log_proba"),
    (lambda: make_pipeline(StandardScaler(), SVC()), "predict"),
])
def test_blocks_give_the_whole_answer(rows, data, make, method):
    X, y, a, b = data
    model = make().fit(X, y)
    whole = getattr(model, method)(np.c_[a, b])
    blocked = rows["_memopt_rows"](getattr(model, method), stack, (a, b))
    assert type(blocked) is np.ndarray and blocked.dtype == whole.dtype and np.array_equal(blocked, whole)


def test_blocks_never_build_the_whole_input(rows, data):
    X, y, _, _ = data
    a, b = (v.ravel() for v in np.meshgrid(np.linspace(0, 1, 2000), np.linspace(0, 1, 1000)))
    model = GaussianNB().fit(X, y)
    whole_input = a.nbytes + b.nbytes  # 32 MB: 123 blocks
    tracemalloc.start()
    rows["_memopt_rows"](model.predict, stack, (a, b))
    _, blocked_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    model.predict(np.c_[a, b])
    _, whole_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the whole call holds the stacked input and its temporaries for all rows, blocks one block's (and the answer)
    assert whole_input < whole_peak and blocked_peak < whole_peak / 3


def test_only_row_by_row_estimators_are_blocked(rows, data):
    X, y, _, _ = data
    rowwise = rows["_memopt_rows_rowwise"]

    class Mine(GaussianNB):
        pass
    assert rowwise(GaussianNB().fit(X, y).predict)
    assert rowwise(make_pipeline(StandardScaler(), SVC()).fit(X, y).predict)
    assert not rowwise(Mine().fit(X, y).predict)  # a user's subclass may predict otherwise
    assert not rowwise(DummyClassifier(strategy="stratified").fit(X, y).predict)  # draws random labels
    assert not rowwise(make_pipeline(FunctionTransformer(lambda v: v - v.mean()), SVC()).fit(X, y).predict)
    assert not rowwise(GaussianNB().fit(X, y).score)


def test_parts_of_different_lengths_fail_as_the_original(rows, data):
    X, y, a, b = data
    model = GaussianNB().fit(X, y)
    with pytest.raises(ValueError) as original:
        model.predict(np.c_[a, b[:-1]])
    with pytest.raises(ValueError) as blocked:
        rows["_memopt_rows"](model.predict, stack, (a, b[:-1]))
    assert str(blocked.value) == str(original.value)


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_pass_rewrites_a_mesh_prediction_and_the_output_is_the_same(tmp_path):
    src = write(tmp_path / "s.py", """\
        import numpy as np
        from sklearn.svm import SVC

        rng = np.random.RandomState(1)
        X = rng.rand(40, 2)
        y = (X[:, 0] > X[:, 1]).astype(int)
        clf = SVC(gamma=2.0).fit(X, y)
        xx, yy = np.meshgrid(np.arange(-1, 2, 0.005), np.arange(-1, 2, 0.005))
        Z = clf.decision_function(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        P = clf.predict(np.column_stack((xx.ravel(), yy.ravel())))
        print(Z.shape, Z.dtype, round(float(Z.sum()), 6), int(P.sum()))
        """)
    report = static_to_dynamic.run(src, str(tmp_path / "out"))
    out = str(tmp_path / "out" / "s.py")
    text = open(out).read()
    assert text.count("_memopt_rows(clf.") == 2 and any("line 9: .decision_function()" in c for c in report.changes)
    run = [subprocess.run([PY, p], capture_output=True, text=True, check=True).stdout for p in (src, out)]
    assert run[0] == run[1] and run[0].startswith("(600, 600) float64")


@pytest.mark.parametrize("line", [
    "Z = clf.predict(np.c_[xx.ravel(), yy.ravel()], extra=1)",   # keywords change what is returned
    "Z = clf.predict(np.c_[xx.ravel(), 1])",                     # a constant column
    "Z = clf.predict(np.c_[xx.ravel()])",                        # nothing stacked
    "Z = clf.predict(grid)",                                     # an input already whole
    "Z = clf.score(np.c_[xx.ravel(), yy.ravel()])",              # not a prediction per row
])
def test_calls_left_alone(tmp_path, line):
    src = write(tmp_path / "s.py", f"import numpy as np\nxx = yy = grid = clf = None\n{line}\n")
    with pytest.raises(PassRefused):
        static_to_dynamic.run(src, str(tmp_path / "out"))


def test_a_rebound_numpy_name_is_left_alone(tmp_path):
    src = write(tmp_path / "s.py", """\
        import numpy as np
        def f():
            global np
            np = None
        Z = clf.predict(np.c_[xx.ravel(), yy.ravel()])
        """)
    before = open(src).read()
    with pytest.raises(PassRefused):
        static_to_dynamic.run(src, str(tmp_path / "out"))
    assert open(src).read() == before and not (tmp_path / "out" / "s.py").exists()


def test_the_inlined_runtime_leaves_numpy_to_the_programs_own_import(tmp_path):
    """The helper goes at the program's top; numpy is still first imported by the program's
    own line, after it set a thread variable numpy reads once, at import."""
    src = write(tmp_path / "s.py", """\
        import os, sys
        print("numpy" in sys.modules)
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        import numpy as np
        from sklearn.naive_bayes import GaussianNB

        X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
        clf = GaussianNB().fit(X, [0, 1, 0, 1])
        xx, yy = np.meshgrid(np.linspace(0, 1, 300), np.linspace(0, 1, 300))
        print(int(clf.predict(np.c_[xx.ravel(), yy.ravel()]).sum()))
        """)
    static_to_dynamic.run(src, str(tmp_path / "out"))
    out = str(tmp_path / "out" / "s.py")
    assert "_memopt_rows(clf.predict" in open(out).read()
    run = [subprocess.run([PY, p], capture_output=True, text=True, check=True).stdout for p in (src, out)]
    assert run[0] == run[1] and run[0].startswith("False\n")

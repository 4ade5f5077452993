"""The per-tree store (runtime/_memopt_trees.py) called directly: its predictions against
scikit-learn's, bit for bit, and the conversion's checks (float32 thresholds, int16/int32
indices, the implied left child, the format in the store's key)."""
import importlib.util
import json
import os
import shutil

import joblib
import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import Tree

RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "python", "memopt", "transforms", "runtime", "_memopt_trees.py")


def load_runtime(tmp_path):
    """The runtime imported from a copy in tmp_path, so that its store is written there."""
    shutil.copy(RUNTIME, tmp_path / "_memopt_trees.py")
    spec = importlib.util.spec_from_file_location("_memopt_trees_copy", tmp_path / "_memopt_trees.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def converter():
    """The conversion script's functions, without running its __main__ part."""
    namespace = {"__name__": "memopt_store_converter"}
    exec(_converter_source(), namespace)
    return namespace


def _converter_source():
    spec = importlib.util.spec_from_file_location("_memopt_trees_source", RUNTIME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._MEMOPT_CONVERT


def inputs_on_thresholds(model, rng, n_features):
    """Random rows plus rows whose values are the trees' thresholds rounded to float32 and
    their float32 neighbours: where a narrower threshold would first disagree."""
    trees = model.estimators_ if hasattr(model, "estimators_") else [model]
    rows = [rng.normal(size=(40, n_features))]
    for t in trees:
        inner = t.tree_.children_left != -1
        for f, th in list(zip(t.tree_.feature[inner], t.tree_.threshold[inner]))[:30]:
            v = np.float32(th)
            for x in (v, np.nextafter(v, np.float32(-np.inf)), np.nextafter(v, np.float32(np.inf))):
                row = rng.normal(size=n_features)
                row[f] = x
                rows.append(row[np.newaxis, :])
    return np.vstack(rows).astype(np.float32)


def fitted(model, rng):
    X = rng.normal(size=(400, 4))
    classifier = "Classifier" in type(model).__name__
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) if classifier else X[:, 0] * 3 + X[:, 2]
    return model.fit(X.astype(np.float32), y)


def store_of(tmp_path, model):
    joblib.dump(model, tmp_path / "m.joblib")
    return load_runtime(tmp_path)._memopt_load_model(str(tmp_path / "m.joblib"))


@pytest.mark.parametrize("model", [
    RandomForestClassifier(n_estimators=6, random_state=0),
    ExtraTreesClassifier(n_estimators=3, random_state=1),
    DecisionTreeClassifier(random_state=0),
    RandomForestRegressor(n_estimators=4, random_state=0),
    ExtraTreesRegressor(n_estimators=3, random_state=0),
    DecisionTreeRegressor(random_state=0),
], ids=lambda m: type(m).__name__)
def test_predictions_bit_identical_to_scikit_learn(tmp_path, model):
    rng = np.random.default_rng(0)
    model = fitted(model, rng)
    store = store_of(tmp_path, model)
    assert type(store).__name__ == "_MemoptTreeStore"
    X = inputs_on_thresholds(model, rng, 4)
    assert store.predict(X).tobytes() == model.predict(X).tobytes()
    assert store.predict(X.astype(np.float64)).tobytes() == model.predict(X.astype(np.float64)).tobytes()
    for row in X[:25]:  # one row per call, as the activity app predicts
        assert store.predict(row.reshape(1, -1)).tobytes() == model.predict(row.reshape(1, -1)).tobytes()
    if hasattr(model, "classes_"):
        assert store.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()


def test_store_is_compact_and_names_its_layout(tmp_path):
    model = fitted(RandomForestClassifier(n_estimators=3, random_state=0), np.random.default_rng(1))
    store_of(tmp_path, model)
    (key,) = os.listdir(tmp_path / "_memopt_store")
    meta = json.loads((tmp_path / "_memopt_store" / key / "index.json").read_text())
    assert meta["format"] == 2
    for i, info in enumerate(meta["trees"]):
        # float32 thresholds, int16 child indices and features, no left array
        assert info["codes"] == "fhh" and info["implicit_left"] is True
        n = info["nodes"]
        assert info["bytes"] == n * (4 + 2 + 2) + info["vectors"] * info["width"] * 8
        assert os.path.getsize(tmp_path / "_memopt_store" / key / ("tree%05d.bin" % i)) == info["bytes"]


def _breadth_first(tree):
    """The same tree with its nodes renumbered breadth-first: left child != node + 1."""
    state = tree.__getstate__()
    nodes, values = state["nodes"], state["values"]
    order, queue = [], [0]
    while queue:
        node = queue.pop(0)
        order.append(node)
        if nodes["left_child"][node] != -1:
            queue += [nodes["left_child"][node], nodes["right_child"][node]]
    new_id = {old: new for new, old in enumerate(order)}
    renumbered = nodes[order].copy()
    for field in ("left_child", "right_child"):
        renumbered[field] = [new_id[c] if c != -1 else -1 for c in renumbered[field]]
    copy = Tree(tree.n_features, np.array(tree.n_classes), tree.n_outputs)
    copy.__setstate__(dict(state, nodes=renumbered, values=values[order].copy()))
    return copy


def test_tree_whose_left_child_is_not_the_next_node(tmp_path):
    rng = np.random.default_rng(2)
    model = fitted(RandomForestClassifier(n_estimators=2, random_state=0), rng)
    X = inputs_on_thresholds(model, rng, 4)
    expected = model.predict_proba(X)
    for estimator in model.estimators_:
        estimator.tree_ = _breadth_first(estimator.tree_)
    assert np.any(model.estimators_[0].tree_.children_left[1:] != np.arange(2, model.estimators_[0].tree_.node_count + 1))
    assert model.predict_proba(X).tobytes() == expected.tobytes()  # the renumbering kept the model
    store = store_of(tmp_path, model)
    (key,) = os.listdir(tmp_path / "_memopt_store")
    meta = json.loads((tmp_path / "_memopt_store" / key / "index.json").read_text())
    assert [t["implicit_left"] for t in meta["trees"]] == [False, False]
    assert store.predict_proba(X).tobytes() == expected.tobytes()
    assert store.predict(X).tobytes() == model.predict(X).tobytes()


def test_index_width_and_overflow_guard():
    narrowest = converter()["narrowest"]
    assert narrowest(np.array([-1, 0, 32767])) == "h"
    assert narrowest(np.array([32768])) == "i" and narrowest(np.array([-32769])) == "i"
    assert narrowest(np.array([2**31 - 1])) == "i"
    with pytest.raises(OverflowError):
        narrowest(np.array([2**31]))


def test_index_overflow_hands_the_model_to_joblib(tmp_path):
    namespace = converter()
    namespace["version"] = 2

    def overflow(a):
        raise OverflowError("tree index beyond int32")
    namespace["narrowest"] = overflow
    model = fitted(DecisionTreeRegressor(random_state=0), np.random.default_rng(3))
    meta = namespace["convert"](model, str(tmp_path))
    assert meta["kind_supported"] is False and "int32" in meta["why"]


def test_float32_thresholds_agree_with_float64_for_every_float32_input():
    float32_thresholds = converter()["float32_thresholds"]
    rng = np.random.default_rng(4)
    t = np.concatenate([rng.normal(size=500), rng.normal(size=200).astype(np.float32).astype(np.float64),
                        [0.0, -0.0, 1e-45, -1e-45, 3.5e38, -3.3e38]])
    f, code = float32_thresholds(t)
    assert code == "f" and f.dtype == np.dtype("<f4")
    with np.errstate(over="ignore"):  # 3.5e38 is beyond float32: its float32 is inf
        t32 = t.astype(np.float32)
    x32 = np.concatenate([t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))])
    x = x32.astype(np.float64)[:, np.newaxis]
    assert np.array_equal(x <= t[np.newaxis, :], x <= f.astype(np.float64)[np.newaxis, :])
    for bad in (np.inf, np.nan, -3.5e38):  # no finite float32 floor: kept as float64
        g, code = float32_thresholds(np.array([0.5, bad]))
        assert code == "d" and g.dtype == np.dtype("<f8")


def test_a_store_of_another_format_is_not_read(tmp_path):
    runtime = load_runtime(tmp_path)
    model = fitted(DecisionTreeClassifier(random_state=0), np.random.default_rng(5))
    joblib.dump(model, tmp_path / "m.joblib")
    store = runtime._memopt_store_dir(str(tmp_path / "m.joblib"))
    os.makedirs(store)
    with open(os.path.join(store, "index.json"), "w") as f:
        json.dump({"format": 1, "kind": "DecisionTreeClassifier"}, f)
    loaded = runtime._memopt_load_model(str(tmp_path / "m.joblib"))
    assert type(loaded) is DecisionTreeClassifier  # served by joblib, not misread
    # and the key names the format: format 1's key (path, size, mtime only) is another directory
    runtime._MEMOPT_FORMAT = 1
    assert runtime._memopt_store_dir(str(tmp_path / "m.joblib")) != store


def test_a_tree_that_is_a_single_leaf(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 3)).astype(np.float32)
    model = DecisionTreeRegressor().fit(X, np.full(30, 2.5))
    assert model.tree_.node_count == 1
    store = store_of(tmp_path, model)
    assert store.predict(X).tobytes() == model.predict(X).tobytes()

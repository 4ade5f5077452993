"""Per-tree model store (written by memopt's static-to-dynamic pass).

`_memopt_load_model(path)` replaces `joblib.load(path)` for scikit-learn tree models
(RandomForest, ExtraTrees, DecisionTree; classifier and regressor, one output). The first
call converts the pickled model, in a separate process, into a store next to this file
(`_memopt_store/KEY/`: `index.json` and one binary file per tree); later calls read the
store only, so neither scikit-learn nor joblib is imported. Prediction walks one tree at a
time over compact arrays and accumulates exactly what scikit-learn accumulates: the sum,
in tree order, of each tree's normalised leaf vector, divided by the number of trees.
Anything else (another model type, unknown arguments, an attribute the store does not
hold) falls back to the real object loaded with joblib, so behaviour never changes.
"""
import os as _memopt_os
import sys as _memopt_sys
from array import array as _memopt_array

import numpy as _memopt_np

_MEMOPT_STORE_HOME = _memopt_os.path.dirname(_memopt_os.path.abspath(__file__))

_MEMOPT_CONVERT = r'''
import json, os, sys
import numpy as np
import joblib
path, store = sys.argv[1], sys.argv[2]
model = joblib.load(path)
kind = type(model).__name__
meta = {"format": 1, "kind": kind, "mro": [c.__name__ for c in type(model).__mro__]}
supported = {"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
             "RandomForestRegressor", "ExtraTreesRegressor", "DecisionTreeRegressor"}
tmp = store + ".tmp%d" % os.getpid()
os.makedirs(tmp)
if kind in supported and getattr(model, "n_outputs_", 1) == 1:
    ensemble = hasattr(model, "estimators_")
    trees = list(model.estimators_) if ensemble else [model]
    classifier = hasattr(model, "classes_")
    meta.update(ensemble=ensemble, classifier=classifier, trees=[],
                n_features_in=int(model.n_features_in_))
    if classifier:
        np.save(os.path.join(tmp, "classes.npy"), model.classes_, allow_pickle=False)
    for i, estimator in enumerate(trees):
        t = estimator.tree_
        value = np.array(t.value[:, 0, :], dtype=np.float64)
        if classifier:  # what DecisionTreeClassifier.predict_proba returns for a leaf
            normalizer = value.sum(axis=1)[:, np.newaxis]
            normalizer[normalizer == 0.0] = 1.0
            value /= normalizer
        leaf = t.children_left == -1
        vectors, inverse = np.unique(value[leaf], axis=0, return_inverse=True)
        feature = np.where(leaf, -1, t.feature).astype("<i4")
        left = np.where(leaf, 0, t.children_left).astype("<i4")
        right = np.where(leaf, 0, t.children_right).astype("<i4")
        right[leaf] = inverse.reshape(-1)  # a leaf's `right` is the index of its vector
        threshold = np.where(leaf, 0.0, t.threshold).astype("<f8")
        with open(os.path.join(tmp, "tree%05d.bin" % i), "wb") as f:
            for a in (feature, left, right, threshold, vectors.astype("<f8")):
                f.write(a.tobytes())
        meta["trees"].append({"nodes": int(t.node_count), "vectors": int(len(vectors)),
                              "width": int(value.shape[1]), "max_depth": int(t.max_depth),
                              "leaves": int(leaf.sum())})
else:
    meta["kind_supported"] = False
with open(os.path.join(tmp, "index.json"), "w") as f:
    json.dump(meta, f)
try:
    os.rename(tmp, store)
except OSError:  # another process converted it first
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
'''


def _memopt_store_dir(path):
    import hashlib
    st = _memopt_os.stat(path)
    key = "%s\0%d\0%d" % (_memopt_os.path.abspath(path), st.st_size, st.st_mtime_ns)
    return _memopt_os.path.join(_MEMOPT_STORE_HOME, "_memopt_store",
                        hashlib.sha1(key.encode()).hexdigest()[:16])


def _memopt_joblib_load(*args, **kwargs):
    import joblib
    return joblib.load(*args, **kwargs)


def _memopt_load_model(path, *args, **kwargs):
    """joblib.load(path) for tree models, served from a per-tree store."""
    if args or kwargs or not isinstance(path, (str, bytes, _memopt_os.PathLike)):
        return _memopt_joblib_load(path, *args, **kwargs)
    path = _memopt_os.fsdecode(path)
    store = _memopt_store_dir(path)
    index = _memopt_os.path.join(store, "index.json")
    if not _memopt_os.path.exists(index):
        import subprocess
        _memopt_os.makedirs(_memopt_os.path.dirname(store), exist_ok=True)
        # a separate process, so that scikit-learn's memory is never this program's
        subprocess.run([_memopt_sys.executable, "-c", _MEMOPT_CONVERT, path, store], check=True)
    import json
    with open(index) as f:
        meta = json.load(f)
    if meta.get("kind_supported") is False:
        return _memopt_joblib_load(path)
    return _MemoptTreeStore(path, store, meta)


def _memopt_isinstance(obj, names):
    """isinstance(obj, classes) by class name, true for a _MemoptTreeStore of such a model."""
    if isinstance(obj, _MemoptTreeStore):
        return any(name in obj._mro for name in names)
    if isinstance(obj, _MemoptEstimatorInfo):
        obj = obj._memopt_real()
    return any(c.__name__ in names for c in type(obj).__mro__)


class _MemoptTreeInfo:
    """Stands for `estimator.tree_`: node_count, max_depth, n_leaves from the store's index;
    any other attribute is the real tree's (the model is then loaded with joblib)."""

    def __init__(self, estimator, info):
        self._estimator = estimator
        self.node_count = info["nodes"]
        self.max_depth = info["max_depth"]
        self.n_leaves = info["leaves"]

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") or name == "_estimator":
            raise AttributeError(name)
        return getattr(self._estimator._memopt_real().tree_, name)

    def __repr__(self):
        return repr(self._estimator._memopt_real().tree_)

    def __reduce_ex__(self, protocol):
        return self._estimator._memopt_real().tree_.__reduce_ex__(protocol)


class _MemoptEstimatorInfo:
    """Stands for one fitted tree of the model: `tree_` as above; anything else (predict,
    get_depth, feature_importances_, repr, ...) is the real estimator's."""

    def __init__(self, store, i, info):
        self._store = store
        self._i = i
        self.tree_ = _MemoptTreeInfo(self, info)

    def _memopt_real(self):
        real = self._store._real_model()
        return real.estimators_[self._i] if self._store._meta["ensemble"] else real

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") or name in ("_store", "_i"):
            raise AttributeError(name)
        return getattr(self._memopt_real(), name)

    def __setattr__(self, name, value):
        if name.startswith("_") or name == "tree_" and "tree_" not in self.__dict__:
            object.__setattr__(self, name, value)
        else:
            self._store._delegate()
            setattr(self._memopt_real(), name, value)

    def __repr__(self):
        return repr(self._memopt_real())

    def __reduce_ex__(self, protocol):
        return self._memopt_real().__reduce_ex__(protocol)


class _MemoptTreeStore:
    """A scikit-learn tree model read one tree at a time from its store. Its own attributes
    are the ones the store mirrors (n_features_in_, classes_, n_classes_, estimators_,
    n_estimators, tree_); every other attribute, repr and pickling are the real model's
    (loaded with joblib: correct, not small). Once the program sets an attribute, or the
    estimators_ list it was given is changed, the real model (with that list) does all."""

    def __init__(self, path, store, meta):
        self._path = path
        self._store = store
        self._meta = meta
        self._mro = meta["mro"]
        self._trees = [None] * len(meta["trees"])
        self._real = None
        self._delegated = False
        mirror = {"n_features_in_": meta["n_features_in"]}
        if meta["classifier"]:
            mirror["classes_"] = _memopt_np.load(_memopt_os.path.join(store, "classes.npy"), allow_pickle=False)
            mirror["n_classes_"] = len(mirror["classes_"])
        infos = [_MemoptEstimatorInfo(self, i, info) for i, info in enumerate(meta["trees"])]
        if meta["ensemble"]:
            mirror["estimators_"] = list(infos)
            mirror["n_estimators"] = len(infos)
        else:
            mirror["tree_"] = infos[0].tree_
        self._infos = infos
        self._mirror = mirror

    def _real_model(self):
        if self._real is None:
            self._real = _memopt_joblib_load(self._path)
        return self._real

    def _delegate(self):
        """From now on the real model answers everything."""
        if not self._delegated:
            real = self._real_model()
            if self._meta["ensemble"]:
                given = self._mirror["estimators_"]
                if given != self._infos:  # the program changed the list it was given
                    real.estimators_ = [e._memopt_real() if isinstance(e, _MemoptEstimatorInfo) else e
                                        for e in given]
            self._delegated = True
        return self._real

    def _own(self):
        """True while the store may answer: nothing was set, the estimators_ list is as given."""
        if self._delegated:
            return False
        if self._meta["ensemble"] and (len(self._mirror["estimators_"]) != len(self._infos) or any(
                a is not b for a, b in zip(self._mirror["estimators_"], self._infos))):
            self._delegate()
            return False
        return True

    def __getattr__(self, name):  # anything else: the real model (correct, not small)
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "predict_proba" and self._meta["classifier"] and self._own():
            return self._predict_proba
        if name in ("classes_", "n_classes_", "predict_proba") and not self._meta["classifier"]:
            raise AttributeError("'%s' object has no attribute '%s'" % (self._meta["kind"], name))
        if name in self._mirror and self._own():
            return self._mirror[name]
        return getattr(self._delegate() if name in self._mirror else self._real_model(), name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            real = self._delegate()
            if isinstance(value, (list, tuple)):  # e.g. a slice of estimators_ given back
                value = type(value)(v._memopt_real() if isinstance(v, _MemoptEstimatorInfo) else v for v in value)
            elif isinstance(value, _MemoptEstimatorInfo):
                value = value._memopt_real()
            setattr(real, name, value)

    def __delattr__(self, name):
        if name.startswith("_"):
            object.__delattr__(self, name)
        else:
            delattr(self._delegate(), name)

    def __repr__(self):
        return repr(self._real_model())

    def __reduce_ex__(self, protocol):
        return self._delegate().__reduce_ex__(protocol)

    def __dir__(self):
        return dir(self._real_model())

    def _tree(self, i):
        tree = self._trees[i]
        if tree is None:
            info = self._meta["trees"][i]
            n = info["nodes"]
            with open(_memopt_os.path.join(self._store, "tree%05d.bin" % i), "rb") as f:
                feature, left, right, threshold = _memopt_array("i"), _memopt_array("i"), _memopt_array("i"), _memopt_array("d")
                for a in (feature, left, right, threshold):
                    a.fromfile(f, n)
                vectors = _memopt_np.frombuffer(f.read(), dtype="<f8").reshape(info["vectors"], info["width"])
            if _memopt_sys.byteorder != "little":
                for a in (feature, left, right, threshold):
                    a.byteswap()
            tree = self._trees[i] = (feature, left, right, threshold, vectors)
        return tree

    def _rows(self, X):
        X = _memopt_np.asarray(X, dtype=_memopt_np.float32)  # scikit-learn compares float32 inputs
        if X.ndim != 2:
            raise ValueError("Expected 2D array, got %dD array instead" % X.ndim)
        if X.shape[1] != self._mirror["n_features_in_"]:
            raise ValueError("X has %d features, but %s is expecting %d features as input."
                             % (X.shape[1], self._meta["kind"], self._mirror["n_features_in_"]))
        if not _memopt_np.isfinite(X).all():
            raise ValueError("Input X contains NaN or infinity.")
        return X.tolist()

    def _leaf_values(self, i, rows):
        feature, left, right, threshold, vectors = self._tree(i)
        leaves = []
        for x in rows:
            node = 0
            f = feature[0]
            while f >= 0:
                node = left[node] if x[f] <= threshold[node] else right[node]
                f = feature[node]
            leaves.append(right[node])
        return vectors[leaves]

    def _accumulate(self, X):
        rows = self._rows(X)
        out = None
        for i in range(len(self._trees)):
            values = self._leaf_values(i, rows)
            if out is None:
                out = _memopt_np.zeros(values.shape, dtype=_memopt_np.float64)
            out += values
        if self._meta["ensemble"]:
            out /= len(self._trees)
        return out

    def _predict_proba(self, X, *args, **kwargs):
        if args or kwargs or not self._own() or not isinstance(X, (list, tuple, _memopt_np.ndarray)):
            return self._delegate().predict_proba(X, *args, **kwargs)
        return self._accumulate(X)

    def predict(self, X, *args, **kwargs):
        if args or kwargs or not self._own() or not isinstance(X, (list, tuple, _memopt_np.ndarray)):
            return self._delegate().predict(X, *args, **kwargs)
        out = self._accumulate(X)
        if self._meta["classifier"]:
            return self._mirror["classes_"].take(_memopt_np.argmax(out, axis=1), axis=0)
        return out[:, 0]

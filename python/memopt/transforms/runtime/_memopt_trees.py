"""Per-tree model store (written by memopt's static-to-dynamic pass).

`_memopt_load_model(path)` replaces `joblib.load(path)` for scikit-learn tree models
(RandomForest, ExtraTrees, DecisionTree; classifier and regressor, one output). The first
call converts the pickled model, in a separate process, into a store next to this file
(`_memopt_store/KEY/`: `index.json` and one binary file per tree; KEY hashes the store
format, the model file's path, size and mtime); later calls read the store only, so neither
scikit-learn nor joblib is imported. Prediction reads one tree at a time from its file into
one reused buffer (no tree is kept between trees or calls) and accumulates exactly what
scikit-learn accumulates: the sum, in tree order, of each tree's normalised leaf vector,
divided by the number of trees. Anything else (another model type, unknown arguments, an
attribute the store does not hold) falls back to the real object loaded with joblib, so
behaviour never changes.

Store format 2, one file per tree, little-endian, arrays of `nodes` entries back to back:
threshold (float32 when, for every node, the largest float32 not above scikit-learn's float64
threshold was verified: for a float32 input x, `x <= t` and `x <= that float32` agree; else
float64), right child (a leaf's: the index of its leaf vector), left child (left out when
every inner node's left child is the next node, as in scikit-learn's depth-first trees),
feature (-1 at a leaf); the indices are int16 when every value fits, else int32 (a model
beyond int32 is not stored: joblib serves it); then the deduplicated leaf vectors (float64).
index.json's `codes` names the three types, `implicit_left` and `bytes` the layout.
"""
import os as _memopt_os
import sys as _memopt_sys
from array import array as _memopt_array

_MEMOPT_STORE_HOME = _memopt_os.path.dirname(_memopt_os.path.abspath(__file__))

_MEMOPT_FORMAT = 2  # part of the store's KEY: a store of another format is never read

_MEMOPT_CONVERT = r'''
import json, os, sys
import numpy as np
import joblib
version = 0  # set from argv by __main__
supported = {"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
             "RandomForestRegressor", "ExtraTreesRegressor", "DecisionTreeRegressor"}


def narrowest(a):
    # int16 when every value fits, else int32 (refused beyond: the runtime reads no wider)
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise OverflowError("tree index beyond int32")
    return "h" if not a.size or (a.min() >= -2**15 and a.max() < 2**15) else "i"


def float32_thresholds(threshold):
    # For a float32 x and a float64 t, `x <= t` equals `x <= f` where f is the largest
    # float32 not above t. Kept as float32 only when that f is verified for every node.
    with np.errstate(over="ignore", invalid="ignore"):
        f = threshold.astype(np.float32)
        f = np.where(f.astype(np.float64) > threshold, np.nextafter(f, np.float32(-np.inf)), f)
        up = np.nextafter(f, np.float32(np.inf)).astype(np.float64)
    exact = np.all(f.astype(np.float64) <= threshold) and np.all(up > threshold) and np.all(np.isfinite(f))
    return (f.astype("<f4"), "f") if exact else (threshold.astype("<f8"), "d")


def tree_arrays(t, classifier):
    # the arrays of one tree as written (see the runtime's _tree), and its index entry
    value = np.array(t.value[:, 0, :], dtype=np.float64)
    if classifier:  # what DecisionTreeClassifier.predict_proba returns for a leaf
        normalizer = value.sum(axis=1)[:, np.newaxis]
        normalizer[normalizer == 0.0] = 1.0
        value /= normalizer
    leaf = t.children_left == -1
    vectors, inverse = np.unique(value[leaf], axis=0, return_inverse=True)
    feature = np.where(leaf, -1, t.feature).astype(np.int64)
    left = np.where(leaf, 0, t.children_left).astype(np.int64)
    right = np.where(leaf, 0, t.children_right).astype(np.int64)
    right[leaf] = inverse.reshape(-1)  # a leaf's `right` is the index of its vector
    threshold, threshold_code = float32_thresholds(np.where(leaf, 0.0, t.threshold).astype(np.float64))
    # depth-first trees put the left child right after its parent: `left` is left out
    # only when that holds for every inner node
    implicit_left = bool(np.all(left[~leaf] == np.flatnonzero(~leaf) + 1))
    index_code = narrowest(right if implicit_left else np.concatenate([right, left]))
    feature_code = narrowest(feature)
    arrays = [(threshold, threshold_code)] + [(a, index_code) for a in ([right] if implicit_left else [right, left])]
    arrays.append((feature, feature_code))
    arrays = [a.astype({"h": "<i2", "i": "<i4"}[c]) if c in "hi" else a for a, c in arrays]
    arrays.append(vectors.astype("<f8"))
    info = {"nodes": int(t.node_count), "vectors": int(len(vectors)), "width": int(value.shape[1]),
            "max_depth": int(t.max_depth), "leaves": int(leaf.sum()), "implicit_left": implicit_left,
            "codes": threshold_code + index_code + feature_code, "bytes": int(sum(a.nbytes for a in arrays))}
    return arrays, info


def convert(model, tmp):
    kind = type(model).__name__
    meta = {"format": version, "kind": kind, "mro": [c.__name__ for c in type(model).__mro__]}
    if kind not in supported or getattr(model, "n_outputs_", 1) != 1:
        return dict(meta, kind_supported=False)
    ensemble = hasattr(model, "estimators_")
    classifier = hasattr(model, "classes_")
    meta.update(ensemble=ensemble, classifier=classifier, trees=[], n_features_in=int(model.n_features_in_))
    if classifier:
        np.save(os.path.join(tmp, "classes.npy"), model.classes_, allow_pickle=False)
    for i, estimator in enumerate(model.estimators_ if ensemble else [model]):
        try:
            arrays, info = tree_arrays(estimator.tree_, classifier)
        except OverflowError as e:  # the runtime reads int16/int32 only: joblib serves this model
            return dict(meta, kind_supported=False, why=str(e))
        with open(os.path.join(tmp, "tree%05d.bin" % i), "wb") as f:
            for a in arrays:
                f.write(a.tobytes())
        meta["trees"].append(info)
    return meta


if __name__ == "__main__":
    path, store, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tmp = store + ".tmp%d" % os.getpid()
    os.makedirs(tmp)
    meta = convert(joblib.load(path), tmp)
    with open(os.path.join(tmp, "index.json"), "w") as f:
        json.dump(meta, f)
    try:
        os.rename(tmp, store)
    except OSError:  # another process converted it first
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
'''


def _memopt_typed(view, code):
    """A little-endian array in the store as an indexable sequence of Python numbers."""
    if _memopt_sys.byteorder == "little":
        return view.cast(code)
    a = _memopt_array(code, view.tobytes())
    a.byteswap()
    return a


def _memopt_store_dir(path):
    import hashlib
    st = _memopt_os.stat(path)
    key = "%d\0%s\0%d\0%d" % (_MEMOPT_FORMAT, _memopt_os.path.abspath(path), st.st_size, st.st_mtime_ns)
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
        subprocess.run([_memopt_sys.executable, "-c", _MEMOPT_CONVERT, path, store, str(_MEMOPT_FORMAT)], check=True)
    import json
    with open(index) as f:
        meta = json.load(f)
    if meta.get("kind_supported") is False or meta.get("format") != _MEMOPT_FORMAT:
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
        import numpy as _memopt_np
        self._path = path
        self._store = store
        self._meta = meta
        self._mro = meta["mro"]
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

    def _tree(self, i, buffer):
        """Tree i read from its file into `buffer` (a bytearray the caller reuses): nothing is
        kept between trees or calls, so the program holds one tree at a time."""
        import numpy as _memopt_np
        info = self._meta["trees"][i]
        n, size = info["nodes"], info["bytes"]
        view = memoryview(buffer)[:size]
        with open(_memopt_os.path.join(self._store, "tree%05d.bin" % i), "rb", buffering=0) as f:
            if f.readinto(view) != size:
                raise OSError("%s: tree %d is truncated" % (self._store, i))
        codes = info["codes"]  # threshold, child index, feature (int16 'h' / int32 'i')
        layout = [codes[0], codes[1]] + ([] if info["implicit_left"] else [codes[1]]) + [codes[2]]
        arrays, offset = [], 0
        for code in layout:
            width = 2 if code == "h" else 4 if code in "if" else 8
            arrays.append(_memopt_typed(view[offset:offset + n * width], code))
            offset += n * width
        vectors = _memopt_np.frombuffer(view[offset:], dtype="<f8").reshape(info["vectors"], info["width"])
        threshold, right, left, feature = arrays[0], arrays[1], arrays[2] if len(arrays) == 4 else None, arrays[-1]
        return feature, left, right, threshold, vectors

    def _rows(self, X):
        import numpy as _memopt_np
        X = _memopt_np.asarray(X, dtype=_memopt_np.float32)  # scikit-learn compares float32 inputs
        if X.ndim != 2:
            raise ValueError("Expected 2D array, got %dD array instead" % X.ndim)
        if X.shape[1] != self._mirror["n_features_in_"]:
            raise ValueError("X has %d features, but %s is expecting %d features as input."
                             % (X.shape[1], self._meta["kind"], self._mirror["n_features_in_"]))
        if not _memopt_np.isfinite(X).all():
            raise ValueError("Input X contains NaN or infinity.")
        return X.tolist()

    def _leaf_values(self, i, rows, buffer):
        feature, left, right, threshold, vectors = self._tree(i, buffer)
        leaves = []
        if left is None:  # the left child is the next node (checked for every node at conversion)
            for x in rows:
                node = 0
                f = feature[0]
                while f >= 0:
                    node = node + 1 if x[f] <= threshold[node] else right[node]
                    f = feature[node]
                leaves.append(right[node])
        else:
            for x in rows:
                node = 0
                f = feature[0]
                while f >= 0:
                    node = left[node] if x[f] <= threshold[node] else right[node]
                    f = feature[node]
                leaves.append(right[node])
        return vectors[leaves]  # a copy: the buffer is reused for the next tree

    def _accumulate(self, X):
        import numpy as _memopt_np
        rows = self._rows(X)
        trees = self._meta["trees"]
        buffer = bytearray(max(info["bytes"] for info in trees))
        out = None
        for i in range(len(trees)):
            values = self._leaf_values(i, rows, buffer)
            if out is None:
                out = _memopt_np.zeros(values.shape, dtype=_memopt_np.float64)
            out += values
        if self._meta["ensemble"]:
            out /= len(trees)
        return out

    def _predict_proba(self, X, *args, **kwargs):
        import numpy as _memopt_np
        if args or kwargs or not self._own() or not isinstance(X, (list, tuple, _memopt_np.ndarray)):
            return self._delegate().predict_proba(X, *args, **kwargs)
        return self._accumulate(X)

    def predict(self, X, *args, **kwargs):
        import numpy as _memopt_np
        if args or kwargs or not self._own() or not isinstance(X, (list, tuple, _memopt_np.ndarray)):
            return self._delegate().predict(X, *args, **kwargs)
        out = self._accumulate(X)
        if self._meta["classifier"]:
            return self._mirror["classes_"].take(_memopt_np.argmax(out, axis=1), axis=0)
        return out[:, 0]

"""memopt runtime: a scikit-learn prediction over many rows, computed block by block.

Inlined by the static-to-dynamic pass (row_blocks.py) for `est.predict(np.c_[a, b])`-style calls:
`_memopt_rows(est.predict, combine, (a, b))` builds the stacked input and the method's own
temporaries one block of rows (16384, fewer for inputs wider than 256 bytes a row) at a time,
never the whole. It answers only where that equals
the whole call: the method is one of an estimator whose predictions are row by row (each
output row from that input row and the fitted state: no randomness, no state change; the
classes below, and Pipelines of them), every part is a plain ndarray with the same number of
rows, and each block's answer is a plain ndarray with one row per input row and the same
dtype and trailing shape. Anything else is the original call on the whole input.
"""

# rows per block: a method's temporaries can be rows x training samples (kernels, distances),
# so blocks stay small; fewer for wide inputs (at most 4 MiB of stacked input)
_MEMOPT_ROWS_BLOCK = 16384
_MEMOPT_ROWS_BLOCK_BYTES = 1 << 22
_MEMOPT_ROWS_METHODS = {"predict", "predict_proba", "predict_log_proba", "decision_function"}
# scikit-learn classes whose predict-family methods compute each row alone (module: classes)
_MEMOPT_ROWS_ESTIMATORS = {
    "sklearn.cluster._kmeans": {"KMeans", "MiniBatchKMeans"},
    "sklearn.cluster._bisect_k_means": {"BisectingKMeans"},
    "sklearn.cluster._mean_shift": {"MeanShift"},
    "sklearn.cluster._affinity_propagation": {"AffinityPropagation"},
    "sklearn.svm._classes": {"SVC", "NuSVC", "LinearSVC", "SVR", "NuSVR", "LinearSVR", "OneClassSVM"},
    "sklearn.linear_model._logistic": {"LogisticRegression", "LogisticRegressionCV"},
    "sklearn.linear_model._ridge": {"Ridge", "RidgeClassifier", "RidgeCV", "RidgeClassifierCV"},
    "sklearn.linear_model._base": {"LinearRegression"},
    "sklearn.linear_model._stochastic_gradient": {"SGDClassifier", "SGDRegressor"},
    "sklearn.linear_model._perceptron": {"Perceptron"},
    "sklearn.neighbors._classification": {"KNeighborsClassifier", "RadiusNeighborsClassifier"},
    "sklearn.neighbors._regression": {"KNeighborsRegressor", "RadiusNeighborsRegressor"},
    "sklearn.neighbors._nearest_centroid": {"NearestCentroid"},
    "sklearn.naive_bayes": {"GaussianNB", "MultinomialNB", "BernoulliNB", "ComplementNB", "CategoricalNB"},
    "sklearn.discriminant_analysis": {"LinearDiscriminantAnalysis", "QuadraticDiscriminantAnalysis"},
    "sklearn.tree._classes": {"DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
                              "ExtraTreeRegressor"},
    "sklearn.ensemble._forest": {"RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
                                 "ExtraTreesRegressor"},
    "sklearn.ensemble._gb": {"GradientBoostingClassifier", "GradientBoostingRegressor"},
    "sklearn.mixture._gaussian_mixture": {"GaussianMixture"},
    "sklearn.mixture._bayesian_mixture": {"BayesianGaussianMixture"},
    "sklearn.semi_supervised._label_propagation": {"LabelPropagation", "LabelSpreading"},
    "sklearn.gaussian_process._gpc": {"GaussianProcessClassifier"},
    "sklearn.gaussian_process._gpr": {"GaussianProcessRegressor"},
    "sklearn.neural_network._multilayer_perceptron": {"MLPClassifier", "MLPRegressor"},
}
# transformers whose transform is row by row, allowed before the last step of a Pipeline
_MEMOPT_ROWS_TRANSFORMERS = {
    "sklearn.preprocessing._data": {"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer"},
    "sklearn.preprocessing._polynomial": {"PolynomialFeatures", "SplineTransformer"},
    "sklearn.decomposition._pca": {"PCA"},
    "sklearn.kernel_approximation": {"Nystroem", "RBFSampler"},
}


def _memopt_rows_known(owner, table):
    cls = type(owner)
    return cls.__name__ in table.get(cls.__module__, ())


def _memopt_rows_rowwise(method):
    owner = getattr(method, "__self__", None)
    if getattr(method, "__name__", None) not in _MEMOPT_ROWS_METHODS or owner is None:
        return False
    if _memopt_rows_known(owner, _MEMOPT_ROWS_ESTIMATORS):
        return True
    if type(owner).__module__ == "sklearn.pipeline" and type(owner).__name__ == "Pipeline":
        steps = [step for _, step in owner.steps]
        return bool(steps) and _memopt_rows_known(steps[-1], _MEMOPT_ROWS_ESTIMATORS) and all(
            step is None or step == "passthrough" or _memopt_rows_known(step, _MEMOPT_ROWS_TRANSFORMERS)
            for step in steps[:-1])
    return False


def _memopt_rows(method, combine, parts):
    """method(combine(parts)), or method(parts[0]) when combine is None, block by block."""
    import numpy as _memopt_numpy
    def whole():
        return method(parts[0] if combine is None else combine(parts))
    rows = {part.shape[0] if type(part) is _memopt_numpy.ndarray and part.ndim >= 1 else -1 for part in parts}
    row_bytes = sum(part.itemsize * max(1, part[:1].size) for part in parts if type(part) is _memopt_numpy.ndarray)
    step = min(_MEMOPT_ROWS_BLOCK, max(256, _MEMOPT_ROWS_BLOCK_BYTES // max(1, row_bytes)))
    if len(rows) != 1 or min(rows) <= step or not _memopt_rows_rowwise(method):
        return whole()
    total = rows.pop()
    joined = None  # the answer, filled block by block (joining a list would hold it twice)
    for start in range(0, total, step):
        block = tuple(part[start:start + step] for part in parts)
        answer = method(block[0] if combine is None else combine(block))
        if type(answer) is not _memopt_numpy.ndarray or answer.ndim < 1 or answer.shape[0] != block[0].shape[0] \
                or (joined is not None and (answer.dtype != joined.dtype or answer.shape[1:] != joined.shape[1:])):
            del joined, answer
            return whole()
        if joined is None:
            joined = _memopt_numpy.empty((total,) + answer.shape[1:], dtype=answer.dtype)
        joined[start:start + answer.shape[0]] = answer
    return joined

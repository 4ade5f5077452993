"""Benchmark workload: a scikit-learn random forest trained and used on numpy data.

A few seconds of typical ML work (numpy array churn, tree building, prediction), so that
tracer overhead shows the way it would on a user's script. Deterministic.
"""
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = np.random.default_rng(0)
X = rng.normal(size=(rows, 15))
y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] * X[:, 3] + rng.normal(scale=0.5, size=rows) > 0.3).astype(int)
model = RandomForestClassifier(n_estimators=20, random_state=0, n_jobs=1)
model.fit(X[: rows // 2], y[: rows // 2])
correct = 0
for start in range(rows // 2, rows, 50):
    correct += int((model.predict(X[start:start + 50]) == y[start:start + 50]).sum())
print(f"accuracy {correct / (rows - rows // 2):.3f}")

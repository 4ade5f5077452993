#!/usr/bin/python3
"""Writes the small data sets and models the generality scripts read: make_data.py DIR."""
import os
import sys

import joblib
import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.tree import DecisionTreeRegressor

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
X = rng.normal(size=(600, 6))
y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(int) + (X[:, 4] > 1)
with open(os.path.join(out, "train.csv"), "w") as f:
    f.write("id,a,b,c,d,e,f,label\n")
    for i, (row, label) in enumerate(zip(X[:400], y[:400])):
        f.write(f"{i}," + ",".join(f"{v:.5f}" for v in row) + f",{label}\n")
with open(os.path.join(out, "test.csv"), "w") as f:
    f.write("id,a,b,c,d,e,f,label\n")
    for i, (row, label) in enumerate(zip(X[400:], y[400:])):
        f.write(f"{i},"+ ",".join(f"{v:.5f}" for v in row) + f",{label}\n")
np.savetxt(os.path.join(out, "test.txt"), X[400:], fmt="%.5f")
joblib.dump(ExtraTreesClassifier(n_estimators=8, random_state=0).fit(X[:400], y[:400]),
            os.path.join(out, "extra.joblib"))
joblib.dump(DecisionTreeRegressor(random_state=0).fit(X[:400], X[:400, 0] * 2 + y[:400]),
            os.path.join(out, "tree_reg.joblib"))

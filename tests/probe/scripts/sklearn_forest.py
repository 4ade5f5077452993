"""A small scikit-learn program shaped like the paper's activity classifier: synthetic
accelerometer blocks -> 15 features per block -> random forest of 20 trees -> 6 classes.
Used by the probe's tests and by the measurements in docs/probe.md."""
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score

import memopt

BLOCKS = int(sys.argv[1]) if len(sys.argv) > 1 else 1544
SAMPLES = 128

with memopt.phase("load"):
    rng = np.random.default_rng(42)
    labels = rng.integers(0, 6, size=BLOCKS)
    signal = rng.normal(size=(BLOCKS, SAMPLES, 3)) + labels[:, None, None] * 0.3
    frame = pd.DataFrame(signal.reshape(-1, 3), columns=["x", "y", "z"])

with memopt.phase("features"):
    blocks = frame.to_numpy().reshape(BLOCKS, SAMPLES, 3)
    features = np.concatenate([blocks.mean(axis=1), blocks.std(axis=1), blocks.min(axis=1),
                               blocks.max(axis=1), np.median(blocks, axis=1)], axis=1)

with memopt.phase("train"):
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.25, random_state=0)
    model = RandomForestClassifier(n_estimators=20, random_state=0)
    model.fit(x_train, y_train)

with memopt.phase("predict"):
    predicted = model.predict(x_test)

print(f"blocks={BLOCKS} accuracy={accuracy_score(y_test, predicted):.3f}")

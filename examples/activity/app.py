#!/usr/bin/python3
"""Activity prediction from a chest accelerometer (the paper's application, baseline version).

    /usr/bin/python3 app.py [recording.csv] [model.joblib] [predictions.csv]

Splits the recording into blocks of 128 samples, computes 15 auto-regressive features per
block (docs/activity-features.md), classifies each block with the pre-trained random forest
and writes one line `block,label` per block. Labels: 1 lying, 2 sedentary, 3 dynamic,
4 walking, 5 running, 6 biking.
"""
import sys
import time

import numpy as np
import pandas as pd
import joblib
from sklearn.ensemble import RandomForestClassifier

try:
    import memopt
    phase = memopt.phase
except ImportError:  # run without memopt: phase markers do nothing
    import contextlib

    @contextlib.contextmanager
    def phase(name):
        yield

BLOCK_SIZE = 128
AR_ORDER = 3
AXES = ["x", "y", "z"]
FEATURE_NAMES = [f"{name}_{axis}" for axis in AXES
                 for name in ["mean", "std", "ar1", "ar2", "ar3"]]


def ar_features(signal):
    """Mean, standard deviation and AR(3) least-squares coefficients of each row.

    signal: (blocks, 128) array. Returns (blocks, 5)."""
    n = signal.shape[1]
    mean = signal.sum(axis=1) / n
    centred = signal - mean[:, None]
    std = np.sqrt((centred * centred).sum(axis=1) / n)

    # normal equations R a = r of d[t] ~ a1 d[t-1] + a2 d[t-2] + a3 d[t-3], t = 3..n-1
    def lagged(j, k):
        return (centred[:, AR_ORDER - j:n - j] * centred[:, AR_ORDER - k:n - k]).sum(axis=1)

    r11, r12, r13 = lagged(1, 1), lagged(1, 2), lagged(1, 3)
    r22, r23, r33 = lagged(2, 2), lagged(2, 3), lagged(3, 3)
    r1, r2, r3 = lagged(0, 1), lagged(0, 2), lagged(0, 3)

    # solve with the adjugate of the symmetric 3x3 matrix (Cramer's rule)
    a11 = r22 * r33 - r23 * r23
    a12 = r13 * r23 - r12 * r33
    a13 = r12 * r23 - r13 * r22
    a22 = r11 * r33 - r13 * r13
    a23 = r12 * r13 - r11 * r23
    a33 = r11 * r22 - r12 * r12
    det = r11 * a11 + r12 * a12 + r13 * a13
    solvable = det > 1e-12 * (r11 * r22 * r33)
    safe_det = np.where(solvable, det, 1.0)
    ar1 = np.where(solvable, (a11 * r1 + a12 * r2 + a13 * r3) / safe_det, 0.0)
    ar2 = np.where(solvable, (a12 * r1 + a22 * r2 + a23 * r3) / safe_det, 0.0)
    ar3 = np.where(solvable, (a13 * r1 + a23 * r2 + a33 * r3) / safe_det, 0.0)
    return np.column_stack([mean, std, ar1, ar2, ar3])


def compute_features(data):
    """15 features for every complete block of 128 rows of data[x, y, z]."""
    blocks = len(data) // BLOCK_SIZE
    columns = []
    for axis in AXES:
        values = data[axis].to_numpy(dtype=np.float64)[: blocks * BLOCK_SIZE]
        columns.append(ar_features(values.reshape(blocks, BLOCK_SIZE)))
    return np.hstack(columns)


def main():
    data_path = sys.argv[1] if len(sys.argv) > 1 else "recording.csv"
    model_path = sys.argv[2] if len(sys.argv) > 2 else "model.joblib"
    output_path = sys.argv[3] if len(sys.argv) > 3 else "predictions.csv"
    start = time.time()

    with phase("load"):
        data = pd.read_csv(data_path)
        print(f"loaded {len(data)} samples from {data_path}")

    with phase("features"):
        features = compute_features(data)
        print(f"computed {features.shape[1]} features for {features.shape[0]} blocks")

    with phase("model"):
        model = joblib.load(model_path)
        if not isinstance(model, RandomForestClassifier):
            sys.exit(f"{model_path}: not a RandomForestClassifier")
        nodes = sum(tree.tree_.node_count for tree in model.estimators_)
        print(f"loaded forest of {len(model.estimators_)} trees, {nodes} nodes")

    with phase("predict"):
        predictions = []
        for block in range(len(features)):
            label = model.predict(features[block].reshape(1, -1))[0]
            predictions.append(label)
        result = pd.DataFrame({"block": np.arange(len(predictions)), "label": predictions})
        result.to_csv(output_path, index=False)

    counts = result["label"].value_counts().sort_index()
    print("predicted blocks per label: "
          + ", ".join(f"{label}: {count}" for label, count in counts.items()))
    print(f"wrote {output_path}")
    # timing goes to stderr so that stdout is the same from run to run
    print(f"{time.time() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

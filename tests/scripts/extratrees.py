#!/usr/bin/python3
"""A pre-trained ExtraTrees model over a CSV read with pandas: extratrees.py MODEL TEST.csv OUT.csv"""
import sys
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier


def main(model_file, data_file, out_file):
    forest = joblib.load(model_file)
    assert isinstance(forest, ExtraTreesClassifier)
    table = pd.read_csv(data_file)
    X = np.column_stack([table[c].to_numpy() for c in ["a", "b", "c", "d", "e", "f"]])
    proba = forest.predict_proba(X)
    labels = forest.predict(X)
    pd.DataFrame({"label": labels, "p_max": proba.max(axis=1)}).to_csv(out_file, index=False)
    print(f"{len(labels)} rows, {len(forest.estimators_)} trees")


if __name__ == "__main__":
    main(*sys.argv[1:4])

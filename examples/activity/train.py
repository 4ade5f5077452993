#!/usr/bin/python3
"""Trains the activity random forest (20 trees, unlimited depth) and saves it with joblib.

    /usr/bin/python3 train.py -o model.joblib [--train-rows N] [--seed 2] [--trees 20]
                              [--train-csv FILE] [--test-csv FILE]

The training set is generated with generate.py (a seed different from the application's
recording) unless --train-csv names a recording; the held-out set is another generated set
(or --test-csv). Features are the application's own (app.compute_features). Prints the
held-out accuracy and writes a small JSON summary next to the model.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402
from app import compute_features  # noqa: E402

DEFAULT_TRAIN_ROWS = 12_800_000  # 100,000 blocks: a forest of about 300,000 nodes
DEFAULT_TEST_ROWS = 640_000


def labelled_blocks(xyz, label):
    """Features and block labels, without blocks whose majority label is 0 (unlabeled)."""
    features = compute_features(pd.DataFrame(xyz, columns=["x", "y", "z"]))
    targets = generate.block_labels(label)
    keep = targets != generate.UNLABELED
    return features[keep], targets[keep]


def recording(csv_path, rows, seed):
    if csv_path:
        return generate.load_recording(csv_path)
    return generate.generate(rows, seed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="model.joblib")
    parser.add_argument("--train-rows", type=int, default=DEFAULT_TRAIN_ROWS)
    parser.add_argument("--test-rows", type=int, default=DEFAULT_TEST_ROWS)
    parser.add_argument("--seed", type=int, default=2, help="generator seed of the training "
                        "set; the held-out set uses seed+1000")
    parser.add_argument("--trees", type=int, default=20)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--train-csv")
    parser.add_argument("--test-csv")
    args = parser.parse_args(argv)

    start = time.time()
    try:
        x_train, y_train = labelled_blocks(*recording(args.train_csv, args.train_rows, args.seed))
        x_test, y_test = labelled_blocks(
            *recording(args.test_csv, args.test_rows, args.seed + 1000))
    except generate.RecordingError as error:
        print(f"train.py: {error}", file=sys.stderr)
        return 2
    if len(y_train) == 0 or len(y_test) == 0:
        print("train.py: no labelled blocks to train or test on", file=sys.stderr)
        return 2
    print(f"training on {len(y_train)} blocks, testing on {len(y_test)} blocks")

    model = RandomForestClassifier(n_estimators=args.trees, max_depth=None,
                                   random_state=args.random_state)
    model.fit(x_train, y_train)
    accuracy = float((model.predict(x_test) == y_test).mean())
    nodes = int(sum(tree.tree_.node_count for tree in model.estimators_))
    depth = int(max(tree.tree_.max_depth for tree in model.estimators_))
    joblib.dump(model, args.output)
    summary = {
        "trees": args.trees, "nodes": nodes, "max_depth": depth,
        "train_blocks": int(len(y_train)), "test_blocks": int(len(y_test)),
        "test_accuracy": accuracy, "chance": float(np.bincount(y_test).max() / len(y_test)),
        "seconds": round(time.time() - start, 1),
    }
    with open(os.path.splitext(args.output)[0] + ".json", "w") as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
    print(f"forest: {args.trees} trees, {nodes} nodes, max depth {depth}")
    print(f"held-out accuracy: {accuracy:.3f} (majority class {summary['chance']:.3f})")
    print(f"saved {args.output} in {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

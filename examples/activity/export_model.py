#!/usr/bin/python3
"""Writes a trained random forest (joblib) as the compact binary model file `.forest`.

    /usr/bin/python3 export_model.py model.joblib -o model.forest

The layout (all little-endian) is documented in docs/activity.md, "Model file":

    header   char[8] "MOFOREST", u32 version (1), u32 n_features, u32 n_classes,
             u32 n_trees, i32 classes[n_classes]
    n_trees times, one tree after another:
             u32 n_nodes, u32 n_values,
             n_nodes nodes of 16 bytes: i32 feature (-1 = leaf), u32 link, f64 threshold
               internal node: go to node+1 when float32(x[feature]) <= threshold,
                              else to node `link`
               leaf:          `link` is the index of its probability vector
             n_values probability vectors of n_classes f64 each

A leaf's probability vector is scikit-learn's: the leaf's class weights divided by their
sum. Identical vectors within one tree are stored once (most leaves are pure).
"""
from __future__ import annotations

import argparse
import struct
import sys

import joblib
import numpy as np

MAGIC = b"MOFOREST"
VERSION = 1
NODE = np.dtype([("feature", "<i4"), ("link", "<u4"), ("threshold", "<f8")])


class ExportError(ValueError):
    pass


def tree_records(tree):
    """(nodes structured array, values (n_values, n_classes) float64) for one sklearn tree."""
    left, right = tree.children_left, tree.children_right
    count = tree.node_count
    weights = tree.value[:, 0, :]
    probabilities = weights / weights.sum(axis=1, keepdims=True)  # as predict_proba does
    nodes = np.zeros(count, dtype=NODE)
    vectors: dict[bytes, int] = {}
    values = []
    for node in range(count):
        if left[node] == -1:  # leaf
            key = probabilities[node].tobytes()
            if key not in vectors:
                vectors[key] = len(values)
                values.append(probabilities[node])
            nodes[node] = (-1, vectors[key], 0.0)
        else:
            if left[node] != node + 1:
                raise ExportError(f"node {node}: left child is {left[node]}, expected "
                                  f"{node + 1} (depth-first node order)")
            nodes[node] = (tree.feature[node], right[node], tree.threshold[node])
    return nodes, np.array(values, dtype="<f8").reshape(-1, weights.shape[1])


def export(model, path: str) -> int:
    """Writes `model` to `path`; returns the number of nodes written."""
    if not hasattr(model, "estimators_"):
        raise ExportError("not a fitted random forest")
    classes = np.asarray(model.classes_)
    if classes.dtype.kind not in "iu":
        raise ExportError(f"class labels must be integers, not {classes.dtype}")
    total = 0
    with open(path, "wb") as out:
        out.write(MAGIC)
        out.write(struct.pack("<4I", VERSION, model.n_features_in_, len(classes),
                              len(model.estimators_)))
        out.write(classes.astype("<i4").tobytes())
        for estimator in model.estimators_:
            nodes, values = tree_records(estimator.tree_)
            out.write(struct.pack("<2I", len(nodes), len(values)))
            out.write(nodes.tobytes())
            out.write(values.tobytes())
            total += len(nodes)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="joblib file written by train.py")
    parser.add_argument("-o", "--output", default="model.forest")
    args = parser.parse_args(argv)
    try:
        model = joblib.load(args.model)
    except OSError as error:
        print(f"export_model.py: {args.model}: {error.strerror or error}", file=sys.stderr)
        return 2
    try:
        nodes = export(model, args.output)
    except ExportError as error:
        print(f"export_model.py: {args.model}: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(model.estimators_)} trees, {nodes} nodes to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""An application split into helper modules: app.py MODEL TEST.txt OUT.txt"""
import sys

import joblib
import numpy as np

import features
from report import summarize


def main():
    model = joblib.load(sys.argv[1])
    X = features.load(sys.argv[2])
    y = model.predict(features.scale(X))
    np.savetxt(sys.argv[3], y, fmt="%.6f")
    print(summarize(y))


main()

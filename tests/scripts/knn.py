#!/usr/bin/python3
"""k-nearest neighbours trained in the script, numpy-only loading: knn.py TRAIN.csv TEST.txt OUT.txt"""
import sys
import json

import numpy as np
from sklearn.neighbors import KNeighborsClassifier


def main():
    train = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
    test = np.loadtxt(sys.argv[2])
    model = KNeighborsClassifier(n_neighbors=5).fit(train[:, 1:7], train[:, 7].astype(int))
    labels = model.predict(test)
    np.savetxt(sys.argv[3], labels, fmt="%d")
    print("classes:", sorted(set(labels.tolist())))


main()

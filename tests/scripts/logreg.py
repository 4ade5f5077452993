#!/usr/bin/python3
"""Logistic regression with pandas I/O: logreg.py TRAIN.csv TEST.csv OUT.csv"""
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ["a", "b", "c", "d", "e", "f"]

train = pd.read_csv(sys.argv[1])
test = pd.read_csv(sys.argv[2])
model = LogisticRegression(max_iter=500).fit(train[FEATURES].to_numpy(), train["label"].to_numpy())
predicted = model.predict(test[FEATURES].to_numpy())
pd.DataFrame({"id": test["id"].to_numpy(), "label": predicted}).to_csv(sys.argv[3], index=False)
print("accuracy", round(float(np.mean(predicted == test["label"].to_numpy())), 4))

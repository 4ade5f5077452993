"""Benchmark workload: allocation-heavy pure Python, then a pandas groupby.

Builds many small dicts and strings (the object churn of parsing and feature code: records
with string fields, joined and split text, growing lists), then groups them with pandas.
Small objects come from Python's own arenas; the strings, lists and dict tables past 512
bytes and every numpy/pandas buffer go through malloc/realloc/free. Deterministic.
"""
import sys

import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 80000
records = []
for i in range(rows):
    name = f"user-{i % 977:04d}"
    record = {"id": i, "name": name, "group": f"g{i % 37}", "score": (i * 7919) % 1000 / 10.0,
              "tags": [name[:6], str(i % 13), "x" * (i % 40)]}
    record["text"] = ",".join(record["tags"]) * (1 + i % 120)  # mostly past 512 bytes: malloc
    records.append(record)
words = {}
for record in records:
    for word in record["text"].split(","):
        words[word] = words.get(word, 0) + 1
frame = pd.DataFrame.from_records(
    [{"group": r["group"], "name": r["name"], "score": r["score"], "length": len(r["text"])} for r in records])
summary = frame.groupby(["group", "name"]).agg(score=("score", "mean"), length=("length", "sum"))
by_group = frame.groupby("group")["score"].describe()
print(len(words), len(summary), round(float(by_group["mean"].sum()), 3))

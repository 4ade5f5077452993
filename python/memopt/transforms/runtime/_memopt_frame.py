"""The few pandas functions a script uses, over numpy and csv (inlined by memopt's flatten
pass in place of `import pandas`). Anything it does not handle falls back to pandas."""
import csv as _memopt_csv
import warnings as _memopt_warnings

import numpy as _memopt_np


class _MemoptSeries:
    def __init__(self, values, index=None, name=None):
        self.values = _memopt_np.asarray(values)
        self.index = _memopt_np.arange(len(self.values)) if index is None else _memopt_np.asarray(index)
        self.name = name

    def __len__(self):
        return len(self.values)

    def __iter__(self):
        return iter(self.values)

    def to_numpy(self, dtype=None, copy=False):
        out = _memopt_np.asarray(self.values, dtype=dtype)
        return out.copy() if copy and out is self.values else out

    def tolist(self):
        return self.values.tolist()

    def items(self):
        return zip(self.index, self.values)

    def value_counts(self):
        keys, counts = _memopt_np.unique(self.values, return_counts=True)
        order = _memopt_np.argsort(-counts, kind="stable")
        return _MemoptSeries(counts[order], keys[order], "count")

    def sort_index(self):
        order = _memopt_np.argsort(self.index, kind="stable")
        return _MemoptSeries(self.values[order], self.index[order], self.name)


class _MemoptFrame:
    def __init__(self, data=None):
        self._columns = {}
        for name, values in (data or {}).items():
            self._columns[name] = _memopt_np.asarray(values)

    @property
    def columns(self):
        return list(self._columns)

    @property
    def shape(self):
        return (len(self), len(self._columns))

    def __len__(self):
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def __getitem__(self, key):
        if isinstance(key, list):
            return _MemoptFrame({k: self._columns[k] for k in key})
        return _MemoptSeries(self._columns[key], name=key)

    def to_numpy(self, dtype=None):
        return _memopt_np.column_stack([c for c in self._columns.values()]).astype(dtype or None, copy=False) \
            if dtype else _memopt_np.column_stack(list(self._columns.values()))

    @property
    def values(self):
        return self.to_numpy()

    def to_csv(self, path, index=True, header=True):
        with open(path, "w", newline="") as f:
            writer = _memopt_csv.writer(f, lineterminator="\n")
            names = list(self._columns)
            if header:
                writer.writerow(([""] if index else []) + names)
            columns = [self._columns[n].tolist() for n in names]
            for i, row in enumerate(zip(*columns)):
                writer.writerow(([i] if index else []) + list(row))


def _memopt_read_csv(path, usecols=None, sep=","):
    with open(path, newline="") as f:
        names = next(_memopt_csv.reader([f.readline()], delimiter=sep))
        wanted = list(range(len(names))) if usecols is None else [names.index(c) for c in usecols]
        start = f.tell()
        data = None
        for dtype in (_memopt_np.int64, _memopt_np.float64):
            f.seek(start)
            try:
                with _memopt_warnings.catch_warnings():  # "1.5" must not parse as the integer 1
                    _memopt_warnings.simplefilter("error", DeprecationWarning)
                    data = _memopt_np.loadtxt(f, delimiter=sep, dtype=dtype, usecols=wanted, ndmin=2)
                break
            except (ValueError, DeprecationWarning):
                continue
    if data is None:  # text, quotes, missing values: what pandas is for
        import pandas
        return pandas.read_csv(path, usecols=usecols, sep=sep)
    frame = _MemoptFrame()
    for j, column in enumerate(wanted):
        frame._columns[names[column]] = _memopt_np.ascontiguousarray(data[:, j])
    return frame


class _MemoptPandas:
    read_csv = staticmethod(_memopt_read_csv)
    DataFrame = _MemoptFrame
    Series = _MemoptSeries

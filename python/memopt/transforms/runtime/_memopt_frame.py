"""A pandas stand-in over numpy and csv (inlined by memopt's flatten pass in place of
`import pandas`), exact on what it implements and pandas itself for everything else.

Implemented exactly as pandas 1.5 does it:
- read_csv(path, usecols=[names], sep=CHAR) of a plain CSV: one header of distinct,
  non-empty names, every row with as many fields, no quotes, blanks, tabs, CR, underscores,
  exponents or numbers of more than 15 digits (pandas' own float parser and numpy's agree
  there), at least one row; a column is int64 when every field is an integer, else float64;
- DataFrame({name: equal-length 1-D list/array of numbers or booleans}); Series(1-D
  numbers[, name=]);
- frame: len, iter, shape, ndim, size, empty, frame["col"], frame[["a", "b"]],
  to_numpy()/values (one dtype), to_csv(path, index=bool, header=bool) of int, bool and
  float64 columns;
- series: len, iter, name, dtype, shape, ndim, size, empty, values, to_numpy, tolist, items,
  sort_index, value_counts().sort_index().
Any other call, attribute, operator, repr, numpy ufunc or argument hands the object to
pandas: the real pandas object is built once from the stand-in's data (importing pandas)
and from then on every use of the stand-in goes to it, so results and types are pandas'.
A frame's columns and to_numpy() are views of one block, as in pandas. The flatten pass
refuses statically when the program uses pandas-only names (the fallback would import
pandas, the memory the pass exists to save); this fallback covers what it cannot see.
"""
import csv as _memopt_csv
import os as _memopt_os
import re as _memopt_re
import warnings as _memopt_warnings

_MEMOPT_FRAME_INEXACT = _memopt_re.compile(r'["\r\t _eE]|(?:\d\.?){16}')


def _memopt_pandas():
    import pandas
    return pandas


def _memopt_unwrap(value):
    """Stand-ins inside arguments become the real pandas objects."""
    if isinstance(value, _MemoptObject):
        return value._memopt_real()
    if type(value) in (list, tuple):
        return type(value)(_memopt_unwrap(v) for v in value)
    if type(value) is dict:
        return {k: _memopt_unwrap(v) for k, v in value.items()}
    return value


class _MemoptObject:
    __array_priority__ = 1000
    _memopt_real_obj = None

    def _memopt_real(self):
        if self._memopt_real_obj is None:
            object.__setattr__(self, "_memopt_real_obj", self._memopt_build())
        return self._memopt_real_obj

    def _memopt_handed(self):
        return self._memopt_real_obj is not None

    def __getattr__(self, name):  # anything not implemented: pandas
        if name.startswith("_memopt") or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)
        return getattr(self._memopt_real(), name)

    def __setattr__(self, name, value):
        setattr(self._memopt_real(), name, _memopt_unwrap(value))

    def __delattr__(self, name):
        delattr(self._memopt_real(), name)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_memopt_unwrap(inputs), **_memopt_unwrap(kwargs))

    def __array__(self, dtype=None):
        return self._memopt_real().__array__(dtype)


def _memopt_forward(name):
    def forward(self, *args, **kwargs):
        return getattr(self._memopt_real(), name)(*_memopt_unwrap(args), **_memopt_unwrap(kwargs))
    forward.__name__ = name
    return forward


for _memopt_name in ("__len__", "__iter__", "__reversed__", "__repr__", "__str__", "__format__", "__hash__", "__bool__", "__contains__",
                     "__getitem__", "__setitem__", "__delitem__", "__eq__", "__ne__", "__lt__", "__le__",
                     "__gt__", "__ge__", "__neg__", "__pos__", "__abs__", "__invert__", "__round__",
                     "__float__", "__int__", "__reduce_ex__", "__copy__", "__deepcopy__", "__sizeof__",
                     "__dir__", "__divmod__", "__rdivmod__"):
    setattr(_MemoptObject, _memopt_name, _memopt_forward(_memopt_name))
for _memopt_name in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor"):
    for _memopt_form in ("__%s__", "__r%s__", "__i%s__"):
        setattr(_MemoptObject, _memopt_form % _memopt_name, _memopt_forward(_memopt_form % _memopt_name))


def _memopt_exact(method):
    """The stand-in's own implementation, until the object has been handed to pandas."""
    def run(self, *args, **kwargs):
        if self._memopt_handed():
            return getattr(self._memopt_real_obj, method.__name__)(*_memopt_unwrap(args), **_memopt_unwrap(kwargs))
        return method(self, *args, **kwargs)
    run.__name__ = method.__name__
    return run


class _MemoptSeries(_MemoptObject):
    def __init__(self, values, index=None, name=None, build=None):
        object.__setattr__(self, "_memopt_values", values)
        object.__setattr__(self, "_memopt_index", index)  # None: 0..n-1
        object.__setattr__(self, "_memopt_name", name)
        object.__setattr__(self, "_memopt_builder", build)

    def _memopt_build(self):
        if self._memopt_builder is not None:
            return self._memopt_builder()
        pd = _memopt_pandas()
        index = None if self._memopt_index is None else pd.Index(self._memopt_index)
        return pd.Series(self._memopt_values, index=index, name=self._memopt_name, copy=False)

    def _memopt_index_list(self):
        if self._memopt_index is None:
            return list(range(len(self._memopt_values)))
        return self._memopt_index.tolist()

    @_memopt_exact
    def __len__(self):
        return len(self._memopt_values)

    @_memopt_exact
    def __iter__(self):
        return iter(self._memopt_values.tolist())

    name = property(lambda self: self._memopt_real().name if self._memopt_handed() else self._memopt_name)
    values = property(lambda self: self._memopt_real().values if self._memopt_handed() else self._memopt_values)
    dtype = property(lambda self: self._memopt_real().dtype if self._memopt_handed() else self._memopt_values.dtype)
    shape = property(lambda self: self._memopt_real().shape if self._memopt_handed() else self._memopt_values.shape)
    ndim = property(lambda self: self._memopt_real().ndim if self._memopt_handed() else 1)
    size = property(lambda self: self._memopt_real().size if self._memopt_handed() else self._memopt_values.size)
    empty = property(lambda self: self._memopt_real().empty if self._memopt_handed() else not len(self._memopt_values))

    def to_numpy(self, dtype=None, copy=False, *args, **kwargs):
        import numpy as _memopt_np
        if self._memopt_handed() or args or kwargs:
            return self._memopt_real().to_numpy(dtype, copy, *args, **kwargs)
        out = _memopt_np.asarray(self._memopt_values, dtype=dtype)
        return out.copy() if copy and _memopt_np.shares_memory(out, self._memopt_values) else out

    @_memopt_exact
    def tolist(self):
        return self._memopt_values.tolist()

    @_memopt_exact
    def items(self):
        return zip(self._memopt_index_list(), self._memopt_values.tolist())

    def value_counts(self, *args, **kwargs):
        import numpy as _memopt_np
        values = self._memopt_values
        if self._memopt_handed() or args or kwargs or values.dtype.kind not in "biuf" or \
                (values.dtype.kind == "f" and _memopt_np.isnan(values).any()):
            return self._memopt_real().value_counts(*args, **kwargs)
        return _MemoptCounts(self)

    def sort_index(self, *args, **kwargs):
        import numpy as _memopt_np
        if self._memopt_handed() or args or kwargs:
            return self._memopt_real().sort_index(*args, **kwargs)
        if self._memopt_index is None:
            return _MemoptSeries(self._memopt_values.copy(), None, self._memopt_name)
        order = _memopt_np.argsort(self._memopt_index, kind="stable")
        return _MemoptSeries(self._memopt_values[order], self._memopt_index[order], self._memopt_name)


class _MemoptCounts(_MemoptObject):
    """series.value_counts(): pandas' tie order is its own, so only sort_index() is ours."""

    def __init__(self, series):
        object.__setattr__(self, "_memopt_series", series)

    def _memopt_build(self):
        return self._memopt_series._memopt_real().value_counts()

    def sort_index(self, *args, **kwargs):
        import numpy as _memopt_np
        if self._memopt_handed() or args or kwargs:
            return self._memopt_real().sort_index(*args, **kwargs)
        keys, counts = _memopt_np.unique(self._memopt_series._memopt_values, return_counts=True)
        return _MemoptSeries(counts.astype(_memopt_np.int64), keys, self._memopt_series._memopt_name)


class _MemoptFrame(_MemoptObject):
    def __init__(self, block, names):
        """block: one 2-D array per dtype is what pandas keeps; here a list of (name, column)
        where columns of one dtype are rows of one 2-D block (views)."""
        object.__setattr__(self, "_memopt_block", block)   # 2-D (columns, rows) or None
        object.__setattr__(self, "_memopt_columns", names)  # [(name, 1-D array)]

    @staticmethod
    def _memopt_from_columns(names, columns):
        import numpy as _memopt_np
        dtypes = {c.dtype for c in columns}
        if len(dtypes) == 1 and columns:
            block = _memopt_np.vstack(columns) if len(columns) > 1 else columns[0].reshape(1, -1).copy()
            return _MemoptFrame(block, [(n, block[j]) for j, n in enumerate(names)])
        return _MemoptFrame(None, [(n, _memopt_np.array(c)) for n, c in zip(names, columns)])

    def _memopt_build(self):
        pd = _memopt_pandas()
        if self._memopt_block is not None:
            return pd.DataFrame(self._memopt_block.T, columns=[n for n, _ in self._memopt_columns], copy=False)
        return pd.DataFrame({n: c for n, c in self._memopt_columns})

    @_memopt_exact
    def __len__(self):
        return len(self._memopt_columns[0][1]) if self._memopt_columns else 0

    @_memopt_exact
    def __iter__(self):
        return iter([n for n, _ in self._memopt_columns])

    shape = property(lambda self: self._memopt_real().shape if self._memopt_handed()
                     else (len(self), len(self._memopt_columns)))
    ndim = property(lambda self: self._memopt_real().ndim if self._memopt_handed() else 2)
    size = property(lambda self: self._memopt_real().size if self._memopt_handed()
                    else len(self) * len(self._memopt_columns))
    empty = property(lambda self: self._memopt_real().empty if self._memopt_handed() else self.size == 0)

    def __getitem__(self, key):
        names = [n for n, _ in self._memopt_columns]
        if not self._memopt_handed():
            if type(key) is str and names.count(key) == 1:
                column = dict(self._memopt_columns)[key]
                return _MemoptSeries(column, None, key, lambda: self._memopt_real()[key])
            if type(key) is list and key and all(type(k) is str and names.count(k) == 1 for k in key) \
                    and len(set(key)) == len(key):
                columns = dict(self._memopt_columns)
                return _MemoptFrame._memopt_from_columns(key, [columns[k] for k in key])
        return self._memopt_real()[_memopt_unwrap(key)]

    def to_numpy(self, dtype=None, copy=False, *args, **kwargs):
        import numpy as _memopt_np
        if self._memopt_handed() or args or kwargs or self._memopt_block is None:
            return self._memopt_real().to_numpy(dtype, copy, *args, **kwargs)
        out = _memopt_np.asarray(self._memopt_block.T, dtype=dtype)
        return out.copy() if copy and _memopt_np.shares_memory(out, self._memopt_block) else out

    values = property(lambda self: self.to_numpy())

    def to_csv(self, path_or_buf=None, *args, index=True, header=True, **kwargs):
        import numpy as _memopt_np
        if self._memopt_handed() or args or kwargs or type(index) is not bool or type(header) is not bool \
                or not isinstance(path_or_buf, (str, _memopt_os.PathLike)) \
                or any(c.dtype.kind not in "biu" and c.dtype != _memopt_np.float64 for _, c in self._memopt_columns):
            return self._memopt_real().to_csv(path_or_buf, *args, index=index, header=header, **kwargs)
        with open(path_or_buf, "w", newline="", encoding="utf-8") as f:
            writer = _memopt_csv.writer(f, lineterminator="\n")
            names = [n for n, _ in self._memopt_columns]
            if header:
                writer.writerow(([""] if index else []) + names)
            columns = [[("" if v != v else v) for v in c.tolist()] if c.dtype.kind == "f" else c.tolist()
                       for _, c in self._memopt_columns]
            for i, row in enumerate(zip(*columns)):
                writer.writerow(([i] if index else []) + list(row))


def _memopt_plain_columns(data):
    """[(name, 1-D array)] when `data` is what the stand-in builds exactly, else None."""
    import numpy as _memopt_np
    if type(data) is not dict or not data:
        return None
    out = []
    for name, values in data.items():
        if type(name) is not str or not isinstance(values, (list, tuple, range, _memopt_np.ndarray)):
            return None
        array = _memopt_np.asarray(values)
        if array.ndim != 1 or array.dtype.kind not in "biuf" or len(array) == 0:
            return None
        out.append((name, array))
    return out if len({len(a) for _, a in out}) == 1 else None


def _memopt_data_frame(data=None, *args, **kwargs):
    columns = None if args or kwargs else _memopt_plain_columns(data)
    if columns is None:
        return _memopt_pandas().DataFrame(_memopt_unwrap(data), *_memopt_unwrap(args), **_memopt_unwrap(kwargs))
    return _MemoptFrame._memopt_from_columns([n for n, _ in columns], [a for _, a in columns])


def _memopt_series(data=None, *args, name=None, **kwargs):
    import numpy as _memopt_np
    if not args and not kwargs and isinstance(data, (list, tuple, range, _memopt_np.ndarray)) and len(data) \
            and (name is None or type(name) is str):
        values = _memopt_np.array(data)
        if values.ndim == 1 and values.dtype.kind in "biuf":
            return _MemoptSeries(values, None, name)
    return _memopt_pandas().Series(_memopt_unwrap(data), *_memopt_unwrap(args), name=name, **_memopt_unwrap(kwargs))


def _memopt_scan_csv(path, sep):
    """The header's names when the file is a plain CSV the stand-in reads exactly, else None."""
    with open(path, newline="", encoding="utf-8") as f:
        header = f.readline()
        names = next(_memopt_csv.reader([header], delimiter=sep), [])
        if not names or "" in names or len(set(names)) != len(names) or header.startswith("\ufeff") \
                or '"' in header or "\r" in header:
            return None
        fields, rows = len(names) - 1, 0
        for line in f:
            if line.count(sep) != fields or _MEMOPT_FRAME_INEXACT.search(line) or not line.strip():
                return None
            rows += 1
    return names if rows else None


def _memopt_read_csv(path, *args, usecols=None, sep=",", **kwargs):
    import numpy as _memopt_np
    plain = not args and not kwargs and isinstance(path, (str, _memopt_os.PathLike)) \
        and sep in (",", ";", "|", ":") \
        and (usecols is None or (type(usecols) in (list, tuple) and all(type(c) is str for c in usecols)
                                 and len(set(usecols)) == len(usecols)))
    names = _memopt_scan_csv(path, sep) if plain and _memopt_os.path.isfile(path) else None
    if names is None or (usecols is not None and not set(usecols) <= set(names)):
        return _memopt_pandas().read_csv(path, *args, usecols=usecols, sep=sep, **kwargs)
    wanted = [j for j, n in enumerate(names) if usecols is None or n in usecols]  # file order, as pandas

    def load(dtype, columns):
        import numpy as _memopt_np
        with _memopt_warnings.catch_warnings():  # "1.5" must not parse as the integer 1
            _memopt_warnings.simplefilter("error", DeprecationWarning)
            return _memopt_np.loadtxt(path, delimiter=sep, dtype=dtype, usecols=columns, ndmin=2,
                                      skiprows=1, comments=None, encoding="utf-8")
    try:
        data = load(_memopt_np.int64, wanted)  # (rows, columns): its transpose is pandas' block
        return _MemoptFrame(data.T, [(names[j], data[:, k]) for k, j in enumerate(wanted)])
    except (ValueError, DeprecationWarning, OverflowError):
        pass
    try:
        data = load(_memopt_np.float64, wanted)
    except ValueError:  # text, missing values: what pandas is for
        return _memopt_pandas().read_csv(path, usecols=usecols, sep=sep)
    columns = []
    for k, j in enumerate(wanted):
        column = data[:, k]
        if _memopt_np.isfinite(column).all() and (column == _memopt_np.round(column)).all():
            try:  # integral values: int64 when every field is written as an integer
                column = load(_memopt_np.int64, [j])[:, 0]
            except (ValueError, DeprecationWarning, OverflowError):
                pass
        columns.append(column)
    if all(c.dtype == _memopt_np.float64 for c in columns):
        return _MemoptFrame(data.T, [(names[j], data[:, k]) for k, j in enumerate(wanted)])
    del data
    return _MemoptFrame._memopt_from_columns([names[j] for j in wanted], columns)


class _MemoptPandas:
    read_csv = staticmethod(_memopt_read_csv)
    DataFrame = staticmethod(_memopt_data_frame)
    Series = staticmethod(_memopt_series)

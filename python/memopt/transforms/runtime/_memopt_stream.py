"""A CSV file read block by block (written by memopt's static-to-dynamic pass).

`_MemoptCsvStream(reader, path, **options)` stands where `reader(path, **options)` (pandas'
read_csv or the flatten pass's stand-in) loaded the whole file. The pass proved that the
program only asks for `len(...)` of it and passes it to one block-wise function F (F's rows
of output depend each on one block of B input rows, complete blocks only; F has no side
effects). `_memopt_blockwise(F, stream, B, columns)` then reads the file a few blocks at a
time (a multiple of B rows), calls F on each piece and stacks the results, so the whole
table is never in memory. Values are parsed as float64 (F converts every column it reads
to float64 first). Anything that is not a plain numeric CSV (quotes, blank lines, ragged
rows, duplicate or missing column names, values numpy cannot parse) makes it fall back to
`reader(path, **options)` and F on the whole table, exactly as the program did before.
"""
import csv as _memopt_csv
import itertools as _memopt_itertools
import os as _memopt_os
import re as _memopt_re

_MEMOPT_STREAM_INEXACT = _memopt_re.compile(r'["\r\t _eE]|(?:\d\.?){16}')
_MEMOPT_STREAM_ROWS = 2048  # rows read at a time, rounded down to whole blocks (8192: +3 MB, 512: slower)


class _MemoptStreamFallback(Exception):
    pass


class _MemoptColumn:
    def __init__(self, values):
        self.values = values

    def __len__(self):
        return len(self.values)

    def to_numpy(self, dtype=None, copy=False):
        import numpy as _memopt_np
        out = _memopt_np.asarray(self.values, dtype=dtype)
        return out.copy() if copy and out is self.values else out


class _MemoptBlock:
    def __init__(self, columns, rows):
        self._columns = columns
        self._rows = rows

    def __len__(self):
        return self._rows

    def __getitem__(self, name):
        return _MemoptColumn(self._columns[name])


class _MemoptCsvStream:
    def __init__(self, reader, path, **options):
        self._reader, self._path, self._options = reader, path, options
        self._sep = options.get("sep", ",")
        self._rows = None
        self._frame = None
        with open(path, newline="", encoding="utf-8") as f:  # fails now, as the whole read did, on a missing file
            header = f.readline()
        self._names = next(_memopt_csv.reader([header], delimiter=self._sep), [])
        usecols = options.get("usecols")
        self._simple = (self._sep in (",", ";", "|", ":") and bool(self._names) and "" not in self._names
                        and not header.startswith("\ufeff") and "\r" not in header
                        and len(set(self._names)) == len(self._names) and '"' not in header
                        and (usecols is None or all(c in self._names for c in usecols)))

    def _whole(self):
        if self._frame is None:
            self._frame = self._reader(self._path, **self._options)
        return self._frame

    def _check(self, line, commas):
        # also what numpy and pandas might parse differently: blanks, exponents, >15 digits
        if line.count(self._sep) != commas or not line.strip() or _MEMOPT_STREAM_INEXACT.search(line):
            raise _MemoptStreamFallback()

    def __len__(self):
        if self._rows is None:
            if self._frame is None and self._simple:
                try:
                    commas = len(self._names) - 1
                    rows = 0
                    with open(self._path, newline="", encoding="utf-8") as f:
                        f.readline()
                        for line in f:
                            self._check(line, commas)
                            rows += 1
                    self._rows = rows
                except _MemoptStreamFallback:
                    self._simple = False
            if self._rows is None:
                self._rows = len(self._whole())
        return self._rows

    def _pieces(self, rows, columns):
        import numpy as _memopt_np
        wanted = [self._names.index(c) for c in columns]
        commas = len(self._names) - 1
        with open(self._path, newline="", encoding="utf-8") as f:
            f.readline()
            while True:
                lines = list(_memopt_itertools.islice(f, rows))
                for line in lines:
                    self._check(line, commas)
                if lines:
                    try:
                        data = _memopt_np.loadtxt(lines, delimiter=self._sep, dtype=_memopt_np.float64,
                                                  usecols=wanted, ndmin=2, comments=None)
                    except ValueError:
                        raise _MemoptStreamFallback() from None
                else:
                    data = _memopt_np.empty((0, len(wanted)))
                yield _MemoptBlock({c: _memopt_np.ascontiguousarray(data[:, j])
                                    for j, c in enumerate(columns)}, len(lines))
                if len(lines) < rows:
                    return


def _memopt_blockwise(function, data, block, columns):
    """function(data) for a block-wise function, computed a few blocks at a time."""
    import numpy as _memopt_np
    if not isinstance(data, _MemoptCsvStream):
        return function(data)
    if data._frame is None and data._simple:
        usecols = data._options.get("usecols")
        columns = list(columns) if columns is not None else list(usecols if usecols is not None else data._names)
        if all(c in data._names for c in columns) and (usecols is None or all(c in usecols for c in columns)):
            rows = max(1, _MEMOPT_STREAM_ROWS // block) * block
            try:
                parts = [function(piece) for piece in data._pieces(rows, columns)]
                return _memopt_np.concatenate(parts, axis=0)
            except _MemoptStreamFallback:
                data._simple = False
    return function(data._whole())

"""flatten's library-function copies (inline_functions.py): what is copied, that the module is
no longer imported and the output is the same, and each refusal with its reason."""
import ast
import itertools
import os
import subprocess
import sys
import textwrap

import pytest

from memopt.transforms import flatten
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"
_counter = itertools.count()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def library(tmp_path, monkeypatch):
    """A fresh package name per test (the pass imports it in this process): its __init__
    re-exports from _ops and imports a 'heavy' module the functions never need."""
    name = f"thinlib{next(_counter)}"
    root = tmp_path / "site"
    write(root / name / "__init__.py", f"""\
        from . import heavy
        from ._ops import scale, total, Point, decorated, computed, listed, warns, warns_too, keyed, pair, annotated
        """)
    write(root / name / "heavy.py", "BIG = list(range(1000))\n")
    write(root / name / "_ops.py", """\
        import math
        import warnings
        import functools
        from warnings import warn as _warn

        FACTOR = 3
        LIMITS = (0, 10)
        TABLE = [1, 2]
        COMPUTED = math.sqrt(4)


        class Point:
            pass


        def _mul(values, k):
            '''Multiply.'''
            return [round(math.fabs(v) * k, 3) for v in values]


        def scale(values, k=FACTOR):
            '''Scale values by k.'''
            low, high = LIMITS
            return [min(max(v, low), high) for v in _mul(values, k)]


        def total(values):
            return sum(scale(values))


        def pair():
            return Point()


        @functools.lru_cache(None)
        def decorated(x):
            return x


        def computed(x):
            return x * COMPUTED


        def listed(x):
            return TABLE[x]


        def warns(x):
            warnings.warn("careful")
            return x


        def warns_too(x):
            _warn("careful")
            return x


        def _key(v):
            return -v


        def keyed(values):
            return sorted(values, key=_key)


        def annotated(values: "list[Point]", k: Point = FACTOR) -> Point:
            doubled: Point = [v * 2 for v in values]
            kept: Point
            kept = doubled
            return kept
        """)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    return name


def run_flatten(tmp_path, program):
    src = write(tmp_path / "s.py", program)
    return src, flatten.run(src, str(tmp_path / "out"))


def imported_modules(path):
    tree = ast.parse(open(path).read())
    return {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | \
        {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def output(path, cwd):
    return subprocess.run([PY, path], cwd=cwd, capture_output=True, text=True, check=True, env=os.environ).stdout


def loaded(path, cwd, module):
    code = f"import runpy, sys; runpy.run_path({path!r}, run_name='__main__'); print({module!r} in sys.modules)"
    return subprocess.run([PY, "-c", code], cwd=cwd, capture_output=True, text=True, check=True,
                          env=os.environ).stdout.strip().splitlines()[-1] == "True"


def test_copies_a_function_with_its_helpers_and_constants(tmp_path, library):
    src, report = run_flatten(tmp_path, f"""\
        # keep this comment
        from {library} import scale, total
        print(scale([1.5, -2, 7]), total([1, 2]))
        """)
    out = str(tmp_path / "out" / "s.py")
    assert library not in imported_modules(out) and f"{library}._ops" not in imported_modules(out)
    text = open(out).read()
    assert "def scale" in text and "def _mul" in text and "FACTOR = 3" in text and "LIMITS = (0, 10)" in text
    assert "Scale values" not in text  # docstrings are not copied
    assert "# keep this comment" in text
    assert output(out, tmp_path) == output(src, tmp_path)
    assert loaded(src, tmp_path, f"{library}.heavy") and not loaded(out, tmp_path, f"{library}.heavy")
    assert any(c.startswith(f"{library}: ") and "a copy of 3 functions" in c for c in report.changes)


def test_names_only_in_annotations_are_not_copied(tmp_path, library):
    """Point is a class (a refusal when it is read), but annotate the function only: the copy
    drops the annotations, so Point is neither copied nor a reason to keep the import."""
    src, report = run_flatten(tmp_path, f"from {library} import annotated\nprint(annotated([1, 2]))\n")
    out = str(tmp_path / "out" / "s.py")
    text = open(out).read()
    assert "Point" not in text.replace("kept: None", "") and "doubled = [" in text and "FACTOR = 3" in text
    assert not any(m.startswith(library) for m in imported_modules(out))
    assert output(out, tmp_path) == output(src, tmp_path) == "[2, 4]\n"


@pytest.mark.parametrize("statement", ["import {lib}._ops as ops", "from {lib} import _ops as ops"])
def test_module_used_by_attribute_calls_is_copied(tmp_path, library, statement):
    src, report = run_flatten(tmp_path, statement.format(lib=library) + "\nprint(ops.scale([4]))\n")
    out = str(tmp_path / "out" / "s.py")
    assert not any(m.startswith(library) for m in imported_modules(out))
    assert "print(scale([4]))" in open(out).read()
    assert output(out, tmp_path) == output(src, tmp_path) == "[10]\n"
    assert report.changes[0].startswith(f"{library}._ops: import replaced by a copy of 2 functions")


def test_an_alias_keeps_the_name_the_program_calls(tmp_path, library):
    src, _ = run_flatten(tmp_path, f"from {library} import scale as s\nprint(s([1]))\n")
    out = str(tmp_path / "out" / "s.py")
    assert "s = scale" in open(out).read() and output(out, tmp_path) == output(src, tmp_path)


@pytest.mark.parametrize("program, reason", [
    ("from {lib} import pair\nprint(type(pair()).__name__)\n", "Point is a class"),
    ("from {lib} import decorated\nprint(decorated(1))\n", "decorated (a wrapped function) is not a plain Python"),
    ("from {lib} import Point\nprint(Point())\n", "Point (a class) is not a plain Python function"),
    ("from {lib}._ops import FACTOR\nprint(FACTOR(1))\n", "{lib}._ops: kept: FACTOR (an object of type int) is not"),
    ("from {lib} import computed\nprint(computed(1))\n", "COMPUTED is a value computed while"),
    ("from {lib} import listed\nprint(listed(1))\n", "TABLE is mutable"),
    ("from {lib} import warns\nprint(warns(1))\n", "warnings comes from warnings: its behaviour depends on"),
    ("from {lib} import warns_too\nprint(warns_too(1))\n", "_warn comes from _warnings: its behaviour depends on"),
    ("from {lib} import keyed\nprint(keyed([1, 2]))\n", "uses the function _key as a value"),
    ("from {lib} import scale\nprint(list(map(scale, [[1]])))\n", "used other than by calling it"),
    ("from {lib} import scale\n_mul = 1\nprint(scale([1]), _mul)\n", "_mul is also a name of the program"),
    ("from {lib} import scale\nround = 1\nprint(scale([1]))\n", "the builtin round, which the program binds"),
    ("from {lib} import scale\nimport {lib}.heavy\nprint(scale([1]))\n", "another import (line 2) loads it"),
    ("from {lib} import scale\nprint(globals()['scale']([1]))\n", "names are reached dynamically"),
    ("from {lib} import heavy\nprint(1)\n", "{lib}.heavy: kept: heavy is never called"),  # the submodule
])
def test_refusals_name_what_stopped_the_copy(tmp_path, library, program, reason):
    with pytest.raises(PassRefused) as refused:
        run_flatten(tmp_path, program.format(lib=library))
    message, reason = str(refused.value), reason.format(lib=library)
    assert (f"{library}: kept: " in message or ": kept: " in reason) and reason in message, message


def test_cheap_imports_in_the_probe_are_left_alone(tmp_path, library):
    src = write(tmp_path / "s.py", f"from {library} import scale\nprint(scale([1]))\n")
    profile = {"modules": {library: {"cumulative": {"rss_bytes": 200_000}}}}
    with pytest.raises(PassRefused) as refused:
        flatten.run(src, str(tmp_path / "out"), profile)
    assert library not in str(refused.value)
    profile["modules"][library]["cumulative"]["rss_bytes"] = 5_000_000
    report = flatten.run(src, str(tmp_path / "out"), profile)
    assert any(c.startswith(f"{library} (5.0 MB charged to it in the probe): ") for c in report.changes)

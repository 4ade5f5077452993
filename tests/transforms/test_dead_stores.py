"""dead-data's unread stores (dead_stores.py, effects.py): removed when nothing reads the name and
its value has no effect; kept, with the output unchanged, for every way a read or an effect can
hide. Each case runs the original and the rewritten program (test_soundness's helper)."""
import ast
import subprocess

import pytest

from memopt.transforms import dead_data, dead_stores
from memopt.transforms.common import read_program
from test_soundness import assert_same_or_refused

PY = "/usr/bin/python3"
CSV = {"t.csv": "a,b\n1,2\n3,4\n"}


def kept(report, text, line):
    """The store is still in the rewritten program, or the pass refused (left it all alone)."""
    return report is None or line in text


def test_unread_stores_without_effect_are_removed(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import numpy as np
        import pandas as pd

        table = pd.read_csv("t.csv")
        everything = table.copy()
        squares = [x * x for x in range(1000)]
        grid = np.zeros((100, 100))
        scaled = grid * 2 + 1
        first = [1, 2, 3]
        second = first
        pairs = {"a": 1, "b": (2, 3)}

        def main(n):
            items = [n, "x"]
            again = list(items)
            shown = n
            print(shown, grid.shape)

        main(3)
        print(table["a"].sum())
        """, CSV)
    for gone in ("everything", "squares", "scaled", "first", "second", "pairs", "items", "again"):
        assert f"{gone} =" not in text, text
        assert any(f"removed unread store {gone} =" in c for c in report.changes), report.changes
    assert "table = pd.read_csv" in text and "grid = np.zeros" in text and "shown = n" in text
    said = next(c for c in report.changes if "everything =" in c)
    assert "never read, its value has no effect" in said and "line 5" in said


@pytest.mark.parametrize("reader", [
    "print(globals()['everything'].shape)",
    "print(eval('everything').shape)",
    "print(sorted(k for k in dir() if not k.startswith('_')))",
    "def show():\n    print(everything.shape)\nshow()",
    "show = lambda: everything.shape\nprint(show())",
    "print([everything.shape for _ in range(1)])",
    "class Holder:\n    held = everything\nprint(Holder.held.shape)",
    "def set_it():\n    global everything\n    everything = 1\nset_it()",
    "print(table.query('a > @everything.shape[0]'))",
    "import timeit\nprint(timeit.timeit('everything', setup='from __main__ import everything', number=1) >= 0)",
    "import importlib\nprint(importlib.import_module('__main__').everything.shape)",
    "import doctest\ndef f():\n    \"\"\"\n    >>> everything.shape\n    (2, 2)\n    \"\"\"\nprint(doctest.testmod())",
])
def test_store_kept_when_read_by_a_name_we_cannot_see_as_a_load(tmp_path, reader):
    program = 'import pandas as pd\ntable = pd.read_csv("t.csv")\neverything = table.copy()\nprint(len(table))\n'
    report, text = assert_same_or_refused(tmp_path, dead_data, program + reader + "\n", CSV)
    assert kept(report, text, "everything = "), text  # copies.py may alias it: only read


def test_store_kept_in_a_function_whose_variables_are_reached_dynamically(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        def main():
            unused = [1, 2, 3]
            print(sorted(locals()))

        main()
        """)
    assert kept(report, text, "unused = [1, 2, 3]")


def test_store_kept_when_a_nested_function_reads_it(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        def main():
            kept = [1, 2, 3]
            def inner():
                return len(kept)
            print(inner())

        main()
        """)
    assert kept(report, text, "kept = [1, 2, 3]")


@pytest.mark.parametrize("value", [
    'print("side effect")',
    "next(counter)",
    "np.random.rand(3)",                      # moves numpy's global random state
    "Noisy() + 1",                            # a user __add__
    "[n.value for n in [Noisy()]]",           # an attribute of a user object (may be a property)
    "{Noisy(): 1}",                           # a user __hash__
    "sorted([Noisy(), Noisy()])",             # a user __lt__
    "list(Noisy())",                          # a user __iter__
    "np.loadtxt('t.csv', delimiter=',', skiprows=1)",  # reading a file
])
def test_store_with_an_effect_is_kept(tmp_path, value):
    report, text = assert_same_or_refused(tmp_path, dead_data, f"""\
        import itertools
        import numpy as np

        class Noisy:
            value = 1
            def __add__(self, other):
                print("add")
                return 1
            def __hash__(self):
                print("hash")
                return 1
            def __lt__(self, other):
                print("lt")
                return True
            def __iter__(self):
                print("iter")
                return iter([])

        counter = itertools.count()
        np.random.seed(0)
        unused = {value}
        print(next(counter), np.random.rand())
        """, CSV)
    assert kept(report, text, "unused = "), text


@pytest.mark.parametrize("program", [
    # may raise in a function: a caller could catch it
    "def f(a):\n    bad = a[10]\n    return 1\ntry:\n    f([1])\nexcept IndexError:\n    print('caught')",
    # may raise inside try at module level
    "data = [1]\ntry:\n    bad = data[10]\nexcept IndexError:\n    print('caught')",
    # a name maybe unbound in a function: NameError could be caught
    "def f(flag):\n    if flag:\n        v = 1\n    bad = v\n    return 2\ntry:\n    f(False)\nexcept NameError:\n    print('caught')",
])
def test_store_that_may_raise_is_kept_where_the_exception_could_be_caught(tmp_path, program):
    report, text = assert_same_or_refused(tmp_path, dead_data, program + "\n")
    assert kept(report, text, "bad = ")


def test_module_store_kept_when_a_local_module_may_import_the_program(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "helper.py").write_text("import __main__\ndef peek():\n    return __main__.unused\n")
    script = tmp_path / "in" / "app.py"
    script.write_text("import helper\nunused = [1, 2]\nprint(helper.peek())\n")
    source, tree = read_program(str(script))
    changes, notes = [], []
    dead_stores.remove_dead_stores(tree, str(script), source, None, changes, notes)
    assert not changes and any("local module helper" in n for n in notes), notes


def test_class_body_stores_are_kept(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        class Config:
            size = [1, 2, 3]
        print(getattr(Config, "si" + "ze"))
        """)
    assert kept(report, text, "size = [1, 2, 3]")


def test_a_large_kept_store_is_reported_from_the_profile(tmp_path):
    script = tmp_path / "app.py"
    script.write_text("import numpy as np\nrng = np.random.default_rng(0)\nunused = rng.random(10**6)\nprint(1)\n")
    source, tree = read_program(str(script))
    profile = {"peak": {"top_lines": [{"file": "/elsewhere/app.py", "line": 3, "code": "unused = rng.random(10**6)",
                                       "bytes": 8_000_000, "user_code": True},
                                      {"file": "/elsewhere/app.py", "line": 2, "code": "moved", "bytes": 9_000_000}]}}
    changes, notes = [], []
    dead_stores.remove_dead_stores(tree, str(script), source, profile, changes, notes)
    assert not changes
    assert any("unread store kept: unused = rng.random(10 ** 6) (line 3, 8.0 MB" in n and "calls" in n
               for n in notes), notes
    assert dead_stores.profile_line_sizes(profile, str(script), source) == {3: 8_000_000}


def _profile(line, code, size=16_000_000):
    return {"peak": {"top_lines": [{"file": "/baseline/app.py", "line": line, "code": code, "bytes": size}]}}


@pytest.mark.parametrize("program, released", [
    ("import numpy as np\nrng = np.random.default_rng(0)\nunused = rng.random(2_000_000)\nprint(rng.random())\n", True),
    # a resource: releasing it early would close the file early
    ("out = open('o.txt', 'w')\nunused = open('o.txt', 'a')\nprint(1)\n", False),
    # code run at release: a __del__ would run earlier
    ("class Big:\n    def __del__(self):\n        print('freed')\ndef make():\n    return Big()\n"
     "unused = make()\nprint('end')\n", False),
])
def test_a_large_unread_result_is_released_at_once_unless_a_finalizer_could_see_it(tmp_path, program, released):
    (tmp_path / "in").mkdir()
    script = tmp_path / "in" / "app.py"
    script.write_text(program)
    line = next(i for i, text in enumerate(program.splitlines(), 1) if text.startswith("unused ="))
    source, tree = read_program(str(script))
    changes, notes = [], []
    dead_stores.remove_dead_stores(tree, str(script), source, _profile(line, program.splitlines()[line - 1]),
                                   changes, notes, dead_data._release_rule(tree))
    if released:
        assert any("is released at once" in c and "16.0 MB" in c for c in changes), changes
        rewritten = tmp_path / "rewritten.py"
        rewritten.write_text(ast.unparse(tree))
        assert "\nrng.random(2000000)\n" in rewritten.read_text()
        run = lambda p: subprocess.run([PY, str(p)], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        assert run(rewritten) == run(script)
    else:
        assert not changes and any("not released at once" in n for n in notes), notes


@pytest.mark.parametrize("patch", [
    "np.zeros = lambda shape: print('patched') or 0",
    "import builtins\nbuiltins.list = lambda x: print('patched') or []",
])
def test_store_kept_when_numpy_or_builtins_are_patched(tmp_path, patch):
    report, text = assert_same_or_refused(tmp_path, dead_data, "import numpy as np\n" + patch + "\n"
                                          "unused = np.zeros(3)\nalso = list([1])\nprint(np.__name__)\n")
    assert kept(report, text, "unused = np.zeros(3)") or kept(report, text, "also = list([1])"), text
    assert kept(report, text, "unused = np.zeros(3)" if "np.zeros" in patch else "also = list([1])"), text


def test_a_value_that_may_warn_is_kept_when_the_program_handles_warnings(tmp_path):
    report, text = assert_same_or_refused(tmp_path, dead_data, """\
        import logging
        import numpy as np
        logging.captureWarnings(True)
        zero = np.zeros(3)
        ratio = zero / zero
        print(zero.sum())
        """)
    assert kept(report, text, "ratio = zero / zero"), text

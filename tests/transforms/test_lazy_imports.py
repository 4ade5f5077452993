"""The lazy-imports pass: what it defers, what it leaves alone, and that the rewritten
program behaves as the original (run for real, with a package tree written here)."""
import json
import os
import subprocess
import textwrap

import pytest

from memopt.transforms import lazy_imports, module_cache
from memopt.transforms.common import PassRefused

PY = "/usr/bin/python3"

# heavy/ re-exports `f` from heavy.used; heavy.unused allocates 8 MB at import and never runs.
PACKAGE = {
    "heavy/__init__.py": '"""A package that only re-exports."""\nfrom .used import f\nfrom . import unused\n'
                         '__version__ = "1.0"\n',
    "heavy/used.py": "import marks\n_ = marks.seen.append('used')\ndef f():\n    return 42\n",
    "heavy/unused.py": "import marks\n_ = marks.seen.append('unused')\nBIG = bytearray(8 << 20)\n"
                       "def g():\n    return len(BIG)\n",
    "marks.py": "seen = []\n",
    "registers.py": "import marks\nmarks.seen.append('registers')\nmarks.seen.sort()\n",
    "computed/__init__.py": "def helper():\n    return 1\n",
    "options.py": "import marks\nif True:\n    with open(__file__):\n        _ = marks.seen.append('options')\n",
}


def _write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def _profile(lib, ran=("heavy.used",), extra=None):
    def entry(rel, runs):
        return {"file": os.path.join(lib, rel), "preloaded": False, "functions_run": runs, "ran": bool(runs),
                "cumulative": {"rss_bytes": 9 << 20 if "unused" in rel else 1 << 16}}
    modules = {"heavy": entry("heavy/__init__.py", 0), "heavy.used": entry("heavy/used.py", 1),
               "heavy.unused": entry("heavy/unused.py", 0), "registers": entry("registers.py", 0),
               "computed": entry("computed/__init__.py", 1), "options": entry("options.py", 0), "_json": {"file": "/x/_json.so", "functions_run": 0}}
    for name in list(modules):
        if name in ran:
            modules[name]["functions_run"] = modules[name]["ran"] = 1
    modules.update(extra or {})
    return {"modules": modules}


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMOPT_CACHE_DIR", str(tmp_path / "cache"))  # the pass's module_cache: this test's own
    lib = tmp_path / "lib"
    _write(str(lib), PACKAGE)
    # the pass imports the packages in a scratch interpreter, which must find them
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(lib), os.environ.get("PYTHONPATH", "")]))
    return tmp_path, str(lib)


def _program(tmp_path, body):
    script = tmp_path / "app" / "app.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(body))
    return str(script)


def _run(script, lib):
    env = dict(os.environ, PYTHONPATH=lib)
    done = subprocess.run([PY, script], capture_output=True, text=True, env=env, cwd=os.path.dirname(script))
    assert done.returncode == 0, done.stderr
    return done.stdout


APP = """\
    import marks
    from heavy import f
    import heavy.unused
    import heavy.unused as again
    print(f(), heavy.__version__, sorted(marks.seen))
    """


def test_never_run_module_is_not_loaded_and_output_is_the_same(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, APP)
    out = tmp_path / "out"
    report = lazy_imports.run(script, str(out), _profile(lib))
    assert report.applied
    ids = [c["id"] for c in report.candidates]
    assert "heavy.unused" in ids and ids == sorted(ids, key=lambda g: -next(
        c["estimated_saving_bytes"] for c in report.candidates if c["id"] == g))
    # the original imports heavy.unused (8 MB); the rewrite binds it without running it,
    # even though it is imported twice (the second import reads only __spec__)
    assert _run(script, lib) == "42 1.0 ['unused', 'used']\n"
    assert _run(report.program, lib) == "42 1.0 ['used']\n"
    assert open(report.program).read().splitlines()[0] == "import _memopt_lazy"


def test_a_deferred_module_runs_when_first_touched(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, "import marks\nimport heavy.unused\nprint(heavy.unused.g(), 'unused' in marks.seen)\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib))
    assert _run(report.program, lib) == _run(script, lib)


def test_select_applies_only_the_chosen_candidates(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, APP)
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib), select=["heavy"])
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "heavy.unused" not in table.split("EXPORTS")[0]
    with pytest.raises(PassRefused):
        lazy_imports.run(script, str(tmp_path / "out2"), _profile(lib), select=[])
    assert report.applied


def test_modules_with_import_time_calls_compiled_or_computed_bodies_are_left_alone(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, "import registers, computed, options, marks\nprint(marks.seen)\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib))
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "'registers'" not in table      # its top level calls marks.seen.sort() at import
    assert "'options'" not in table        # a with block at its top level (inside an if)
    assert "_json" not in table            # compiled
    assert "'computed'" not in table       # its body defines a function: not a re-export
    assert _run(report.program, lib) == _run(script, lib)


def test_refuses_without_a_profile_and_on_a_rewritten_program(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, APP)
    with pytest.raises(PassRefused, match="profile"):
        lazy_imports.run(script, str(tmp_path / "out"), None)
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib))
    with pytest.raises(PassRefused, match="already"):
        lazy_imports.run(report.program, str(tmp_path / "out2"), _profile(lib))


def test_two_threads_touching_a_deferred_module_run_its_body_once(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, """\
        import threading, marks
        import heavy.unused
        sizes = []
        threads = [threading.Thread(target=lambda: sizes.append(heavy.unused.g())) for _ in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(sizes, marks.seen.count('unused'))
        """)
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib))
    assert _run(report.program, lib) == _run(script, lib) == f"{[8 << 20] * 8} 1\n"


def test_reports_each_heavy_import_and_what_was_done(tree):
    tmp_path, lib = tree
    script = _program(tmp_path, APP)
    report = lazy_imports.run(script, str(tmp_path / "out"), _profile(lib))
    said = [c for c in report.changes if c.startswith("import heavy.unused costs")]
    assert said and "deferred" in said[0]


# A package like sklearn.datasets: re-exports, a module __getattr__ for removed names and an
# `if typing.TYPE_CHECKING:` block; its submodule `big` (8 MB at import) never runs.
DEPRECATING = {
    "datasets/__init__.py": "import typing\nfrom .base import load\nfrom .big import fetch\n"
                            "if typing.TYPE_CHECKING:\n    from .typed import Hint\n"
                            "__all__ = ['load', 'fetch']\n\n"
                            "def __getattr__(name, _default='x'):\n"
                            "    if name == 'old':\n        return 'old was removed'\n"
                            "    raise AttributeError(f'module {__name__} has no attribute {name}')\n",
    "datasets/base.py": "def load():\n    return [1, 2, 3]\n",
    "datasets/big.py": "import marks\nmarks.seen.append('big')\nBIG = bytearray(8 << 20)\n"
                       "def fetch():\n    return len(BIG)\n",
    "decorated/__init__.py": "import functools\nfrom .base import value\n\n@functools.lru_cache\n"
                             "def cached():\n    return 1\n",
    "decorated/base.py": "value = 7\n",
}


def _deprecating_profile(lib):
    def entry(rel, runs, size=1 << 16):
        return {"file": os.path.join(lib, rel), "preloaded": False, "functions_run": runs, "ran": bool(runs),
                "cumulative": {"rss_bytes": size}}
    return _profile(lib, extra={"datasets": entry("datasets/__init__.py", 1), "datasets.base": entry("datasets/base.py", 1),
                                "datasets.big": entry("datasets/big.py", 0, 9 << 20),
                                "decorated": entry("decorated/__init__.py", 1),
                                "decorated.base": entry("decorated/base.py", 1)})


def test_a_package_with_a_module_getattr_and_type_checking_imports_is_skipped_as_a_re_export(tree):
    tmp_path, lib = tree
    _write(lib, DEPRECATING)
    script = _program(tmp_path, """\
        import marks
        from datasets import load
        import datasets, decorated
        print(load(), datasets.old, sorted(marks.seen), decorated.value)
        try:
            datasets.missing
        except AttributeError as e:
            print('AttributeError', e)
        print(datasets.fetch(), sorted(marks.seen))
        """)
    report = lazy_imports.run(script, str(tmp_path / "out"), _deprecating_profile(lib))
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "'datasets'" in table.split("EXPORTS")[1]     # skipped as a re-exporting package
    assert "'decorated'" not in table.split("EXPORTS")[1]  # a decorator runs code at import
    original, rewritten = _run(script, lib), _run(report.program, lib)
    assert original == rewritten  # the deprecation message, the AttributeError, fetch() loading big
    # a program that only takes `load` never runs the package body, so big is never loaded;
    # `old` (answered by the package's __getattr__) runs the body, as it must
    env = dict(os.environ, PYTHONPATH=lib)
    probe = "import marks\nfrom datasets import load\nimport datasets\nprint(load(), marks.seen)\n" \
            "print(datasets.old, marks.seen)\n"
    first = subprocess.run([PY, "-c", "import _memopt_lazy\n" + probe], capture_output=True, text=True, env=env,
                           cwd=str(tmp_path / "out"), check=True).stdout
    assert first == "[1, 2, 3] []\nold was removed ['big']\n"


# lib/uses.py takes g from heavy.unused at its top level, for a function that only some
# programs call; lib/rebinds.py binds the same name twice, lib/introspects.py calls globals().
CONSUMERS = {
    "uses.py": "import marks\nfrom heavy.unused import g, BIG as big\n_ = marks.seen.append('uses')\n"
               "def size():\n    return g()\nclass Sized:\n    def size(self):\n        return len(big)\n",
    "rebinds.py": "from heavy.unused import g\ndef size():\n    return g()\ntry:\n    pass\nexcept Exception:\n"
                  "    g = None\n",
    "introspects.py": "from heavy.unused import g\ndef size():\n    return globals()['g']()\n",
    # reexp re-exports h from reexp.big (4 MB, never run); quiet takes it inside a with block
    "reexp/__init__.py": "from .big import h\n",
    "reexp/big.py": "import marks\n_ = marks.seen.append('big')\nBIG = bytearray(4 << 20)\ndef h():\n    return len(BIG)\n",
    "quiet.py": "import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
                "    from reexp import h\ndef size():\n    return h()\n",
}


def _consumers_profile(lib, after_import=()):
    def entry(rel):
        return {"file": os.path.join(lib, rel), "preloaded": False, "functions_run": 1, "ran": True,
                "functions_run_after_import": 1 if rel in after_import or rel[:-3] in after_import else 0,
                "cumulative": {"rss_bytes": 1 << 16}}
    extra = {name[:-3].replace("/", ".").removesuffix(".__init__"): entry(name) for name in CONSUMERS}
    extra["reexp.big"].update(functions_run=0, ran=False, functions_run_after_import=0)
    return _profile(lib, extra=extra)


def test_a_library_module_s_from_import_of_a_deferred_module_waits_until_the_name_is_read(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, """\
        import marks, uses
        print(sorted(marks.seen))
        print(uses.Sized().size(), uses.size(), sorted(marks.seen))
        import heavy.unused
        print(uses.g is heavy.unused.g, hasattr(uses, 'nothing'))
        """)
    report = lazy_imports.run(script, str(tmp_path / "out"), _consumers_profile(lib, after_import=CONSUMERS))
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "uses\\tbig g" in table and "rebinds" not in table.split("REBIND")[1] and \
        "introspects" not in table.split("REBIND")[1]
    assert any("names unbound" in c for c in report.changes)
    original, rewritten = _run(script, lib), _run(report.program, lib)
    # the original runs heavy (and so heavy.used) and heavy.unused (8 MB) when uses is
    # imported; the rewrite skips heavy's body (a re-export) and runs heavy.unused when size() runs
    assert original.splitlines()[0] == "['unused', 'used', 'uses']"
    assert rewritten.splitlines()[0] == "['uses']"
    assert original.splitlines()[1] == f"{8 << 20} {8 << 20} ['unused', 'used', 'uses']"
    assert rewritten.splitlines()[1] == f"{8 << 20} {8 << 20} ['unused', 'uses']"
    assert original.splitlines()[2] == rewritten.splitlines()[2] == "True False"


def test_names_bound_twice_or_read_through_globals_stay_eager(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, "import marks, rebinds, introspects\nprint(sorted(marks.seen), rebinds.size(), "
                                "introspects.size())\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), _consumers_profile(lib, after_import=CONSUMERS))
    rebind = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read().split("REBIND")[1]
    assert "uses" in rebind and "rebinds" not in rebind and "introspects" not in rebind
    # both import heavy.unused at once, as the original does
    assert _run(report.program, lib) == f"['unused'] {8 << 20} {8 << 20}\n"
    assert _run(script, lib) == f"['unused', 'used'] {8 << 20} {8 << 20}\n"


def test_a_library_changed_after_optimize_is_rewritten_again_at_import(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, "import marks, uses\nprint(sorted(marks.seen), uses.size())\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), _consumers_profile(lib, after_import=CONSUMERS))
    assert "uses.bin" in os.listdir(os.path.join(tmp_path, "out", "_memopt_lazy_code"))
    assert _run(report.program, lib) == f"['uses'] {8 << 20}\n"
    # the stored code no longer matches the source: the runtime rewrites the new source
    with open(os.path.join(lib, "uses.py"), "a") as f:
        f.write("def size():\n    return -g()\n")
    assert _run(report.program, lib) == f"['uses'] {-(8 << 20)}\n"


def test_modules_whose_code_ran_only_during_imports_are_deferred(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, "import uses\nprint(uses.size())\n")
    # uses ran a function, but only while imports ran: it is deferred as well
    report = lazy_imports.run(script, str(tmp_path / "out"), _consumers_profile(lib))
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "uses" in table.split("EXPORTS")[0]
    report = lazy_imports.run(script, str(tmp_path / "out2"), _consumers_profile(lib, after_import=("uses",)))
    table = open(os.path.join(tmp_path, "out2", "_memopt_lazy_table.py")).read()
    assert "uses" not in table.split("EXPORTS")[0]
    assert _run(report.program, lib) == _run(script, lib)


def test_a_name_a_re_exporting_package_hands_out_waits_also_inside_a_with_block(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, "import marks, quiet\nprint(sorted(marks.seen))\nprint(quiet.size(), sorted(marks.seen))\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), _consumers_profile(lib, after_import=CONSUMERS))
    table = open(os.path.join(tmp_path, "out", "_memopt_lazy_table.py")).read()
    assert "quiet\\th=reexp.big:h" in table
    assert _run(script, lib) == f"['big']\n{4 << 20} ['big']\n"
    assert _run(report.program, lib) == f"[]\n{4 << 20} ['big']\n"


# An import cycle inside a package, as in pandas.io.excel: the package binds Writer from _base
# and registers _impl's writer at import; _base's class body imports _impl; _impl's class
# derives from _base's Writer. Reads made while a module loads must keep their order.
CYCLE = {
    "cyc/__init__.py": "from cyc._base import Writer\nfrom cyc._impl import ImplWriter as _ImplWriter\n"
                       "from cyc._util import register\nregister(_ImplWriter)\n"
                       "class Keep:  # a class: the body computes what it holds, never skipped\n    pass\n",
    "cyc/_util.py": "writers = []\ndef register(w):\n    writers.append(w.__name__)\n",
    "cyc/_base.py": "class Writer:\n    pass\nclass File:\n    from cyc._impl import Reader\n",
    "cyc/_impl.py": "from cyc._base import Writer\nclass ImplWriter(Writer):\n    pass\nclass Reader:\n    pass\n",
}


def test_names_read_while_a_module_loads_stay_eager_so_import_cycles_resolve_as_before(tree):
    tmp_path, lib = tree
    _write(lib, CYCLE)

    def entry(rel, after):
        return {"file": os.path.join(lib, rel), "preloaded": False, "functions_run": 1, "ran": True,
                "functions_run_after_import": after, "cumulative": {"rss_bytes": 1 << 16}}
    profile = _profile(lib, extra={"cyc": entry("cyc/__init__.py", 1), "cyc._base": entry("cyc/_base.py", 0),
                                   "cyc._impl": entry("cyc/_impl.py", 0), "cyc._util": entry("cyc/_util.py", 0)})
    script = _program(tmp_path, "import cyc, cyc._base, cyc._util\nprint(cyc._util.writers, cyc._base.File.Reader.__name__)\n")
    report = lazy_imports.run(script, str(tmp_path / "out"), profile)
    assert _run(report.program, lib) == _run(script, lib) == "['ImplWriter'] Reader\n"


def _pass_output(folder):
    """The table and the stored code a run of the pass wrote (what a later run must repeat)."""
    files = {"table": open(os.path.join(folder, "_memopt_lazy_table.py")).read()}
    code = os.path.join(folder, "_memopt_lazy_code")
    for name in sorted(os.listdir(code)):
        files[name] = open(os.path.join(code, name), "rb").read()[:200]  # the key: source, names
    return files


def test_a_second_run_of_the_pass_reads_its_analysis_from_the_cache_and_writes_the_same(tree):
    tmp_path, lib = tree
    _write(lib, CONSUMERS)
    script = _program(tmp_path, "import marks, uses, quiet\nprint(sorted(marks.seen), uses.size(), quiet.size())\n")
    profile = _consumers_profile(lib, after_import=CONSUMERS)
    first = lazy_imports.run(script, str(tmp_path / "out1"), profile)
    cache = os.listdir(os.path.join(tmp_path, "cache", f"module-analysis-{module_cache.FORMAT}"))
    assert any(n.endswith(".rebind") for n in cache) and any(n.endswith(".code") for n in cache) and \
        any(n.endswith(".calls") for n in cache) and any(n.endswith(".exports") for n in cache)
    second = lazy_imports.run(script, str(tmp_path / "out2"), profile)
    assert _pass_output(tmp_path / "out1") == _pass_output(tmp_path / "out2") and second.changes == first.changes
    assert _run(second.program, lib) == _run(first.program, lib)
    # a library module changed since: its entries are stale, and the pass analyses it again
    with open(os.path.join(lib, "uses.py"), "a") as f:
        f.write("def size():\n    return -g()\n")
    third = lazy_imports.run(script, str(tmp_path / "out3"), profile)
    assert _run(third.program, lib).split()[-2] == f"{-(8 << 20)}"
    assert _pass_output(tmp_path / "out3")["uses.bin"] != _pass_output(tmp_path / "out1")["uses.bin"]
    # a re-exporting package whose body changed: its export map is made again (h no longer re-exported)
    with open(os.path.join(lib, "reexp", "__init__.py"), "w") as f:
        f.write("from .big import h as _h\ndef h():\n    return _h()\n")
    fourth = lazy_imports.run(script, str(tmp_path / "out4"), profile)
    def exports(folder):
        return _pass_output(folder)["table"].split("EXPORTS")[1].split("REBIND")[0]
    assert "\\nh\\treexp.big\\th" in exports(tmp_path / "out1") and "\\nh\\t!" in exports(tmp_path / "out4")
    assert _run(fourth.program, lib).split()[-2:] == _run(script, lib).split()[-2:]  # seen: what ran, not output


def test_the_module_cache_answers_only_for_the_source_it_was_kept_for(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMOPT_CACHE_DIR", str(tmp_path / "cache"))
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    assert module_cache.get("calls", str(module)) is None
    module_cache.put("calls", str(module), [3])
    assert module_cache.get("calls", str(module)) == [3] and module_cache.get("calls", str(module), "other") is None
    assert os.stat(tmp_path / "cache" / f"module-analysis-{module_cache.FORMAT}").st_mode & 0o777 == 0o700
    module.write_text("x = 10\n")  # another size: stale
    assert module_cache.get("calls", str(module)) is None
    # a damaged entry is no answer
    entry = next((tmp_path / "cache").rglob("*.calls"))
    entry.write_bytes(b"\x00garbage")
    assert module_cache.get("calls", str(module)) is None
    monkeypatch.setenv("MEMOPT_CACHE_DIR", "off")
    module_cache.put("calls", str(module), [4])
    assert module_cache.get("calls", str(module)) is None
    monkeypatch.setenv("MEMOPT_CACHE_DIR", str(module / "not-a-folder"))  # unwritable: silently unused
    module_cache.put("calls", str(module), [5])
    assert module_cache.get("calls", str(module)) is None


def test_the_module_cache_is_pruned_least_recently_used_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMOPT_CACHE_DIR", str(tmp_path / "cache"))
    modules = []
    for i in range(3):
        module = tmp_path / f"m{i}.py"
        module.write_text("x = 1\n")
        module_cache.put_bytes("code", str(module), b"x" * 1000)
        modules.append(str(module))
    folder = tmp_path / "cache" / f"module-analysis-{module_cache.FORMAT}"
    for age, entry in enumerate(sorted(folder.iterdir(), key=lambda e: e.name)):
        os.utime(entry, ns=(age * 10**9, age * 10**9))
    oldest = min(modules, key=lambda m: os.stat(module_cache._entry("code", m)).st_mtime_ns)
    assert module_cache.get_bytes("code", oldest) == b"x" * 1000  # a use makes it the newest
    module_cache.prune(max_bytes=2500)
    left = [m for m in modules if module_cache.get_bytes("code", m) is not None]
    assert len(left) == 2 and oldest in left
    monkeypatch.setenv("MEMOPT_CACHE_DIR", "off")
    module_cache.prune(max_bytes=0)  # off: touches nothing (not the working directory)
    assert len(list(folder.iterdir())) == 2

"""The pass table (memopt.transforms.PASSES): every entry points at a real pass, and the
command-line entry `python3 -m memopt.transforms` lists and dispatches exactly that table."""
import importlib
import json
import subprocess

import memopt.transforms as transforms
from memopt.transforms import KINDS, PASSES

PY = "/usr/bin/python3"


def module_main(*args, cwd=None):
    return subprocess.run([PY, "-m", "memopt.transforms", *args], capture_output=True, text=True, cwd=cwd)


def test_every_entry_names_a_pass_module_with_run():
    assert [p.name for p in PASSES] == ["static-to-dynamic", "lazy-imports", "dead-data", "flatten", "flags"]
    for p in PASSES:
        module = importlib.import_module(f"memopt.transforms.{p.module}")
        assert callable(module.run), p.name
        assert p.kind in KINDS
        assert p.summary
    steps = [p.step for p in PASSES]
    assert steps == sorted(steps) and set(steps) == {2, 3, 4, 5}, "in the paper's order, every step 2-5 has a pass"


def test_list_json_is_the_table():
    r = module_main("--list-json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == transforms.table()
    assert [e["name"] for e in json.loads(r.stdout)] == [p.name for p in PASSES]


def test_listing_imports_no_pass():
    code = ("import sys, memopt.transforms as t; t.table(); "
            "print(sorted(m for m in sys.modules if m.startswith('memopt.transforms.')))")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_dispatch_follows_the_table(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import os\nprint(1)\n")
    r = module_main("dead-data", str(script), str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["applied"] and report["pass"] == "dead-data"
    r = module_main("nonsense", str(script), str(tmp_path / "out2"))
    assert r.returncode == 2
    assert "invalid choice: 'nonsense'" in r.stderr
    assert not (tmp_path / "out2").exists()

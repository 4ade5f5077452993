"""`python3 -m memopt.transforms PASS SCRIPT OUT --select IDS` (docs/optimize.md, "Candidate-subset
search"): the ids reach run() as `select` only for a pass whose run() declares it; the passes
that do not are run as before, and refuse a selection with exit status 2."""
import argparse
import types

import pytest

from memopt.transforms import REWRITE
from memopt.transforms import __main__ as cli
from memopt.transforms.common import Report


def fake_pass(monkeypatch, run):
    entry = types.SimpleNamespace(name="fake", kind=REWRITE, module="fake")
    module = types.SimpleNamespace(run=run)
    monkeypatch.setattr(cli, "find", lambda name: entry)
    monkeypatch.setattr(cli.importlib, "import_module", lambda *a, **k: module)


def args(select):
    return argparse.Namespace(pass_name="fake", script="s.py", outdir="out", profile=None, launcher=None, select=select)


def test_select_reaches_a_pass_that_declares_it(monkeypatch):
    seen = []

    def run(script, outdir, profile, select=None):
        seen.append(select)
        return Report("fake", applied=True)

    fake_pass(monkeypatch, run)
    cli.run_pass(args("b,a"))
    cli.run_pass(args(""))
    cli.run_pass(args(None))
    assert seen == [["b", "a"], [], None]


def test_a_pass_without_select_runs_as_before_and_refuses_a_selection(monkeypatch):
    calls = []
    fake_pass(monkeypatch, lambda script, outdir, profile: calls.append(script) or Report("fake"))
    cli.run_pass(args(None))
    assert calls == ["s.py"]
    with pytest.raises(SystemExit) as e:
        cli.run_pass(args("a"))
    assert e.value.code == 2

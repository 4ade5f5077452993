"""_memopt_rebind's conditions and rewrite on source text (the runtime module lazy-imports
writes beside a program): which `from M import name` bindings may wait, and that the
rewritten module reads the same objects."""
import ast
import sys
import types

from memopt.transforms.runtime import _memopt_rebind as rebind


def _names(source, package="pkg"):
    return [c[4] for c in rebind.candidates(ast.parse(source), package)]


def test_a_name_only_handed_on_from_the_same_package_stays_eager():
    assert _names("from pkg.base import Writer\nfrom other import Thing\n", "pkg") == ["Thing"]
    assert _names("from .base import Writer\ndef f():\n    return Writer\n", "pkg") == ["Writer"]


def test_a_name_read_while_the_module_loads_stays_eager():
    for use in ["print(x)", "class C(x): pass", "class C:\n    y = x", "@x\ndef f(): pass", "def f(a=x): pass",
                "def f(a: x): pass", "[x for _ in ()]", "f = lambda a=x: a"]:
        assert _names(f"from a import x\n{use}\n") == [], use
    assert _names("from a import x\ndef f():\n    return x\ng = lambda: x\nclass C:\n    def m(self):\n"
                  "        return x\n") == ["x"]


def test_a_name_bound_once_at_the_top_level_is_a_candidate():
    assert _names("from a import x, y as z\nfrom .b import w\ndef f():\n    return x, z, w\n") == ["x", "z", "w"]


def test_any_other_binding_of_the_name_rules_it_out():
    bindings = ["x = 1", "def f(x): pass", "def x(): pass", "class x: pass", "import x",
                "for x in (): pass", "with open('f') as x: pass", "try:\n    pass\nexcept E as x:\n    pass",
                "def f():\n    global x", "del x", "x += 1", "[x for x in ()]", "lambda x: x",
                "match v:\n    case {**x}:\n        pass", "match v:\n    case [*x]:\n        pass"]
    for binding in bindings:
        assert _names(f"from a import x\n{binding}\n") == [], binding


def test_modules_that_read_their_namespace_by_name_are_left_alone():
    for line in ["globals()", "locals()", "vars()", "eval('x')", "exec('x')", "from c import *",
                 "def __getattr__(n): pass"]:
        assert _names(f"from a import x\n{line}\n") == [], line
    assert _names("from a import x\nvars(object)\n") == ["x"]


def test_private_names_future_imports_and_nested_imports_are_not_candidates():
    assert _names("from __future__ import annotations\nfrom a import __x\ndef f():\n    from a import y\n") == []
    assert _names("if True:\n    from a import x\n") == []
    assert _names("import w\nwith w.catch_warnings():\n    from a import x\n") == ["x"]  # a top-level with


def test_relative_imports_resolve_against_the_package():
    tree = ast.parse("from .b import x\nfrom ..c import y\nfrom . import z\ndef f():\n    return x, y, z\n")
    assert [c[2] for c in rebind.candidates(tree, "top.pkg")] == ["top.pkg.b", "top.c", "top.pkg"]


def test_the_rewritten_module_reads_the_same_objects_when_they_are_used(monkeypatch):
    deferred = types.ModuleType("deferred_source")
    deferred.x, deferred.y = object(), object()
    monkeypatch.setitem(sys.modules, "deferred_source", deferred)
    source = "from deferred_source import x, y as why\nfrom os import sep\nclass C:\n    def attr(self):\n" \
             "        return why\ndef get():\n    return x\n"
    tree = ast.parse(source)
    names = rebind.rewrite(tree, "", {"x": None, "why": None})
    assert names == {"x": ("deferred_source", "x"), "why": ("deferred_source", "y")}
    namespace = {}
    exec(compile(tree, "<m>", "exec"), namespace)
    assert "x" not in namespace and "why" not in namespace and namespace["sep"]  # sep: not allowed, eager
    assert namespace["get"]() is deferred.x and namespace["C"]().attr() is deferred.y


def test_a_name_of_a_re_exporting_package_is_read_from_the_module_that_defines_it(monkeypatch):
    defining = types.ModuleType("defining_module")
    defining.value = object()
    monkeypatch.setitem(sys.modules, "defining_module", defining)
    tree = ast.parse("import warnings\nwith warnings.catch_warnings():\n    from package import value\n"
                     "def get():\n    return value\n")
    assert rebind.rewrite(tree, "", {"value": "defining_module:value"}) == {"value": ("defining_module", "value")}
    namespace = {}
    exec(compile(tree, "<m>", "exec"), namespace)  # `package` itself is never imported
    assert namespace["get"]() is defining.value

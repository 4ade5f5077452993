"""python3 -m memopt.transforms.lazy_analysis < PACKAGES.json > EXPORTS.json

Run by the lazy-imports pass in a scratch directory (never in the user's): imports each
package named on stdin (a JSON list, in the probe's import order) as the program imported
it, and prints, for each, every name the package holds and how to get it without running
its body: {package: {name: [module, attribute] | [module, null] | ["=", literal] | null}}
(null: only the body computes it), and under "!files" every module file the imports loaded.

A name is listed only when the package body binds it with `from .sub import name`,
`from . import sub`, `from .sub import *` or a literal assignment, *and* the object the
package ended up holding is that very object (`is`; for literals, equal). Everything else
(names the body computes, names rebound later) is null: reading it runs the body. Dunder
names are listed only when bound to a literal (`__version__ = "1.2"`); the runtime runs the
body for the others (__all__, __doc__ ...).
"""
import ast
import importlib
import json
import sys
import types


def type_checking_only(stmt, body):
    """`if typing.TYPE_CHECKING:` (after `import typing`) or `if TYPE_CHECKING:` (after `from
    typing import TYPE_CHECKING`) with no else, in the module `body`: typing.TYPE_CHECKING is
    False when a program runs, so the block never runs (it holds imports for type checkers)."""
    if not isinstance(stmt, ast.If) or stmt.orelse:
        return False
    test = stmt.test
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return any(isinstance(s, ast.ImportFrom) and s.module == "typing" and s.level == 0 and
                   any(a.name == "TYPE_CHECKING" and a.asname is None for a in s.names) for s in body)
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING" and \
        isinstance(test.value, ast.Name) and test.value.id == "typing" and \
        any(isinstance(s, ast.Import) and any(a.name == "typing" and a.asname is None for a in s.names) for s in body)


def _literal(node):
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (str, int, float, bool, type(None))) else None


def _resolve(package, node):
    if node.level == 0:
        return node.module if node.module and node.module.startswith(package + ".") else None
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    if node.level > 1 and base.count(".") != package.count(".") - (node.level - 1):
        return None
    return f"{base}.{node.module}" if node.module else base


def _bindings(package, module, tree):
    """name -> where, in body order (a later binding replaces an earlier one)."""
    found = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom):
            source = _resolve(package, stmt)
            for alias in stmt.names:
                if source is None:
                    if alias.name != "*":
                        found.pop(alias.asname or alias.name, None)
                    continue
                if alias.name == "*":
                    sub = sys.modules.get(source)
                    names = getattr(sub, "__all__", None) or [n for n in vars(sub or types) if not n.startswith("_")]
                    for n in names:
                        found[n] = [source, n]
                elif source == package:
                    found[alias.asname or alias.name] = [f"{package}.{alias.name}", None]
                else:
                    found[alias.asname or alias.name] = [source, alias.name]
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                found.pop(alias.asname or alias.name.split(".")[0], None)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.pop(stmt.name, None)  # names inside the def are its locals, not the package's
        elif type_checking_only(stmt, tree.body):
            continue  # never runs: typing.TYPE_CHECKING is False at run time
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            value = _literal(stmt.value)
            for t in stmt.targets:
                if value is None:
                    found.pop(t.id, None)
                else:
                    found[t.id] = ["=", value]
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    found.pop(node.id, None)
    return found


def _fetch(where):
    module = sys.modules.get(where[0])
    if module is None or where[1] is None:
        return module
    value = getattr(module, where[1], None)
    return value if value is not None else sys.modules.get(f"{where[0]}.{where[1]}")


def exports_of(package):
    module = importlib.import_module(package)
    with open(module.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    held = vars(module)
    bound = _bindings(package, module, tree)
    # a module __getattr__ (PEP 562) answers names the package does not hold: reading one must
    # run the body, not end in AttributeError (the runtime sees this entry)
    out = {"__getattr__": None} if callable(held.get("__getattr__")) else {}
    for name, value in held.items():
        where = bound.get(name)
        if name.startswith("__") and name.endswith("__") and (where is None or where[0] != "="):
            continue  # __doc__, __all__ computed, __getattr__ ...: the body's
        if isinstance(value, types.ModuleType) and value.__name__ == f"{package}.{name}":
            out[name] = [value.__name__, None]  # a submodule, bound by the import system
        elif where is None:
            out[name] = None  # computed by the body: reading it runs the body
        elif where[0] == "=":
            out[name] = where if type(value) is type(where[1]) and value == where[1] else None
        else:
            out[name] = where if _fetch(where) is value else None
    return out


def main():
    packages = json.load(sys.stdin)
    result = {}
    for package in packages:
        try:
            result[package] = exports_of(package)
        except Exception as e:  # noqa: BLE001 - a package that fails here is not deferred
            result[package] = {"!error": f"{type(e).__name__}: {e}"}
    # what the answer was made from: every module file the imports read (the pass keeps the
    # answer while none of them changes, module_cache.put_for_files)
    result["!files"] = sorted({f for f in (getattr(m, "__file__", None) for m in list(sys.modules.values()))
                               if isinstance(f, str)})
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

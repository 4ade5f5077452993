"""flatten: code-hierarchy reduction.

- `import pandas as pd` is replaced by an inlined stand-in (runtime/_memopt_frame.py: read_csv
  over numpy.loadtxt, DataFrame, Series) when the program only calls pd.read_csv /
  pd.DataFrame / pd.Series with options the stand-in knows; pandas is then never imported.
  Safe because the stand-in is exact on what it implements and hands an object to pandas on
  the first use of anything else (a real fallback). The pass refuses statically where that
  fallback would import pandas (the memory it exists to save) or cannot be exact: the
  program names an attribute that pandas objects have and the stand-in, numpy arrays and
  builtin containers do not (describe, groupby, iloc, columns, ...), uses pd.X other than by
  calling it, inspects classes (type(), __class__: the stand-in's classes are not pandas'),
  pickles (pickle, copyreg, shelve, dill, .dump), or reaches names dynamically;
- the application's own small helper modules (and the per-tree predictor the
  static-to-dynamic pass wrote, i.e. scikit-learn's tree prediction as a few lines over
  arrays) are inlined into the program when their names do not clash;
- library functions the program only calls are copied into it, with what they read, so that
  their module is no longer imported (inline_functions.py states the condition).
"""
from __future__ import annotations

import ast
import os

from .inline_functions import inline_thin_imports, probe_cost
from .common import PassRefused, Report, describe_dynamic, dynamic_scope_uses, imported_names, local_modules, \
    prepare_outdir, read_program, runtime_source, unparse, user_code, uses_beyond_stand_in, write_program

PANDAS_API = {"read_csv": {"usecols", "sep"}, "DataFrame": set(), "Series": {"name"}}
# what the stand-in implements itself (runtime/_memopt_frame.py's docstring)
STAND_IN = {"to_numpy", "values", "to_csv", "tolist", "items", "value_counts", "sort_index", "name", "dtype",
            "shape", "ndim", "size", "empty"}
PICKLING = {"pickle", "copyreg", "shelve", "dill", "cloudpickle", "_pickle"}


def _pandas_only_attributes():
    """Public attributes of pandas frames and series that numpy arrays, builtin containers and
    the stand-in lack: a program naming one would hand its objects to pandas."""
    import numpy
    import pandas
    theirs = set(dir(pandas.DataFrame)) | set(dir(pandas.Series))
    common = set(dir(numpy.ndarray)).union(*(dir(t) for t in (list, dict, str, tuple, set, int, float, object)))
    return {n for n in theirs - common - STAND_IN if not n.startswith("_")}


def _outside_stand_in(tree, aliases):
    """Why the stand-in cannot serve this program exactly without pandas, or ''."""
    tree = user_code(tree)
    modules = imported_names(tree)
    try:
        pandas_only = _pandas_only_attributes()
    except ImportError:
        return "pandas cannot be imported to list its API"
    used, type_line = uses_beyond_stand_in(tree, pandas_only, modules - aliases, always={"__class__", "dump", "dumps"})
    if type_line is not None:
        return f"type() is used (line {type_line}): the stand-in's classes are not pandas'"
    if used:
        return (f"the program uses {', '.join('.' + u for u in sorted(used))}, which the stand-in does not "
                f"implement; its fallback would import pandas, the memory this pass exists to save")
    pickled = sorted(m for m in modules if m in PICKLING)
    if pickled:
        return f"the program imports {', '.join(pickled)}: a stand-in pickles differently from pandas"
    dynamic = dynamic_scope_uses(tree)
    if dynamic:
        return f"names are reached dynamically ({describe_dynamic(dynamic)})"
    return ""
MAX_INLINE_LINES = 400


def _bound_names(body):
    names = {}
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[stmt.name] = ("def", stmt.name)
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:
                names[a.asname or a.name.split(".")[0]] = ("import", a.name if a.asname else a.name.split(".")[0])
        elif isinstance(stmt, ast.ImportFrom):
            for a in stmt.names:
                names[a.asname or a.name] = ("import", f"{stmt.module}.{a.name}")
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names[node.id] = ("value", node.id)
    return names


def _all_names(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _replace_pandas(tree, changes):
    aliases = {}
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Import) and len(stmt.names) == 1 and stmt.names[0].name == "pandas":
            aliases[stmt.names[0].asname or "pandas"] = i
    if not aliases:
        return tree, "pandas is not imported at module level"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pandas":
            return tree, "names are imported from pandas"
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in aliases:
            if not isinstance(node.ctx, ast.Load):
                return tree, f"{node.id} is rebound (line {node.lineno})"
            parent = parents.get(node)
            if not isinstance(parent, ast.Attribute) or parent.attr not in PANDAS_API:
                return tree, f"pandas is used beyond {', '.join(sorted(PANDAS_API))}"
            call = parents.get(parent)
            if parent.attr == "read_csv" and isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                    and call.func.id == "_MemoptCsvStream" and call.args[:1] == [parent]:
                used.add(parent.attr)  # the stream (static-to-dynamic) calls it with usecols/sep only
                continue
            if not (isinstance(call, ast.Call) and call.func is parent):
                return tree, f"pd.{parent.attr} is used other than by calling it (line {node.lineno})"
            unknown = {k.arg for k in call.keywords} - PANDAS_API[parent.attr]
            if unknown:
                return tree, f"pd.{parent.attr} is called with {', '.join(sorted(map(str, unknown)))}"
            used.add(parent.attr)
    why = _outside_stand_in(tree, set(aliases))
    if why:
        return tree, why
    shim = ast.parse(runtime_source("_memopt_frame.py"))
    shim.body = [s for s in shim.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    ours = _bound_names(tree.body)
    clash = {n for n, how in _bound_names(shim.body).items()
             if n in _all_names(tree) and not (how[0] == "import" and ours.get(n) == how)}
    if clash:
        return tree, f"names clash with the stand-in: {', '.join(sorted(clash))}"
    for alias, index in sorted(aliases.items(), key=lambda kv: -kv[1]):
        tree.body[index:index + 1] = shim.body + [
            ast.Assign([ast.Name(alias, ast.Store())], ast.Name("_MemoptPandas", ast.Load()))]
        break
    changes.append(f"pandas replaced by a minimal inlined stand-in over numpy/csv "
                   f"(uses: {', '.join('pd.' + u for u in sorted(used))}); pandas is no longer imported, "
                   f"unless a file is not plain numeric CSV or an object is used in a way the stand-in "
                   f"does not implement (then that object is handed to pandas, with pandas' results)")
    return tree, ""


def _inline_local_modules(tree, script, changes, notes):
    modules = local_modules(script)
    folder = os.path.dirname(os.path.abspath(script))
    for index in range(len(tree.body) - 1, -1, -1):
        stmt = tree.body[index]
        if isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module in modules \
                and all(a.name != "*" for a in stmt.names):
            name = stmt.module
        elif isinstance(stmt, ast.Import) and len(stmt.names) == 1 and stmt.names[0].name in modules:
            name = stmt.names[0].name
        else:
            continue
        path = modules[name]
        if not os.path.isfile(path):
            notes.append(f"{name}: a package, not inlined")
            continue
        _, module = read_program(path)
        with open(path, encoding="utf-8") as f:
            if sum(1 for _ in f) > MAX_INLINE_LINES:
                notes.append(f"{name}: longer than {MAX_INLINE_LINES} lines, not inlined")
                continue
        body = [s for s in module.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                and not (isinstance(s, ast.If) and "__name__" in {n.id for n in ast.walk(s.test) if isinstance(n, ast.Name)})
                and not (isinstance(s, ast.ImportFrom) and s.module == "__future__")]
        if any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in ast.walk(module)) or \
                any(isinstance(n, ast.Name) and n.id in {"globals", "__name__", "__all__"} for n in ast.walk(module)):
            notes.append(f"{name}: uses module-level dynamics, not inlined")
            continue
        theirs = _bound_names(body)
        ours = {k: v for k, v in _bound_names([s for i, s in enumerate(tree.body) if i != index]).items()}
        program_names = _all_names(ast.Module([s for i, s in enumerate(tree.body) if i != index], []))
        aliases = []
        if isinstance(stmt, ast.ImportFrom):
            for a in stmt.names:
                if a.name not in theirs:
                    break
                if a.asname and a.asname != a.name:
                    aliases.append(ast.Assign([ast.Name(a.asname, ast.Store())], ast.Name(a.name, ast.Load())))
            else:
                a = None
            if a is not None and a.name not in theirs:
                notes.append(f"{name}: imports a name it does not define ({a.name}), not inlined")
                continue
            imported = {a.name for a in stmt.names}
            clash = {n for n in theirs if n in program_names and n not in imported
                     and not (theirs[n][0] == "import" and ours.get(n) == theirs[n])}
        else:
            alias = stmt.names[0].asname or name
            parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
            uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == alias]
            if any(not isinstance(parents.get(n), ast.Attribute) or not isinstance(n.ctx, ast.Load) for n in uses):
                notes.append(f"{name}: the module object itself is used, not inlined")
                continue
            clash = {n for n in theirs if n in program_names
                     and not (theirs[n][0] == "import" and ours.get(n) == theirs[n])}
            if not clash:
                for n in uses:
                    attribute = parents[n]
                    grand = parents.get(attribute)
                    for field, value in ast.iter_fields(grand):
                        if value is attribute:
                            setattr(grand, field, ast.Name(attribute.attr, attribute.ctx))
                        elif isinstance(value, list):
                            for k, item in enumerate(value):
                                if item is attribute:
                                    value[k] = ast.Name(attribute.attr, attribute.ctx)
        if clash:
            notes.append(f"{name}: names clash with the program ({', '.join(sorted(clash))}), not inlined")
            continue
        tree.body[index:index + 1] = body + aliases
        changes.append(f"inlined local module {os.path.relpath(path, folder)} ({len(body)} statements)")
    return tree


def run(script, outdir, profile=None):
    report = Report("flatten")
    source, tree = read_program(script)
    changes, notes = [], []
    tree, why = _replace_pandas(tree, changes)
    if why:
        notes.append(f"pandas kept: {why}")
    if not why:
        cost = probe_cost(profile, "pandas")
        if cost:
            notes.append(f"probe: importing pandas cost {cost / 1e6:.1f} MB of RSS in the profiled run")
    tree = _inline_local_modules(tree, script, changes, notes)
    tree = inline_thin_imports(tree, script, profile, changes, notes, skip_modules=set(local_modules(script)))
    if not changes:
        raise PassRefused("nothing to flatten" + (": " + "; ".join(notes) if notes else ""))
    report.files = prepare_outdir(script, outdir)
    # inlined local modules are not needed beside the program any more
    report.program = write_program(script, outdir, unparse(tree, source))
    report.applied = True
    report.changes = changes + notes
    return report

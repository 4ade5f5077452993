"""static-to-dynamic: a tree model loaded whole becomes a per-tree store walked one tree at
a time (runtime/_memopt_trees.py, inlined into the program so that it runs on its own).

Applies to every `joblib.load(...)` call (through `import joblib [as j]` or
`from joblib import load [as f]`): the call becomes `_memopt_load_model(...)`, which serves
scikit-learn tree models (RandomForest, ExtraTrees, DecisionTree; classifier and regressor)
from the store and anything else through joblib as before. `isinstance(m, C)` checks
against those scikit-learn classes become checks by class name, so that scikit-learn need
not be imported for them; imports of joblib and scikit-learn that the rewrite left unused
are removed.

Not done here: turning a whole-file load processed in independent blocks into a stream
(the issue's part (a)); the pass says so in its report.
"""
from __future__ import annotations

import ast
import os

from .common import PassRefused, Report, import_aliases, insert_after_docstring_and_future, \
    read_program, runtime_source, unparse, write_program, prepare_outdir

TREE_CLASSES = {"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
                "RandomForestRegressor", "ExtraTreesRegressor", "DecisionTreeRegressor"}
HELPER = "_memopt_trees.py"
LOAD = "_memopt_load_model"
ISINSTANCE = "_memopt_isinstance"


def _sklearn_class_names(tree):
    """Local names bound to scikit-learn tree classes by `from sklearn... import C`."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sklearn":
            for a in node.names:
                if a.name in TREE_CLASSES:
                    names[a.asname or a.name] = a.name
    return names


def _class_name(node, local_names, sklearn_modules):
    if isinstance(node, ast.Name) and node.id in local_names:
        return local_names[node.id]
    if isinstance(node, ast.Attribute) and node.attr in TREE_CLASSES:
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in sklearn_modules:
            return node.attr
    return None


class _Rewriter(ast.NodeTransformer):
    def __init__(self, joblib_names, load_names, class_names, sklearn_modules):
        self.joblib_names = joblib_names
        self.load_names = load_names
        self.class_names = class_names
        self.sklearn_modules = sklearn_modules
        self.loads = []
        self.checks = []

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr == "load" and isinstance(f.value, ast.Name)
                and f.value.id in self.joblib_names) or (isinstance(f, ast.Name) and f.id in self.load_names):
            self.loads.append(node.lineno)
            node.func = ast.Name(LOAD, ast.Load())
        elif isinstance(f, ast.Name) and f.id == "isinstance" and len(node.args) == 2:
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            names = [_class_name(c, self.class_names, self.sklearn_modules) for c in classes]
            if names and all(names):
                self.checks.append(node.lineno)
                return ast.copy_location(ast.Call(ast.Name(ISINSTANCE, ast.Load()), [
                    node.args[0], ast.Tuple([ast.Constant(n) for n in names], ast.Load())], []), node)
        return node


def _drop_unused_model_imports(tree):
    """Removes imports of joblib and scikit-learn whose names the rewrite left unread."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}
    removed = []

    class Remover(ast.NodeTransformer):
        def visit_Import(self, node):
            keep = []
            for a in node.names:
                top = a.name.split(".")[0]
                if top in ("joblib", "sklearn") and (a.asname or top) not in used:
                    removed.append(a.name)
                else:
                    keep.append(a)
            node.names = keep
            return node if keep else None

        def visit_ImportFrom(self, node):
            if not node.module or node.module.split(".")[0] not in ("joblib", "sklearn"):
                return node
            keep = [a for a in node.names if (a.asname or a.name) in used]
            removed.extend(f"{node.module}.{a.name}" for a in node.names if a not in keep)
            node.names = keep
            return node if keep else None

    tree = Remover().visit(tree)
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if field == "body" and isinstance(block, list) and not block and not isinstance(node, ast.Module):
                block.append(ast.Pass())
    return removed


def run(script, outdir, profile=None):
    report = Report("static-to-dynamic")
    source, tree = read_program(script)
    if LOAD in source:
        raise PassRefused("already applied (the program loads models through the per-tree store)")
    joblib_names = import_aliases(tree, "joblib")
    load_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "joblib":
            load_names |= {a.asname or a.name for a in node.names if a.name == "load"}
    sklearn_modules = {n for n in (import_aliases(tree, "sklearn") | set()) }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sklearn" and a.asname is None:
                    sklearn_modules.add("sklearn")
    rewriter = _Rewriter(joblib_names, load_names, _sklearn_class_names(tree), sklearn_modules)
    tree = rewriter.visit(tree)
    if not rewriter.loads:
        raise PassRefused("no model loaded whole (no joblib.load call); "
                          "streaming of block-wise processed data is not implemented")
    runtime = ast.parse(runtime_source(HELPER))
    runtime.body = [st for st in runtime.body if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]
    clash = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith(("_memopt", "_Memopt"))
             and n.id not in (LOAD, ISINSTANCE)}
    if clash:
        raise PassRefused("the program already uses names of memopt's runtime: " + ", ".join(sorted(clash)))
    removed = _drop_unused_model_imports(tree)
    insert_after_docstring_and_future(tree, runtime.body)
    report.files = prepare_outdir(script, outdir)
    report.program = write_program(script, outdir, unparse(tree, source))
    report.applied = True
    lines = ", ".join(str(n) for n in rewriter.loads)
    report.changes.append(f"joblib.load (line {lines}) -> per-tree store: scikit-learn tree models are "
                          f"converted once (in a child process) to a store in _memopt_store/ beside the "
                          f"program, whose inlined predictor walks one tree at a time, accumulating averaged class "
                          f"probabilities as scikit-learn does; other objects still load with joblib")
    if rewriter.checks:
        report.changes.append("isinstance checks against scikit-learn tree classes (line "
                              + ", ".join(str(n) for n in rewriter.checks) + ") test the class name instead")
    if removed:
        report.changes.append("imports no longer needed: " + ", ".join(removed))
    report.changes.append("not applied: whole-file data processed in blocks -> stream (not implemented)")
    return report

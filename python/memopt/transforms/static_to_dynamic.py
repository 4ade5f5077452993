"""static-to-dynamic: a tree model loaded whole becomes a per-tree store walked one tree at
a time (runtime/_memopt_trees.py, inlined into the program so that it runs on its own).

Applies to every `joblib.load(...)` call (through `import joblib [as j]` or
`from joblib import load [as f]`): the call becomes `_memopt_load_model(...)`, which serves
scikit-learn tree models (RandomForest, ExtraTrees, DecisionTree; classifier and regressor)
from the store and anything else through joblib as before. `isinstance(m, C)` checks
against those scikit-learn classes become checks by class name, so that scikit-learn need
not be imported for them; imports of joblib and scikit-learn that the rewrite left unused
are removed.

Safe because the store is exact on what it answers (predict, predict_proba with one array
argument; n_features_in_, classes_, n_classes_, estimators_, n_estimators, tree_ and the
trees' node_count, max_depth, n_leaves) and hands everything else to the real model loaded
with joblib (other attributes, repr, pickling, setting attributes, a changed estimators_
list). The store's narrow arrays are exact by construction, checked at conversion for every
node: a float32 threshold only where it is the largest float32 not above scikit-learn's
float64 one (so `x <= t` agrees for every float32 input x), int16 indices only where every
value fits (int32 otherwise; a tree beyond int32 is left to joblib), the left child implied
only where it is the next node for every inner node. The store's format is part of its key:
a store written by another version of the runtime is never read. The pass refuses the store statically when the program names a model attribute the
store does not mirror (get_depth, feature_importances_, tree_.feature, score, fit, ...) or
uses type()/__class__: the fallback would load the whole model, the memory the pass saves.

Part (a), a table loaded whole and processed in independent blocks read as a stream
instead, is streaming.py (with the proof of block-wise processing in blockwise.py); the
report names every whole-file load it left alone and why. Part (c), a prediction over a
stacked input computed block by block, is row_blocks.py.
"""
from __future__ import annotations

import ast

from . import row_blocks, streaming
from .common import PassRefused, Report, import_aliases, imported_names, insert_after_docstring_and_future, \
    read_program, runtime_source, unparse, user_code, uses_beyond_stand_in, write_program, prepare_outdir

TREE_CLASSES = {"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
                "RandomForestRegressor", "ExtraTreesRegressor", "DecisionTreeRegressor"}
HELPER = "_memopt_trees.py"
LOAD = "_memopt_load_model"
# what the store answers itself (runtime/_memopt_trees.py)
MIRRORED = {"n_features_in_", "classes_", "n_classes_", "estimators_", "n_estimators", "tree_", "node_count",
            "max_depth", "n_leaves", "predict", "predict_proba"}


def _model_only_attributes():
    """Public attributes of scikit-learn tree models, their trees and Tree objects that the
    store does not mirror and that numpy, pandas and builtin objects lack: a program naming
    one would make the store load the whole model after all."""
    import numpy
    import pandas
    from sklearn import ensemble, tree
    from sklearn.tree._tree import Tree
    fitted = {"n_outputs_", "oob_score_", "oob_decision_function_", "oob_prediction_", "estimators_samples_",
              "max_features_", "n_features_", "feature_names_in_", "estimator_params", "base_estimator"}
    theirs = fitted.union(dir(Tree), *(dir(getattr(ensemble, c, None) or getattr(tree, c)) for c in TREE_CLASSES))
    common = set(dir(numpy.ndarray)).union(dir(pandas.DataFrame), dir(pandas.Series), *(
        dir(t) for t in (list, dict, str, tuple, set, int, float, object)))
    return {n for n in theirs - common - MIRRORED if not n.startswith("_")}


def _outside_store(tree):
    """Why the per-tree store would have to load the whole model for this program, or ''."""
    tree = user_code(tree)
    try:
        model_only = _model_only_attributes()
    except ImportError:
        return "scikit-learn cannot be imported to list the attributes the store lacks"
    used, type_line = uses_beyond_stand_in(tree, model_only | {"__class__"}, imported_names(tree))
    if type_line is not None:
        return f"type() is used (line {type_line}): the store's class is not the model's"
    if used:
        return (f"the program uses {', '.join('.' + u for u in sorted(used))}, which the store does not mirror; "
                f"its fallback would load the whole model, the memory this pass exists to save")
    return ""
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


def _model_store(tree, changes, notes):
    """Part (b): every joblib.load through the per-tree store. True when applied."""
    if any(isinstance(n, ast.Name) and n.id == LOAD for n in ast.walk(tree)):
        notes.append("per-tree store: already applied")
        return False
    joblib_names = import_aliases(tree, "joblib")
    load_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "joblib":
            load_names |= {a.asname or a.name for a in node.names if a.name == "load"}
    sklearn_modules = set(import_aliases(tree, "sklearn"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sklearn" and a.asname is None:
                    sklearn_modules.add("sklearn")
    runtime = _runtime(HELPER)
    clash = _defined(runtime) & {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if clash:
        notes.append("per-tree store: the program already uses names of memopt's runtime: " + ", ".join(sorted(clash)))
        return False
    if joblib_names or load_names:
        why = _outside_store(tree)
        if why:
            notes.append("per-tree store: not applied: " + why)
            return False
    rewriter = _Rewriter(joblib_names, load_names, _sklearn_class_names(tree), sklearn_modules)
    rewriter.visit(tree)
    if not rewriter.loads:
        notes.append("no model loaded whole (no joblib.load call)")
        return False
    removed = _drop_unused_model_imports(tree)
    insert_after_docstring_and_future(tree, runtime.body)
    lines = ", ".join(str(n) for n in rewriter.loads)
    changes.append(f"joblib.load (line {lines}) -> per-tree store: scikit-learn tree models are "
                   f"converted once (in a child process) to a store in _memopt_store/ beside the "
                   f"program, whose inlined predictor walks one tree at a time, accumulating averaged class "
                   f"probabilities as scikit-learn does; other objects still load with joblib")
    if rewriter.checks:
        changes.append("isinstance checks against scikit-learn tree classes (line "
                       + ", ".join(str(n) for n in rewriter.checks) + ") test the class name instead")
    if removed:
        changes.append("imports no longer needed: " + ", ".join(removed))
    return True


def _runtime(name):
    runtime = ast.parse(runtime_source(name))
    runtime.body = [st for st in runtime.body if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]
    return runtime


def _defined(module):
    """Names the runtime module binds at its top level, except the imports it shares."""
    names = set()
    for st in module.body:
        if isinstance(st, (ast.FunctionDef, ast.ClassDef)):
            names.add(st.name)
        elif isinstance(st, ast.Assign):
            names |= {t.id for t in st.targets if isinstance(t, ast.Name)}
    return names


def _stream(tree, changes, notes):
    """Part (a): whole-file tables processed in independent blocks -> streams."""
    runtime = _runtime(streaming.HELPER)
    clash = _defined(runtime) & {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if clash - {streaming.STREAM, streaming.BLOCKWISE}:
        notes.append("streaming: the program already uses names of memopt's runtime: " + ", ".join(sorted(clash)))
        return False
    found = []
    if not streaming.apply(tree, found, notes):
        return False
    changes.extend(found)
    insert_after_docstring_and_future(tree, runtime.body)
    return True


def _row_blocks(tree, changes, notes):
    """Part (c): predictions over a stacked input -> block by block."""
    runtime = _runtime(row_blocks.HELPER)
    if _defined(runtime) & {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {row_blocks.CALL}:
        notes.append("row blocks: the program already uses names of memopt's runtime")
        return False
    if not row_blocks.apply(tree, changes, notes):
        return False
    insert_after_docstring_and_future(tree, runtime.body)
    return True


def run(script, outdir, profile=None):
    report = Report("static-to-dynamic")
    source, tree = read_program(script)
    changes, notes = [], []
    stored = _model_store(tree, changes, notes)
    streamed = _stream(tree, changes, notes)
    blocked = _row_blocks(tree, changes, notes)
    if not stored and not streamed and not blocked:
        if not any(n.startswith(("not streamed", "streaming")) for n in notes):
            notes.append("no whole-file data load processed in blocks was found")
        raise PassRefused("; ".join(notes))
    report.files = prepare_outdir(script, outdir)
    report.program = write_program(script, outdir, unparse(tree, source))
    report.applied = True
    report.changes = changes + ["not applied: " + n for n in notes]
    return report

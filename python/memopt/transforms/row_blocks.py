"""static-to-dynamic, part (c): a prediction over many rows computed block by block.

`est.predict(np.c_[xx.ravel(), yy.ravel()])` (also predict_proba, predict_log_proba,
decision_function; `np.column_stack((a, b))`) builds the whole stacked input,
then the method's temporaries for all rows at once: on a fine plotting mesh that is most of a
program's peak. The call becomes `_memopt_rows(est.predict, combine, (parts...))`
(runtime/_memopt_rows.py, inlined), which stacks and predicts 16384 rows at a time (fewer for
wide inputs) and fills one answer array.

Safety condition. Statically: the call has exactly one positional argument and no keywords
(`return_std=True` & co. change what is returned), and when the argument is stacked here,
the name before `.c_`/`.column_stack` is bound only by `import numpy as NAME` and never
rebound; the parts are evaluated once, in the same order, as before. At run time (the
helper): the method belongs to an estimator whose predictions are row by row (a class on the
runtime's list, or a Pipeline of listed transformers ending in one; a user's subclass is not
on it), every part is a plain ndarray with the same number of rows, more than one block, and
every block's answer is a plain ndarray with one row per row and the same dtype and trailing
shape; otherwise the original call runs on the whole input. Floating-point results of a
block may in principle round differently from the whole (a BLAS kernel choosing another
path for fewer rows): the differential check compares the outputs.
"""
from __future__ import annotations

import ast

from .common import bindings, import_aliases

METHODS = {"predict", "predict_proba", "predict_log_proba", "decision_function"}
HELPER = "_memopt_rows.py"
CALL = "_memopt_rows"


def _numpy_names(tree):
    """Names bound to numpy by imports and by nothing else anywhere in the program."""
    names = set()
    for name in import_aliases(tree, "numpy"):
        found = [b for scope in ast.walk(tree) if isinstance(scope, (ast.Module, ast.FunctionDef,
                 ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) for b in bindings(scope, name)]
        if all(isinstance(b, ast.Import) and any(a.name == "numpy" and (a.asname or a.name) == name
                                                  for a in b.names) for b in found):
            names.add(name)
    return names


def _stacked_parts(argument, numpy_names):
    """(combine lambda, parts) when `argument` is np.c_[a, b, ...] or np.column_stack((a, b, ...))
    of at least two non-literal parts; None otherwise."""
    def numpy_attribute(node, attribute):
        return isinstance(node, ast.Attribute) and node.attr == attribute and \
            isinstance(node.value, ast.Name) and node.value.id in numpy_names
    parts = None
    if isinstance(argument, ast.Subscript) and numpy_attribute(argument.value, "c_") and \
            isinstance(argument.slice, ast.Tuple):
        parts, combine = argument.slice.elts, ast.Subscript(argument.value, ast.Name("_memopt_parts", ast.Load()),
                                                            ast.Load())
    elif isinstance(argument, ast.Call) and numpy_attribute(argument.func, "column_stack") and \
            len(argument.args) == 1 and not argument.keywords and isinstance(argument.args[0], (ast.Tuple, ast.List)):
        parts, combine = argument.args[0].elts, ast.Call(argument.func, [ast.Name("_memopt_parts", ast.Load())], [])
    if parts is None or len(parts) < 2 or any(isinstance(p, (ast.Constant, ast.Slice, ast.Starred)) for p in parts):
        return None
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg("_memopt_parts")], kwonlyargs=[], kw_defaults=[],
                              defaults=[])
    return ast.Lambda(arguments, combine), parts


class _Rewriter(ast.NodeTransformer):
    def __init__(self, numpy_names):
        self.numpy_names = numpy_names
        self.rewritten = []

    def visit_Call(self, node):
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Attribute) and node.func.attr in METHODS and len(node.args) == 1
                and not node.keywords and not isinstance(node.args[0], ast.Starred)):
            return node
        stacked = _stacked_parts(node.args[0], self.numpy_names)
        if stacked is None:
            return node  # an input already whole: blocks would only save the method's temporaries
        combine, parts = stacked
        self.rewritten.append(f"line {node.lineno}: .{node.func.attr}() of {len(parts)} stacked columns")
        call = ast.Call(ast.Name(CALL, ast.Load()), [node.func, combine, ast.Tuple(parts, ast.Load())], [])
        return ast.copy_location(call, node)


def apply(tree, changes, notes):
    """Rewrite the calls; True when any was."""
    if any(isinstance(n, ast.Name) and n.id == CALL for n in ast.walk(tree)):
        notes.append("row blocks: applied already")
        return False
    rewriter = _Rewriter(_numpy_names(tree))
    rewriter.visit(tree)
    if not rewriter.rewritten:
        return False
    changes.append("predictions over stacked columns computed 16384 rows at a time, stacked per block, "
                   "when the estimator predicts row by row and there are more rows (else as before): "
                   + "; ".join(rewriter.rewritten))
    return True

"""dead-data: copies never mutated. `b = a.copy()` (also `np.array(a)`, `list(a)`, `a[:]`,
`dict(a)`, `set(a)` for the matching kinds) becomes `b = a` when the copy cannot be observed:

- `a` is a local bound once in its scope to a fresh object of a known kind (list, dict or set
  display or comprehension, list()/sorted()/dict()/set(), a numpy constructor, pd.read_csv or
  pd.DataFrame), so nothing but `a` (and now `b`) refers to it;
- `b` is bound once (by the copy), neither name is global, nonlocal or used by a nested
  function, lambda, class or comprehension;
- every use of `a` after the copy (every use, when the copy is in a loop) and every use of
  `b` only reads: len(), print() and other pure builtins, numpy functions that return new
  arrays, methods that return new objects (sum, mean, tolist, copy, ...), attributes such
  as shape or dtype, arithmetic and comparisons (not `is`), f-strings; indexing and views
  (x[i], x.values, x.to_numpy(), x.reshape(...)) are followed and must only be read the
  same way. Anything else — an augmented assignment, item or attribute assignment, a method
  not known to leave the object alone (append, sort, fill, ...), passing it to any other
  function, returning it, storing it in a container or another name, `is` — keeps the copy.
- no code reaches the scope's variables by a computed name (eval, exec, locals(), vars(),
  `__dict__`, getattr with a computed name, frames: common.dynamic_scope_uses; for the module
  scope, anywhere in the program), since such code could change either object unseen.
For arrays and frames, iterating (list(), sorted(), zip(), a for loop) yields views of rows,
so those uses keep the copy; `.get`, `.astype` and `.items`/`.values` results are followed
like views (a frame's column, an array cast with copy=False, a dict's values may be shared).
"""
from __future__ import annotations

import ast

from .common import FRAME_ACCESS, bindings, describe_dynamic, dynamic_scope_uses, module_dynamic_uses, \
    user_code

PURE_BUILTINS = {"len", "print", "float", "int", "str", "repr", "bool", "sum", "min", "max", "abs", "round",
                 "sorted", "format", "isinstance", "any", "all", "tuple", "list", "set", "dict", "hash"}
NUMPY_FRESH = {"sum", "mean", "std", "var", "min", "max", "median", "argmax", "argmin", "sqrt", "exp", "log",
               "abs", "array", "concatenate", "hstack", "vstack", "column_stack", "stack", "where", "dot",
               "matmul", "allclose", "array_equal", "unique", "sort", "cumsum", "diff", "round", "isnan",
               "isfinite", "count_nonzero", "percentile", "quantile", "histogram", "bincount", "prod"}
UFUNCS = {"sqrt", "exp", "log", "abs", "isnan", "isfinite"}
PURE_METHODS = {"sum", "mean", "std", "var", "min", "max", "median", "prod", "argmax", "argmin", "any", "all",
                "tolist", "item", "count", "index", "copy", "nunique", "value_counts", "describe",
                "keys", "to_list", "isna", "notna", "round", "dot", "cumsum",
                "idxmax", "idxmin", "unique", "__len__", "to_csv", "tobytes", "sort_values", "to_dict"}
VIEW_METHODS = {"to_numpy", "reshape", "ravel", "view", "transpose", "squeeze", "__getitem__", "get", "astype",
                "values", "items"}
ITERATING_BUILTINS = {"list", "tuple", "set", "dict", "sorted", "iter", "zip", "enumerate", "reversed",
                      "min", "max", "sum", "any", "all"}
PURE_ATTRIBUTES = {"shape", "dtype", "ndim", "size", "nbytes", "columns", "index", "itemsize", "empty"}
VIEW_ATTRIBUTES = {"T", "values", "flat", "real", "imag", "iloc", "loc", "at", "iat"}
NUMPY_CONSTRUCTORS = {"array", "zeros", "ones", "empty", "full", "arange", "linspace", "loadtxt", "genfromtxt",
                      "zeros_like", "ones_like", "full_like", "concatenate", "hstack", "vstack", "column_stack",
                      "stack", "random"}


def _fresh_kind(value, numpy_names, pandas_names):
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(value, ast.Call):
        f = value.func
        if isinstance(f, ast.Name) and f.id in ("list", "sorted"):
            return "list"
        if isinstance(f, ast.Name) and f.id in ("dict", "set"):
            return f.id
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            if f.value.id in numpy_names and f.attr in NUMPY_CONSTRUCTORS - {"random"}:
                return "ndarray"
            if f.value.id in pandas_names and f.attr in ("read_csv", "DataFrame"):
                return "frame"
        if isinstance(f, ast.Attribute) and f.attr in ("reshape", "astype", "copy", "ravel") and \
                _fresh_kind(f.value, numpy_names, pandas_names) == "ndarray":
            return "ndarray"  # a view or copy of a fresh array nobody else refers to
    return None


def _copy_source(value, numpy_names):
    """(name copied, kinds for which this expression is a copy) or None."""
    if isinstance(value, ast.Call) and not value.keywords:
        f = value.func
        if isinstance(f, ast.Attribute) and f.attr == "copy" and not value.args and isinstance(f.value, ast.Name):
            return f.value.id, {"list", "dict", "set", "ndarray", "frame"}
        if len(value.args) == 1 and isinstance(value.args[0], ast.Name):
            if isinstance(f, ast.Name) and f.id in ("list", "dict", "set"):
                return value.args[0].id, {f.id}
            if isinstance(f, ast.Attribute) and f.attr == "array" and isinstance(f.value, ast.Name) \
                    and f.value.id in numpy_names:
                return value.args[0].id, {"ndarray"}
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and isinstance(value.slice, ast.Slice) \
            and value.slice.lower is value.slice.upper is value.slice.step is None:
        return value.value.id, {"list"}
    return None


class _Scope:
    def __init__(self, scope, numpy_names):
        self.scope = scope
        self.numpy_names = numpy_names
        self.kind = ""  # the kind of the object being checked (set by _why_kept)
        self.own = []  # (node, nested)
        self.parents = {}
        self.loops = {}  # statement -> inside a loop

        def visit(node, in_loop):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                                      ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                    self.own.append((child, True))
                    continue
                self.own.append((child, False))
                if isinstance(child, ast.stmt):
                    self.loops[child] = in_loop
                visit(child, in_loop or isinstance(child, (ast.For, ast.While, ast.AsyncFor)))

        visit(scope, False)

    def bindings(self, name):
        out = [n for n, nested in self.own if not nested and isinstance(n, ast.Name) and n.id == name
               and isinstance(n.ctx, (ast.Store, ast.Del))]
        a = getattr(self.scope, "args", None)
        params = {x.arg for x in a.args + a.kwonlyargs + a.posonlyargs} | \
            {x.arg for x in (a.vararg, a.kwarg) if x is not None} if a else set()
        return out, name in params

    def captured(self, name):
        for n, nested in self.own:
            if nested and any(isinstance(m, ast.Name) and m.id == name for m in ast.walk(n)):
                return True
            if isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names:
                return True
        return False

    def read_only(self, node):
        """'' when the value at `node` is only read; else what may change or leak it."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            return self.read_only(parent) if isinstance(parent.ctx, ast.Load) else \
                f"item assignment or deletion (line {parent.lineno})"
        if isinstance(parent, ast.Attribute) and parent.value is node:
            if not isinstance(parent.ctx, ast.Load):
                return f"attribute assignment (line {parent.lineno})"
            call = self.parents.get(parent)
            if isinstance(call, ast.Call) and call.func is parent:
                if any(k.arg in ("inplace", "out") for k in call.keywords):
                    return f".{parent.attr}() with inplace/out (line {parent.lineno})"
                if parent.attr in PURE_METHODS:
                    return ""
                if parent.attr in VIEW_METHODS:
                    return self.read_only(call)
                return f".{parent.attr}() may change it (line {parent.lineno})"
            if parent.attr in PURE_ATTRIBUTES:
                return ""
            if parent.attr in VIEW_ATTRIBUTES:
                return self.read_only(parent)
            return f"attribute .{parent.attr} (line {parent.lineno})"
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.FormattedValue)):
            return ""
        if isinstance(parent, ast.Compare) and not any(isinstance(o, (ast.Is, ast.IsNot)) for o in parent.ops):
            return ""
        if isinstance(parent, ast.Call) and node in parent.args:
            f = parent.func
            if isinstance(f, ast.Name) and f.id in PURE_BUILTINS and not (
                    self.kind in ("ndarray", "frame") and f.id in ITERATING_BUILTINS and not _flat(node)):
                return ""
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in self.numpy_names \
                    and f.attr in NUMPY_FRESH and not any(k.arg == "out" for k in parent.keywords) \
                    and (len(parent.args) <= (1 if f.attr in UFUNCS else 3 if f.attr == "where" else 2)):
                # a ufunc's second positional argument is `out`, other functions' third or later
                return ""
            return f"passed to {ast.unparse(f)}() (line {parent.lineno})"
        if isinstance(parent, ast.AugAssign):
            return f"augmented assignment (line {parent.lineno})"
        where = f" (line {parent.lineno})" if hasattr(parent, "lineno") else ""
        return f"{type(parent).__name__.lower()} {ast.unparse(parent)[:40]!r}{where}"


def _flat(node):
    """A one-dimensional view (x.ravel(), x.reshape(-1)): iterating it yields scalars, not views."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "ravel" and not node.args:
            return True
        if node.func.attr == "reshape" and len(node.args) == 1 and isinstance(node.args[0], ast.UnaryOp) \
                and ast.unparse(node.args[0]) == "-1":
            return True
    return False


def _scopes(tree):
    yield tree
    for node in ast.walk(user_code(tree)):  # not into memopt's inlined runtime
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def remove_unneeded_copies(tree, changes, notes):
    numpy_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                   for a in n.names if a.name == "numpy"}
    pandas_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names if a.name == "pandas"}
    program_dynamic = module_dynamic_uses(tree)
    frames = [u for u in dynamic_scope_uses(user_code(tree)) if u[1].lstrip(".") in FRAME_ACCESS]
    for scope in _scopes(tree):
        dynamic = frames or (program_dynamic if scope is tree else dynamic_scope_uses(scope))
        if dynamic:
            if any(_copy_source(n.value, numpy_names) for n in ast.walk(scope) if isinstance(n, ast.Assign)):
                where = "the module" if scope is tree else f"{scope.name}()"
                notes.append(f"copies kept in {where}: variables are reached dynamically "
                             f"({describe_dynamic(dynamic)})")
            continue
        s = _Scope(scope, numpy_names)
        for st in [n for n, nested in s.own if not nested and isinstance(n, ast.Assign)]:
            if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
                continue
            found = _copy_source(st.value, numpy_names)
            if not found:
                continue
            a, kinds = found
            b = st.targets[0].id
            what = f"{b} = {ast.unparse(st.value)} (line {st.lineno})"
            why = _why_kept(s, st, a, b, kinds, numpy_names, pandas_names, scope is tree, tree)
            if why:
                notes.append(f"copy kept: {what}: {why}")
                continue
            changes.append(f"copy never mutated: {what} -> {b} = {a}")
            st.value = ast.copy_location(ast.Name(a, ast.Load()), st.value)


def _why_kept(s, st, a, b, kinds, numpy_names, pandas_names, module_scope, tree):
    if a == b:
        return "copies into the same name"
    for node, nested in s.own:
        if not nested and isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id in (a, b):
            return f"{node.target.id}: augmented assignment (line {node.lineno})"
    a_binds, a_param = s.bindings(a)
    b_binds, b_param = s.bindings(b)
    if a_param or len(a_binds) != 1:
        return f"{a} is not bound once in this scope"
    if b_param or len(b_binds) != 1:
        return f"{b} is bound more than once"
    binding = s.parents.get(a_binds[0])
    if not (isinstance(binding, ast.Assign) and binding.targets == [a_binds[0]]):
        return f"{a} is not assigned a fresh object"
    kind = _fresh_kind(binding.value, numpy_names, pandas_names)
    if kind not in kinds:
        return f"{a} is not known to be a fresh {'/'.join(sorted(kinds))}"
    s.kind = kind
    for name in (a, b):
        other = [x for x in bindings(s.scope, name) if not isinstance(x, ast.Name)]
        if other and not (isinstance(other[0], ast.arg)):
            return f"{name} is also bound by {type(other[0]).__name__} (line {getattr(other[0], 'lineno', '?')})"
    for name in (a, b):
        if s.captured(name):
            return f"{name} is used by a nested function or comprehension, or declared global"
        if module_scope and any(isinstance(n, ast.Name) and n.id == name for f in ast.walk(tree)
                                if isinstance(f, (ast.FunctionDef, ast.Lambda)) for n in ast.walk(f)):
            return f"{name} is a global also used inside functions"
    in_loop = s.loops.get(st, False)
    for node, nested in s.own:
        if nested or not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in (a, b)):
            continue
        if node.id == a and (node is st.value or s.parents.get(node) is st.value or
                             s.parents.get(s.parents.get(node)) is st.value):
            continue  # the copy itself
        if node.id == a and not in_loop and node.lineno < st.lineno:
            continue  # before the copy: a change there is copied too
        why = s.read_only(node)
        if why:
            return f"{node.id}: {why}"
    return ""

"""Which expressions have no effect: the analysis under dead-data's dead-store removal.

An expression is classified as
- PURE: evaluating it has no effect at all and cannot raise (a constant, a name certainly
  bound, a display of such parts, a copy of a value of a known kind, ...);
- RAISES: its only possible effect is to raise an exception (arithmetic, comparisons,
  subscripts, numpy functions on values of known kinds: a shape mismatch, a division by
  zero, a wrong index);
- or a string saying which effect it may have (a call of unknown code, an operator on a
  value of unknown type, which may run the type's own __add__, __getitem__, __iter__ ...).

Kinds. A value's kind is known when the program made it with code whose behaviour is
builtin, numpy's or pandas': a constant or display, a numpy constructor, `pd.read_csv`,
`pd.DataFrame`, arithmetic and the listed methods on such values. Decision (documented in
docs/optimize.md): numpy's and pandas' operators and the listed functions and methods are
taken to have no effect other than allocating and raising, when their operands are of kinds
whose elements are builtin numbers or strings ("ndarray": arrays from numeric constructors
and loaders; "frame"/"series": tables read by read_csv; "value": their items and results).
Arrays or tables that may hold arbitrary Python objects ("array", "anyframe": np.array(x),
pd.DataFrame(x) of unknown x) are only copied, converted or iterated, never operated on, since
an object array's operators call its elements' methods.
"""
from __future__ import annotations

import ast
import builtins

from .common import bindings

PURE = None
RAISES = "raise"

NUMERIC = {"const", "ndarray", "frame", "series", "value"}     # operators call no user code
COPYABLE = {"list", "dict", "set", "ndarray", "array", "frame", "anyframe", "series"}
ITERABLE = {"list", "tuple", "set", "dict", "range"}            # iterating cannot fail, runs no user code
NUMPY_MAKERS = {"zeros", "ones", "empty", "full", "arange", "linspace", "eye", "identity", "zeros_like",
                "ones_like", "full_like", "empty_like", "loadtxt", "genfromtxt", "concatenate", "hstack",
                "vstack", "column_stack", "stack", "sqrt", "exp", "log", "abs", "sum", "mean", "std", "var",
                "min", "max", "median", "dot", "matmul", "where", "cumsum", "diff", "round", "clip", "sort",
                "unique", "argsort", "argmax", "argmin", "isnan", "isfinite", "percentile", "quantile",
                "maximum", "minimum", "square", "prod", "outer", "meshgrid", "tile", "repeat", "ravel",
                "reshape", "transpose", "asarray", "array", "c_", "r_", "logspace", "histogram", "bincount"}
NUMPY_PURE = NUMPY_MAKERS - {"loadtxt", "genfromtxt"}  # reading a file (a FIFO, stdin) is an effect
NUMPY_RANDOM = {"rand", "randn", "random", "normal", "uniform", "randint", "standard_normal", "permutation",
                "choice"}  # global-state random draws are an effect (they move the seed): never PURE
NUMERIC_METHODS = {"sum", "mean", "std", "var", "min", "max", "median", "prod", "cumsum", "round", "reshape",
                   "ravel", "flatten", "transpose", "squeeze", "argmax", "argmin", "argsort", "clip", "dot",
                   "any", "all", "abs", "nunique", "unique", "isna", "notna", "to_list", "tolist", "astype"}
NUMERIC_ATTRIBUTES = {"shape", "dtype", "ndim", "size", "nbytes", "T", "values", "columns", "index", "real",
                      "imag", "empty", "itemsize"}
WARNING_HOOKS = {"warnings", "captureWarnings", "seterr", "seterrcall", "errstate", "showwarning"}
TYPE_NAMES = {"float", "int", "bool", "complex", "str"}
NUMPY_TYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
               "uint32", "uint64", "bool_", "double", "single", "intp", "complex64", "complex128"}


def module_aliases(tree, module):
    """Names bound to `module` by `import module [as x]` and by nothing else in the program."""
    names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
             if a.name == module}
    out = set()
    for name in names:
        every = [n for scope in ast.walk(tree) if isinstance(scope, (ast.Module, ast.FunctionDef,
                                                                     ast.AsyncFunctionDef, ast.Lambda,
                                                                     ast.ClassDef))
                 for n in bindings(scope, name) if n is not scope]
        patched = any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == name
                      and not isinstance(n.ctx, ast.Load) for n in ast.walk(tree)) or any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("setattr", "delattr")
            and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == name for n in ast.walk(tree))
        if every and not patched and all(isinstance(b, ast.Import) and all(
                a.name == module for a in b.names if (a.asname or a.name) == name) for b in every):
            out.add(name)  # np.zeros = f or setattr(np, ...) makes numpy's names the program's code
    return out


def worst(*results):
    """The combined classification: an effect wins over RAISES, RAISES over PURE."""
    effects = [r for r in results if r not in (PURE, RAISES)]
    if effects:
        return effects[0]
    return RAISES if RAISES in results else PURE


class Effects:
    """Classifies expressions of one scope. `bound(name)` says whether a name is certainly
    bound where the expression runs; `kind(name)` is the kind of every value it may hold,
    or None (both supplied by the caller, who knows the scope)."""

    def __init__(self, tree, bound, kind):
        self.numpy = module_aliases(tree, "numpy")
        self.pandas = module_aliases(tree, "pandas")
        rebound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)} | \
            {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
             for a in n.names} | {d.name for d in ast.walk(tree) if isinstance(d, (ast.FunctionDef, ast.ClassDef,
                                                                                     ast.AsyncFunctionDef))} | \
            {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        patched = any((isinstance(n, ast.Name) and n.id == "__builtins__") or
                      (isinstance(n, ast.Import) and any(a.name == "builtins" for a in n.names)) or
                      (isinstance(n, ast.ImportFrom) and n.module == "builtins") for n in ast.walk(tree))
        # a program that touches the builtins module may have replaced list, sorted, ...
        self.builtins = set() if patched else {b for b in dir(builtins) if b not in rebound}
        # a warning a removed expression would have issued may be logged or raised: seen?
        self.warnings_handled = next((n.lineno for n in ast.walk(tree) if (isinstance(n, ast.Name) and n.id in
                                      WARNING_HOOKS) or (isinstance(n, ast.Attribute) and n.attr in WARNING_HOOKS)
                                      or (isinstance(n, ast.alias) and n.name.split(".")[0] in WARNING_HOOKS)), 0)
        self.bound_name = bound
        self.name_kind = kind
        self.local = {}  # comprehension variables: name -> kind

    # --- kinds ---------------------------------------------------------------------------

    def kind(self, e):
        if isinstance(e, ast.Constant):
            return "const"
        if isinstance(e, ast.Name):
            return self.local[e.id] if e.id in self.local else self.name_kind(e.id)
        simple = {ast.List: "list", ast.ListComp: "list", ast.Tuple: "tuple", ast.Set: "set",
                  ast.SetComp: "set", ast.Dict: "dict", ast.DictComp: "dict", ast.JoinedStr: "const"}
        if type(e) in simple:
            return simple[type(e)]
        if isinstance(e, (ast.BinOp, ast.UnaryOp, ast.Compare)):
            parts = [e.left, e.right] if isinstance(e, ast.BinOp) else [e.operand] if isinstance(e, ast.UnaryOp) \
                else [e.left, *e.comparators]
            kinds = [self.kind(p) for p in parts]
            if not all(k in NUMERIC for k in kinds):
                return None
            for k in ("frame", "series", "ndarray"):
                if k in kinds:
                    return k
            return "const" if all(k == "const" for k in kinds) else "value"
        if isinstance(e, ast.Subscript):
            return "value" if self.kind(e.value) in NUMERIC else None
        if isinstance(e, ast.Attribute):
            base = self.kind(e.value)
            if e.attr in ("values", "T") and base in ("frame", "series", "ndarray"):
                return "ndarray"
            if e.attr in ("values", "T") and base in ("array", "anyframe"):
                return "array"
            return "value" if base in NUMERIC and e.attr in NUMERIC_ATTRIBUTES else None
        if isinstance(e, ast.Call):
            return self._call_kind(e)
        return None

    def _call_kind(self, e):
        f = e.func
        if isinstance(f, ast.Name) and f.id in self.builtins:
            return {"list": "list", "sorted": "list", "dict": "dict", "set": "set", "tuple": "tuple",
                    "range": "range", "len": "const", "str": "const", "float": "const", "int": "const"}.get(f.id)
        if not isinstance(f, ast.Attribute):
            return None
        if isinstance(f.value, ast.Name) and f.value.id in self.numpy:
            if f.attr == "array" or f.attr == "asarray":
                return "array"
            return "ndarray" if f.attr in NUMPY_MAKERS else None
        if isinstance(f.value, ast.Attribute) and isinstance(f.value.value, ast.Name) and \
                f.value.value.id in self.numpy and f.value.attr == "random" and f.attr in NUMPY_RANDOM:
            return "ndarray"
        if isinstance(f.value, ast.Name) and f.value.id in self.pandas:
            if f.attr == "read_csv" and not any(k.arg in ("chunksize", "iterator", "converters", None)
                                                for k in e.keywords):
                return "frame"
            return "anyframe" if f.attr in ("DataFrame", "Series") else None
        base = self.kind(f.value)
        if f.attr == "copy":
            return base if base in COPYABLE else None
        if f.attr == "to_numpy":
            return "ndarray" if base in ("frame", "series") else "array" if base == "anyframe" else None
        if f.attr == "astype":
            return "ndarray" if base in COPYABLE - {"list", "dict", "set"} and e.args and \
                self._numeric_type(e.args[0]) else None
        if f.attr in NUMERIC_METHODS and base in ("ndarray", "frame", "series"):
            return base if f.attr in ("reshape", "ravel", "flatten", "transpose", "squeeze", "round", "clip",
                                      "cumsum", "abs", "isna", "notna") else "value"
        return None

    def _numeric_type(self, e):
        if isinstance(e, ast.Name):
            return e.id in TYPE_NAMES - {"str"} and e.id in self.builtins
        return isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id in self.numpy \
            and e.attr in NUMPY_TYPES

    # --- effects -------------------------------------------------------------------------

    def effect(self, e):
        if isinstance(e, ast.Constant):
            return PURE
        if isinstance(e, ast.Name):
            if e.id in self.local or self.bound_name(e.id) or e.id in self.builtins:
                return PURE
            return RAISES  # NameError when unbound
        if isinstance(e, (ast.Tuple, ast.List)):
            return worst(*[self.effect(x) if not isinstance(x, ast.Starred) else self._iterate(x.value)
                           for x in e.elts])
        if isinstance(e, ast.Set):
            return worst(*[self.effect(x) for x in e.elts], *[self._hashable(x) for x in e.elts])
        if isinstance(e, ast.Dict):
            parts = [self.effect(v) for v in e.values]
            for k, v in zip(e.keys, e.values):
                parts.append(self._hashable(k) if k is not None else
                             PURE if self.kind(v) == "dict" else f"{{**{ast.unparse(v)}}} of unknown type")
            return worst(*parts, *[self.effect(k) for k in e.keys if k is not None])
        if isinstance(e, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Subscript,
                          ast.JoinedStr, ast.FormattedValue)):
            return self._operator(e)
        if isinstance(e, ast.Attribute):
            return self._attribute(e)
        if isinstance(e, (ast.ListComp, ast.SetComp, ast.DictComp)):
            return self._comprehension(e)
        if isinstance(e, ast.Lambda):  # making a function runs none of it, but its defaults
            return worst(*[self.effect(d) for d in e.args.defaults + e.args.kw_defaults if d is not None])
        if isinstance(e, ast.Call):
            return self._call(e)
        return f"{type(e).__name__.lower()} {ast.unparse(e)[:40]!r}"

    def _hashable(self, e):
        return PURE if isinstance(e, ast.Constant) else RAISES if self.kind(e) == "const" else \
            f"hashing {ast.unparse(e)[:30]!r} may run its __hash__"

    def _known(self, e, kinds=NUMERIC):
        """'' when `e` is a constant display or of one of `kinds`, else what makes it unknown."""
        if isinstance(e, (ast.Tuple, ast.List)) and all(isinstance(x, ast.Constant) for x in e.elts) or \
                self._numeric_type(e):
            return ""
        return "" if self.kind(e) in kinds else \
            f"{ast.unparse(e)[:30]!r} (type not known) may run its own method"

    def _operator(self, e):
        """Operators run the operands' own methods: only on known kinds, then they may raise."""
        if isinstance(e, ast.Subscript):
            if self.kind(e.value) in ITERABLE:
                return worst(self.effect(e.value), self._index(e.slice), RAISES)
            return worst(self.effect(e.value), self._index(e.slice), self._known(e.value) or RAISES)
        if isinstance(e, ast.JoinedStr):
            return worst(*[self.effect(v) for v in e.values])
        if isinstance(e, ast.FormattedValue):
            return worst(self.effect(e.value), self._known(e.value) or RAISES,
                         self.effect(e.format_spec) if e.format_spec else PURE)
        if isinstance(e, ast.IfExp):
            return worst(self._truth(e.test), self.effect(e.body), self.effect(e.orelse))
        if isinstance(e, ast.BoolOp):
            return worst(*[self._truth(v) for v in e.values])
        operands = [e.left, e.right] if isinstance(e, ast.BinOp) else [e.operand] \
            if isinstance(e, ast.UnaryOp) else [e.left, *e.comparators]
        return worst(*[self.effect(p) for p in operands], *[self._known(p) for p in operands if self._known(p)],
                     RAISES)

    def _index(self, e):
        if isinstance(e, ast.Slice):
            return worst(*[self._index(p) for p in (e.lower, e.upper, e.step) if p is not None])
        if isinstance(e, (ast.Tuple, ast.List)):
            return worst(*[self._index(p) for p in e.elts])
        return worst(self.effect(e), self._known(e) or PURE)

    def _attribute(self, e):
        if isinstance(e.value, ast.Name) and e.value.id in self.numpy | self.pandas:
            return RAISES  # a module attribute (np.pi): AttributeError at worst
        base = self.kind(e.value)
        if base in NUMERIC | COPYABLE - {"list", "dict", "set"}:
            return worst(self.effect(e.value), RAISES)  # numpy/pandas properties run no user code
        return f"attribute .{e.attr} of {ast.unparse(e.value)[:30]!r} (type not known) may run code"

    def _iterate(self, e):
        """Iterating `e` (list(e), a for clause): PURE over builtin containers."""
        kind = self.kind(e)
        inner = self.effect(e)
        if kind in ITERABLE:
            return inner
        if kind in NUMERIC | COPYABLE:
            return worst(inner, RAISES)  # a 0-d array or a number cannot be iterated
        return worst(inner, f"iterating {ast.unparse(e)[:30]!r} (type not known) may run its __iter__")

    def _element_kind(self, e):
        kind = self.kind(e)
        return "value" if kind in ("ndarray", "frame", "series", "range", "const") else None

    def _comprehension(self, e):
        saved = dict(self.local)
        try:
            parts = []
            for gen in e.generators:
                if gen.is_async:
                    return "async comprehension"
                parts.append(self._iterate(gen.iter))
                targets = gen.target.elts if isinstance(gen.target, ast.Tuple) else [gen.target]
                if not all(isinstance(t, ast.Name) for t in targets):
                    return f"comprehension target {ast.unparse(gen.target)!r}"
                if isinstance(gen.target, ast.Tuple):
                    parts.append(RAISES)  # unpacking may fail
                for t in targets:
                    self.local[t.id] = self._element_kind(gen.iter) if len(targets) == 1 else None
                for cond in gen.ifs:
                    parts.append(self._truth(cond))
            elts = [e.key, e.value] if isinstance(e, ast.DictComp) else [e.elt]
            parts += [self.effect(x) for x in elts]
            if isinstance(e, ast.SetComp):
                parts.append(self._hashable(e.elt))
            if isinstance(e, ast.DictComp):
                parts.append(self._hashable(e.key))
            return worst(*parts)
        finally:
            self.local = saved

    def _truth(self, e):
        return worst(self.effect(e), PURE if self.kind(e) == "const" else RAISES if self.kind(e) in NUMERIC
                     else f"the truth of {ast.unparse(e)[:30]!r} may run its __bool__")

    def _call(self, e):
        if any(k.arg is None for k in e.keywords) or any(isinstance(a, ast.Starred) for a in e.args):
            return f"call {ast.unparse(e.func)[:30]}() with unpacked arguments"
        args = [self.effect(a) for a in e.args] + [self.effect(k.value) for k in e.keywords]
        f = e.func
        if isinstance(f, ast.Name) and f.id in self.builtins:
            return worst(*args, self._builtin(f.id, e))
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in self.numpy \
                and f.attr in NUMPY_PURE and not any(k.arg == "out" for k in e.keywords) and len(e.args) <= 2 \
                and not any(self._known(a) for a in e.args + [k.value for k in e.keywords]):
            return worst(*args, RAISES)
        if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id in
                                                 self.numpy | self.pandas):
            return worst(*args, self.effect(f.value), self._method(f, e))
        return f"calls {ast.unparse(f)[:40]}()"

    def _builtin(self, name, e):
        one = e.args[0] if len(e.args) == 1 and not e.keywords else None
        if name in ("list", "tuple") and one is not None:
            return self._iterate(one)
        if name == "dict" and one is not None:
            return PURE if self.kind(one) == "dict" else f"dict({ast.unparse(one)[:30]}) of unknown type"
        if name in ("sorted", "set", "frozenset", "sum", "min", "max") and one is not None:
            return worst(self._iterate(one), RAISES if self._element_kind(one) else
                         f"{name}() of {ast.unparse(one)[:30]} compares or hashes elements of unknown type")
        if name == "len" and one is not None and self.kind(one) in NUMERIC | COPYABLE | ITERABLE:
            return RAISES
        if name in ("abs", "float", "int", "str", "round", "bool", "repr") and e.args and \
                not any(self._known(a) for a in e.args):
            return RAISES
        if name == "range" and all(self.kind(a) == "const" for a in e.args):
            return RAISES
        return f"calls {name}()"

    def _method(self, f, e):
        base = self.kind(f.value)
        constant_args = all(isinstance(a, ast.Constant) for a in e.args) and \
            all(isinstance(k.value, ast.Constant) for k in e.keywords)
        if f.attr == "copy" and base in COPYABLE and constant_args:
            return PURE if not e.args and not e.keywords else RAISES
        if f.attr in ("to_numpy", "tolist", "to_list") and base in COPYABLE - {"list", "dict", "set"} \
                and constant_args:
            return RAISES
        if f.attr == "astype" and base in COPYABLE - {"list", "dict", "set"} and e.args and \
                (self._numeric_type(e.args[0]) or isinstance(e.args[0], ast.Constant)):
            return RAISES
        if f.attr in NUMERIC_METHODS and base in ("ndarray", "frame", "series") and \
                not any(k.arg in ("out", "inplace") for k in e.keywords):
            return RAISES
        return f"calls .{f.attr}() of {ast.unparse(f.value)[:30]!r}"

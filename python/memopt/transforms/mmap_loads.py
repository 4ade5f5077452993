"""dead-data: arrays loaded whole and never written are mapped instead. `x = np.load(path)`
(also a view of it: `x = np.load(path)[:1000]`, `.T`, `.reshape(...)`) becomes
`x = _memopt_load_npy(np.load, path)` (runtime/_memopt_npy.py, inlined): a .npy file is
memory-mapped read-only and handed over as a plain ndarray view of the map, so only the pages
the program touches are read; any other file is loaded as before.

Safety condition (the load is left alone, with the reason in the report, when not shown):
- values are bit-identical (the same bytes of the same file), and so are dtype, shape and
  type (ndarray, not np.memmap: repr, pickling and isinstance are unchanged); what differs is
  `flags.writeable` (False), `.base` and `flags.owndata`, so a program that reads `.flags`,
  `.base`, `.setflags`, `.ctypes`, `.data` or `__array_interface__` of it is left alone;
- the program never writes the array in place through its name or a view of it (a name bound
  to x, x[...], x.T, x.reshape(...), ..., a for target over it, followed to a fixpoint; a
  parameter of one of the program's functions it is passed to): no item or attribute store,
  no augmented assignment, no in-place method (sort, fill, resize, put, itemset, partition,
  setfield, byteswap), no `out=` argument, not a ufunc's positional output, not the first
  argument of np.copyto/put/place/putmask/fill_diagonal/random.shuffle; and no `copy=False`
  anywhere in the program (it asks a library, or an estimator built with it, to work in place);
- a write nobody can see statically (inside a library) raises ValueError("assignment
  destination is read-only") instead of changing the array: the run fails, which the
  differential check catches — it never silently changes a result;
- the file is not written while it is mapped: no call that writes files (np.save, savez,
  tofile, savetxt, open for writing, to_csv, to_pickle, dump, shutil copy/move, os.replace,
  rename, remove) is given the same path expression or the same constant path; a different
  expression naming the same file is not seen (it would change what a later read returns);
- no code reaches the scope's variables by a computed name (eval, exec, ...: a write could
  hide there);
- the load is not inside a loop: each live map holds a file descriptor (mmap duplicates it),
  and a loop keeping thousands of arrays could run out of them where reading them did not.
Measured (docs/optimize.md): the saving is the pages never touched; an array read whole
costs the same RSS mapped (its pages are resident once read).
"""
from __future__ import annotations

import ast

from .common import dynamic_scope_uses, describe_dynamic, insert_after_docstring_and_future, \
    module_dynamic_uses, runtime_source, user_code
from .effects import module_aliases

VIEW_METHODS = {"reshape", "ravel", "view", "transpose", "squeeze", "swapaxes", "diagonal", "__getitem__",
                "real", "imag"}
VIEW_ATTRIBUTES = {"T", "real", "imag", "flat", "mT"}
INPLACE_METHODS = {"sort", "fill", "resize", "put", "itemset", "partition", "setfield", "byteswap", "setflags",
                   "__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__delitem__"}
TELLING_ATTRIBUTES = {"flags", "base", "setflags", "ctypes", "data", "__array_interface__", "_mmap", "filename"}
NUMPY_INPLACE = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis", "shuffle"}
NUMPY_VIEWS = {"asarray", "ravel", "reshape", "transpose", "squeeze", "asanyarray", "atleast_1d", "atleast_2d",
               "swapaxes", "moveaxis", "expand_dims", "broadcast_to"}
UNARY_UFUNCS = {"sqrt", "exp", "log", "log2", "log10", "abs", "absolute", "negative", "sin", "cos", "tan",
                "square", "floor", "ceil", "rint", "sign", "exp2", "log1p", "expm1", "reciprocal", "isnan",
                "isfinite", "logical_not", "invert", "positive", "tanh", "arctan", "arcsin", "arccos"}
BINARY_UFUNCS = {"add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "mod",
                 "remainder", "maximum", "minimum", "fmax", "fmin", "logical_and", "logical_or", "hypot",
                 "arctan2", "greater", "less", "equal", "not_equal", "bitwise_and", "bitwise_or", "matmul"}
FILE_WRITERS = {"save", "savez", "savez_compressed", "savetxt", "tofile", "to_csv", "to_pickle", "to_parquet",
                "dump", "write_bytes", "write_text", "copy", "copyfile", "copy2", "move", "replace", "rename",
                "remove", "unlink", "truncate", "memmap", "open_memmap"}


class _Writes:
    """Finds writes through `names` (and their views) in `code`."""

    def __init__(self, tree, code, numpy):
        self.tree, self.code, self.numpy = tree, code, numpy
        self.parents = {c: p for p in ast.walk(code) for c in ast.iter_child_nodes(p)}
        self.functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)
                          and sum(isinstance(g, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                                  and g.name == f.name for g in ast.walk(tree)) == 1}

    def _view_top(self, node):
        """The outermost expression that is node or a view of it (x[1:], x.T, x.reshape(...))."""
        while True:
            p = self.parents.get(node)
            if isinstance(p, ast.Subscript) and p.value is node:
                if not isinstance(p.ctx, ast.Load):
                    return p
                node = p
            elif isinstance(p, ast.Attribute) and p.value is node and p.attr in VIEW_ATTRIBUTES:
                if not isinstance(p.ctx, ast.Load):
                    return p
                node = p
            elif isinstance(p, ast.Attribute) and p.value is node and p.attr in VIEW_METHODS and \
                    isinstance(self.parents.get(p), ast.Call) and self.parents[p].func is p:
                node = self.parents[p]
            elif isinstance(p, ast.Call) and node in p.args and self._numpy(p.func) in NUMPY_VIEWS:
                node = p
            else:
                return node

    def _numpy(self, f):
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in self.numpy:
            return f.attr
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Attribute) and f.value.attr == "random" and \
                isinstance(f.value.value, ast.Name) and f.value.value.id in self.numpy:
            return f.attr
        return ""

    def why(self, names, depth=0):
        """'' when nothing writes through `names` or their views, else the first write found."""
        names = set(names)
        while True:  # names bound to views of these names are followed too
            more = self._aliases(names) - names
            if not more:
                break
            names |= more
        for node in ast.walk(self.code):
            if isinstance(node, ast.Name) and node.id in names:
                why = self._use(node, depth)
                if why:
                    return why
        return ""

    def _aliases(self, names):
        out = set()
        for node in ast.walk(self.code):
            if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load):
                top = self._view_top(node)
                p = self.parents.get(top)
                targets = []
                if isinstance(p, ast.Assign) and p.value is top:
                    targets = p.targets
                elif isinstance(p, (ast.For, ast.AsyncFor, ast.comprehension)) and p.iter is top:
                    targets = [p.target]
                elif isinstance(p, ast.NamedExpr) and p.value is top:
                    targets = [p.target]
                for t in targets:
                    out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        return out

    def _use(self, node, depth):
        line = getattr(node, "lineno", "?")
        if isinstance(self.parents.get(node), ast.AugAssign) and self.parents[node].target is node:
            return f"augmented assignment (line {line})"  # x += 1 writes an ndarray in place
        if not isinstance(node.ctx, ast.Load):
            return ""  # a rebinding of the name is not a write to the array
        top = self._view_top(node)
        if not isinstance(getattr(top, "ctx", ast.Load()), ast.Load):
            return f"item or attribute assignment (line {line})"
        p = self.parents.get(top)
        if isinstance(p, ast.AugAssign) and p.target is top:
            return f"augmented assignment (line {line})"
        if isinstance(p, ast.Attribute) and p.value is top:
            if not isinstance(p.ctx, ast.Load):
                return f"attribute assignment .{p.attr} (line {line})"
            if p.attr in TELLING_ATTRIBUTES:
                return f".{p.attr} tells a map from a loaded array (line {line})"
            call = self.parents.get(p)
            if isinstance(call, ast.Call) and call.func is p and p.attr in INPLACE_METHODS:
                return f".{p.attr}() writes in place (line {line})"
        if isinstance(p, ast.keyword) and p.arg == "out":
            return f"out= argument (line {line})"
        if isinstance(p, ast.Call) and top in p.args:
            return self._argument(p, p.args.index(top), depth, line)
        return ""

    def _argument(self, call, position, depth, line):
        name = self._numpy(call.func)
        if name in NUMPY_INPLACE and position == 0:
            return f"np.{name}() writes its first argument (line {line})"
        if (name in UNARY_UFUNCS and position >= 1) or (name in BINARY_UFUNCS and position >= 2):
            return f"np.{name}()'s positional output (line {line})"
        f = call.func
        if isinstance(f, ast.Name) and f.id in self.functions and depth < 2:
            fn = self.functions[f.id]
            params = fn.args.posonlyargs + fn.args.args
            if fn.args.vararg or position >= len(params):
                return ""  # unseen: a write there raises (the map is read-only)
            inner = _Writes(self.tree, fn, self.numpy).why({params[position].arg}, depth + 1)
            return f"in {fn.name}(): {inner}" if inner else ""
        return ""


def _file_writes(tree, path):
    """A call in the program that may write the file `path` names, or ''."""
    same = {ast.unparse(path)}  # the expression, and a name bound to the same constant (or that constant)
    for st in ast.walk(tree):
        if isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant) and len(st.targets) == 1 and \
                isinstance(st.targets[0], ast.Name):
            if isinstance(path, ast.Name) and st.targets[0].id == path.id or \
                    isinstance(path, ast.Constant) and st.value.value == path.value:
                same |= {ast.unparse(st.value), st.targets[0].id}
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        f = call.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        writes = name in FILE_WRITERS or (name == "open" and _open_writes(call))
        if writes and any(ast.unparse(a) in same for a in call.args + [k.value for k in call.keywords]):
            return f"{ast.unparse(f)}() is given the same path (line {call.lineno})"
    return ""


def _open_writes(call):
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return mode is not None and not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                                     and not set(mode.value) & set("wax+"))


def map_loads(tree, changes, notes):
    """Rewrites `x = np.load(path)` as a read-only map when nothing writes x (see above)."""
    numpy = module_aliases(tree, "numpy")
    if not numpy:
        return
    code = user_code(tree)
    scopes = [tree] + [n for n in ast.walk(code) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and not n.name.startswith("_memopt")]
    done = 0
    for scope in scopes:
        for st in [s for s in ast.walk(scope) if isinstance(s, ast.Assign)]:
            call = _load_under(st.value, numpy)
            if call is None or _owner(scope, st) is not scope:
                continue
            if _in_loop(scope, st):  # each live map holds a file descriptor: thousands could run out
                notes.append(f"np.load kept: {ast.unparse(st)[:60]} (line {st.lineno}): inside a loop")
                continue
            what = f"{ast.unparse(st.targets[0])} = {ast.unparse(st.value)[:60]} (line {st.lineno})"
            why = _refusal(tree, scope, st, call, numpy)
            if why:
                notes.append(f"np.load kept: {what}: {why}")
                continue
            call.func, call.args = ast.Name("_memopt_load_npy", ast.Load()), [call.func, call.args[0]]
            changes.append(f"{what} maps the .npy file read-only instead of reading it whole: "
                           f"{st.targets[0].id} is never written in place")
            done += 1
    if done:
        helper = ast.parse(runtime_source("_memopt_npy.py"))
        insert_after_docstring_and_future(tree, [s for s in helper.body if not isinstance(s, ast.Expr)])


def _load_under(value, numpy):
    """The np.load call `value` is, or is a view of (np.load(p)[:1000], np.load(p).T), or None."""
    while True:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "load" \
                and isinstance(value.func.value, ast.Name) and value.func.value.id in numpy:
            return value
        if isinstance(value, ast.Subscript) or (isinstance(value, ast.Attribute) and value.attr in VIEW_ATTRIBUTES):
            value = value.value
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                value.func.attr in VIEW_METHODS - {"__getitem__"}:
            value = value.func.value
        else:
            return None


def _in_loop(scope, st):
    return any(isinstance(n, (ast.For, ast.AsyncFor, ast.While)) and any(m is st for m in ast.walk(n))
               for n in ast.walk(scope))


def _owner(scope, st):
    """The innermost function (or the module) whose own code holds `st`."""
    for node in ast.walk(scope):
        if node is not scope and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                                   ast.ClassDef)) and any(n is st for n in ast.walk(node)):
            return node
    return scope


def _refusal(tree, scope, st, call, numpy):
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return "arguments other than one path (mmap_mode, allow_pickle, ...)"
    if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
        return "its result is not bound to one name"
    name = st.targets[0].id
    module_level = scope is tree
    dynamic = module_dynamic_uses(tree) if module_level else dynamic_scope_uses(scope)
    if dynamic:
        return f"variables are reached dynamically ({describe_dynamic(dynamic)})"
    captured = module_level or any(isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names
                                   for n in ast.walk(scope))
    code = user_code(tree) if captured else scope  # a global may be written in any function
    in_place = next((k for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "copy"
                     and isinstance(k.value, ast.Constant) and k.value.value is False), None)
    if in_place:  # StandardScaler(copy=False).fit(x): the object given copy=False works in place
        return f"copy=False asks a library to work in place (line {in_place.value.lineno})"
    return _Writes(tree, code, numpy).why({name}) or _file_writes(tree, call.args[0])

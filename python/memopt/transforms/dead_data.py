"""dead-data: useless data and modules removed.

- imports whose names are never read are removed;
- a large local (assigned from a call or an expression, definitely assigned, not captured
  by an inner function) is deleted (`del`) right after the statement of its last use;
- a CSV read whole with `read_csv` whose columns are only ever read by constant names
  gets `usecols=[...]`, so the unread columns are never built;
- copies never mutated (`b = a.copy()`, `np.array(a)`, `list(a)`, ...) become `b = a`
  (copies.py says when that is safe; the copies it keeps are listed with the reason);
- modules the probe saw imported but never run are listed (removed when unused);
- stores never read are removed when their value has no effect, and a large unread value
  made by code with an effect is released at once (dead_stores.py, effects.py say when);
- `x = np.load(path)` of an array never written in place is memory-mapped read-only
  (mmap_loads.py says when).

Safety conditions (each refused, with the reason in the report, when not met):
- imports: no name is read dynamically anywhere (globals(), eval, star imports, __all__);
- `del x`: every read of x is a Name in this scope's statements, so no code may reach
  variables by a computed name — no eval/exec/locals()/vars()/__dict__/computed
  getattr/frames in the function (common.dynamic_scope_uses), and for module-level names
  none anywhere in the program (globals(), eval in a function, sys.modules[...]); releasing
  x earlier has no visible effect: x is not a resource (open(), sockets, pools, ...) nor
  returned by a program function that makes one, and the
  program has no __del__ or weakref/gc finalizers;
- usecols: every read of the frame is `frame["const"]`, `frame[c]` with c the one binding of
  a loop over constant strings, len(frame), or passes it to a program function that reads it
  the same way; a module-level column list counts only when it has no other binding of any
  kind and, for a list, every use only reads it (no item store, append/extend/insert/...,
  augmented assignment, alias or call that could change it); no dynamic names anywhere.
"""
from __future__ import annotations

import ast

from . import copies, dead_stores, mmap_loads
from .common import FRAME_ACCESS, PassRefused, Report, bindings, describe_dynamic, dynamic_scope_uses, \
    module_dynamic_uses, prepare_outdir, probe_never_ran, read_program, unparse, user_code, uses_dynamic_scope, \
    write_program


# --- unused imports ------------------------------------------------------------------------

def _remove_unused_imports(tree, changes):
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            used.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            used.update(node.names)

    class Remover(ast.NodeTransformer):
        def visit_Import(self, node):
            if any(a.name.startswith("_memopt") for a in node.names):
                return node  # memopt's runtime (the lazy-imports hook), imported for its effect
            return self._filter(node, lambda a: a.asname or a.name.split(".")[0])

        def visit_ImportFrom(self, node):
            if node.module == "__future__":
                return node
            return self._filter(node, lambda a: a.asname or a.name)

        def _filter(self, node, bound):
            keep = [a for a in node.names if bound(a) in used]
            gone = [a for a in node.names if bound(a) not in used]
            for a in gone:
                what = a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}"
                changes.append(f"removed unused import {what} (line {node.lineno})")
            if not keep:
                return None
            node.names = keep
            return node

    tree = Remover().visit(tree)
    _fill_empty_bodies(tree)
    return tree


def _fill_empty_bodies(tree):
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and name == "body" and not block and not isinstance(node, ast.Module):
                block.append(ast.Pass())
        if isinstance(node, ast.Try):
            for h in node.handlers:
                if not h.body:
                    h.body.append(ast.Pass())


# --- del after last use --------------------------------------------------------------------

def _names_in(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _definite_assignments(stmt):
    """Names certainly bound by `stmt` when it completes (plain assignments, also inside with)."""
    out = {}
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        out[stmt.targets[0].id] = stmt.value
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for s in stmt.body:
            out.update(_definite_assignments(s))
    return out


RESOURCE_CALLS = {"open", "Popen", "socket", "connect", "create_connection", "urlopen", "TemporaryFile",
                  "NamedTemporaryFile", "TemporaryDirectory", "SpooledTemporaryFile", "ZipFile", "TarFile",
                  "Pool", "ThreadPoolExecutor", "ProcessPoolExecutor", "Thread", "Process", "mmap", "memmap",
                  "finalize", "ExitStack", "Lock", "RLock", "Semaphore", "Event", "Queue", "FileHandler",
                  "StreamHandler", "getLogger", "fdopen", "TextIOWrapper", "BufferedWriter", "BufferedReader"}


def _called_names(node):
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            yield f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _resource_makers(tree):
    """RESOURCE_CALLS plus the program's own functions and classes that call one (to a fixpoint),
    since what they return may be such a resource."""
    makers = set(RESOURCE_CALLS)
    defs = [d for d in ast.walk(tree) if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    while True:
        more = {d.name for d in defs if d.name not in makers and any(c in makers for c in _called_names(d))}
        if not more:
            return makers
        makers |= more


def _large_value(value, makers=RESOURCE_CALLS):
    """A value worth deleting whose early release has no visible effect: not a resource whose
    finalizer flushes or closes something (files, sockets, processes, pools, ...), nor what a
    function of the program that makes one returns."""
    if not isinstance(value, (ast.Call, ast.BinOp, ast.Subscript, ast.ListComp, ast.DictComp,
                              ast.SetComp, ast.List, ast.Dict)):
        return False
    return not any(name in makers for name in _called_names(value))


def _finalizers(tree):
    """Program code that runs when an object is released (a `__del__` method, weakref
    callbacks): then deleting earlier changes when it runs, so no `del` is inserted."""
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "__del__":
            return f"a __del__ method (line {n.lineno})"
        if isinstance(n, (ast.Import, ast.ImportFrom)) and any(
                (getattr(n, "module", None) or a.name).split(".")[0] in ("weakref", "gc") for a in n.names):
            return f"weakref/gc imported (line {n.lineno})"
    return ""


def _release_rule(tree):
    """value -> '' when releasing it earlier has no visible effect (the `del` condition), else why."""
    finalizer = _finalizers(tree)
    makers = _resource_makers(user_code(tree))

    def why(value):
        if finalizer:
            return f"the program has code run at release ({finalizer})"
        return "" if _large_value(value, makers) else "it may be a resource (a file, a socket, a pool, ...)"
    return why


def _insert_dels(body, excluded, changes, where, makers=RESOURCE_CALLS):
    """Adds `del NAME` after the last top-level statement of `body` that mentions NAME."""
    mentions = [_names_in(s) for s in body]
    assigned = {}
    for i, stmt in enumerate(body):
        for name, value in _definite_assignments(stmt).items():
            if name not in assigned and _large_value(value, makers):
                assigned[name] = i
    inserts = {}
    for name, first in assigned.items():
        if name in excluded:
            continue
        uses = [i for i, m in enumerate(mentions) if name in m]
        last = max(uses)
        if last == first or last >= len(body) - 1:
            continue  # never read after assignment, or alive to the end anyway
        if any(name in _names_in(s) for s in body[last + 1:]):
            continue
        # only when every binding of NAME happened no later than its last use, unconditionally
        stores = [i for i, s in enumerate(body) for n in ast.walk(s)
                  if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, (ast.Store, ast.Del))]
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Del)
               for s in body for n in ast.walk(s)):
            continue
        if isinstance(body[last], (ast.Return, ast.Raise, ast.Continue, ast.Break)):
            continue
        if min(stores) != first:
            continue
        if any(not isinstance(b, ast.Name) for b in bindings(ast.Module(body, []), name)):
            continue  # also bound by an import, def, class or `except ... as`
        inserts.setdefault(last, []).append(name)
    for last in sorted(inserts, reverse=True):
        names = sorted(inserts[last])
        body.insert(last + 1, ast.Delete([ast.Name(n, ast.Del()) for n in names]))
        changes.append(f"del {', '.join(names)} after its last use (line {body[last].end_lineno}"
                       f"{', in ' + where if where else ''})")


def _insert_dels_everywhere(tree, changes, notes):
    """`del` is only inserted in a scope whose variables cannot be reached by a name computed at
    run time (common.dynamic_scope_uses), and at module level only when no code anywhere
    reaches the module's globals that way; never when the program has finalizers."""
    finalizer = _finalizers(tree)
    if finalizer:
        notes.append(f"no del inserted: the program has code run at release ({finalizer})")
        return
    frames = [u for u in dynamic_scope_uses(user_code(tree)) if u[1].lstrip(".") in FRAME_ACCESS]
    if frames:
        notes.append(f"no del inserted: the program inspects frames ({describe_dynamic(frames)})")
        return
    makers = _resource_makers(user_code(tree))
    inner_names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            inner_names |= _names_in(node)
    for node in ast.walk(user_code(tree)):  # not into memopt's inlined runtime
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_memopt"):
            dynamic = dynamic_scope_uses(node)
            if dynamic:
                notes.append(f"no del in {node.name}(): its variables are reached dynamically "
                             f"({describe_dynamic(dynamic)})")
                continue
            excluded = {a.arg for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs}
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Global, ast.Nonlocal)):
                    excluded |= set(sub.names)
                if sub is not node and isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                        ast.Lambda, ast.ClassDef)):
                    excluded |= _names_in(sub)  # captured by an inner scope
            _insert_dels(node.body, excluded, changes, f"{node.name}()", makers)
    dynamic = module_dynamic_uses(tree)
    if dynamic:
        notes.append(f"no del at module level: module globals are reached dynamically ({describe_dynamic(dynamic)})")
        return
    _insert_dels(tree.body, inner_names, changes, "", makers)
    for node in tree.body:  # if __name__ == "__main__": block
        if isinstance(node, ast.If) and "__name__" in _names_in(node.test):
            _insert_dels(node.body, inner_names, changes, "the __main__ block", makers)


# --- read_csv usecols ---------------------------------------------------------------------

READ_ONLY_BUILTINS = {"len", "print", "sorted", "tuple", "list", "set", "frozenset", "str", "repr",
                      "enumerate", "zip", "reversed", "min", "max", "any", "all"}


def _parents(tree):
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _only_read(node, parents):
    """'' when the list at `node` cannot be changed or escape through this use; else why."""
    parent = parents.get(node)
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is node:
        return ""
    if isinstance(parent, ast.Compare) and node in parent.comparators and \
            all(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops):
        return ""
    if isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load):
        return ""  # an element (a str) or a slice (a new list)
    if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name) \
            and parent.func.id in READ_ONLY_BUILTINS:
        return ""
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return f"item assignment or deletion (line {parent.lineno})"
    if isinstance(parent, ast.Attribute):
        return f".{parent.attr} (line {parent.lineno})"
    return f"{ast.unparse(parent)[:40]!r} (line {getattr(parent, 'lineno', '?')})" if parent else "?"


def _module_constant_lists(tree, notes):
    """Module-level names bound once, to a list or tuple of string constants, that nothing can
    change: no other binding anywhere (assignment, augmented, for/with/walrus/star target,
    del, import, def, parameter, global), and for a list every use only reads it (iteration,
    `in`, len() and other read-only builtins, indexing) — a method call (append, extend,
    insert, ...), an item store, passing it to a function or binding it to another name makes
    it unknown. Builtins the rule relies on must not be rebound."""
    consts = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and isinstance(stmt.value, (ast.List, ast.Tuple)) \
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in stmt.value.elts):
            consts[stmt.targets[0].id] = (stmt.targets[0], stmt.value)
    if not consts:
        return {}
    all_bindings = {}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names = [node.id]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names = node.names
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.asname or a.name.split(".")[0] for a in node.names]
        for name in names:
            all_bindings.setdefault(name, []).append(node)
    rebound = sorted(n for n in READ_ONLY_BUILTINS if n in all_bindings)
    parents = _parents(tree)
    out = {}
    for name, (target, value) in consts.items():
        if all_bindings.get(name) != [target]:
            notes.append(f"usecols: {name} is bound more than once, not a constant list")
            continue
        if isinstance(value, ast.List):
            if rebound:
                notes.append(f"usecols: {', '.join(rebound)} rebound, lists are not followed")
                continue
            why = next((w for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name
                        and isinstance(n.ctx, ast.Load) for w in [_only_read(n, parents)] if w), "")
            if why:
                notes.append(f"usecols: the list {name} may change or escape: {why}")
                continue
        out[name] = [e.value for e in value.elts]
    return out


class _ColumnUse:
    """Collects the column names read from variable `var` within `scope`; None when some use
    is not a constant-name column read or len(). A loop variable stands for the constant
    strings it iterates over only when that loop is its one binding in the scope; a frame
    passed to one of the program's functions is followed when that function is bound once,
    undecorated, and the frame is a plain positional argument."""

    def __init__(self, tree, constants):
        self.tree = tree
        self.constants = constants
        defs = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        names = [f.name for f in defs]
        self.functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)
                          and names.count(f.name) == 1 and not f.decorator_list
                          and len(bindings(tree, f.name)) == 1}

    @staticmethod
    def _binding_count(scope, name):
        return sum(1 for n in ast.walk(scope) if (isinstance(n, ast.Name) and n.id == name
                                                  and isinstance(n.ctx, (ast.Store, ast.Del)))
                   or (isinstance(n, ast.arg) and n.arg == name)
                   or (isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names))

    def columns(self, scope, var, depth=0):
        loops = {}
        for node in ast.walk(scope):
            if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
                if self._binding_count(scope, node.target.id) != 1:
                    continue
                it = node.iter
                if isinstance(it, ast.Name) and it.id in self.constants and \
                        (scope is self.tree or not bindings(scope, it.id)):
                    loops[node.target.id] = self.constants[it.id]
                elif isinstance(it, (ast.List, ast.Tuple)) and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in it.elts):
                    loops[node.target.id] = [e.value for e in it.elts]
        parents = _parents(scope)
        cols = set()
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Name) and node.id == var and isinstance(node.ctx, ast.Load)):
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.Subscript) and parent.value is node:
                if not isinstance(parent.ctx, ast.Load):
                    return None  # the frame is changed
                key = parent.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    cols.add(key.value)
                elif isinstance(key, ast.Name) and key.id in loops:
                    cols.update(loops[key.id])
                else:
                    return None
            elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "len" \
                    and parent.args == [node] and not bindings(self.tree, "len"):
                continue
            elif isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name) \
                    and parent.func.id in self.functions and depth < 2 and not parent.keywords \
                    and not any(isinstance(a, ast.Starred) for a in parent.args) \
                    and (scope is self.tree or not bindings(scope, parent.func.id)):
                function = self.functions[parent.func.id]
                position = parent.args.index(node)
                params = function.args.posonlyargs + function.args.args
                if position >= len(params) or function.args.vararg:
                    return None
                inner = self.columns(function, params[position].arg, depth + 1)
                if inner is None:
                    return None
                cols |= inner
            else:
                return None
        return cols


def _add_usecols(tree, changes, notes):
    """`usecols=` is added only when every read of the frame is a constant column name (see
    _ColumnUse) and no code can reach names dynamically (then a read may hide anywhere)."""
    pandas_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names if a.name == "pandas"}
    pandas_names = {p for p in pandas_names if all(isinstance(b, ast.Import) for b in bindings(tree, p))
                    and not any(isinstance(n, ast.Name) and n.id == p and not isinstance(n.ctx, ast.Load)
                                for n in ast.walk(tree))}
    if not pandas_names:
        return
    dynamic = dynamic_scope_uses(user_code(tree))
    if dynamic:
        notes.append(f"usecols: not added, names are reached dynamically ({describe_dynamic(dynamic)})")
        return
    analysis = _ColumnUse(tree, _module_constant_lists(tree, notes))
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    for scope in scopes:
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            call = node.value
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "read_csv"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id in pandas_names):
                continue
            if len(call.args) != 1 or call.keywords:
                continue  # options we do not reason about
            var = node.targets[0].id
            stores = [n for n in ast.walk(scope) if (isinstance(n, ast.Name) and n.id == var
                      and isinstance(n.ctx, (ast.Store, ast.Del))) or (isinstance(n, ast.arg) and n.arg == var)
                      or (isinstance(n, (ast.Global, ast.Nonlocal)) and var in n.names)]
            if len(stores) != 1 or (scope is not tree and any(
                    isinstance(n, ast.Name) and n.id == var for f in ast.walk(tree)
                    if isinstance(f, ast.FunctionDef) and f is not scope for n in ast.walk(f))):
                continue
            cols = analysis.columns(scope, var)
            if not cols:
                continue
            call.keywords.append(ast.keyword("usecols", ast.List([ast.Constant(c) for c in sorted(cols)], ast.Load())))
            changes.append(f"read_csv (line {node.lineno}) reads only the columns used: {', '.join(sorted(cols))}")


def run(script, outdir, profile=None):
    report = Report("dead-data")
    source, tree = read_program(script)
    changes, notes = [], []
    dead_stores.remove_dead_stores(tree, script, source, profile, changes, notes, _release_rule(tree))
    _fill_empty_bodies(tree)
    if uses_dynamic_scope(tree):
        changes.append("imports kept: the program reads names dynamically")
    else:
        tree = _remove_unused_imports(tree, changes)
    _add_usecols(tree, changes, notes)
    copies.remove_unneeded_copies(tree, changes, notes)
    mmap_loads.map_loads(tree, changes, notes)
    _insert_dels_everywhere(tree, changes, notes)
    never = probe_never_ran(profile, tree)
    if never:
        report.changes.append("probe: imported by the program, no function ran: " + ", ".join(
            f"{name} ({rss / 1e6:.1f} MB with its imports)" for name, rss in never[:10]))
    real = [c for c in changes if not c.startswith("imports kept")]
    if not real:
        raise PassRefused("nothing to remove: every import is used, no large object outlives its last use, "
                          "no copy is unneeded" + "".join("; " + c for c in changes + notes))
    report.files = prepare_outdir(script, outdir)
    report.program = write_program(script, outdir, unparse(tree, source))
    report.applied = True
    report.changes = changes + report.changes + notes
    return report

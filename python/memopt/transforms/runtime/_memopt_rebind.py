"""Deferred names: the rewrite _memopt_lazy applies, at import, to the library modules its
table lists under REBIND, and the analysis the lazy-imports pass runs to list them.

A module-level `from R import n as b`, with R a deferred module, reads R's attribute n at
once, and that runs R's whole body (its own imports and all). When b is bound nowhere else
in the module, the statement becomes `_memopt_bound_K = import_module("R")` (binding the
deferred module object, which runs nothing) and every read of b, in the module body and in
its functions and classes, becomes `_memopt_bound_K.n`. The first such read runs R's body,
as late as that; every read gets the very object the statement would have bound (the same
identity: no proxy stands in for it). Readers from outside (`M.b`, `from M import b`) reach
it through a module __getattr__ the rewrite adds.

Safety conditions, checked on the module's own source at every import (the table only names
the candidates, so a library upgraded since optimize ran is checked again):
* b is bound only by that statement: no other assignment, del, parameter, def, class,
  import, global or nonlocal declaration, except/for/with/match target of that name anywhere
  in the module. Then every read of b anywhere in the module reads that module global.
* the module reads no namespace by name: no globals(), locals(), vars(), eval() or exec()
  (vars(x) of an object is fine),
  no `from X import *`, and no __getattr__ of its own (the rewrite adds one).
* the statement is at the module's top level or directly in a top-level `with` block (the
  block still runs; what R's body would have done inside it, such as warnings it raises
  that the block silences, happens later, outside it).
* b is not private (`__x` is mangled inside classes) and n is not `*`.
* b is read only inside function (and lambda) bodies: a name read while the module loads (in a
  class body, a base, a decorator, a default) is read at import anyway, and leaving it
  unbound would only reorder the bodies that run, which import cycles depend on; and a name
  the module never reads, only hands on (a package's `from ._base import Writer`), is left
  unbound only when R is in another top-level package: inside one package, the module that
  reads it is likely in an import cycle with R, whose order that would change.
* the pass also checks that n is not a submodule of R (reading R.n would not import it) and
  that no module of the program star-imports the module. R is a deferred module, or a
  re-exporting package that hands n out from a deferred submodule S (`from joblib import
  Memory`: joblib.memory's Memory, the very object, checked with `is`): the module then binds
  S and reads S.n.
What still differs, for the differential check to judge: the module's __dict__ and dir() no
longer list b until it is read, and patching M.b from outside no longer reaches M's functions.
"""
# ast is imported by the functions that rewrite: a run that loads the stored code (the
# usual case) does not pay for it (0.8 MB, 20 ms)
import importlib.util
import marshal
import os

CODE_DIR = "_memopt_lazy_code"  # beside the program: one FILE per module, the rewritten code
NAMESPACE_READERS = frozenset({"globals", "locals", "eval", "exec"})  # and vars() with no argument
BOUND_PREFIX = "_memopt_bound_"


def resolve(package, node):
    """The absolute name of the module an ImportFrom reads, or None."""
    return resolve_name(package, node.level, node.module)


def resolve_name(package, level, module):
    """The absolute name of `from .....module import` (`level` dots) in package `package`."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level > len(parts):
        return None
    base = ".".join(parts[:len(parts) - level + 1])
    return f"{base}.{module}" if module else base


class _Facts:
    """What the conditions ask of a module, gathered in one walk of its tree (the analysis
    runs on a few hundred library modules per run of the pass: four walks cost 4 s of CPU):
    counts, name -> how many places bind it (2 for a global/nonlocal declaration: a name
    declared so is bound from a function, which rules it out); reads, every name read;
    early, the names read while the body runs (everywhere but inside function and lambda
    bodies: class bodies, bases, decorators, defaults and annotations run at import);
    namespace, whether globals(), locals(), vars(), eval() or exec() is read."""

    def __init__(self, tree):
        import ast
        self.counts, self.reads, self.early, self.namespace = {}, set(), set(), False
        todo = [(tree, False)]  # (node, inside a function body)
        while todo:
            node, inside = todo.pop()
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.reads.add(node.id)
                    if not inside:
                        self.early.add(node.id)
                    if node.id in NAMESPACE_READERS:
                        self.namespace = True
                else:
                    self._add(node.id)
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                todo += [(n, inside) for n in self._signature(node)]
                todo += [(n, True) for n in (node.body if isinstance(node.body, list) else [node.body])]
                continue
            if isinstance(node, ast.ClassDef):
                self._add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    self._add(a.asname or a.name.split(".")[0])
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    self._add(name, 2)
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                self._add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self._add(node.rest)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars" and \
                    not node.args:
                self.namespace = True
            todo += [(n, inside) for n in ast.iter_child_nodes(node)]

    def _add(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    def _signature(self, node):
        """Binds the function's name and parameters; returns the parts that run where the
        function is defined: decorators, defaults, annotations."""
        import ast
        args = node.args
        params = [a for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a]
        for a in params:
            self._add(a.arg)
        if isinstance(node, ast.Lambda):
            return args.defaults + [d for d in args.kw_defaults if d]
        self._add(node.name)
        return node.decorator_list + args.defaults + [d for d in args.kw_defaults if d] + \
            [a.annotation for a in params if a.annotation] + ([node.returns] if node.returns else [])


def _top_level_imports(tree):
    """The ImportFrom statements of the module's top level and of the bodies of its
    top-level `with` blocks (`with warnings.catch_warnings(): from joblib import Memory`)."""
    import ast
    for stmt in tree.body:
        for inner in stmt.body if isinstance(stmt, (ast.With, ast.AsyncWith)) else [stmt]:
            if isinstance(inner, ast.ImportFrom) and inner.module != "__future__":
                yield inner


# The pass keeps candidates()' and rewrite()'s answers between its runs (module_cache.py):
# a change to what they answer must raise module_cache.FORMAT.
def candidates(tree, package, sources=None):
    """[(statement, alias, module R, attribute n, bound name b)] of the module `tree` (whose
    package is `package`) that meet the syntactic conditions above; [] when the module as a
    whole does not. `sources`: only statements reading one of these modules (the rest of the
    module is not analysed when it has none).

    Why a name read while the module loads stays bound: it is read at import anyway, so
    leaving it unbound saves nothing and would only change the order in which modules run,
    which import cycles inside a package depend on (pandas.io.excel's
    `class OpenpyxlWriter(ExcelWriter)`)."""
    statements = [(stmt, resolve(package, stmt)) for stmt in _top_level_imports(tree)]
    statements = [(stmt, source) for stmt, source in statements
                  if source is not None and (sources is None or source in sources)]
    if not statements:
        return []
    facts = _Facts(tree)
    counts = facts.counts
    if "*" in counts or "__getattr__" in counts or any(name.startswith(BOUND_PREFIX) for name in counts) \
            or facts.namespace:
        return []
    found, top = [], package.split(".")[0]
    for stmt, source in statements:
        # a name only handed on (never read here) from a module of the same package: the
        # module that reads it is likely in an import cycle with this one
        handed_on = source.split(".")[0] == top
        for alias in stmt.names:
            bound = alias.asname or alias.name
            if counts.get(bound) == 1 and bound not in facts.early and (bound in facts.reads or not handed_on) and \
                    not (bound.startswith("__") and not bound.endswith("__")):
                found.append((stmt, alias, source, alias.name, bound))
    return found


def _rewrite_reads(tree, names):
    """Every read of a name in `names` (bound name -> (variable holding the module,
    attribute)) becomes that attribute of that variable."""
    import ast

    class Reads(ast.NodeTransformer):
        def visit_Name(self, node):
            where = names.get(node.id)
            if where is None or not isinstance(node.ctx, ast.Load):
                return node
            holder = ast.copy_location(ast.Name(id=where[0], ctx=ast.Load()), node)
            return ast.copy_location(ast.Attribute(value=holder, attr=where[1], ctx=ast.Load()), node)

    Reads().visit(tree)


def _holder_statement(variable, module, like):
    import ast
    # __import__('importlib') is the importlib every interpreter has loaded at start-up: no
    # new name in the module, nothing new imported
    call = ast.parse(f"{variable} = __import__('importlib').import_module({module!r})").body[0]
    for node in ast.walk(call):
        ast.copy_location(node, like)
    return call


def rewrite(tree, package, allowed, found=None):
    """Rewrites `tree` in place for the bound names in `allowed` ({bound name: None, or
    "S:attr" when the name is to be read as attribute attr of module S: a re-exporting
    package's name, the very object S holds}); returns {bound name: (module, attribute)} of
    what was rewritten ({} leaves the tree as it was). `found`: candidates(tree, package)
    computed already."""
    import ast
    found = candidates(tree, package) if found is None else found
    chosen = [c for c in found if c[4] in allowed]
    if not chosen:
        return {}
    holders, reads, exported = {}, {}, {}
    for stmt, alias, source, attr, bound in chosen:
        if allowed[bound]:
            source, _, attr = allowed[bound].partition(":")
        holders.setdefault(source, f"{BOUND_PREFIX}{len(holders)}")
        reads[bound] = (holders[source], attr)
        exported[bound] = (source, attr)
    taken = {id(c[1]): c for c in chosen}

    def replaced(body):
        out = []
        for stmt in body:
            if isinstance(stmt, (ast.With, ast.AsyncWith)):
                stmt.body = replaced(stmt.body)
            mine = [taken[id(a)] for a in getattr(stmt, "names", []) if id(a) in taken]
            if not mine or not isinstance(stmt, ast.ImportFrom):
                out.append(stmt)
                continue
            for module in dict.fromkeys(exported[c[4]][0] for c in mine):
                out.append(_holder_statement(holders[module], module, stmt))
            rest = [a for a in stmt.names if id(a) not in taken]
            if rest:  # the names that stay eager keep their statement, after the module is bound
                out.append(ast.copy_location(ast.ImportFrom(module=stmt.module, names=rest, level=stmt.level), stmt))
        return out

    tree.body = replaced(tree.body)
    _rewrite_reads(tree, reads)
    ast.fix_missing_locations(tree)
    return exported


def compiled(source, origin, package, allowed, tree=None, found=None):
    """(names, code) of the module's rewritten body, or None when nothing is rewritten;
    `tree`: the module's source parsed already (it is rewritten in place); `found`: its
    candidates() computed already."""
    import ast
    tree = ast.parse(source, origin) if tree is None else tree
    names = rewrite(tree, package, allowed, found)
    return (names, compile(tree, origin, "exec", dont_inherit=True)) if names else None


def code_key(origin, allowed):
    """What a stored rewritten code depends on: the interpreter's bytecode version, the
    source file as it is now (size, modification time) and the names the table allows."""
    st = os.stat(origin)
    return repr((importlib.util.MAGIC_NUMBER, st.st_size, st.st_mtime_ns, sorted(allowed.items()))).encode()


def code_record(origin, allowed, done):
    """The bytes write_code stores for `done` (compiled()'s answer): its code_key, then the code."""
    key = code_key(origin, allowed)
    return len(key).to_bytes(4, "little") + key + marshal.dumps(done)


def record_is_current(record, origin, allowed):
    """Whether code_record() bytes were made from the source file as it is now, by this
    interpreter, for these names."""
    size = int.from_bytes(record[:4], "little")
    return record[4:4 + size] == code_key(origin, allowed)


def write_code(folder, module, record):
    """Stores a code_record() in folder/CODE_DIR: what the program's runs load instead of
    parsing and compiling the source each time."""
    os.makedirs(os.path.join(folder, CODE_DIR), exist_ok=True)
    with open(os.path.join(folder, CODE_DIR, module + ".bin"), "wb") as f:
        f.write(record)


def stored_code(folder, module, origin, allowed):
    """(names, code) that write_code stored for `module`, when it was made from the source
    file as it is now, by this interpreter, for these names; else None."""
    try:
        with open(os.path.join(folder, CODE_DIR, module + ".bin"), "rb") as f:
            record = f.read()
        current = record_is_current(record, origin, allowed)
    except OSError:
        return None
    return marshal.loads(record[4 + int.from_bytes(record[:4], "little"):]) if current else None

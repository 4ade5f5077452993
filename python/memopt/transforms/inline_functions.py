"""Library functions a program uses thinly, copied into it (flatten's general code-hierarchy
reduction, the paper's step 4 beyond pandas).

`from M import f` (or `import M` / `from P import M` used only as `M.f(...)`) pulls in all of M
and what M imports, for one function. When f and everything it reads can be copied, the
program gets the copy and M is no longer imported. What f reads, followed through the module
D that defines it (its "closure"), may only be:

- builtins D does not shadow;
- plain functions D defines once at top level, without decorators, nested functions, classes
  or lambdas, `global`/`nonlocal`, scope or frame introspection, or warnings (a warning's module
  and line would change: Python shows a DeprecationWarning raised from `__main__` and hides it
  otherwise);
- names D binds once by an import, re-imported in the program by absolute name and checked to
  be the very same object (`is`) D holds;
- constants D binds once to an immutable literal (numbers, strings, bytes, None, booleans and
  tuples or frozensets of them), checked equal to D's value.

Anything else (a class, a value computed while D loads, a name D binds twice or under a
condition, `__name__`, `__file__`) keeps the import, and the report says which name stopped it.
The program may only call the imported names, never rebind, pass or inspect them (their
`__module__` is the program's now), and must not import M in any other statement; the copied
names must not clash with the program's. The resolution imports M in the pass's own process
(the program imports it anyway) to check each binding against the real objects.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import os
import sys
import types

MAX_CLOSURE_FUNCTIONS = 40
MAX_CLOSURE_LINES = 1500
IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))
FORBIDDEN_NAMES = {"__name__", "__file__", "__spec__", "__loader__", "__package__", "__path__", "__builtins__",
                   "__doc__", "__dict__", "__cached__", "__all__", "globals", "locals", "vars", "eval", "exec",
                   "__import__", "super", "breakpoint"}
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class NotInlinable(Exception):
    """Why a function cannot be copied, in words for the report."""


def _immutable(value):
    if isinstance(value, IMMUTABLE):
        return True
    return isinstance(value, (tuple, frozenset)) and all(_immutable(v) for v in value)


def _absolute(module, level, package):
    if not level:
        return module
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{module}" if module else base


class _ModuleBindings:
    """How a library module D binds each top-level name: its source, parsed once."""

    def __init__(self, name):
        self.name = name
        self.module = sys.modules[name]
        path = getattr(self.module, "__file__", None) or ""
        if not path.endswith(".py") or not os.path.isfile(path):
            raise NotInlinable(f"{name} is not a Python source file")
        with open(path, encoding="utf-8") as f:
            self.source = f.read()
        self.tree = ast.parse(self.source, path)
        self.package = self.module.__package__ or ""
        self.binds = {}   # name -> [statement]
        for stmt in self.tree.body:
            for bound in self._names_bound(stmt):
                self.binds.setdefault(bound, []).append(stmt)
        self.global_names = {n for node in ast.walk(self.tree) if isinstance(node, ast.Global) for n in node.names}

    @staticmethod
    def _names_bound(stmt):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return [stmt.name]
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return [a.asname or a.name.split(".")[0] for a in stmt.names]
        # anything else, including defs and imports under if/try/with: bound there, conditionally
        found = []
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                found.append(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                found.extend(a.asname or a.name.split(".")[0] for a in n.names)
        return found

    def only_binding(self, name):
        statements = self.binds.get(name, [])
        if len(statements) != 1 or name in self.global_names:
            return None
        return statements[0]


FRAME_ATTRIBUTES = {"_getframe", "currentframe", "f_back", "f_globals", "f_locals", "__globals__", "__code__",
                    "__dict__", "__closure__", "__module__", "__qualname__"}
UNWANTED_OBJECTS = ("warnings", "_warnings", "inspect", "logging")


def _function_locals(node):
    """Names a function binds itself (parameters, stores, imports, handlers), and the targets
    of its comprehensions (each its own scope: a load of such a name elsewhere may be a global)."""
    args = node.args
    bound = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    bound |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    comprehension_targets = set()
    for n in ast.walk(node):
        if isinstance(n, ast.comprehension):
            comprehension_targets |= {t.id for t in ast.walk(n.target) if isinstance(t, ast.Name)}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)) and n.id not in comprehension_targets:
            bound.add(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)) and n is not node:
            bound |= {a.asname or a.name.split(".")[0] for a in n.names}
    return bound, comprehension_targets


def _check_function_body(node, where):
    if node.decorator_list:
        raise NotInlinable(f"{where} has a decorator")
    for n in ast.walk(node):
        if n is not node and isinstance(n, NESTED):
            raise NotInlinable(f"{where} defines a nested function, class or lambda (line {n.lineno})")
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            raise NotInlinable(f"{where} rebinds module names (line {n.lineno})")
        if isinstance(n, ast.Name) and n.id in FORBIDDEN_NAMES:
            raise NotInlinable(f"{where} reads {n.id} (line {n.lineno})")
        if isinstance(n, ast.Attribute) and n.attr in FRAME_ATTRIBUTES:
            raise NotInlinable(f"{where} reads .{n.attr} (line {n.lineno})")
        if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)):
            raise NotInlinable(f"{where} is a generator or coroutine")
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names):
            raise NotInlinable(f"{where} imports * (line {n.lineno})")


def _strip_annotations(node):
    """Annotations only fill __annotations__, which a program that just calls the copy never
    reads; dropping them keeps the copy from evaluating names in the program's namespace, and
    the names they mention are then not copied (a class named only in an annotation does not
    stop the copy). Inside the body an annotation is never evaluated: `x: T = v` becomes
    `x = v`; a bare `x: T` stays (it makes x local) with T dropped."""
    args = node.args
    for a in args.posonlyargs + args.args + args.kwonlyargs + [x for x in (args.vararg, args.kwarg) if x]:
        a.annotation = None
    node.returns = None
    for parent in ast.walk(node):
        for _, value in ast.iter_fields(parent):
            for i, st in enumerate(value if isinstance(value, list) else ()):
                if isinstance(st, ast.AnnAssign) and st.value is not None and st.simple:
                    value[i] = ast.copy_location(ast.Assign([st.target], st.value), st)
                elif isinstance(st, ast.AnnAssign):
                    st.annotation = ast.Constant(None)


def _unwanted(value):
    """The module of `value` when it is warnings, inspect or logging, else None: warnings
    attribute a warning to the caller's module, inspect and logging look at frames and module
    names, so code reaching them behaves differently once it lives in the program."""
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return name if isinstance(name, str) and name.split(".")[0] in UNWANTED_OBJECTS else None


class Closure:
    """What copying some library functions into a program takes: the statements, in an order
    that runs, and the names they bind in the program (each to one object)."""

    def __init__(self):
        self._modules = {}
        self.bound = {}        # name the copies bind in the program -> the object D holds
        self._statements = {}  # (module, name) -> (rank, module order, line, statement)
        self.functions = []    # "module.name" of each copied function
        self.builtins_read = set()  # builtins the copies read: the program must not shadow them
        self.lines = 0

    def add(self, function, name):
        """Copy a plain function (`name`: the program's name for it) and what it reads;
        NotInlinable says why not."""
        if type(function) is not types.FunctionType or function.__closure__ is not None \
                or function.__qualname__ != function.__name__ or hasattr(function, "__wrapped__"):
            kind = "a class" if isinstance(function, type) else "not found" if function is None else \
                "a wrapped function" if hasattr(function, "__wrapped__") else \
                "defined inside a function or class" if type(function) is types.FunctionType else \
                f"an object of type {type(function).__name__}"
            raise NotInlinable(f"{name} ({kind}) is not a plain Python function defined at a module's top level")
        module = function.__module__
        if not isinstance(module, str) or sys.modules.get(module) is None \
                or function.__globals__ is not vars(sys.modules[module]):
            raise NotInlinable(f"{function.__qualname__}'s module is not known")
        if getattr(sys.modules[module], function.__name__, None) is not function:
            raise NotInlinable(f"{module}.{function.__name__} is bound to another object")
        self._visit(module, function.__name__)

    def statements(self, already_bound=frozenset()):
        """The copies in an order that runs; imports of names in `already_bound` (the program
        binds them to the same object before this point) are left out."""
        return [entry[3] for key, entry in sorted(self._statements.items(), key=lambda kv: kv[1][:3])
                if not (entry[0] == 0 and key[1] in already_bound)]

    def check_functions_only_called(self):
        """A copied function passed around as a value could be compared, pickled by its module
        name or registered; inside the copies each may only be called."""
        copied = {key[1] for key, entry in self._statements.items() if entry[0] == 2}
        for entry in self._statements.values():
            if entry[0] != 2:
                continue
            parents = {c: p for p in ast.walk(entry[3]) for c in ast.iter_child_nodes(p)}
            for n in ast.walk(entry[3]):
                if isinstance(n, ast.Name) and n.id in copied and not (
                        isinstance(parents.get(n), ast.Call) and parents[n].func is n):
                    raise NotInlinable(f"{entry[3].name} uses the function {n.id} as a value")

    def _module(self, name):
        if name not in self._modules:
            self._modules[name] = _ModuleBindings(name)
        return self._modules[name]

    def _bind(self, name, value, where):
        if name in self.bound and self.bound[name] is not value:
            raise NotInlinable(f"{name} means different things in {where} and another copied module")
        self.bound[name] = value

    def _visit(self, module_name, name):
        if (module_name, name) in self._statements:
            return
        module = self._module(module_name)
        where = f"{module_name}.{name}"
        if name not in module.binds:
            if hasattr(builtins, name):
                self.builtins_read.add(name)
                return
            raise NotInlinable(f"{where} is read but {module_name} does not bind it")
        stmt = module.only_binding(name)
        if stmt is None:
            raise NotInlinable(f"{module_name} binds {name} more than once or under a condition")
        value = vars(module.module).get(name)
        order = list(self._modules).index(module_name)
        self._bind(name, value, module_name)
        if isinstance(stmt, ast.FunctionDef):
            self._statements[(module_name, name)] = (2, order, stmt.lineno, None)  # visited: recursion stops here
            self._statements[(module_name, name)] = (2, order, stmt.lineno, self._copy_function(module, stmt, value))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._statements[(module_name, name)] = (0, order, stmt.lineno, self._copy_import(module, stmt, name, value))
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            self._statements[(module_name, name)] = (1, order, stmt.lineno, self._copy_constant(module, stmt, value))
        elif isinstance(stmt, ast.ClassDef):
            raise NotInlinable(f"{where} is a class (a copy would be another class)")
        else:
            raise NotInlinable(f"{where} is a value computed while {module_name} loads (line {stmt.lineno})")

    def _copy_function(self, module, stmt, value):
        where = f"{module.name}.{stmt.name}"
        _check_function_body(stmt, where)
        if not isinstance(value, types.FunctionType) or value.__code__.co_firstlineno != stmt.lineno:
            raise NotInlinable(f"{where} is not the function its source defines")
        copy = ast.parse(ast.get_source_segment(module.source, stmt, padded=False) or "").body
        if len(copy) != 1 or not isinstance(copy[0], ast.FunctionDef):
            raise NotInlinable(f"{where}'s source could not be read back")
        copy = copy[0]
        _strip_annotations(copy)
        if len(copy.body) > 1 and isinstance(copy.body[0], ast.Expr) and isinstance(copy.body[0].value, ast.Constant) \
                and isinstance(copy.body[0].value.value, str):
            del copy.body[0]  # the docstring: only __doc__ reads it, and only the program calls the copy
        for n in ast.walk(copy):
            if isinstance(n, ast.ImportFrom) and n.level:
                n.module, n.level = _absolute(n.module, n.level, module.package), 0
        self.functions.append(where)
        self.lines += (stmt.end_lineno or stmt.lineno) - stmt.lineno + 1
        if len(self.functions) > MAX_CLOSURE_FUNCTIONS or self.lines > MAX_CLOSURE_LINES:
            raise NotInlinable(f"copying would take more than {MAX_CLOSURE_FUNCTIONS} functions or "
                               f"{MAX_CLOSURE_LINES} lines")
        local, comprehension_only = _function_locals(copy)
        free = {n.id for n in ast.walk(copy) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local
        for name in sorted(free):
            if name in comprehension_only and name not in module.binds:
                continue
            self._visit(module.name, name)
        return copy

    def _copy_import(self, module, stmt, name, value):
        where = f"{module.name}.{name}"
        alias = next(a for a in stmt.names if (a.asname or a.name.split(".")[0]) == name)
        if isinstance(stmt, ast.Import):
            copy = ast.Import([ast.alias(alias.name, alias.asname)])
            top = importlib.import_module(alias.name)
            got = top if alias.asname else sys.modules[alias.name.split(".")[0]]
        else:
            source = _absolute(stmt.module, stmt.level, module.package)
            copy = ast.ImportFrom(source, [ast.alias(alias.name, alias.asname)], 0)
            parent = importlib.import_module(source)
            got = getattr(parent, alias.name, None)
            if got is None:
                got = importlib.import_module(f"{source}.{alias.name}")
        if got is not value:
            raise NotInlinable(f"{where} is no longer what its import binds")
        if _unwanted(value):
            raise NotInlinable(f"{where} comes from {_unwanted(value)}: its behaviour depends on the caller's module")
        return copy

    def _copy_constant(self, module, stmt, value):
        where = f"{module.name}.{stmt.targets[0].id}"
        try:
            literal = ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise NotInlinable(f"{where} is a value computed while {module.name} loads (line {stmt.lineno})") from None
        if not _immutable(literal) or type(literal) is not type(value) or literal != value:
            raise NotInlinable(f"{where} is mutable or has changed since {module.name} loaded")
        return ast.Assign([ast.Name(stmt.targets[0].id, ast.Store())], stmt.value, lineno=0)


MIN_SAVING_BYTES = 1_000_000


def _program_bindings(tree, skip):
    """Every name the program uses or binds anywhere (all scopes), each occurrence as ("import",
    statement) for a top-level import, ("load", node) for a read, ("other", node) otherwise."""
    found = {}
    for stmt in tree.body:
        if stmt is skip:
            continue
        for n in ast.walk(stmt):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                for a in n.names:
                    found.setdefault(a.asname or a.name.split(".")[0], []).append(
                        ("import" if n is stmt else "other", n))
                continue
            if isinstance(n, ast.Name):
                names, kind = [n.id], "load" if isinstance(n.ctx, ast.Load) else "other"
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names, kind = [n.name], "other"
            elif isinstance(n, ast.arg):
                names, kind = [n.arg], "other"
            elif isinstance(n, ast.ExceptHandler) and n.name:
                names, kind = [n.name], "other"
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                names, kind = list(n.names), "other"
            else:
                continue
            for name in names:
                found.setdefault(name, []).append((kind, n))
    return found


def _import_binds(stmt, name):
    """The object a program's own top-level import statement binds to `name`, or None."""
    try:
        for a in stmt.names:
            if (a.asname or a.name.split(".")[0]) != name:
                continue
            if isinstance(stmt, ast.Import):
                importlib.import_module(a.name)
                return sys.modules[a.name] if a.asname else sys.modules[a.name.split(".")[0]]
            if stmt.level == 0 and stmt.module:
                parent = importlib.import_module(stmt.module)
                return getattr(parent, a.name, None)
    except Exception:  # noqa: BLE001 - an import that fails here simply binds nothing known
        return None
    return None


def _entries(stmt):
    """(module, [(program name, name imported from it or None)]) of a candidate top-level
    import, or None when the statement is no candidate."""
    if isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module \
            and all(a.name != "*" for a in stmt.names):
        return stmt.module, [(a.asname or a.name, a.name) for a in stmt.names]
    if isinstance(stmt, ast.Import) and len(stmt.names) == 1 and \
            (stmt.names[0].asname or "." not in stmt.names[0].name):
        a = stmt.names[0]
        return a.name, [(a.asname or a.name, None)]
    return None


def _dropped_modules(module, entries, profile):
    """The modules the statement loads that the copies would not: `module`, or for
    `from P import m` of a submodule m, P.m (P itself is imported anyway to reach it)."""
    def is_submodule(name):
        if isinstance(profile, dict) and isinstance(profile.get("modules"), dict):
            return name in profile["modules"]
        try:
            return importlib.util.find_spec(name) is not None
        except Exception:  # noqa: BLE001 - not importable as a module: a name in its package
            return False
    dropped = [module if attribute is None or not is_submodule(f"{module}.{attribute}") else f"{module}.{attribute}"
               for _, attribute in entries]
    return sorted(set(dropped))


def _call_uses(tree, parents, name):
    """How the program reads `name`: the Call nodes calling it directly, the Attribute nodes
    `name.f` called directly, or None when it is used any other way."""
    direct, attributes = [], []
    for n in ast.walk(tree):
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        parent = parents.get(n)
        if not isinstance(n.ctx, ast.Load):
            return None
        if isinstance(parent, ast.Call) and parent.func is n:
            direct.append(parent)
        elif isinstance(parent, ast.Attribute) and isinstance(parents.get(parent), ast.Call) \
                and parents[parent].func is parent:
            attributes.append(parent)
        else:
            return None
    return direct, attributes


def probe_cost(profile, module):
    """The RSS the probe charged to importing `module` (its import subtree), or None."""
    if not isinstance(profile, dict) or not isinstance(profile.get("modules"), dict):
        return None
    entry = profile["modules"].get(module) or {}
    return (entry.get("cumulative") or {}).get("rss_bytes")


def _plan(tree, stmt, module_name, entries, emitted):
    """The statements replacing `stmt` and the renames of `alias.f` uses, or NotInlinable."""
    module = importlib.import_module(module_name)
    closure, renames, aliases = Closure(), [], []
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    for program_name, attribute in entries:
        uses = _call_uses(tree, parents, program_name)
        if uses is None:
            raise NotInlinable(f"{program_name} is used other than by calling it")
        direct, attributes = uses
        if not direct and not attributes:
            raise NotInlinable(f"{program_name} is never called (imported for its effects?)")
        value = module if attribute is None else getattr(module, attribute, None)
        if isinstance(value, types.ModuleType):
            if direct:
                raise NotInlinable(f"{program_name} is a module and is called")
            for node in attributes:
                closure.add(getattr(value, node.attr, None), f"{program_name}.{node.attr}")
                renames.append(parents[node])  # the call: its `m.f` becomes `f`
        else:
            if attributes:
                raise NotInlinable(f"{program_name}'s attributes are read")
            closure.add(value, program_name)
            if value.__name__ != program_name:
                aliases.append(ast.Assign([ast.Name(program_name, ast.Store())], ast.Name(value.__name__, ast.Load()),
                                          lineno=0))
    closure.check_functions_only_called()
    bindings = _program_bindings(tree, stmt)
    own = {program_name for program_name, _ in entries}
    for name, value in closure.bound.items():
        if name in emitted and emitted[name] is not value:
            raise NotInlinable(f"{name} is copied from two different places")
        how = bindings.get(name, [])
        imports = [node for kind, node in how if kind == "import"]
        same_import = imports and all(kind != "other" for kind, _ in how) and \
            all(_import_binds(node, name) is value for node in imports)
        only_called = name in own and all(kind == "load" for kind, _ in how)
        if how and not same_import and not only_called:
            raise NotInlinable(f"the copied name {name} is also a name of the program")
    for name in sorted(closure.builtins_read):
        if any(kind != "load" for kind, _ in bindings.get(name, [])):
            raise NotInlinable(f"the copies read the builtin {name}, which the program binds")
    for call in renames:
        if bindings.get(call.func.attr) and call.func.attr not in closure.bound:
            raise NotInlinable(f"{call.func.attr} is also a name of the program")
    earlier = {name for name, how in bindings.items()
               if any(kind == "import" and tree.body.index(node) < tree.body.index(stmt) for kind, node in how)
               and name in closure.bound and _import_binds(next(n for k, n in how if k == "import"), name)
               is closure.bound[name]}
    return closure, renames, aliases, earlier


def inline_thin_imports(tree, script, profile, changes, notes, skip_modules=()):
    """Replace each top-level import whose names the program only calls, and whose functions
    can be copied, by the copies (module docstring); one note per import costing
    >= MIN_SAVING_BYTES in the probe (or, without a probe, per non-standard module)."""
    from .common import dynamic_scope_uses, user_code
    dynamic = dynamic_scope_uses(user_code(tree))
    emitted = {}
    for index in range(len(tree.body) - 1, -1, -1):
        stmt = tree.body[index]
        found = _entries(stmt)
        if found is None:
            continue
        module, entries = found
        top = module.split(".")[0]
        if top.startswith("_memopt") or top == "__future__" or top in skip_modules:
            continue
        dropped = _dropped_modules(module, entries, profile)
        costs = [probe_cost(profile, name) for name in dropped]
        cost = None if None in costs else sum(costs)
        if cost is None and (profile is not None or top in sys.stdlib_module_names):
            continue
        if cost is not None and cost < MIN_SAVING_BYTES:
            continue
        label = ", ".join(dropped) + (f" ({cost / 1e6:.1f} MB charged to it in the probe)" if cost is not None else "")
        why = next((w for w in (_why_kept(tree, stmt, name, dynamic) for name in dropped) if w), "")
        plan = None
        if not why:
            try:
                plan = _plan(tree, stmt, module, entries, emitted)
            except NotInlinable as refused:
                why = str(refused)
            except Exception as error:  # noqa: BLE001 - the library failed to import or inspect here
                why = f"it could not be inspected here ({type(error).__name__}: {error})"
        if why:
            notes.append(f"{label}: kept: {why}")
            continue
        closure, renames, aliases, earlier = plan
        for call in renames:
            old = call.func
            call.func = ast.Name(old.attr, ast.Load(), lineno=old.lineno, col_offset=old.col_offset)
        emitted.update(closure.bound)
        replacement = closure.statements(earlier) + aliases
        for new in replacement:
            for n in ast.walk(new):
                if "lineno" in n._attributes:
                    ast.copy_location(n, stmt)
        tree.body[index:index + 1] = replacement
        count = len(closure.functions)
        changes.append(f"{label}: import replaced by a copy of {count} function{'s' if count != 1 else ''} "
                       f"({closure.lines} lines: {', '.join(closure.functions[:4])}"
                       f"{' ...' if count > 4 else ''}); {' and '.join(dropped)} now load{'s' if len(dropped) == 1 else ''} only "
                       f"if the rest of the program needs {'it' if len(dropped) == 1 else 'them'}")
    return tree


def _why_kept(tree, stmt, dropped, dynamic):
    if dynamic:
        return "names are reached dynamically"
    last = dropped.rsplit(".", 1)[-1]
    for node in ast.walk(tree):
        if node is stmt:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node is not stmt:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n == dropped or n.startswith(dropped + ".") for n in names):
                return f"another import (line {node.lineno}) loads it too"
        if isinstance(node, ast.Attribute) and node.attr == last:
            return f".{last} is read (line {node.lineno}): the module may be reached through its package"
    return ""

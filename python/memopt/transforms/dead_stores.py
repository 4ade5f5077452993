"""dead-data: stores never read. `everything = table.copy()`, `squares = [x * x for x in data]`
whose name nothing reads are removed, so the value is never built.

Safety condition (each part refused, the program left alone, when not shown):
- the name is never read: no load or `del` of it anywhere in its scope, nested functions,
  lambdas, comprehensions and class bodies included, and no `global`/`nonlocal` of it; a
  store in a class body is never removed (it is an attribute, read as obj.NAME anywhere);
  dunder names (`__version__`, `__doc__`) and memopt's own `_memopt` names are kept;
- no code reaches the scope's variables by a computed name: in a function none of eval,
  exec, locals(), vars(), dir(), `__dict__`, computed getattr, and no frame introspection
  anywhere in the program (common.dynamic_scope_uses); at module level none anywhere in the
  program (common.module_dynamic_uses, dir() included), and the module cannot be
  imported by another: the program does not import `__main__` or itself (nor give either name
  to a call: importlib.import_module), nor doctest/pdb/code/IPython/runpy (they run code in
  the module's globals), and no local module it imports mentions `__main__` or the script's
  name;
- the right-hand side has no effect (effects.py): PURE parts (constants, names certainly
  bound, displays of them, a copy of a list/dict/set/array/table) are removed in any scope;
  parts whose only possible effect is raising an exception (numpy/pandas arithmetic,
  subscripts, astype, comprehensions over known kinds, sorted over numbers ...) only at
  module level outside any `try`/`with`, where an exception ends the program: a run that
  completes is unchanged, a run that would have raised there may now go on (a numpy warning
  that expression would have printed on stderr is not printed either; when the program
  touches warnings at all — the warnings module, captureWarnings, np.seterr/seterrcall/
  errstate — such values are kept, since a warning could be logged, called back or raised).
A store removed may make another name unread (`a = [...]; b = a`): repeated to a fixpoint.

Large unread values made by code with an effect (`result = heavy(x)`, result never read)
cannot be removed, but need not live until the end of their scope: when the probe saw the
line hold at least 1 MB at the peak, `result = heavy(x)` becomes `heavy(x)` — the call and all
its effects stay, the value is released as soon as it is made — under dead-data's condition
for `del` (not a resource such as a file, socket or pool, nor made by a program function that
makes one; no `__del__`, weakref or gc in the program; the name unread as above).
"""
from __future__ import annotations

import ast
import os
import re

from .common import FRAME_ACCESS, bindings, describe_dynamic, dynamic_scope_uses, local_modules, \
    module_dynamic_uses, user_code
from .effects import PURE, RAISES, Effects

LARGE_BYTES = 1_000_000  # a kept store is reported when the probe saw its line hold this much
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_statements(scope):
    """(statement, block, ancestors) of `scope`, not inside nested functions or classes;
    ancestors are the enclosing statements, outermost first."""
    out = []

    def visit(block, ancestors):
        for st in block:
            out.append((st, block, ancestors))
            if isinstance(st, NESTED):
                continue
            for name in ("body", "orelse", "finalbody"):
                visit(getattr(st, name, []) or [], ancestors + [st])
            for h in getattr(st, "handlers", []) or []:
                visit(h.body, ancestors + [st, h])
            for case in getattr(st, "cases", []) or []:
                visit(case.body, ancestors + [st])

    visit(scope.body, [])
    return out


def _certain_binding(st, name):
    if isinstance(st, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in st.targets)
    if isinstance(st, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == name for a in st.names if a.name != "*")
    return isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and st.name == name


# calls that evaluate a string of code reading variables by name: df.query("x > @limit"),
# pd.eval, numexpr.evaluate("2*a"), timeit.Timer("f(x)", setup="from __main__ import x") ...
STRING_EVALUATORS = {"query", "eval", "evaluate", "exec", "compile", "run", "runctx", "timeit", "Timer",
                     "repeat", "execute"}


# modules that run code in the module's globals: doctest's examples, pdb, code.interact
REFLECTIVE = {"doctest", "pdb", "code", "IPython", "runpy"}


def _string_reads(node):
    """Identifiers in string constants given to a call that evaluates code by name."""
    out = set()
    for call in ast.walk(node):
        f = getattr(call, "func", None)
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if isinstance(call, ast.Call) and name in STRING_EVALUATORS:
            for part in call.args + [k.value for k in call.keywords]:
                for c in ast.walk(part):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        out |= set(re.findall(r"[A-Za-z_]\w*", c.value))
    return out


class _Scope:
    """One module or function: which names are read, certainly bound, of which kind."""

    def __init__(self, tree, scope, effects):
        self.tree, self.scope = tree, scope
        self.statements = _own_statements(scope)
        self.where = {id(st): (block, ancestors) for st, block, ancestors in self.statements}
        code = tree if isinstance(scope, ast.Module) else scope
        self.reads = {n.id for n in ast.walk(code) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)} \
            | {x for n in ast.walk(code) if isinstance(n, (ast.Global, ast.Nonlocal)) for x in n.names} \
            | _string_reads(code)
        self.declared_global = {x for n in ast.walk(tree) if isinstance(n, ast.Global) for x in n.names}
        a = getattr(scope, "args", None)
        self.params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} if a else set()
        self.current = None  # the statement whose right-hand side is being classified
        self.visiting = set()
        self.effects = effects
        effects.bound_name, effects.name_kind = self.bound, self.kind

    def unbinds(self, name):
        return any(isinstance(b, ast.ExceptHandler) or (isinstance(b, ast.Name) and isinstance(b.ctx, ast.Del))
                   or isinstance(b, (ast.Global, ast.Nonlocal)) for b in bindings(self.scope, name))

    def bound(self, name):
        """Certainly bound when self.current runs: a parameter, or bound by an earlier statement
        of an enclosing block of this scope, and never deleted."""
        if self.current is None or self.unbinds(name):
            return False
        if name in self.params:
            return True
        st = self.current
        while id(st) in self.where:
            block, ancestors = self.where[id(st)]
            if any(_certain_binding(s, name) for s in block[:block.index(st)]):
                return True
            st = next((a for a in reversed(ancestors) if isinstance(a, ast.stmt)), None)
        return False

    def kind(self, name):
        """The kind every value of `name` has, when each binding of it in this scope is a plain
        assignment of a value of one known kind (a name global in a function: unknown)."""
        found = bindings(self.scope, name)
        if not found or name in self.visiting or self.unbinds(name) or name in self.declared_global:
            return None
        self.visiting.add(name)
        try:
            kinds = set()
            for b in found:
                parent = next((st for st, _, _ in self.statements if isinstance(st, ast.Assign)
                               and st.targets == [b]), None)
                kinds.add(self.effects.kind(parent.value) if parent else None)
            return kinds.pop() if len(kinds) == 1 else None
        finally:
            self.visiting.discard(name)


def _module_refusal(tree, script):
    """Why module-level stores may be read by code we cannot see, or ''."""
    dynamic = module_dynamic_uses(tree)
    if dynamic:
        return f"module globals are reached dynamically ({describe_dynamic(dynamic)})"
    stem = os.path.splitext(os.path.basename(script))[0]
    for n in ast.walk(tree):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in n.names] + ([n.module] if isinstance(n, ast.ImportFrom) and n.module else [])
            if any(x.split(".")[0] in ("__main__", stem) for x in names):
                return f"the program imports its own module (line {n.lineno})"
            if any(x.split(".")[0] in REFLECTIVE for x in names):
                return f"it imports {names[0]}, which runs code in the module's globals (line {n.lineno})"
        if isinstance(n, ast.Call) and any(isinstance(a, ast.Constant) and a.value in ("__main__", stem)
                                           for a in n.args + [k.value for k in n.keywords]):
            return f"{ast.unparse(n.func)}() is given the module's name (line {n.lineno})"  # import_module
    for name, path in local_modules(script).items():
        files = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
                                                     if f.endswith(".py")]
        for f in files:
            with open(f, encoding="utf-8", errors="replace") as handle:
                if re.search(r"\b(__main__|%s)\b" % re.escape(stem), handle.read()):
                    return f"the local module {name} may import the program ({os.path.basename(f)})"
    return ""


def _function_refusal(fn, frames):
    dynamic = frames or dynamic_scope_uses(fn)
    return f"its variables are reached dynamically ({describe_dynamic(dynamic)})" if dynamic else ""


def _targets(st):
    """The names a removable store binds, or None (attributes, subscripts, starred targets)."""
    names = []
    for t in st.targets:
        parts = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
        if not all(isinstance(p, ast.Name) for p in parts):
            return None
        names += [p.id for p in parts]
    return names


def _unpacking(st):
    """PURE when unpacking the value into the targets cannot fail, else RAISES."""
    for t in st.targets:
        if isinstance(t, (ast.Tuple, ast.List)) and not (
                isinstance(st.value, (ast.Tuple, ast.List)) and len(st.value.elts) == len(t.elts)
                and not any(isinstance(e, ast.Starred) for e in st.value.elts)):
            return RAISES
    return PURE


def _in_handler_reach(ancestors):
    return any(isinstance(a, (ast.Try, ast.With, ast.AsyncWith)) or type(a).__name__ == "TryStar"
               for a in ancestors)


def _one_pass(tree, scope, module_level, sizes, changes, kept, effects, release):
    """Removes the unread stores of `scope` whose value has no effect; True when any was."""
    s = _Scope(tree, scope, effects)
    where = "" if module_level else f", in {scope.name}()"
    local = set() if module_level else _locals(scope)
    for st, block, ancestors in s.statements:
        if not isinstance(st, ast.Assign):
            continue
        names = _targets(st)
        if not names or any(n in s.reads or n.startswith("__") or n.lower().startswith("_memopt")
                            or (not module_level and n not in local) for n in names):
            continue
        s.current = st
        effect = s.effects.effect(st.value)
        if effect in (PURE, RAISES):
            effect = effect if _unpacking(st) is PURE else RAISES
        text = f"{', '.join(names)} = {ast.unparse(st.value)[:60]}"
        size = sizes.get(st.lineno, 0)
        if effect is RAISES and not (module_level and not _in_handler_reach(ancestors)):
            effect = "it may raise, and an exception here could be caught" if module_level else \
                "it may raise, and a caller could catch the exception"
        elif effect is RAISES and effects.warnings_handled:
            effect = f"it may raise or warn, and the program handles warnings (line {effects.warnings_handled})"
        if effect not in (PURE, RAISES):
            if size >= LARGE_BYTES:
                released = _release(st, block, release, f"{text} (line {st.lineno}{where})", size, changes)
                if not released:
                    kept.append(f"unread store kept: {text} (line {st.lineno}{where}, {size / 1e6:.1f} MB at the "
                                f"probe's peak): {effect}")
                elif released is not True:
                    kept.append(f"unread store kept: {text} (line {st.lineno}{where}, {size / 1e6:.1f} MB at the "
                                f"probe's peak): {effect}; its result is not released at once: {released}")
                if released is True:
                    return True
            continue
        why = "its value has no effect" if effect is PURE else \
            "its value has no effect but possibly raising, at module level outside try/with"
        changes.append(f"removed unread store {text} (line {st.lineno}{where}): never read, {why}"
                       + (f"; {size / 1e6:.1f} MB at the probe's peak" if size else ""))
        block.remove(st)
        return True
    return False


def _release(st, block, release, what, size, changes):
    """An unread name bound to a large value made by code with an effect: the code is kept as
    an expression statement and the value is released at once, not when the scope ends.
    Same condition as dead-data's `del` (release(value) says why not: a resource, finalizers).
    True when done, else the reason (None: no release rule given)."""
    if release is None:
        return None
    why = release(st.value) if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) else \
        "the value is unpacked (that iterates it)"
    if why:
        return why
    block[block.index(st)] = ast.copy_location(ast.Expr(st.value), st)
    changes.append(f"unread store {what}: the name is never read; the call is kept and its result "
                   f"({size / 1e6:.1f} MB at the probe's peak) is released at once instead of when its scope ends")
    return True


def _locals(fn):
    declared = {x for n in ast.walk(fn) if isinstance(n, (ast.Global, ast.Nonlocal)) for x in n.names}
    return {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - declared


def profile_line_sizes(profile, script, source):
    """{line: bytes} of the probe's top lines at the peak that are lines of this program (the
    line's text must match: the profile is the baseline's, an earlier pass may have moved it)."""
    peak = profile.get("peak") if isinstance(profile, dict) else None
    lines = source.splitlines()
    out = {}
    for t in (peak or {}).get("top_lines") or []:
        if not isinstance(t, dict) or os.path.basename(str(t.get("file", ""))) != os.path.basename(script):
            continue
        line = t.get("line")
        if isinstance(line, int) and 0 < line <= len(lines) and lines[line - 1].strip() == \
                str(t.get("code", "")).strip():
            out[line] = out.get(line, 0) + int(t.get("bytes") or 0)
    return out


def remove_dead_stores(tree, script, source, profile, changes, notes, release=None):
    """Removes unread stores whose value has no effect (the module docstring's condition);
    with `release` (value -> '' or why not), a large unread value made by code with an
    effect is released at once (_release)."""
    sizes = profile_line_sizes(profile, script, source)
    frames = [u for u in dynamic_scope_uses(user_code(tree)) if u[1].lstrip(".") in FRAME_ACCESS]
    kept = []
    effects = Effects(tree, None, None)
    refusal = _module_refusal(tree, script)
    if refusal:
        notes.append(f"unread stores kept at module level: {refusal}")
    else:
        while _one_pass(tree, tree, True, sizes, changes, kept, effects, release):
            pass
    for fn in [n for n in ast.walk(user_code(tree)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and not n.name.startswith("_memopt")]:
        refusal = _function_refusal(fn, frames)
        if refusal:
            if any(isinstance(n, ast.Assign) for n in ast.walk(fn)):
                notes.append(f"unread stores kept in {fn.name}(): {refusal}")
            continue
        while _one_pass(tree, fn, False, sizes, changes, kept, effects, release):
            pass
    notes.extend(dict.fromkeys(kept))

"""Shared helpers of the passes: reading and writing programs, local modules, reports, and
the analyses the passes' safety conditions rest on: dynamic scope (dynamic_scope_uses,
module_dynamic_uses) and every binding of a name (bindings)."""
from __future__ import annotations

import ast
import os
import shutil
from dataclasses import dataclass, field

from .source_edits import regenerate, unified_diff

RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime")


class PassRefused(Exception):
    """The pass cannot apply safely; the message says why."""


@dataclass
class Report:
    name: str
    applied: bool = False
    changes: list = field(default_factory=list)
    reason: str = ""
    program: str = ""
    files: list = field(default_factory=list)
    launcher: dict = field(default_factory=dict)
    candidates: list = field(default_factory=list)  # what `--select` chooses from (docs/optimize.md)

    def as_dict(self):
        out = {"pass": self.name, "applied": self.applied, "changes": self.changes,
               "reason": self.reason, "program": self.program, "files": self.files,
               "launcher": self.launcher}
        if self.candidates:
            out["candidates"] = self.candidates
        return out


def read_program(path):
    with open(path, encoding="utf-8", newline="") as f:  # line endings kept: unparse keeps them
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        raise PassRefused(f"{path}:{e.lineno}: cannot parse: {e.msg}") from None
    return source, tree


def shebang(source):
    first = source.split("\n", 1)[0]
    return first + "\n" if first.startswith("#!") else ""


def unparse(tree, source):
    """The program text of the pass's new `tree`: `source` edited where the tree changed, its
    comments and layout kept (source_edits.py); the whole tree unparsed when that is not safe."""
    ast.fix_missing_locations(tree)
    text = regenerate(tree, source)
    return text if text is not None else shebang(source) + ast.unparse(tree) + "\n"


def local_modules(script):
    """Top-level names the script imports that are files or packages in its own folder."""
    folder = os.path.dirname(os.path.abspath(script))
    _, tree = read_program(script)
    found = {}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        for name in names:
            if name.startswith("_memopt"):
                continue  # memopt's runtime files, copied by prepare_outdir
            for candidate in (os.path.join(folder, name + ".py"), os.path.join(folder, name)):
                if os.path.isfile(candidate) or os.path.isfile(os.path.join(candidate, "__init__.py")):
                    found[name] = candidate
                    break
    return found


def prepare_outdir(script, outdir):
    """Creates OUT_DIR with copies of the script's local modules and memopt runtime files
    (the per-tree store, helpers) found beside the script. Never touches the input."""
    os.makedirs(outdir, exist_ok=True)
    folder = os.path.dirname(os.path.abspath(script))
    copied = []
    entries = set(local_modules(script).values())
    for name in os.listdir(folder):
        if name.startswith("_memopt_"):
            entries.add(os.path.join(folder, name))
    for source in sorted(entries):
        target = os.path.join(outdir, os.path.basename(source))
        if os.path.abspath(source) == os.path.abspath(target):
            continue
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
        copied.append(os.path.basename(source))
    return copied


def write_program(script, outdir, text):
    """Writes `text` as the program in `outdir` and, when it differs from `script`,
    DIFF_NAME beside it (write_diff)."""
    target = os.path.join(outdir, os.path.basename(script))
    if os.path.abspath(target) == os.path.abspath(script):
        raise PassRefused("output would overwrite the input program")
    with open(target, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(target, 0o755)
    with open(script, encoding="utf-8", newline="") as f:
        write_diff(f.read(), text, os.path.basename(script), outdir)
    return target


DIFF_NAME = "changes.diff"  # in a pass's output directory: its program against the input


def write_diff(old, new, name, outdir):
    """Writes OUTDIR/DIFF_NAME, the unified diff of program NAME from `old` to `new` text, and
    returns DIFF_NAME; when they are equal removes a stale one and returns ""."""
    path = os.path.join(outdir, DIFF_NAME)
    if os.path.islink(path) or (old == new and os.path.isfile(path)):
        os.remove(path)  # never written through a link
    if old == new:
        return ""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(unified_diff(old, new, name))
    return DIFF_NAME


def names_loaded(tree):
    """Every identifier read anywhere in the tree (Name loads and attribute bases)."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            used.add(node.id)
    return used


def uses_dynamic_scope(tree):
    """True when the program reads names dynamically (globals(), eval, ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in {"globals", "locals", "vars", "eval", "exec", "__import__"}:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dir" and not node.args:
            return True  # dir() lists the names imports bind
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, ast.Name) and node.id == "__all__":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "modules" and isinstance(node.value, ast.Name) \
                and node.value.id == "sys":
            return True  # sys.modules["json"] needs `import json` kept
    return False


def import_aliases(tree, module):
    """Names bound to `module` by `import module [as x]` at any level."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == module:
                    names.add(a.asname or a.name)
    return names


def insert_after_docstring_and_future(tree, statements):
    body = tree.body
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    body[i:i] = statements


def runtime_source(name):
    with open(os.path.join(RUNTIME_DIR, name), encoding="utf-8") as f:
        return f.read()


def imported_modules(tree, with_names=False):
    """Absolute module names the program imports (`import a.b`: a.b; `from m import x`: m, and
    m.x too `with_names`, since x may be a submodule)."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
            if with_names:
                imported |= {f"{node.module}.{a.name}" for a in node.names}
    return imported


def probe_never_ran(profile, tree):
    """Modules the script itself imports that the probe (memopt.profile/1) saw imported but
    never running a function: [(name, cumulative RSS bytes)], largest first. Empty when the
    profile is missing or not understood (the passes then use static analysis only)."""
    if not isinstance(profile, dict) or not isinstance(profile.get("modules"), dict):
        return []
    imported = imported_modules(tree, with_names=True)
    modules = profile["modules"]
    ran = {n for n, m in modules.items() if isinstance(m, dict) and m.get("ran")}
    out = []
    for name in sorted(imported):
        m = modules.get(name)
        # a package ran when any of its modules ran (pandas.read_csv lives in pandas.io...)
        if isinstance(m, dict) and not m.get("preloaded") and \
                not any(r == name or r.startswith(name + ".") for r in ran):
            out.append((name, int((m.get("cumulative") or {}).get("rss_bytes") or 0)))
    # the profile is the baseline's: small modules a pass added since (csv, array) are noise
    return sorted([x for x in out if x[1] >= 512 * 1024], key=lambda x: -x[1])


def imported_names(tree):
    """Names bound by the program's imports: `import a.b` binds a, `from m import x` binds x."""
    return {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
            for a in n.names} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                                 for a in n.names}


def uses_beyond_stand_in(tree, attributes, modules, always=frozenset()):
    """What a stand-in object would be asked for that it does not implement.

    Returns (used, type_line): the names of `attributes` read on anything but one of
    `modules` (np.where is numpy's, not a frame's) plus the names of `always` read on
    anything, and the line of the first one-argument type() call (the stand-in's class is
    not the real one), or None."""
    used, type_line = set(), None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in attributes:
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if not (isinstance(base, ast.Name) and base.id in modules):
                used.add(node.attr)
        if isinstance(node, ast.Attribute) and node.attr in always:
            used.add(node.attr)
        if type_line is None and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "type" and len(node.args) == 1:
            type_line = node.lineno
    return used, type_line


# --- dynamic scope and bindings (the safety conditions of the name analyses) ----------------

SCOPE_READERS = {"eval", "exec", "locals", "globals", "vars", "breakpoint", "__import__"}
NAMED_ACCESS = {"getattr", "setattr", "delattr", "hasattr"}
FRAME_ACCESS = {"_getframe", "currentframe", "f_locals", "f_globals", "f_back", "stack"}
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def dynamic_scope_uses(node):
    """Where code under `node` may read or write variables by a name computed at run time:
    [(line, what)]. eval/exec/locals()/globals()/vars()/breakpoint(), `__dict__`,
    getattr/setattr/delattr/hasattr with a name that is not a constant string, frame
    introspection (sys._getframe, inspect.currentframe, f_locals, ...), `import *`, and
    `sys.modules` other than in a membership test (a module reaches its globals through it),
    and dir() without an argument (it lists the scope's names)."""
    found = []
    parents = {c: p for p in ast.walk(node) for c in ast.iter_child_nodes(p)}
    for n in ast.walk(node):
        line = getattr(n, "lineno", 0)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            if n.func.id in SCOPE_READERS or (n.func.id == "dir" and not n.args):
                found.append((line, f"{n.func.id}()"))
            elif n.func.id in NAMED_ACCESS and (len(n.args) < 2 or not (
                    isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str))):
                found.append((line, f"{n.func.id}() with a computed name"))
        elif isinstance(n, ast.Attribute) and (n.attr == "__dict__" or n.attr in FRAME_ACCESS):
            found.append((line, f".{n.attr}"))
        elif isinstance(n, ast.Attribute) and n.attr == "modules" and isinstance(n.value, ast.Name) \
                and n.value.id == "sys" and not _membership_test(n, parents):
            found.append((line, "sys.modules"))
        elif isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names):
            found.append((line, f"from {n.module} import *"))
    # eval & co. passed around as values (f = eval; f("x")) are as dynamic as a direct call
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in SCOPE_READERS | NAMED_ACCESS and id(n) not in calls \
                and isinstance(n.ctx, ast.Load):
            found.append((getattr(n, "lineno", 0), f"{n.id} used as a value"))
    return sorted(set(found))


def _membership_test(node, parents):
    """`x in node` / `x not in node`: reads which keys exist, reaches no value."""
    parent = parents.get(node)
    return isinstance(parent, ast.Compare) and node in parent.comparators and \
        all(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops)


def describe_dynamic(uses, limit=3):
    return ", ".join(f"{what} (line {line})" for line, what in uses[:limit])


def module_dynamic_uses(tree):
    """Dynamic uses anywhere in the program that reach module-level names: globals(), vars(),
    eval/exec (they default to the module's globals, also inside functions), `__dict__`,
    computed getattr (on sys.modules[__name__] or a module), frames, `import *` anywhere."""
    code = user_code(tree)
    in_functions = {getattr(n, "lineno", 0) for f in ast.walk(code) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                                      ast.Lambda))
                    for n in ast.walk(f) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                    and n.func.id == "locals"}
    # locals() in a function reads that function's variables; at module level it is globals()
    return [u for u in dynamic_scope_uses(code) if not (u[1] == "locals()" and u[0] in in_functions)]


def bindings(scope, name):
    """Every place in `scope` (not in nested scopes) that binds or unbinds `name`: plain,
    augmented, annotated, star, for/with/walrus targets and del (Name nodes with a Store or
    Del context), imports, def/class statements, `except ... as`, match captures and
    global/nonlocal declarations. Parameters count as bindings too."""
    out = []

    def visit(node, top):
        if not top and isinstance(node, SCOPES):
            if getattr(node, "name", None) == name:
                out.append(node)
            for d in getattr(node, "decorator_list", []):
                visit(d, False)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and not top:
            return  # comprehension variables are their own scope (walrus aside, see below)
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if (a.asname or a.name.split(".")[0]) == name or a.name == "*":
                    out.append(node)
        elif isinstance(node, ast.ExceptHandler) and node.name == name:
            out.append(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            out.append(node)
        elif isinstance(node, ast.arg) and node.arg == name:
            out.append(node)
        elif type(node).__name__ in ("MatchAs", "MatchStar") and getattr(node, "name", None) == name:
            out.append(node)
        elif type(node).__name__ == "MatchMapping" and getattr(node, "rest", None) == name:
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, False)

    visit(scope, True)
    # a walrus inside a comprehension binds in the enclosing scope
    for n in ast.walk(scope):
        if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name) and n.target.id == name \
                and n.target not in out:
            out.append(n.target)
    return out


def _runtime_statement(stmt):
    """A top-level statement of memopt's own runtime inlined by an earlier pass (its names all
    start with _memopt/_Memopt/_MEMOPT); its dynamic accesses only reach its own objects."""
    def ours(name):
        return name.lower().startswith("_memopt")
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return ours(stmt.name)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return all(a.asname and ours(a.asname) for a in stmt.names)
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, ast.Name) and ours(t.id) for t in stmt.targets)
    if isinstance(stmt, ast.For):
        return isinstance(stmt.target, ast.Name) and ours(stmt.target.id)
    return False


def user_code(tree):
    """The program without memopt's inlined runtime (for the dynamic-scope checks)."""
    return ast.Module([s for s in tree.body if not _runtime_statement(s)], [])

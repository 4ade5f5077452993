"""Shared helpers of the passes: reading and writing programs, local modules, reports."""
from __future__ import annotations

import ast
import os
import shutil
from dataclasses import dataclass, field

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

    def as_dict(self):
        return {"pass": self.name, "applied": self.applied, "changes": self.changes,
                "reason": self.reason, "program": self.program, "files": self.files,
                "launcher": self.launcher}


def read_program(path):
    with open(path, encoding="utf-8") as f:
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
    ast.fix_missing_locations(tree)
    return shebang(source) + ast.unparse(tree) + "\n"


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
    target = os.path.join(outdir, os.path.basename(script))
    if os.path.abspath(target) == os.path.abspath(script):
        raise PassRefused("output would overwrite the input program")
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(target, 0o755)
    return target


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
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, ast.Name) and node.id == "__all__":
            return True
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


def probe_never_ran(profile, tree):
    """Modules the script itself imports that the probe (memopt.profile/1) saw imported but
    never running a function: [(name, cumulative RSS bytes)], largest first. Empty when the
    profile is missing or not understood (the passes then use static analysis only)."""
    if not isinstance(profile, dict) or not isinstance(profile.get("modules"), dict):
        return []
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
            imported |= {f"{node.module}.{a.name}" for a in node.names}
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

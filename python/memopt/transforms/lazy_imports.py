"""The lazy-imports pass: the paper's step 3 ("useless imported modules") and the import
half of step 4 ("the interpreter loads statically every single module ... without taking
into account which functions will be actually executed"), for any program.

From the probe's profile (memopt.profile/1: every module in sys.modules, whether any of its
functions ran, what its import cost), the pass writes the program with one first statement,
`import _memopt_lazy`, and two files beside it: the runtime (runtime/_memopt_lazy.py) and the
table of what it defers (_memopt_lazy_table.py). Two kinds of module are deferred:

* never-run modules: pure-Python modules (library or standard library) none of whose
  functions ran after the imports (calls made while an import ran, such as scipy.stats
  building its distributions, do not count), in a subtree whose modules never ran either.
  Their bodies run only when something first reads an attribute of them (then they load, as
  late as that);
* re-exporting packages: packages whose body is imports, literal bindings, plain function
  definitions (a module __getattr__ for removed names), `if typing.TYPE_CHECKING:` blocks and
  at most MAX_SKIPPED_EFFECTS other simple statements. A name they re-export is fetched from the
  submodule that defines it (the very object the body would bind, checked by importing
  them in a scratch interpreter, lazy_analysis.py), so the body and the submodules only it
  imports are skipped; reading any other name runs the body.
Library modules whose top-level `from R import n` of a deferred R would run R at once are
listed (REBIND) and load from rewritten code that reads n where the module uses it
(runtime/_memopt_rebind.py states the conditions; the pass stores the compiled code).

Safety condition. Deferring a module changes *when* its body runs, or skips it. What that
can change — registrations done at import, warnings filters, environment variables, import
errors now raised later, circular imports resolved in another order — is not something a
static analysis of library code can rule out, so the condition is the differential check:
the candidate must behave identically (docs/optimize.md, "What identical means"). The pass
offers the candidates (one per top-level package pair, `scipy.stats`, `joblib`, ...) with
`candidates` and `--select`, largest estimated saving first; optimize keeps the largest
subset that proves identical. Compiled modules are never deferred (their initialisation
cannot wait), nor the program's own local modules, nor anything imported before the program
started (the interpreter's own start-up).
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
import tempfile

from . import module_cache
from .lazy_analysis import type_checking_only
from .runtime import _memopt_rebind
from .common import PassRefused, Report, imported_modules, insert_after_docstring_and_future, local_modules, \
    prepare_outdir, read_program, runtime_source, unparse, write_program

RUNTIME = "_memopt_lazy"
TABLE = "_memopt_lazy_table"
REBIND_RUNTIME = "_memopt_rebind"
MAX_SKIPPED_EFFECTS = 3          # statements of a package body other than imports and literals
MIN_REPORTED_BYTES = 1 << 20     # heavy imports the report explains one by one
ANALYSIS_TIMEOUT_S = 120
MERGED_BELOW_BYTES = 1 << 20     # smaller candidates join their top-level package's


def _group(name):
    """The candidate a module belongs to: its first two name components."""
    return ".".join(name.split(".")[:2])


_FORK_SHARED = None  # what _fork_map's workers read: set before the fork, inherited


def _fork_map(fn, items, shared=None):
    """[fn(item) for item in items], spread over the machine's cores by forked workers (the
    pass parses and analyses a thousand library modules: half its time on 2 cores). fn and
    its answers must be picklable; `shared` reaches it as _FORK_SHARED without pickling."""
    global _FORK_SHARED
    _FORK_SHARED = shared
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(items) < 64:
        return [fn(item) for item in items]
    import concurrent.futures
    import multiprocessing
    try:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, items, chunksize=max(1, len(items) // (8 * workers))))
    except (OSError, concurrent.futures.process.BrokenProcessPool):  # no fork, or a worker died
        return [fn(item) for item in items]


def _modules(profile, script):
    """name -> module entry, for the modules the pass may defer."""
    modules = profile.get("modules") if isinstance(profile, dict) else None
    if not isinstance(modules, dict) or not modules:
        raise PassRefused("needs the probe's profile (which modules ran): give transform --profile P "
                          "(from memopt probe), or run optimize without --no-probe")
    local = set(local_modules(script))
    out = {}
    for name, m in modules.items():
        if not isinstance(m, dict) or m.get("preloaded") or name.startswith("__"):
            continue
        top = name.split(".")[0]
        if top in local or top.startswith(("memopt", "_memopt", "sitecustomize")):
            continue
        if str(m.get("file") or "").endswith(".py"):
            out[name] = m
    return out


def _ran(modules_all, after_import=True):
    """Names of modules under which (the module or a submodule) some function ran after the
    imports: calls made while an import ran (scipy.stats building its distributions, a
    decorator) do not count, since deferring the module defers them with its body; a
    module they are needed by touches it, and it loads then. Profiles without the split
    (`functions_run_after_import`) count every call."""
    ran = set()
    for name, m in modules_all.items():
        if not isinstance(m, dict):
            continue
        if m.get("functions_run_after_import") if after_import and "functions_run_after_import" in m else \
                (m.get("ran") or m.get("functions_run")):
            parts = name.split(".")
            ran.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return ran


def _cost(m, key="cumulative"):
    return int(((m.get(key) or {}).get("rss_bytes")) or 0)


def _plain_def(stmt):
    """A function definition whose only effect is binding its name: no decorator (which
    would run code), defaults and annotations that are literals (evaluated at the def), so
    that running the body of the package later binds the same kind of function."""
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) or stmt.decorator_list:
        return False
    args = stmt.args
    parts = args.defaults + [d for d in args.kw_defaults if d is not None] + [stmt.returns] + \
        [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a]
    return all(p is None or _is_literal(p) for p in parts)


def _body_effects(path):
    """_body_effect_lines(path), kept between runs of the pass (module_cache)."""
    return module_cache.cached("body", path, lambda: _body_effect_lines(path))


def _body_effect_lines(path):
    """The lines of the statements of a package body that are not imports, literal bindings, __all__,
    del, plain function definitions (_plain_def: `def __getattr__` for deprecated names),
    `if TYPE_CHECKING:` blocks or the docstring; None when the body has a statement that
    rules it out (a class, a decorated def, control flow: code that decides what the
    package holds)."""
    tree = _parsed(path)
    if tree is None:
        return None
    effects = []
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Delete, ast.Pass)) or _plain_def(stmt) or \
                type_checking_only(stmt, tree.body):
            continue
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if all(isinstance(t, ast.Name) for t in targets):
                if all(t.id == "__all__" for t in targets) or _is_literal(stmt.value):
                    continue
                effects.append(stmt.lineno)
                continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            effects.append(stmt.lineno)
            continue
        return None
    return effects if len(effects) <= MAX_SKIPPED_EFFECTS else None


def _import_time_calls(path):
    """_top_level_calls(path), kept between runs of the pass (module_cache)."""
    return module_cache.cached("calls", path, lambda: _top_level_calls(path))


def _top_level_calls(path):
    """Lines of the module's top level that call something for its effect: a call statement
    (`x.update(...)`, `register(...)`) or a `with` block, also inside top-level if/try/for
    blocks (not inside functions or classes, which run later or build the class). Such a
    module may register itself with another at import (pandas' options, matplotlib's
    docstrings), which deferring it would skip or delay, so it is not deferred."""
    tree = _parsed(path)
    if tree is None:
        return [0]
    lines, todo = [], list(tree.body)
    while todo:
        stmt = todo.pop(0)
        if isinstance(stmt, (ast.With, ast.AsyncWith)) or \
                (isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Call, ast.Await))):
            lines.append(stmt.lineno)
        elif isinstance(stmt, (ast.If, ast.Try, ast.For, ast.While)):
            for block in ("body", "orelse", "finalbody"):
                todo.extend(getattr(stmt, block, []))
            for handler in getattr(stmt, "handlers", []):
                todo.extend(handler.body)
    return sorted(lines)


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


class _ExportMaps:
    """lazy_analysis.py's answer for `packages`, run in a scratch directory and home: started
    here, read by result(), so that the pass scans modules while it imports them."""

    def __init__(self, packages):
        self.packages, self.process, self.kept = packages, None, None
        if not packages:
            return
        # the answer depends on the packages, the interpreter and where imports look, and on
        # the files the imports read (checked by module_cache)
        self.cache_key = json.dumps([packages, sys.executable, os.environ.get("PYTHONPATH", "")])
        self.kept = module_cache.get_for_files("exports", self.cache_key)
        if self.kept is not None:
            return
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.scratch = tempfile.TemporaryDirectory(prefix="memopt-lazy-")
        env = dict(os.environ, HOME=self.scratch.name, MPLCONFIGDIR=self.scratch.name, MPLBACKEND="Agg",
                   TMPDIR=self.scratch.name,
                   PYTHONPATH=os.pathsep.join([here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        self.process = subprocess.Popen([sys.executable, "-m", "memopt.transforms.lazy_analysis"], cwd=self.scratch.name,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        # the request now (a few kB: the pipe holds it), so that it works while the pass scans
        try:
            self.process.stdin.write(json.dumps(packages))
            self.process.stdin.close()
        except OSError:  # it exited already: result() sees its status
            pass
        self.process.stdin = None  # sent: communicate() only reads

    def result(self):
        if self.kept is not None:
            return self.kept
        if self.process is None:
            return {}
        with self.scratch:
            try:
                out, _ = self.process.communicate(timeout=ANALYSIS_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
                return {}
        try:
            maps = json.loads(out) if self.process.returncode == 0 else {}
        except ValueError:
            maps = {}
        files = maps.pop("!files", None)
        maps = {p: m for p, m in maps.items() if isinstance(m, dict) and "!error" not in m and m}
        if isinstance(files, list):
            module_cache.put_for_files("exports", self.cache_key, files, maps)
        return maps


class _Plan:
    """What the pass can defer, by candidate id."""

    def __init__(self):
        self.deferred = {}    # id -> [module]
        self.exports = {}     # id -> {package: export map}
        self.saving = {}      # id -> estimated bytes
        self.notes = {}       # id -> [why]
        self.kept = {}        # never-run module -> why it is not deferred
        self.ran = set()      # modules under which some function ran (_ran)

    def add(self, gid, saving, note):
        self.saving[gid] = self.saving.get(gid, 0) + saving
        self.notes.setdefault(gid, []).append(note)

    def merge_small(self, least):
        """Folds candidates estimated under `least` bytes into their top-level package's, so
        the search over subsets has fewer, larger pieces."""
        for gid in [g for g in self.saving if "." in g and self.saving[g] < least]:
            top = gid.split(".")[0]
            self.saving[top] = self.saving.get(top, 0) + self.saving.pop(gid)
            self.notes.setdefault(top, []).extend(self.notes.pop(gid))
            self.deferred.setdefault(top, []).extend(self.deferred.pop(gid, []))
            self.exports.setdefault(top, {}).update(self.exports.pop(gid, {}))

    def candidates(self):
        ids = sorted(self.saving, key=lambda g: (-self.saving[g], g))
        return [{"id": g, "estimated_saving_bytes": self.saving[g], "what": "; ".join(self.notes[g][:4]) +
                 (f"; +{len(self.notes[g]) - 4} more" if len(self.notes[g]) > 4 else "")} for g in ids]


def _plan(profile, script):
    modules = _modules(profile, script)
    plan = _Plan()
    ran = plan.ran = _ran(profile["modules"])
    # packages any of whose code ran, even only at import (a deferred package whose submodule
    # is imported runs its body; a re-exporting one does not)
    ran_at_all = _ran(profile["modules"], after_import=False)
    bodies = {n: _body_effects(m["file"]) for n, m in modules.items()
              if n in ran_at_all and str(m.get("file")).endswith("__init__.py")}
    export_maps = _ExportMaps([n for n, effects in bodies.items() if effects is not None])
    never_ran = [name for name in modules if name not in ran]
    calls = dict(zip(never_ran, _fork_map(_import_time_calls, [modules[n]["file"] for n in never_ran])))
    for name, m in modules.items():
        if name not in ran:
            effects = calls[name]
            if effects:
                plan.kept[name] = f"its top level calls code at import (line {effects[0]})"
                continue
            plan.deferred.setdefault(_group(name), []).append(name)
            parent = name.rpartition(".")[0]
            if not parent or parent in ran or parent not in modules:
                plan.add(_group(name), _cost(m), f"{name} never ran ({_cost(m) / 1e6:.1f} MB)")
    for package, emap in export_maps.result().items():
        fetched = sum(1 for w in emap.values() if w is not None)
        if not fetched:
            continue  # every name it holds is computed by its body: deferring it saves nothing
        plan.exports.setdefault(_group(package), {})[package] = emap
        effects = bodies[package]
        skipped = "" if not effects else ", skipping " + ", ".join(f"line {n}" for n in effects)
        plan.add(_group(package), 0, f"{package}: {fetched} names from their submodules{skipped}")
    plan.merge_small(MERGED_BELOW_BYTES)
    return plan


def _heavy_imports(profile, tree, plan):
    """One line per import of the program (`tree`) costing MIN_REPORTED_BYTES or more: done or why not."""
    names = imported_modules(tree)
    modules, ran = profile["modules"], plan.ran
    lines = []
    for name in sorted(names):
        m = modules.get(name)
        if not isinstance(m, dict) or _cost(m) < MIN_REPORTED_BYTES:
            continue
        gid = _group(name)
        if name in plan.kept:
            why = "kept: " + plan.kept[name]
        elif name not in ran and name in plan.deferred.get(gid, []):
            why = "deferred: none of its code ran"
        elif name in plan.exports.get(gid, {}):
            why = "its body is skipped: the names used come from the submodules defining them"
        elif not str(m.get("file") or "").endswith(".py"):
            why = "kept: a compiled module loads when imported"
        elif m.get("preloaded"):
            why = "kept: imported before the program started"
        elif str(m.get("file")).endswith("__init__.py"):
            why = f"kept: {sum(1 for r in ran if r.startswith(name + '.'))} of its modules ran code, and its body " \
                  "computes what it holds (not only re-exports)"
        else:
            why = f"kept: {m.get('functions_run', 0)} of its functions ran"
        lines.append(f"import {name} costs {_cost(m) / 1e6:.1f} MB (probe): {why}")
    return lines


def _package_of(name, m):
    return name if str(m.get("file")).endswith("__init__.py") else name.rpartition(".")[0]


def _is_submodule(modules_all, module, attr):
    """Whether `module.attr` is a module of its own (a file or directory in the package)."""
    if f"{module}.{attr}" in modules_all:
        return True
    m = modules_all.get(module)
    path = str((m or {}).get("file") or "") if isinstance(m, dict) else ""
    if not path.endswith("__init__.py"):
        return not path  # a plain module has no submodules; an unknown one may
    entries = _folder_entries(os.path.dirname(path))
    # attr.py, attr/ or a compiled attr.cpython-311-....so
    return entries is None or attr in entries or any(f.startswith(attr + ".") for f in entries)


@functools.lru_cache(maxsize=None)
def _folder_entries(folder):
    """The names in a package's folder, listed once per run of the pass (None: unreadable)."""
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return None


# `from X import` at the start of a line: every top-level one (also in a `with` block), and
# lines that only look like one (nested, in strings): a superset, so a file without a match
# needs no parsing
TOP_LEVEL_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import\b", re.M)
STAR_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t(]*\*", re.M)


def _sources(pattern, text, package):
    return {_memopt_rebind.resolve_name(package, len(m.group(1)), m.group(2) or None)
            for m in pattern.finditer(text)}


def _deferrable_names(found, modules_all, deferred, exports):
    """{bound name: None | "S:attr"}: of the module's candidates `found` (its top-level
    `from R import n`), the names that may wait (R deferred; or R a re-exporting package
    handing n out from a deferred S)."""
    allowed = {}
    for _, _, source, attr, bound in found:
        if source in deferred:
            if not _is_submodule(modules_all, source, attr):
                allowed[bound] = None
            continue
        where = exports.get(source, {}).get(attr)
        if where and where[0] != "=" and where[1] and where[0] in deferred and \
                not _is_submodule(modules_all, where[0], where[1]):
            allowed[bound] = f"{where[0]}:{where[1]}"
    return allowed


def _rebinds(profile, script, deferred, exports, outdir):
    """Writes, for each library module whose module-level `from R import n` binds names from
    a deferred R that _memopt_rebind may leave unbound (its conditions, plus: n is not a
    submodule of R, and no module star-imports the module), its rewritten code into outdir;
    returns {module: names}. Only modules the probe saw loaded from Python source; a text
    scan first, so that only modules with such a line are parsed."""
    deferred = set(deferred)
    sources, texts, starred = deferred | set(exports), {}, set()
    for name, m in _modules(profile, script).items():
        try:
            with open(m["file"], encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        package = _package_of(name, m)
        if "*" in text:
            starred |= _sources(STAR_FROM, text, package)
        if _sources(TOP_LEVEL_FROM, text, package) & sources:
            texts[name] = (m["file"], package)
    shared = (profile["modules"], deferred, exports, sources, outdir)
    done = _fork_map(_rebind_module, [(n, *texts[n]) for n in texts if n not in starred], shared)
    return dict(entry for entry in done if entry)


def _rebind_module(item):
    """(module, names) when the module's code was rewritten and stored, else None
    (_rebinds' work on one module, in a _fork_map worker). Both the module's candidates and
    its rewritten code are kept between runs of the pass (module_cache)."""
    name, origin, package = item
    modules_all, deferred, exports, sources, outdir = _FORK_SHARED
    found, tree, statements = module_cache.get("rebind", origin, package), None, None
    if found is None:
        tree = _parsed(origin)
        statements = [] if tree is None else _memopt_rebind.candidates(tree, package)
        found = [c[2:] for c in statements]
        module_cache.put("rebind", origin, found, package)
    allowed = _deferrable_names([(None, None, *c) for c in found if c[0] in sources], modules_all, deferred, exports)
    if not allowed:
        return None
    which = json.dumps([package, sorted(allowed.items())])
    record = module_cache.get_bytes("code", origin, which)
    if record is None or not _memopt_rebind.record_is_current(record, origin, allowed):
        if tree is None:
            tree = _parsed(origin)
            statements = [] if tree is None else _memopt_rebind.candidates(tree, package, sources)
        done = _memopt_rebind.compiled(None, origin, package, allowed, tree, statements) if statements else None
        if done is None:
            return None
        record = _memopt_rebind.code_record(origin, allowed, done)
        module_cache.put_bytes("code", origin, record, which)
    _memopt_rebind.write_code(outdir, name, record)
    return name, [b + ("=" + r if r else "") for b, r in sorted(allowed.items())]


def _parsed(path):
    """The module's tree, or None when it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as f:
            return ast.parse(f.read())
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def _encoded(where):
    """One entry of the table's text form (runtime/_memopt_lazy.py parses it)."""
    if where is None:
        return "!\t"
    if where[0] == "=":
        value = where[1]
        kind = {str: "s", int: "i", float: "f", bool: "b", type(None): "n"}[type(value)]
        text = "1" if value is True else "0" if value is False else "" if value is None else repr(value) \
            if kind == "f" else str(value)
        return f"=\t{kind}:{text}"
    return f"{where[0]}\t{where[1] or ''}"


def _table_source(deferred, exports, rebinds):
    # strings, not dict literals: compiling thousands of entries cost 10 MB at every run
    encoded = {}
    for package, names in sorted(exports.items()):
        lines = [f"{n}\t{_encoded(w)}" for n, w in sorted(names.items())
                 if "\n" not in n and not (w and w[0] == "=" and isinstance(w[1], str) and
                                            ("\n" in w[1] or "\t" in w[1]))]
        encoded[package] = "\n".join(lines)
    return ('"""What _memopt_lazy defers, written by memopt\'s lazy-imports pass."""\n'
            f"DEFERRED = {' '.join(sorted(deferred))!r}\n"
            f"EXPORTS = {encoded!r}\n"
            f"REBIND = {chr(10).join(n + chr(9) + ' '.join(names) for n, names in sorted(rebinds.items()))!r}\n")


def run(script, outdir, profile=None, select=None):
    report = Report("lazy-imports")
    source, tree = read_program(script)
    if any(isinstance(n, ast.Import) and any(a.name == RUNTIME for a in n.names) for n in tree.body):
        raise PassRefused("the program's imports are deferred already")
    plan = _plan(profile, script)
    report.candidates = plan.candidates()
    chosen = [c["id"] for c in report.candidates] if select is None else [g for g in select if g in plan.saving]
    deferred = sorted(n for g in chosen for n in plan.deferred.get(g, []))
    exports = {p: m for g in chosen for p, m in plan.exports.get(g, {}).items()}
    notes = _heavy_imports(profile, tree, plan)
    if not deferred and not exports:
        raise PassRefused("no module to defer: every pure-Python module imported ran code, and no package "
                          "only re-exports" + ("; " + "; ".join(notes) if notes else ""))
    report.files = prepare_outdir(script, outdir)
    # the rewritten code of each module, stored (a run loads it instead of compiling the source)
    rebinds = _rebinds(profile, script, deferred, exports, outdir)
    if rebinds:
        report.files.append(_memopt_rebind.CODE_DIR)
    for runtime in [RUNTIME] + ([REBIND_RUNTIME] if rebinds else []):
        with open(os.path.join(outdir, runtime + ".py"), "w", encoding="utf-8") as f:
            f.write(runtime_source(runtime + ".py"))
        report.files.append(runtime + ".py")
    with open(os.path.join(outdir, TABLE + ".py"), "w", encoding="utf-8") as f:
        f.write(_table_source(deferred, exports, rebinds))
    report.files.append(TABLE + ".py")
    insert_after_docstring_and_future(tree, [ast.Import(names=[ast.alias(name=RUNTIME)])])
    report.program = write_program(script, outdir, unparse(tree, source))
    module_cache.prune()
    report.applied = True
    report.changes = [f"deferred {len(deferred)} modules whose code never ran after the imports and skipped the bodies of {len(exports)} "
                      f"re-exporting packages ({len(chosen)} of {len(plan.saving)} candidates)"] + \
        ([f"left {sum(map(len, rebinds.values()))} names unbound in {len(rebinds)} library modules until read "
          "(their `from M import name` of a deferred M)"] if rebinds else []) + \
        [f"{c['id']}: ~{c['estimated_saving_bytes'] / 1e6:.1f} MB: {c['what']}" for c in report.candidates
         if c["id"] in chosen][:12] + notes
    return report

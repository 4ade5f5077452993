"""Deferred imports, written by memopt's lazy-imports pass next to the program it rewrote.

The program imports this module first. It installs an import finder for the modules listed
in _memopt_lazy_table (the probe saw them imported, and their code never ran):

* DEFERRED modules: importing one binds a module object whose code runs only when something
  first reads one of its attributes (dunder names the import system itself reads, such as
  __spec__ and __name__, do not count). A module nobody touches never runs its code, and
  the modules it would have imported are never imported.
* EXPORTS packages: a package whose body only re-exports names of its submodules. Reading
  such a name imports just the submodule that defines it; the package body (and the other
  submodules it would have imported) runs only when a name it defines itself is read.
* REBIND modules: library modules whose module-level `from R import n` of a deferred R would
  run R's body at once. Their source is rewritten as they load (_memopt_rebind.py: n is
  read from R where the module reads it, so R runs only when that code runs).

Why a hand-written loader rather than importlib.util.LazyLoader: LazyLoader loads the module
on any attribute read, including the __spec__ check `import` makes on every later import of
the same module (so a module imported twice is loaded), and it has no notion of re-exports.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
import types

import _memopt_lazy_table

# The table is strings (cheap to compile: a dict literal of thousands of entries cost 10 MB
# of RSS to compile at every run), parsed per package when first needed.
DEFERRED = frozenset(_memopt_lazy_table.DEFERRED.split())
_EXPORT_TEXT = _memopt_lazy_table.EXPORTS
_HERE = os.path.dirname(os.path.abspath(_memopt_lazy_table.__file__))  # the program's folder
# module -> the names its rewrite may defer ("module\tname name" lines; absent: no rewrite)
REBIND = dict((line.split("\t") + [""])[:2] for line in getattr(_memopt_lazy_table, "REBIND", "").split("\n") if line)
_LITERALS = {"s": str, "i": int, "f": float, "b": lambda v: v == "1", "n": lambda v: None}


class _Exports(dict):
    """package -> {name: (module, attribute or None) | ("=", value) | None}, parsed lazily."""

    def get(self, package, default=None):
        if dict.__contains__(self, package):
            return dict.__getitem__(self, package)
        text = _EXPORT_TEXT.get(package)
        if text is None:
            return default
        names = {}
        for line in text.split("\n"):
            name, _, rest = line.partition("\t")
            module, _, attr = rest.partition("\t")
            if module == "!":
                names[name] = None
            elif module == "=":
                names[name] = ("=", _LITERALS[attr[0]](attr[2:]))
            else:
                names[name] = (module, attr or None)
        self[package] = names
        return names

    def __contains__(self, package):
        return dict.__contains__(self, package) or package in _EXPORT_TEXT


EXPORTS = _Exports()

# What the import system reads from a module without that being a use of the module.
_IMPORT_SYSTEM = frozenset({"__spec__", "__name__", "__loader__", "__package__", "__file__",
                            "__cached__", "__class__"})
_locks_guard = threading.Lock()
_locks = {}
_running = threading.local()  # names of the modules whose body this thread is running
# MEMOPT_LAZY_TRACE=1: say on stderr which deferred module ran, for which name, read where
_TRACE = os.environ.get("MEMOPT_LAZY_TRACE") == "1"


def _lock(name):
    with _locks_guard:
        return _locks.setdefault(name, threading.RLock())


def _own(module, attr):
    return object.__getattribute__(module, attr)


def _runs_here(spec):
    return spec.name in getattr(_running, "names", ())


class _DeferredModule(types.ModuleType):
    def __getattribute__(self, attr):
        if attr in _IMPORT_SYSTEM:
            return _own(self, attr)
        spec = _own(self, "__spec__")
        if _runs_here(spec):  # its body, running: it sees itself as a plain module would
            return types.ModuleType.__getattribute__(self, attr)
        exports = EXPORTS.get(spec.name)
        if attr == "__path__":
            if spec.submodule_search_locations is None:
                raise AttributeError(attr)  # not a package: no __path__, nothing to run
            if exports is not None:
                return _own(self, "__dict__")["__path__"]  # submodules import without the body
        if exports is not None:
            found = _exported(self, spec.name, exports, attr)
            if found is not _MISSING:
                return found
        if _TRACE:
            _say_why(spec.name, attr)
        _run_body(self)
        return getattr(self, attr)

    def __setattr__(self, attr, value):
        spec = _own(self, "__spec__")
        # a dunder set from outside (a finder renaming the module) needs no body either
        if EXPORTS.get(spec.name) is not None or _runs_here(spec) or (attr.startswith("__") and attr.endswith("__")):
            _own(self, "__dict__")[attr] = value  # the import system binding a submodule
            return
        _run_body(self)
        setattr(self, attr, value)

    def __delattr__(self, attr):
        if _runs_here(_own(self, "__spec__")):
            return types.ModuleType.__delattr__(self, attr)
        _run_body(self)
        delattr(self, attr)


_MISSING = object()


def _exported(package, name, exports, attr):
    """The name `attr` of `package`, fetched as its body would have bound it, or _MISSING
    when only running the body can tell."""
    if attr.startswith("__") and attr.endswith("__") and attr not in exports:
        return _MISSING
    if attr not in exports:
        # the body binds no such name: after it the attribute exists only as a submodule
        value = _own(package, "__dict__").get(attr)
        if value is not None:
            return value
        if importlib.util.find_spec(f"{name}.{attr}") is None:
            if "__getattr__" in exports:
                return _MISSING  # the package's own __getattr__ answers it, after its body
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        return importlib.import_module(f"{name}.{attr}")
    where = exports[attr]
    if where is None:
        return _MISSING
    if where[0] == "=":
        return where[1]
    module = importlib.import_module(where[0])
    if type(package) is not _DeferredModule:
        return _MISSING  # importing the submodule ran the package body
    if where[1] is None:
        return module
    try:
        return getattr(module, where[1])
    except AttributeError:  # `from .a import b` where b is a submodule of .a
        return importlib.import_module(f"{where[0]}.{where[1]}")


def _say_why(name, attr):
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(("<frozen", __file__)):
        frame = frame.f_back
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "?"
    sys.stderr.write(f"memopt lazy-imports: {name} runs: {attr} read at {where}\n")


def _run_body(module):
    """Runs the module's body once. Other threads wait for it; the module stays deferred
    (and they wait) until the body has finished, as they would wait on an import."""
    spec = _own(module, "__spec__")
    with _lock(spec.name):
        if type(module) is not _DeferredModule or _runs_here(spec):
            return
        real = spec.loader.real
        spec.loader = real
        _own(module, "__dict__")["__loader__"] = real
        names = _running.__dict__.setdefault("names", set())
        names.add(spec.name)
        try:
            real.exec_module(module)
        finally:
            names.discard(spec.name)
            object.__setattr__(module, "__class__", types.ModuleType)


class _DeferringLoader:
    def __init__(self, real):
        self.real = real

    def __getattr__(self, attr):  # resource readers and the like: the real loader's
        return getattr(self.real, attr)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__class__ = _DeferredModule


class _RebindingLoader:
    """Runs a REBIND module's body from its rewritten source (_memopt_rebind.py); the body
    as it is when the module's source no longer meets the conditions."""

    def __init__(self, real, names):
        self.real = real
        # "name" or "name=S:attr" (read attr of module S): the names the rewrite may defer
        self.names = {b: redirect or None for b, _, redirect in (w.partition("=") for w in names.split())}

    def __getattr__(self, attr):
        return getattr(self.real, attr)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        import _memopt_rebind
        spec = module.__spec__
        done = _memopt_rebind.stored_code(_HERE, spec.name, spec.origin, self.names)
        if done is None:  # parsed and compiled here: the library changed since optimize ran
            package = spec.name if spec.submodule_search_locations is not None else spec.name.rpartition(".")[0]
            done = _memopt_rebind.compiled(self.real.get_source(spec.name), spec.origin, package, self.names)
        if done is None:
            self.real.exec_module(module)
            return
        names, code = done
        _own(module, "__dict__")["__getattr__"] = _module_getattr(spec.name, names)
        # the real loader runs the rewritten code as if it had compiled it from the source, so
        # that whatever wraps its exec_module sees the module run (memopt's own run hook
        # reseeds `random` right after it loads)
        self.real.get_code = lambda fullname: code
        try:
            self.real.exec_module(module)
        finally:
            del self.real.get_code


def _module_getattr(module_name, names):
    """The module __getattr__ (PEP 562) of a rewritten module: a deferred name read from
    outside (`M.b`, `from M import b`) is fetched from the module that defines it."""
    def __getattr__(attr):
        where = names.get(attr)
        if where is None:
            raise AttributeError(f"module {module_name!r} has no attribute {attr!r}")
        return getattr(importlib.import_module(where[0]), where[1])
    return __getattr__


class _Finder:
    """Asks the finders after it for the module's spec, then wraps the spec's loader. Another
    finder that also asks the others (such as memopt's own run hook) asks this one back:
    while this one is asking for a name, it finds nothing for that name, so neither
    recurses."""

    def __init__(self):
        self.asking = set()

    def find_spec(self, name, path, target=None):
        if name not in DEFERRED and name not in EXPORTS and name not in REBIND or name in self.asking:
            return None
        self.asking.add(name)
        try:
            spec = next((s for s in (f.find_spec(name, path, target) for f in list(sys.meta_path)
                                     if f is not self and hasattr(f, "find_spec")) if s is not None), None)
        finally:
            self.asking.discard(name)
        if spec is None:
            return None
        # only modules whose code is Python source can wait; compiled ones load now
        if type(spec.loader) is importlib.machinery.SourceFileLoader:
            if name in REBIND:
                spec.loader = _RebindingLoader(spec.loader, REBIND[name])
            if name in DEFERRED or name in EXPORTS:
                spec.loader = _DeferringLoader(spec.loader)
        return spec


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())

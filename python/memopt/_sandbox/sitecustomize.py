"""memopt optimize's runtime hook for observed runs (transforms/outputs.cpp puts this directory
first on PYTHONPATH; site imports it as sitecustomize).

It records, into $MEMOPT_SANDBOX_RECORDS:
  hook          written first: the hook ran (absent under -I, -E, -S: no observation)
  outside.txt   one absolute path per line the program opened for writing, removed, renamed,
                truncated or created outside $MEMOPT_SANDBOX_ROOT (Python-level operations,
                seen through sys.addaudithook; writes by C code calling libc directly and by
                child processes are not seen). With MEMOPT_SANDBOX_BLOCK=1 the operation
                fails with PermissionError instead, so the user's file stays untouched
  figures.txt   one line per open matplotlib figure at each pyplot.show() call and at exit:
                its size and the SHA-256 of its rendered RGBA pixels (Agg)
(without $MEMOPT_SANDBOX_RECORDS it records nothing and blocks nothing).

With MEMOPT_SANDBOX_PIN_ENTROPY=1 it pins the run's Python-level entropy before the program
starts (docs/optimize.md "What identical means"): os.urandom and os.getrandom return a fixed
stream, SHA-512 in counter mode over a label, the consumer and how many times that consumer
drew before. The consumer is the module and function that asked, the first frame on the stack
past the entropy plumbing (os, random, secrets), or the compiled module whose import draws; so
a draw's bytes do not depend on when other code draws (a module a rewrite imports later, or
never, changes no one else's bytes). Everything seeded from the stream follows: numpy's
unseeded generators (SeedSequence draws through secrets), random.SystemRandom, uuid4,
tempfile's names. `random` seeds itself from C-level entropy, so right after the program
imports it (a meta-path finder that acts on `random` only, then leaves) its global instance is
reseeded from the stream, and Random.seed(None) (also Random()) draws from the stream. A
forked child gets its own stream (its lineage: which fork of which process it is). Not pinned:
C code reading /dev/urandom or getrandom(2) itself, child processes that exec, time, thread
timing, addresses.

Then it takes itself out of sight: its directory leaves sys.path, the environment variables
it was given are removed (PYTHONPATH restored), and the system's own sitecustomize, if any,
is imported in its place. matplotlib is never imported by the hook: pyplot is patched only
when the program imports it.
"""
import os
import sys

_records = os.environ.pop("MEMOPT_SANDBOX_RECORDS", "")
_root = os.environ.pop("MEMOPT_SANDBOX_ROOT", "")
_pythonpath = os.environ.pop("MEMOPT_SANDBOX_PYTHONPATH", None)
_block = os.environ.pop("MEMOPT_SANDBOX_BLOCK", "") == "1"
_allow = [p for p in os.environ.pop("MEMOPT_SANDBOX_ALLOW", "").split(os.pathsep) if p]
_pin = os.environ.pop("MEMOPT_SANDBOX_PIN_ENTROPY", "") == "1"
_here = os.path.dirname(os.path.abspath(__file__))


def _restore_environment():
    if _pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = _pythonpath
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]


def _allowed_roots():
    roots = [os.path.realpath(_root), "/dev", "/proc"] + [os.path.realpath(p) for p in _allow]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    roots.append(os.path.realpath(cache))  # caches (matplotlib's font list) are rebuilt at will
    # matplotlib's own directory, which its first import creates (~/.config/matplotlib on a
    # fresh machine): its state, not the program's output.
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    roots.append(os.path.realpath(os.environ.get("MPLCONFIGDIR") or os.path.join(config, "matplotlib")))
    return roots


def _leads_to_allowed(path, roots):
    try:
        full = os.path.realpath(os.path.join(os.getcwd(), os.fsdecode(os.fspath(path))))
    except Exception:
        return False
    return any(r.startswith(full.rstrip("/") + "/") for r in roots)


def _inside(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# audit event -> indexes of the arguments that are paths being changed
_CHANGING_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.truncate": (0,),
                    "os.mkdir": (0,), "os.link": (1,), "os.symlink": (1,), "os.chmod": (0,),
                    "os.utime": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,)}


def _install_write_watch(fd):
    roots = _allowed_roots()
    seen = set()

    def note(path):
        if isinstance(path, int) or path is None:
            return
        try:
            path = os.fsdecode(os.fspath(path))
            full = os.path.realpath(os.path.join(os.getcwd(), path))
        except Exception:
            return
        if "/__pycache__/" in full or _inside(full, roots):
            return
        if full not in seen:
            seen.add(full)
            os.write(fd, (full + "\n").encode("utf-8", "surrogateescape"))
        if _block:
            raise PermissionError(f"memopt optimize's sandbox: writing outside it is blocked: {full}")

    def hook(event, args):
        try:
            if event == "open":
                path, mode, flags = (tuple(args) + (None, None, None))[:3]
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                         (mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS)
                if writes:
                    note(path)
            elif event == "os.mkdir" and args and not isinstance(args[0], int) and os.path.isdir(args[0]):
                pass  # makedirs(exist_ok=True) of a directory that is there changes nothing
            elif event == "os.mkdir" and args and not isinstance(args[0], int) and _leads_to_allowed(args[0], roots):
                pass  # makedirs of ~/.config on the way to matplotlib's allowed directory
            elif event in _CHANGING_EVENTS:
                for i in _CHANGING_EVENTS[event]:
                    if i < len(args):
                        note(args[i])
        except PermissionError:
            raise  # the one change the hook makes: a blocked write outside the sandbox
        except Exception:
            pass  # otherwise the hook must never change what the program does

    sys.addaudithook(hook)


def _texts_with_digits(figure):
    """The figure's texts that show digits, except tick labels and offsets (the axes redraw those
    from the data at every draw): [(artist, text)]."""
    from matplotlib.text import Text
    redrawn = set()
    for axes in figure.get_axes():
        for axis in axes._axis_map.values() if hasattr(axes, "_axis_map") else (axes.xaxis, axes.yaxis):
            redrawn.add(id(axis.offsetText))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                redrawn.update((id(tick.label1), id(tick.label2)))
    return [(t, t.get_text()) for t in figure.findobj(Text)
            if id(t) not in redrawn and any(ch.isdigit() for ch in t.get_text())]


def _figure_lines(manager, when):
    """A figure's record: its pixels' hash, drawn with every number of its texts as 0, and each
    line of such a text as written (the comparison masks timings in those, timings.h, as in
    stdout: a title "fit in 0.12s" no longer makes every run's pixels differ)."""
    import hashlib
    import re
    number = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
    canvas = manager.canvas
    if not hasattr(canvas, "buffer_rgba"):
        return [f"figure {manager.num} at {when}: not rendered (backend without pixels)\n"]
    canvas.draw()
    texts = _texts_with_digits(canvas.figure)
    if texts:
        try:
            for artist, text in texts:
                artist.set_text(number.sub("0", text))
            canvas.draw()
        finally:
            for artist, text in texts:
                artist.set_text(text)
    pixels = memoryview(canvas.buffer_rgba())
    width, height = canvas.get_width_height()
    digest = hashlib.sha256(pixels.tobytes()).hexdigest()
    return [f"figure {manager.num} at {when}: {width}x{height} rgba sha256={digest}\n"] + [
        f"figure {manager.num} at {when} text {k} line {n}: {line!r}\n"
        for k, (_, text) in enumerate(texts, 1) for n, line in enumerate(text.split("\n"), 1)]


def _save_figures(pyplot, when):
    try:
        from matplotlib._pylab_helpers import Gcf
        lines = []
        for manager in sorted(Gcf.get_all_fig_managers(), key=lambda m: m.num):
            lines.extend(_figure_lines(manager, when))
        if lines:
            with open(os.path.join(_records, "figures.txt"), "a") as f:
                f.writelines(lines)
    except Exception as e:  # a figure that cannot be drawn is still an observation
        with open(os.path.join(_records, "figures.txt"), "a") as f:
            f.write(f"figures at {when}: cannot render ({type(e).__name__})\n")


def _patch_pyplot(pyplot):
    import atexit
    real_show = pyplot.show
    calls = [0]

    def show(*args, **kwargs):
        calls[0] += 1
        _save_figures(pyplot, f"plt.show() call {calls[0]}")
        return real_show(*args, **kwargs)

    show.__wrapped__ = real_show
    show.__doc__ = real_show.__doc__
    pyplot.show = show
    # registered after pyplot's own exit handler, so it runs before the figures are destroyed
    atexit.register(_save_figures, pyplot, "exit")


class _AfterImport:
    """Finds nothing itself; calls `then(module)` right after the real loader ran module `name`
    (the first time it is imported), then leaves sys.meta_path. Imports nothing."""

    def __init__(self, name, then):
        self.name, self.then, self.asking = name, then, False

    def find_spec(self, name, path=None, target=None):
        # asking: another finder that asks the others (lazy-imports' runtime) asks this one back
        if name != self.name or self.asking:
            return None
        self.asking = True
        try:
            return self._wrapped_spec(name, path, target)
        finally:
            self.asking = False

    def _wrapped_spec(self, name, path, target):
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                real_exec = spec.loader.exec_module

                def exec_module(module, real_exec=real_exec):
                    real_exec(module)
                    sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
                    self.then(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


_PIN_LABEL = b"memopt optimize: entropy pinned, v1"
# Modules between a consumer of entropy and the OS: a draw is named by the first frame past them.
_IMPORT_MACHINERY = {"importlib._bootstrap", "importlib._bootstrap_external"}
_PLUMBING = {"os", "random", "secrets", "importlib", "importlib.util"}


class _PinnedEntropy:
    """The run's OS entropy as a fixed stream (see the module's docstring)."""

    def __init__(self):
        self.lineage = b"main"  # "main/0/2": the third fork of the first fork of the process
        self.forks = 0
        self.draws = {}         # consumer -> how many times it drew

    def consumer(self):
        """Who draws: the first frame past the plumbing, "module:function"; or, when the draw is
        made by a compiled module's initialisation (no frame of its own, importlib's next), that
        module: "import numpy.random.mtrand", whoever imports it first."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_globals.get("__name__")
            if name in _IMPORT_MACHINERY:  # the loader's exec_module(module), _load_unlocked(spec)
                local = frame.f_locals
                imported = getattr(local.get("module"), "__name__", None) or getattr(local.get("spec"), "name", None)
                if isinstance(imported, str):
                    return f"import {imported}"
            elif frame.f_globals is not globals() and name not in _PLUMBING:
                code = frame.f_code
                return f"{name}:{getattr(code, 'co_qualname', code.co_name)}"
            frame = frame.f_back
        return "?"

    def draw(self, size, consumer=None):
        size = size.__index__()
        if size < 0:
            raise ValueError("negative argument not allowed")
        key = (consumer or self.consumer()).encode("utf-8", "surrogateescape")
        count = self.draws.get(key, 0)
        self.draws[key] = count + 1
        try:  # the built-in module random imports itself: no module more than an unhooked run loads
            from _sha512 import sha512
        except ImportError:  # Python 3.12+
            from _sha2 import sha512
        seed = b"\0".join([_PIN_LABEL, self.lineage, key, str(count).encode()])
        out = bytearray()
        while len(out) < size:
            out += sha512(seed + b"\0" + str(len(out) // 64).encode()).digest()
        return bytes(out[:size])

    def forked_child(self):
        self.lineage += b"/" + str(self.forks).encode()
        self.forks = 0
        self.draws = {}

    def forked_parent(self):
        self.forks += 1


_entropy = _PinnedEntropy()


def _pinned_random(module):
    """random's global instance reseeded from the stream, and Random.seed(None) drawing from it."""
    real_seed = module.Random.seed

    def seed(self, a=None, version=2):
        if a is None:
            a = int.from_bytes(_entropy.draw(32), "big")
        return real_seed(self, a, version)

    seed.__wrapped__ = real_seed
    seed.__doc__ = real_seed.__doc__
    module.Random.seed = seed
    module._urandom = _pinned_urandom

    def reseed_global():
        module._inst.seed(int.from_bytes(_entropy.draw(32, "random: the global instance"), "big"))

    reseed_global()
    module.seed = module._inst.seed  # random.seed was bound to the unpatched method
    if hasattr(os, "register_at_fork"):  # after random's own reseed from the OS in a forked child
        os.register_at_fork(after_in_child=reseed_global)


def _pinned_urandom(size, /):
    return _entropy.draw(size)


def _pinned_getrandom(size, flags=0):
    return _entropy.draw(size)


def _pin_entropy():
    import posix  # built in and loaded before site runs: imports nothing new
    for module in (os, posix):
        module.urandom = _pinned_urandom
        if hasattr(module, "getrandom"):
            module.getrandom = _pinned_getrandom
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_parent=_entropy.forked_parent, after_in_child=_entropy.forked_child)
    if "random" in sys.modules:
        _pinned_random(sys.modules["random"])
    else:
        sys.meta_path.insert(0, _AfterImport("random", _pinned_random))


def _install():
    if _pin:
        _pin_entropy()
    if not _records:
        return
    fd = os.open(os.path.join(_records, "hook"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"loaded\n")
    os.close(fd)
    outside = os.open(os.path.join(_records, "outside.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    _install_write_watch(outside)
    sys.meta_path.insert(0, _AfterImport("matplotlib.pyplot", _patch_pyplot))


_install()
_restore_environment()
del sys.modules["sitecustomize"]
try:
    import sitecustomize  # noqa: F401  the system's own (Debian: apport's hook)
except ImportError:
    pass

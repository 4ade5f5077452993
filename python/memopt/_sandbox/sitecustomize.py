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


def _save_figures(pyplot, when):
    try:
        import hashlib
        from matplotlib._pylab_helpers import Gcf
        lines = []
        for manager in sorted(Gcf.get_all_fig_managers(), key=lambda m: m.num):
            canvas = manager.canvas
            if not hasattr(canvas, "buffer_rgba"):
                lines.append(f"figure {manager.num} at {when}: not rendered (backend without pixels)\n")
                continue
            canvas.draw()
            pixels = memoryview(canvas.buffer_rgba())
            width, height = canvas.get_width_height()
            digest = hashlib.sha256(pixels.tobytes()).hexdigest()
            lines.append(f"figure {manager.num} at {when}: {width}x{height} rgba sha256={digest}\n")
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


class _PyplotFinder:
    """Finds nothing itself; patches matplotlib.pyplot right after the real loader ran it."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                real_exec = spec.loader.exec_module

                def exec_module(module, real_exec=real_exec):
                    real_exec(module)
                    sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
                    _patch_pyplot(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


def _install():
    if not _records:
        return
    fd = os.open(os.path.join(_records, "hook"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"loaded\n")
    os.close(fd)
    outside = os.open(os.path.join(_records, "outside.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    _install_write_watch(outside)
    sys.meta_path.insert(0, _PyplotFinder())


_install()
_restore_environment()
del sys.modules["sitecustomize"]
try:
    import sitecustomize  # noqa: F401  the system's own (Debian: apport's hook)
except ImportError:
    pass

"""Python side of `memopt probe`, run inside the embedded interpreter.

The C++ probe (profiler/probe/) executes this file directly into a private namespace; it is
never imported as `memopt._probe`, so it adds no module to sys.modules and pulls in nothing
beyond what the interpreter already loaded at startup (sys, _imp, _thread, _tracemalloc and
the frozen importlib). The script's own imports therefore all show up in the import tree.

It provides:
  * configure(mode): where allocated bytes come from - "sampled" (the native allocation
    sampler's estimate of live bytes, the default), "tracemalloc" (traced memory) or "none";
  * install_import_hook(): wraps importlib._bootstrap._find_and_load (the function both the
    `import` statement and importlib.import_module go through, the same place
    `-X importtime` measures) and records time, RSS and allocated bytes around each load;
  * run_script(): runs the script as __main__ the way `python3 SCRIPT` does;
  * peak_snapshot(): the object census (and, with tracemalloc, the top allocating lines from
    the raw traces), called by the native poller when tracked memory reaches a new high; in
    sampled mode the top lines come from the sampler's copy at its highest estimate;
  * results(): everything above as plain Python objects for the C++ side to turn into JSON.

Native helpers come from the embedded module `_memopt_probe` (rss(), now(), census(), ...).
"""

import sys
import gc  # noqa: F401  (builtin; loaded now so the census does not import it later)
import _thread
import _tracemalloc
import _memopt_probe as native

_bootstrap = sys.modules["_frozen_importlib"]
_original_find_and_load = _bootstrap._find_and_load

# One record per _find_and_load call:
# [name, parent_index, t0, rss0, traced0, t1, rss1, traced1, failed, thread_id, importer]
_imports = []
_stacks = {}  # thread id -> stack of indices into _imports
_preloaded = sorted(sys.modules)
_top_lines = []
_census = []
_snapshot_info = {}
_top_n = 25
_get_ident = _thread.get_ident
_get_traced = _tracemalloc.get_traced_memory
_mode = "tracemalloc"


def _traced_now():
    return _get_traced()[0]


def _zero():
    return 0


allocated = _traced_now  # live Python-allocated bytes now (exact or estimated), by mode


def configure(mode, top_n=25):
    global _mode, allocated, _top_n
    _mode = mode
    _top_n = top_n
    allocated = {"tracemalloc": _traced_now, "sampled": native.allocated_now}.get(mode, _zero)
_rss = native.rss
_now = native.now
_getframe = sys._getframe


def _find_and_load(name, import_):
    ident = _get_ident()
    stack = _stacks.get(ident)
    if stack is None:
        stack = _stacks[ident] = []
    parent = stack[-1] if stack else -1
    record = [name, parent, _now(), _rss(), allocated(), 0.0, 0, 0, False, ident, _importer()]
    index = len(_imports)
    _imports.append(record)
    stack.append(index)
    native.import_depth(1)
    try:
        module = _original_find_and_load(name, import_)
    except BaseException:
        record[8] = True
        raise
    finally:
        native.import_depth(-1)
        stack.pop()
        record[5] = _now()
        record[6] = _rss()
        record[7] = allocated()
    if name == "threading":
        # New threads get the native profile function as soon as they run Python code.
        try:
            module.setprofile(_thread_profile_hook)
        except Exception:
            pass
    return module


_MACHINERY = frozenset(("importlib._bootstrap", "importlib._bootstrap_external", "importlib",
                        "_memopt_probe_py"))


def _importer():
    """Name of the module whose code asked for the import (first frame outside importlib)."""
    frame = _getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name not in _MACHINERY:
            return name
        frame = frame.f_back
    return None


def _thread_profile_hook(frame, event, arg):
    native.track_code_in_this_thread()


def install_import_hook():
    _bootstrap._find_and_load = _find_and_load


def remove_import_hook():
    if _bootstrap._find_and_load is _find_and_load:
        _bootstrap._find_and_load = _original_find_and_load


def _realpath(path):
    # os is loaded at startup by site; os.path.realpath needs nothing more.
    return sys.modules["os"].path.realpath(path)


def run_script(script, package_dir):
    """Runs `script` as __main__ like `python3 script`. Returns the exit status."""
    os = sys.modules["os"]
    script = os.path.abspath(script)  # python3 makes the script's path absolute (not argv[0])
    sys.path.insert(0, os.path.dirname(_realpath(script)))
    if package_dir not in sys.path:
        sys.path.append(package_dir)
    main = sys.modules["__main__"]
    main.__dict__["__file__"] = script
    main.__dict__["__cached__"] = None
    loader_type = sys.modules["_frozen_importlib_external"].SourceFileLoader
    main.__dict__["__loader__"] = loader_type("__main__", script)
    try:
        with sys.modules["io"].open_code(script) as f:
            source = f.read()
        code = compile(source, script, "exec", dont_inherit=True)
        native.start_code_tracking()
        try:
            exec(code, main.__dict__)
        finally:
            native.stop_code_tracking()
        return 0
    except SystemExit as e:
        return _exit_status(e)
    except BaseException as e:
        # Like python3: the traceback on stderr, status 1 (130 for Ctrl-C).
        # Without this function's frame, as python3 shows it (the hook prints e.__traceback__).
        tb = e.__traceback__
        if tb is not None and tb.tb_frame.f_code is run_script.__code__:
            e.__traceback__ = tb = tb.tb_next
        sys.excepthook(type(e), e, tb)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


def _exit_status(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def wait_for_threads():
    """Joins non-daemon threads as interpreter shutdown would, so they are part of the run."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except Exception:
            pass


# ----- peak snapshot: top lines and census -----------------------------------------------

def _library_prefixes():
    prefixes = set()
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr/local", "/usr"):
        prefixes.add(prefix.rstrip("/") + "/lib/python")
    return tuple(sorted(prefixes))


_LIBRARY_PREFIXES = _library_prefixes()
_user_cache = {}


def _is_user_file(filename):
    user = _user_cache.get(filename)
    if user is None:
        user = not (filename.startswith("<") or filename.startswith(_LIBRARY_PREFIXES)
                    or "/dist-packages/" in filename or "/site-packages/" in filename
                    or filename.startswith(_PROBE_FILE))
        _user_cache[filename] = user
    return user


_PROBE_FILE = __file__ if "__file__" in globals() else "<memopt-probe>"


def _rank_lines(traces, top_n, count_index=-1):
    ranked = native.aggregate_traces(traces, _is_user_file, top_n, count_index)
    lines = []
    for (user_file, user_line), (inner_file, inner_line), size, count in ranked:
        lines.append({
            "file": user_file, "line": user_line,
            "allocated_at": "%s:%d" % (inner_file, inner_line),
            "user_code": _is_user_file(user_file),
            "bytes": size, "count": count,
        })
    return lines


def peak_snapshot(top_n):
    """Takes the census (and, with tracemalloc, groups the live traces by the user's line)."""
    global _top_lines, _census, _snapshot_info
    t0 = _now()
    lines = None
    if _mode == "tracemalloc":
        traces = _tracemalloc._get_traces()
        lines = _rank_lines(traces, top_n)
        del traces
    rss = _rss()
    t1 = _now()
    census = native.census(top_n)
    t2 = _now()
    current = allocated()
    if lines is not None:
        _top_lines = lines
    _census = census
    info = {"census_time_s": t1, "census_traced_bytes": current, "census_rss_bytes": rss,
            "lines_cost_s": t1 - t0, "census_cost_s": t2 - t1}
    if _mode != "sampled":  # the top lines were taken with the census
        info.update({"time_s": t0, "traced_bytes": current, "rss_bytes": rss})
    _snapshot_info.update(info)
    return t2 - t0


def _sampled_top_lines(top_n):
    """Top lines from the sampler's per-stack live totals copied at its highest estimate."""
    global _top_lines
    t0 = _now()
    t, estimate, rss, stacks = native.sampled_stacks(True)
    if t < 0 or native.allocated_now() >= estimate:
        # Never copied, or the end is as high as the last copy (copies are taken in 2 % steps,
        # so the end can be up to 2 % higher): what is live now.
        t, estimate, rss, stacks = native.sampled_stacks(False)
    _top_lines = _rank_lines(stacks, top_n, 3)
    _snapshot_info.update({"time_s": t, "traced_bytes": estimate, "rss_bytes": rss,
                           "lines_cost_s": _now() - t0})


def _source_line(linecache, filename, lineno):
    # Read lazily and without importing linecache when the script did not.
    if linecache is not None:
        try:
            return linecache.getline(filename, lineno).strip()
        except Exception:
            return ""
    try:
        with open(filename, "rb") as f:
            for number, raw in enumerate(f, 1):
                if number == lineno:
                    return raw.decode("utf-8", "replace").strip()
    except Exception:
        pass
    return ""


# ----- results ---------------------------------------------------------------------------

_generic_getattr = object.__getattribute__


def _module_file(module):
    """__file__ from the module's dict: getattr would load a module that LazyLoader left lazy."""
    try:
        namespace = _generic_getattr(module, "__dict__")
    except Exception:
        return None
    file = namespace.get("__file__") if isinstance(namespace, dict) else None
    return file if isinstance(file, str) else None


def results():
    """Plain Python objects; the C++ side adds config, timeline, phases and exit status."""
    remove_import_hook()
    if _mode == "sampled":
        _sampled_top_lines(_top_n)
    linecache = sys.modules.get("linecache")
    for line in _top_lines:
        if line["file"].startswith("<frozen importlib"):
            # 1 frame is kept while imports run: these are modules' code and data.
            line["code"] = "(loaded by imports: see the import tree)"
        else:
            line["code"] = _source_line(linecache, line["file"], line["line"])
    functions = native.code_stats()  # module -> (functions run, functions run after imports)
    nodes = []
    children = {}
    for index, (name, parent, t0, rss0, tr0, t1, rss1, tr1, failed, ident, importer) in enumerate(_imports):
        nodes.append({
            "name": name, "parent": parent, "importer": importer, "start_s": t0,
            "cumulative": {"time_s": t1 - t0, "rss_bytes": rss1 - rss0, "traced_bytes": tr1 - tr0},
            "failed": failed, "thread": ident,
        })
        children.setdefault(parent, []).append(index)
    for index, node in enumerate(nodes):
        own = dict(node["cumulative"])
        for child in children.get(index, ()):
            for key in own:
                own[key] -= nodes[child]["cumulative"][key]
        node["own"] = own
        node["children"] = children.get(index, [])
    modules = {}
    for name in list(sys.modules):
        if name.startswith("_memopt_probe"):
            continue
        run, after = functions.get(name, (0, 0))
        module = sys.modules.get(name)
        modules[name] = {
            "file": _module_file(module),
            "functions_run": run, "functions_run_after_import": after,
            "preloaded": name in _preloaded_set,
        }
    return {
        "imports": nodes,
        "modules": modules,
        "top_lines": _top_lines,
        "census": _census,
        "snapshot": _snapshot_info,
        "sys_path": list(sys.path),
        "sys_executable": sys.executable,
        "sys_flags_optimize": sys.flags.optimize,
        "xoptions": {str(k): (v if isinstance(v, str) else bool(v)) for k, v in sys._xoptions.items()},
        "tracemalloc_memory_bytes": _tracemalloc.get_tracemalloc_memory() if _mode == "tracemalloc" else 0,
        "traceback_limit": _tracemalloc.get_traceback_limit(),
    }


_preloaded_set = frozenset(_preloaded)

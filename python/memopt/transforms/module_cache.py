"""What lazy-imports learnt about a library module, kept between runs of the pass.

Every run of the pass parses and analyses about a thousand library modules (numpy, scipy,
sklearn, ...), the same ones for every program that imports them: 4-6 s of CPU per run, on a
program that runs in 1 s. The answers depend only on the module's source, so they are kept
in $MEMOPT_CACHE_DIR (default $XDG_CACHE_HOME/memopt, else ~/.cache/memopt), one file per
module and kind of answer, valid while the source file has the size and modification time
it had and the interpreter's bytecode version and this file's FORMAT are the same. A stale
or unreadable entry is computed again; a cache that cannot be written is not used (nothing
fails). Each run of the pass prunes it to MAX_BYTES, least recently used entries first.
MEMOPT_CACHE_DIR=off turns it off. Entries are JSON (the rewritten code: the bytes
_memopt_rebind.write_code stores, checked by its own key): reading one runs no code, but the
rewritten code is what the optimized program will run, so the folder is made private (0700),
as trusted as the __pycache__ folders the interpreter writes.
"""
import hashlib
import importlib.util
import json
import os

# Raise when an analysis this cache holds changes what it answers: lazy_imports'
# _top_level_calls and _body_effect_lines, _memopt_rebind's candidates() and rewrite() (and
# what they call), lazy_analysis.py. The old entries are then never read (another folder).
FORMAT = 2
MAX_BYTES = 256 << 20  # prune() keeps the cache under this, the entries used least recently going first


def _folder():
    chosen = os.environ.get("MEMOPT_CACHE_DIR")
    if chosen == "off":
        return None
    base = chosen or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                                  "memopt")
    return os.path.join(base, f"module-analysis-{FORMAT}")


def _entry(kind, path, extra=""):
    folder = _folder()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{os.path.abspath(path)}\0{kind}\0{extra}".encode()).hexdigest()[:32]
    return os.path.join(folder, f"{digest}.{kind}")


def _source_key(path):
    st = os.stat(path)
    return [importlib.util.MAGIC_NUMBER.hex(), os.path.abspath(path), st.st_size, st.st_mtime_ns]


def get_bytes(kind, path, extra=""):
    """The bytes put_bytes() kept for `kind` of the module at `path` (and `extra`: what else
    the answer depends on), or None (none, stale, unreadable)."""
    entry = _entry(kind, path, extra)
    try:
        with open(entry, "rb") as f:
            header, _, payload = f.read().partition(b"\n")
        kept = json.loads(header)
        if kept.get("key") != _source_key(path) or kept.get("extra") != extra:
            return None
        _used(entry)
        return payload
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _used(entry):
    """Marks an entry as used now (its modification time: prune() removes the oldest first)."""
    try:
        os.utime(entry)
    except OSError:
        pass


def prune(max_bytes=MAX_BYTES):
    """Removes the entries used least recently until the cache holds at most max_bytes."""
    folder = _folder()
    if folder is None:
        return
    try:
        entries = [(e.stat().st_mtime_ns, e.stat().st_size, e.path) for e in os.scandir(folder) if e.is_file()]
    except (OSError, TypeError):
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        try:
            os.remove(path)
            total -= size
        except OSError:
            pass


def put_bytes(kind, path, payload, extra=""):
    """Keeps `payload` for `kind` of the module at `path`; silently not when the cache cannot
    be written."""
    entry = _entry(kind, path, extra)
    try:
        _write(entry, json.dumps({"key": _source_key(path), "extra": extra}).encode() + b"\n" + payload)
    except (OSError, TypeError, ValueError):
        pass


def _write(entry, data):
    """Writes an entry (None: the cache is off) to a temporary name and renames it: a
    concurrent run reads the whole entry or none."""
    if entry is None:
        return
    os.makedirs(os.path.dirname(entry), mode=0o700, exist_ok=True)
    temporary = f"{entry}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, entry)


def get(kind, path, extra=""):
    """The JSON answer put() kept, or None."""
    payload = get_bytes(kind, path, extra)
    try:
        return None if payload is None else json.loads(payload)
    except ValueError:
        return None


def put(kind, path, answer, extra=""):
    """Keeps a JSON-able `answer`."""
    put_bytes(kind, path, json.dumps(answer).encode(), extra)


def _files_entry(kind, extra):
    folder = _folder()
    if folder is None:
        return None
    return os.path.join(folder, hashlib.sha256(f"{kind}\0{extra}".encode()).hexdigest()[:32] + "." + kind)


def _file_key(path):
    try:
        st = os.stat(path)
        return [path, st.st_size, st.st_mtime_ns]
    except OSError:
        return [path, None, None]


def get_for_files(kind, extra):
    """The answer put_for_files() kept for `kind` and `extra`, when every file it said the
    answer was made from still has the size and modification time it had; else None."""
    entry = _files_entry(kind, extra)
    try:
        with open(entry, encoding="utf-8") as f:
            kept = json.load(f)
        if kept.get("extra") != extra or kept.get("magic") != importlib.util.MAGIC_NUMBER.hex() or \
                any(_file_key(k[0]) != k for k in kept["files"]):
            return None
        _used(entry)
        return kept["answer"]
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None


def put_for_files(kind, extra, files, answer):
    """Keeps `answer`, made by reading the source files `files`, for `kind` and `extra`."""
    try:
        _write(_files_entry(kind, extra), json.dumps({"extra": extra, "magic": importlib.util.MAGIC_NUMBER.hex(),
                                                     "files": [_file_key(f) for f in sorted(set(files))],
                                                     "answer": answer}).encode())
    except (OSError, TypeError, ValueError):
        pass


def cached(kind, path, compute, extra=""):
    """get(), else compute() kept with put(); None is an answer too (kept as [answer])."""
    kept = get(kind, path, extra)
    if isinstance(kept, list) and len(kept) == 1:
        return kept[0]
    answer = compute()
    put(kind, path, [answer], extra)
    return answer

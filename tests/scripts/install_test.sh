#!/usr/bin/env bash
# `cmake --install` into a temporary tree, then the installed memopt and Python package are
# used with nothing from the source or build tree on any path:
#   1. a DESTDIR install (what a package build does) has bin/memopt, lib/memopt/ (preload
#      library, memopt-spawn) and the package with its dist-info in the Python directory;
#   2. the installed memopt records and reports a small program, and the program imports the
#      installed `memopt` package (not python/ of the source tree);
#   3. pytest (Debian's, with PYTHONPATH holding only the installed Python directory) loads
#      the plugin through the pytest11 entry point: no -p, no conftest;
#   4. a --prefix install elsewhere (relocation) records too.
# Usage: install_test.sh BUILD_DIR PYTHON_DIR_RELATIVE_TO_PREFIX CONFIGURED_PREFIX VERSION
set -euo pipefail
build=$1 pydir_rel=$2 configured_prefix=$3 version=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/memopt-install-test-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

# 1. DESTDIR install of the configured prefix.
DESTDIR=$work/dest cmake --install "$build" >"$work/install.log" || { cat "$work/install.log" >&2; fail "cmake --install failed"; }
root=$work/dest$configured_prefix
case $pydir_rel in /*) pydir=$work/dest$pydir_rel ;; *) pydir=$root/$pydir_rel ;; esac
for file in bin/memopt lib/memopt/libmemopt_preload.so lib/memopt/memopt-spawn; do
  [ -x "$root/$file" ] || [ -f "$root/$file" ] || fail "missing $root/$file"
done
[ -f "$pydir/memopt/__init__.py" ] || fail "missing the package in $pydir"
[ -f "$pydir/memopt/pytest_plugin/__init__.py" ] || fail "missing the pytest plugin in $pydir"
dist=$pydir/memopt-$version.dist-info
grep -qx "Name: memopt" "$dist/METADATA" || fail "no Name in $dist/METADATA"
grep -qx "Version: $version" "$dist/METADATA" || fail "no Version $version in $dist/METADATA"
grep -qx "memopt.pytest_plugin = memopt.pytest_plugin" "$dist/entry_points.txt" || fail "no pytest11 entry in $dist/entry_points.txt"
if find "$pydir/memopt" -name __pycache__ | grep -q .; then fail "__pycache__ was installed"; fi
# Installed for real (no DESTDIR), the package lands where Debian's python3 already looks:
# the configured prefix's directory is on its own sys.path, so `pytest --memopt` needs no
# PYTHONPATH there. (The temporary tree below needs one only because it is not that prefix.)
case $pydir_rel in /*) real_pydir=$pydir_rel ;; *) real_pydir=$configured_prefix/$pydir_rel ;; esac
if [ "$configured_prefix" = /usr/local ] || [ "$configured_prefix" = /usr ]; then
  env -u PYTHONPATH /usr/bin/python3 -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "$real_pydir" ||
    fail "$real_pydir (the install's Python directory) is not on /usr/bin/python3's sys.path"
fi

# 2. The installed memopt runs record and report; the program sees the installed package.
cd "$work"
cat >program.py <<'PY'
import memopt
with memopt.phase("fill"):
    block = bytearray(20 * 2**20)
print("package", memopt.__file__)
PY
env -u PYTHONPATH "$root/bin/memopt" record -q -o "$work/run.trace" -- /usr/bin/python3 program.py >record.out 2>record.err ||
  { cat record.err >&2; fail "installed memopt record failed"; }
grep -qx "package $pydir/memopt/__init__.py" record.out || { cat record.out >&2; fail "the traced program did not import the installed package"; }
"$root/bin/memopt" report "$work/run.trace" >report.txt 2>&1 || { cat report.txt >&2; fail "installed memopt report failed"; }
grep -q "fill" report.txt || { cat report.txt >&2; fail "the report lacks the phase 'fill'"; }
"$root/bin/memopt" report "$work/run.trace" --format json -o summary.json 2>/dev/null || fail "report --format json failed"
/usr/bin/python3 - "$work/summary.json" <<'PY' || fail "the installed tracer missed the 20 MiB block"
import json, sys
summary = json.load(open(sys.argv[1]))
sys.exit(0 if summary["peak_heap_bytes"] >= 20 * 2**20 else 1)
PY

# 3. pytest finds the plugin through its entry point, PYTHONPATH = the installed directory only.
mkdir "$work/suite"
cat >"$work/suite/test_small.py" <<'PY'
import pytest

@pytest.mark.limit_memory("1 GB")
def test_small():
    assert bytearray(10**6)
PY
cd "$work/suite"
run_pytest() { env PYTHONPATH="$pydir" /usr/bin/python3 -m pytest -p no:cacheprovider "$@"; }
# "plugins: memopt-VERSION" lists what setuptools-style entry points loaded (with their
# distribution); --trace-config shows which file the module came from.
run_pytest --trace-config --co >trace-config.txt 2>&1 || { cat trace-config.txt >&2; fail "pytest --trace-config failed"; }
grep -Eq "^plugins: (.*, )?memopt-$version(,|$)" trace-config.txt ||
  { cat trace-config.txt >&2; fail "pytest did not load the distribution memopt-$version through an entry point"; }
grep -Fq "PLUGIN registered: <module 'memopt.pytest_plugin' from '$pydir/memopt/pytest_plugin/__init__.py'>" trace-config.txt ||
  { cat trace-config.txt >&2; fail "pytest did not load memopt.pytest_plugin from $pydir"; }
run_pytest --markers >markers.txt 2>&1 || fail "pytest --markers failed"
grep -q "@pytest.mark.limit_memory" markers.txt || { cat markers.txt >&2; fail "the marker limit_memory is unknown to pytest"; }
# The entry point is named as the module (so `-p memopt.pytest_plugin` or a conftest's
# pytest_plugins naming it does not register it twice): `-p no:memopt.pytest_plugin` turns it off.
run_pytest -p no:memopt.pytest_plugin --markers >no-markers.txt 2>&1 || fail "pytest -p no:memopt.pytest_plugin --markers failed"
if grep -q "@pytest.mark.limit_memory" no-markers.txt; then fail "-p no:memopt.pytest_plugin did not turn the plugin off"; fi
run_pytest -p memopt.pytest_plugin --markers >twice.txt 2>&1 || { cat twice.txt >&2; fail "-p memopt.pytest_plugin beside the entry point failed"; }
run_pytest -q --strict-markers test_small.py >run.txt 2>&1 || { cat run.txt >&2; fail "a limit_memory test did not pass"; }
grep -q "1 passed" run.txt || { cat run.txt >&2; fail "the limit_memory test did not run"; }
# The --memopt option is there without -p.
run_pytest --help >help.txt 2>&1 || fail "pytest --help failed"
grep -q -- "--memopt" help.txt || fail "pytest --help lacks --memopt"
# `pytest --memopt` with the installed memopt on PATH: a 200 MiB native malloc breaks a 24 MB limit.
cat >"$work/suite/test_native.py" <<'PY'
import ctypes, pytest

@pytest.mark.limit_memory("24 MB")
def test_native_block():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    block = libc.malloc(200 * 2**20)
    ctypes.memset(block, 1, 200 * 2**20)
    libc.free(ctypes.c_void_p(block))
PY
if env PATH="$root/bin:$PATH" PYTHONPATH="$pydir" /usr/bin/python3 -m pytest -p no:cacheprovider --memopt test_native.py \
     >native.txt 2>&1; then
  cat native.txt >&2; fail "pytest --memopt passed a 200 MiB native block under limit_memory(24 MB)"
fi
grep -q "1 failed" native.txt || { cat native.txt >&2; fail "pytest --memopt did not fail the test (see above)"; }
grep -q "libc.malloc" native.txt || { cat native.txt >&2; fail "the failure does not name the allocating line"; }

# 4. Relocated: a --prefix install somewhere else works the same way.
cmake --install "$build" --prefix "$work/opt" >/dev/null || fail "cmake --install --prefix failed"
cd "$work"
env -u PYTHONPATH "$work/opt/bin/memopt" record -q -o "$work/opt.trace" -- /usr/bin/python3 program.py >opt.out 2>opt.err ||
  { cat opt.err >&2; fail "memopt installed with --prefix failed to record"; }
case $pydir_rel in
  /*) ;;
  *) grep -qx "package $work/opt/$pydir_rel/memopt/__init__.py" opt.out || { cat opt.out >&2; fail "the --prefix install used another package"; } ;;
esac
echo "install test: ok ($root, $work/opt)"

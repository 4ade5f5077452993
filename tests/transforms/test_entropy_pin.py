"""The runtime hook's entropy pinning (python/memopt/_sandbox/sitecustomize.py) with only
MEMOPT_SANDBOX_PIN_ENTROPY=1 set, as the benchmark's independent check runs it: the numbers every
unseeded generator draws repeat from run to run (across hash seeds), differ without pinning, and
the run loads the modules an unhooked run loads."""
import os
import subprocess

import pytest

HOOK = os.path.join(os.path.dirname(__file__), "..", "..", "python", "memopt", "_sandbox")
PYTHON = "/usr/bin/python3"

DRAWS = """
import os, random, secrets, uuid, tempfile, sys
import numpy as np
print(np.random.rand(), np.random.default_rng().random(), np.random.RandomState().rand())
print(random.random(), random.Random().random(), secrets.token_hex(8), os.urandom(4).hex(), uuid.uuid4())
random.seed()
print(random.random(), os.getrandom(4).hex(), os.path.basename(tempfile.mktemp()))
"""

FORK = """
import os, random
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, f"{random.random()} {os.urandom(4).hex()}".encode())
    os._exit(0)
os.waitpid(pid, 0)
print("child", os.read(r, 200).decode())
print("parent", random.random(), os.urandom(4).hex())
"""

MODULES = "import sys, numpy, random\nprint(sorted(sys.modules))\n"


def run(code, tmp_path, pin, seed="1", hooked=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMOPT_", "PYTHON"))}
    env["PYTHONHASHSEED"] = seed
    if hooked:
        env["PYTHONPATH"] = HOOK
    if pin:
        env["MEMOPT_SANDBOX_PIN_ENTROPY"] = "1"
    done = subprocess.run([PYTHON, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "sitecustomize" not in done.stderr
    return done.stdout


def test_pinned_runs_draw_the_same_numbers(tmp_path):
    first = run(DRAWS, tmp_path, pin=True, seed="1")
    assert len(first.split()) == 11
    assert run(DRAWS, tmp_path, pin=True, seed="2") == first
    assert not list(tmp_path.iterdir())  # no records dir: the hook records nothing


def test_unpinned_runs_differ(tmp_path):
    pinned = run(DRAWS, tmp_path, pin=True)
    plain = [run(DRAWS, tmp_path, pin=False) for _ in range(2)]
    for line in range(3):
        assert plain[0].splitlines()[line] != plain[1].splitlines()[line]
        assert plain[0].splitlines()[line] != pinned.splitlines()[line]


def test_a_forked_child_draws_its_own_numbers_the_same_each_run(tmp_path):
    first = run(FORK, tmp_path, pin=True)
    assert run(FORK, tmp_path, pin=True, seed="3") == first
    child, parent = first.splitlines()
    assert child.split()[1:] != parent.split()[1:]


def test_a_draw_keeps_its_bytes_when_other_code_draws_first(tmp_path):
    # a rewrite that imports a module drawing on import earlier (or later, or never) leaves
    # numpy's global generator and default_rng() in the program's own code alone
    draws = "print(np.random.rand(), np.random.default_rng().random())\n"
    plain = run("import numpy as np\n" + draws, tmp_path, pin=True)
    others_first = run("import multiprocessing, uuid, tempfile\nuuid.uuid4()\ntempfile.mktemp()\n"
                       "import numpy as np\n" + draws, tmp_path, pin=True)
    assert others_first == plain
    # the program's own extra draw shifts its later draws: a candidate doing it is rejected
    assert run("import numpy as np\nnp.random.rand()\n" + draws, tmp_path, pin=True).split()[0] != plain.split()[0]


def test_pinning_loads_no_module_an_unhooked_run_does_not(tmp_path):
    assert run(MODULES, tmp_path, pin=True) == run(MODULES, tmp_path, pin=False, hooked=False)


def test_pinning_leaves_seeded_generators_alone(tmp_path):
    code = "import random, numpy as np\nrandom.seed(7)\nprint(random.random(), np.random.RandomState(7).rand())\n"
    assert run(code, tmp_path, pin=True) == run(code, tmp_path, pin=False, hooked=False)


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__]))


RUNTIME = os.path.join(os.path.dirname(__file__), "..", "..", "python", "memopt", "transforms", "runtime")


def _lazy_runtime(folder, deferred, rebind=""):
    for name in ("_memopt_lazy.py", "_memopt_rebind.py"):
        with open(os.path.join(RUNTIME, name), encoding="utf-8") as f:
            (folder / name).write_text(f.read())
    (folder / "_memopt_lazy_table.py").write_text(f"DEFERRED = {deferred!r}\nEXPORTS = {{}}\nREBIND = {rebind!r}\n")


LAZY_RANDOM = "import sys; sys.path.insert(0, '.'); import _memopt_lazy, random; print(random.random())"


def test_pinning_works_beside_lazy_imports_deferring_random(tmp_path):
    # Both the hook's `random` finder and lazy-imports' finder ask the other finders for a spec;
    # each once asked the other back without end (RecursionError on every corpus candidate that
    # deferred `random`).
    _lazy_runtime(tmp_path, "random")
    first = run(LAZY_RANDOM, tmp_path, pin=True, seed="1")
    assert float(first) == float(run(LAZY_RANDOM, tmp_path, pin=True, seed="2"))
    assert first == run("import random; print(random.random())", tmp_path, pin=True, seed="3")


def test_pinning_reseeds_random_when_lazy_imports_loads_it_from_rewritten_code(tmp_path):
    # random's `from bisect import bisect as _bisect` waits (REBIND) when bisect is deferred:
    # random then runs from rewritten code, and the hook must still reseed it after it ran
    _lazy_runtime(tmp_path, "bisect", "random\t_bisect")
    first = run(LAZY_RANDOM, tmp_path, pin=True, seed="1")
    assert first == run(LAZY_RANDOM, tmp_path, pin=True, seed="2")
    assert first == run("import random; print(random.random())", tmp_path, pin=True, seed="3")
    check = "import sys; sys.path.insert(0, '.'); import _memopt_lazy, random; print(type(sys.modules['bisect']).__name__)"
    assert run(check, tmp_path, pin=True) == "_DeferredModule\n"  # the rewrite did apply: bisect never ran

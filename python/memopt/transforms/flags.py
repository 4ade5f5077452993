"""flags: writes the launcher for the interpreter options and environment the C++ side
measured as lowering peak memory with unchanged output (transforms/flags.cpp).

The program gets a `#!/usr/bin/env -S VAR=... /usr/bin/python3 FLAGS` line, the thread-pool
variables are also set at its top (so `python3 program.py` alone keeps them), and `run.sh`
beside it runs it with the whole set. Safety: this module only writes what the C++ side
(transforms/flags.cpp) measured with the output check passing; the program's code is not
changed beyond setting the thread variables with os.environ.setdefault (a value the user
set in the environment wins)."""
from __future__ import annotations

import ast
import os
import shlex

from .common import PassRefused, Report, insert_after_docstring_and_future, prepare_outdir, \
    read_program, unparse, write_program

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PYTHON = "/usr/bin/python3"


def run(script, outdir, launcher):
    report = Report("flags")
    flags = list(launcher.get("python_flags", []))
    env = dict(launcher.get("env", {}))
    if not flags and not env:
        raise PassRefused("no interpreter option or runtime setting lowered peak memory with the same output")
    source, tree = read_program(script)
    in_program = {k: v for k, v in env.items() if k in THREAD_VARIABLES}
    lines = source.split("\n")
    if lines and lines[0].startswith("#!"):
        lines = lines[1:]
    body = "\n".join(lines)
    if in_program:
        # set before any import, as the first statements after the docstring
        settings = "import os as _memopt_os\n" + "".join(
            f"_memopt_os.environ.setdefault({k!r}, {v!r})\n" for k, v in sorted(in_program.items()))
        stmts = ast.parse(settings).body
        insert_after_docstring_and_future(tree, stmts)
        body = unparse(tree, body)
    env_words = [f"{k}={v}" for k, v in sorted(env.items())]
    shebang = "#!/usr/bin/env -S " + " ".join(env_words + [PYTHON] + flags) + "\n"
    report.files = prepare_outdir(script, outdir)
    report.program = write_program(script, outdir, shebang + body)
    name = os.path.basename(script)
    wrapper = os.path.join(outdir, "run.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n# written by memopt's flags pass: the measured launcher of " + name + "\n"
                "exec " + " ".join(["env"] + [shlex.quote(w) for w in env_words] + [PYTHON]
                                   + [shlex.quote(x) for x in flags]) + ' "$(dirname "$0")/' + name + '" "$@"\n')
    os.chmod(wrapper, 0o755)
    report.files.append("run.sh")
    report.applied = True
    report.launcher = {"python_flags": flags, "env": env}
    i = 0
    while i < len(flags):
        pair = flags[i] in ("-X", "-W") and i + 1 < len(flags)
        report.changes.append("interpreter option " + (f"{flags[i]} {flags[i + 1]}" if pair else flags[i]))
        i += 2 if pair else 1
    for word in env_words:
        report.changes.append(f"environment {word}" + (" (also set in the program)" if word.split("=")[0] in in_program else ""))
    return report

#!/usr/bin/python3
"""CTest "transforms: corpus ...": `memopt optimize` on one scikit-learn example of the development
corpus (scripts/bench/optimize-corpus.txt) ends with exit status 0 and a steps.json, and its final
program, run again outside optimize in a fresh copy of the work directory, prints exactly what the
original printed. No saving is asserted (that is the benchmark's job, scripts/bench-optimize.sh).

    corpus_optimize.py MEMOPT CORPUS_PATH [PASS]   (e.g. covariance/plot_mahalanobis_distances.py)

With PASS, that pass must be among the accepted steps (a saving the acceptance rule proved).

Exit status 77 (CTest's SKIP_RETURN_CODE) when python-sklearn-doc is not installed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

EXAMPLES = "/usr/share/doc/python-sklearn-doc/examples"
SKIP = 77


def run(command, cwd, env, timeout):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr.decode(errors="replace")


def fail(message):
    print(f"corpus test: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    memopt, rel = sys.argv[1], sys.argv[2]
    source = os.path.join(EXAMPLES, rel)
    if not os.path.isfile(source):
        print(f"corpus test: {source} missing (install python-sklearn-doc); skipped")
        sys.exit(SKIP)
    script = os.path.basename(rel)
    with tempfile.TemporaryDirectory(prefix="memopt-corpus-test-") as tmp:
        data = os.path.join(tmp, "sklearn-data")
        os.mkdir(data)
        env = dict(os.environ, MPLBACKEND="Agg", SCIKIT_LEARN_DATA=data)
        env.pop("PYTHONHASHSEED", None)
        cwds = {}
        for name in ["plain", "optimize", "final"]:
            cwds[name] = os.path.join(tmp, name)
            os.mkdir(cwds[name])
            shutil.copy(source, cwds[name])
        status, plain_out, err = run(["/usr/bin/python3", script], cwds["plain"], env, 120)
        if status != 0:
            fail(f"the original {rel} exited with status {status}: {err.strip().splitlines()[-1:]}")
        out_dir = os.path.join(tmp, "out")
        # One measured run per step, two reference runs, one round over the passes: this test
        # checks behaviour, not savings, and must stay short on a loaded machine.
        status, _, err = run([memopt, "optimize", script, "-o", out_dir, "-q", "--runs", "1",
                              "--reference-runs", "2", "--rounds", "1"], cwds["optimize"], env, 850)
        if status != 0:
            fail(f"memopt optimize {rel} exited with status {status}: {err.strip()[-400:]}")
        steps_path = os.path.join(out_dir, "steps.json")
        if not os.path.isfile(steps_path):
            fail(f"memopt optimize {rel} exited 0 but wrote no steps.json")
        steps = json.load(open(steps_path))
        command = steps["final_command"]
        if not command or not os.path.isfile(os.path.join(out_dir, steps["final"])):
            fail(f"steps.json names no final program: {steps.get('final')!r} {command!r}")
        status, final_out, err = run(command, cwds["final"], env, 120)
        if status != 0:
            fail(f"the final program {' '.join(command)} exited with status {status}: {err.strip()[-400:]}")
        if final_out != plain_out:
            fail(f"the final program's stdout differs from {rel}'s:\n--- original\n"
                 f"{plain_out.decode(errors='replace')[:800]}\n--- final\n{final_out.decode(errors='replace')[:800]}")
        accepted = [s["pass"] for s in steps["steps"] if s.get("accepted") and s["pass"] != "baseline"]
        if len(sys.argv) > 3 and sys.argv[3] not in accepted:
            fail(f"{sys.argv[3]} was not accepted on {rel} (accepted: {', '.join(accepted) or 'none'}): "
                 + "; ".join(f"{s['pass']}: {s.get('reason', '')[:300]}" for s in steps["steps"] if s["pass"] == sys.argv[3]))
        print(f"corpus test: {rel}: exit 0, steps.json, final stdout identical ({len(plain_out)} bytes); "
              f"accepted: {', '.join(accepted) or 'none'}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes docs/generality.md from the JSON lines of scripts/bench/optimize_corpus.py.

    scripts/bench/generality_table.py RESULTS.jsonl [--out docs/generality.md] [--command CMD]
                                      [--code DESCRIPTION] [--date YYYY-MM-DD] [--note TEXT]
                                      [--corpus scripts/bench/optimize-corpus.txt]
"""
import argparse
import datetime
import json
import os
import statistics

MB = 1e6
TARGET_SAVING, TARGET_RATIO = 30.0, 20.0


def saving_pct(row):
    """The saving the benchmark credits: 0 when optimize gave no final program or its output differs."""
    if not row.get("identical"):
        return 0.0
    return 100.0 * (1 - row["final_peak_bytes"] / row["plain_peak_bytes"])


def varies(row):
    """The original's own runs differ (beyond printed timings, when that was checked), here or in
    optimize's reference runs (which also compare figures), even if pinned entropy made them agree."""
    return (bool(row.get("plain_varies")) and not row.get("plain_timings_vary")) or \
        row.get("comparison") in ("varies", "outputs, entropy pinned")


def pinned(row):
    """The final program was checked with the OS's entropy pinned, as optimize compared it."""
    return bool(row.get("pinned_entropy")) and "final_command" in row


def identical_cell(row):
    if pinned(row):
        return ("yes" if row["identical"] else "no: " + row["difference"]) + " (entropy pinned)"
    if varies(row) and "final_command" in row and not row["identical"]:
        kept = "kept as it is" if not row.get("accepted") else "compared with its timings masked"
        return f"— (the original's own runs differ: {row['plain_varies'][:90]}; optimize: {kept})"
    if "error" in row:
        return "— (" + row["error"][:80] + ")"
    if "final_command" not in row:
        status = row.get("optimize_status")
        return f"— (optimize {'timed out' if status == 'timeout' else 'exit ' + str(status)}: " \
               f"{row.get('optimize_message', '')[:140]})"
    if row.get("timings_masked"):
        return f"yes (only its printed timings differ: {row['timings_masked'][:70]})"
    return "yes" if row["identical"] else "no: " + row["difference"]


def accepted_cell(row):
    """The passes kept, in order, a pass kept in several rounds once with its count (flags ×2)."""
    if "final_command" not in row:
        return "—"
    names = list(dict.fromkeys(row.get("accepted", [])))
    return ", ".join(n + (f" ×{row['accepted'].count(n)}" if row["accepted"].count(n) > 1 else "") for n in names) or "none"


def table_row(row):
    plain = row.get("plain_peak_bytes")
    final = row.get("final_peak_bytes")
    ratio = row["optimize_s"] / row["plain_wall_s"] if "optimize_s" in row and row.get("plain_wall_s") else None
    cells = [f"`{row['script']}`",
             f"{plain / MB:.1f}" if plain else "—",
             f"{final / MB:.1f}" if final else "—",
             f"{100 * (1 - final / plain):.1f} %" if final and plain else "—",
             accepted_cell(row),
             identical_cell(row),
             f"{row['optimize_s']:.0f}" if "optimize_s" in row else "—",
             f"{row['plain_wall_s']:.2f}" if row.get("plain_wall_s") else "—",
             f"{ratio:.0f}x" if ratio else "—"]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def summary_lines(rows, corpus_size):
    savings = [saving_pct(r) for r in rows if "plain_peak_bytes" in r]
    ratios = [r["optimize_s"] / r["plain_wall_s"] for r in rows if "optimize_s" in r and r.get("plain_wall_s")]
    with_final = [r for r in rows if "final_command" in r]
    identical = sum(1 for r in with_final if r["identical"])
    failed = [r for r in rows if "final_command" not in r]
    median_saving = statistics.median(savings) if savings else 0.0
    steady = [saving_pct(r) for r in rows if "plain_peak_bytes" in r and not varies(r)]
    pinned_rows = [r for r in rows if pinned(r)]
    pinned_savings = [saving_pct(r) for r in pinned_rows]
    median_ratio = statistics.median(ratios) if ratios else float("nan")
    met = lambda ok: "**met**" if ok else "**not met**"
    return [
        f"- scripts: {len(rows)} of the corpus's {corpus_size}; optimize gave a final program for {len(with_final)}; "
        f"failed or timed out on {len(failed)}" + (" (" + ", ".join(f"`{r['script']}`" for r in failed) + ")" if failed else ""),
        f"- identical output of the final program (independent check): {identical} of {len(with_final)}",
        f"- median peak-RSS saving: **{median_saving:.1f} %** (mean {statistics.mean(savings) if savings else 0:.1f} %, "
        f"max {max(savings) if savings else 0:.1f} %) — target ≥ {TARGET_SAVING:.0f} %: {met(median_saving >= TARGET_SAVING)}",
        f"- of which the {len(steady)} scripts whose own runs print, write and draw the same: median saving "
        f"**{statistics.median(steady) if steady else 0:.1f} %**; the {len(savings) - len(steady)} others count 0 % above "
        "unless the independent check matched (their output cannot be proven the same; optimize keeps them as "
        "they are, or compares them with printed timings masked or with the OS's entropy pinned)",
        f"- checked with the OS's entropy pinned (their own runs differ only by the random numbers they draw "
        f"from the OS; optimize and this check pin them): {len(pinned_rows)} scripts, identical "
        f"{sum(1 for r in pinned_rows if r['identical'])} of {len(pinned_rows)}, median saving "
        f"**{statistics.median(pinned_savings) if pinned_savings else 0:.1f} %**",
        f"- median optimize time / plain run time: **{median_ratio:.1f}x** (range {min(ratios) if ratios else 0:.0f}x–"
        f"{max(ratios) if ratios else 0:.0f}x) — target ≤ {TARGET_RATIO:.0f}x: {met(median_ratio <= TARGET_RATIO)}",
        f"- total optimize time: {sum(r.get('optimize_s', 0) for r in rows) / 60:.1f} min",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--out", default="docs/generality.md")
    parser.add_argument("--command", default="scripts/bench-optimize.sh")
    parser.add_argument("--code", default="", help="which memopt was measured (commit, passes)")
    parser.add_argument("--date", default=str(datetime.date.today()))
    parser.add_argument("--note", default="", help="a paragraph on the conditions of this run")
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "optimize-corpus.txt"),
                        help="list only the results of scripts in this corpus file")
    args = parser.parse_args()
    corpus_lines = open(args.corpus).read().splitlines()
    corpus = {l.partition("#")[0].strip() for l in corpus_lines} - {""}
    counts = next((l.lstrip("# ").strip() for l in corpus_lines if l.startswith("# Counts:")), "")
    rows = sorted((json.loads(l) for l in open(args.results) if l.strip()), key=lambda r: r["script"])
    rows = [r for r in rows if r["script"] in corpus]
    results_rel = os.path.relpath(args.results, os.path.dirname(os.path.abspath(args.out)))
    lines = [
        "# Generality: `memopt optimize` on scikit-learn's examples",
        "",
        f"Measured on {args.date} on the project's shared machine (2 cores, shared with other jobs: "
        "wall times are noisy, peaks are not), Debian 12, Python 3.11, scikit-learn 1.2.1"
        + (f"; memopt {args.code}" if args.code else "") + ". Command:",
        "",
        "```",
        args.command,
        "```",
        "",
        f"Raw results (one JSON line per script): [{os.path.basename(args.results)}]({results_rel}); "
        "regenerate this page with `scripts/bench/generality_table.py " + os.path.relpath(args.results)
        + " --out " + os.path.relpath(args.out) + "` (from the repository's top directory).",
        "",
        *([args.note, ""] if args.note else []),
        "**Corpus.** [scripts/bench/optimize-corpus.txt](../scripts/bench/optimize-corpus.txt): the examples of "
        "Debian's `python-sklearn-doc` (/usr/share/doc/python-sklearn-doc/examples/) in the folders cluster/, "
        "svm/, model_selection/, decomposition/, gaussian_process/, mixture/, preprocessing/, manifold/, "
        "feature_selection/, covariance/, semi_supervised/, calibration/, inspection/, impute/, "
        "cross_decomposition/, classification/ that run offline (no network, empty scikit-learn data home) "
        "in under 30 s with `MPLBACKEND=Agg` and `/usr/bin/python3` (selected by "
        "`scripts/bench/select_corpus.py`; the file lists the excluded scripts and why). Scripts whose "
        "stdout, files or figures (pixels hashed by optimize's own runtime hook) differ between two runs "
        "with different `PYTHONHASHSEED` are in the corpus too, marked `varies`: optimize must end with exit "
        "status 0 on them and say why it cannot prove a rewrite (or optimize them when only printed timings "
        "vary); the median counts them. ensemble/, tree/, neighbors/, linear_model/, compose/ and exercises/ are reserved "
        "for independent evaluation and are never run." + (f" Selection verdicts: {counts}" if counts else ""),
        "",
        "**Columns.** *plain peak*: the original script's peak RSS, median of 3 runs, each in a fresh copy "
        "of its work directory (`/usr/bin/time -f %M`, i.e. wait4's `ru_maxrss`, the figure optimize "
        "measures; MB = 10^6 bytes). *final peak*: the same for the command in `OUT/steps.json`'s "
        "`final_command`, measured here, not taken from optimize. *saving*: 1 − final/plain. "
        "*accepted*: the passes optimize kept. *identical*: every one of the final program's 3 runs had the "
        "original's exit status, byte-identical stdout and byte-identical written files (figures are not "
        "compared by this independent check; optimize compares their pixels inside its sandbox); otherwise "
        "the first difference, or why there is no final program. *(entropy pinned)*: optimize compared this "
        "script with the OS's entropy pinned (its own runs differ only by unseeded random numbers; "
        "[optimize.md](optimize.md#what-identical-means)), and so did this check: the original twice and the "
        "final program 3 times more with optimize's runtime hook pinning `os.urandom`, `os.getrandom` and "
        "`random`'s seeding (peaks from the unhooked runs). *optimize*: wall seconds of "
        "`memopt optimize SCRIPT -o OUT -q` (killed after the time limit). *plain*: median wall seconds of "
        "the plain run. *ratio*: optimize / plain.",
        "",
        "| script | plain peak (MB) | final peak (MB) | saving | accepted passes | identical output | "
        "optimize (s) | plain (s) | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [table_row(r) for r in rows]
    lines += ["", "## Summary", ""]
    lines += summary_lines(rows, len(corpus))
    lines += ["", "The median saving counts a script without a final program, or whose final program's "
              "output differs, as 0 %. The time ratio is over every script optimize ran on, "
              "failures included.", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(summary_lines(rows, len(corpus))))


if __name__ == "__main__":
    main()

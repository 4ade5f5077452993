#!/usr/bin/env python3
"""Checks that the code follows the dependency table of docs/architecture.md.

The table (section "Allowed dependencies") is the single statement of which folder may use
which; this test reads it from the doc, so the doc cannot drift from the code. Checked:
every project #include of every C/C++ file, and every target_link_libraries() between
project targets in the CMake files. Usage: check_layers.py [REPO_ROOT]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|")


def read_rules():
    text = (ROOT / "docs/architecture.md").read_text()
    section = text.split("## Allowed dependencies", 1)
    if len(section) != 2:
        sys.exit("docs/architecture.md: no '## Allowed dependencies' section")
    rules = {}
    for line in section[1].split("\n## ", 1)[0].splitlines():
        match = ROW.match(line)
        if match:
            rules[match.group(1).rstrip("/")] = set(re.findall(r"`([^`]+)`", match.group(2)))
    if not rules:
        sys.exit("docs/architecture.md: the dependency table is empty")
    return rules


def folder_of(path, rules):
    """The longest folder of the table that holds `path` (a repo-relative posix path)."""
    best = None
    for folder in rules:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def check_includes(rules):
    problems = []
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for folder in rules:
        for source in sorted((ROOT / folder).rglob("*")):
            if source.suffix not in (".cpp", ".h", ".c") or not source.is_file():
                continue
            rel = source.relative_to(ROOT).as_posix()
            if folder_of(rel, rules) != folder:
                continue  # belongs to a deeper folder of the table
            for target in include.findall(source.read_text(errors="replace")):
                if not (ROOT / target).is_file():
                    continue  # a system header or one relative to the file
                used = folder_of(target, rules)
                if used and used != folder and used not in rules[folder]:
                    problems.append(f"{rel}: includes {target} ({folder} may not use {used})")
    return problems


def cmake_targets(rules):
    """Project target name -> folder, and (target, linked names) per target_link_libraries."""
    defined, links = {}, []
    for cmake in sorted(ROOT.rglob("CMakeLists.txt")):
        rel = cmake.parent.relative_to(ROOT).as_posix()
        folder = folder_of(rel, rules)
        if folder is None:
            continue
        text = re.sub(r"#.*", "", cmake.read_text())
        for name in re.findall(r"add_(?:library|executable)\(\s*([A-Za-z0-9_.-]+)", text):
            defined[name] = folder
        for target, args in re.findall(r"target_link_libraries\(\s*([A-Za-z0-9_.-]+)([^)]*)\)", text):
            links.append((cmake.relative_to(ROOT).as_posix(), target, args.split()))
    return defined, links


def check_links(rules):
    defined, links = cmake_targets(rules)
    problems = []
    for where, target, names in links:
        folder = defined.get(target)
        if folder is None:
            continue
        for name in names:
            used = defined.get(name)
            if used and used != folder and used not in rules[folder]:
                problems.append(f"{where}: {target} links {name} ({folder} may not use {used})")
    return problems


def main():
    rules = read_rules()
    missing = [folder for folder in rules if not (ROOT / folder).is_dir()]
    problems = [f"docs/architecture.md names {folder}/, which does not exist" for folder in missing]
    problems += check_includes(rules) + check_links(rules)
    for problem in problems:
        print(problem)
    print(f"{len(rules)} folders, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

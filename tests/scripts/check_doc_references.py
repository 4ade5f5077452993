"""README.md and docs/*.md name only files a clone has.

Every relative Markdown link must point at a file or directory of the repository, no path
may climb out of it (`../shared/...`), and the project files that live outside the
repository (the design contract DESIGN.md, STYLE.md, the paper's paper.txt) may not be
named unless a file of that name is in the repository.
Usage: check_doc_references.py SOURCE_DIR
"""
import pathlib
import re
import sys

OUTSIDE_FILES = ("DESIGN.md", "STYLE.md", "paper.txt")


def main(source):
    pages = [source / "README.md", *sorted((source / "docs").glob("*.md"))]
    present = {name for name in OUTSIDE_FILES if any(p.name == name for p in source.rglob(name) if "build" not in p.parts)}
    failures = []
    for page in pages:
        text = page.read_text()
        name = page.relative_to(source)
        for number, line in enumerate(text.splitlines(), 1):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                    continue
                path = (page.parent / target.split("#", 1)[0]).resolve()
                if not path.is_relative_to(source.resolve()) or not path.exists():
                    failures.append(f"{name}:{number}: link to {target}, which the repository does not have")
            # A ../ path (from the page, or from the root where commands run) must stay inside.
            for escape in re.findall(r"(?<![\w./])\.\./[\w./-]+", line):
                candidates = [(base / escape).resolve() for base in (page.parent, source)]
                if not any(c.is_relative_to(source) and c.exists() for c in candidates):
                    failures.append(f"{name}:{number}: {escape} is not a path in the repository")
            for outside in OUTSIDE_FILES:
                if outside not in present and re.search(rf"(?<![\w-]){re.escape(outside)}", line):
                    failures.append(f"{name}:{number}: names {outside}, which is not in the repository")
    print(f"check_doc_references: {len(pages)} pages")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]).resolve()))

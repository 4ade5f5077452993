"""Every Catch2 test name can be run by CTest: catch_discover_tests registers each TEST_CASE
by its name, and a ';' in it is CMake's list separator, so CTest would run a filter that
matches nothing and report the test passed. Fails naming each such test."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
bad = []
for path in sorted((root / "tests").rglob("*.cpp")):
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        match = re.search(r'TEST_CASE\("((?:[^"\\]|\\.)*)"', line)
        if match and ";" in match.group(1):
            bad.append(f"{path.relative_to(root)}:{number}: {match.group(1)}")
for entry in bad:
    print(f"test name CTest cannot run (a ';' splits it): {entry}")
sys.exit(1 if bad else 0)

"""Every system file the build used comes from a package scripts/setup.sh installs.

Reads the compiler's dependency files (build/**/*.o.d: every header each object included),
the libraries of every link line (link.txt) and the CMake package files CMakeCache.txt
found, asks dpkg which package owns each, and checks that package is among the packages
setup.sh installs or what they depend on (apt-cache depends --recurse, without
recommends). Objects of the product must be covered by setup.sh's build_packages alone,
so that `setup.sh --minimal` can build memopt on a bare Debian; test objects may also use
test_packages. A file no package owns (/usr/local, a hand-built library) fails the check.

Usage: check_build_packages.py SOURCE_DIR BUILD_DIR. Exit 77 (skipped) without dpkg.
"""
import pathlib
import re
import shutil
import subprocess
import sys

SYSTEM_PREFIXES = ("/usr/", "/lib/", "/lib64/", "/opt/")


def setup_arrays(setup_sh):
    """The package arrays of setup.sh: name -> list of packages."""
    arrays = {}
    for name, body in re.findall(r"^(\w+_packages)=\(\n?(.*?)\)", setup_sh.read_text(), re.M | re.S):
        words = []
        for line in body.splitlines():
            words += line.split("#", 1)[0].split()
        arrays[name] = words
    return arrays


def depfile_paths(depfile):
    text = depfile.read_text(errors="replace").replace("\\\n", " ")
    _, _, deps = text.partition(":")
    return {word for word in deps.split() if word.startswith(SYSTEM_PREFIXES)}


def link_paths(link_txt):
    return {word for word in link_txt.read_text().split()
            if word.startswith(SYSTEM_PREFIXES) and re.search(r"\.(so|a)(\.[0-9.]+)?$", word)}


def find_package_names(cmake_files):
    names = set()
    for cmake_file in cmake_files:
        names.update(re.findall(r"find_package\(\s*(\w+)", cmake_file.read_text()))
    return names


def test_only_packages(source_dir):
    """CMake packages only tests/ looks for (Catch2): their files count as the tests'."""
    everything = [p for p in source_dir.rglob("CMakeLists.txt") if not p.is_relative_to(source_dir / "build")]
    tests = [p for p in everything if p.is_relative_to(source_dir / "tests")]
    return find_package_names(tests) - find_package_names([p for p in everything if p not in tests])


def cache_paths(cache, test_only):
    """CMake package configuration files and libraries CMakeCache.txt points at:
    (product paths, test paths)."""
    product, tests = set(), set()
    for line in cache.read_text().splitlines():
        match = re.match(r"^(\w+):(PATH|FILEPATH|STRING|UNINITIALIZED)=(/\S+)$", line)
        if not match or not match.group(3).startswith(SYSTEM_PREFIXES):
            continue
        name, value = match.group(1), pathlib.Path(match.group(3))
        paths = tests if name.split("_")[0] in test_only else product
        if name.endswith("_DIR") and value.is_dir():
            paths.update(str(p) for p in value.glob("*onfig.cmake"))
        elif name.endswith(("_LIBRARY", "_LIBRARY_RELEASE", "_INCLUDE_DIR", "_EXECUTABLE", "_COMPILER")) and value.is_file():
            paths.add(str(value))
    return product, tests


def owners(paths):
    """path -> package, through dpkg -S (merged /usr: tries the /lib spelling too)."""
    found = {}
    pending = sorted(paths)
    for attempt in range(3):
        if not pending:
            break
        spelled = {}
        for path in pending:
            if attempt == 0:
                spelled[path] = path
            elif attempt == 1:
                spelled[path] = str(pathlib.Path(path).resolve())
            else:
                resolved = str(pathlib.Path(path).resolve())
                spelled[path] = resolved[4:] if resolved.startswith("/usr/lib/") else resolved
        result = subprocess.run(["dpkg", "-S", *sorted(set(spelled.values()))], capture_output=True, text=True)
        by_spelling = {}
        for line in result.stdout.splitlines():
            packages, _, path = line.partition(": ")
            if "diversion" in packages:
                continue
            by_spelling[path.strip()] = packages.split(",")[0].strip().split(":")[0]
        pending = [p for p in pending if spelled[p] not in by_spelling or not found.setdefault(p, by_spelling[spelled[p]])]
    return found, pending


def closure(packages):
    result = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                             "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
                            capture_output=True, text=True, check=True)
    names = set()
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            names.add(line.strip().strip("<>").split(":")[0])
        elif "Depends:" in line:
            names.add(line.split("Depends:", 1)[1].strip().strip("<>").split(":")[0])
    return names


def main(source_dir, build_dir):
    if not shutil.which("dpkg") or not shutil.which("apt-cache"):
        print("check_build_packages: no dpkg/apt-cache (not Debian); skipped")
        return 77
    arrays = setup_arrays(source_dir / "scripts" / "setup.sh")
    for needed in ("build_packages", "test_packages"):
        if needed not in arrays:
            print(f"check_build_packages: scripts/setup.sh has no {needed}=( ... ) list")
            return 1

    product, tests = set(), set()
    depfiles = list(build_dir.rglob("*.o.d"))
    if not depfiles:
        print("check_build_packages: no *.o.d dependency files in the build (not a Makefile build?); skipped")
        return 77
    for depfile in depfiles:
        (tests if "tests" in depfile.relative_to(build_dir).parts else product).update(depfile_paths(depfile))
    for link_txt in build_dir.rglob("link.txt"):
        (tests if "tests" in link_txt.relative_to(build_dir).parts else product).update(link_paths(link_txt))
    cache_product, cache_tests = cache_paths(build_dir / "CMakeCache.txt", test_only_packages(source_dir))
    product |= cache_product
    tests |= cache_tests
    tests -= product

    found, unowned = owners(product | tests)
    build_closure = closure(arrays["build_packages"])
    test_closure = build_closure | closure(arrays["test_packages"])
    failures = [f"{path}: no Debian package owns it" for path in unowned]
    for path, package in sorted(found.items()):
        allowed = build_closure if path in product else test_closure
        if package not in allowed:
            where = "build_packages" if path in product else "build_packages or test_packages"
            failures.append(f"{path}: from {package}, which setup.sh's {where} do not install")
    used = sorted({found[p] for p in product if p in found})
    print(f"check_build_packages: {len(product)} files of the product from {len(used)} packages, "
          f"{len(tests)} more files of the tests")
    print("  product packages: " + " ".join(used))
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))

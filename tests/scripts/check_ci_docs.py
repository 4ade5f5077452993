"""docs/ci.md's CI examples run commands that exist, with options that exist.

Parses every ```yaml block of docs/ci.md: a GitHub Actions workflow (`jobs:` with `steps:`)
or a GitLab CI job (a mapping with `script:`). For each command the job runs it checks:
  * a file run from memopt's checkout (the `path:` of the actions/checkout step that names
    another repository, or the directory a `git clone` writes) exists in this repository;
  * scripts/setup.sh accepts the options given, and `cmake --install DIR` names the
    directory setup.sh builds into;
  * `memopt SUBCOMMAND --option...`: the subcommand exists and every long option is in its
    `--help` (the memopt given on the command line);
  * `python3 -m pytest --option...`: every long option is pytest's own or the plugin's;
  * a `reports/` (any output directory) is made with `mkdir -p` before a command writes there;
  * a container job uses no `${{ github.workspace }}`-style context path (the host's path,
    not the container's: use $GITHUB_WORKSPACE).
Usage: check_ci_docs.py SOURCE_DIR MEMOPT_BINARY
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys

import yaml

WORKSPACE_VARIABLES = ("$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}", "$CI_PROJECT_DIR", "${CI_PROJECT_DIR}")
HOST_CONTEXTS = re.compile(r"\$\{\{\s*(github\.workspace|runner\.workspace|runner\.temp|github\.action_path)\s*\}\}")


class Checker:
    def __init__(self, source, memopt):
        self.source = source
        self.memopt = memopt
        self.failures = []
        self.commands_checked = 0
        self._help = {}
        self.setup_options = set(re.findall(r"^\s*(--[\w-]+)\)", (source / "scripts/setup.sh").read_text(), re.M))
        match = re.search(r"^build_dir=\$\{MEMOPT_BUILD_DIR:-([\w./-]+)\}", (source / "scripts/setup.sh").read_text(), re.M)
        self.setup_build_dir = match.group(1) if match else None

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")

    def help_text(self, argv, env=None):
        key = tuple(argv)
        if key not in self._help:
            result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
            self._help[key] = result.stdout + result.stderr if result.returncode == 0 else None
        return self._help[key]

    # One job: its commands, in order, with where memopt is checked out.
    def check_job(self, where, commands, memopt_dir, in_container):
        made_dirs = set()
        for command in commands:
            if in_container and HOST_CONTEXTS.search(command):
                self.fail(where, f"uses a host path inside the container: {command!r} (use $GITHUB_WORKSPACE)")
            for part in re.split(r"&&|;|\|\|", command):
                words = self.words(where, part)
                if words:
                    self.commands_checked += 1
                    self.check_command(where, words, memopt_dir, made_dirs)
                    if memopt_dir is None and words[:2] == ["git", "clone"]:
                        memopt_dir = self.relative(words[-1])

    def words(self, where, text):
        for variable in WORKSPACE_VARIABLES:
            text = text.replace(variable + "/", "").replace(variable, ".")
        try:
            return shlex.split(text, comments=True)
        except ValueError as error:
            self.fail(where, f"cannot split {text!r} into shell words: {error}")
            return []

    @staticmethod
    def relative(path):
        return os.path.normpath(path)

    def in_checkout(self, path, memopt_dir):
        """The repository-relative path of `path` when it is inside memopt's checkout."""
        if memopt_dir is None:
            return None
        relative = os.path.relpath(os.path.normpath(path), memopt_dir)
        return None if relative.startswith("..") else relative

    def check_command(self, where, words, memopt_dir, made_dirs):
        program = words[0]
        inside = self.in_checkout(program, memopt_dir) if "/" in program else None
        if inside is not None:
            target = self.source / inside
            if not target.is_file() or not os.access(target, os.X_OK):
                self.fail(where, f"runs {program}, but {inside} is not an executable file of memopt")
            if inside == "scripts/setup.sh":
                for option in words[1:]:
                    if option not in self.setup_options:
                        self.fail(where, f"scripts/setup.sh has no option {option} (it has {sorted(self.setup_options)})")
        if words[:2] == ["cmake", "--install"]:
            if len(words) < 3 or self.in_checkout(words[2], memopt_dir) != self.setup_build_dir:
                self.fail(where, f"`{' '.join(words)}` does not name the directory setup.sh builds into "
                                 f"({self.setup_build_dir} of memopt's checkout)")
        if words[:2] == ["mkdir", "-p"]:
            made_dirs.update(os.path.normpath(w) for w in words[2:])
        if os.path.basename(program) == "memopt":
            self.check_memopt(where, words, made_dirs)
        if os.path.basename(program).startswith("python3") and words[1:3] == ["-m", "pytest"]:
            self.check_pytest(where, words[3:], made_dirs)

    def check_output_dir(self, where, path, made_dirs):
        directory = os.path.dirname(os.path.normpath(path))
        if directory and directory not in made_dirs:
            self.fail(where, f"writes {path} before any `mkdir -p {directory}`")

    def long_options(self, words):
        options = []
        for word in words:
            if word == "--":
                break
            if word.startswith("--"):
                options.append(word.split("=", 1)[0])
        return options

    def check_memopt(self, where, words, made_dirs):
        if len(words) < 2:
            self.fail(where, "runs memopt without a subcommand")
            return
        subcommand = words[1]
        text = self.help_text([self.memopt, subcommand, "--help"])
        if text is None:
            self.fail(where, f"memopt has no subcommand {subcommand!r}")
            return
        known = set(re.findall(r"--[a-z][\w-]*", text))
        for option in self.long_options(words[2:]):
            if option not in known:
                self.fail(where, f"memopt {subcommand} has no option {option}")
        options = words[:words.index("--")] if "--" in words else words
        for flag in ("--junit", "--save", "--trace", "-o", "--output"):
            if flag in options and options.index(flag) + 1 < len(options):
                self.check_output_dir(where, options[options.index(flag) + 1], made_dirs)

    def check_pytest(self, where, arguments, made_dirs):
        env = dict(os.environ, PYTHONPATH=str(self.source / "python"))
        text = self.help_text(["/usr/bin/python3", "-m", "pytest", "-p", "memopt.pytest_plugin", "-p", "no:cacheprovider",
                               "--help"], env)
        if text is None:
            self.fail(where, "pytest --help with the plugin failed")
            return
        known = set(re.findall(r"--[a-z][\w-]*", text))
        for option in self.long_options(arguments):
            if option not in known:
                self.fail(where, f"pytest (with memopt's plugin) has no option {option}")
        for flag in ("--junitxml", "--junit-xml"):
            if flag in arguments and arguments.index(flag) + 1 < len(arguments):
                self.check_output_dir(where, arguments[arguments.index(flag) + 1], made_dirs)

    # The two CI systems.
    def check_github(self, where, workflow):
        for name, job in workflow["jobs"].items():
            job_where = f"{where}: job {name}"
            in_container = "container" in job
            memopt_dir, commands = None, []
            for index, step in enumerate(job.get("steps", [])):
                uses = step.get("uses", "")
                if uses.startswith("actions/checkout@"):
                    options = step.get("with") or {}
                    if options.get("repository"):
                        if not options.get("path"):
                            self.fail(job_where, "checks out memopt without `path:` (it would replace the project)")
                        memopt_dir = self.relative(options.get("path", "."))
                if "run" in step:
                    commands += [line for line in step["run"].splitlines() if line.strip()]
                for value in (step.get("env") or {}).values():
                    if in_container and HOST_CONTEXTS.search(str(value)):
                        self.fail(job_where, f"step {index} sets a host path inside the container: {value!r}")
            if memopt_dir is None:
                self.fail(job_where, "never checks out memopt")
            self.check_job(job_where, commands, memopt_dir, in_container)

    def check_gitlab(self, where, jobs):
        for name, job in jobs.items():
            if not isinstance(job, dict) or "script" not in job:
                continue
            commands = [str(line) for line in job["script"]]
            if not any(line.startswith("git clone") for line in commands):
                self.fail(f"{where}: job {name}", "never clones memopt")
            self.check_job(f"{where}: job {name}", commands, None, in_container="image" in job)


def yaml_blocks(markdown):
    return re.findall(r"^```yaml\n(.*?)^```", markdown, re.M | re.S)


def main(source, memopt):
    checker = Checker(source, memopt)
    blocks = yaml_blocks((source / "docs/ci.md").read_text())
    systems = {"github": 0, "gitlab": 0}
    for number, block in enumerate(blocks, 1):
        where = f"docs/ci.md yaml block {number}"
        try:
            document = yaml.safe_load(block)
        except yaml.YAMLError as error:
            checker.fail(where, f"is not valid YAML: {error}")
            continue
        if not isinstance(document, dict):
            continue
        if "jobs" in document:
            systems["github"] += 1
            checker.check_github(where, document)
        elif any(isinstance(job, dict) and "script" in job for job in document.values()):
            systems["gitlab"] += 1
            checker.check_gitlab(where, document)
    for system, count in systems.items():
        if count == 0:
            checker.fail("docs/ci.md", f"has no {system} example")
    print(f"check_ci_docs: {len(blocks)} yaml blocks, {checker.commands_checked} commands checked")
    for failure in checker.failures:
        print("  " + failure)
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), sys.argv[2]))

"""The rewritten program keeps the input's text where the tree did not change
(memopt.transforms.source_edits), and every pass writes changes.diff beside its program."""
import ast
import json
import os
import subprocess
import textwrap

from memopt.transforms import source_edits
from memopt.transforms.common import insert_after_docstring_and_future, unparse, write_program
from memopt.transforms.source_edits import regenerate

PY = "/usr/bin/python3"
PYTHONPATH = os.path.join(os.path.dirname(__file__), "..", "..", "python")


def code(text):
    return textwrap.dedent(text)


def stmt(text):
    return ast.parse(text).body[0]


def edited(source, edit):
    """regenerate() of `source` after `edit(tree)`; asserts it did not fall back."""
    tree = ast.parse(source)
    edit(tree)
    ast.fix_missing_locations(tree)
    text = regenerate(tree, source)
    assert text is not None, "fell back to whole-file unparsing"
    assert ast.dump(ast.parse(text)) == ast.dump(tree)
    return text


SAMPLE = code('''\
    #!/usr/bin/env python3
    # -*- coding: utf-8 -*-
    """Module docstring
    over two lines."""
    from __future__ import annotations

    import os  # for the path
    import sys

    # the size
    N = (1 +
         2)   # odd layout


    def helper(a, b):
        """Helper."""
        # add them
        total = a + b   # the sum
        return total
    ''')


def test_an_unchanged_tree_gives_the_source_back_exactly():
    assert regenerate(ast.parse(SAMPLE), SAMPLE) == SAMPLE


def test_a_changed_statement_keeps_every_comment_and_layout_around_it():
    def edit(tree):
        tree.body[3] = stmt("import json")  # import sys
    text = edited(SAMPLE, edit)
    assert text == SAMPLE.replace("import sys\n", "import json\n")


def test_a_deleted_statement_takes_its_lines_and_end_comment_and_leaves_comment_lines():
    source = code('''\
        import os
        import sys

        # the table, a copy kept for later
        table = [1, 2, 3]
        everything = list(table)  # never read

        print(sys.argv, table)
        ''')

    def edit(tree):
        del tree.body[0]  # import os
        del tree.body[2]  # everything = ...
    text = edited(source, edit)
    assert text == code('''\
        import sys

        # the table, a copy kept for later
        table = [1, 2, 3]

        print(sys.argv, table)
        ''')


def test_deleting_a_statement_between_blank_lines_leaves_one_blank_line():
    source = "import os\n\nimport pandas as pd\n\nx = os.sep\n"
    assert edited(source, lambda t: t.body.pop(1)) == "import os\n\nx = os.sep\n"


def test_an_import_inserted_after_the_docstring_and_future_imports():
    def edit(tree):
        insert_after_docstring_and_future(tree, ast.parse("import os as _memopt_os\n"
                                                          "_memopt_os.environ.setdefault('A', '1')").body)
    text = edited(SAMPLE, edit)
    assert text == SAMPLE.replace("from __future__ import annotations\n",
                                  "from __future__ import annotations\nimport os as _memopt_os\n"
                                  "_memopt_os.environ.setdefault('A', '1')\n")


def test_a_change_inside_a_nested_function_body_keeps_the_rest_of_it():
    source = code('''\
        class Model:
            """A model."""

            def predict(self, rows):  # the hot path
                # one row at a time
                out = []
                for row in rows:
                    def score(r):
                        # weighted
                        return r * 2   # doubled
                    out.append(score(row))
                return out
        ''')

    def edit(tree):
        score = tree.body[0].body[1].body[1].body[0]
        score.body[0] = stmt("return r * 3")
    text = edited(source, edit)
    assert text == source.replace("return r * 2   # doubled", "return r * 3  # doubled")


def test_a_new_function_with_a_docstring_is_indented_outside_its_string():
    source = "class C:\n    x = 1\n"

    def edit(tree):
        tree.body[0].body.append(stmt('def f(self):\n    """two\n    lines"""\n    return 1'))
    text = edited(source, edit)
    assert text == 'class C:\n    x = 1\n    def f(self):\n        """two\n    lines"""\n        return 1\n'


def test_decorators_stay_with_their_function():
    source = code('''\
        import functools


        @functools.lru_cache(maxsize=None)
        # cached: called often
        @staticmethod
        def f(x,
              y):  # two arguments
            # body comment
            return x + y


        print(f(1, 2))
        ''')
    changed_body = edited(source, lambda t: setattr(t.body[1], "body", [stmt("return x - y")]))
    assert changed_body == source.replace("return x + y", "return x - y")

    def rename_argument(tree):
        tree.body[1].args.args[1].arg = "z"
        tree.body[1].body = [stmt("return x + z")]
    renamed = edited(source, rename_argument)
    assert "@functools.lru_cache(maxsize=None)\n# cached: called often\n@staticmethod\n" \
           "def f(x, z):  # two arguments\n    # body comment\n    return x + z\n" in renamed

    deleted = edited(source, lambda t: t.body.pop(1))
    assert "lru_cache" not in deleted and "cached" not in deleted and "two arguments" not in deleted
    assert deleted.startswith("import functools\n") and "print(f(1, 2))\n" in deleted


def test_a_changed_for_header_keeps_its_body_and_colon_comment():
    source = code('''\
        for i in range(10):  # every row
            # print it
            print(i)  # shown
        ''')
    text = edited(source, lambda t: setattr(t.body[0], "iter", ast.parse("range(20)").body[0].value))
    assert text == source.replace("range(10)", "range(20)")


def test_clauses_of_if_elif_try_are_edited_in_place():
    source = code('''\
        if a:  # first
            x = 1
        elif b:
            # second
            x = 2
        else:
            x = 3
        try:
            y = 1
        except ValueError as e:  # handled
            y = 2  # two
        finally:
            # always
            y = 3
        ''')

    def edit(tree):
        tree.body[0].orelse[0].body[0] = stmt("x = 22")
        tree.body[1].handlers[0].body[0] = stmt("y = 22")
    text = edited(source, edit)
    assert text == source.replace("x = 2\n", "x = 22\n").replace("y = 2  # two", "y = 22  # two")


def test_a_statement_that_cannot_be_edited_in_place_is_unparsed_alone():
    source = code('''\
        # top
        x = 1  # one
        if a:
            y = 1  # lost with the rewritten if
        elif b:
            y = 2
        try:
            z = 1
        except ValueError:  # lost with the rewritten try
            z = 2
        print(x)  # kept
        ''')

    def edit(tree):
        tree.body[1].orelse = []  # the elif goes: the chain changed shape
        tree.body[2].handlers[0].type = ast.Name("KeyError", ast.Load())  # a clause header changed
    text = edited(source, edit)
    assert text == "# top\nx = 1  # one\nif a:\n    y = 1\ntry:\n    z = 1\nexcept KeyError:\n    z = 2\n" \
                   "print(x)  # kept\n"


def test_statements_sharing_a_line():
    source = "import os\na = 1; b = 2  # both\nc = 3\n"
    # one of them changed: the line is written one statement per line, the comment after the last
    assert edited(source, lambda t: setattr(t.body[2], "value", ast.Constant(5))) == \
        "import os\na = 1\nb = 5  # both\nc = 3\n"
    # a neighbour changed: the shared line stays as it was
    assert edited(source, lambda t: t.body.pop(0)) == "a = 1; b = 2  # both\nc = 3\n"


def test_a_body_on_its_header_line_is_unparsed_alone():
    source = "# keep\nif x: y = 1  # one line\nz = 2  # kept\n"
    text = edited(source, lambda t: setattr(t.body[0].body[0], "value", ast.Constant(9)))
    assert text == "# keep\nif x:\n    y = 9\nz = 2  # kept\n"


def test_line_endings_tabs_and_a_missing_final_newline_are_kept():
    source = "import os\r\nif True:\r\n\tx = 1  # tab\r\n\ty = 2"

    def edit(tree):
        tree.body[1].body.append(stmt("z = 3"))
        del tree.body[0]
    assert edited(source, edit) == "if True:\r\n\tx = 1  # tab\r\n\ty = 2\r\n\tz = 3"


def test_multi_line_strings_are_kept_and_not_reindented():
    source = code('''\
        def f():
            text = """a
        b"""
            return text
        ''')
    assert edited(source, lambda t: t.body[0].body.insert(1, stmt("n = 1"))) == \
        source.replace('b"""\n', 'b"""\n    n = 1\n')


def test_a_text_that_would_not_parse_to_the_tree_falls_back_to_whole_file_unparsing(monkeypatch):
    source = "# a comment\nx = 1\n"
    tree = ast.parse(source)
    tree.body.append(stmt("y = 2"))
    monkeypatch.setattr(source_edits, "_render_module", lambda old, new, src: "x = 1\n")  # drops y
    assert regenerate(tree, source) is None
    assert unparse(tree, source) == "x = 1\ny = 2\n"  # what the pass meant, comments lost


def test_a_lone_carriage_return_falls_back():
    tree = ast.parse("x = 1\ry = 2\n")
    assert regenerate(tree, "x = 1\ry = 2\n") is None
    assert unparse(tree, "x = 1\ry = 2\n") == "x = 1\ny = 2\n"


def test_unparse_keeps_the_shebang_in_both_ways():
    source = "#!/usr/bin/python3\nimport os\nx = 1\n"
    tree = ast.parse(source)
    del tree.body[0]
    assert unparse(tree, source) == "#!/usr/bin/python3\nx = 1\n"


def test_write_program_writes_a_unified_diff_beside_the_program(tmp_path):
    script = tmp_path / "app.py"
    script.write_text("import os\n# note\nprint(1)\n")
    out = tmp_path / "out"
    out.mkdir()
    write_program(str(script), str(out), "# note\nprint(1)\n")
    assert (out / "changes.diff").read_text() == "--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,2 @@\n-import os\n # note\n print(1)\n"
    write_program(str(script), str(out), script.read_text())  # unchanged: no (stale) diff
    assert not (out / "changes.diff").exists()


def test_a_missing_final_newline_is_marked_in_the_diff():
    assert source_edits.unified_diff("a\n", "b", "p.py") == \
        "--- a/p.py\n+++ b/p.py\n@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n"


def module(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(PYTHONPATH))
    return subprocess.run([PY, "-m", "memopt.transforms", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_a_pass_report_names_its_diff_and_the_diff_command_compares_two_programs(tmp_path):
    (tmp_path / "s.py").write_text("import os  # unused\nimport sys\n\n# show\nprint(sys.argv[1:])\n")
    r = module("dead-data", "s.py", "out", cwd=tmp_path)
    report = json.loads(r.stdout)
    assert report["applied"] and report["diff"] == "changes.diff"
    assert (tmp_path / "out" / "s.py").read_text() == "import sys\n\n# show\nprint(sys.argv[1:])\n"
    assert "-import os  # unused\n" in (tmp_path / "out" / "changes.diff").read_text()
    copy = json.loads(module("copy", "s.py", "base", cwd=tmp_path).stdout)
    assert "diff" not in copy and not (tmp_path / "base" / "changes.diff").exists()
    (tmp_path / "final").mkdir()
    r = module("diff", "s.py", "out/s.py", "final", cwd=tmp_path)
    assert json.loads(r.stdout) == {"diff": "changes.diff"}
    assert (tmp_path / "final" / "changes.diff").read_text() == (tmp_path / "out" / "changes.diff").read_text()
    assert json.loads(module("diff", "s.py", "s.py", "final", cwd=tmp_path).stdout) == {"diff": ""}
    assert not (tmp_path / "final" / "changes.diff").exists()
    bad = module("diff", "s.py", "missing.py", "final", cwd=tmp_path)
    assert bad.returncode == 2 and "usage" in bad.stderr

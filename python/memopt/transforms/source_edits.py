"""source_edits: the text of a rewritten program, keeping the input's comments and layout, and
the unified diff a reviewer reads.

The passes mutate an `ast` tree; regenerate(tree, source) writes it back by editing the
original text at statement granularity instead of unparsing the whole file:

- The original is parsed again and its statement lists are aligned with the new tree's
  (difflib over ast.dump without positions): the module body, then recursively the bodies of
  compound statements (if/for/while/with/try/def/class) that changed.
- A statement equal to an original one keeps its original lines exactly (comments, blank
  lines, formatting, multi-line strings). A changed or inserted statement is written with
  ast.unparse at its body's indentation; a deleted statement's lines go.
- A changed compound statement keeps its header lines when the header (everything but the
  bodies) is unchanged; otherwise its first header is unparsed (decorators, `def ...:`,
  `for ...:`), keeping the comment at the end of its `:` line. The other clause lines
  (`else:`, `except ...:`, `finally:`) must be unchanged, else the whole statement is unparsed.
- Comments on their own lines and blank lines between statements are always kept, also next
  to a deleted statement: which statement a comment speaks of is not known. What goes with a
  deleted statement is its own span: its lines from the first decorator to its last line,
  including a comment at the end of them and everything inside a deleted block (blank lines
  left doubled by a deletion are merged).
- Where text cannot be edited safely the nearest enclosing statement is unparsed whole: a
  line holding several statements (`a; b`) where one changed is rewritten one statement per
  line (its end-of-line comment follows the last); a body on its header's line (`if x: y`),
  an `elif` chain whose shape changed, clauses added or removed, `match` statements.
- A changed one-line statement keeps the comment at the end of its line.
- Line endings are the file's (a CRLF file stays CRLF; a file mixing both gets the ending of
  its first line), tabs stay, a missing final newline stays missing, the shebang and encoding
  lines are kept as they are.

The result must parse to the new tree (compared with ast.dump, also after one unparse/parse
round of both, which is the equivalence whole-file unparsing has); if it does not, or
anything above fails, regenerate returns None and the caller unparses the whole file."""
from __future__ import annotations

import ast
import copy
import difflib
import io
import tokenize
from dataclasses import dataclass

COMPOUND = tuple(getattr(ast, n) for n in ("If", "For", "AsyncFor", "While", "With", "AsyncWith", "FunctionDef",
                                          "AsyncFunctionDef", "ClassDef", "Try", "TryStar") if hasattr(ast, n))
TRY = tuple(getattr(ast, n) for n in ("Try", "TryStar") if hasattr(ast, n))
NEW_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Unsafe(Exception):
    """This statement's text cannot be edited in place; its enclosing statement is unparsed."""


def key(node):
    return ast.dump(node, include_attributes=False)


def regenerate(tree, source):
    """The program text of `tree` made from `source` by statement edits, or None (see above)."""
    if "\r" in source.replace("\r\n", ""):
        return None  # a lone CR ends a line for the parser but not for our line list
    try:
        old = ast.parse(source)
        text = _render_module(old, tree, Source(source))
        got = ast.parse(text)
    except Exception:  # noqa: BLE001 - any failure means: unparse the whole file instead
        return None
    return text if _same_program(got, tree) else None


def _same_program(got, tree):
    if key(got) == key(tree):
        return True
    try:  # what whole-file unparsing would also give (u"" prefixes, -1 constants, ...)
        return key(ast.parse(ast.unparse(got))) == key(ast.parse(ast.unparse(tree)))
    except Exception:  # noqa: BLE001
        return False


def unified_diff(old, new, name):
    """`--- a/NAME` / `+++ b/NAME` unified diff of two program texts ("" when equal)."""
    lines = difflib.unified_diff(_keep_ends(old), _keep_ends(new), f"a/{name}", f"b/{name}")
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _keep_ends(text):
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class Source:
    """The original's lines (1-based, without line endings) and its line ending."""

    def __init__(self, text):
        first = text.find("\n")
        self.newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
        parts = text.split("\n")
        self.final_newline = parts[-1] == ""
        if self.final_newline:
            parts.pop()
        if self.newline == "\r\n":
            parts = [p[:-1] if p.endswith("\r") else p for p in parts]
        self.lines = parts

    def line(self, n):
        return self.lines[n - 1]

    def before(self, n, col):
        """The text of line n before byte column col (ast columns count UTF-8 bytes)."""
        return self.line(n).encode("utf-8")[:col].decode("utf-8", errors="replace")


def start(s):
    return min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])])


def starts_line(s, src):
    """Whether the statement's text begins its line (only indentation, or `@`, before it)."""
    decorators = getattr(s, "decorator_list", [])
    first = min(decorators, key=lambda d: (d.lineno, d.col_offset)) if decorators else s
    return src.before(first.lineno, first.col_offset).strip() in (("", "@") if decorators else ("",))


def end_comment(s, src):
    """The comment after a statement on its last line (none when another statement follows)."""
    rest = src.line(s.end_lineno).encode("utf-8")[s.end_col_offset:].decode("utf-8", errors="replace").strip()
    return rest if rest.startswith("#") else ""


def indent_of(s, src):
    line = src.line(start(s))
    return line[:len(line) - len(line.lstrip())]


class Emitter:
    """Output lines; original lines are copied at most once (statements sharing a line)."""

    def __init__(self, src):
        self.src = src
        self.lines = []
        self.copied_through = 0
        self.blank_pending = False

    def copy(self, first, last, merge_blank=False):
        first = max(first, self.copied_through + 1)
        chunk = self.src.lines[first - 1:last] if first <= last else []
        if merge_blank and self.ends_blank():
            while chunk and not chunk[0].strip():
                chunk = chunk[1:]
        self.add(chunk)
        self.copied_through = max(self.copied_through, last)

    def add(self, lines):
        if self.blank_pending and lines and lines[0].strip():
            self.lines.append("")
        if lines:
            self.blank_pending = False
        self.lines.extend(lines)

    def ends_blank(self):
        return bool(self.lines) and not self.lines[-1].strip()

    def new_statement(self, node, indent, comment=""):
        """`node` unparsed at `indent`, a one-line statement followed by `comment` (the end-of-line
        comment of the statement it replaces); a new module-level def or class gets blank lines
        around."""
        spaced = indent == "" and isinstance(node, NEW_DEFS)
        if spaced and self.lines and not self.ends_blank():
            self.lines.append("")
        lines = indent_block(ast.unparse(node), indent)
        if comment and len(lines) == 1:
            lines[0] += "  " + comment
        self.add(lines)
        self.blank_pending = spaced

    def child(self):
        sub = Emitter(self.src)
        sub.copied_through = self.copied_through
        sub.blank_pending = self.blank_pending
        sub.lines = [self.lines[-1]] if self.lines else []  # for ends_blank()
        return sub

    def take(self, sub):
        self.lines.extend(sub.lines[1:] if self.lines else sub.lines)
        self.copied_through = max(self.copied_through, sub.copied_through)
        self.blank_pending = sub.blank_pending


def indent_block(text, indent):
    """Every line of unparsed code prefixed by `indent`, except lines inside a multi-line string."""
    lines = text.split("\n")
    inside = set()
    string_types = {tokenize.STRING} | ({tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in string_types and tok.end[0] > tok.start[0]:
            inside.update(range(tok.start[0], tok.end[0]))  # 0-based indices of continuation lines
    return [indent + line if line and i not in inside else line for i, line in enumerate(lines)]


def _render_module(old, tree, src):
    em = Emitter(src)
    if old.body:
        em.copy(1, start(old.body[0]) - 1)
    else:
        em.copy(1, len(src.lines))
    render_body(old.body, tree.body, "", em)
    if old.body:
        em.copy(old.body[-1].end_lineno + 1, len(src.lines))
    text = src.newline.join(em.lines)
    return text + src.newline if src.final_newline and em.lines else text


# --- aligning statement lists -------------------------------------------------------------

@dataclass
class Item:
    kind: str        # "old" (original text), "merge" (compound edited inside), "replace", "new"
    old: int | None  # index into the original list (None for "new")
    node: ast.stmt   # the new statement


def align(olds, news):
    items = []
    matcher = difflib.SequenceMatcher(None, [key(s) for s in olds], [key(s) for s in news], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            items += [Item("old", i1 + k, news[j1 + k]) for k in range(i2 - i1)]
        elif tag == "insert":
            items += [Item("new", None, n) for n in news[j1:j2]]
        elif tag == "replace":
            items += _align_changed(olds, i1, i2, news[j1:j2])
    return _split_shared_lines(olds, items)


def _align_changed(olds, i1, i2, news):
    """Changed statements: same-type pairs are edited in place (compound ones inside)."""
    items = []
    types = difflib.SequenceMatcher(None, [type(s).__name__ for s in olds[i1:i2]],
                                    [type(s).__name__ for s in news], autojunk=False)
    for tag, a1, a2, b1, b2 in types.get_opcodes():
        if tag == "equal":
            for k in range(a2 - a1):
                o = i1 + a1 + k
                items.append(Item("merge" if isinstance(olds[o], COMPOUND) else "replace", o, news[b1 + k]))
        elif tag == "replace":
            pairs = min(a2 - a1, b2 - b1)
            items += [Item("replace", i1 + a1 + k, news[b1 + k]) for k in range(pairs)]
            items += [Item("new", None, n) for n in news[b1 + pairs:b2]]
        elif tag == "insert":
            items += [Item("new", None, n) for n in news[b1:b2]]
    return items


def _split_shared_lines(olds, items):
    """Statements sharing a line (`a = 1; b = 2`) keep their text only if all stay, in order."""
    group_of, g = {}, 0
    for i, s in enumerate(olds):
        if i and start(s) <= olds[i - 1].end_lineno:
            group_of[i] = group_of[i - 1]
        else:
            g += 1
            group_of[i] = g
    members = {}
    for i, grp in group_of.items():
        members.setdefault(grp, []).append(i)
    broken = set()
    for grp, idx in members.items():
        if len(idx) < 2:
            continue
        positions = [p for p, it in enumerate(items) if it.old in idx]
        intact = [items[p].old for p in positions] == idx and all(items[p].kind == "old" for p in positions) \
            and positions == list(range(positions[0], positions[0] + len(idx)))
        if not intact:
            broken |= set(idx)
    return [Item("replace", it.old, it.node) if it.old in broken else it for it in items]


# --- rendering --------------------------------------------------------------------------------

def render_body(olds, news, indent, em, elif_chain=False):
    """Writes the new statement list `news` where the original list `olds` was."""
    src = em.src
    if olds:
        indent = indent_of(olds[0], src)
    items = align(olds, news)
    if elif_chain and (len(items) != 1 or items[0].kind not in ("old", "merge")):
        raise Unsafe("an elif chain changed shape")
    placed = {it.old for it in items if it.old is not None}
    last = -1

    def gaps_through(k):
        for j in range(last + 1, k + 1):
            if j:
                em.copy(olds[j - 1].end_lineno + 1, start(olds[j]) - 1, merge_blank=j - 1 not in placed)

    for it in items:
        if it.kind == "new":
            em.new_statement(it.node, indent)
            continue
        gaps_through(it.old)
        last = it.old
        o = olds[it.old]
        if it.kind == "old":
            em.copy(start(o), o.end_lineno)
        elif it.kind == "merge":
            sub = em.child()
            try:
                render_compound(o, it.node, sub, keep_keyword=elif_chain)
            except Unsafe:
                if elif_chain:
                    raise
                sub = None
            if sub is not None:
                em.take(sub)
            else:
                em.new_statement(it.node, indent)
        else:
            em.new_statement(it.node, indent, end_comment(o, src))
        em.copied_through = max(em.copied_through, o.end_lineno)
    gaps_through(len(olds) - 1)


def bodies(node):
    """The statement lists of a compound statement in source order."""
    if isinstance(node, TRY):
        return [node.body] + [h.body for h in node.handlers] + [node.orelse, node.finalbody]
    return [node.body] + ([node.orelse] if hasattr(node, "orelse") else [])


def header_key(node):
    """The compound statement without its bodies (the handlers' headers stay)."""
    bare = copy.copy(node)
    for name in ("body", "orelse", "finalbody"):
        if hasattr(bare, name):
            setattr(bare, name, [])
    if isinstance(bare, TRY):
        bare.handlers = [_bare_handler(h) for h in bare.handlers]
    return key(bare)


def _bare_handler(h):
    bare = copy.copy(h)
    bare.body = []
    return bare


def is_elif(node, src):
    return isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) and \
        src.line(node.orelse[0].lineno).lstrip().startswith("elif")


def render_compound(o, n, em, keep_keyword=False):
    """Writes compound statement `n` over the original `o`, editing inside its bodies."""
    src = em.src
    olds, news = bodies(o), bodies(n)
    if type(o) is not type(n) or [bool(b) for b in olds] != [bool(b) for b in news]:
        raise Unsafe("clauses added or removed")
    if any(b and not starts_line(b[0], src) for b in olds):
        raise Unsafe("a body on its header's line")
    if header_key(o) == header_key(n):
        em.copy(start(o), start(o.body[0]) - 1)
    elif isinstance(o, TRY) or keep_keyword:
        raise Unsafe("a clause header changed")
    else:
        colon, comment = _colon_line(o, src)
        header = _header_text(n)
        decorators = getattr(o, "decorator_list", [])
        if decorators and [key(d) for d in decorators] == [key(d) for d in n.decorator_list]:
            em.copy(start(o), o.lineno - 1)  # the decorators' lines, comments between them
            header = header[len(decorators):]
        header = indent_block("\n".join(header), indent_of(o, src))
        if comment:
            header[-1] += "  " + comment
        em.add(header)
        em.copied_through = max(em.copied_through, colon)
        em.copy(colon + 1, start(o.body[0]) - 1)
    elif_body = is_elif(o, src)
    previous = None
    for i, (ob, nb) in enumerate(zip(olds, news)):
        if not ob:
            continue
        if previous is not None:
            em.copy(previous[-1].end_lineno + 1, start(ob[0]) - 1)
        render_body(ob, nb, "", em, elif_chain=elif_body and ob is o.orelse)
        previous = ob


def _header_text(n):
    """The lines of `n`'s first header (decorators, `def f(...):`), unparsed."""
    bare = copy.copy(n)
    for name in ("orelse", "finalbody"):
        if hasattr(bare, name):
            setattr(bare, name, [])
    bare.body = [ast.Pass()]
    lines = ast.unparse(bare).split("\n")
    if lines[-1].strip() != "pass":
        raise Unsafe("unexpected header text")
    return lines[:-1]


def _colon_line(o, src):
    """The line of the `:` ending `o`'s first header, and a comment after it on that line."""
    first, last = o.lineno, start(o.body[0]) - 1
    text = "\n".join(src.lines[first - 1:last]) + "\n"
    depth, colon = 0, None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if colon is not None:
                if tok.start[0] != colon:
                    break
                if tok.type == tokenize.COMMENT:
                    return first + colon - 1, tok.string
                continue
            if tok.type == tokenize.OP and tok.string in ("(", "[", "{"):
                depth += 1
            elif tok.type == tokenize.OP and tok.string in (")", "]", "}"):
                depth -= 1
            elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
                colon = tok.start[0]
    except (tokenize.TokenError, SyntaxError) as e:
        raise Unsafe(f"header not tokenized: {e}") from None
    if colon is None:
        raise Unsafe("no ':' found in the header")
    return first + colon - 1, ""

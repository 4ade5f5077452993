"""static-to-dynamic, part (a): a table loaded whole and processed in independent blocks
becomes a stream read a few blocks at a time (runtime/_memopt_stream.py, inlined).

Recognised: in one scope (a function or the module), `D = R(path, [usecols=..., sep=...])`
where R is pandas' `read_csv` (through `import pandas as pd`, or the flatten pass's
stand-in `pd = _MemoptPandas` / `_memopt_read_csv`), bound once and not inside a loop or a
condition, and D is only used by `len(D)` and by one call `F(D)` of a module-level function
that blockwise.analyse() proves block-wise (each result row from one complete block of B
rows, no side effects). Nothing between the load and F(D) may write files (the stream
reads the file when F runs). Then the load becomes `_MemoptCsvStream(R, path, ...)` and the
call `_memopt_blockwise(F, D, B, columns)`. Every other whole-file load found
(`np.loadtxt`, `np.genfromtxt`, read_csv used otherwise) is named in the report with the
reason it was left alone. Safe because F's result is proved to be the concatenation of its
results on the pieces (blockwise.py), the table is read only where F would have read it,
and the stream parses only lines numpy and pandas read alike (no quotes, blanks, exponents,
numbers over 15 digits, ragged rows); any other line falls back to the whole read.
"""
from __future__ import annotations

import ast

from . import blockwise

STREAM = "_MemoptCsvStream"
BLOCKWISE = "_memopt_blockwise"
HELPER = "_memopt_stream.py"
WRITES = {"to_csv", "to_json", "to_parquet", "to_pickle", "to_excel", "write", "writelines", "savetxt",
          "save", "savez", "dump", "remove", "unlink", "rename", "replace", "truncate", "rmtree", "move",
          "chdir", "tofile", "write_text", "write_bytes"}
OPTIONS = {"usecols", "sep"}


def _reader_kind(call, pandas_names, stand_in_names, numpy_names):
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        if f.attr == "read_csv" and f.value.id in pandas_names | stand_in_names:
            return "read_csv"
        if f.attr in ("loadtxt", "genfromtxt") and f.value.id in numpy_names:
            return f.attr
    if isinstance(f, ast.Name) and f.id == "_memopt_read_csv":
        return "read_csv"
    return None


def _scopes(tree):
    yield tree
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _own_nodes(scope):
    """Nodes of `scope` outside nested functions, lambdas, classes and comprehensions, with
    the chain of statements leading to each."""
    out = []

    def visit(node, chain):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                                  ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                out.append((child, chain, True))
                continue
            out.append((child, chain, False))
            visit(child, chain + [child] if isinstance(child, ast.stmt) else chain)

    visit(scope, [])
    return out


def _writes_between(nodes, first, last, functions, seen=None):
    """A call between source lines first..last that may write files (also inside the
    program's own functions it calls)."""
    seen = seen or set()
    for node in nodes:
        if not isinstance(node, ast.Call) or not (first < node.lineno < last):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name in WRITES or name == "open" or (name or "").startswith("to_"):
            return f"{name}() at line {node.lineno}"
        if name in functions and name not in seen:
            seen.add(name)
            inner = [n for n in ast.walk(functions[name]) if isinstance(n, ast.Call)]
            why = _writes_between(inner, -1, 1 << 30, functions, seen)
            if why:
                return f"{why} (in {name}(), called at line {node.lineno})"
    return ""


def apply(tree, changes, notes):
    """Rewrites the recognised loads in `tree`; returns True when one was rewritten."""
    pandas_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names if a.name == "pandas"}
    stand_in = {n.targets[0].id for n in tree.body if isinstance(n, ast.Assign) and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Name)
                and n.value.id == "_MemoptPandas"}
    numpy_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                   for a in n.names if a.name == "numpy"}
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    if any(isinstance(n, ast.Name) and n.id in (STREAM, BLOCKWISE) for n in ast.walk(tree)) or \
            any(isinstance(n, ast.ClassDef) and n.name == STREAM for n in tree.body):
        notes.append("streaming: already applied")
        return False
    rewritten = False
    for scope in _scopes(tree):
        nodes = _own_nodes(scope)
        for node, chain, _ in nodes:
            if not (isinstance(node, ast.Call)):
                continue
            kind = _reader_kind(node, pandas_names, stand_in, numpy_names)
            if kind is None:
                continue
            where = f"{ast.unparse(node.func)} (line {node.lineno})"
            why = _try_stream(tree, scope, nodes, node, chain, kind, functions, changes, where)
            if why:
                notes.append(f"not streamed: {where}: {why}")
            else:
                rewritten = True
    return rewritten


def _reads_global(function, var):
    """Does `function` (or a function inside it) read the module-level `var`?"""
    a = function.args
    params = {x.arg for x in a.args + a.kwonlyargs + a.posonlyargs} | \
        {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    stored = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    declared = {name for n in ast.walk(function) if isinstance(n, ast.Global) for name in n.names}
    uses = any(isinstance(n, ast.Name) and n.id == var for n in ast.walk(function))
    return uses and (var in declared or var not in params | stored)


def _try_stream(tree, scope, nodes, call, chain, kind, functions, changes, where):
    if kind != "read_csv":
        return f"{kind} arrays are not streamed (only read_csv tables)"
    statement = chain[-1] if chain else None
    if not (isinstance(statement, ast.Assign) and statement.value is call and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)):
        return "its result is not assigned to a name"
    if any(not isinstance(s, (ast.With, ast.AsyncWith)) for s in chain[:-1]):
        return "loaded inside a loop, condition or try (the load must happen once, unconditionally)"
    unknown = {k.arg for k in call.keywords} - OPTIONS
    if unknown or len(call.args) != 1:
        return "options not understood: " + ", ".join(sorted(map(str, unknown))) if unknown else \
            "positional options not understood"
    var = statement.targets[0].id
    if isinstance(scope, ast.Module) and any(_reads_global(f, var) for f in ast.walk(tree)
                                             if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))):
        return f"{var} is a global used inside functions"
    for node, _, nested in nodes:
        if nested and (_reads_global(node, var) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                       else any(isinstance(n, ast.Name) and n.id == var for n in ast.walk(node))):
            return f"{var} is used inside a nested function or comprehension"
    parents = {}
    for node, _, nested in nodes:
        if not nested:
            for child in ast.iter_child_nodes(node):
                parents[child] = node
    block_call = None
    for node, _, nested in nodes:
        if nested or not (isinstance(node, ast.Name) and node.id == var):
            continue
        if not isinstance(node.ctx, ast.Load):
            if node is not statement.targets[0]:
                return f"{var} is assigned or deleted again (line {node.lineno})"
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Call) and parent.args == [node] and not parent.keywords \
                and isinstance(parent.func, ast.Name):
            if parent.func.id == "len":
                continue
            if parent.func.id in functions and block_call is None:
                block_call = parent
                continue
        return f"the data is used elsewhere ({ast.unparse(parent) if parent else var}, line {node.lineno}); " \
               f"only len() and one block-wise function call are streamed"
    if block_call is None:
        return "no function processes it block by block"
    name = block_call.func.id
    try:
        result = blockwise.analyse(tree, name)
    except blockwise.NotBlockwise as e:
        return f"{name}() is not block-wise: {e}"
    if block_call.lineno <= statement.lineno:
        return f"{name}() is called before the load"
    why = _writes_between([n for n, _, nested in nodes if not nested], statement.lineno, block_call.lineno, functions)
    if why:
        return f"the program may write files between the load and {name}(): {why}"
    # rewrite
    statement.value = ast.copy_location(ast.Call(ast.Name(STREAM, ast.Load()), [call.func] + call.args,
                                                 call.keywords), call)
    columns = ast.List([ast.Constant(c) for c in sorted(result.columns)], ast.Load()) \
        if result.columns_known and result.columns else ast.Constant(None)
    new_call = ast.Call(ast.Name(BLOCKWISE, ast.Load()),
                        [ast.Name(name, ast.Load()), ast.Name(var, ast.Load()), ast.Name(result.block_name, ast.Load()),
                         columns], [])
    parent = parents[block_call]
    for field_name, value in ast.iter_fields(parent):
        if value is block_call:
            setattr(parent, field_name, ast.copy_location(new_call, block_call))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if item is block_call:
                    value[i] = ast.copy_location(new_call, block_call)
    rows = max(1, 2048 // result.block) * result.block
    cols = ", ".join(sorted(result.columns)) if result.columns_known and result.columns else "all"
    changes.append(f"{where} read whole into {var}, used only by len() and the block-wise {name}() "
                   f"(blocks of {result.block_name} = {result.block} rows; partial last block dropped as before) "
                   f"-> streamed: {rows} rows ({rows // result.block} blocks) parsed at a time, columns {cols}, "
                   f"{name}() applied to each piece and the results stacked; the whole table is never built "
                   f"(files that are not plain numeric CSV fall back to the whole read)")
    changes.append(f"not fused: {name}()'s results for all blocks are still kept together (no fusion with "
                   f"later per-block work such as a prediction loop)")
    return ""

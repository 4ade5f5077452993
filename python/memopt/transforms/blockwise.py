"""Is a function block-wise? A small abstract interpretation over Python's `ast`.

`analyse(module, function_name)` answers whether F(P) computes each row of its result from
one complete block of B consecutive rows of the table P, and nothing else from P:

    n = len(P) // B                                   # B: a module-level int constant
    v = P[column].to_numpy(dtype=np.float64)[: n * B] # per-sample column, trimmed to n blocks
    rows = v.reshape(n, B)                            # leading axis: one row per block

after which only row-wise operations are allowed: element-wise arithmetic and numpy
functions, reductions along axis >= 1, slicing that keeps the leading axis whole, [:, None],
column_stack/hstack/concatenate(axis>=1) of such values, calls of the program's own
functions (analysed the same way, inner functions with their closure) and lists built by
append. Then F(P) == concatenate([F(piece) for piece in pieces of k*B rows]) including the
dropped partial last block, and calling F on pieces has no effect besides its result (no
print, no I/O, no global writes: any call not known here makes the answer "no").
The answer comes with a reason when it is "no".
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

ELEMENTWISE = {"sqrt", "exp", "log", "log1p", "expm1", "abs", "absolute", "square", "sin", "cos", "tan",
               "tanh", "arctan", "arctan2", "floor", "ceil", "round", "rint", "sign", "isnan", "isfinite",
               "maximum", "minimum", "where", "clip", "power", "hypot", "fabs", "negative", "reciprocal",
               "logical_and", "logical_or", "logical_not", "nan_to_num", "float64", "float32"}
REDUCTIONS = {"sum", "mean", "std", "var", "min", "max", "prod", "any", "all", "median", "ptp",
              "nansum", "nanmean", "nanstd", "nanmin", "nanmax", "amin", "amax"}
FLOAT64 = {"float64", "float", "double"}


class NotBlockwise(Exception):
    pass


@dataclass(frozen=True)
class V:
    kind: str                 # const | scalar | frame | len | nblk | col | trim | row | list | func | module | shape
    ndim: int = 0             # row: number of dimensions
    value: object = None      # const/scalar: the Python value when known; func: the FunctionDef
    choices: tuple = ()       # const strings a loop variable can take
    closure: object = None    # func: the environment of an inner function
    elem: object = None       # list: the join of its elements


CONST = V("const")


@dataclass
class Result:
    block_name: str = ""      # the module constant B
    block: int = 0
    columns: set = field(default_factory=set)
    columns_known: bool = True


def _module_facts(module):
    """Module-level names: int/str/list-of-str constants assigned once, functions, imports."""
    stores = {}
    for node in ast.walk(module):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for n in node.names:
                stores[n] = stores.get(n, 0) + 2
    facts = {}
    for st in module.body:
        if isinstance(st, (ast.FunctionDef,)):
            facts[st.name] = V("func", value=st)
        elif isinstance(st, ast.Import):
            for a in st.names:
                facts[a.asname or a.name.split(".")[0]] = V("module", value=a.name if a.asname else a.name.split(".")[0])
        elif isinstance(st, ast.ImportFrom) and st.module:
            for a in st.names:
                facts[a.asname or a.name] = V("module", value=f"{st.module}.{a.name}")
        elif isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                and stores.get(st.targets[0].id) == 1:
            try:
                value = ast.literal_eval(st.value)
            except (ValueError, SyntaxError, TypeError):
                value = None
            if isinstance(value, bool):
                facts[st.targets[0].id] = V("scalar", value=value)
            elif isinstance(value, (int, float)):
                facts[st.targets[0].id] = V("scalar", value=value)
            elif isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
                facts[st.targets[0].id] = V("const", value=tuple(value), choices=tuple(value))
            elif isinstance(value, str):
                facts[st.targets[0].id] = V("const", value=value, choices=(value,))
            elif _constant_expression(st.value, facts):
                facts[st.targets[0].id] = CONST
    # a name bound more than once (or rebound by a function via global) is not a constant
    return {k: v for k, v in facts.items() if v.kind in ("func", "module") or stores.get(k) == 1}


def _constant_expression(node, facts):
    """A comprehension or expression built only from literals and known constants."""
    bound = {t.id for t in ast.walk(node) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound and \
                not (n.id in facts and facts[n.id].kind in ("const", "scalar")):
            return False
        if isinstance(n, (ast.Call, ast.Attribute, ast.Await, ast.Yield, ast.NamedExpr)):
            return False
    return True


def _join(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.kind == b.kind == "list":
        return V("list", elem=_join(a.elem, b.elem))
    if a.kind in ("const", "scalar") and b.kind in ("const", "scalar"):
        return V("scalar") if "scalar" in (a.kind, b.kind) else CONST
    raise NotBlockwise(f"a name holds both {a.kind} and {b.kind} values")


class _Interpreter:
    def __init__(self, module):
        self.facts = _module_facts(module)
        self.result = Result()
        self.depth = 0
        self.np = {k for k, v in self.facts.items() if v.kind == "module" and v.value == "numpy"}

    # --- expressions ----------------------------------------------------------------------
    def expr(self, node, env):
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            raise NotBlockwise(f"line {node.lineno}: {type(node).__name__} is not understood")
        return method(node, env)

    def e_Constant(self, node, env):
        if isinstance(node.value, str):
            return V("const", value=node.value, choices=(node.value,))
        return V("scalar", value=node.value)

    def e_Name(self, node, env):
        if node.id in env:
            return env[node.id]
        if node.id in self.facts:
            return self.facts[node.id]
        if node.id in ("None", "True", "False"):
            return V("scalar")
        if node.id in ("len", "range", "float", "int", "abs", "min", "max", "tuple", "list"):
            return V("module", value="builtins." + node.id)
        raise NotBlockwise(f"line {node.lineno}: {node.id} is not a local, a constant or a known function")

    def e_List(self, node, env):
        elem = None
        for e in node.elts:
            elem = _join(elem, self.expr(e, env))
        return V("list", elem=elem)

    e_Tuple = e_List

    def e_UnaryOp(self, node, env):
        v = self.expr(node.operand, env)
        if v.kind in ("row", "col", "trim", "scalar", "const"):
            return V(v.kind, ndim=v.ndim) if v.kind not in ("scalar", "const") else V("scalar")
        raise NotBlockwise(f"line {node.lineno}: unary operation on {v.kind}")

    def _arith(self, a, b, node):
        kinds = {a.kind, b.kind}
        if kinds <= {"scalar", "const"}:
            if a.kind == b.kind == "scalar" and isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
                return V("scalar")
            return V("scalar")
        if kinds == {"len", "scalar"} and isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv) \
                and a.kind == "len" and isinstance(node.right, ast.Name) and isinstance(b.value, int) \
                and not isinstance(b.value, bool) and b.value > 0:
            if self.result.block_name and self.result.block_name != node.right.id:
                raise NotBlockwise(f"line {node.lineno}: two block sizes")
            self.result.block_name, self.result.block = node.right.id, b.value
            return V("nblk")
        if kinds == {"nblk", "scalar"} and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return V("nblk_rows")
        for k in ("row", "trim", "col"):
            if k in kinds:
                other = b if a.kind == k else a
                if other.kind in ("scalar",) or (other.kind == k and other.ndim == (a if a.kind == k else b).ndim):
                    return V(k, ndim=max(a.ndim, b.ndim))
        raise NotBlockwise(f"line {node.lineno}: operation between {a.kind} and {b.kind}")

    def e_BinOp(self, node, env):
        return self._arith(self.expr(node.left, env), self.expr(node.right, env), node)

    def e_Compare(self, node, env):
        v = self.expr(node.left, env)
        for c in node.comparators:
            v = self._arith(v, self.expr(c, env), node)
        return v

    def e_Attribute(self, node, env):
        base = self.expr(node.value, env)
        if base.kind == "module":
            return V("module", value=f"{base.value}.{node.attr}")
        if base.kind == "row" and node.attr == "shape":
            return V("shape", ndim=base.ndim)
        if base.kind in ("row", "col", "trim", "list", "frame", "column"):
            return V("method", value=node.attr, elem=base)
        raise NotBlockwise(f"line {node.lineno}: attribute {node.attr} of {base.kind}")

    def e_Subscript(self, node, env):
        base = self.expr(node.value, env)
        key = node.slice
        if base.kind == "frame":
            k = self.expr(key, env)
            if k.kind != "const" or not k.choices:
                self.result.columns_known = False
            else:
                self.result.columns.update(k.choices)
            return V("column")
        if base.kind == "shape":
            k = self.expr(key, env)
            if k.kind == "scalar" and isinstance(k.value, int) and (k.value >= 1 or k.value < 0 and base.ndim + k.value >= 1):
                return V("scalar")
            raise NotBlockwise(f"line {node.lineno}: the number of blocks (shape[0]) is used")
        if base.kind == "col":
            if isinstance(key, ast.Slice) and key.lower is None and key.step is None and key.upper is not None \
                    and self.expr(key.upper, env).kind == "nblk_rows":
                return V("trim", ndim=1)
            raise NotBlockwise(f"line {node.lineno}: a column is indexed other than [: blocks * B]")
        if base.kind == "row":
            parts = key.elts if isinstance(key, ast.Tuple) else [key]
            first = parts[0]
            if not (isinstance(first, ast.Slice) and first.lower is None and first.upper is None and first.step is None):
                raise NotBlockwise(f"line {node.lineno}: indexing across blocks")
            ndim = base.ndim
            for p in parts[1:]:
                if isinstance(p, ast.Slice):
                    for b in (p.lower, p.upper, p.step):
                        if b is not None and self.expr(b, env).kind != "scalar":
                            raise NotBlockwise(f"line {node.lineno}: slice bound not constant")
                elif isinstance(p, ast.Constant) and p.value is None:
                    ndim += 1
                elif self.expr(p, env).kind == "scalar":
                    ndim -= 1
                else:
                    raise NotBlockwise(f"line {node.lineno}: index not understood")
            return V("row", ndim=ndim)
        if base.kind == "const":
            return CONST
        raise NotBlockwise(f"line {node.lineno}: indexing a {base.kind}")

    def _is_float64(self, node, env):
        if isinstance(node, ast.Constant):
            return node.value in FLOAT64
        if isinstance(node, ast.Name) and node.id == "float" and node.id not in env:
            return True
        v = self.expr(node, env) if isinstance(node, ast.Attribute) else None
        return v is not None and v.kind == "module" and v.value.split(".")[-1] == "float64" \
            and v.value.split(".")[0] == "numpy"

    def _axis(self, node, env, ndim):
        axis = [k.value for k in node.keywords if k.arg == "axis"]
        if not axis:
            return None
        v = self.expr(axis[0], env)
        if v.kind == "scalar" and isinstance(v.value, int) and (v.value >= 1 or (v.value < 0 and ndim + v.value >= 1)):
            return v.value
        raise NotBlockwise(f"line {node.lineno}: a reduction along the blocks' axis")

    def e_Call(self, node, env):
        f = self.expr(node.func, env)
        if f.kind == "func":
            return self.call_function(f, node, env)
        if f.kind == "method":
            return self.call_method(f, node, env)
        if f.kind == "module":
            return self.call_library(f.value, node, env)
        raise NotBlockwise(f"line {node.lineno}: call of a {f.kind}")

    def call_method(self, f, node, env):
        base, name = f.elem, f.value
        if base.kind == "column" and name == "to_numpy":
            dtype = [k.value for k in node.keywords if k.arg == "dtype"] + node.args[:1]
            if dtype and self._is_float64(dtype[0], env):
                return V("col", ndim=1)
            raise NotBlockwise(f"line {node.lineno}: a column is not converted to float64")
        if base.kind == "trim" and name == "reshape" and len(node.args) == 2 and not node.keywords:
            a, b = (self.expr(x, env) for x in node.args)
            if (a.kind == "nblk" or (a.kind == "scalar" and a.value == -1)) and b.kind == "scalar" \
                    and b.value == self.result.block:
                return V("row", ndim=2)
            raise NotBlockwise(f"line {node.lineno}: reshape other than (blocks, B)")
        if base.kind == "row":
            if name in REDUCTIONS:
                if self._axis(node, env, base.ndim) is None or node.args:
                    raise NotBlockwise(f"line {node.lineno}: .{name}() over all blocks")
                return V("row", ndim=base.ndim - 1)
            if name in ("copy", "astype") and len(node.args) <= 1:
                return V("row", ndim=base.ndim)
        if base.kind == "list" and name == "append" and len(node.args) == 1:
            return V("append", elem=self.expr(node.args[0], env))
        raise NotBlockwise(f"line {node.lineno}: method {name} of a {base.kind}")

    def call_library(self, qualified, node, env):
        top, _, name = qualified.partition(".")
        if top == "builtins":
            args = [self.expr(a, env) for a in node.args]
            if name == "len" and len(args) == 1 and args[0].kind == "frame":
                return V("len")
            if all(a.kind in ("scalar", "const") for a in args) and name in ("len", "range", "float", "int", "abs", "min", "max"):
                return V("scalar")
            raise NotBlockwise(f"line {node.lineno}: {name}() of data")
        if top != "numpy" or "." in name:
            raise NotBlockwise(f"line {node.lineno}: call of {qualified} (effects unknown)")
        args = [self.expr(a, env) for a in node.args]
        if name in ELEMENTWISE:
            rows = [a for a in args if a.kind != "scalar"]
            if rows and all(a.kind == "row" and a.ndim == rows[0].ndim for a in rows):
                return V("row", ndim=rows[0].ndim)
            if not rows:
                return V("scalar")
        if name in REDUCTIONS and len(args) == 1 and args[0].kind == "row":
            if self._axis(node, env, args[0].ndim) is not None:
                return V("row", ndim=args[0].ndim - 1)
        if name in ("column_stack", "hstack", "concatenate", "stack") and len(args) == 1 and args[0].kind == "list" \
                and args[0].elem is not None and args[0].elem.kind == "row":
            nd = args[0].elem.ndim
            axis = [k.value for k in node.keywords if k.arg == "axis"]
            if name == "column_stack" and nd in (1, 2):
                return V("row", ndim=2)
            if name == "hstack" and nd >= 2:
                return V("row", ndim=nd)
            if name in ("concatenate", "stack") and axis and self._axis(node, env, nd + (name == "stack")) is not None:
                return V("row", ndim=nd + (name == "stack"))
        raise NotBlockwise(f"line {node.lineno}: numpy.{name} on these arguments")

    def call_function(self, f, node, env):
        fn = f.value
        if self.depth > 8:
            raise NotBlockwise(f"line {node.lineno}: calls nested too deep")
        a = fn.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults or node.keywords \
                or len(node.args) != len(a.args) or fn.decorator_list:
            raise NotBlockwise(f"line {node.lineno}: call of {fn.name} with arguments not understood")
        inner = dict(f.closure or {})
        for param, arg in zip(a.args, node.args):
            inner[param.arg] = self.expr(arg, env)
        self.depth += 1
        try:
            return self.body(fn, inner)
        finally:
            self.depth -= 1

    # --- statements -----------------------------------------------------------------------
    def body(self, fn, env):
        for n in ast.walk(fn):
            if isinstance(n, (ast.Global, ast.Nonlocal)):
                raise NotBlockwise(f"{fn.name}: global/nonlocal {', '.join(n.names)}")
        returns = []
        for _ in range(2):  # twice, so that values flowing round a loop are seen
            returns = []
            self.block(fn.body, env, returns)
        if not returns:
            raise NotBlockwise(f"{fn.name} returns nothing")
        out = None
        for r in returns:
            out = _join(out, r)
        return out

    def block(self, statements, env, returns):
        for st in statements:
            self.statement(st, env, returns)

    def assign(self, target, value, env):
        if isinstance(target, ast.Name):
            env[target.id] = _join(env.get(target.id), value) if target.id in env and env[target.id].kind == "list" \
                else value
        else:
            raise NotBlockwise(f"line {target.lineno}: assignment to {type(target).__name__}")

    def statement(self, st, env, returns):
        if isinstance(st, ast.Expr):
            if isinstance(st.value, ast.Constant):
                return
            v = self.expr(st.value, env)
            if v.kind == "append" and isinstance(st.value.func.value, ast.Name):
                name = st.value.func.value.id
                env[name] = V("list", elem=_join(env[name].elem, v.elem))
                return
            raise NotBlockwise(f"line {st.lineno}: an expression statement (effects unknown)")
        if isinstance(st, ast.Assign):
            if len(st.targets) != 1:
                raise NotBlockwise(f"line {st.lineno}: chained assignment")
            t = st.targets[0]
            if isinstance(t, ast.Tuple) and isinstance(st.value, ast.Tuple) and len(t.elts) == len(st.value.elts):
                values = [self.expr(v, env) for v in st.value.elts]
                for target, value in zip(t.elts, values):
                    self.assign(target, value, env)
                return
            self.assign(t, self.expr(st.value, env), env)
            return
        if isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name):
            env[st.target.id] = self._arith(self.expr(st.target, env), self.expr(st.value, env), st)
            return
        if isinstance(st, ast.Return):
            if st.value is None:
                raise NotBlockwise(f"line {st.lineno}: returns None")
            returns.append(self.expr(st.value, env))
            return
        if isinstance(st, ast.FunctionDef):
            env[st.name] = V("func", value=st, closure=env)
            return
        if isinstance(st, ast.For) and isinstance(st.target, ast.Name) and not st.orelse:
            it = self.expr(st.iter, env)
            if it.kind == "const" and it.choices:
                env[st.target.id] = V("const", choices=it.choices)
            elif it.kind == "scalar":
                env[st.target.id] = V("scalar")
            else:
                raise NotBlockwise(f"line {st.lineno}: a loop over data")
            for _ in range(2):
                self.block(st.body, env, returns)
            return
        if isinstance(st, ast.Pass):
            return
        raise NotBlockwise(f"line {st.lineno}: {type(st).__name__} statement")


def analyse(module, function_name):
    """Result for a block-wise module-level function, or raises NotBlockwise(reason)."""
    interp = _Interpreter(module)
    f = interp.facts.get(function_name)
    if f is None or f.kind != "func":
        raise NotBlockwise(f"{function_name} is not a module-level function")
    fn = f.value
    if len(fn.args.args) != 1 or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.decorator_list:
        raise NotBlockwise(f"{function_name} does not take the table as its only argument")
    out = interp.body(fn, {fn.args.args[0].arg: V("frame")})
    if out.kind != "row" or out.ndim < 1:
        raise NotBlockwise(f"{function_name} does not return one row per block ({out.kind})")
    if not interp.result.block_name:
        raise NotBlockwise(f"{function_name} does not split the table into blocks of a constant size")
    return interp.result

"""Compile a checked expression tree (see `rules.expression`) into a vector function.

The tree has already been restricted to the whitelist, so this is a plain walk that maps each
node to numpy: `and` -> `&`, comparisons -> element-wise, `in [...]` on a category -> `isin`
on its codes. Comparisons with a missing value (NaN) are false.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable

import numpy as np

from rules.expression import Expression, analyser
from rules.vocabulaire import VARIABLES

Vector = Callable[["object"], np.ndarray]  # Contexte -> array or scalar

_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def compiler_expression(texte: str, attendu: str) -> Callable[[object], np.ndarray]:
    """A function of a Contexte giving a float (attendu='nombre') or bool vector of its length."""
    checked: Expression = analyser(texte, attendu)
    fn = _compile(checked.arbre)
    dtype = np.float64 if attendu == "nombre" else bool

    def evaluate(ctx) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = fn(ctx)
        return np.broadcast_to(np.asarray(value, dtype=dtype), (ctx.n,))

    return evaluate


def _compile(node: ast.AST) -> Vector:
    if isinstance(node, ast.Name):
        if node.id in ("vrai", "faux"):
            truth = node.id == "vrai"
            return lambda ctx: truth
        name = node.id
        return lambda ctx: ctx[name]
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda ctx: value
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return lambda ctx: functools.reduce(combine, [np.asarray(p(ctx), dtype=bool) for p in parts])
    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ctx: np.logical_not(inner(ctx))
        if isinstance(node.op, ast.USub):
            return lambda ctx: np.negative(np.asarray(inner(ctx), dtype=np.float64))
        return lambda ctx: np.asarray(inner(ctx), dtype=np.float64)
    if isinstance(node, ast.BinOp):
        left, right, op = _compile(node.left), _compile(node.right), _BINARY[type(node.op)]
        return lambda ctx: op(np.asarray(left(ctx), dtype=np.float64), np.asarray(right(ctx), dtype=np.float64))
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.IfExp):
        test, yes, no = _compile(node.test), _compile(node.body), _compile(node.orelse)
        return lambda ctx: np.where(test(ctx), yes(ctx), no(ctx)).astype(np.float64)
    if isinstance(node, ast.Call):
        args = [_compile(a) for a in node.args]
        name = node.func.id  # type: ignore[attr-defined]
        if name == "si":
            test, yes, no = args
            return lambda ctx: np.where(test(ctx), yes(ctx), no(ctx)).astype(np.float64)
        if name == "abs":
            return lambda ctx: np.abs(np.asarray(args[0](ctx), dtype=np.float64))
        reduce = np.minimum.reduce if name == "min" else np.maximum.reduce
        return lambda ctx: reduce(np.broadcast_arrays(*[np.asarray(a(ctx), dtype=np.float64) for a in args]))
    raise AssertionError(f"node outside the whitelist: {type(node).__name__}")  # rules.expression stops it


def _compile_compare(node: ast.Compare) -> Vector:
    steps = []
    left = node.left
    for op, right in zip(node.ops, node.comparators, strict=True):
        steps.append(_compile_pair(left, op, right))
        left = right
    if len(steps) == 1:
        return steps[0]
    return lambda ctx: functools.reduce(np.logical_and, [np.asarray(s(ctx), dtype=bool) for s in steps])


def _is_category(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in VARIABLES and VARIABLES[node.id].type == "categorie"


def _compile_pair(left: ast.AST, op: ast.cmpop, right: ast.AST) -> Vector:
    if isinstance(op, ast.In | ast.NotIn):
        name = left.id  # type: ignore[attr-defined]
        values = [e.value for e in right.elts]  # type: ignore[attr-defined]
        negate = isinstance(op, ast.NotIn)

        def member(ctx):
            codes = [ctx.categories(name).index(v) for v in values]
            found = np.isin(ctx[name], codes)
            return ~found if negate else found

        return member
    if _is_category(left) or _is_category(right):
        variable, constant = (left, right) if _is_category(left) else (right, left)
        name, value = variable.id, constant.value  # type: ignore[attr-defined]
        equal = isinstance(op, ast.Eq)

        def category(ctx):
            same = ctx[name] == ctx.categories(name).index(value)
            return same if equal else ~same

        return category
    a, b, fn = _compile(left), _compile(right), _COMPARE[type(op)]

    def compare(ctx):
        x, y = np.asarray(a(ctx), dtype=np.float64), np.asarray(b(ctx), dtype=np.float64)
        # A missing value makes every comparison false, != included (numpy says NaN != 1).
        return fn(x, y) & ~np.isnan(x) & ~np.isnan(y)

    return compare

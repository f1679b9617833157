"""How diagram code is compiled so that it runs under the script budget.

RestrictedPython's transformer does its checks first (no ``_`` names, guarded attribute,
item and iteration access); then this policy routes every place where one step can take
long or grow big through the evaluation's meter, ``_meter_`` (``engine.script_calls``):

========================  =============================================
``a * b``, ``**``, ``<<``  ``_meter_.mul(a, b)`` … (sizes checked first)
``a + b``, ``a % b``       ``_meter_.add`` / ``_meter_.mod``
``x in y``                 ``_meter_.contains(x, y)``
``*x`` / ``**x``           ``*_meter_.spread(x)``
``f"{x:spec}"``            ``_meter_.formatted(x, conversion, spec)``
``sum(x)``, ``str(x)`` …   ``_meter_.sum(x)`` … (calls of the builtin by name)
``while`` / ``def`` /      a ``_meter_.tick()`` at the top of every round
``lambda``                 or call
========================  =============================================

It also refuses, at deploy, what would let code slip past the meter: slice assignment
(which can grow a list in place) and binding a name of a metered builtin.
"""
from __future__ import annotations

import ast

from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.script_calls import CONSUMING_BUILTINS

METER = "_meter_"
_BINARY = {ast.Mult: "mul", ast.Pow: "pow", ast.LShift: "lshift", ast.Add: "add", ast.Mod: "mod"}


def _meter_call(method: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Attribute(value=ast.Name(id=METER, ctx=ast.Load()), attr=method, ctx=ast.Load()),
                    args=args, keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, like))


def _tick(like: ast.AST) -> ast.Expr:
    return ast.fix_missing_locations(ast.copy_location(ast.Expr(value=_meter_call("tick", [], like)), like))


class BudgetPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the metering rewrites."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        method = _BINARY.get(type(node.op))
        return _meter_call(method, [node.left, node.right], node) if method else node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        node = super().visit_Compare(node)
        if not any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            return node
        if len(node.ops) != 1:
            self.error(node, "Chained comparisons with 'in' are not allowed in diagram scripts; split them.")
            return node
        check = _meter_call("contains", [node.left, node.comparators[0]], node)
        if isinstance(node.ops[0], ast.NotIn):
            return ast.fix_missing_locations(ast.copy_location(ast.UnaryOp(op=ast.Not(), operand=check), node))
        return check

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node = super().visit_Starred(node)
        node.value = _meter_call("spread", [node.value], node)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        node = super().visit_Dict(node)
        node.values = [_meter_call("spread", [v], v) if k is None else v for k, v in zip(node.keys, node.values)]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        node = super().visit_keyword(node)
        if node.arg is None:  # f(**mapping)
            node.value = _meter_call("spread", [node.value], node.value)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant(value="")
        node.value = _meter_call("formatted", [node.value, ast.Constant(value=node.conversion), spec], node)
        node.conversion, node.format_spec = -1, None
        return ast.fix_missing_locations(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node = super().visit_Call(node)
        if isinstance(node.func, ast.Name) and node.func.id in CONSUMING_BUILTINS:
            node.func = ast.fix_missing_locations(ast.copy_location(
                ast.Attribute(value=ast.Name(id=METER, ctx=ast.Load()), attr=node.func.id, ctx=ast.Load()),
                node.func))
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, _tick(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        self._refuse_builtin_name(node, node.name)
        node.body.insert(0, _tick(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        # lambda: body  ->  lambda: (_meter_.tick(), body)[1]
        pair = ast.Tuple(elts=[_meter_call("tick", [], node), node.body], ctx=ast.Load())
        node.body = ast.fix_missing_locations(
            ast.copy_location(ast.Subscript(value=pair, slice=ast.Constant(value=1), ctx=ast.Load()), node))
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
            self.error(node, "Slice assignment is not allowed in diagram scripts; build a new list instead.")
        return super().visit_Subscript(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._refuse_builtin_name(node, node.id)
        return super().visit_Name(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        self._refuse_builtin_name(node, node.arg)
        return super().visit_arg(node)

    def _refuse_builtin_name(self, node: ast.AST, name: str) -> None:
        if name in CONSUMING_BUILTINS:
            self.error(node, f"'{name}' is a builtin; a diagram script may not use it as a name.")

"""Type constraints (``type = list(string)``) and converting values to them, as Terraform does.

A variable's value is converted to its declared type wherever it comes from: ``--var enabled=false``
for ``type = bool`` is ``false``, a number given for a string is its decimal text, a map given for
an ``object({...})`` keeps only the declared attributes and fills ``optional(T, default)`` ones.
Unknown values stay unknown.
"""

from __future__ import annotations

from typing import Any

from .syntax import Expr, JsonExpr, Source, is_tree, token_text, trees
from .values import Fail, TfSet, Unknown, number, to_bool, to_string

PRIMITIVE = ("string", "number", "bool")
ANY = "any"


def parse_type(expr: Expr | JsonExpr | None):
    """A type constraint: a primitive name, ``"any"``, or a tuple such as ``("list", T)``."""
    if expr is None:
        return ANY
    if isinstance(expr, JsonExpr):
        if not isinstance(expr.value, str):
            return ANY
        from .hcl import parse_expression

        expr = parse_expression(expr.value, expr.source.path, expr.line)
        if expr is None:
            raise Fail("not a type constraint")
    return _type(expr.node, expr.source)


def _type(node, source=None):
    while is_tree(node) and node.data == "expr_term" and len(trees(node)) == 1 and node.children and \
            is_tree(node.children[0]):
        node = trees(node)[0]
    if node.data == "identifier":
        name = token_text(node)
        if name in PRIMITIVE or name == ANY:
            return name
        raise Fail(f"unknown type {name!r}")
    if node.data == "string":  # legacy quoted types
        text = "".join(str(p) for part in trees(node) for p in part.children if not is_tree(p))
        return {"list": ("list", ANY), "map": ("map", ANY)}.get(text, text if text in PRIMITIVE else ANY)
    if node.data == "function_call":
        name = token_text(next(p for p in trees(node) if p.data == "identifier"))
        arguments = next((p for p in trees(node) if p.data == "arguments"), None)
        args = trees(arguments) if arguments is not None else []
        if name in ("list", "set", "map") and len(args) == 1:
            return (name, _type(args[0], source))
        if name == "tuple" and len(args) == 1:
            return ("tuple", [_type(item, source) for item in trees(_unwrap(args[0]))])
        if name == "object" and len(args) == 1:
            return ("object", _attributes(_unwrap(args[0]), source or _SOURCE))
    raise Fail("not a type constraint")


def _unwrap(node):
    while node.data == "expr_term" and len(trees(node)) == 1:
        node = trees(node)[0]
    return node


def _attributes(node, source) -> dict[str, tuple[Any, bool, Any]]:
    from .evaluate import Evaluator, Scope, evaluate

    out = {}
    evaluator = Evaluator(Scope(None), source)
    for element in trees(node):
        key_node, value_node = trees(element)
        name = evaluator._object_key(key_node)
        if not isinstance(name, str):
            raise Fail("an object type's attribute names must be known")
        value_node = _unwrap(value_node)
        if value_node.data == "function_call" and token_text(
                next(p for p in trees(value_node) if p.data == "identifier")) == "optional":
            args = trees(next(p for p in trees(value_node) if p.data == "arguments"))
            default = None
            if len(args) > 1:
                default = evaluate(Expr(args[1], source), Scope(None))
            out[name] = (_type(args[0], source), True, default)
        else:
            out[name] = (_type(value_node, source), False, None)
    return out


_SOURCE = Source("<type>", "")


def convert(value, constraint):
    """``value`` converted to ``constraint``; raises Fail with Terraform's reason when it cannot be."""
    if isinstance(value, Unknown) or value is None or constraint == ANY:
        return value
    if constraint == "string":
        if isinstance(value, (list, dict)):
            raise Fail("string required")
        return to_string(value)
    if constraint == "number":
        return number(value)
    if constraint == "bool":
        return to_bool(value)
    kind, inner = constraint
    if kind in ("list", "set"):
        if not isinstance(value, list):
            raise Fail(f"{kind} of {describe(inner)} required")
        items = [convert(item, inner) for item in value]
        if kind == "set":
            from .functions import to_set

            return to_set(items)
        return items
    if kind == "map":
        if not isinstance(value, dict):
            raise Fail(f"map of {describe(inner)} required")
        return {key: convert(item, inner) for key, item in value.items()}
    if kind == "tuple":
        if not isinstance(value, list) or isinstance(value, TfSet) or len(value) != len(inner):
            raise Fail(f"tuple of {len(inner)} elements required")
        return [convert(item, element) for item, element in zip(value, inner)]
    if not isinstance(value, dict):
        raise Fail("object required")
    out = {}
    for name, (attribute, optional, default) in inner.items():
        if name in value and value[name] is not None:
            out[name] = convert(value[name], attribute)
        elif optional:
            out[name] = convert(default, attribute)
        elif name in value:
            out[name] = None
        else:
            raise Fail(f'attribute "{name}" is required')
    return out


def describe(constraint) -> str:
    if isinstance(constraint, str):
        return constraint
    kind, inner = constraint
    if kind in ("list", "set", "map"):
        return f"{kind}({describe(inner)})"
    return kind


def is_primitive(constraint, declared: bool) -> bool:
    """Whether ``--var``/``TF_VAR_`` text is taken as it is (else it is parsed as an HCL expression)."""
    return not declared or constraint in PRIMITIVE

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


# --- the type of a value, and the common type of several (cty's unification) -----------------------


def type_of(value):
    """The type of a known value, as far as its Python form tells: lists are tuples, dicts objects."""
    if value is None or isinstance(value, Unknown):
        return ANY  # null and unknown values convert to any type
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, TfSet):
        try:
            return ("set", unify([type_of(item) for item in value]))
        except Fail:
            return ANY
    if isinstance(value, list):
        return ("tuple", [type_of(item) for item in value])
    if isinstance(value, dict):
        return ("object", {key: (type_of(item), False, None) for key, item in value.items()})
    return ANY


def unify(types: list):
    """The type all of ``types`` convert to, as Terraform finds it for a list, a conditional, ``coalesce``.

    Primitives unify to their common type, ``string`` when they differ (a number and a bool have
    none); tuples of one length element-wise, else to a list of their elements' common type;
    objects with the same attributes attribute-wise, else to a map. Raises Fail when there is none.
    """
    known = [t for t in types if t != ANY]
    if not known:
        return ANY
    first = known[0]
    if all(t == first for t in known):
        return first
    kinds = {t if isinstance(t, str) else t[0] for t in known}
    if kinds <= set(PRIMITIVE):
        if "string" in kinds:
            return "string"
        raise Fail(f"{' and '.join(sorted(kinds))} have no common type")
    if kinds <= {"list", "tuple"}:
        if kinds == {"tuple"} and len({len(t[1]) for t in known}) == 1:
            try:
                return ("tuple", [unify([t[1][i] for t in known]) for i in range(len(first[1]))])
            except Fail:
                pass
        return ("list", unify([e for t in known for e in (t[1] if t[0] == "tuple" else [t[1]])]))
    if kinds <= {"map", "object"}:
        if kinds == {"object"} and all(set(t[1]) == set(first[1]) for t in known):
            try:
                return ("object", {name: (unify([t[1][name][0] for t in known]), False, None) for name in first[1]})
            except Fail:
                pass
        return ("map", unify([a for t in known for a in ([v[0] for v in t[1].values()] if t[0] == "object"
                                                           else [t[1]])]))
    if kinds == {"set"}:
        return ("set", unify([t[1] for t in known]))
    raise Fail("the values have no common type")


def unified(values: list) -> list:
    """``values`` converted to their common type (raises Fail when they have none)."""
    common = unify([type_of(value) for value in values])
    return [convert(value, common) for value in values]


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
        if inner == ANY:  # list(any): the elements take their common type
            items = unified(items)
        if kind == "set":
            from .functions import to_set

            return to_set(items)
        return items
    if kind == "map":
        if not isinstance(value, dict):
            raise Fail(f"map of {describe(inner)} required")
        items = {key: convert(item, inner) for key, item in value.items()}
        if inner == ANY:  # map(any): the elements take their common type
            items = dict(zip(items, unified(list(items.values()))))
        return items
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

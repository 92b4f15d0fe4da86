"""Configuration as blocks, bodies and expressions, whether it was written in HCL or in JSON.

An HCL expression is a node of python-hcl2's lark tree (:class:`Expr`); a JSON expression is the
decoded JSON value with the rules of Terraform's JSON syntax (:class:`JsonExpr`). Both know their
file, line and text, which is how an unknown value names the expression it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: How long an expression's text may be when it names an unknown value.
MAX_EXPRESSION_TEXT = 200


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """The text of one file (or of a template fragment), for expression text and locations."""

    path: str
    text: str


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """An HCL expression: a lark tree node and the file it is in."""

    node: Any
    source: Source
    line_offset: int = 0  # a fragment of a heredoc starts this many lines into its file

    @property
    def text(self) -> str:
        return node_text(self.node, self.source)

    @property
    def line(self) -> int:
        return getattr(getattr(self.node, "meta", None), "line", 1) + self.line_offset


@dataclass(frozen=True, slots=True, eq=False)
class JsonExpr:
    """An expression in a ``.tf.json`` file: a decoded JSON value (see :mod:`.json_syntax`).

    ``literal`` values are never templates (a variable's ``default``, a module's ``source``).
    """

    value: Any
    source: Source
    line: int
    start: int
    end: int
    literal: bool = False

    @property
    def text(self) -> str:
        return short_text(self.source.text[self.start:self.end])


@dataclass(slots=True, eq=False)
class Body:
    attributes: dict[str, Expr | JsonExpr]
    blocks: list[Block]


@dataclass(slots=True, eq=False)
class Block:
    """One block: ``resource "t" "n" { ... }``. ``files`` lists every file that contributed (overrides)."""

    type: str
    labels: tuple[str, ...]
    body: Body
    source: Source
    line: int
    end_line: int
    files: tuple[str, ...] = ()
    comments: list[tuple[int, str]] = field(default_factory=list)  # ("//" keys of a .tf.json block)

    def __post_init__(self) -> None:
        if not self.files:
            self.files = (self.source.path,)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, *self.labels)

    @property
    def address(self) -> str:
        """The block's address in its module: ``aws_iam_policy.p``, ``data.t.n``, ``module.m``, ``var.v``."""
        if self.type == "resource":
            return ".".join(self.labels)
        if self.type == "data":
            return "data." + ".".join(self.labels)
        if self.type == "module":
            return "module." + self.labels[0]
        if self.type == "variable":
            return "var." + self.labels[0]
        return ".".join(self.key)


@dataclass(slots=True, eq=False)
class Local:
    """One local value, from a ``locals`` block."""

    name: str
    expr: Expr | JsonExpr
    block: Block

    @property
    def files(self) -> tuple[str, ...]:
        return (self.expr.source.path,)


def literal_string(expr: Expr | JsonExpr | None) -> str | None:
    """The value of an argument written as a plain string (``source = "./m"``), else None."""
    if expr is None:
        return None
    if isinstance(expr, JsonExpr):
        return expr.value if isinstance(expr.value, str) else None
    node = expr.node
    while is_tree(node) and node.data == "expr_term" and len(node.children) == 1 and is_tree(node.children[0]):
        node = node.children[0]
    if not is_tree(node) or node.data != "string":
        return None
    pieces = [piece for part in trees(node) for piece in part.children]
    if any(is_tree(piece) for piece in pieces):
        return None
    from hcl2.utils import process_escape_sequences

    return "".join(process_escape_sequences(str(piece)) for piece in pieces)


# --- the lark tree -----------------------------------------------------------------------


def is_tree(node) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def trees(node) -> list:
    return [c for c in node.children if is_tree(c) and c.data != "new_line_or_comment"]


def first(node, data: str):
    for child in node.children:
        if is_tree(child) and child.data == data:
            return child
    return None


def token_text(node) -> str:
    """The text of an identifier, keyword or literal_value node."""
    for child in node.children:
        if not is_tree(child):
            return str(child)
    return ""


def short_text(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXPRESSION_TEXT else text[:MAX_EXPRESSION_TEXT - 3] + "..."


def node_text(node, source: Source) -> str:
    meta = getattr(node, "meta", None)
    start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
    if start is None or end is None:
        return "<expression>"
    return short_text(source.text[start:end])


def has_token(node, kind: str) -> bool:
    return any(not is_tree(c) and c.type == kind for c in node.children)


def string_literal(node) -> str:
    """The value of a quoted string without interpolations (a block label)."""
    from hcl2.utils import process_escape_sequences

    text = []
    for part in trees(node):
        for piece in part.children:
            text.append(process_escape_sequences(str(piece)) if not is_tree(piece) else "")
    return "".join(text)


TRAVERSALS = frozenset({"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"})


def traversal(node) -> tuple[Any, list]:
    """Split ``a.b[0].c`` into its root (a name, or a node to evaluate) and its steps."""
    steps: list = []
    while True:
        kind = node.data
        if kind == "expr_term":
            children = trees(node)
            if node.children and is_tree(node.children[0]) and len(children) == 1:
                node = children[0]
                continue
            break
        if kind == "identifier":
            steps.reverse()
            return token_text(node), steps
        if kind in TRAVERSALS:
            base, step = trees(node)[:2]
            if kind in ("attr_splat_expr_term", "full_splat_expr_term"):
                steps.append(("splat", [step_of(s) for s in trees(step)]))
            else:
                steps.append(step_of(step))
            node = base
            continue
        break
    steps.reverse()
    return node, steps


def step_of(node) -> tuple[str, Any]:
    if node.data == "get_attr":
        return "attr", token_text(trees(node)[0])
    if node.data == "short_index":
        return "index", int(str(node.children[-1]).lstrip("."))
    return "index", trees(node)[0]  # braces_index


def is_bare_key(node) -> bool:
    """Whether an object key node is a bare name (``{ name = 1 }``, ``{ null = 1 }``), which is not a reference."""
    inner = trees(node)[0]
    if inner.data == "keyword":
        return True
    children = trees(inner) if inner.data == "expr_term" else []
    return bool(inner.data == "expr_term" and inner.children and is_tree(inner.children[0]) and children
                and children[0].data in ("identifier", "literal_value"))


def references(node) -> list[str]:
    """The ``references`` Terraform lists for an expression in a plan's ``configuration``.

    As ``terraform show -json`` lists them: each reference with its remaining traversal, then
    unwrapped one step at a time down to the referenced object, then (for an instance) the
    object without its key; repeated references repeated; for-expression names left out.
    """
    found: list[str] = []
    pending: list[tuple[Any, frozenset]] = [(node, frozenset())]
    while pending:
        node, bound = pending.pop()
        if not is_tree(node):
            continue
        if node.data in TRAVERSALS or node.data == "identifier":
            root, steps = traversal(node)
            if isinstance(root, str):
                if root not in bound:
                    found.extend(_reference_strings(root, steps))
            else:
                pending.append((root, bound))
            for kind, argument in reversed(steps):  # index expressions hold references of their own
                for sub in (argument if kind == "splat" else [(kind, argument)]):
                    if is_tree(sub[1]):
                        pending.append((sub[1], bound))
            continue
        if node.data == "object_elem_key" and is_bare_key(node):
            continue
        if node.data in ("for_tuple_expr", "for_object_expr"):
            parts = trees(node)
            intro = parts[0]
            names = frozenset(token_text(p) for p in trees(intro) if p.data == "identifier")
            pending.extend((part, bound | names) for part in reversed(parts[1:]))
            pending.append((trees(intro)[-1], bound))
            continue
        if node.data == "function_call":
            pending.extend((child, bound) for child in reversed(trees(node)) if child.data == "arguments")
            continue
        pending.extend((child, bound) for child in reversed(node.children))
    return found


_SIMPLE_ROOTS = frozenset({"var", "local", "path", "terraform", "count", "each"})


def _literal_step(step) -> str | None:
    kind, argument = step
    if kind == "attr":
        return "." + argument
    if kind == "index" and not is_tree(argument):
        return f"[{argument}]"
    if kind == "index" and is_tree(argument):
        literal = _literal_key(argument)
        if literal is not None:
            return literal
    return None


def _literal_key(node) -> str | None:
    while node.data == "expr_term" and len(trees(node)) == 1 and node.children and is_tree(node.children[0]):
        node = trees(node)[0]
    if node.data == "int_lit":
        return f"[{token_text(node)}]"
    if node.data == "string":
        pieces = [piece for part in trees(node) for piece in part.children]
        if all(not is_tree(piece) and piece.type == "STRING_CHARS" for piece in pieces):
            import json

            return "[" + json.dumps(string_literal(node)) + "]"
    return None


def _reference_strings(root: str, steps: list) -> list[str]:
    texts = []
    for step in steps:
        text = _literal_step(step)
        if text is None:
            break
        texts.append(text)
    if root == "self" or not texts:
        return []
    if root in _SIMPLE_ROOTS:
        size = 1
    elif root == "data":
        size = 2
    elif root == "module":
        size = 1
    else:
        size = 1
    if len(texts) < size:
        return []
    has_key = len(texts) > size and texts[size].startswith("[")
    subject_size = size + (1 if has_key and root not in _SIMPLE_ROOTS else 0)
    output = root == "module" and len(texts) > subject_size and texts[subject_size].startswith(".")
    if output:
        subject_size += 1
    out = [root + "".join(texts[:end]) for end in range(len(texts), subject_size, -1)]
    out.append(root + "".join(texts[:subject_size]))
    if output:
        out.append(root + "".join(texts[:subject_size - 1]))
    elif has_key and root not in _SIMPLE_ROOTS:
        out.append(root + "".join(texts[:size]))
    return out

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
    """Whether an object key node is a bare name (``{ name = 1 }``), which is not a reference."""
    inner = trees(node)[0]
    if inner.data == "keyword":
        return True
    children = trees(inner) if inner.data == "expr_term" else []
    return bool(inner.data == "expr_term" and inner.children and is_tree(inner.children[0]) and children
                and children[0].data == "identifier")


def references(node) -> list[str]:
    """Terraform-style references of an expression: ``data.t.n.json`` and ``data.t.n``, ``var.x``..."""
    found: list[str] = []
    pending = [node]
    while pending:
        node = pending.pop()
        if not is_tree(node):
            continue
        if node.data in TRAVERSALS or node.data == "identifier":
            root, steps = traversal(node)
            if isinstance(root, str):
                _add_reference(root, steps, found)
            else:
                pending.append(root)
            for kind, argument in steps:  # index expressions hold references of their own
                for sub in (argument if kind == "splat" else [(kind, argument)]):
                    if is_tree(sub[1]):
                        pending.append(sub[1])
            continue
        if node.data == "object_elem_key" and is_bare_key(node):
            continue
        if node.data == "function_call":
            pending.extend(reversed([c for c in trees(node) if c.data == "arguments"]))
            continue
        if node.data in ("for_intro", "for_tuple_expr", "for_object_expr"):
            pending.extend(reversed(_for_parts(node)))
            continue
        pending.extend(reversed(node.children))
    return found


def _for_parts(node) -> list:
    """The parts of a for expression that may reference something (not its iterator names)."""
    return [child for child in trees(node) if child.data != "identifier"]


def _add_reference(root: str, steps: list, found: list[str]) -> None:
    names = [root]
    for kind, argument in steps:
        if kind != "attr":
            break
        names.append(argument)
    size = 3 if root == "data" else 2
    for reference in (".".join(names), ".".join(names[:size])):
        if "." in reference and reference not in found:
            found.append(reference)

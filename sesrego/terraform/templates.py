"""String templates: ``${...}`` interpolations and ``%{if}``/``%{for}`` directives.

Templates come from quoted strings (already parsed by the HCL grammar), heredocs, ``.tf.json``
strings and ``templatefile()`` files (parsed here from text). Either way they become a small tree
of :class:`Literal`, :class:`Interpolation`, :class:`If` and :class:`For` nodes, rendered by
:func:`render`. A template whose only part is one interpolation keeps its value's type, as in
Terraform. An unknown interpolation keeps the known text around it (a :class:`~.values.Partial`);
an unknown condition or collection makes the whole result unknown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from .hcl import parse_expression
from .syntax import Expr, is_tree, token_text, trees
from .values import Fail, Invalid, Partial, Unknown, collection_items, to_string


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


@dataclass(frozen=True, slots=True)
class Interpolation:
    expr: Expr


@dataclass(frozen=True, slots=True)
class If:
    condition: Expr
    then: tuple
    otherwise: tuple


@dataclass(frozen=True, slots=True)
class For:
    key: str | None
    value: str
    collection: Expr
    body: tuple


# A flat item before nesting: ("text", str) | ("interp", Expr) | (directive, ...), each with strip flags.


def _nest(items: list, where: str, per_line: bool) -> tuple:
    """Apply strip markers, then nest the flat items into a tree of template nodes."""
    items = _strip(items, per_line)
    stack: list[tuple[str, list, object]] = [("root", [], None)]
    for item in items:
        kind = item[0]
        current = stack[-1][1]
        if kind == "text":
            if item[1]:
                current.append(Literal(item[1]))
        elif kind == "interp":
            current.append(Interpolation(item[1]))
        elif kind in ("if", "for"):
            stack.append((kind, [], item))
        elif kind == "else":
            if stack[-1][0] != "if":
                raise Fail(f"%{{else}} without %{{if}} in {where}")
            stack[-1] = ("else", [], (stack[-1][2], tuple(stack[-1][1])))
        elif kind in ("endif", "endfor"):
            opening, nodes, start = stack.pop() if len(stack) > 1 else (None, None, None)
            if kind == "endif" and opening == "if":
                node = If(start[1], tuple(nodes), ())
            elif kind == "endif" and opening == "else":
                node = If(start[0][1], start[1], tuple(nodes))
            elif kind == "endfor" and opening == "for":
                node = For(start[1], start[2], start[3], tuple(nodes))
            else:
                raise Fail(f"%{{{kind}}} without its opening directive in {where}")
            stack[-1][1].append(node)
    if len(stack) != 1:
        raise Fail(f"an unclosed %{{{stack[-1][0]}}} in {where}")
    return tuple(stack[0][1])


def _strip(items: list, per_line: bool) -> list:
    """Apply ``~`` strip markers to the text beside them.

    HCL reads the text of a heredoc or template file as one token per line, and a marker strips
    whitespace from the one token beside it: ``~}`` up to the end of its line (the newline
    included), ``${~`` back to the start of its line (or the end of the line before, when it
    starts a line). A quoted string's text is one token.
    """
    out = [list(item) for item in items]
    for i, item in enumerate(out):
        if item[0] == "text":
            continue
        strip_before, strip_after = item[-2], item[-1]
        if strip_before and i > 0 and out[i - 1][0] == "text":
            text = out[i - 1][1]
            start = (text.rfind("\n", 0, len(text) - 1) + 1) if per_line else 0
            out[i - 1][1] = text[:start] + text[start:].rstrip(_SPACE)
        if strip_after and i + 1 < len(out) and out[i + 1][0] == "text":
            text = out[i + 1][1]
            end = (text.find("\n") + 1 or len(text)) if per_line else len(text)
            out[i + 1][1] = text[:end].lstrip(_SPACE) + text[end:]
    return [tuple(item[:2]) if item[0] in ("text", "interp") else tuple(item[:-2]) for item in out]


_SPACE = " \t\r\n\v\f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
         "\u2028\u2029\u202f\u205f\u3000"  # what Go's unicode.IsSpace calls space


# --- from text (heredocs, JSON strings, template files) -------------------------------------------


def closing_brace(text: str, start: int) -> int:
    """The index of the ``}`` closing a ``${``/``%{`` whose body starts at ``start``, or -1."""
    depth, i, quote = 0, start, False
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == '"':
                quote = False
        elif char == '"':
            quote = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


_DIRECTIVE = re.compile(r"^(?:(if)\s+(.+)|(else)|(endif)|(for)\s+([^\W\d][\w-]*)(?:\s*,\s*([^\W\d][\w-]*))?"
                        r"\s+in\s+(.+)|(endfor))$", re.S)


@functools.lru_cache(maxsize=1024)
def parse_text(text: str, path: str, line: int = 1) -> tuple:
    """The template in ``text``; raises Fail when it is malformed (Terraform would reject it)."""
    items: list = []
    literal: list[str] = []
    i = 0
    while True:
        j = _next_sequence(text, i)
        if j < 0:
            literal.append(text[i:])
            break
        literal.append(text[i:j])
        if text.startswith(("$${", "%%{"), j):
            literal.append(text[j + 1:j + 3])
            i = j + 3
            continue
        end = closing_brace(text, j + 2)
        if end < 0:
            raise Fail(f"an unclosed {text[j:j + 2]} in a template of {path}")
        inner = text[j + 2:end]
        strip_before, strip_after = inner.startswith("~"), inner.endswith("~") and len(inner) > 1
        inner = inner[1 if strip_before else 0:len(inner) - (1 if strip_after else 0)].strip()
        fragment_line = line + text.count("\n", 0, j)
        items.append(("text", "".join(literal)))
        literal = []
        items.append(_text_item(text[j], inner, path, fragment_line) + (strip_before, strip_after))
        i = end + 1
    items.append(("text", "".join(literal)))
    return _nest(items, path, per_line=True)


def _next_sequence(text: str, start: int) -> int:
    positions = [p for p in (text.find("${", start), text.find("%{", start)) if p >= 0]
    if not positions:
        return -1
    j = min(positions)
    if j > 0 and text[j - 1] in "$%" and text[j - 1] == text[j]:  # $${ or %%{ starting one earlier
        return j - 1
    return j


def _text_item(kind: str, inner: str, path: str, line: int) -> tuple:
    if kind == "$":
        expr = parse_expression(inner, path, line)
        if expr is None:
            raise Fail(f"cannot parse the interpolation ${{{inner}}} in {path}")
        return ("interp", expr)
    match = _DIRECTIVE.match(inner)
    if match is None:
        raise Fail(f"unknown template directive %{{{inner}}} in {path}")
    if match.group(1):
        return ("if", _fragment(match.group(2), path, line))
    if match.group(5):
        key, value = (match.group(6), match.group(7)) if match.group(7) else (None, match.group(6))
        return ("for", key, value, _fragment(match.group(8), path, line))
    return (next(group for group in (match.group(3), match.group(4), match.group(9)) if group),)


def _fragment(text: str, path: str, line: int) -> Expr:
    expr = parse_expression(text, path, line)
    if expr is None:
        raise Fail(f"cannot parse {text!r} in a template directive of {path}")
    return expr


# --- from a quoted string parsed by the HCL grammar ----------------------------------------------


def from_string_node(node, source) -> tuple:
    from hcl2.utils import process_escape_sequences

    items: list = []
    for part in trees(node):
        for piece in part.children:
            if not is_tree(piece):
                text = str(piece)
                if piece.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    text = text[1:]
                else:
                    text = process_escape_sequences(text)
                items.append(("text", text))
            elif piece.data == "interpolation":
                markers = [not is_tree(c) and c.type == "STRIP_MARKER" for c in piece.children]
                items.append(("interp", Expr(trees(piece)[0], source), markers[1], markers[-2]))
            else:
                items.append(_directive_item(piece, source))
    return _nest(items, source.path, per_line=False)


def _directive_item(piece, source) -> tuple:
    tokens = [c for c in piece.children if not is_tree(c)]
    strip_before = len(tokens) > 1 and tokens[1].type == "STRIP_MARKER"
    strip_after = len(tokens) > 1 and tokens[-2].type == "STRIP_MARKER"
    kind = {"template_if_start": "if", "template_else": "else", "template_endif": "endif",
            "template_for_start": "for", "template_endfor": "endfor"}.get(piece.data)
    if kind is None:
        raise Fail(f"unsupported template part {piece.data}")
    parts = trees(piece)
    if kind == "if":
        return ("if", Expr(parts[-1], source), strip_before, strip_after)
    if kind == "for":
        names = [token_text(p) for p in parts if p.data == "identifier"]
        key, value = (names[0], names[1]) if len(names) > 1 else (None, names[0])
        return ("for", key, value, Expr(parts[-1], source), strip_before, strip_after)
    return (kind, strip_before, strip_after)


# --- rendering -------------------------------------------------------------------------------


ValueOf = Callable[[Expr, dict], object]


def render(nodes: tuple, value_of: ValueOf, names: dict | None = None):
    """The template's value: a string, the lone interpolation's value, or an unknown."""
    names = names or {}
    if len(nodes) == 1 and isinstance(nodes[0], Interpolation):
        return value_of(nodes[0].expr, names)
    parts: list = []
    stopped = _render_into(nodes, value_of, names, parts)
    if stopped is not None:
        return stopped
    if any(isinstance(part, Unknown) for part in parts):
        return Partial(parts)
    return "".join(parts)


def _render_into(nodes: tuple, value_of: ValueOf, names: dict, parts: list) -> Unknown | None:
    for node in nodes:
        if isinstance(node, Literal):
            parts.append(node.text)
        elif isinstance(node, Interpolation):
            value = value_of(node.expr, names)
            if isinstance(value, Invalid):
                return value
            if isinstance(value, Unknown):
                parts.append(value)
            elif value is None or isinstance(value, (list, dict)):
                return Invalid(node.expr.text, "a template can include only strings, numbers and bools")
            else:
                parts.append(to_string(value))
        elif isinstance(node, If):
            condition = value_of(node.condition, names)
            if isinstance(condition, Unknown):
                return Unknown.of(condition.causes) if not isinstance(condition, Invalid) else condition
            if not isinstance(condition, bool) and condition not in ("true", "false"):
                return Invalid(node.condition.text, "a template condition must be a bool")
            stopped = _render_into(node.then if condition in (True, "true") else node.otherwise, value_of, names,
                                   parts)
            if stopped is not None:
                return stopped
        else:
            stopped = _render_for(node, value_of, names, parts)
            if stopped is not None:
                return stopped
    return None


def _render_for(node: For, value_of: ValueOf, names: dict, parts: list) -> Unknown | None:
    collection = value_of(node.collection, names)
    if isinstance(collection, Unknown):
        return Unknown.of(collection.causes) if not isinstance(collection, Invalid) else collection
    try:
        items = collection_items(collection)
    except Fail as exc:
        return Invalid(node.collection.text, str(exc))
    for key, item in items:
        bound = {**names, node.value: item}
        if node.key is not None:
            bound[node.key] = key
        stopped = _render_into(node.body, value_of, bound, parts)
        if stopped is not None:
            return stopped
    return None

"""``.tf.json`` files: Terraform's JSON configuration syntax -> the same blocks as ``.tf`` files.

The root object's keys are block types; each label adds one object level (``resource`` -> type ->
name -> body), and an array at any level stands for several blocks. ``"//"`` keys in the root or
a block body are comments (a ``"//": "sesrego:ignore:..."`` comment works as in ``.tf`` files);
inside an expression they are data. Whether a body key is an argument or a nested block depends
on the resource's schema, which only the provider knows: the keys in :data:`NESTED_BLOCKS`, when
they hold objects, are read as blocks (``statement``, ``condition``, ``principals``,
``inline_policy``, ``dynamic``...), everything else as arguments. Strings are templates except
where Terraform reads them literally (:data:`LITERAL`).
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring

from ..errors import InputError
from .options import MAX_BLOCK_DEPTH
from .syntax import Block, Body, JsonExpr, Source
from .values import parse_number

#: Block types and how many labels they take.
LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1, "locals": 0,
          "terraform": 0, "moved": 0, "import": 0, "removed": 0, "check": 1, "ephemeral": 2}
#: Body keys read as nested blocks when they hold an object or an array of objects.
NESTED_BLOCKS = {
    "resource": {"lifecycle", "provisioner", "connection", "dynamic", "inline_policy", "statement", "condition",
                 "principals", "not_principals", "content", "precondition", "postcondition"},
    "terraform": {"backend", "cloud", "required_providers"},
    "variable": {"validation"},
}
NESTED_LABELS = {"dynamic": 1, "provisioner": 1, "backend": 1}
#: Arguments Terraform reads literally, never as templates.
LITERAL = {"variable": {"default", "type", "description", "sensitive", "nullable", "ephemeral"},
           "module": {"source", "version"}, "terraform": None}
MAX_JSON_DEPTH = 200

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_SPACE = re.compile(r"[ \t\n\r]*")


class JObject:
    """A JSON object with its properties in order (names may repeat) and where they are."""

    __slots__ = ("pairs", "line", "end_line")

    def __init__(self, pairs: list, line: int, end_line: int) -> None:
        self.pairs = pairs  # [(name, value, line, start, end)]
        self.line = line
        self.end_line = end_line

    def as_dict(self) -> dict:
        return {name: value for name, value, *_ in self.pairs}


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line(self, position: int) -> int:
        return bisect.bisect_left(self.newlines, position) + 1

    def fail(self, problem: str, position: int) -> InputError:
        line = self.line(position)
        column = position - (self.newlines[line - 2] if line > 1 else -1)
        return InputError(f"not valid JSON: {problem}", path=self.path, line=line, column=column)

    def space(self, position: int) -> int:
        return _SPACE.match(self.text, position).end()

    def value(self, position: int, depth: int):
        """(value, end position) of the JSON value at ``position``."""
        if depth > MAX_JSON_DEPTH:
            raise self.fail(f"nested more than {MAX_JSON_DEPTH} deep", position)
        text = self.text
        char = text[position:position + 1]
        if char == "{":
            return self.object(position, depth)
        if char == "[":
            return self.array(position, depth)
        if char == '"':
            try:
                return scanstring(text, position + 1, True)
            except json.JSONDecodeError as exc:
                raise self.fail(exc.msg.lower(), exc.pos) from None
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, position):
                return value, position + len(word)
        match = _NUMBER.match(text, position)
        if match and match.end() > position:
            literal = match.group(0)
            number = parse_number(literal)
            return number, match.end()
        raise self.fail("expected a value", position)

    def object(self, position: int, depth: int):
        start_line = self.line(position)
        pairs = []
        position = self.space(position + 1)
        if self.text.startswith("}", position):
            return JObject(pairs, start_line, self.line(position)), position + 1
        while True:
            if not self.text.startswith('"', position):
                raise self.fail("expected a property name in double quotes", position)
            line = self.line(position)
            name, position = self.value(position, depth + 1)
            position = self.space(position)
            if not self.text.startswith(":", position):
                raise self.fail("expected ':'", position)
            start = self.space(position + 1)
            value, end = self.value(start, depth + 1)
            pairs.append((name, value, line, start, end))
            position = self.space(end)
            if self.text.startswith(",", position):
                position = self.space(position + 1)
                continue
            if self.text.startswith("}", position):
                return JObject(pairs, start_line, self.line(position)), position + 1
            raise self.fail("expected ',' or '}'", position)

    def array(self, position: int, depth: int):
        items = []
        position = self.space(position + 1)
        if self.text.startswith("]", position):
            return items, position + 1
        while True:
            value, position = self.value(position, depth + 1)
            items.append(value)
            position = self.space(position)
            if self.text.startswith(",", position):
                position = self.space(position + 1)
                continue
            if self.text.startswith("]", position):
                return items, position + 1
            raise self.fail("expected ',' or ']'", position)


def parse_json(path: str, text: str) -> JObject:
    parser = _Parser(text, path)
    value, end = parser.value(parser.space(0), 0)
    if parser.space(end) != len(text):
        raise parser.fail("extra data after the JSON value", parser.space(end))
    if not isinstance(value, JObject):
        raise InputError("a .tf.json file must hold a JSON object", path=path)
    return value


def plain(value):
    """A decoded JSON value with its objects as dicts (the last of repeated names wins)."""
    if isinstance(value, JObject):
        return {name: plain(item) for name, item, *_ in value.pairs}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def parse_file(path: str, text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The blocks of a ``.tf.json`` file, and its ``"//"`` comments at the root."""
    root = parse_json(path, text)
    source = Source(path, text)
    blocks: list[Block] = []
    comments = []
    for name, value, line, _, _ in root.pairs:
        if name == "//":
            comments.extend((line, text) for text in _comment_texts(value))
            continue
        if name not in LABELS:
            raise InputError(f'unsupported block type "{name}"', path=path, line=line)
        _labelled(name, LABELS[name], value, (), line, source, blocks, 1)
    return blocks, comments


def _labelled(kind: str, remaining: int, value, labels: tuple, line: int, source: Source, out: list,
              depth: int) -> None:
    if isinstance(value, list):
        for item in value:
            _labelled(kind, remaining, item, labels, line, source, out, depth)
        return
    if not isinstance(value, JObject):
        raise InputError(f'a "{kind}" block must be a JSON object', path=source.path, line=line)
    if remaining == 0:
        out.append(_block(kind, labels, value, line, source, depth))
        return
    for label, item, item_line, _, _ in value.pairs:  # "//" here is a label, as in Terraform
        _labelled(kind, remaining - 1, item, labels + (label,), item_line, source, out, depth)


def _block(kind: str, labels: tuple, value: JObject, line: int, source: Source, depth: int) -> Block:
    if depth > MAX_BLOCK_DEPTH:
        raise InputError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep", path=source.path, line=line)
    schema = "resource" if kind in ("data", "dynamic", "content", "statement", "ephemeral") else kind
    nested = NESTED_BLOCKS.get(schema, set())
    literal = LITERAL.get(kind, set())
    attributes: dict = {}
    blocks: list[Block] = []
    comments = []
    for name, item, item_line, start, end in value.pairs:
        if name == "//":
            comments.extend((item_line, text) for text in _comment_texts(item))
            continue
        if name in nested and _holds_objects(item):
            _labelled(name, NESTED_LABELS.get(name, 0), item, (), item_line, source, blocks, depth + 1)
            continue
        if name in attributes:
            raise InputError(f'duplicate argument "{name}"', path=source.path, line=item_line)
        attributes[name] = JsonExpr(item, source, item_line, start, end,
                                    literal=literal is None or name in literal)
        if not attributes[name].literal:
            _check_templates(item, item_line, source)
    return Block(kind, labels, Body(attributes, blocks), source, line, value.end_line, comments=comments)


def _check_templates(value, line: int, source: Source) -> None:
    """Every string of an expression is a template; one Terraform cannot parse is an error, as in a .tf file."""
    from .templates import parse_text
    from .values import Fail

    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and ("${" in value or "%{" in value):
            try:
                parse_text(value, source.path, line)
            except Fail as exc:
                raise InputError(f"invalid template: {exc}", path=source.path, line=line) from None
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, JObject):
            pending.extend(item for pair in value.pairs for item in pair[:2])


def _comment_texts(value) -> list[str]:
    """A ``"//"`` comment's text: a string, or the strings of an array."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _holds_objects(value) -> bool:
    if isinstance(value, JObject):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(item, JObject) for item in value)

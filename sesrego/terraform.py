""".tf root modules -> the plan-shaped input the rules read, without running Terraform.

Each root module becomes one document in the ``terraform show -json`` shape (format 1.2):
``resource_changes[]`` with every resource instance under Terraform's address, its statically
known attributes in ``change.after`` and the rest marked in ``change.after_unknown``, plus a
``configuration`` section with each attribute's references.

Values are resolved the way Terraform would at plan time, as far as that can be done without
state or provider: literals and heredocs, templates, ``jsonencode`` and other pure functions,
locals, ``data "aws_iam_policy_document"`` blocks (rendered as the AWS provider does), module
calls whose source is a local path (their arguments become the child's ``var.*``), and ``count``
/ ``for_each`` when they resolve. A root module's variables stay unknown even with defaults (a
tfvars file may override them), as do resource attributes the provider computes. An unknown
policy is never treated as a pass: its attribute is unknown in the plan and the expression it
depends on is named in ``sesrego.unresolved``, which the rules turn into SES-007.

Each file is parsed once, with python-hcl2's Lark grammar; the evaluator walks that tree.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

#: A .tf file larger than this is refused.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: More instances than this for one resource or module call are refused.
MAX_INSTANCES = 10_000
#: Module calls nested deeper than this are refused (a local module calling itself).
MAX_MODULE_DEPTH = 32
#: A file read by ``file()`` larger than this stays unknown.
MAX_READ_FILE_BYTES = 1024 * 1024

POLICY_DOCUMENT = "aws_iam_policy_document"
#: Arguments Terraform itself interprets; they are not resource attributes.
_META_ARGUMENTS = frozenset({"count", "for_each", "provider", "depends_on"})
_META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
_MODULE_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
#: The provider's default when a policy has no ``type``.
_ORGANIZATIONS_POLICY_DEFAULT_TYPE = "SERVICE_CONTROL_POLICY"


@dataclass(frozen=True, slots=True)
class TfInput:
    """One root module: the plan-shaped document built from it, or why it could not be read."""

    path: str
    plan: dict | None = None
    error: InputError | None = None
    locations: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def plan_from_tf(paths: Sequence[Path]) -> list[TfInput]:
    """One :class:`TfInput` per root module found in ``paths`` (.tf files or directories), sorted by path."""
    loader = _Loader()
    results: list[TfInput] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            roots = _root_directories(path, loader)
            if not roots:
                results.append(TfInput(str(path), error=InputError(
                    "no root module: every directory with .tf files is called as a module by another", path=path)))
            results.extend(_build_root(_display(root), loader, loader.directory(root)) for root in roots)
        else:
            results.append(_build_root(str(path), loader, loader.single_file(path)))
    return sorted(results, key=lambda result: result.path)


def _display(path: Path) -> str:
    return os.path.normpath(str(path))


# --- reading .tf files -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    """The text of one file (or heredoc fragment), for expression text and locations."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class _Expr:
    node: Any  # a lark Tree
    source: _Source

    @property
    def text(self) -> str:
        return _node_text(self.node, self.source)


@dataclass(frozen=True, slots=True)
class _Body:
    attributes: dict[str, _Expr]
    blocks: tuple[_Block, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    type: str
    labels: tuple[str, ...]
    body: _Body
    source: _Source
    line: int
    node: Any

    @property
    def text(self) -> str:
        return _node_text(self.node, self.source)


@dataclass(slots=True)
class _Module:
    """The configuration of one directory (or of a single .tf file)."""

    directory: Path  # as the user spelled it, normalised
    files: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    variables: dict[str, _Block] = field(default_factory=dict)
    locals: dict[str, _Expr] = field(default_factory=dict)
    resources: dict[tuple[str, str, str], _Block] = field(default_factory=dict)  # (mode, type, name)
    calls: dict[str, _Block] = field(default_factory=dict)
    outputs: dict[str, _Block] = field(default_factory=dict)

    def local_calls(self) -> Iterator[tuple[_Block, Path]]:
        for call in self.calls.values():
            source = _literal_string(call.body.attributes.get("source"))
            if source is not None and (source.startswith("./") or source.startswith("../")):
                yield call, Path(os.path.normpath(self.directory / source))


def _parser():
    import hcl2

    parse = getattr(hcl2, "parses_to_tree", None)
    if parse is None:  # pragma: no cover - depends on the installed version
        raise InputError("reading .tf files needs python-hcl2 8 or newer (pip install 'python-hcl2>=8')")
    return parse


class _Loader:
    """Parses each file once and each directory into a :class:`_Module` once."""

    def __init__(self) -> None:
        self._files: dict[Path, tuple[list[_Block], InputError | None]] = {}
        self._modules: dict[Path, _Module] = {}

    def file(self, path: Path) -> tuple[list[_Block], InputError | None]:
        key = path.resolve()
        if key not in self._files:
            self._files[key] = _parse_file(path)
        return self._files[key]

    def directory(self, directory: Path) -> _Module:
        key = directory.resolve()
        if key not in self._modules:
            files = sorted(p for p in directory.glob("*.tf") if p.is_file())
            self._modules[key] = self._module(Path(_display(directory)), files)
        return self._modules[key]

    def single_file(self, path: Path) -> _Module:
        return self._module(Path(_display(path.parent)), [path])

    def _module(self, directory: Path, files: list[Path]) -> _Module:
        module = _Module(directory)
        for path in files:
            blocks, error = self.file(path)
            module.files.append(_display(path))
            if error is not None:
                module.errors.append(error)
            for block in blocks:
                _add_block(module, block)
        return module


def _parse_file(path: Path) -> tuple[list[_Block], InputError | None]:
    name = _display(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], InputError(f"file is over the limit of {MAX_FILE_BYTES} bytes", path=name)
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return [], InputError(f"cannot read: {exc.strerror or exc}", path=name)
    except UnicodeDecodeError:
        return [], InputError("not UTF-8 text", path=name)
    try:
        parse = _parser()
    except InputError as exc:
        return [], InputError(exc.problem, path=name)
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = parse(text)
    except UnexpectedInput as exc:
        return [], InputError(f"HCL syntax error: {_syntax_problem(exc)}", path=name,
                              line=getattr(exc, "line", None), column=getattr(exc, "column", None))
    except (LarkError, RecursionError, ValueError, RuntimeError) as exc:
        return [], InputError(f"HCL syntax error: {type(exc).__name__}", path=name)
    source = _Source(name, text)
    return list(_blocks(_first(tree, "body"), source)), None


def _syntax_problem(exc) -> str:
    token = getattr(exc, "token", None)
    if token is not None:
        if token.type == "$END":
            return "unexpected end of file"
        if not str(token).strip():
            return "unexpected end of line (an expression is missing)"
        value = str(token).strip().splitlines()[0]
        return f"unexpected {value[:40]!r}"
    char = getattr(exc, "char", None)
    if char is not None:
        return f"unexpected character {char!r}"
    return "unexpected input"


def _add_block(module: _Module, block: _Block) -> None:
    labels = block.labels
    if block.type == "resource" and len(labels) == 2:
        module.resources.setdefault(("managed", labels[0], labels[1]), block)
    elif block.type == "data" and len(labels) == 2:
        module.resources.setdefault(("data", labels[0], labels[1]), block)
    elif block.type == "module" and len(labels) == 1:
        module.calls.setdefault(labels[0], block)
    elif block.type == "variable" and len(labels) == 1:
        module.variables.setdefault(labels[0], block)
    elif block.type == "output" and len(labels) == 1:
        module.outputs.setdefault(labels[0], block)
    elif block.type == "locals":
        for name, expr in block.body.attributes.items():
            module.locals.setdefault(name, expr)


# --- the lark tree -----------------------------------------------------------------------


def _is_tree(node) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def _trees(node) -> list:
    return [c for c in node.children if _is_tree(c) and c.data != "new_line_or_comment"]


def _first(node, data: str):
    for child in node.children:
        if _is_tree(child) and child.data == data:
            return child
    return None


def _token_text(node) -> str:
    """The text of an identifier, keyword or literal_value node."""
    for child in node.children:
        if not _is_tree(child):
            return str(child)
    return ""


def _node_text(node, source: _Source) -> str:
    meta = getattr(node, "meta", None)
    start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
    if start is None or end is None:
        return "<expression>"
    text = " ".join(source.text[start:end].split())
    return text if len(text) <= 200 else text[:197] + "..."


def _blocks(body, source: _Source) -> Iterator[_Block]:
    if body is None:
        return
    for child in _trees(body):
        if child.data == "block":
            yield _block(child, source)


def _body(node, source: _Source) -> _Body:
    attributes: dict[str, _Expr] = {}
    blocks = []
    if node is not None:
        for child in _trees(node):
            if child.data == "attribute":
                parts = _trees(child)
                attributes[_token_text(parts[0])] = _Expr(parts[-1], source)
            elif child.data == "block":
                blocks.append(_block(child, source))
    return _Body(attributes, tuple(blocks))


def _block(node, source: _Source) -> _Block:
    parts = _trees(node)
    labels = []
    for part in parts[1:]:
        if part.data == "body":
            break
        labels.append(_string_literal(part) if part.data == "string" else _token_text(part))
    return _Block(_token_text(parts[0]), tuple(labels), _body(_first(node, "body"), source), source,
                  getattr(node.meta, "line", 0), node)


def _string_literal(node) -> str:
    from hcl2.utils import process_escape_sequences

    text = []
    for part in _trees(node):
        for piece in part.children:
            text.append(process_escape_sequences(str(piece)) if not _is_tree(piece) else "")
    return "".join(text)


def _literal_string(expr: _Expr | None) -> str | None:
    if expr is None:
        return None
    value = _Evaluator(_Scope(None), expr.source).value(expr.node)
    return value if isinstance(value, str) else None


# --- finding root modules ----------------------------------------------------------------


def _root_directories(directory: Path, loader: _Loader) -> list[Path]:
    """Directories under ``directory`` holding .tf files that no other of them calls as a local module."""
    found = sorted({p.parent for p in directory.rglob("*.tf")
                    if ".terraform" not in p.relative_to(directory).parts and p.is_file()})
    called: set[Path] = set()
    for path in found:
        for _, target in loader.directory(path).local_calls():
            if target.resolve() != path.resolve():
                called.add(target.resolve())
    return [path for path in found if path.resolve() not in called]


# --- values ------------------------------------------------------------------------------


class Unknown:
    """A value not known before apply (or not resolvable statically), with the expression it came from."""

    __slots__ = ("expression",)

    def __init__(self, expression: str) -> None:
        self.expression = expression

    def __repr__(self) -> str:
        return f"Unknown({self.expression!r})"


class _Invalid(Unknown):
    """An expression Terraform would reject (an error, which ``try`` skips), as an unknown value."""

    __slots__ = ()


class _Computed(dict):
    """A resource, data source or module instance: attributes it does not set are computed (unknown)."""


class _Fail(Exception):
    """An expression Terraform would reject, or that cannot be evaluated here."""


def _find_unknown(value) -> Unknown | None:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        for item in value.values():
            found = _find_unknown(item)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _find_unknown(item)
            if found is not None:
                return found
    return None


def _number(value) -> int | float:
    if isinstance(value, bool) or value is None:
        raise _Fail("not a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _Fail("not a number") from None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise _Fail("not a number")


def _normal_number(number: float | int) -> int | float:
    if isinstance(number, float) and math.isfinite(number) and number.is_integer() and abs(number) < 2 ** 53:
        return int(number)
    return number


def _to_string(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(_normal_number(value)) if value.is_integer() else repr(value)
    raise _Fail("not a string")


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _Fail("not a bool")


def _jsonencode(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Set(list):
    """A set (``toset``): ordered like Terraform's, and its elements are their own keys."""


def _collection_items(value) -> list[tuple[Any, Any]]:
    if isinstance(value, _Set):
        return [(item, item) for item in value]
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    if isinstance(value, list):
        return list(enumerate(value))
    raise _Fail("not a collection")


# --- functions ---------------------------------------------------------------------------


def _flatten(value) -> list:
    out = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _distinct(values) -> list:
    out = []
    for item in values:
        if item not in out:
            out.append(item)
    return out


def _set(values) -> _Set:
    items = _distinct(values)
    if all(isinstance(item, str) for item in items):
        return _Set(sorted(items))
    return _Set(items)


def _merge(*maps) -> dict:
    out: dict = {}
    for item in maps:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise _Fail("merge of a non-object")
        out.update(item)
    return out


def _lookup(mapping, key, *default):
    if not isinstance(mapping, dict):
        raise _Fail("lookup on a non-object")
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise _Fail("no such key")


def _element(values, index):
    if not isinstance(values, list) or not values:
        raise _Fail("element of an empty list")
    return values[int(_number(index)) % len(values)]


def _replace(text, search, replacement):
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        return re.sub(search[1:-1], re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement), text)
    return text.replace(search, replacement)


def _format(spec, *args):
    args = list(args)

    def verb(match: re.Match) -> str:
        if match.group(0) == "%%":
            return "%"
        if not args:
            raise _Fail("too few arguments for format")
        value = args.pop(0)
        kind = match.group(0)[-1]
        if kind == "q":
            return json.dumps(_to_string(value))
        if kind == "d":
            return str(int(_number(value)))
        if kind in "sv":
            return _to_string(value) if not isinstance(value, (list, dict)) else _jsonencode(value)
        raise _Fail("unsupported format verb")

    return re.sub(r"%%|%[-+# 0]*\d*(?:\.\d+)?[a-zA-Z]", verb, spec)


def _range(*args):
    numbers = [_number(a) for a in args]
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (
        numbers[0], numbers[1], numbers[2] if len(numbers) > 2 else (1 if numbers[1] >= numbers[0] else -1))
    if step == 0 or abs((stop - start) / step) > MAX_INSTANCES * 10:
        raise _Fail("range too large")
    out, value = [], start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(_normal_number(value))
        value += step
    return out


def _slice(values, start, end):
    return values[int(_number(start)):int(_number(end))]


def _coalesce(*values):
    for value in values:
        if value is not None and value != "":
            return value
    raise _Fail("no non-null argument")


def _zipmap(keys, values):
    if len(keys) != len(values):
        raise _Fail("zipmap of lists of different lengths")
    return {_to_string(k): v for k, v in zip(keys, values)}


def _tolist(value):
    if isinstance(value, list):
        return value
    raise _Fail("not a list")


def _tomap(value):
    if isinstance(value, dict):
        return dict(value)
    raise _Fail("not a map")


def _length(value):
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise _Fail("length of a non-collection")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": _jsonencode,
    "jsondecode": lambda text: json.loads(text),
    "tostring": lambda value: None if value is None else _to_string(value),
    "tonumber": lambda value: None if value is None else _number(value),
    "tobool": lambda value: None if value is None else _bool(value),
    "tolist": _tolist,
    "toset": lambda value: _set(_tolist(value)),
    "tomap": _tomap,
    "concat": lambda *lists: [item for values in lists for item in _tolist(values)],
    "merge": _merge,
    "flatten": lambda value: _flatten(_tolist(value)),
    "distinct": lambda value: _distinct(_tolist(value)),
    "compact": lambda value: [item for item in _tolist(value) if item not in (None, "")],
    "join": lambda sep, *lists: sep.join(_to_string(item) for values in lists for item in _tolist(values)),
    "split": lambda sep, text: text.split(sep) if sep else list(text),
    "format": _format,
    "lower": lambda text: text.lower(),
    "upper": lambda text: text.upper(),
    "title": lambda text: text.title(),
    "trimspace": lambda text: text.strip(),
    "trimprefix": lambda text, prefix: text[len(prefix):] if prefix and text.startswith(prefix) else text,
    "trimsuffix": lambda text, suffix: text[:-len(suffix)] if suffix and text.endswith(suffix) else text,
    "trim": lambda text, chars: text.strip(chars),
    "chomp": lambda text: text.rstrip("\r\n"),
    "replace": _replace,
    "substr": lambda text, offset, length: text[int(offset):] if length == -1 else text[int(offset):int(offset) + int(
        length)],
    "startswith": lambda text, prefix: text.startswith(prefix),
    "endswith": lambda text, suffix: text.endswith(suffix),
    "length": _length,
    "keys": lambda mapping: sorted(_tomap(mapping)),
    "values": lambda mapping: [mapping[key] for key in sorted(_tomap(mapping))],
    "lookup": _lookup,
    "element": _element,
    "coalesce": _coalesce,
    "coalescelist": lambda *lists: next((values for values in lists if values), []),
    "contains": lambda values, value: value in _tolist(values),
    "range": _range,
    "zipmap": _zipmap,
    "sort": lambda values: sorted(_to_string(item) for item in _tolist(values)),
    "reverse": lambda values: list(reversed(_tolist(values))),
    "slice": _slice,
    "min": lambda *numbers: min(_number(n) for n in numbers),
    "max": lambda *numbers: max(_number(n) for n in numbers),
    "abs": lambda number: abs(_number(number)),
    "sum": lambda values: sum(_number(n) for n in _tolist(values)),
}


# --- evaluation --------------------------------------------------------------------------


_ABSENT = object()


class _Scope:
    """Where an expression is evaluated: a module instance, count/each, and for-expression names."""

    __slots__ = ("instance", "count", "each", "names")

    def __init__(self, instance: _Instance | None, count=_ABSENT, each=_ABSENT, names=None) -> None:
        self.instance = instance
        self.count = count  # count.index: int, Unknown, or _ABSENT
        self.each = each  # (key, value), Unknown, or _ABSENT
        self.names = names or {}

    def bind(self, names: dict) -> _Scope:
        return _Scope(self.instance, self.count, self.each, {**self.names, **names})


def _evaluate(expr: _Expr, scope: _Scope):
    return _Evaluator(scope, expr.source).value(expr.node)


class _Evaluator:
    """Evaluates one expression tree; failures become :class:`Unknown` values naming the expression."""

    def __init__(self, scope: _Scope, source: _Source) -> None:
        self.scope = scope
        self.source = source

    def text(self, node) -> str:
        return _node_text(node, self.source)

    def value(self, node):
        method = getattr(self, "_" + node.data, None)
        if method is None:
            return Unknown(self.text(node))
        try:
            return method(node)
        except (_Fail, TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError,
                OverflowError, re.error):
            return _Invalid(self.text(node))

    # literals

    def _expr_term(self, node):
        if node.children and not _is_tree(node.children[0]):  # ( expression )
            return self.value(_trees(node)[0])
        inner = _trees(node)[0]
        if inner.data == "identifier":
            return self._reference(node)
        return self.value(inner)

    def _identifier(self, node):
        return self._reference(node)

    def _literal_value(self, node):
        return {"true": True, "false": False, "null": None}[_token_text(node)]

    def _int_lit(self, node):
        return int(_token_text(node))

    def _float_lit(self, node):
        return _normal_number(float(_token_text(node)))

    def _string(self, node):
        from hcl2.utils import process_escape_sequences

        parts = []
        for part in _trees(node):
            for piece in part.children:
                if not _is_tree(piece):
                    text = str(piece)
                    if piece.type == "ESCAPED_INTERPOLATION":
                        text = text[1:]
                    elif piece.type == "ESCAPED_DIRECTIVE":
                        text = text[1:]
                    else:
                        text = process_escape_sequences(text)
                    parts.append(text)
                elif piece.data == "interpolation":
                    value = self.value(_trees(piece)[0])
                    unknown = _find_unknown(value)
                    if unknown is not None:
                        return unknown
                    parts.append(_to_string(value))
                else:  # %{if} / %{for} directives
                    return Unknown(self.text(node))
        return "".join(parts)

    def _heredoc_template(self, node):
        return self._heredoc(_token_text(node), trim=False, node=node)

    def _heredoc_template_trim(self, node):
        return self._heredoc(_token_text(node), trim=True, node=node)

    def _heredoc(self, token: str, trim: bool, node):
        first, _, rest = token.partition("\n")
        lines = rest.split("\n")
        while lines and lines[-1].strip() == "":
            lines.pop()
        lines = lines[:-1]  # the closing marker
        lines = [line.rstrip("\r") for line in lines]
        if trim:
            indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
            cut = min(indents, default=0)
            lines = [line[cut:] for line in lines]
        body = "".join(line + "\n" for line in lines)
        return self._template(body, node)

    def _template(self, body: str, node):
        """Render the ``${...}`` parts of a heredoc (parsed as expressions of their own)."""
        if "${" not in body and "%{" not in body:
            return body
        parts, i = [], 0
        while i < len(body):
            if body.startswith("$${", i) or body.startswith("%%{", i):
                parts.append(body[i + 1:i + 3])
                i += 3
            elif body.startswith("%{", i):
                return Unknown(self.text(node))
            elif body.startswith("${", i):
                end = _closing_brace(body, i + 2)
                if end < 0:
                    return Unknown(self.text(node))
                value = _parse_fragment(body[i + 2:end], self.source.path, self.scope)
                unknown = _find_unknown(value)
                if unknown is not None:
                    return unknown
                parts.append(_to_string(value))
                i = end + 1
            else:
                parts.append(body[i])
                i += 1
        return "".join(parts)

    def _template_string(self, node):
        return Unknown(self.text(node))

    def _tuple(self, node):
        return [self.value(child) for child in _trees(node)]

    def _object(self, node):
        out = {}
        for elem in _trees(node):
            key_node, value_node = _trees(elem)
            key = self._object_key(key_node)
            if isinstance(key, Unknown):
                return key
            out[key] = self.value(value_node)
        return out

    def _object_key(self, node):
        inner = _trees(node)[0]
        if inner.data == "keyword":
            return _token_text(inner)
        if inner.data == "expr_term":
            children = _trees(inner)
            if inner.children and _is_tree(inner.children[0]) and children and children[0].data == "identifier":
                return _token_text(children[0])
        key = self.value(inner)
        return key if isinstance(key, Unknown) else _to_string(key)

    # operators

    def _conditional(self, node):
        condition, yes, no = _trees(node)
        test = self.value(condition)
        if isinstance(test, Unknown):
            return test
        return self.value(yes if _bool(test) else no)

    def _binary_op(self, node):
        left_node, term = _trees(node)[:2]
        operator_node, right_node = _trees(term)
        operator = _token_text(operator_node).split()[-1]
        left = self.value(left_node)
        right = self.value(right_node)
        for side in (left, right):
            unknown = _find_unknown(side)
            if unknown is not None:
                return unknown
        if operator == "==":
            return left == right
        if operator == "!=":
            return left != right
        if operator in ("&&", "||"):
            return (_bool(left) and _bool(right)) if operator == "&&" else (_bool(left) or _bool(right))
        a, b = _number(left), _number(right)
        if operator == "+":
            return _normal_number(a + b)
        if operator == "-":
            return _normal_number(a - b)
        if operator == "*":
            return _normal_number(a * b)
        if operator == "/":
            return _normal_number(a / b)
        if operator == "%":
            return _normal_number(math.fmod(a, b))
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]

    def _unary_op(self, node):
        operator = str(node.children[0]).strip()
        value = self.value(_trees(node)[0])
        if isinstance(value, Unknown):
            return value
        return (not _bool(value)) if operator == "!" else _normal_number(-_number(value))

    def _for_tuple_expr(self, node):
        parts = _trees(node)
        intro, value_node = parts[0], parts[1]
        condition = parts[2] if len(parts) > 2 else None
        return self._for(intro, None, value_node, condition, group=False)

    def _for_object_expr(self, node):
        parts = _trees(node)
        intro, key_node, value_node = parts[:3]
        condition = parts[3] if len(parts) > 3 else None
        group = any(not _is_tree(c) and c.type == "ELLIPSIS" for c in node.children)
        return self._for(intro, key_node, value_node, condition, group=group)

    def _for(self, intro, key_node, value_node, condition, group: bool):
        parts = _trees(intro)
        names = [_token_text(p) for p in parts if p.data == "identifier"]
        collection = self.value(parts[-1])
        unknown = _find_unknown(collection) if not isinstance(collection, dict) else (
            collection if isinstance(collection, Unknown) else None)
        if unknown is not None:
            return unknown
        results_list, results_map = [], {}
        for key, item in _collection_items(collection):
            bound = {names[0]: item} if len(names) == 1 else {names[0]: key, names[1]: item}
            inner = _Evaluator(self.scope.bind(bound), self.source)
            if condition is not None:
                keep = inner.value(_trees(condition)[0])
                if isinstance(keep, Unknown):
                    return keep
                if not _bool(keep):
                    continue
            value = inner.value(value_node)
            if key_node is None:
                results_list.append(value)
                continue
            result_key = inner.value(key_node)
            if isinstance(result_key, Unknown):
                return result_key
            result_key = _to_string(result_key)
            if group:
                results_map.setdefault(result_key, []).append(value)
            elif result_key in results_map:
                raise _Fail("duplicate key in a for expression")
            else:
                results_map[result_key] = value
        return results_list if key_node is None else results_map

    # function calls

    def _function_call(self, node):
        parts = _trees(node)
        identifiers = [p for p in parts if p.data == "identifier"]
        if len(identifiers) != 1:  # provider::name::function
            return Unknown(self.text(node))
        name = _token_text(identifiers[0])
        arguments = _first(node, "arguments")
        nodes = _trees(arguments) if arguments is not None else []
        expand = arguments is not None and any(not _is_tree(c) and c.type == "ELLIPSIS" for c in arguments.children)
        if name in ("try", "can"):
            return self._try(name, nodes)
        if name == "file":
            return self._file(node, nodes)
        function = FUNCTIONS.get(name)
        if function is None:
            return Unknown(self.text(node))
        values = [self.value(n) for n in nodes]
        unknown = _find_unknown(values)
        if unknown is not None:
            return unknown
        if expand and values:
            values = values[:-1] + list(_tolist(values[-1]))
        return function(*values)

    def _try(self, name: str, nodes):
        for candidate in nodes:
            value = self.value(candidate)
            unknown = _find_unknown(value)
            if unknown is None:
                return True if name == "can" else value
            if not isinstance(unknown, _Invalid):
                return unknown  # depends on something unknown, not an error
            if name == "can":
                return False
        raise _Fail("no argument of try succeeded")

    def _file(self, node, nodes):
        """``file()`` reads files of the configuration itself, never anything outside it."""
        if len(nodes) != 1:
            raise _Fail("file takes one argument")
        name = self.value(nodes[0])
        if isinstance(name, Unknown):
            return name
        instance = self.scope.instance
        if instance is None or not isinstance(name, str):
            return Unknown(self.text(node))
        target = (instance.root_directory / name).resolve()
        allowed = [d.resolve() for d in instance.directories()]
        if not any(target.is_relative_to(d) for d in allowed):
            return Unknown(self.text(node))
        try:
            if target.stat().st_size > MAX_READ_FILE_BYTES:
                return Unknown(self.text(node))
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return Unknown(self.text(node))

    # references

    def _get_attr_expr_term(self, node):
        return self._reference(node)

    _index_expr_term = _get_attr_expr_term
    _attr_splat_expr_term = _get_attr_expr_term
    _full_splat_expr_term = _get_attr_expr_term

    def _reference(self, node):
        root, steps = _traversal(node)
        if isinstance(root, str):
            value, used, fresh = self._root(root, steps)
        else:
            value, used, fresh = self.value(root), 0, False
        if isinstance(value, Unknown):
            return Unknown(self.text(node)) if fresh else value
        for step in steps[used:]:
            value = self._step(value, step)
            if value is _MISSING:
                return Unknown(self.text(node))
            if isinstance(value, Unknown):
                return value
        return value

    def _step(self, value, step):
        kind, argument = step
        if kind == "splat":
            if value is None:
                return []
            items = value if isinstance(value, list) else [value]
            out = []
            for item in items:
                for sub in argument:
                    item = self._step(item, sub)
                    if item is _MISSING or isinstance(item, Unknown):
                        return item
                out.append(item)
            return out
        key = argument if kind == "attr" else self.value(argument) if _is_tree(argument) else argument
        if isinstance(key, Unknown):
            return _MISSING
        if isinstance(value, dict):
            key = _to_string(key)
            if key in value:
                return value[key]
            if isinstance(value, _Computed):
                return _MISSING
            raise _Fail(f"no attribute {key}")
        if isinstance(value, list) and kind == "index":
            return value[int(_number(key))] if 0 <= int(_number(key)) < len(value) else _fail("index out of range")
        raise _Fail("cannot index this value")

    def _root(self, name: str, steps: list) -> tuple[Any, int, bool]:
        """Resolve the start of a traversal: (value, steps used, whether an unknown starts here)."""
        scope = self.scope
        if name in scope.names:
            return scope.names[name], 0, False
        attribute = steps[0][1] if steps and steps[0][0] == "attr" else None
        instance = scope.instance
        if instance is None:
            return Unknown(name), 0, True
        if name == "var" and attribute is not None:
            value, fresh = instance.variable(attribute)
            return value, 1, fresh
        if name == "local" and attribute is not None:
            return instance.local(attribute), 1, False
        if name == "count" and attribute == "index":
            count = scope.count
            return (count, 1, False) if isinstance(count, int) else (Unknown(name), 1, True)
        if name == "each" and attribute in ("key", "value"):
            each = scope.each
            if isinstance(each, tuple):
                return each[0 if attribute == "key" else 1], 1, False
            return Unknown(name), 1, True
        if name == "path" and attribute in ("module", "root"):
            return (instance.module_path if attribute == "module" else "."), 1, False
        if name == "data" and len(steps) >= 2 and steps[1][0] == "attr" and attribute is not None:
            value = instance.resource_value("data", attribute, steps[1][1])
            return value, 2, isinstance(value, Unknown)
        if name == "module" and attribute is not None:
            value = instance.module_value(attribute)
            return value, 1, isinstance(value, Unknown)
        if attribute is not None and ("managed", name, attribute) in instance.module.resources:
            value = instance.resource_value("managed", name, attribute)
            return value, 1, isinstance(value, Unknown)
        return Unknown(name), 0, True


_MISSING = object()


def _fail(message: str):
    raise _Fail(message)


def _traversal(node) -> tuple[Any, list]:
    """Split ``a.b[0].c`` into its root (a name, or a node to evaluate) and its steps."""
    kind = node.data
    if kind == "expr_term":
        children = _trees(node)
        if node.children and _is_tree(node.children[0]) and len(children) == 1:
            return _traversal(children[0])
        return node, []
    if kind == "identifier":
        return _token_text(node), []
    if kind in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
        base, step = _trees(node)
        root, steps = _traversal(base)
        if kind in ("attr_splat_expr_term", "full_splat_expr_term"):
            return root, steps + [("splat", [_step_of(s) for s in _trees(step)])]
        return root, steps + [_step_of(step)]
    return node, []


def _step_of(node) -> tuple[str, Any]:
    if node.data == "get_attr":
        return "attr", _token_text(_trees(node)[0])
    if node.data == "short_index":
        return "index", int(str(node.children[-1]))
    return "index", _trees(node)[0]  # braces_index


def _closing_brace(text: str, start: int) -> int:
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


def _parse_fragment(text: str, path: str, scope: _Scope):
    """Evaluate the expression of a heredoc interpolation."""
    from lark.exceptions import LarkError

    source = _Source(path, "x = " + text)
    try:
        tree = _parser()(source.text)
    except (LarkError, RecursionError, ValueError, RuntimeError, InputError):
        return Unknown(" ".join(text.split()))
    body = _body(_first(tree, "body"), source)
    expr = body.attributes.get("x")
    if expr is None:
        return Unknown(" ".join(text.split()))
    return _evaluate(expr, scope)


# --- module instances --------------------------------------------------------------------


class _Instance:
    """One instance of a module: the root, or ``module.a["k"]`` of it; values are computed once."""

    def __init__(self, module: _Module, loader: _Loader, address: str = "", parent: _Instance | None = None,
                 arguments: dict[str, tuple[_Expr, _Scope]] | None = None, depth: int = 0) -> None:
        self.module = module
        self.loader = loader
        self.address = address
        self.parent = parent
        self.arguments = arguments
        self.depth = depth
        self.root: _Instance = parent.root if parent else self
        self._cache: dict = {}

    @property
    def root_directory(self) -> Path:
        return self.root.module.directory

    @property
    def module_path(self) -> str:
        return os.path.relpath(self.module.directory, self.root_directory) if self.parent else "."

    def directories(self) -> list[Path]:
        seen, instance = [], self
        while instance is not None:
            seen.append(instance.module.directory)
            instance = instance.parent
        return seen

    def _cached(self, key, compute: Callable[[], Any]):
        if key in self._cache:
            value = self._cache[key]
            if value is _IN_PROGRESS:
                return Unknown(f"a reference cycle through {key[1] if key[0] == 'resource' else '.'.join(key)}")
            return value
        self._cache[key] = _IN_PROGRESS
        try:
            value = compute()
        finally:
            self._cache.pop(key, None)
        self._cache[key] = value
        return value

    # named values

    def variable(self, name: str) -> tuple[Any, bool]:
        if self.arguments is None:  # the root module: a tfvars file or -var may set any variable
            return Unknown(f"var.{name}"), True
        if name in self.arguments:
            expr, scope = self.arguments[name]
            return self._cached(("var", name), lambda: _evaluate(expr, scope)), False
        block = self.module.variables.get(name)
        default = block.body.attributes.get("default") if block else None
        if default is None:
            return Unknown(f"var.{name}"), True
        return self._cached(("var", name), lambda: _evaluate(default, _Scope(self))), False

    def local(self, name: str):
        expr = self.module.locals.get(name)
        if expr is None:
            return Unknown(f"local.{name}")
        return self._cached(("local", name), lambda: _evaluate(expr, _Scope(self)))

    # resources

    def expansion(self, block: _Block, parent_scope: _Scope) -> tuple[str, list[tuple[Any, _Scope]]]:
        """How a resource or module call expands: ("single"|"count"|"for_each"|"unknown", [(key, scope)])."""
        count_expr = block.body.attributes.get("count")
        for_each_expr = block.body.attributes.get("for_each")
        if count_expr is not None:
            count = _evaluate(count_expr, parent_scope)
            if isinstance(count, Unknown) or count is None:
                return "unknown", [(None, _Scope(self, count=Unknown("count.index")))]
            try:
                number = int(_number(count))
            except _Fail:
                return "unknown", [(None, _Scope(self, count=Unknown("count.index")))]
            if number > MAX_INSTANCES:
                raise InputError(f"count of {number} is over the limit of {MAX_INSTANCES} instances",
                                 path=block.source.path, line=block.line)
            return "count", [(i, _Scope(self, count=i)) for i in range(max(number, 0))]
        if for_each_expr is not None:
            collection = _evaluate(for_each_expr, parent_scope)
            items = _for_each_items(collection)
            if items is None:
                return "unknown", [(None, _Scope(self, each=Unknown("each")))]
            if len(items) > MAX_INSTANCES:
                raise InputError(f"for_each of {len(items)} items is over the limit of {MAX_INSTANCES} instances",
                                 path=block.source.path, line=block.line)
            return "for_each", [(key, _Scope(self, each=(key, value))) for key, value in items]
        return "single", [(None, _Scope(self))]

    def resource_instances(self, block: _Block) -> tuple[str, list[tuple[Any, dict]]]:
        key = ("resource", f"{block.labels[0]}.{block.labels[1]}", block.type)

        def compute():
            kind, scopes = self.expansion(block, _Scope(self))
            return kind, [(index, _resource_attributes(block, scope)) for index, scope in scopes]

        return self._cached(key, compute)

    def resource_value(self, mode: str, type_: str, name: str):
        block = self.module.resources.get((mode, type_, name))
        if block is None:
            return Unknown(f"{'data.' if mode == 'data' else ''}{type_}.{name}")
        result = self.resource_instances(block)
        if isinstance(result, Unknown):
            return result
        kind, instances = result
        if kind == "unknown":
            return Unknown(f"{type_}.{name}")
        objects = [(index, _Computed(attributes)) for index, attributes in instances]
        if kind == "count":
            return [obj for _, obj in objects]
        if kind == "for_each":
            return dict(objects)
        return objects[0][1]

    # module calls

    def children(self, name: str) -> tuple[str, list[tuple[Any, _Instance]]] | None:
        call = self.module.calls.get(name)
        if call is None:
            return None
        target = dict((c.labels[0], path) for c, path in self.module.local_calls()).get(name)
        if target is None:
            return None

        def compute():
            if self.depth >= MAX_MODULE_DEPTH:
                raise InputError(f"modules nested more than {MAX_MODULE_DEPTH} deep (does a module call itself?)",
                                 path=call.source.path, line=call.line)
            module = self.loader.directory(target)
            kind, scopes = self.expansion(call, _Scope(self))
            out = []
            for key, scope in scopes:
                address = f"{self.address + '.' if self.address else ''}module.{name}{_index_text(key)}"
                arguments = {arg: (expr, scope) for arg, expr in call.body.attributes.items()
                             if arg not in _MODULE_ARGUMENTS}
                out.append((key, _Instance(module, self.loader, address, self, arguments, self.depth + 1)))
            return kind, out

        return self._cached(("module", name), compute)

    def module_value(self, name: str):
        result = self.children(name)
        if result is None or isinstance(result, Unknown):
            return Unknown(f"module.{name}")
        kind, instances = result
        if kind == "unknown":
            return Unknown(f"module.{name}")
        objects = [(key, _Computed({output: child.output(output) for output in child.module.outputs}))
                   for key, child in instances]
        if kind == "count":
            return [obj for _, obj in objects]
        if kind == "for_each":
            return dict(objects)
        return objects[0][1]

    def output(self, name: str):
        block = self.module.outputs[name]
        expr = block.body.attributes.get("value")
        if expr is None:
            return None
        return self._cached(("output", name), lambda: _evaluate(expr, _Scope(self)))


_IN_PROGRESS = object()


def _for_each_items(collection) -> list[tuple[str, Any]] | None:
    if isinstance(collection, dict):
        return [(key, collection[key]) for key in sorted(collection)]
    if isinstance(collection, list) and all(isinstance(item, str) for item in collection):
        return [(item, item) for item in sorted(set(collection))]
    return None


def _index_text(key) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return f"[{json.dumps(key, ensure_ascii=False)}]"


def _resource_attributes(block: _Block, scope: _Scope) -> dict:
    attributes = _body_value(block.body, scope, top=True)
    if block.type == "data" and block.labels[0] == POLICY_DOCUMENT:
        document = _render_policy_document(attributes, f"data.{POLICY_DOCUMENT}.{block.labels[1]}")
        attributes["json"] = document
        attributes["minified_json"] = document if isinstance(document, Unknown) else json.dumps(
            json.loads(document), separators=(",", ":"))
    if block.type == "resource" and block.labels[0] == "aws_organizations_policy" and "type" not in attributes:
        attributes["type"] = _ORGANIZATIONS_POLICY_DEFAULT_TYPE
    return attributes


def _body_value(body: _Body, scope: _Scope, top: bool = False) -> dict:
    """The attributes of a block and its nested blocks (as lists of objects, as in a plan)."""
    out: dict[str, Any] = {}
    for name, expr in body.attributes.items():
        if top and name in _META_ARGUMENTS:
            continue
        out[name] = _evaluate(expr, scope)
    for block in body.blocks:
        if top and block.type in _META_BLOCKS:
            continue
        if block.type == "dynamic" and block.labels:
            kind = block.labels[0]
            current = out.setdefault(kind, [])
            expanded = _dynamic(block, scope)
            if isinstance(current, Unknown):
                continue
            out[kind] = expanded if isinstance(expanded, Unknown) else current + expanded
        else:
            current = out.setdefault(block.type, [])
            if isinstance(current, list):
                current.append(_body_value(block.body, scope))
    return out


def _dynamic(block: _Block, scope: _Scope) -> list | Unknown:
    for_each = block.body.attributes.get("for_each")
    if for_each is None:
        return Unknown(f'dynamic "{block.labels[0]}"')
    collection = _evaluate(for_each, scope)
    if isinstance(collection, Unknown):
        return collection
    if not isinstance(collection, (list, dict)):
        return Unknown(for_each.text)
    iterator = block.labels[0]
    if "iterator" in block.body.attributes:
        iterator = block.body.attributes["iterator"].text
    content = next((b for b in block.body.blocks if b.type == "content"), None)
    if content is None:
        return []
    return [_body_value(content.body, scope.bind({iterator: {"key": key, "value": value}}))
            for key, value in _collection_items(collection)]


# --- aws_iam_policy_document, as the AWS provider renders it -----------------------------


def _render_policy_document(attributes: dict, address: str) -> str | Unknown:
    """The ``json`` of a policy document (provider rules: Effect defaults to Allow, one value is a string)."""
    unknown = _find_unknown({k: v for k, v in attributes.items() if k not in ("json", "minified_json")})
    if unknown is not None:
        return unknown
    try:
        statements = [_render_statement(block) for block in attributes.get("statement") or []]
        for name in ("source_policy_documents",):
            sources = []
            for text in attributes.get(name) or []:
                sources = _merge_statements(sources, _statements_of(text))
            statements = _merge_statements(sources, statements)
        for text in attributes.get("override_policy_documents") or []:
            statements = _merge_statements(statements, _statements_of(text))
    except (_Fail, TypeError, ValueError, AttributeError):
        return Unknown(address)
    document: dict[str, Any] = {"Version": attributes.get("version") or "2012-10-17"}
    if attributes.get("policy_id"):
        document["Id"] = attributes["policy_id"]
    document["Statement"] = statements
    return json.dumps(document, indent=2)


def _statements_of(text) -> list:
    document = json.loads(text)
    statements = document.get("Statement", []) if isinstance(document, dict) else _fail("not a policy")
    return statements if isinstance(statements, list) else [statements]


def _merge_statements(base: list, overriding: list) -> list:
    out = list(base)
    for statement in overriding:
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        positions = [i for i, s in enumerate(out) if sid and isinstance(s, dict) and s.get("Sid") == sid]
        if positions:
            out[positions[0]] = statement
        else:
            out.append(statement)
    return out


def _one_or_many(values: list):
    values = _distinct([_to_string(v) for v in values])
    return values[0] if len(values) == 1 else values


def _render_statement(block: dict) -> dict:
    statement: dict[str, Any] = {}
    if block.get("sid"):
        statement["Sid"] = block["sid"]
    statement["Effect"] = block.get("effect") or "Allow"
    for attribute, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                           ("not_resources", "NotResource")):
        if block.get(attribute):
            statement[key] = _one_or_many(block[attribute])
    for attribute, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        if block.get(attribute):
            statement[key] = _render_principals(block[attribute])
    if block.get("condition"):
        conditions: dict[str, dict[str, list]] = {}
        for condition in block["condition"]:
            values = conditions.setdefault(condition["test"], {}).setdefault(condition["variable"], [])
            values.extend(_to_string(v) for v in condition.get("values") or [])
        statement["Condition"] = {test: {variable: values[0] if len(values) == 1 else values
                                         for variable, values in variables.items()}
                                  for test, variables in conditions.items()}
    return statement


def _render_principals(blocks: list):
    if len(blocks) == 1 and blocks[0].get("type") == "*" and list(blocks[0].get("identifiers") or []) == ["*"]:
        return "*"
    merged: dict[str, list] = {}
    for block in blocks:
        merged.setdefault(block["type"], []).extend(block.get("identifiers") or [])
    return {kind: _one_or_many(identifiers) for kind, identifiers in merged.items()}


# --- the plan document -------------------------------------------------------------------


def _build_root(path: str, loader: _Loader, module: _Module) -> TfInput:
    try:
        errors = _module_tree_errors(module, loader)
        if errors:
            return TfInput(path, error=errors[0])
        root = _Instance(module, loader)
        changes: list[dict] = []
        locations: dict[str, tuple[str, int]] = {}
        _emit(root, changes, locations)
        configuration = {"root_module": _configuration(module, loader, 0)}
    except InputError as exc:
        return TfInput(path, error=exc)
    except RecursionError:
        return TfInput(path, error=InputError("expressions nested too deeply to evaluate", path=path))
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
        "configuration": configuration,
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return TfInput(path, plan=plan, locations=locations)


def _module_tree_errors(module: _Module, loader: _Loader) -> list[InputError]:
    errors: list[InputError] = []
    seen: set[Path] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        errors.extend(current.errors)
        for call, target in current.local_calls():
            if target.resolve() in seen:
                continue
            seen.add(target.resolve())
            if not target.is_dir() or not any(target.glob("*.tf")):
                errors.append(InputError(f'module "{call.labels[0]}": no .tf files in its source {target}',
                                         path=call.source.path, line=call.line))
                continue
            pending.append(loader.directory(target))
    return errors


def _emit(instance: _Instance, changes: list[dict], locations: dict[str, tuple[str, int]]) -> None:
    prefix = instance.address + "." if instance.address else ""
    for (mode, type_, name), block in instance.module.resources.items():
        result = instance.resource_instances(block)
        if isinstance(result, Unknown):
            continue
        for index, attributes in result[1]:
            address = f"{prefix}{'data.' if mode == 'data' else ''}{type_}.{name}{_index_text(index)}"
            locations[address] = (block.source.path, block.line)
            if mode == "managed":
                changes.append(_change(address, instance.address, mode, type_, name, index, attributes, ["create"]))
            elif type_ == POLICY_DOCUMENT and isinstance(attributes.get("json"), Unknown):
                # Read during apply, as in a plan: the rules fall back to its statement blocks.
                attributes = _sets_of(
                    {k: v for k, v in attributes.items() if k not in ("json", "minified_json")})
                for statement in attributes.get("statement") or []:
                    if isinstance(statement, dict):
                        statement.setdefault("effect", "Allow")  # the provider's default, shown in plans
                change = _change(address, instance.address, mode, type_, name, index, attributes, ["read"])
                change["action_reason"] = "read_because_config_unknown"
                changes.append(change)
    for name in instance.module.calls:
        result = instance.children(name)
        if result is None or isinstance(result, Unknown):
            continue
        for _, child in result[1]:
            _emit(child, changes, locations)


def _sets_of(value):
    """The provider's string sets (actions, resources, values...) are wholly unknown if one element is."""
    if isinstance(value, dict):
        return {key: _sets_of(item) for key, item in value.items()}
    if isinstance(value, list):
        if any(isinstance(item, Unknown) for item in value):
            return next(item for item in value if isinstance(item, Unknown))
        return [_sets_of(item) for item in value]
    return value


def _change(address: str, module_address: str, mode: str, type_: str, name: str, index, attributes: dict,
            actions: list[str]) -> dict:
    after, after_unknown, unresolved = _split(attributes, "")
    change: dict[str, Any] = {"address": address}
    if module_address:
        change["module_address"] = module_address
    change.update({"mode": mode, "type": type_, "name": name})
    if index is not None:
        change["index"] = index
    change["provider_name"] = f"registry.terraform.io/hashicorp/{type_.split('_')[0]}"
    change["change"] = {"actions": actions, "before": None, "after": after if after is not _MISSING else {},
                        "after_unknown": after_unknown if isinstance(after_unknown, dict) else {},
                        "before_sensitive": False, "after_sensitive": {}}
    if unresolved:
        change["sesrego"] = {"unresolved": dict(unresolved)}
    return change


def _split(value, path: str) -> tuple[Any, Any, list[tuple[str, str]]]:
    """(known part, after_unknown shape, [(attribute path, expression)]) of a value, as a plan shows it."""
    if isinstance(value, Unknown):
        return _MISSING, True, [(path, value.expression)]
    if isinstance(value, dict):
        known, shape, unresolved = {}, {}, []
        for key, item in value.items():
            item_known, item_shape, item_unresolved = _split(item, f"{path}.{key}" if path else str(key))
            if item_known is not _MISSING:
                known[key] = item_known
            if item_shape is not False and item_shape != {}:
                shape[key] = item_shape
            unresolved.extend(item_unresolved)
        return known, shape, unresolved
    if isinstance(value, list):
        known, shape, unresolved = [], [], []
        for i, item in enumerate(value):
            item_known, item_shape, item_unresolved = _split(item, f"{path}[{i}]")
            known.append(None if item_known is _MISSING else item_known)
            shape.append(False if item_shape == {} else item_shape)
            unresolved.extend(item_unresolved)
        return known, (shape if any(s is not False for s in shape) else False), unresolved
    return value, False, []


def _configuration(module: _Module, loader: _Loader, depth: int) -> dict:
    """``configuration.<module>``: each resource's attribute references, and local module calls."""
    resources = []
    for (mode, type_, name), block in module.resources.items():
        expressions = {}
        for attribute, expr in block.body.attributes.items():
            references = _references(expr.node)
            if references:
                expressions[attribute] = {"references": references}
        address = f"{'data.' if mode == 'data' else ''}{type_}.{name}"
        resources.append({"address": address, "mode": mode, "type": type_, "name": name,
                          "expressions": expressions})
    configuration: dict[str, Any] = {"resources": resources}
    calls = {}
    if depth < MAX_MODULE_DEPTH:
        for call, target in module.local_calls():
            calls[call.labels[0]] = {"source": _literal_string(call.body.attributes.get("source")),
                                     "module": _configuration(loader.directory(target), loader, depth + 1)}
    if calls:
        configuration["module_calls"] = calls
    return configuration


def _references(node) -> list[str]:
    """Terraform-style references of an expression: ``data.t.n.json`` and ``data.t.n``, ``var.x``..."""
    found: list[str] = []
    _collect_references(node, found)
    return found


_TRAVERSALS = frozenset({"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"})


def _collect_references(node, found: list[str]) -> None:
    if not _is_tree(node):
        return
    if node.data in _TRAVERSALS or node.data == "identifier":
        root, steps = _traversal(node)
        if isinstance(root, str):
            names = [root]
            for kind, argument in steps:
                if kind != "attr":
                    break
                names.append(argument)
            size = 3 if root == "data" else 2
            for reference in (".".join(names), ".".join(names[:size])):
                if "." in reference and reference not in found:
                    found.append(reference)
        else:
            _collect_references(root, found)
        for kind, argument in steps:  # index expressions hold references of their own
            for sub in (argument if kind == "splat" else [(kind, argument)]):
                if _is_tree(sub[1]):
                    _collect_references(sub[1], found)
        return
    if node.data == "object_elem_key":
        inner = _trees(node)[0]
        children = _trees(inner) if inner.data == "expr_term" else []
        if inner.data == "keyword" or (inner.children and _is_tree(inner.children[0]) and children
                                       and children[0].data == "identifier"):
            return  # a bare key is a name, not a reference
    if node.data == "function_call":
        for child in _trees(node):
            if child.data == "arguments":
                _collect_references(child, found)
        return
    for child in node.children:
        _collect_references(child, found)

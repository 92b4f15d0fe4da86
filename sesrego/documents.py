"""JSON and YAML documents from users and bundles, read with bounds.

One place reads every configuration file, claims file and bundle data document, so each gets
the same guarantees:

* JSON is strict: ``NaN`` and ``Infinity`` (which Python accepts and OPA refuses) are errors,
  and so is an integer too long for Python to convert (more than 4,300 digits).
* YAML is JSON-shaped: dates and times stay the text they were written as (as OPA's loader
  keeps them), keys become strings, and ``.nan``/``.inf``, binary and other non-JSON values are errors.
* Aliases (``*name``) may expand to at most :data:`MAX_ALIAS_NODES` nodes in all, so a
  "billion laughs" document is refused while it is parsed, before it costs memory; an alias
  to the node that contains it is refused.
* Nesting deeper than :data:`MAX_DEPTH` is refused, so nothing downstream recurses without bound.

Errors are :class:`~sesrego.errors.SesregoError` subclasses naming the file, with a line
where the parser gives one.
"""

from __future__ import annotations

import codecs
import datetime
import json
import math

import yaml

from .errors import InputError, SesregoError

#: Containers nested deeper than this are refused.
MAX_DEPTH = 100
#: YAML aliases may expand to at most this many nodes in one document.
MAX_ALIAS_NODES = 10_000


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a float (``1e400``) would become Infinity, which OPA
    refuses in a document sesrego writes (a JWT's claims, a bundle's data), so it is an error."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large for sesrego to carry exactly (it would become "
                         "Infinity, which OPA refuses)")
    return value


def _unique(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise _DuplicateKey(twice)
    return dict(pairs)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"the key {json.dumps(key)} is set twice in one object; the first would be silently lost")


def load_json(text: str | bytes, name: object, *, error: type[SesregoError] = InputError, unique_keys: bool = False,
              **hooks) -> object:
    """A JSON document, strictly (see the module docstring). ``unique_keys``: a key set twice in one
    object is an error (for configuration, where the first value would be a silent no-op)."""
    if unique_keys:
        hooks["object_pairs_hook"] = _unique
    hooks.setdefault("parse_float", _finite)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"not UTF-8 text (byte {exc.start})", path=name) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, parse_constant=_reject_constant, **hooks)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON: {exc.msg}", path=name, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise error(f"JSON nested more than {MAX_DEPTH} levels deep", path=name) from None
    except _DuplicateKey as exc:
        raise error(str(exc), path=name) from None
    except ValueError as exc:  # NaN/Infinity, or an integer over Python's digit limit
        raise error(f"not valid JSON: {_first_line(exc)}", path=name) from None
    check_depth(value, name, error=error)
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    if "integer string conversion" in text:
        return "a number has more digits than sesrego reads (4,300)"
    return text


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with alias expansion counted while the document is composed."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._alias_budget = MAX_ALIAS_NODES
        self._sizes: dict[int, int] = {}
        self._open_anchors: list[str] = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor in self._open_anchors:
                raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} refers to a node that "
                                                  "contains it", event.start_mark)
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._alias_budget -= self._size(node)
                if self._alias_budget < 0:
                    raise yaml.composer.ComposerError(
                        None, None, f"aliases expand to more than {MAX_ALIAS_NODES} nodes", event.start_mark)
            return super().compose_node(parent, index)
        anchor = getattr(self.peek_event(), "anchor", None)
        if anchor is not None:
            self._open_anchors.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            if anchor is not None:
                self._open_anchors.pop()

    def construct_mapping(self, node, deep=False):
        """A mapping whose keys are unique: a key written twice is an error, as OPA's YAML reader
        (yaml.v3) makes it, never a value silently lost. Keys merged in with ``<<`` may be overridden."""
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"the key {key_node.value!r} is set twice "
                                                            "in one mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def _size(self, node) -> int:
        """How many nodes ``node`` stands for once every alias inside it is expanded."""
        key = id(node)
        if key not in self._sizes:
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._size(item) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
            else:
                size = 1
            self._sizes[key] = min(size, MAX_ALIAS_NODES + 1)
        return self._sizes[key]


# Dates and times stay the text they were written as, as OPA's YAML loader keeps them.
_BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def user_text(raw: bytes, name: object, *, error: type[SesregoError] = InputError) -> str:
    """A file a person wrote (configuration, a baseline) as text: UTF-8, with or without a byte-order
    mark, or UTF-16 with one (what Windows PowerShell's ``>`` and ``Out-File`` write), as plans are read;
    anything else is an error naming the file. Bundle contents stay UTF-8 only, as OPA reads them."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise error("the file is UTF-32; save it as UTF-8", path=name)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise error("the file starts with a UTF-16 byte-order mark but is not UTF-16 text", path=name) from None
    if len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0):
        raise error("the file is UTF-16 or UTF-32 without a byte-order mark; save it as UTF-8", path=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", path=name) from None
    return text[1:] if text.startswith("\ufeff") else text


def load_yaml(text: str | bytes, name: object, *, error: type[SesregoError] = InputError) -> object:
    """A YAML document as JSON data (see the module docstring)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"not UTF-8 text (byte {exc.start})", path=name) from None
    loader = None
    try:
        loader = _BoundedLoader(text)
        value = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        raise error(f"not valid YAML: {str(reason).splitlines()[0] if str(reason) else 'unreadable'}", path=name,
                    line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    except RecursionError:
        raise error(f"YAML nested more than {MAX_DEPTH} levels deep", path=name) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value that cannot be built
        raise error(f"not valid YAML: {_first_line(exc)}", path=name) from None
    finally:
        if loader is not None:
            loader.dispose()
    check_depth(value, name, error=error, yaml_values=True)
    return json_data(value, name, error=error)


def load(text: str | bytes, name: object, *, yaml_syntax: bool, error: type[SesregoError] = InputError) -> object:
    """:func:`load_yaml` or :func:`load_json` (keys unique: a configuration document)."""
    return load_yaml(text, name, error=error) if yaml_syntax else load_json(text, name, error=error, unique_keys=True)


def check_depth(value: object, name: object, *, error: type[SesregoError] = InputError,
                yaml_values: bool = False) -> None:
    """Refuse containers nested deeper than :data:`MAX_DEPTH` (without recursing)."""
    stack = [(value, 1)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if depth > MAX_DEPTH:
            raise error(f"nested more than {MAX_DEPTH} levels deep", path=name)
        if yaml_values:  # aliases share objects: walk each once
            if id(item) in seen:
                continue
            seen.add(id(item))
        stack.extend((child, depth + 1) for child in children)


def json_data(value: object, name: object, *, error: type[SesregoError] = InputError) -> object:
    """A parsed YAML value as the JSON data OPA would load, or an error naming what is not JSON."""
    if isinstance(value, dict):
        return {_key(k, name, error): json_data(v, name, error=error) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_data(v, name, error=error) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise error(f"{value} is not a JSON number (OPA refuses NaN and Infinity)", path=name)
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise error(f"a {type(value).__name__} value is not JSON data", path=name)


def _key(key: object, name: object, error) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (datetime.date, datetime.datetime)):
        return key.isoformat()
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        return str(key)
    raise error(f"a {type(key).__name__} mapping key is not JSON data", path=name)

"""Terraform's built-in functions, as far as they can be evaluated without running Terraform.

:data:`FUNCTIONS` maps a name to its implementation. An ordinary function receives known values
only: the evaluator returns the unknown instead of calling it when any argument holds an unknown
value. A function in :data:`STRUCTURAL` only rearranges values, so it is called with unknown
values inside its arguments (``concat([var.a], ["x"])``) and keeps them; ``jsonencode`` keeps the
structure around its unknown leaves (:class:`~.values.Encoded`), ``join`` and ``format`` the known
text around unknown parts (:class:`~.values.Partial`). Regular expressions use RE2, as Terraform
does, so no pattern can backtrack. Functions that read files are in :mod:`.evaluate`, which knows
the scanned tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from .values import (
    Encoded,
    Fail,
    LimitExceeded,
    Partial,
    Repeated,
    TfSet,
    Unknown,
    active_budget,
    equal,
    find_unknown,
    jsonencode,
    normal_number,
    number,
    to_bool,
    to_string,
)

FUNCTIONS: dict[str, Callable[..., Any]] = {}
#: Functions called even when their arguments hold unknown values (they keep them).
STRUCTURAL: set[str] = set()
#: Functions whose result is only known during apply.
APPLY_TIME = frozenset({"timestamp", "uuid", "uuidv5", "bcrypt", "plantimestamp", "timeadd"})


def function(name: str, structural: bool = False):
    def register(implementation):
        FUNCTIONS[name] = implementation
        if structural:
            STRUCTURAL.add(name)
        return implementation
    return register


def _list(value) -> list:
    if isinstance(value, Unknown):
        raise Fail("not known")
    if isinstance(value, list):
        return value
    raise Fail("a list is required")


def _map(value) -> dict:
    if isinstance(value, dict):
        return value
    raise Fail("a map is required")


def as_string(value) -> str:
    if isinstance(value, str):
        return value
    return to_string(value)


def allow_size(size: int) -> None:
    budget = active_budget()
    if budget is not None:
        budget.allow(size)


def _distinct(values) -> list:
    out, seen = [], set()
    for item in values:
        key = json.dumps(item, sort_keys=True, default=repr)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def to_set(values) -> TfSet:
    """A set of ``values`` (of one type), ordered as Terraform orders a set of strings, numbers or bools."""
    items = _distinct(values)
    for kind in (str, bool):
        if items and all(isinstance(item, kind) for item in items):
            return TfSet(sorted(items))
    if items and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
        return TfSet(sorted(items))
    return TfSet(items)


def _same_type(values, function: str) -> list:
    """``values`` converted to their common type, as a function taking a list or set converts them."""
    from .types import unified

    try:
        return unified(list(values))
    except Fail:
        raise Fail(f"{function}(): all elements must have the same type") from None


# --- structural: unknown values inside the arguments are kept --------------------------------


@function("jsonencode", structural=True)
def _jsonencode(value):
    unknown = find_unknown(value)
    if unknown is None:
        return jsonencode(value)
    if isinstance(value, Unknown):
        return value if not isinstance(value, (Partial, Repeated)) else Unknown.of(value.causes)
    return Encoded(value, unknown.causes)


@function("concat", structural=True)
def _concat(*lists):
    return [item for values in lists for item in _list(values)]


@function("merge", structural=True)
def _merge(*maps):
    out: dict = {}
    for item in maps:
        if item is None:
            continue
        out.update(_map(item))
    return out


@function("flatten", structural=True)
def _flatten(value):
    out: list = []
    pending = [iter(_list(value))]
    while pending:
        for item in pending[-1]:
            if isinstance(item, Unknown):
                raise Fail("not known")
            if isinstance(item, list):
                pending.append(iter(item))
                break
            out.append(item)
        else:
            pending.pop()
    return out


@function("tolist", structural=True)
def _tolist(value):
    if isinstance(value, Repeated):
        return value
    return _same_type(_list(value), "tolist")


@function("tomap", structural=True)
def _tomap(value):
    mapping = _map(value)
    return dict(zip(mapping, _same_type(mapping.values(), "tomap")))


@function("length", structural=True)
def _length(value):
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise Fail("length of a value that is not a collection or string")


@function("keys", structural=True)
def _keys(value):
    return sorted(_map(value))


@function("values", structural=True)
def _values(value):
    if isinstance(value, Repeated):
        return value
    mapping = _map(value)
    return [mapping[key] for key in sorted(mapping)]


@function("lookup", structural=True)
def _lookup(mapping, key, *default):
    key = as_string(key)
    if key in _map(mapping):
        return mapping[key]
    if default:
        return default[0]
    raise Fail(f"the map has no key {key!r}")


@function("element", structural=True)
def _element(values, index):
    if isinstance(values, Repeated):
        return values.element
    values = _list(values)
    if not values:
        raise Fail("element of an empty list")
    return values[int(number(index)) % len(values)]


@function("one", structural=True)
def _one(values):
    if isinstance(values, Repeated):
        return values.element
    values = _list(values)
    if len(values) > 1:
        raise Fail("one() needs a list of at most one element")
    return values[0] if values else None


@function("slice", structural=True)
def _slice(values, start, end):
    values = _list(values)
    start, end = int(number(start)), int(number(end))
    if not 0 <= start <= end <= len(values):
        raise Fail("slice indices out of range")
    return values[start:end]


@function("reverse", structural=True)
def _reverse(values):
    return list(reversed(_list(values)))


@function("coalesce", structural=True)
def _coalesce(*values):
    values = _same_type(values, "coalesce")
    for value in values:
        if isinstance(value, Unknown):
            return value
        if value is not None and value != "":
            return value
    raise Fail("no non-null argument")


@function("coalescelist", structural=True)
def _coalescelist(*lists):
    for values in lists:
        if _list(values):
            return values
    return []


@function("zipmap", structural=True)
def _zipmap(keys, values):
    keys, values = _list(keys), _list(values)
    if len(keys) != len(values) or find_unknown(keys) is not None:
        raise Fail("zipmap needs known keys and lists of the same length")
    return {as_string(k): v for k, v in zip(keys, values)}


@function("join", structural=True)
def _join(separator, *lists):
    separator = as_string(separator)
    parts: list = []
    for values in lists:
        if isinstance(values, Repeated):
            values = [values.element]  # the usual `count = var.enabled ? 1 : 0`: one instance
        for item in _list(values):
            if parts:
                parts.append(separator)
            parts.append(item if isinstance(item, Unknown) else as_string(item))
    return _text(parts)


def _text(parts: list):
    """Known text, or a :class:`Partial` keeping the known parts around unknown ones."""
    invalid = next((part for part in parts if isinstance(part, Unknown) and not _splices(part)), None)
    if invalid is not None:
        return invalid
    if any(isinstance(part, Unknown) for part in parts):
        return Partial(parts)
    allow_size(sum(len(part) for part in parts))
    return "".join(parts)


def _splices(unknown: Unknown) -> bool:
    """Whether an unknown can stand as one part of a string (it is not an error or a list)."""
    from .values import Invalid

    return not isinstance(unknown, (Invalid, Repeated))


@function("format", structural=True)
def _format(spec, *args):
    spec, args = as_string(spec), list(args)
    parts: list = []
    position = 0
    for match in re.finditer(r"%%|%[-+# 0]*\d*(?:\.\d+)?[a-zA-Z]", spec):
        parts.append(spec[position:match.start()])
        position = match.end()
        if match.group(0) == "%%":
            parts.append("%")
            continue
        if not args:
            raise Fail("too few arguments for format")
        parts.append(_format_verb(match.group(0), args.pop(0)))
    parts.append(spec[position:])
    return _text(parts)


def _format_verb(verb: str, value):
    kind = verb[-1]
    if isinstance(value, Unknown):
        return value if kind in "sdvq" else Unknown.of(value.causes)
    if kind == "q":
        return json.dumps(as_string(value), ensure_ascii=False)
    if kind == "d":
        return str(int(number(value)))
    if kind == "t":
        return "true" if to_bool(value) else "false"
    if kind in "fFeEgG":
        return ("%" + verb[1:]) % float(number(value))
    if kind in "sv":
        return as_string(value) if not isinstance(value, (list, dict)) else jsonencode(value)
    raise Fail(f"unsupported format verb {verb}")


@function("sensitive", structural=True)
def _sensitive(value):
    return value


FUNCTIONS["nonsensitive"] = _sensitive
STRUCTURAL.add("nonsensitive")


# --- ordinary functions: known arguments only ----------------------------------------------------


def _simple(name: str, implementation: Callable) -> None:
    FUNCTIONS[name] = implementation


def _jsondecode(text):
    try:
        return _decoded(json.loads(as_string(text)))
    except ValueError:
        raise Fail("not valid JSON") from None
    except RecursionError:
        raise LimitExceeded("jsondecode() builds a value nested too deeply") from None


def _decoded(value):
    if isinstance(value, float):
        return normal_number(value)
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if isinstance(value, dict):
        return {key: _decoded(item) for key, item in value.items()}
    return value


def _yamldecode(text):
    import yaml

    try:
        documents = list(yaml.safe_load_all(as_string(text)))
    except (yaml.YAMLError, ValueError):
        raise Fail("not valid YAML") from None
    except RecursionError:
        raise LimitExceeded("yamldecode() builds a value nested too deeply") from None
    if len(documents) > 1:
        raise Fail("YAML with more than one document")
    value = documents[0] if documents else None
    budget = active_budget()
    if budget is not None:
        budget.check(value)
    return _decoded(json.loads(json.dumps(value, default=str)))


def _range(*args):
    numbers = [number(a) for a in args]
    if not 1 <= len(numbers) <= 3:
        raise Fail("range takes one to three numbers")
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (
        numbers[0], numbers[1], numbers[2] if len(numbers) > 2 else (1 if numbers[1] >= numbers[0] else -1))
    if step == 0 or not all(math.isfinite(n) for n in (start, stop, step)):
        raise Fail("range needs a non-zero step and finite bounds")
    size = max(0, math.ceil((stop - start) / step))
    budget = active_budget()
    if budget is not None:
        budget.step(size)
        budget.allow(size * 8)
    return [normal_number(start + i * step) for i in range(size)]


def _title(text):
    return re.sub(r"(?<![A-Za-z0-9_'])([a-z])", lambda m: m.group(1).upper(), as_string(text))


def _substr(text, offset, length):
    text, offset, length = as_string(text), int(number(offset)), int(number(length))
    if offset < 0:
        offset = max(len(text) + offset, 0)
    return text[offset:] if length < 0 else text[offset:offset + length]


def _split(separator, text):
    separator, text = as_string(separator), as_string(text)
    return text.split(separator) if separator else list(text)


def _trim(text, chars):
    return as_string(text).strip(as_string(chars))


def _position(values, value) -> int | None:
    """Where ``value`` is in the list ``values`` (compared as Terraform compares), or None."""
    if value is None:
        raise Fail("the value to look for must not be null")
    return next((i for i, item in enumerate(_list(values)) if equal(item, value)), None)


def _element_index(values, value):
    position = _position(values, value)
    if position is None:
        raise Fail("value not in list")
    return position


def _chunklist(values, size):
    values, size = _list(values), int(number(size))
    if size < 0:
        raise Fail("chunk size must not be negative")
    if size == 0:
        return [values]
    return [values[i:i + size] for i in range(0, len(values), size)]


def _setproduct(*sets):
    total = 1
    for values in sets:
        total *= len(_list(values))
    budget = active_budget()
    if budget is not None:
        budget.step(total)
    out: list = [[]]
    for values in sets:
        out = [prefix + [item] for prefix in out for item in values]
    return out


def _set_operation(name: str, sets, combine) -> TfSet:
    """A set function: every argument converted to one set type, then combined."""
    if not sets:
        raise Fail(f"{name}() needs at least one set")
    lists = [_list(values) for values in sets]
    flat = _same_type([item for values in lists for item in values], name)
    converted, start = [], 0
    for values in lists:
        converted.append(_distinct(flat[start:start + len(values)]))
        start += len(values)
    return to_set(combine(converted[0], converted[1:]))


def _formatlist(spec, *args):
    lengths = {len(arg) for arg in args if isinstance(arg, list)}
    if len(lengths) > 1:
        raise Fail("formatlist needs lists of the same length")
    size = lengths.pop() if lengths else 1
    return [_format(spec, *[arg[i] if isinstance(arg, list) else arg for arg in args]) for i in range(size)]


def _min(*values):
    if not values:
        raise Fail("min needs at least one number")
    return min(number(v) for v in values)


def _max(*values):
    if not values:
        raise Fail("max needs at least one number")
    return max(number(v) for v in values)


for _name, _implementation in {
    "jsondecode": _jsondecode,
    "yamldecode": _yamldecode,
    "tostring": lambda value: None if value is None else as_string(value),
    "tonumber": lambda value: None if value is None else number(value),
    "tobool": lambda value: None if value is None else to_bool(value),
    "toset": lambda value: to_set(_same_type(_list(value), "toset")),
    "distinct": lambda value: _distinct(_same_type(_list(value), "distinct")),
    "compact": lambda value: [as_string(item) for item in _list(value) if item is not None and item != ""],
    "split": _split,
    "lower": lambda text: as_string(text).lower(),
    "upper": lambda text: as_string(text).upper(),
    "title": _title,
    "strrev": lambda text: as_string(text)[::-1],
    "trimspace": lambda text: as_string(text).strip(),
    "trimprefix": lambda text, prefix: as_string(text).removeprefix(as_string(prefix)),
    "trimsuffix": lambda text, suffix: as_string(text).removesuffix(as_string(suffix)),
    "trim": _trim,
    "chomp": lambda text: re.sub(r"(\r\n|\n|\r)+$", "", as_string(text)),
    "indent": lambda spaces, text: as_string(text).replace("\n", "\n" + " " * int(number(spaces))),
    "substr": _substr,
    "startswith": lambda text, prefix: as_string(text).startswith(as_string(prefix)),
    "endswith": lambda text, suffix: as_string(text).endswith(as_string(suffix)),
    "strcontains": lambda text, part: as_string(part) in as_string(text),
    "contains": lambda values, value: _position(values, value) is not None,
    "index": _element_index,
    "range": _range,
    "formatlist": _formatlist,
    "sort": lambda values: sorted(as_string(item) for item in _list(values)),
    "chunklist": _chunklist,
    "setunion": lambda *sets: _set_operation("setunion", sets, lambda first, rest: first + [i for r in rest
                                                                                            for i in r]),
    "setintersection": lambda *sets: _set_operation("setintersection", sets, lambda first, rest: [
        i for i in first if all(i in r for r in rest)]),
    "setsubtract": lambda a, b: _set_operation("setsubtract", (a, b), lambda first, rest: [
        i for i in first if i not in rest[0]]),
    "setproduct": _setproduct,
    "alltrue": lambda values: all(to_bool(v) for v in _list(values)),
    "anytrue": lambda values: any(to_bool(v) for v in _list(values)),
    "min": _min,
    "max": _max,
    "abs": lambda value: abs(number(value)),
    "ceil": lambda value: normal_number(math.ceil(number(value))),
    "floor": lambda value: normal_number(math.floor(number(value))),
    "signum": lambda value: (number(value) > 0) - (number(value) < 0),
    "sum": lambda values: normal_number(sum(number(n) for n in _list(values))),
    "parseint": lambda text, base: int(as_string(text), int(number(base))),
    "base64encode": lambda text: base64.b64encode(as_string(text).encode()).decode(),
    "base64decode": lambda text: base64.b64decode(as_string(text), validate=True).decode(),
    "md5": lambda text: hashlib.md5(as_string(text).encode()).hexdigest(),
    "sha1": lambda text: hashlib.sha1(as_string(text).encode()).hexdigest(),
    "sha256": lambda text: hashlib.sha256(as_string(text).encode()).hexdigest(),
    "basename": lambda path: as_string(path).rstrip("/").rsplit("/", 1)[-1],
    "dirname": lambda path: as_string(path).rstrip("/").rsplit("/", 1)[0] if "/" in as_string(path) else ".",
}.items():
    _simple(_name, _implementation)


from . import regex  # noqa: E402,F401  registers replace(), regex() and regexall()

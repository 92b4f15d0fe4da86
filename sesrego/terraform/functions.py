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

import json
import re
from collections.abc import Callable
from typing import Any

from .values import (
    Encoded,
    Fail,
    Partial,
    Repeated,
    TfSet,
    Unknown,
    active_budget,
    equal,
    find_unknown,
    jsonencode,
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
    if not lists:
        raise Fail("concat() needs at least one list")
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
    if isinstance(value, str):
        from .text import length

        return length(value)
    if isinstance(value, (list, dict)):
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
    from .numeric import whole

    position = whole(index, "element() needs a whole number index")
    if position < 0:
        raise Fail("element() cannot use a negative index")
    return values[position % len(values)]


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
    from .numeric import whole

    values = _list(values)
    start, end = whole(start, "slice() needs whole indices"), whole(end, "slice() needs whole indices")
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
    raise Fail("coalescelist() found no non-empty list")


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


@function("sensitive", structural=True)
def _sensitive(value):
    return value


FUNCTIONS["nonsensitive"] = _sensitive
STRUCTURAL.add("nonsensitive")


# --- ordinary functions: known arguments only ----------------------------------------------------


def _simple(name: str, implementation: Callable) -> None:
    FUNCTIONS[name] = implementation


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


def _indent(spaces, text):
    from .numeric import whole

    count = whole(spaces, "indent() needs a whole number of spaces")
    if count < 0:
        raise Fail("indent() cannot indent by a negative number of spaces")
    text = as_string(text)
    allow_size(len(text) + text.count("\n") * count)
    return text.replace("\n", "\n" + " " * count)


def _chunklist(values, size):
    from .numeric import whole

    values, size = _list(values), whole(size, "chunklist() needs a whole chunk size")
    if size < 0:
        raise Fail("chunk size must not be negative")
    if size == 0:
        return [values]
    return [values[i:i + size] for i in range(0, len(values), size)]


def _setproduct(*sets):
    if len(sets) < 2:
        raise Fail("setproduct() needs at least two sets")
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


for _name, _implementation in {
    "tostring": lambda value: None if value is None else as_string(value),
    "tonumber": lambda value: None if value is None else number(value),
    "tobool": lambda value: None if value is None else to_bool(value),
    "toset": lambda value: to_set(_same_type(_list(value), "toset")),
    "distinct": lambda value: _distinct(_same_type(_list(value), "distinct")),
    "compact": lambda value: [as_string(item) for item in _list(value) if item is not None and item != ""],
    "split": _split,
    "trimprefix": lambda text, prefix: as_string(text).removeprefix(as_string(prefix)),
    "trimsuffix": lambda text, suffix: as_string(text).removesuffix(as_string(suffix)),
    "trim": _trim,
    "chomp": lambda text: re.sub(r"(\r\n|\n|\r)+$", "", as_string(text)),
    "indent": _indent,
    "startswith": lambda text, prefix: as_string(text).startswith(as_string(prefix)),
    "endswith": lambda text, suffix: as_string(text).endswith(as_string(suffix)),
    "strcontains": lambda text, part: as_string(part) in as_string(text),
    "contains": lambda values, value: _position(values, value) is not None,
    "index": _element_index,
    "sort": lambda values: sorted(as_string(item) for item in _list(values)),
    "chunklist": _chunklist,
    "setunion": lambda *sets: _set_operation("setunion", sets, lambda first, rest: first + [i for r in rest
                                                                                            for i in r]),
    "setintersection": lambda *sets: _set_operation("setintersection", sets, lambda first, rest: [
        i for i in first if all(i in r for r in rest)]),
    "setsubtract": lambda a, b: _set_operation("setsubtract", (a, b), lambda first, rest: [
        i for i in first if i not in rest[0]]),
    "setproduct": _setproduct,
    "alltrue": lambda values: all(v is not None and to_bool(v) for v in _list(values)),
    "anytrue": lambda values: any(v is not None and to_bool(v) for v in _list(values)),
}.items():
    _simple(_name, _implementation)


def _transpose(mapping):
    out: dict = {}
    for key in sorted(_map(mapping)):
        for item in _list(mapping[key]):
            out.setdefault(as_string(item), []).append(key)
    return out


def _matchkeys(values, keys, searchset):
    values, keys, wanted = _list(values), _list(keys), _list(searchset)
    if len(values) != len(keys):
        raise Fail("matchkeys() needs lists of values and keys of the same length")
    return [value for value, key in zip(values, keys) if any(equal(key, item) for item in wanted)]


_simple("transpose", _transpose)
_simple("matchkeys", _matchkeys)
FUNCTIONS["ephemeralasnull"] = _sensitive
STRUCTURAL.add("ephemeralasnull")

from . import numeric, regex, text  # noqa: E402,F401  register the numeric, regular expression and string functions

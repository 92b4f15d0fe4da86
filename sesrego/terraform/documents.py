"""Partly known policy documents, with their unknown values marked (docs/plan-extension.md).

A policy attribute whose string is unknown may still have a known structure: ``jsonencode`` of an
object with one unknown leaf, a heredoc of JSON with one interpolation, a policy document with one
unknown argument. :func:`document_of` decodes what is known and replaces each unknown value with a
marker ``{"$unknown": [expressions], "like": glob}``; ``like`` keeps the known text of a string
with unknown parts, each unknown part a ``*``.
"""

from __future__ import annotations

import json
import re
from os.path import commonprefix

from .values import Either, Encoded, Partial, TfSet, Unknown

_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(_OPEN + r"(\d+)" + _CLOSE)


def marker(unknown: Unknown) -> dict:
    out: dict = {"$unknown": unknown.expressions}
    if isinstance(unknown, Partial) and any(isinstance(part, str) and part for part in unknown.parts):
        out["like"] = like(unknown.parts)
    return out


def like(parts) -> str:
    """An IAM glob every value of a string made of ``parts`` matches: each unknown part is ``*``."""
    text = "".join(part if isinstance(part, str) else "*" for part in parts)
    return re.sub(r"\*+", "*", text)


def marked(value):
    """``value`` as plain JSON, every unknown replaced by a marker."""
    if isinstance(value, Either):
        return _common([marked(option) for option in value.options], value)
    if isinstance(value, Unknown):
        return marker(value)
    if isinstance(value, dict):
        return {str(key): marked(item) for key, item in value.items()}
    if isinstance(value, (list, TfSet)):
        return [marked(item) for item in value]
    return value


def document_of(unknown: Unknown):
    """The policy document an unknown policy string would hold, with markers; None if not decodable."""
    if isinstance(unknown, Encoded):
        return marked(unknown.value)
    if isinstance(unknown, Partial):
        return _decoded_template(unknown.parts)
    if isinstance(unknown, Either):
        options = [_option_document(option) for option in unknown.options]
        return None if None in options else _common(options, unknown)
    return None


def _option_document(option):
    """One option of a conditional policy: a known JSON string decoded, or a partly known document."""
    if isinstance(option, Unknown):
        return document_of(option)
    try:
        document = json.loads(option) if isinstance(option, str) else None
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) and '"$unknown"' not in option else None


def _common(options: list, either: Either):
    """What the options of ``c ? a : b`` have in common, each difference a marker of the whole conditional.

    Lists of one length and objects with the same keys are compared item by item; two strings give a
    marker whose ``like`` keeps their common start and end. The result may stand for more values
    than the options (``[a1, b2]`` from ``[a1, a2]`` or ``[b1, b2]``), never for fewer.
    """
    first, second = options
    if first == second:
        return first
    if _is_marker(first) or _is_marker(second) or type(first) is not type(second):
        return {"$unknown": either.expressions}
    if isinstance(first, str):
        return {"$unknown": either.expressions} | _like_both(first, second)
    if isinstance(first, list) and len(first) == len(second):
        return [_common([a, b], either) for a, b in zip(first, second)]
    if isinstance(first, dict) and first.keys() == second.keys():
        return {key: _common([first[key], second[key]], either) for key in first}
    return {"$unknown": either.expressions}


def _is_marker(value) -> bool:
    return isinstance(value, dict) and "$unknown" in value


def _like_both(first: str, second: str) -> dict:
    """``like`` for a string that is one of two: their common start, ``*``, their common end."""
    start = len(commonprefix([first, second]))
    rest = first[start:][::-1], second[start:][::-1]
    end = len(commonprefix(list(rest)))
    glob = like([first[:start], None, first[len(first) - end:]])
    return {"like": glob} if glob != "*" else {}


def _decoded_template(parts: tuple):
    """JSON text with unknown parts (a heredoc, a template): each part becomes a placeholder, then a marker."""
    tokens: list[str] = []
    unknowns: list[Unknown] = []
    in_string = escaped = False
    for part in parts:
        if isinstance(part, str):
            tokens.append(part)
            for char in part:
                if escaped:
                    escaped = False
                elif char == "\\" and in_string:
                    escaped = True
                elif char == '"':
                    in_string = not in_string
            continue
        placeholder = f"{_OPEN}{len(unknowns)}{_CLOSE}"
        unknowns.append(part)
        if in_string:
            tokens.append(placeholder)
        elif isinstance(part, Encoded):
            tokens.append(json.dumps(marked(part.value)))
        else:
            tokens.append(f'"{placeholder}"')
    try:
        document = json.loads("".join(tokens))
    except (ValueError, RecursionError):
        return None
    return _replace(document, unknowns)


def _replace(value, unknowns: list[Unknown]):
    if isinstance(value, str):
        if _OPEN not in value:
            return value
        pieces = _PLACEHOLDER.split(value)  # text, index, text, index, ..., text
        parts = [piece if i % 2 == 0 else unknowns[int(piece)] for i, piece in enumerate(pieces)]
        parts = [part for part in parts if part != ""]
        if len(parts) == 1 and isinstance(parts[0], Unknown):
            return marker(parts[0])
        return marker(Partial(parts))
    if isinstance(value, list):
        return [_replace(item, unknowns) for item in value]
    if isinstance(value, dict):
        keys = [key for key in value if _OPEN in key]
        if keys:  # an object key is not known: the object is unknown as a whole
            causes = [cause for key in keys for index in _PLACEHOLDER.findall(key) for cause in
                      unknowns[int(index)].causes]
            return marker(Unknown.of(causes))
        return {key: _replace(item, unknowns) for key, item in value.items()}
    return value


def causes_in(value, out: dict[str, str]) -> None:
    """Every (expression, why) an unknown value or a partly known one depends on."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, Unknown):
            for expression, why in value.causes:
                if why or expression not in out:
                    out[expression] = why
            if isinstance(value, Partial):
                pending.extend(value.parts)
            elif isinstance(value, Encoded):
                pending.append(value.value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)

"""Terraform's regular expression functions, ``replace`` (with ``/pattern/``), ``regex`` and ``regexall``.

Terraform uses Go's RE2 syntax and engine, which never backtracks; so does sesrego, through the
``google-re2`` package, so that a pattern like ``/(a+)+$/`` answers at once. A pattern RE2
cannot compile (a backreference, a lookahead) is an error, as in Terraform. Successive matches
(``regexall``, ``replace``) are Go's, not Python's: an empty match right after a match is not one,
and the search moves one character past an empty match.
"""

from __future__ import annotations

import re
from typing import Any

from .functions import allow_size, as_string, function
from .values import Fail


def _re2(pattern: str):
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        raise Fail("regular expressions need the google-re2 package") from None
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options=options)
    except re2.error:
        raise Fail(f"invalid regular expression {pattern!r}") from None


def _go_template(replacement: str, pattern) -> str:
    """Go's ``$1``/``${name}``/``$$`` replacement syntax as a Python ``\\g<...>`` template.

    As in Go, a group that does not exist expands to nothing.
    """
    def group(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        known = name in pattern.groupindex or (name.isdigit() and int(name) <= pattern.groups)
        return "\\g<" + name + ">" if known else ""

    escaped = replacement.replace("\\", "\\\\")
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", group, escaped)


def _matches(pattern, text: str):
    """Go's successive matches (``regexp.allMatches``): those of re2's ``finditer``, which already moves
    one character past an empty match, less an empty match where the previous match ended."""
    previous_end = -1
    for match in pattern.finditer(text):
        start, end = match.span()
        if not (start == end == previous_end):
            yield match
        previous_end = end


def _substitute(pattern, template: str, text: str) -> str:
    """Go's ``ReplaceAllString``, over the same matches."""
    out, last_end = [], 0
    for match in _matches(pattern, text):
        start, end = match.span()
        out.append(text[last_end:start])
        out.append(match.expand(template))
        last_end = end
    out.append(text[last_end:])
    return "".join(out)


@function("replace")
def _replace(text, search, replacement):
    text, search, replacement = as_string(text), as_string(search), as_string(replacement)
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        pattern = _re2(search[1:-1])
        count = sum(1 for _ in _matches(pattern, text))
        allow_size(len(text) + count * len(replacement))
        try:
            return _substitute(pattern, _go_template(replacement, pattern), text)
        except Exception:  # re2 reports a bad group name in the template as several types
            raise Fail("invalid replacement") from None
    if search:
        allow_size(len(text) + text.count(search) * len(replacement))
    return text.replace(search, replacement)


def _captures(match) -> Any:
    if match.re.groupindex:
        return dict(match.groupdict())
    if match.re.groups:
        return list(match.groups())
    return match.group(0)


@function("regex")
def _regex(pattern, text):
    match = _re2(as_string(pattern)).search(as_string(text))
    if match is None:
        raise Fail("pattern did not match")
    return _captures(match)


@function("regexall")
def _regexall(pattern, text):
    return [_captures(match) for match in _matches(_re2(as_string(pattern)), as_string(text))]

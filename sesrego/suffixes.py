"""The Public Suffix List snapshot -> the ``public_suffixes`` fact.

sesrego decides whether a recipient pattern such as ``*@*.co.uk`` admits domains anyone can
register by looking its domain up in a snapshot of the Public Suffix List
(https://publicsuffix.org/list/), shipped as package data (``sources/public_suffix_list.dat``, MPL-2.0,
see ``sources/ATTRIBUTION.md``). The list's format (https://github.com/publicsuffix/list/wiki/Format):
one rule per line, ``//`` comments, an ICANN and a private section, ``*.`` wildcard rules (every
label under the rest is a suffix) and ``!`` exception rules (that name is not a suffix after all).

The fact is an object keyed by the rule as written (lower case; internationalised names also in
their ASCII ``xn--`` form), valued by the section, so the Rego looks a domain up in O(1): ``d`` is a
public suffix when ``d`` has one label (the list's implicit ``*`` rule), or ``d`` is a key, or
``*.<d without its first label>`` is a key and ``!d`` is not. A second fact, ``public_suffix_parents``,
lists the domains with a rule below them (see :func:`suffix_parents`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import SourceError

# A rule: labels without empty ones or wildcards, but a leading "*." or "!".
_RULE = re.compile(r"^(\*\.|!)?[^.*!\s]+(\.[^.*!\s]+)*$")

SNAPSHOT = Path(str(resources.files("sesrego") / "sources" / "public_suffix_list.dat"))

_SECTIONS = {"// ===BEGIN ICANN DOMAINS===": "icann", "// ===BEGIN PRIVATE DOMAINS===": "private"}
_ENDS = {"// ===END ICANN DOMAINS===", "// ===END PRIVATE DOMAINS==="}


def parse_public_suffixes(text: str, name: str = "public_suffix_list.dat") -> dict[str, str]:
    """Rules of a Public Suffix List text -> ``{rule: "icann" | "private"}``, sorted by rule."""
    rules: dict[str, str] = {}
    section = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line in _SECTIONS:
            section = _SECTIONS[line]
            continue
        if line in _ENDS:
            section = None
            continue
        if not line or line.startswith("//"):
            continue
        rule = line.split()[0].lower()
        if section is None:
            raise SourceError("a rule outside the ICANN and PRIVATE sections", path=name, line=number)
        if not _RULE.match(rule):
            raise SourceError(f"not a public suffix rule: {rule!r}", path=name, line=number)
        rules.setdefault(rule, section)
        if not rule.isascii():
            form = _ascii(rule)
            if form:
                rules.setdefault(form, section)
    if not rules:
        raise SourceError("no public suffix rules", path=name)
    return dict(sorted(rules.items()))


def _ascii(rule: str) -> str | None:
    """The ``xn--`` form of an internationalised rule, keeping its ``!`` or ``*.`` part (the list's labels
    are already normalised, so each non-ASCII label is ``xn--`` and its Punycode)."""
    if rule.isascii():
        return rule
    mark = "!" if rule.startswith("!") else ""
    labels = rule[len(mark):].split(".")
    try:
        return mark + ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                               for label in labels)
    except UnicodeError:
        return None


@lru_cache(maxsize=1)
def public_suffixes() -> dict[str, str]:
    """The shipped snapshot's rules (see :func:`parse_public_suffixes`); treat the result as read-only."""
    return parse_public_suffixes(SNAPSHOT.read_text(encoding="utf-8"), "sesrego/sources/public_suffix_list.dat")


def suffix_parents(rules: dict[str, str]) -> dict[str, bool]:
    """Every domain with a public suffix below it (``jp``, ``kawasaki.jp`` for ``*.kawasaki.jp``), sorted.

    ``*@*.kawasaki.jp`` admits ``x@evil.foo.kawasaki.jp``, which anyone can register, though
    ``kawasaki.jp`` itself is no public suffix: a ``*.`` recipient pattern is effective only for a
    domain that no rule lies below.
    """
    parents = set()
    for rule in rules:
        labels = rule.lstrip("!").split(".")
        if rule.startswith("!"):
            continue
        parents.update(".".join(labels[i:]) for i in range(1, len(labels)))
    parents.discard("*")
    return {parent: True for parent in sorted(parents)}

"""``sesrego actions [PATTERN]``: which catalog actions an IAM action pattern grants, per API version.

IAM matches an action pattern case-insensitively, with ``*`` (any run of characters) and ``?``
(one character) as the only wildcards, against ``prefix:Action`` names. Four service-authorization
pages share the prefix ``ses`` (SES v1, v2, Mail Manager, Pinpoint Email), so one pattern can grant
actions of several APIs: ``ses:Send*`` grants SES v1's SendBounce and SendCustomVerificationEmail as
well as the send actions. This module answers that from the compiled :class:`~sesrego.model.Program`,
and renders the answer as text or JSON. It reads the model only; nothing here evaluates Rego.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from .model import Catalog, Program

_API_NAMES = {"1": "SES API v1", "2": "SES API v2", "mailmanager": "SES Mail Manager",
              "pinpoint": "Amazon Pinpoint Email"}


@dataclass(frozen=True, slots=True)
class Match:
    api_version: str
    catalog: str
    action: str  # prefix:Name as the catalog spells it
    access_level: str
    condition_keys: tuple[str, ...]
    tracked_as: str | None  # "recipient-controlled send" | "administrators only" | None


@dataclass(frozen=True, slots=True)
class Answer:
    pattern: str  # as IAM reads it (prefixed)
    note: str | None  # how the given pattern was read, when it needed reading
    matches: tuple[Match, ...]
    suggestions: tuple[str, ...]  # close action names, when nothing matches


#: Close names are suggested for a pattern up to this long (IAM action names are far shorter).
MAX_SUGGESTED = 256


def glob_match(pattern: str, name: str) -> bool:
    """Whether an IAM action ``pattern`` matches ``name``: case-insensitive, only ``*`` (any run) and
    ``?`` (any one character) wild. Matched without backtracking, so a pattern such as
    ``ses:*e*e*e*e*e*e*e*Z`` costs at most the product of the two lengths (a regular expression
    took minutes on a 40-character name)."""
    pattern, name = pattern.lower(), name.lower()
    p = n = 0
    star, resume = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p, n = p + 1, n + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume, p = p, n, p + 1
        elif star >= 0:
            resume += 1
            p, n = star + 1, resume
        else:
            return False
    return all(ch == "*" for ch in pattern[p:])


def _read(pattern: str, prefixes: set[str]) -> tuple[str, str | None]:
    """The pattern as IAM would read it, and a note when sesrego had to complete or question it."""
    if ":" not in pattern:
        return f"ses:{pattern}", f"{pattern!r} has no service prefix; read as 'ses:{pattern}'"
    prefix = pattern.split(":", 1)[0]
    if prefix.lower() not in prefixes and not any(ch in prefix for ch in "*?"):
        return pattern, (f"the prefix {prefix!r} is not an IAM service prefix of any SES catalog, so IAM grants "
                         f"nothing for it; SES v1 and v2 actions both use 'ses:'")
    return pattern, None


def _tracked(program: Program, action: str) -> str | None:
    key = action.lower()
    if any(key in actions for actions in program.facts.send_actions.values()):
        return "recipient-controlled send (SES-001, SES-002, SES-004, SES-005)"
    if any(key in actions for actions in program.facts.admin_only_actions.values()):
        return "administrators only (SES-003, SES-006)"
    return None


def _catalog_matches(program: Program, catalog: Catalog, pattern: str) -> list[Match]:
    out = []
    for action in catalog.actions:
        name = f"{catalog.prefix}:{action.name}"
        if glob_match(pattern, name):
            out.append(Match(catalog.api_version, catalog.source.name, name, action.access_level,
                             action.condition_keys, _tracked(program, name)))
    return out


def lookup(program: Program, pattern: str | None) -> Answer:
    """Every catalog action ``pattern`` matches (every action when it is None), per API version."""
    prefixes = {catalog.prefix.lower() for catalog in program.catalogs}
    read, note = _read(pattern, prefixes) if pattern is not None else ("*", None)  # "" grants nothing
    matches = [m for catalog in program.catalogs for m in _catalog_matches(program, catalog, read)]
    suggestions: tuple[str, ...] = ()
    if not matches and pattern and len(read) <= MAX_SUGGESTED:  # difflib is quadratic in the lengths
        names = sorted({f"{c.prefix}:{a.name}" for c in program.catalogs for a in c.actions})
        by_lower = {name.lower(): name for name in names}
        close = difflib.get_close_matches(read.lower(), list(by_lower), n=3, cutoff=0.75)
        suggestions = tuple(by_lower[name] for name in close)
    return Answer(read, note, tuple(matches), suggestions)


def render_text(answer: Answer) -> str:
    lines = []
    if answer.note:
        lines.append(f"note: {answer.note}")
    versions = sorted({m.api_version for m in answer.matches})
    if not answer.matches:
        lines.append(f"{answer.pattern} matches no action of any SES catalog: in an Allow it grants nothing, "
                     "in a Deny it protects nothing (SES-008).")
        if answer.suggestions:
            lines.append("Did you mean: " + ", ".join(answer.suggestions) + "?")
        return "\n".join(lines) + "\n"
    lines.append(f"{answer.pattern} grants {len(answer.matches)} action(s) in {len(versions)} API(s). IAM matches "
                 "action names case-insensitively; * and ? are the only wildcards.")
    for version in versions:
        group = [m for m in answer.matches if m.api_version == version]
        lines += ["", f"{_API_NAMES.get(version, version)} ({group[0].catalog}): {len(group)}"]
        width = max(len(m.action) for m in group)
        for match in group:
            keys = ", ".join(match.condition_keys) or "no condition keys"
            lines.append(f"  {match.action:<{width}}  {match.access_level:<22} {keys}")
            if match.tracked_as:
                lines.append(f"  {'':<{width}}  sesrego tracks it: {match.tracked_as}")
    return "\n".join(lines) + "\n"


def render_json(answer: Answer) -> str:
    document = {
        "pattern": answer.pattern,
        "note": answer.note,
        "actions": [{"action": m.action, "api_version": m.api_version, "catalog": m.catalog,
                     "access_level": m.access_level, "condition_keys": list(m.condition_keys),
                     "tracked_as": m.tracked_as} for m in answer.matches],
        "suggestions": list(answer.suggestions),
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"

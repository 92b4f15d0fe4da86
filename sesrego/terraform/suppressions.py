"""Inline suppressions: ``# sesrego:ignore:SES-001 <reason>`` comments in the configuration.

A comment (``#``, ``//`` or ``/* */``; in ``.tf.json``, a ``"//"`` key) on the line above a block,
or inside it, suppresses the named rules for:

- a ``resource``: that resource, every instance;
- a ``module`` call: every resource of every instance of that module;
- a ``data "aws_iam_policy_document"``: every resource whose policy renders it, through any
  locals, outputs and modules (the evaluation records what each policy read).

Several rule ids are joined with commas; ``:exp:YYYY-MM-DD`` after them sets an expiry. A reason
is required. A comment that is malformed, names an unknown rule, has no reason or is on no block
does not apply, and is reported as a warning naming its file and line. Each suppression lists the
resources it covers as configuration addresses, one per module path that reaches the block
(``module.m.aws_iam_policy.p``; ``module.m.*`` for a module call). As inline waivers (``"source":
"inline"``) they cover every instance of that address (``module.m["k"].aws_iam_policy.p[0]``) and
nothing in another module (:rego:`data.sesrego.lib.config.covers`).
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass

from .load import Module
from .policy_document import POLICY_DOCUMENT
from .syntax import Block

_MARK = "sesrego:ignore"
_SPEC = re.compile(r"sesrego:ignore:(?P<spec>\S*)(?:\s+(?P<reason>.*))?$", re.S)
_RULE_ID = re.compile(r"^SES-[0-9]{3}$")


@dataclass(frozen=True, slots=True)
class Suppression:
    """One inline suppression and the resources it covers (address globs)."""

    rule_ids: tuple[str, ...]
    expires: str | None
    reason: str
    file: str
    line: int
    resources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comment:
    """A valid ``sesrego:ignore`` comment and the block it is on."""

    rule_ids: tuple[str, ...]
    expires: str | None
    reason: str
    file: str
    line: int
    target: Block


@functools.lru_cache(maxsize=1)
def rule_ids() -> frozenset[str]:
    from ..render import TEMPLATES_DIR

    found = {path.name.split(".")[0].upper().replace("_", "-") for path in (TEMPLATES_DIR / "rules").glob("ses_*.j2")}
    return frozenset(found) or frozenset(f"SES-{n:03d}" for n in range(1, 9))


def parse(text: str) -> tuple[tuple[str, ...], str | None, str] | str | None:
    """``(rule ids, expires, reason)``, a problem (str) when malformed, or None when not a suppression."""
    body = text.strip()
    for opening in ("#", "//", "/*"):
        if body.startswith(opening):
            body = body[len(opening):]
            break
    if body.endswith("*/"):
        body = body[:-2]
    body = "\n".join(re.sub(r"^\s*\*\s?", "", line) for line in body.splitlines())  # a block comment's " * "
    body = " ".join(body.split())
    if _MARK not in body:
        if _MARK in body.lower():
            return f"the marker is written {_MARK}, in lower case"
        return None
    match = _SPEC.search(body[body.index(_MARK):])
    if match is None or not match.group("spec"):
        return "expected sesrego:ignore:RULE-ID[,RULE-ID][:exp:YYYY-MM-DD] <reason>"
    spec, _, expires = match.group("spec").partition(":exp:")
    ids = tuple(spec.split(","))
    for rule in ids:
        if not _RULE_ID.match(rule):
            if _RULE_ID.match(rule.upper()):
                return f"{rule!r} is not a rule id: rule ids are upper case ({rule.upper()})"
            return f"{rule!r} is not a rule id (expected SES-001, SES-002, ...)"
        if rule not in rule_ids():
            return f"unknown rule id {rule} (known: {', '.join(sorted(rule_ids()))})"
    if expires:
        try:
            datetime.date.fromisoformat(expires)
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", expires):
                raise ValueError
        except ValueError:
            return f"invalid expiry date {expires!r} (expected :exp:YYYY-MM-DD)"
    elif ":exp:" in match.group("spec"):
        return "an expiry needs a date (:exp:YYYY-MM-DD)"
    reason = (match.group("reason") or "").strip()
    if not reason:
        return "it has no reason: write why after the rule ids (sesrego:ignore:SES-001 <reason>)"
    return tuple(dict.fromkeys(ids)), expires or None, reason


def module_comments(module: Module) -> tuple[list[Comment], list[str]]:
    """The valid suppressions of one module's files, each with the top-level block it is on, and warnings."""
    comments: list[Comment] = []
    warnings: list[str] = []
    for parsed in module.files:
        json = parsed.path.endswith(".json")  # a "//" key of the root object is above nothing
        placed = [(line, text, None) for line, text in parsed.comments] if json else \
            _placed(parsed.blocks, parsed.comments)
        for block in parsed.blocks:
            placed.extend((line, text, block) for line, text in _block_comments(block))
        for line, text, block in sorted(placed, key=lambda item: item[0]):
            result = parse(text)
            if result is None:
                continue
            line += next((i for i, part in enumerate(text.splitlines()) if _MARK in part.lower()), 0)
            where = f"{parsed.path}:{line}"
            if isinstance(result, str):
                warnings.append(f"{where}: sesrego:ignore comment not applied: {result}")
            elif block is None:
                warnings.append(f"{where}: sesrego:ignore comment not applied: it is not on or above a resource, "
                                "module or policy document block")
            elif not _suppressible(block):
                warnings.append(f"{where}: sesrego:ignore comment not applied: it applies to resource, module and "
                                f'data "{POLICY_DOCUMENT}" blocks, not to {block.type} blocks')
            else:
                ids, expires, reason = result
                comments.append(Comment(ids, expires, reason, parsed.path, line, block))
    return comments, warnings


def _block_comments(block: Block) -> list[tuple[int, str]]:
    """The ``"//"`` comments of a .tf.json block and of the blocks nested in it (a statement's)."""
    found, pending = [], [block]
    while pending:
        current = pending.pop()
        found.extend(current.comments)
        pending.extend(current.body.blocks)
    return found


def _suppressible(block: Block) -> bool:
    return block.type in ("resource", "module") or (block.type == "data" and block.labels[:1] == (POLICY_DOCUMENT,))


def _placed(blocks: list[Block], comments: list[tuple[int, str]]) -> list[tuple[int, str, Block | None]]:
    """Each comment with the block it is inside or directly above (a run of comment lines above counts)."""
    comment_lines = {line + offset for line, text in comments for offset in range(text.count("\n") + 1)}
    out = []
    for line, text in comments:
        target = next((b for b in blocks if b.line <= line <= b.end_line), None)
        if target is None:
            end = line + text.count("\n")
            following = min((b for b in blocks if b.line > end), key=lambda b: b.line, default=None)
            if following is not None and all(n in comment_lines for n in range(end + 1, following.line)):
                target = following
        out.append((line, text, target))
    return out


def forms(call_path: tuple[str, ...], local: str, *, module_call: bool = False) -> list[str]:
    """The configuration address of ``local`` in the module reached by ``call_path`` (every instance)."""
    prefix = "".join(f"module.{name}." for name in call_path)
    return [f"{prefix}{local}.*" if module_call else f"{prefix}{local}"]

"""Catalog markdown (policy_sentry's shape) -> :class:`Catalog`.

The shape, one ``### Action`` per privilege::

    ---
    title: Amazon Simple Email Service v2
    ---
    # Amazon Simple Email Service v2
    - prefix: ses
    ## Privileges
    ### SendEmail
    - description: Grants permission to send an email message
    - access level: Write
    - resource types
    ```
    {"identity": {"resource_type": "identity", "required": true, "condition_keys": [], ...}}
    ```
"""

from __future__ import annotations

import json
import re

from .errors import SourceError
from .model import Action, Catalog, ResourceType
from .sources import Text

_ACTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_FIELD = re.compile(r"^- (description|access level|prefix):\s*(.*)$")
_ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


def parse_catalog(source: Text) -> Catalog:
    lines = source.text.split("\n")
    front, body_start = _front_matter(source, lines)
    title = front.get("title", "")
    prefix = None
    actions: list[Action] = []
    i = body_start
    while i < len(lines):
        line = lines[i]
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        match = _FIELD.match(line)
        if match and match.group(1) == "prefix" and not actions:
            prefix = match.group(2).strip()
        if line.startswith("### "):
            action, i = _action(source, lines, i)
            actions.append(action)
            continue
        i += 1
    if not prefix:
        raise SourceError("catalog has no '- prefix: <service prefix>' line before its first action",
                          path=source.name, line=body_start + 1)
    if not actions:
        raise SourceError("catalog has no '### <Action>' sections", path=source.name)
    seen: dict[str, int] = {}
    for action in actions:
        key = action.name.lower()
        if key in seen:
            raise SourceError(f"action {action.name} is defined twice (first at line {seen[key]})",
                              path=source.name, line=action.line)
        seen[key] = action.line
    return Catalog(
        prefix=prefix,
        api_version=front.get("api_version") or api_version_of(title),
        title=title,
        source=source.source,
        actions=tuple(sorted(actions, key=lambda a: a.name)),
    )


def api_version_of(title: str) -> str:
    """Which SES API a service-authorization page describes, from its title."""
    lowered = title.lower()
    if "mail manager" in lowered:
        return "mailmanager"
    if "pinpoint" in lowered:
        return "pinpoint"
    if re.search(r"\bv2\b", lowered):
        return "2"
    return "1"


def _front_matter(source: Text, lines: list[str]) -> tuple[dict[str, str], int]:
    if not lines or lines[0].strip() != "---":
        return {}, 0
    front: dict[str, str] = {}
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return front, i + 1
        match = re.match(r"^([A-Za-z_]+):\s*(.*)$", lines[i])
        if match:
            front[match.group(1)] = match.group(2).strip().strip("'\"")
    raise SourceError("front matter opened with '---' is never closed", path=source.name, line=1)


def _action(source: Text, lines: list[str], start: int) -> tuple[Action, int]:
    name = lines[start][4:].strip()
    if not _ACTION_NAME.match(name):
        raise SourceError(f"expected an action name such as '### SendEmail', found {name!r}",
                          path=source.name, line=start + 1)
    fields: dict[str, str] = {}
    resource_types: tuple[ResourceType, ...] | None = None
    i = start + 1
    while i < len(lines) and not lines[i].startswith("#"):
        line = lines[i]
        match = _FIELD.match(line)
        if match:
            fields[match.group(1)] = match.group(2).strip()
        elif line.strip() == "```":
            resource_types, i = _resource_types(source, lines, i, name)
            continue
        i += 1
    if not fields.get("access level"):
        raise SourceError(f"privilege {name} has no '- access level: ...' line",
                          path=source.name, line=start + 1)
    if fields["access level"] not in _ACCESS_LEVELS:
        raise SourceError(f"privilege {name} has access level {fields['access level']!r}; expected one of "
                          + ", ".join(_ACCESS_LEVELS), path=source.name, line=start + 1)
    if resource_types is None:
        raise SourceError(f"privilege {name} has no resource-types JSON block", path=source.name, line=start + 1)
    return Action(name, fields.get("description", ""), fields["access level"], resource_types, start + 1), i


def _resource_types(source: Text, lines: list[str], fence: int, action: str) -> tuple[tuple[ResourceType, ...], int]:
    end = fence + 1
    while end < len(lines) and lines[end].strip() != "```":
        end += 1
    if end == len(lines):
        raise SourceError(f"resource-types block of {action} is never closed with ```", path=source.name,
                          line=fence + 1)
    try:
        block = json.loads("\n".join(lines[fence + 1:end]))
    except json.JSONDecodeError as exc:
        raise SourceError(f"resource-types block of {action} is not JSON: {exc.msg}", path=source.name,
                          line=fence + 2 + exc.lineno - 1) from None
    if not isinstance(block, dict):
        raise SourceError(f"resource-types block of {action} must be a JSON object", path=source.name,
                          line=fence + 2)
    types = []
    for key, value in block.items():
        if not isinstance(value, dict) or not _str_list(value.get("condition_keys", [])) \
                or not _str_list(value.get("dependent_actions", [])):
            raise SourceError(f"resource type {key!r} of {action} must be an object with string lists "
                              "'condition_keys' and 'dependent_actions'", path=source.name, line=fence + 2)
        types.append(ResourceType(
            name=str(value.get("resource_type", key)),
            required=bool(value.get("required", False)),
            condition_keys=tuple(sorted(value.get("condition_keys", []))),
            dependent_actions=tuple(sorted(value.get("dependent_actions", []))),
        ))
    return tuple(sorted(types, key=lambda t: t.name)), end + 1


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)

"""Data-perimeter guidance markdown -> :class:`Guidance`.

Reads the perimeter table, every ``**Additional consideration N**`` (its
applicability line, the action it names, the control sentence and the linked
example policy) and the closing list of reviewed APIs.

Parsing is linear in the size of the text (``sesrego diff`` reads guidance from any bundle):
no pattern can backtrack over an unbounded span, and every scan ahead stops at the next
heading.
"""

from __future__ import annotations

import re

from .errors import SourceError
from .model import Consideration, Control, ControlKind, Guidance, PerimeterRow
from .sources import Text

GUIDANCE_URL = ("https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/"
                "service_specific_guidance/{name}")

_TITLE = re.compile(r"^# (.+)$")
_CONSIDERATION = re.compile(r"^\*\*Additional consideration (\d+)\*\*\s*$")
_REVIEWED = re.compile(r"^\*\*List of service APIs reviewed")
_APPLICABILITY = "Perimeter type applicability:"
_ACTION = re.compile(r"^([A-Z][A-Za-z0-9]+) allows you to")
_CONTROL = re.compile(r"^\*\s*\*\*(?:Preventative|Detective)? ?control example:\*\*\s*(.+)$")
# Link targets are bounded ({0,500}), so a "(" that is never closed costs a bounded look-ahead.
_CONDITION_KEY = re.compile(r"implementing \[?`?([a-z0-9-]{1,100}:[A-Za-z0-9/_-]{1,200})`?\]?(?:\([^)]{0,500}\))? "
                            r"in an? (SCP|RCP)")
_ADMIN_ONLY = re.compile(r"restricting \[?`?([A-Za-z0-9]{1,200})`?\]?(?:\([^)]{0,500}\))? permissions to "
                         r"administrators only using an? (SCP|RCP)")
_EXAMPLE = re.compile(r"See \[([^\]]{1,500})\]\(([^)]{1,2000})\)")
_BULLET = re.compile(r"^\*\s+([A-Za-z][A-Za-z0-9]*)\s*$")


def parse_guidance(source: Text) -> Guidance:
    lines = source.text.split("\n")
    title = next((m.group(1).strip() for line in lines if (m := _TITLE.match(line))), None)
    if title is None:
        raise SourceError("guidance has no '# Service-specific guidance: <service>' title", path=source.name, line=1)
    api_version = "2" if re.search(r"\bv2\b", title, re.IGNORECASE) else "1"
    perimeter = _perimeter_table(source, lines)
    considerations = []
    reviewed: list[str] = []
    for i, line in enumerate(lines):
        if match := _CONSIDERATION.match(line):
            considerations.append(_consideration(source, lines, i, int(match.group(1)), api_version))
        elif _REVIEWED.match(line):
            reviewed = _reviewed(lines, i + 1)
    if not reviewed:
        raise SourceError("guidance has no '**List of service APIs reviewed ...**' list", path=source.name)
    numbers = [c.number for c in considerations]
    if len(set(numbers)) != len(numbers):
        raise SourceError("two considerations share a number", path=source.name)
    name = source.name.rsplit("/", 1)[-1]
    return Guidance(
        api_version=api_version,
        title=title,
        source=source.source,
        perimeter=perimeter,
        considerations=tuple(sorted(considerations, key=lambda c: c.number)),
        reviewed_apis=tuple(sorted(set(reviewed))),
        url=GUIDANCE_URL.format(name=name),
    )


def _perimeter_table(source: Text, lines: list[str]) -> tuple[PerimeterRow, ...]:
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or set(line.replace("|", "").strip()) <= set("- "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "Perimeter type":
            continue
        if len(cells) != 5 or cells[4] not in ("Y", "N"):
            raise SourceError("perimeter table row must have 5 cells ending in Y or N", path=source.name, line=i + 1)
        rows.append(PerimeterRow(cells[0], cells[1], cells[2], cells[3], cells[4] == "Y"))
    if not rows:
        raise SourceError("guidance has no perimeter table ('| Perimeter type | ... |')", path=source.name)
    return tuple(rows)


def _consideration(source: Text, lines: list[str], start: int, number: int, api_version: str) -> Consideration:
    end = start + 1
    while end < len(lines) and not lines[end].startswith("**"):
        end += 1
    applicability = action = sentence = None
    text_lines = []
    control_line = start + 1
    for i in range(start + 1, end):
        line = lines[i].strip()
        if line.startswith(_APPLICABILITY) and (value := _applicability(line)):
            applicability = value
        elif match := _CONTROL.match(line):
            sentence, control_line = match.group(1), i + 1
        elif line and action is None and (match := _ACTION.match(line)):
            action = match.group(1)
            text_lines.append(line)
    where = f"consideration {number}"
    if applicability is None:
        raise SourceError(f"{where} has no 'Perimeter type applicability: ...' line", path=source.name, line=start + 1)
    if action is None:
        raise SourceError(f"{where} names no action ('<Action> allows you to ...')", path=source.name, line=start + 1)
    if sentence is None:
        raise SourceError(f"{where} has no '* **Preventative control example:** ...' line", path=source.name,
                          line=start + 1)
    return Consideration(
        api_version=api_version,
        number=number,
        applicability=applicability,
        action=action,
        text=" ".join(text_lines),
        control=_control(source, sentence, control_line, where),
        source=source.source,
        line=start + 1,
    )


def _applicability(line: str) -> str | None:
    """The perimeter types of an applicability line, without a final full stop."""
    value = line[len(_APPLICABILITY):].strip()
    if value.endswith(".") and len(value) > 1:
        value = value[:-1].rstrip()
    return value or None


def _control(source: Text, sentence: str, line: int, where: str) -> Control:
    example = _EXAMPLE.search(sentence)
    example_url = example.group(2) if example else ""
    if match := _CONDITION_KEY.search(sentence):
        return Control(ControlKind.CONDITION_KEY, match.group(1), match.group(2), example_url, sentence)
    if match := _ADMIN_ONLY.search(sentence):
        return Control(ControlKind.ADMIN_ONLY, None, match.group(2), example_url, sentence)
    raise SourceError(
        f"{where}: control sentence matches no known control kind (expected 'implementing <key> in an SCP' or "
        f"'restricting <Action> permissions to administrators only using an SCP'): {sentence[:120]!r}",
        path=source.name, line=line)


def _reviewed(lines: list[str], start: int) -> list[str]:
    names = []
    for index in range(start, len(lines)):  # no slice: a copy of the rest per heading would be quadratic
        line = lines[index]
        if match := _BULLET.match(line.strip()):
            names.append(match.group(1))
        elif line.strip() and (names or line.startswith(("**", "#"))):
            break
    return names

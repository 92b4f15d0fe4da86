"""Baselines: accept today's findings, report only new ones.

``sesrego scan … --write-baseline FILE`` records a fingerprint of every current finding;
``--baseline FILE`` then hides the findings whose fingerprint is recorded (a view, see
:mod:`sesrego.views`). A fingerprint is stable across runs, machines and working directories:
the input path relative to the directory that holds the baseline file (the current directory,
when the baseline is there as usual), the rule id, the resource address, the policy attribute
and the statement; never the message, the severity or a line number, which change without the
finding changing. A ``.tf`` file given by name (as pre-commit passes them) stands for its module's
directory, which is what a scan of the directory names, so both meet the same baseline.

The file is small, sorted JSON that a reviewer can read, one finding per line::

    {
      "findings": [
        {"attribute": "policy", "input": "infra/plan.json", "resource": "aws_iam_policy.p", "rule_id": "SES-001", "statement": "Send"}
      ],
      "sesrego_baseline": 1
    }
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePath

from .documents import load_json, user_text
from .errors import InputError, printable
from .reading import read_file

VERSION = 1
#: What identifies a finding in a baseline, in the order of the fingerprint.
FIELDS = ("input", "rule_id", "resource", "attribute", "statement")


def input_key(path: str, anchor: str | Path = ".", kind: str = "plan") -> str:
    """An input path as a baseline records it: relative to ``anchor`` (the baseline file's directory),
    links resolved, with forward slashes and file-name bytes shown as :func:`printable` shows them; a
    ``.tf`` input named by file stands for its module's directory (see the module docstring)."""
    if path == "-":
        return "-"
    if kind == "tf" and path.endswith((".tf", ".tf.json")):
        path = os.path.dirname(path) or "."
    try:
        relative = os.path.relpath(os.path.realpath(path), os.path.realpath(anchor))
    except ValueError:  # another drive on Windows
        relative = os.path.realpath(path)
    return printable(PurePath(relative).as_posix())


def anchor_of(baseline: str | Path) -> str:
    """The directory a baseline file's inputs are relative to: the one that holds it, or the current
    directory for a baseline read from a pipe (``--baseline <(git show main:.sesrego-baseline.json)``)."""
    path = os.path.abspath(baseline)
    if os.path.exists(path) and not os.path.isfile(path):
        return os.getcwd()
    return os.path.dirname(path)


def rebased(fingerprint_text: str, old_anchor: str, new_anchor: str) -> str:
    """A fingerprint recorded relative to ``old_anchor``, made relative to ``new_anchor``."""
    values = json.loads(fingerprint_text)
    if values[0] != "-":
        values[0] = input_key(os.path.join(old_anchor, values[0]), new_anchor)
    return _fingerprint(tuple(values))


def input_of(fingerprint_text: str) -> str:
    return json.loads(fingerprint_text)[0]


def fingerprint(key: str, finding: dict) -> str:
    """The identity of a finding of the input whose :func:`input_key` is ``key``."""
    return _fingerprint((key, finding.get("rule_id"), finding.get("resource"), finding.get("attribute"),
                         finding.get("statement")))


def _fingerprint(values: tuple) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


def render(fingerprints: Iterable[str]) -> bytes:
    """The baseline file for these fingerprints: sorted, one finding per line, keys sorted."""
    entries = [json.dumps(dict(zip(FIELDS, json.loads(key))), sort_keys=True, ensure_ascii=False)
               for key in sorted(set(fingerprints))]  # by input, rule, resource, attribute, statement
    body = ",\n    ".join(entries)
    findings = f"[\n    {body}\n  ]" if entries else "[]"
    return f'{{\n  "findings": {findings},\n  "sesrego_baseline": {VERSION}\n}}\n'.encode("utf-8", "backslashreplace")


def load(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file records; a file that is not a baseline is an input error."""
    path = Path(path)
    raw = read_file(path, what="baseline")  # 64 MiB at most: 100,000 findings take about 20 MiB
    document = load_json(user_text(raw, path), path, unique_keys=True)
    if not isinstance(document, dict) or document.get("sesrego_baseline") != VERSION \
            or not isinstance(document.get("findings"), list):
        raise InputError(f'not a sesrego baseline (expected {{"sesrego_baseline": {VERSION}, "findings": [...]}}; '
                         "write one with --write-baseline)", path=path)
    keys = set()
    for i, entry in enumerate(document["findings"]):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in FIELDS[:3]):
            raise InputError(f"baseline finding {i + 1} needs string input, rule_id and resource", path=path)
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise InputError(f"baseline finding {i + 1} has unknown keys {', '.join(unknown)}; a finding has "
                             f"{', '.join(FIELDS)}", path=path)
        keys.add(_fingerprint(tuple(entry.get(f) for f in FIELDS)))
    return frozenset(keys)

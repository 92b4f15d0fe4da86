"""Configuration files (``--data``): JSON or YAML, merged as OPA merges data documents.

A file holds ``{"sesrego": {"config": {...}}}``, exactly what ``conftest --data`` or OPA
would load, so one file serves sesrego, conftest and an OPA server.

The schema is strict at every level, because a mistake in a configuration is otherwise a
silent no-op (a misspelt ``expires:`` is a waiver that never expires):

* a file without a top-level ``sesrego`` key is an error; other top-level keys (data for
  conftest) are allowed and named in a note;
* ``sesrego`` may hold only ``config`` (``sesrego.facts`` belongs to the bundle);
* unknown keys in ``config`` and in a waiver are errors, with a suggestion;
* a waiver needs ``rule_id`` (a known rule id, or ``"*"`` for every rule), ``resource`` and
  ``reason``; ``expires`` is a date (``2027-03-31``) or an RFC 3339 date-time.

Files are read with :mod:`sesrego.documents` (bounded YAML aliases, no NaN, bounded nesting).

``sesrego scan`` also finds a ``.sesrego.yaml`` (``.yml``, ``.json``) by itself, as peers find
their configuration (:func:`discover`): the same document, merged before any ``--data`` file.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .documents import load, user_text
from .errors import InputError, printable
from .reading import read_file

SEVERITIES = ("deny", "warn", "info")
_KEYS = {
    "administrators": "a list of principal patterns (role, user or group names, ARNs or Terraform addresses; * and ? "
                      "are wildcards)",
    "trusted_recipients": "a list of recipient patterns such as \"*@example.com\"",
    "severity": "a map from rule id to deny, warn or info",
    "waivers": "a list of {rule_id, resource, reason, expires}",
    "scp_attested": "true when the organization's SCPs enforce the SES controls outside this plan",
}
WAIVER_KEYS = ("rule_id", "resource", "reason", "expires")
_REQUIRED_WAIVER_KEYS = ("rule_id", "resource", "reason")
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class Configuration:
    """The merged ``data.sesrego.config`` and where it came from."""

    config: dict
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # one line each, for stderr

    @property
    def waivers(self) -> list[dict]:
        return list(self.config.get("waivers", []))


def load_configuration(paths: Sequence[Path], rule_ids: Iterable[str] | None = None, *,
                       timeout: float | None = None) -> Configuration:
    """Read, check and merge the ``--data`` files. ``rule_ids``: the known ids (None: not checked).
    ``timeout``: how long to wait for a writer when a file is a FIFO (``--data <(command)``)."""
    known = tuple(rule_ids) if rule_ids is not None else None
    merged: dict = {}
    notes = []
    for path in paths:
        path = Path(path)
        document = _read(path, timeout)
        other = sorted(key for key in document if key != "sesrego")
        if other:
            notes.append(f"note: {path}: top-level keys other than 'sesrego' are data for conftest or OPA, "
                         f"not sesrego configuration: {', '.join(other)}")
        validate(document["sesrego"].get("config", {}), path, known)
        _merge(merged, {"sesrego": document["sesrego"]}, path, [])
    config = merged.get("sesrego", {}).get("config", {})
    return Configuration(config=config, files=tuple(str(p) for p in paths), notes=tuple(notes))


def load_config(paths: Sequence[Path], rule_ids: Iterable[str] | None = None) -> dict:
    """The merged ``data.sesrego.config`` of the given files (empty when none)."""
    return load_configuration(paths, rule_ids).config


def _read(path: Path, timeout: float | None = None) -> dict:
    raw = read_file(path, timeout=timeout, what="configuration file")
    # A .json file is JSON; any other name is YAML, which reads JSON too (--data <(command) has no suffix).
    document = load(user_text(raw, path), path, yaml_syntax=path.suffix.lower() != ".json")
    example = "{\"sesrego\": {\"config\": {...}}}"
    if document is None:
        raise InputError(f"the data file is empty; expected {example}", path=path)
    if not isinstance(document, dict):
        raise InputError(f"a data file must hold an object such as {example}", path=path)
    if "sesrego" not in document:
        hint = _suggest(document, ("sesrego",))
        raise InputError(f"no top-level 'sesrego' key{hint}; expected {example}", path=path)
    section = document["sesrego"]
    if not isinstance(section, dict):
        raise InputError("'sesrego' must be an object holding 'config'", path=path)
    for key in section:
        if key == "config":
            continue
        if key == "facts":
            raise InputError("sesrego.facts belongs to the compiled bundle (data.json), not to configuration; "
                             "a --data file may set only sesrego.config", path=path)
        raise InputError(f"unknown key sesrego.{printable(key)}{_suggest([key], ('config',))}; a --data file may "
                         "set only sesrego.config", path=path)
    return document


def _suggest(keys: Iterable[object], known: Sequence[str]) -> str:
    for key in keys:
        match = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if match and match[0] != key:
            return f" (did you mean '{match[0]}' for '{printable(key)}'?)"
    return ""


def _merge(into: dict, other: dict, path: Path, where: list[str]) -> None:
    for key, value in other.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, path, where + [key])
        elif key in into:
            raise InputError(f"data.{'.'.join(where + [key])} is also set by an earlier --data file "
                             "(OPA refuses such merge conflicts)", path=path)
        else:
            into[key] = value


def validate(config: object, path: Path | None, rule_ids: Sequence[str] | None = None) -> None:
    if not isinstance(config, dict):
        raise InputError("sesrego.config must be an object", path=path)
    for key, value in config.items():
        if key not in _KEYS:
            hint = _suggest([key], tuple(_KEYS))
            raise InputError(f"unknown configuration key sesrego.config.{printable(key)}{hint}; expected one of "
                             + ", ".join(sorted(_KEYS)), path=path)
        problem = _problem(key, value, rule_ids)
        if problem:
            raise InputError(f"sesrego.config.{key}: {problem}", path=path)


def _problem(key: str, value: object, rule_ids: Sequence[str] | None) -> str | None:
    if key in ("administrators", "trusted_recipients"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be {_KEYS[key]}; got {json.dumps(value)[:80]}"
    elif key == "severity":
        if not isinstance(value, dict):
            return f"must be {_KEYS[key]}"
        for rule_id, severity in value.items():
            problem = _rule_id_problem(rule_id, rule_ids, star=False)
            if problem:
                return problem
            if severity not in SEVERITIES:
                return f"{printable(rule_id)}: severity must be deny, warn or info, not {json.dumps(severity)}"
    elif key == "waivers":
        if not isinstance(value, list):
            return f"must be {_KEYS[key]}"
        for i, waiver in enumerate(value):
            problem = waiver_problem(waiver, rule_ids)
            if problem:
                return f"waiver {i + 1}: {problem}"
    elif key == "scp_attested" and not isinstance(value, bool):
        return "must be true or false"
    return None


def waiver_problem(waiver: object, rule_ids: Sequence[str] | None = None) -> str | None:
    """What is wrong with one waiver, or None."""
    if not isinstance(waiver, dict):
        return "must be an object {rule_id, resource, reason, expires}"
    for key in waiver:
        if key not in WAIVER_KEYS:
            return (f"unknown key '{printable(key)}'{_suggest([key], WAIVER_KEYS)}; a waiver has "
                    + ", ".join(WAIVER_KEYS))
    for key in _REQUIRED_WAIVER_KEYS:
        if not isinstance(waiver.get(key), str) or not waiver[key].strip():
            return f"needs '{key}' (a non-empty string)"
    problem = _rule_id_problem(waiver["rule_id"], rule_ids, star=True)
    if problem:
        return problem
    if "expires" in waiver and not valid_expiry(waiver["expires"]):
        return (f"expires {json.dumps(waiver['expires'])} is not a date such as 2027-03-31 or an RFC 3339 "
                "date-time such as 2027-03-31T12:00:00Z")
    return None


def _rule_id_problem(rule_id: object, rule_ids: Sequence[str] | None, *, star: bool) -> str | None:
    if star and rule_id == "*":
        return None
    if rule_ids is None:
        return None if isinstance(rule_id, str) else "a rule id must be a string"
    if rule_id in rule_ids:
        return None
    choices = list(rule_ids) + (["*"] if star else [])
    upper = str(rule_id).upper()
    hint = f" (did you mean {upper}?)" if upper in rule_ids else _suggest([rule_id], choices)
    return f"unknown rule id {json.dumps(rule_id)}{hint}; known: {', '.join(choices)}"


def valid_expiry(value: object) -> bool:
    """A real calendar date (``2027-03-31``), or an RFC 3339 date-time."""
    if not isinstance(value, str):
        return False
    if len(value) == 10:
        return _date(value)
    match = _DATE_TIME.match(value)
    if not match or not _date(match.group(1)):
        return False
    hour, minute, second = (int(match.group(n)) for n in (2, 3, 4))
    offset = match.group(6)
    if offset not in ("Z", "z") and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
        return False
    return hour <= 23 and minute <= 59 and second <= 60


def _date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- discovery: .sesrego.yaml ---------------------------------------------------------------------------

#: The configuration file names found automatically, in the order they are looked for.
CONFIG_NAMES = (".sesrego.yaml", ".sesrego.yml", ".sesrego.json")


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a directory, or a work tree's file)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _config_in(directory: Path) -> Path | None:
    found = [directory / name for name in CONFIG_NAMES if os.path.lexists(directory / name)]
    if len(found) > 1:
        raise InputError(f"{' and '.join(p.name for p in found)} are both here; keep one, or name one with "
                         "--config", path=directory)
    if found and not found[0].is_file():  # never a silent no-op: a directory, a FIFO, a link to nothing
        raise InputError("is not a regular file (a directory, a pipe or a broken link?): sesrego cannot read its "
                         "configuration there; remove it, or name a file with --config or pass --no-config",
                         path=shown(found[0]))
    return found[0] if found else None


def discover(start: Path | None = None) -> Path | None:
    """The configuration file a scan uses when none is named: ``.sesrego.yaml`` (or ``.yml``, ``.json``)
    in ``start`` (the current directory), else in the nearest ancestor up to the repository root (the
    nearest directory holding ``.git``). Outside a repository only ``start`` is searched."""
    start = Path(os.path.abspath(start or Path.cwd()))
    found = _config_in(start)
    if found is not None:
        return found
    root = repository_root(start)
    if root is None:
        return None
    for directory in start.parents:
        found = _config_in(directory)
        if found is not None or directory == root:
            return found
    return None


def shown(path: Path) -> str:
    """A configuration file's path for a note: relative to the current directory when under it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

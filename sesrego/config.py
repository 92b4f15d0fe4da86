"""Configuration files (``--data``): JSON or YAML, merged as OPA merges data documents.

A file holds ``{"sesrego": {"config": {...}}}``, exactly what ``conftest --data`` or OPA
would load, so one file serves sesrego, conftest and an OPA server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from .errors import InputError

SEVERITIES = ("deny", "warn", "info")
_KEYS = {
    "administrators": "a list of principal patterns (role, user or group names, ARNs or Terraform addresses; * and ? "
                      "are wildcards)",
    "trusted_recipients": "a list of recipient patterns such as \"*@example.com\"",
    "severity": "a map from rule id to deny, warn or info",
    "waivers": "a list of {rule_id, resource, reason, expires}",
    "scp_attested": "true when the organization's SCPs enforce the SES controls outside this plan",
}


def load_config(paths: Sequence[Path]) -> dict:
    """The merged ``data.sesrego.config`` of the given files (empty when none)."""
    merged: dict = {}
    for path in paths:
        document = _read(Path(path))
        _merge(merged, document, Path(path), [])
    config = merged.get("sesrego", {}).get("config", {}) if isinstance(merged.get("sesrego"), dict) else {}
    validate(config, Path(paths[-1]) if paths else None)
    return config


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read data file: {getattr(exc, 'strerror', None) or exc}", path=path) from None
    try:
        if path.suffix in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno, column=exc.colno) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    if document is None:
        return {}
    document = _plain(document)
    if not isinstance(document, dict):
        raise InputError("a data file must hold an object such as {\"sesrego\": {\"config\": {...}}}", path=path)
    if "sesrego" in document and not isinstance(document["sesrego"], dict):
        raise InputError("'sesrego' must be an object holding 'config'", path=path)
    return document


def _plain(value: object) -> object:
    """YAML reads 2027-01-31 as a date; OPA data holds it as the string."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _merge(into: dict, other: dict, path: Path, where: list[str]) -> None:
    for key, value in other.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, path, where + [key])
        elif key in into:
            raise InputError(f"data.{'.'.join(where + [key])} is also set by an earlier --data file "
                             "(OPA refuses such merge conflicts)", path=path)
        else:
            into[key] = value


def validate(config: object, path: Path | None) -> None:
    if not isinstance(config, dict):
        raise InputError("sesrego.config must be an object", path=path)
    for key, value in config.items():
        if key not in _KEYS:
            raise InputError(f"unknown configuration key sesrego.config.{key}; expected one of "
                             + ", ".join(sorted(_KEYS)), path=path)
        problem = _problem(key, value)
        if problem:
            raise InputError(f"sesrego.config.{key} must be {_KEYS[key]}: {problem}", path=path)


def _problem(key: str, value: object) -> str | None:
    if key in ("administrators", "trusted_recipients"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"got {json.dumps(value)[:80]}"
    elif key == "severity":
        if not isinstance(value, dict):
            return "not a map"
        bad = [f"{k}: {v}" for k, v in value.items() if v not in SEVERITIES]
        if bad:
            return "invalid " + ", ".join(bad)
    elif key == "waivers":
        if not isinstance(value, list):
            return "not a list"
        for i, waiver in enumerate(value):
            if not isinstance(waiver, dict) or not isinstance(waiver.get("rule_id"), str) \
                    or not isinstance(waiver.get("resource"), str):
                return f"waiver {i} needs string rule_id and resource"
            if "expires" in waiver and not (isinstance(waiver["expires"], str) and len(waiver["expires"]) >= 10
                                            and waiver["expires"][4] == "-" and waiver["expires"][7] == "-"):
                return f"waiver {i} expires must be a date such as 2027-01-31"
    elif key == "scp_attested" and not isinstance(value, bool):
        return "not true or false"
    return None

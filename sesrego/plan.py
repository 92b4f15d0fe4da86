"""Reading Terraform plan JSON (``terraform show -json``) safely."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from .errors import InputError

#: Inputs larger than this are refused instead of exhausting memory (override with --max-input-bytes).
MAX_INPUT_BYTES = 512 * 1024 * 1024
#: A single policy string longer than this is refused (override with --max-policy-chars).
MAX_POLICY_CHARS = 1024 * 1024
SUPPORTED_MAJOR = "1"


@dataclass(frozen=True, slots=True)
class Limits:
    max_input_bytes: int = MAX_INPUT_BYTES
    max_policy_chars: int = MAX_POLICY_CHARS


def read_input(path: str, limits: Limits = Limits()) -> bytes:
    """The bytes of an input file, refusing one over the size limit before reading it."""
    try:
        check_size(os.path.getsize(path), path, limits)
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def read_plan_bytes(raw: bytes, name: str, limits: Limits = Limits()) -> bytes:
    """Check that ``raw`` is a plan sesrego can scan; return the bytes to hand to the engine."""
    load_plan(raw, name, limits)
    return raw


def load_plan(raw: bytes, name: str, limits: Limits = Limits()) -> dict:
    """The plan in ``raw``, checked as :func:`read_plan_bytes` checks it."""
    check_size(len(raw), name, limits)
    if not raw.strip():
        raise InputError("empty file: expected the JSON of 'terraform show -json PLAN'", path=name)
    try:
        plan = json.loads(raw)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text: expected the JSON of 'terraform show -json PLAN'", path=name) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=name, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=name) from None
    check_plan(plan, name, limits)
    return plan


def check_size(size: int, name: str, limits: Limits = Limits()) -> None:
    """Refuse an input over ``limits.max_input_bytes``."""
    if size > limits.max_input_bytes:
        raise InputError(f"input is {size} bytes, over the limit of {limits.max_input_bytes} "
                         "(raise it with --max-input-bytes)", path=name)


def check_plan(plan: object, name: str, limits: Limits = Limits()) -> None:
    if not isinstance(plan, dict):
        raise InputError(f"expected a JSON object (terraform show -json output), got {type(plan).__name__}",
                         path=name)
    version = plan.get("format_version")
    if not isinstance(version, str):
        raise InputError("no format_version: this is not 'terraform show -json' output", path=name)
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise InputError(f"plan format_version {version} is not supported (sesrego reads 1.x)", path=name)
    changes = plan.get("resource_changes", [])
    if not isinstance(changes, list):
        raise InputError("resource_changes is not a list", path=name)
    for change in changes:
        after = change.get("change", {}).get("after") if isinstance(change, dict) and isinstance(
            change.get("change"), dict) else None
        if isinstance(after, dict):
            for key in ("policy", "content", "inline_policy"):
                value = after.get(key)
                if isinstance(value, str) and len(value) > limits.max_policy_chars:
                    raise InputError(f"{change.get('address')}.{key} is {len(value)} characters, over the limit "
                                     f"of {limits.max_policy_chars} (raise it with --max-policy-chars)", path=name)

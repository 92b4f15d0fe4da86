"""Reading Terraform plan JSON (``terraform show -json``) safely.

* **Bounded reading.** An input is read in chunks and refused as soon as it passes
  ``--max-input-bytes``, whatever it is: a regular file, standard input, a FIFO or a
  character device (``/dev/zero`` stops at the limit). A FIFO that no writer opens within
  ``--input-timeout`` seconds is an input error, so ``sesrego scan <(terraform show -json
  tfplan)`` works and a forgotten FIFO never hangs a run.
* **Encodings.** UTF-8 with or without a byte-order mark, and UTF-16 with one (as
  PowerShell's ``>`` writes), are read; anything else is an error naming the file.
* **Knowing what the input is.** Terraform state, the ``terraform plan -json`` log stream,
  the text of ``terraform show``, a binary plan file and JSON that is no plan are each
  recognised and refused with the exact command that produces the right input.
* **Exact numbers.** The engine reads the bytes the user gave; when a large plan is split
  across cores (:func:`plan_parts`), its parts are written back with every number exactly
  as it was written (``1e400`` stays ``1e400``), so a split scan equals a whole one.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
from dataclasses import dataclass

from . import reading
from .errors import InputError
from .reading import INPUT_TIMEOUT, read_file

#: Inputs larger than this are refused instead of exhausting memory (override with --max-input-bytes).
MAX_INPUT_BYTES = 512 * 1024 * 1024
#: A single policy string longer than this is refused (override with --max-policy-chars).
MAX_POLICY_CHARS = 1024 * 1024
SUPPORTED_MAJOR = "1"

#: The command that writes what sesrego scans.
PLAN_COMMAND = "terraform plan -out=tfplan && terraform show -json tfplan > plan.json"


@dataclass(frozen=True, slots=True)
class Limits:
    max_input_bytes: int = MAX_INPUT_BYTES
    max_policy_chars: int = MAX_POLICY_CHARS
    input_timeout: float = INPUT_TIMEOUT


# --- reading bytes ------------------------------------------------------------------------

_RAISE = " (raise it with --max-input-bytes)"


def read_input(path: str, limits: Limits = Limits()) -> bytes:
    """The bytes of an input, read under the size limit (a FIFO under the open timeout too)."""
    return read_file(path, limit=limits.max_input_bytes, timeout=limits.input_timeout, what="input", hint=_RAISE)


def read_bounded(handle, name: str, limits: Limits = Limits(), size: int | None = None) -> bytes:
    """Everything ``handle`` holds (standard input), refused once it passes ``limits.max_input_bytes``."""
    return reading.read_bounded(handle, name, limits.max_input_bytes, size, what="input", hint=_RAISE)


def check_size(size: int, name: str, limits: Limits = Limits()) -> None:
    """Refuse an input over ``limits.max_input_bytes``."""
    if size > limits.max_input_bytes:
        raise InputError(f"input is {size} bytes, over the limit of {limits.max_input_bytes}{_RAISE}", path=name)


# --- decoding -------------------------------------------------------------------------------


def utf8(raw: bytes, name: str) -> bytes:
    """``raw`` as UTF-8 without a byte-order mark: what the engine reads."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):]
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError("the file is UTF-32; save it as UTF-8", path=name)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").encode("utf-8")
        except UnicodeError:
            raise InputError("the file starts with a UTF-16 byte-order mark but is not UTF-16 text",
                             path=name) from None
    if len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0):
        raise InputError("the file is UTF-16 or UTF-32 without a byte-order mark; save it as UTF-8",
                         path=name)
    return raw


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}): expected the JSON of 'terraform show -json PLAN'",
                         path=name) from None


# --- what the input is ----------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _parse(raw: bytes, name: str, **hooks) -> object:
    """The JSON value of ``raw`` (UTF-8), or an error that says what the input is instead."""
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(_zip_problem(raw, name), path=name)
    text = _text(raw, name)
    if not text.strip():
        raise InputError(f"empty file: expected the JSON of 'terraform show -json PLAN' ({PLAN_COMMAND})",
                         path=name)
    try:
        return json.loads(text, parse_constant=_reject_constant, **hooks)
    except json.JSONDecodeError as exc:
        recognised = _recognise_text(text)
        if recognised:
            raise InputError(recognised, path=name) from None
        raise InputError(f"not valid JSON: {exc.msg}", path=name, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=name) from None
    except ValueError as exc:
        if "integer string conversion" in str(exc) and "parse_int" not in hooks:
            return _parse(raw, name, parse_int=_int, **hooks)
        raise InputError(f"not valid JSON: {str(exc).splitlines()[0]}", path=name) from None


def _int(text: str) -> int | _Verbatim:
    return int(text) if len(text) < 4000 else _Verbatim(text)


def _zip_problem(raw: bytes, name: str) -> str:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        names = []
    if "tfplan" in names:
        return ("this is a binary Terraform plan file, not its JSON: run "
                f"`terraform show -json {name} > plan.json` and scan plan.json")
    return f"this is a zip archive, not a Terraform plan's JSON ({PLAN_COMMAND})"


_SHOW_TEXT = re.compile(r"Terraform will perform the following actions|Terraform used the selected providers|"
                        r"^\s*# \S+ (will|must) be |^Plan: \d+ to add|^No changes\.|"
                        r"Your infrastructure matches the configuration|^\s*# \S+:\s*$|"
                        r"^\s*resource \"[^\"]+\" \"[^\"]+\" \{", re.MULTILINE)


def _recognise_text(text: str) -> str | None:
    """What a non-JSON input is, when it is Terraform output of another kind."""
    first = text.lstrip().split("\n", 1)[0]
    try:
        line = json.loads(first)
    except ValueError:
        line = None
    if isinstance(line, dict) and _is_log_line(line):
        return ("this is the `terraform plan -json` log stream (one message per line), not a plan: "
                f"scan the plan instead: {PLAN_COMMAND}")
    if _SHOW_TEXT.search(text[:65536]) or text.lstrip().startswith("\x1b["):
        return ("this is the text output of `terraform show` or `terraform plan`, not JSON: "
                f"scan the plan's JSON instead: {PLAN_COMMAND}")
    return None


def _is_log_line(value: dict) -> bool:
    return "@message" in value or ("@level" in value and "type" in value)


def check_plan(plan: object, name: str, limits: Limits = Limits()) -> None:
    """Refuse what is not a plan sesrego can scan, saying what it is; check the policy limits."""
    if not isinstance(plan, dict):
        raise InputError(f"expected a JSON object (terraform show -json output), got {type(plan).__name__}",
                         path=name)
    if _is_log_line(plan):
        raise InputError("this is a message of the `terraform plan -json` log stream, not a plan: "
                         f"scan the plan instead: {PLAN_COMMAND}", path=name)
    is_plan = "resource_changes" in plan or "planned_values" in plan
    if not is_plan and ("values" in plan or set(plan) <= {"format_version", "terraform_version"}) \
            and "format_version" in plan:
        raise InputError("this is Terraform state (`terraform show -json` without a plan file), not a plan: "
                         f"scan a plan instead: {PLAN_COMMAND}", path=name)
    version = plan.get("format_version")
    if not isinstance(version, str):
        raise InputError("no format_version: this is not 'terraform show -json' output "
                         f"({PLAN_COMMAND})", path=name)
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise InputError(f"plan format_version {version} is not supported (sesrego reads 1.x)", path=name)
    if not is_plan:
        raise InputError("JSON with neither resource_changes nor planned_values is not a Terraform plan: "
                         f"scan the output of {PLAN_COMMAND}", path=name)
    changes = plan.get("resource_changes", [])
    if not isinstance(changes, list):
        raise InputError("resource_changes is not a list", path=name)
    check_policies(changes, name, limits)


def check_policies(changes: list, name: str, limits: Limits = Limits()) -> None:
    """Refuse a policy attribute longer than ``limits.max_policy_chars`` (``inline_policy`` blocks too)."""
    for change in changes:
        body = change.get("change") if isinstance(change, dict) else None
        after = body.get("after") if isinstance(body, dict) else None
        if not isinstance(after, dict):
            continue
        for key in ("policy", "content", "inline_policy"):
            values = [(key, after.get(key))]
            if isinstance(after.get(key), list):
                values = [(f"{key}[{i}].policy", block.get("policy")) for i, block in enumerate(after[key])
                          if isinstance(block, dict)]
            for attribute, value in values:
                if isinstance(value, str) and len(value) > limits.max_policy_chars:
                    raise InputError(f"{change.get('address')}.{attribute} is {len(value)} characters, over the "
                                     f"limit of {limits.max_policy_chars} (raise it with --max-policy-chars)",
                                     path=name)


# --- the bytes the engine reads ---------------------------------------------------------------


def plan_bytes(raw: bytes, name: str, limits: Limits = Limits()) -> bytes:
    """Check that ``raw`` is a plan sesrego can scan; return the bytes to hand to the engine."""
    check_size(len(raw), name, limits)
    raw = utf8(raw, name)
    check_plan(_parse(raw, name), name, limits)
    return raw



class _Verbatim:
    """A JSON number kept exactly as written (``1e400``, a 5,000-digit integer)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def plan_parts(raw: bytes, name: str, parts: int, limits: Limits = Limits()) -> list[bytes]:
    """The plan in ``raw`` as ``parts`` plans (see :func:`split_plan`), each as engine bytes.

    Floats (and integers too long for Python) are carried as their text and written back
    verbatim, so each part holds exactly the numbers of the plan.
    """
    check_size(len(raw), name, limits)
    raw = utf8(raw, name)
    plan = _parse(raw, name, parse_float=_Verbatim)
    check_plan(plan, name, limits)
    nonce = os.urandom(8).hex()
    numbers: list[str] = []

    def verbatim(value: object) -> str:
        if not isinstance(value, _Verbatim):
            raise TypeError(f"{type(value).__name__} is not JSON")
        numbers.append(value.text)
        return f"{nonce}:{len(numbers) - 1}"

    marker = re.compile(rf'"{nonce}:(\d+)"')
    out = []
    for part in split_plan(plan, parts):
        text = json.dumps(part, default=verbatim, separators=(",", ":"))
        if numbers:
            text = marker.sub(lambda match: numbers[int(match.group(1))], text)
        out.append(text.encode("ascii"))
    return out


#: Resources that attach managed policies to principals: few, and every part needs all of them.
_ATTACHMENTS = frozenset({
    "aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment", "aws_iam_role_policy_attachments_exclusive",
    "aws_iam_user_policy_attachments_exclusive", "aws_iam_group_policy_attachments_exclusive",
})
#: Principals, and the inline policies that name one (type -> (principal kind, argument naming it)).
_PRINCIPALS = {"aws_iam_role": "role", "aws_iam_user": "user", "aws_iam_group": "group"}
_INLINE_POLICIES = {"aws_iam_role_policy": ("role", "role"), "aws_iam_user_policy": ("user", "user"),
                    "aws_iam_group_policy": ("group", "group")}


def _shared(change: object) -> bool:
    """Whether every part of a split plan needs this resource change whole.

    The rules join a policy with its own resource change, the plan's data sources (an
    aws_iam_policy_document read during apply), its configuration, the organization's policies
    (the SCP controls), the attachments of a managed policy, and the principal an inline policy
    belongs to with that principal's other inline policies (see ``_principal_group``).
    """
    return not isinstance(change, dict) or change.get("mode") != "managed" or \
        change.get("type") == "aws_organizations_policy" or change.get("type") in _ATTACHMENTS


def _principal_group(change: dict) -> tuple | None | bool:
    """The principal a role, user or group, or one of their inline policies, belongs to.

    ``False``: not such a change. ``None``: it names its principal by a value the plan does not
    know (a reference), so it may belong to any of them.
    """
    kind = _PRINCIPALS.get(change.get("type"))
    argument = "name"
    if kind is None:
        kind, argument = _INLINE_POLICIES.get(change.get("type"), (None, None))
        if kind is None:
            return False
    after = (change.get("change") or {}).get("after")
    name = after.get(argument) if isinstance(after, dict) else None
    return (kind, name) if isinstance(name, str) else None


def _stub(change: dict) -> dict:
    """A principal as the other parts see it: who it is and what it attaches, without its inline policies."""
    inner = dict(change.get("change") or {})
    for key in ("after", "after_unknown"):
        if isinstance(inner.get(key), dict):
            inner[key] = {k: v for k, v in inner[key].items() if k != "inline_policy"}
    return {**change, "change": inner}


def split_plan(plan: dict, parts: int) -> list[dict]:
    """``plan`` as ``parts`` plans whose findings, merged as a set, are the plan's findings.

    Each part keeps everything but ``resource_changes``, every shared change (see ``_shared``),
    and one share of the others. A principal and its inline policies (resources and blocks) go
    to one part together, and every other part gets the principal without its inline policies,
    so that a managed policy anywhere sees whom it is attached to. When an inline policy names
    its principal by a value the plan does not know, all principals go to one part. Findings on
    shared resources appear in every part and merge into one, as ``data.sesrego.findings`` is a set.
    """
    changes = plan.get("resource_changes")
    if parts <= 1 or not isinstance(changes, list):
        return [plan]
    shared = [change for change in changes if _shared(change)]
    groups: dict[tuple | None, list[dict]] = {}
    units: list[list[dict]] = []
    for change in changes:
        if _shared(change):
            continue
        group = _principal_group(change)
        if group is False:
            units.append([change])
        else:
            groups.setdefault(group, []).append(change)
    if None in groups:  # an inline policy that may belong to any principal: keep them all together
        groups = {None: [change for group in groups.values() for change in group]}
    units.extend(groups[key] for key in sorted(groups, key=repr))
    principals = [(i % parts, _stub(change)) for i, unit in enumerate(units) for change in unit
                  if change.get("type") in _PRINCIPALS]
    out = []
    for part in range(parts):
        stubs = [stub for home, stub in principals if home != part]
        mine = [change for unit in units[part::parts] for change in unit]
        out.append({**plan, "resource_changes": shared + stubs + mine})
    return out

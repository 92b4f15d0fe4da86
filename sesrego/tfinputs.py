"""Terraform configuration in a scan: ``.tf`` inputs, and a plan's annotations from its configuration.

* **Single files by module.** pre-commit passes the changed files one by one; the files named
  from one module directory are one input: the module is read once (in its module's context, by
  :func:`sesrego.terraform.plan_from_tf`), the parts of it those files declare or affect are
  evaluated once, together, and reported under the module's directory (one file alone keeps its
  own name). Each finding still names its ``.tf`` file and line.
* **Inline suppressions** (``# sesrego:ignore:SES-001 <reason>``) become waivers for that input
  only (contract 3: they are added in the query, ``with data.sesrego.config.waivers as …``), so
  they apply in the Rego exactly like configuration waivers. A comment in a file the scan did not
  name is applied but never reported as unused: what it covers may be outside the files scanned.
* **Plans** take the locations and inline suppressions of the configuration they were made from:
  ``--tf-dir DIR``, or else the plan's own directory when it holds ``.tf`` files
  (:func:`sesrego.terraform.annotations_from_tf`). Plan findings then carry the ``.tf`` file and
  line, as Checkov's plan enrichment does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import as_user_error

_CONFIG_SUFFIXES = (".tf", ".tf.json")


@dataclass(frozen=True, slots=True)
class Annotations:
    """What a configuration says about the plans made from it."""

    directory: str
    locations: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    waivers: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Module:
    """The files named from one module directory, as one input (the reader's TfInput shape)."""

    path: str
    plan: dict | None = None
    error: object = None
    locations: Mapping = field(default_factory=dict)
    suppressions: tuple = ()
    warnings: tuple[str, ...] = ()


def module_key(path: str) -> str:
    """The directory a ``.tf`` file belongs to, as a key (resolved, so two spellings are one module)."""
    try:
        return str(Path(path).parent.resolve())
    except OSError:
        return os.path.abspath(os.path.dirname(path) or ".")


def group_files(files: Sequence[str]) -> list[tuple[str, ...]]:
    """``.tf`` files grouped by module directory, in command-line order, each file once."""
    groups: dict[str, list[str]] = {}
    for file in files:
        group = groups.setdefault(module_key(file), [])
        if file not in group:
            group.append(file)
    return [tuple(group) for group in groups.values()]


def holds_configuration(directory: Path) -> bool:
    """Whether ``directory`` itself holds ``.tf`` or ``.tf.json`` files."""
    try:
        return any(entry.name.endswith(_CONFIG_SUFFIXES) and not entry.name.startswith(".") and entry.is_file()
                   for entry in os.scandir(directory))
    except OSError:
        return False


def inline_waivers(tf: object) -> list[dict]:
    """A root module's inline suppressions as waivers for it alone (contract 3)."""
    waivers = []
    for suppression in getattr(tf, "suppressions", ()) or ():
        for rule_id in suppression.rule_ids:
            for resource in suppression.resources:
                waiver = {"rule_id": rule_id, "resource": resource, "reason": suppression.reason,
                          "source": "inline", "file": _display_path(str(suppression.file)), "line": suppression.line}
                if suppression.expires:
                    waiver["expires"] = suppression.expires
                waivers.append(waiver)
    return waivers


def reader_options(reader: object | None, max_input_bytes: int):
    """The reader's options: the run's, else the defaults with this run's input limit and TF_VAR_*."""
    from . import terraform

    options_type = getattr(terraform, "ReaderOptions", None)
    if reader is not None or options_type is None:
        return reader
    try:
        return options_type(max_input_bytes=max_input_bytes,
                            environ={k: v for k, v in os.environ.items() if k.startswith("TF_VAR_")})
    except TypeError:
        return options_type()


def read_tf(paths: Sequence[str], reader: object | None, max_input_bytes: int) -> list:
    """The reader's root modules for ``paths``; the files of one module, named together, as one input."""
    from . import terraform

    options = reader_options(reader, max_input_bytes)
    if options is None:
        found = terraform.plan_from_tf([Path(p) for p in paths])
    else:
        found = terraform.plan_from_tf([Path(p) for p in paths], options=options)
    if len(paths) > 1 and all(not os.path.isdir(p) for p in paths):
        return [_merged(found, paths)]
    return found


def _merged(inputs: list, files: Sequence[str]) -> _Module:
    """The focused documents of several files of one module as one document (the union of their resources)."""
    directory = os.path.normpath(os.path.dirname(files[0]) or ".")
    warnings = tuple(dict.fromkeys(w for tf in inputs for w in (getattr(tf, "warnings", ()) or ())))
    failed = next((tf for tf in inputs if tf.error is not None), None)
    if failed is not None or not inputs:
        return _Module(directory, error=failed.error if failed else f"{directory}: nothing was read",
                       warnings=warnings)
    plan = dict(inputs[0].plan)
    changes: dict[str, dict] = {}
    unread: dict[str, dict] = {}
    for tf in inputs:
        for change in tf.plan.get("resource_changes", []):
            changes.setdefault(json.dumps([change.get("address"), change.get("deposed")]), change)
        for entry in (tf.plan.get("sesrego") or {}).get("unread", []):
            unread.setdefault(json.dumps(entry, sort_keys=True), entry)
    plan["resource_changes"] = list(changes.values())
    if unread:
        plan["sesrego"] = {"unread": list(unread.values())}
    first = inputs[0]
    return _Module(directory, plan, None, dict(first.locations),
                   tuple(getattr(first, "suppressions", ()) or ()), warnings)


def out_of_scope(waiver: Mapping, paths: Sequence[str]) -> bool:
    """Whether an unused inline waiver lies in a file a scan of single ``paths`` did not name.

    Such a comment may cover resources the named files neither declare nor affect, so its being
    unused says nothing; a directory scan names every file.
    """
    if waiver.get("source") != "inline" or any(os.path.isdir(p) for p in paths):
        return False
    named = {os.path.realpath(p) for p in paths}
    return os.path.realpath(str(waiver.get("file", ""))) not in named


def plan_directory(kind: str, path: str, tf_dir: str | None, annotate: bool) -> str | None:
    """The configuration whose annotations a plan takes: ``--tf-dir``, else the plan's own directory
    when it holds .tf files (never for standard input)."""
    if tf_dir:
        return tf_dir
    if kind != "plan" or not annotate:
        return None
    directory = Path(path).parent
    return str(directory) if holds_configuration(directory) else None


def read_annotations(directory: str, reader: object | None, max_input_bytes: int) -> Annotations:
    """The annotations of the configuration in ``directory``; a problem reading it is a warning."""
    from . import terraform

    try:
        options = reader_options(reader, max_input_bytes)
        found = terraform.annotations_from_tf(Path(directory), options) if options is not None else \
            terraform.annotations_from_tf(Path(directory))
    except Exception as exc:  # noqa: BLE001 - annotations are extra: the plan is still scanned
        problem = as_user_error(exc, directory).located()
        return Annotations(directory, warnings=(f"{problem} (the plan is scanned without its .tf locations and "
                                                "inline suppressions)",))
    return Annotations(directory, dict(found.locations), tuple(inline_waivers(found)),
                       tuple(w for w in found.warnings if _about_annotations(str(w))))


def _about_annotations(warning: str) -> bool:
    """Whether a reader warning concerns what a plan takes from its configuration: an inline comment that
    does not apply, or a configuration that could only be read in part. Warnings about variable values
    (a tfvars file not loaded, an undeclared variable) are left out: the plan holds Terraform's values."""
    return "sesrego:ignore" in warning or "locations and suppressions" in warning


def _display_path(path: str) -> str:
    from .formats import display_path  # the output formats' module: not needed to read inputs

    return display_path(path)

"""One root module -> its plan-shaped document, locations and inline suppressions, or one error.

This is the reader's boundary: whatever goes wrong while one root module is read and evaluated
becomes one located :class:`~sesrego.errors.InputError` for that root, and the other roots are
read as usual. The reader's caps (``--max-eval-steps``, ``--max-value-bytes``) refuse a root the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .emit import Emitted, Plan, configuration, emit
from .instances import Context, Instance
from .load import Loader, Module, display, resolved
from .modules import Manifest, call_errors, read_manifest, resolve
from .options import ReaderOptions
from .suppressions import Suppression, forms, module_comments
from .values import ACTIVE, LimitExceeded
from .variables import root_values, workspace

#: At most this many call paths lead to one module for suppression globs.
MAX_CALL_PATHS = 64


@dataclass(slots=True)
class RootResult:
    directory: Path
    document: dict | None = None
    plan: Plan | None = None
    error: InputError | None = None
    suppressions: list[Suppression] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    instantiated: set[Path] = field(default_factory=set)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)


def failure(exc: BaseException, path: str) -> InputError:
    """Whatever went wrong while reading ``path``, as one located line."""
    if isinstance(exc, InputError):
        return exc
    if isinstance(exc, LimitExceeded):
        where, line = exc.where or (path, None)
        return InputError(str(exc), path=where, line=line)
    if isinstance(exc, RecursionError):
        return InputError("expressions nested too deeply to evaluate", path=path)
    if isinstance(exc, MemoryError):
        return InputError("out of memory while evaluating this configuration (lower --max-value-bytes)", path=path)
    if isinstance(exc, OSError):
        where = exc.filename if isinstance(exc.filename, str) else path
        return InputError(f"cannot read: {exc.strerror or exc}", path=where)
    return InputError(f"internal error while reading this configuration: {type(exc).__name__}: "
                      f"{str(exc)[:200]} (please report it)", path=path)


def build_root(directory: Path, loader: Loader, options: ReaderOptions, tree: Path) -> RootResult:
    result = RootResult(directory)
    try:
        _evaluate(result, loader, options, tree)
    except Exception as exc:  # the boundary: one root's failure is one line, never a traceback
        result.error = failure(exc, display(directory))
    if result.error is not None:
        result.document = result.plan = None
        result.instantiated = _reachable(directory, loader, options)
    return result


def _reachable(directory: Path, loader: Loader, options: ReaderOptions) -> set[Path]:
    """The module directories a root calls, whatever the calls' count: a failed root still covers them."""
    try:
        manifest = read_manifest(directory, options.max_input_bytes)
        return {resolved(module.directory) for module, _ in call_paths(loader.directory(directory), loader, manifest)}
    except (InputError, OSError, RecursionError):
        return {resolved(directory)}


def _evaluate(result: RootResult, loader: Loader, options: ReaderOptions, tree: Path) -> None:
    module = loader.directory(result.directory)
    manifest = read_manifest(result.directory, options.max_input_bytes)
    errors = call_errors(module, loader, manifest)
    if errors:
        raise errors[0]
    values, warnings = root_values(module, options)
    result.warnings.extend(warnings)
    context = Context(loader, options, manifest, tree, module, values, workspace(result.directory, options))
    ACTIVE.append(context.budget)
    try:
        plan = emit(Instance(module, context))
        config = {"root_module": configuration(module, loader, manifest)}
    finally:
        ACTIVE.pop()
    result.plan = plan
    result.instantiated = context.instantiated
    result.locations = plan.locations
    result.document = {
        "format_version": "1.2",
        "planned_values": {"root_module": {}},
        "resource_changes": plan.changes,
        "configuration": config,
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    if plan.unread:
        result.document["sesrego"] = {"unread": plan.unread}
    suppressions, comment_warnings = resolve_suppressions(module, loader, manifest, plan.emitted)
    result.suppressions = suppressions
    result.warnings.extend(comment_warnings)


def call_paths(root: Module, loader: Loader, manifest: Manifest) -> list[tuple[Module, list[tuple[str, ...]]]]:
    """Every module reachable from ``root`` (whatever the calls' count), with the call paths that reach it."""
    found: dict[Path, tuple[Module, list[tuple[str, ...]]]] = {resolved(root.directory): (root, [()])}
    pending = [(root, (), "")]
    while pending:
        module, path, key = pending.pop()
        for name, call in sorted(module.calls.items()):
            child_key = f"{key}.{name}" if key else name
            target = resolve(call, module.directory, child_key, manifest)
            if target is None or len(path) >= 32 or not target.is_dir():
                continue
            child = loader.directory(target)
            entry = found.setdefault(resolved(target), (child, []))
            if len(entry[1]) >= MAX_CALL_PATHS or path + (name,) in entry[1]:
                continue
            entry[1].append(path + (name,))
            pending.append((child, path + (name,), child_key))
    return list(found.values())


def resolve_suppressions(root: Module, loader: Loader, manifest: Manifest,
                         emitted: list[Emitted] | None) -> tuple[list[Suppression], list[str]]:
    """The inline suppressions of every module ``root`` reaches, with the resources each covers.

    Without ``emitted`` (the configuration could not be evaluated), a comment on a policy document
    covers nothing, since what renders the document is not known.
    """
    suppressions, warnings = [], []
    for module, paths in call_paths(root, loader, manifest):
        comments, problems = module_comments(module)
        warnings.extend(problems)
        for comment in comments:
            block = comment.target
            if block.type == "module":
                resources = {f for path in paths for f in forms(path, block.address, module_call=True)}
            elif block.type == "resource":
                resources = {f for path in paths for f in forms(path, block.address)}
            else:
                merged = module.resources.get(("data", *block.labels))
                resources = {f for item in emitted or () if item.mode == "managed" and merged in item.deps
                             for f in forms(item.call_path, item.block.address)}
            suppressions.append(Suppression(comment.rule_ids, comment.expires, comment.reason, comment.file,
                                            comment.line, tuple(sorted(resources))))
    return suppressions, warnings


def static_locations(root: Module, loader: Loader, manifest: Manifest) -> dict[str, tuple[str, int]]:
    """Configuration addresses (without instance keys) of every block, without evaluating anything."""
    out: dict[str, tuple[str, int]] = {}
    for module, paths in call_paths(root, loader, manifest):
        for path in paths:
            prefix = "".join(f"module.{name}." for name in path)
            for block in list(module.resources.values()) + list(module.calls.values()):
                out.setdefault(prefix + block.address, (block.source.path, block.line))
    return out


def focus(result: RootResult, file: str) -> dict:
    """The document restricted to what one file declares, or what depends on blocks it declares."""
    emitted = result.plan.emitted
    keep = {item.address for item in emitted
            if file in item.block.files or any(file in call.files for call in item.calls)
            or any(file in getattr(dep, "files", ()) for dep in item.deps)}
    organization = [item for item in emitted if item.mode == "managed"
                    and item.block.labels[0] == "aws_organizations_policy"]
    if any(file in item.block.files for item in organization):
        keep.update(item.address for item in organization)  # SCP findings weigh all SCPs together
    document = dict(result.document)
    document["resource_changes"] = [change for change in result.document["resource_changes"]
                                    if change["mode"] == "data" or change["address"] in keep]
    unread = [entry for entry in result.document.get("sesrego", {}).get("unread", [])
              if file == result.locations.get(entry["address"], ("", 0))[0]]
    if unread:
        document["sesrego"] = {"unread": unread}
    else:
        document.pop("sesrego", None)
    return document

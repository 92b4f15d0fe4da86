"""Which directories are root modules, and where each module call's source is.

A local source (``./x``, ``../x``) is read where it is. Registry, git and absolute-path sources
are read where ``terraform init`` installed them, as ``.terraform/modules/modules.json`` in the
root module's directory records (``{"Modules": [{"Key": "a.b", "Source": ..., "Dir": ...}]}``,
``Key`` the call names joined by ``.``). A call whose source is not installed is reported as
unread, never skipped silently. A module that calls itself, directly or not, is an error even
when the call has ``count = 0``, as Terraform cannot install it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .load import Loader, Module, config_files, display, is_config_file, os_problem, read_text, resolved
from .options import MAX_MODULE_DEPTH
from .syntax import Block, literal_string

NOT_INSTALLED = "module source not installed: run `terraform init`, or scan the plan"
#: The arguments of a module call that are not the module's variables.
MODULE_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
MANIFEST = Path(".terraform") / "modules" / "modules.json"
_ROOT_FILES = (".terraform.lock.hcl", "terraform.tfvars", "terraform.tfvars.json")


@dataclass(slots=True)
class Manifest:
    """``modules.json`` of a root module: call key -> installed directory."""

    root: Path
    directories: dict[str, Path] = field(default_factory=dict)
    error: InputError | None = None


def read_manifest(root: Path, limit: int) -> Manifest:
    path = root / MANIFEST
    manifest = Manifest(root)
    if not path.is_file():
        return manifest
    try:
        document = json.loads(read_text(path, limit))
        for entry in document["Modules"]:
            if isinstance(entry, dict) and isinstance(entry.get("Key"), str) and isinstance(entry.get("Dir"), str):
                manifest.directories[entry["Key"]] = Path(display(root / entry["Dir"]))
    except InputError as exc:
        manifest.error = exc
    except (ValueError, KeyError, TypeError, RecursionError):
        manifest.error = InputError('not a module manifest (expected {"Modules": [{"Key", "Source", "Dir"}]})',
                                    path=display(path))
    return manifest


def is_local(source: str) -> bool:
    return source in (".", "..") or source.startswith(("./", "../", ".\\", "..\\"))


def resolve(call: Block, caller: Path, key: str, manifest: Manifest) -> Path | None:
    """The directory a module call reads, or None when its source is not installed."""
    source = literal_string(call.body.attributes.get("source"))
    if source is None:
        return None
    if is_local(source):
        return Path(display(caller / source))
    return manifest.directories.get(key)


def source_problem(target: Path) -> str | None:
    """Why a local module source cannot be read (it is missing, a file, empty), or None."""
    try:
        if not stat.S_ISDIR(os.stat(target).st_mode):
            return "is a file, not a module directory"
        return None if config_files(target) else "has no .tf or .tf.json files"
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.islink(target):
            return "does not exist"
        return f"cannot be read: {os_problem(exc, target)}"


def call_errors(root: Module, loader: Loader, manifest: Manifest) -> list[InputError]:
    """Errors in the module tree below ``root``: unreadable modules, a module calling itself, depth."""
    errors: list[InputError] = list(root.errors)
    if manifest.error is not None:
        errors.append(manifest.error)
    done: set[Path] = set()
    chain: list[Path] = [resolved(root.directory)]

    def visit(module: Module, key: str) -> None:
        for name, call in sorted(module.calls.items()):
            child_key = f"{key}.{name}" if key else name
            target = resolve(call, module.directory, child_key, manifest)
            if target is None:
                continue
            directory = resolved(target)
            if directory in chain:
                errors.append(InputError(f'module "{name}" calls {target}, which is already calling it: a module '
                                         "cannot call itself, even with count = 0", path=call.source.path,
                                         line=call.line))
                continue
            if len(chain) > MAX_MODULE_DEPTH:
                errors.append(InputError(f"modules nested more than {MAX_MODULE_DEPTH} deep",
                                         path=call.source.path, line=call.line))
                continue
            problem = source_problem(target)
            if problem is not None:
                errors.append(InputError(f'module "{name}": its source {target} {problem}',
                                         path=call.source.path, line=call.line))
                continue
            child = loader.directory(target)
            errors.extend(_unsupported_arguments(name, call, child))
            if directory in done:
                continue
            errors.extend(child.errors)
            chain.append(directory)
            visit(child, child_key)
            chain.pop()
            done.add(directory)

    visit(root, "")
    return errors


def _unsupported_arguments(name: str, call: Block, child: Module) -> list[InputError]:
    """Arguments of a module call that its module declares no variable for: Terraform rejects them."""
    return [InputError(f'Unsupported argument: module "{name}" has no variable named "{argument}", so an '
                       "argument of that name is not expected here", path=expr.source.path, line=expr.line)
            for argument, expr in call.body.attributes.items()
            if argument not in MODULE_ARGUMENTS and argument not in child.variables]


# --- root modules ----------------------------------------------------------------------------


def config_directories(directory: Path) -> tuple[list[Path], list[InputError]]:
    """Directories under ``directory`` (itself included) holding configuration files, and the ones that
    could not be listed; ``.terraform`` is skipped, symbolic links to directories are not followed."""
    found, errors = [], []

    def unreadable(exc: OSError) -> None:
        errors.append(InputError(f"cannot read the directory: {exc.strerror or exc}",
                                 path=display(exc.filename or directory)))

    for current, dirs, names in os.walk(directory, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if d != ".terraform")
        if any(is_config_file(name) for name in names):
            found.append(Path(current))
    return sorted(found), errors


def looks_like_root(directory: Path, module: Module) -> bool:
    """Whether someone runs Terraform in ``directory`` (a backend, a lock file, tfvars, ``.terraform``)."""
    if module.backend or (directory / ".terraform").is_dir():
        return True
    if any((directory / name).exists() for name in _ROOT_FILES):
        return True
    try:
        return any(entry.name.endswith((".auto.tfvars", ".auto.tfvars.json")) for entry in os.scandir(directory))
    except OSError:
        return False


def root_directories(directory: Path, loader: Loader) -> tuple[list[Path], list[Path], list[InputError]]:
    """(roots, called, unreadable): directories no other one calls (or that are roots by themselves),
    the rest, and the directories that could not be listed."""
    found, errors = config_directories(directory)
    called: set[Path] = set()
    for path in found:
        module = loader.directory(path)
        for call in module.calls.values():
            source = literal_string(call.body.attributes.get("source"))
            if source is not None and (is_local(source) or os.path.isabs(source)):
                target = resolved(Path(source) if os.path.isabs(source) else path / source)
                if target != resolved(path):
                    called.add(target)
    roots = [p for p in found if resolved(p) not in called or looks_like_root(p, loader.directory(p))]
    return roots, [p for p in found if p not in roots], errors

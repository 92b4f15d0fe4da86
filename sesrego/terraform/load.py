"""A module directory -> its configuration, read as Terraform reads it.

Terraform reads the top-level ``*.tf`` and ``*.tf.json`` files of a directory (not those whose
name starts with ``.`` or ends with ``~``), primary files in name order, then merges the
override files (``override.tf``, ``*_override.tf`` and their ``.tf.json`` forms) in name order.
Two primary blocks with the same address are an error naming both files; an override merges into
its base block: arguments replace the base's, a nested block type replaces all the base's blocks
of that type, ``lifecycle`` merges per argument, ``depends_on`` cannot be overridden. The static
checks Terraform makes before planning (``count`` with ``for_each``, a policy document's
``condition`` without ``test``) are errors too, whatever the block's ``count``.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from . import hcl, json_syntax
from .options import ReaderOptions
from .policy_document import POLICY_DOCUMENT, missing_arguments
from .syntax import Block, Body, Local, literal_string

_KINDS = {"resource": "resource", "data": "data", "module": "module call", "variable": "variable",
          "output": "output"}
#: Terraform's summaries for an override block without its base block.
_MISSING = {"resource": "Missing resource to override", "data": "Missing data resource to override",
            "module": "Missing module call to override", "variable": "Missing base variable declaration to override",
            "output": "Missing base output definition to override"}
_LABEL_COUNTS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1}


@dataclass(slots=True, eq=False)
class ParsedFile:
    path: str
    blocks: list[Block]
    comments: list[tuple[int, str]]
    override: bool


@dataclass(slots=True, eq=False)
class Module:
    """The configuration of one directory."""

    directory: Path  # as the user spelled it, normalised
    files: list[ParsedFile] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Local] = field(default_factory=dict)
    resources: dict[tuple[str, str, str], Block] = field(default_factory=dict)  # (mode, type, name)
    calls: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    providers: dict[tuple[str, str | None], Block] = field(default_factory=dict)  # (name, alias)
    backend: Block | None = None  # the terraform block's backend or cloud block

    @property
    def paths(self) -> list[str]:
        return [parsed.path for parsed in self.files]


def display(path: Path | str) -> str:
    return os.path.normpath(str(path))


def is_config_file(name: str) -> bool:
    if name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#")):
        return False
    return name.endswith(".tf") or name.endswith(".tf.json")


def is_override(name: str) -> bool:
    stem = name[:-len(".tf.json")] if name.endswith(".tf.json") else name[:-len(".tf")]
    return stem == "override" or stem.endswith("_override")


def resolved(path: Path) -> Path:
    """``path`` made absolute with symbolic links followed, or as far as that goes (a link loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def os_problem(exc: OSError, path: Path) -> str:
    """What an OSError on ``path`` means, in words (a dangling link and a link loop are named as such)."""
    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return "a symbolic link to nothing"
    return exc.strerror or str(exc)


def read_bytes(path: Path, limit: int, refuse_larger: bool = True) -> bytes:
    """A regular file's bytes, refusing more than ``limit`` while reading; never waits on a FIFO or device.

    With ``refuse_larger`` false, a larger file gives its first ``limit + 1`` bytes, for the caller to refuse.
    """
    name = display(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read: {os_problem(exc, path)}", path=name) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
            raise InputError(f"cannot read: not a regular file ({kind})", path=name)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read: {os_problem(exc, path)}", path=name) from None
    finally:
        os.close(fd)
    if len(data) > limit and refuse_larger:
        raise InputError(f"file is larger than {limit} bytes (--max-input-bytes)", path=name)
    return data


def read_text(path: Path, limit: int) -> str:
    """A configuration file's text (UTF-8, a byte order mark allowed), refusing more than ``limit`` bytes."""
    name = display(path)
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise InputError("not UTF-8 text", path=name, line=line, column=column) from None


def config_files(directory: Path) -> list[str]:
    """The names of the configuration files Terraform reads in ``directory``, sorted.

    As Terraform lists them: every entry with a configuration file name that is not a directory,
    so a symbolic link to nothing, a FIFO or a device named ``x.tf`` is read, and is an error.
    """
    names = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if not is_config_file(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                pass
            names.append(entry.name)
    return sorted(names)


class Loader:
    """Parses each file once and each directory into a :class:`Module` once."""

    def __init__(self, options: ReaderOptions) -> None:
        self.options = options
        self._files: dict[Path, ParsedFile | InputError] = {}
        self._modules: dict[Path, Module] = {}

    def file(self, path: Path) -> ParsedFile:
        key = resolved(path)
        if key not in self._files:
            name = display(path)
            try:
                text = read_text(path, self.options.max_input_bytes)
                parse = json_syntax.parse_file if path.name.endswith(".json") else hcl.parse_file
                blocks, comments = parse(name, text)
                self._files[key] = ParsedFile(name, blocks, comments, is_override(path.name))
            except InputError as exc:
                self._files[key] = exc
            except RecursionError:
                self._files[key] = InputError("nested too deeply to read", path=name)
        result = self._files[key]
        if isinstance(result, InputError):
            raise result
        return result

    def directory(self, directory: Path) -> Module:
        key = resolved(directory)
        if key not in self._modules:
            self._modules[key] = self._module(directory)
        return self._modules[key]

    def _module(self, directory: Path) -> Module:
        module = Module(Path(display(directory)))
        try:
            names = config_files(directory)
        except OSError as exc:
            module.errors.append(InputError(f"cannot read the directory: {exc.strerror or exc}",
                                            path=display(directory)))
            return module
        primaries = [n for n in names if not is_override(n)]
        overrides = [n for n in names if is_override(n)]
        for name in primaries + overrides:
            try:
                parsed = self.file(directory / name)
            except InputError as exc:
                module.errors.append(exc)
                continue
            module.files.append(parsed)
            for block in parsed.blocks:
                try:
                    (_merge_override if parsed.override else _add)(module, block)
                except InputError as exc:
                    module.errors.append(exc)
        module.errors.extend(_static_errors(module))
        return module


def _where(block: Block) -> str:
    return f"{block.source.path}:{block.line}"


def _check_meta(block: Block) -> None:
    """``count`` and ``for_each`` together in one block (an override may add one beside the other's base)."""
    if block.type in ("resource", "data", "module") and "count" in block.body.attributes \
            and "for_each" in block.body.attributes:
        raise InputError('Invalid combination of "count" and "for_each": the two are mutually exclusive',
                         path=block.source.path, line=block.body.attributes["for_each"].line)


def _add(module: Module, block: Block) -> None:
    _check_meta(block)
    kind = block.type
    if kind == "terraform":
        for backend in (b for b in block.body.blocks if b.type in ("backend", "cloud")):
            if module.backend is not None:
                raise InputError(f"Duplicate backend configuration: a {module.backend.type} block was already declared "
                                 f"at {_where(module.backend)}; a module has at most one", path=backend.source.path,
                                 line=backend.line)
            module.backend = backend
        return
    if kind == "provider" and len(block.labels) == 1:
        key = (block.labels[0], literal_string(block.body.attributes.get("alias")))
        if key in module.providers:
            raise InputError(f'Duplicate provider configuration: a provider "{key[0]}"'
                             f'{" with alias " + repr(key[1]) if key[1] else " without an alias"} was already '
                             f"declared at {_where(module.providers[key])}", path=block.source.path, line=block.line)
        module.providers[key] = block
        return
    if kind == "locals":
        for name, expr in block.body.attributes.items():
            if name in module.locals:
                raise InputError(f'Duplicate local value definition: a local value named "{name}" was already '
                                 f"defined at {module.locals[name].expr.source.path}:{module.locals[name].expr.line}",
                                 path=block.source.path, line=expr.line)
            module.locals[name] = Local(name, expr, block)
        return
    table, key = _table(module, block)
    if table is None:
        return
    if key in table:
        existing = table[key]
        raise InputError(f"{_duplicate(block)}: {_named(block)} was already declared at {_where(existing)} "
                         "(Terraform rejects two blocks with one address)", path=block.source.path, line=block.line)
    table[key] = block


def _table(module: Module, block: Block):
    if len(block.labels) != _LABEL_COUNTS.get(block.type, -1):
        return None, None
    if block.type == "resource":
        return module.resources, ("managed", *block.labels)
    if block.type == "data":
        return module.resources, ("data", *block.labels)
    return {"module": module.calls, "variable": module.variables, "output": module.outputs}[block.type], block.labels[0]


def _duplicate(block: Block) -> str:
    """Terraform's summary for a second block with the same address."""
    if block.type in ("resource", "data"):
        return f'Duplicate {block.type} "{block.labels[0]}" configuration'
    return {"output": "Duplicate output definition", "variable": "Duplicate variable declaration",
            "module": "Duplicate module call"}[block.type]


def _named(block: Block, article: bool = True) -> str:
    if block.type in ("resource", "data"):
        text = f'{block.labels[0]} {"data source" if block.type == "data" else "resource"} named "{block.labels[1]}"'
    else:
        text = f'{_KINDS[block.type]} named "{block.labels[0]}"'
    return (("an " if text[0] in "aeiou" else "a ") if article else "") + text


def _merge_override(module: Module, block: Block) -> None:
    _check_meta(block)
    kind = block.type
    if kind in ("terraform", "provider", "moved", "import", "removed", "check"):
        if kind == "terraform":  # an override's backend or cloud block replaces the base's
            module.backend = next((b for b in block.body.blocks if b.type in ("backend", "cloud")), module.backend)
        return
    if kind == "locals":
        for name, expr in block.body.attributes.items():
            if name not in module.locals:
                raise InputError(f'Missing base local value definition to override: there is no local value named '
                                 f'"{name}" in a primary file', path=block.source.path, line=expr.line)
            module.locals[name] = Local(name, expr, block)
        return
    table, key = _table(module, block)
    if table is None:
        return
    if key not in table:
        raise InputError(f"{_MISSING[kind]}: there is no {_named(block, article=False)} in a primary file",
                         path=block.source.path, line=block.line)
    if "depends_on" in block.body.attributes:
        raise InputError("Unsupported override: the depends_on argument may not be overridden",
                         path=block.source.path, line=block.body.attributes["depends_on"].line)
    table[key] = merge_blocks(table[key], block)


def _block_kind(block: Block) -> str:
    return block.labels[0] if block.type == "dynamic" and block.labels else block.type


def merge_blocks(base: Block, override: Block) -> Block:
    """``override`` merged into ``base`` as Terraform merges an override file's block."""
    attributes = {**base.body.attributes, **override.body.attributes}  # count beside for_each: count wins
    replaced = {_block_kind(b) for b in override.body.blocks} - {"lifecycle"}
    blocks = [b for b in base.body.blocks if _block_kind(b) not in replaced and b.type != "lifecycle"]
    lifecycles = [b for b in base.body.blocks + override.body.blocks if b.type == "lifecycle"]
    if lifecycles:
        merged = {name: expr for b in lifecycles for name, expr in b.body.attributes.items()}
        blocks.append(Block("lifecycle", (), Body(merged, []), lifecycles[0].source, lifecycles[0].line,
                            lifecycles[0].end_line))
    blocks.extend(b for b in override.body.blocks if b.type != "lifecycle")
    return Block(base.type, base.labels, Body(attributes, blocks), base.source, base.line, base.end_line,
                 files=base.files + tuple(f for f in override.files if f not in base.files),
                 comments=base.comments + override.comments)


def _static_errors(module: Module) -> list[InputError]:
    errors = []
    for call in module.calls.values():
        if "source" not in call.body.attributes:
            errors.append(InputError(f'module "{call.labels[0]}": Missing required argument: the argument "source" '
                                     "is required", path=call.source.path, line=call.line))
    for (mode, type_, name), block in module.resources.items():
        if mode == "data" and type_ == POLICY_DOCUMENT:
            for kind, argument, path, line in missing_arguments(block):
                errors.append(InputError(f'Missing required argument: a {kind} block of data.{POLICY_DOCUMENT}.{name} '
                                         f'needs "{argument}"', path=path, line=line))
    return errors

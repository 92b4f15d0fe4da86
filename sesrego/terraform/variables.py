"""Root module variables, valued exactly as Terraform values them at plan time.

From lowest to highest precedence: the declared ``default``; ``TF_VAR_<name>`` in the
environment; ``terraform.tfvars``; ``terraform.tfvars.json``; ``*.auto.tfvars`` and
``*.auto.tfvars.json`` in file name order; then ``--var-file`` and ``--var`` in command-line
order. A later value replaces an earlier one (maps replace, they do not merge), and every value is
converted to the declared type. ``.tfvars`` files hold literal values only. An undeclared name is
an error for ``--var``, a warning in a file and ignored in the environment. A variable left
without a value is unknown, and says how to give it one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from . import hcl
from .evaluate import Scope, evaluate
from .json_syntax import parse_json, plain
from .load import Module, display, read_text, resolved
from .options import ReaderOptions
from .syntax import Expr, Source, first, is_tree, token_text, trees
from .types import convert, is_primitive, parse_type
from .values import Fail, Unknown, find_unknown

AUTOLOADED = ("terraform.tfvars", "terraform.tfvars.json")


def no_value(name: str) -> str:
    return (f"a root module variable with no value: give it one with --var {name}=VALUE or a .tfvars file, "
            "or scan the plan")


class _Declared:
    __slots__ = ("block", "type", "nullable", "has_type")

    def __init__(self, block) -> None:
        self.block = block
        attributes = block.body.attributes
        self.has_type = "type" in attributes
        try:
            self.type = parse_type(attributes.get("type"))
        except Fail as exc:
            raise InputError(f'variable "{block.labels[0]}": invalid type constraint: {exc}',
                             path=block.source.path, line=attributes["type"].line) from None
        nullable = attributes.get("nullable")
        self.nullable = True if nullable is None else evaluate(nullable, Scope(None)) is not False


def root_values(module: Module, options: ReaderOptions) -> tuple[dict[str, object], list[str]]:
    """Every root variable's value (or an Unknown saying how to set it), and warnings; raises InputError."""
    declared = {name: _Declared(block) for name, block in module.variables.items()}
    values: dict[str, object] = {}
    for name, variable in declared.items():
        default = variable.block.body.attributes.get("default")
        if default is not None:
            values[name] = _converted(name, variable, _literal(default), default.source.path, default.line,
                                      "Invalid default value for variable")
            if values[name] is None and not variable.nullable:
                raise InputError(f'Invalid default value for variable "{name}": a null default is not valid when '
                                 "nullable = false", path=default.source.path, line=default.line)
    warnings: list[str] = []
    for name, variable in declared.items():
        text = options.environ.get(f"TF_VAR_{name}")
        if text is not None:
            values[name] = _from_text(name, variable, text, f"TF_VAR_{name}")
    directory = module.directory
    autoloaded = [directory / name for name in AUTOLOADED] + sorted(
        (directory / entry.name for entry in _entries(directory)
         if entry.name.endswith((".auto.tfvars", ".auto.tfvars.json")) and not _is_directory(entry)),
        key=lambda path: path.name)
    for path in autoloaded:
        if os.path.lexists(path):  # a FIFO, a directory or a link to nothing of that name is an error, as in Terraform
            _apply_file(path, declared, values, warnings, options)
    for kind, argument in options.command_line():
        if kind == "var-file":
            _apply_file(Path(argument), declared, values, warnings, options, given=True)
            continue
        name, _, text = argument.partition("=")
        if name not in declared:
            raise InputError(f'--var {name}: the root module does not declare a variable named "{name}"',
                             path=display(directory))
        values[name] = _from_text(name, declared[name], text, f"--var {name}")
    for name, variable in declared.items():
        if name not in values:
            values[name] = Unknown(f"var.{name}", no_value(name))
        elif values[name] is None and not variable.nullable:
            default = variable.block.body.attributes.get("default")
            if default is None:
                raise InputError(f'No value for required variable "{name}": it is null, which nullable = false '
                                 "does not allow, and it has no default", path=variable.block.source.path,
                                 line=variable.block.line)
            values[name] = _literal(default)
    warnings.extend(_not_loaded(directory, options))
    return values, warnings


def workspace(directory: Path, options: ReaderOptions) -> str:
    """``terraform.workspace`` as Terraform selects it: ``TF_WORKSPACE``, else the workspace ``terraform
    workspace select`` wrote to ``.terraform/environment``, else ``default``."""
    name = options.environ.get("TF_WORKSPACE")
    if name:
        return name
    path = directory / ".terraform" / "environment"
    if not path.is_file():
        return "default"
    return read_text(path, options.max_input_bytes).strip() or "default"


def _is_directory(entry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _entries(directory: Path) -> list:
    try:
        return list(os.scandir(directory))
    except OSError:
        return []


def _not_loaded(directory: Path, options: ReaderOptions) -> list[str]:
    given = {resolved(Path(path)) for path in options.var_files}
    out = []
    for entry in sorted(_entries(directory), key=lambda e: e.name):
        name = entry.name
        if not name.endswith((".tfvars", ".tfvars.json")) or name in AUTOLOADED:
            continue
        if name.endswith((".auto.tfvars", ".auto.tfvars.json")) or resolved(Path(entry.path)) in given:
            continue
        path = display(entry.path)
        out.append(f"{path}: not loaded: Terraform reads it only with -var-file; scan with --var-file {path} "
                   "to use its values")
    return out


def _literal(expr):
    """The value of a literal expression (a default, a .tfvars value); references and calls are errors."""
    if isinstance(expr, Expr) and _has_call(expr.node):
        raise InputError("Functions may not be called here: only literal values are allowed",
                         path=expr.source.path, line=expr.line)
    value = evaluate(expr, Scope(None))
    unknown = find_unknown(value)
    if unknown is not None:
        raise InputError(f"Variables not allowed: {expr.text} is not a literal value ({unknown.causes[0][1]})",
                         path=expr.source.path, line=expr.line)
    return value


def _has_call(node) -> bool:
    pending = [node]
    while pending:
        node = pending.pop()
        if is_tree(node):
            if node.data == "function_call":
                return True
            pending.extend(node.children)
    return False


def _converted(name: str, variable: _Declared, value, path: str, line: int | None, problem: str):
    try:
        return convert(value, variable.type)
    except Fail as exc:
        raise InputError(f'{problem} "{name}": {exc}', path=path, line=line) from None


def _from_text(name: str, variable: _Declared, text: str, where: str):
    if is_primitive(variable.type, variable.has_type):
        value = text
    else:
        expr = hcl.parse_expression(text, where)
        if expr is None:
            raise InputError(f'{where}: invalid value for variable "{name}": not a valid expression')
        try:
            value = _literal(expr)
        except InputError as exc:
            raise InputError(f"{where}: {exc.problem}") from None
    try:
        return convert(value, variable.type)
    except Fail as exc:
        raise InputError(f'{where}: invalid value for variable "{name}": {exc}') from None


def _apply_file(path: Path, declared: dict, values: dict, warnings: list[str], options: ReaderOptions,
                given: bool = False) -> None:
    name = display(path)
    texts = dict(options.var_file_texts) if given else {}
    if str(path) in texts:
        text = texts[str(path)]
    elif given and not os.path.lexists(path):
        raise InputError("cannot read the --var-file: no such file", path=name)
    else:
        text = read_text(path, options.max_input_bytes)
    for variable, value, line in _assignments(name, text):
        if variable not in declared:
            warnings.append(f'{name}:{line}: value for undeclared variable "{variable}" (the root module declares '
                            "no variable of that name)")
            continue
        values[variable] = _converted(variable, declared[variable], value, name, line,
                                      "Invalid value for variable")


def _assignments(name: str, text: str) -> list[tuple[str, object, int]]:
    if name.endswith(".json"):
        document = parse_json(name, text)
        pairs = [(key, plain(value), line) for key, value, line, _, _ in document.pairs if key != "//"]
        return _once(name, pairs, "Duplicate attribute definition")
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = hcl.parse(text, name)
    except UnexpectedInput as exc:
        raise InputError(f"HCL syntax error: {hcl.syntax_problem(exc)}", path=name,
                         line=getattr(exc, "line", None), column=getattr(exc, "column", None)) from None
    except (LarkError, RecursionError, ValueError) as exc:
        raise InputError(f"HCL syntax error: {type(exc).__name__}", path=name) from None
    source = Source(name, text)
    out = []
    body = first(tree, "body")
    for child in trees(body) if body is not None else []:
        if child.data != "attribute":
            raise InputError("Unexpected block: a .tfvars file holds only variable values", path=name,
                             line=child.meta.line)
        parts = trees(child)
        expr = Expr(parts[-1], source)
        out.append((token_text(parts[0]), _literal(expr), child.meta.line))
    return _once(name, out, "Attribute redefined")


def _once(name: str, assignments: list[tuple[str, object, int]], summary: str) -> list[tuple[str, object, int]]:
    """A variables file sets each variable once: Terraform rejects a second value in the same file."""
    first: dict[str, int] = {}
    for variable, _, line in assignments:
        if variable in first:
            raise InputError(f'{summary}: "{variable}" was already set at line {first[variable]}', path=name,
                             line=line)
        first[variable] = line
    return assignments


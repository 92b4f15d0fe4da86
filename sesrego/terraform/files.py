"""``file()``, ``templatefile()``, ``fileset()`` and ``fileexists()``, inside the scanned tree only.

Relative paths are relative to the root module's directory, where Terraform runs. The scanned
tree is the git work tree holding the scanned path, or that path itself outside a repository; a
path that leads out of it (``..``, an absolute path, a symbolic link) is never read: the call is
unknown, and says why.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from .templates import parse_text, render
from .values import Fail, Invalid, TfSet, Unknown, active_budget, find_unknown

#: The functions of a file's bytes: filebase64, and the digests Terraform computes of a file.
_OF_BYTES = {"filebase64": lambda data: base64.b64encode(data).decode(),
             **{f"file{name}": (lambda data, name=name: hashlib.new(name, data).hexdigest())
                for name in ("md5", "sha1", "sha256", "sha512")},
             **{f"filebase64{name}": (lambda data, name=name: base64.b64encode(
                 hashlib.new(name, data).digest()).decode()) for name in ("sha256", "sha512")}}
FUNCTIONS = frozenset({"file", "templatefile", "fileset", "fileexists", *_OF_BYTES})
#: fileset() stops after this many directory entries.
MAX_FILESET_ENTRIES = 100_000


def scanned_tree(path: Path) -> Path:
    """The git work tree holding ``path``, else ``path`` itself (its directory for a file)."""
    from .load import resolved

    start = resolved(path)
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def call(name: str, evaluator, nodes: list, text: str):
    from .evaluate import poison

    values = [evaluator.value(node) for node in nodes]
    unknown = find_unknown(values[:1] if name == "templatefile" else values)
    if unknown is not None:
        return poison(unknown)
    instance = evaluator.scope.instance
    if instance is None:
        return Invalid(text, f"{name}() is not available here")
    expected = 2 if name in ("templatefile", "fileset") else 1
    if len(values) != expected or not isinstance(values[0], str):
        return Invalid(text, f"{name}() takes {expected} argument(s), the first a path")
    context = instance.context
    target = _inside(context, values[0])
    if target is None:
        return Unknown(text, f"{name}() reads only files inside the scanned tree ({context.tree})")
    if name == "fileexists":
        return target.is_file()
    if name == "fileset":
        return _fileset(target, values[1], text)
    if name in _OF_BYTES:
        data = _read(target, text, decode=False)
        return data if isinstance(data, Unknown) else _OF_BYTES[name](data)
    content = _read(target, text)
    if not isinstance(content, str) or name == "file":
        return content
    variables = values[1]
    if isinstance(variables, Unknown):
        return poison(variables)
    if not isinstance(variables, dict):
        return Invalid(text, "templatefile() needs an object of template variables")
    try:
        nodes_ = parse_text(content.removeprefix("\ufeff"), str(target), 1)  # HCL drops a leading BOM
    except Fail as exc:
        return Invalid(text, str(exc))
    from .evaluate import Scope, evaluate

    scope = Scope(None, names=dict(variables))
    return render(nodes_, lambda expr, names: evaluate(expr, scope.bind(names)))


def _inside(context, name: str) -> Path | None:
    target = Path(name) if os.path.isabs(name) else context.root_directory / name
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        return None
    tree = context.tree
    return resolved if resolved == tree or resolved.is_relative_to(tree) else None


def _read(target: Path, text: str, decode: bool = True):
    from ..errors import InputError
    from .load import read_bytes

    budget = active_budget()
    limit = budget.max_bytes if budget is not None else 16 * 2 ** 20
    try:
        data = read_bytes(target, limit, refuse_larger=False)
    except InputError as exc:
        return Invalid(text, f"{target.name}: {exc.problem}")
    if budget is not None:
        budget.allow(len(data))
    if not decode:
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return Invalid(text, f"{target.name} is not UTF-8 text")


def _fileset(directory: Path, pattern, text: str):
    if not isinstance(pattern, str):
        return Invalid(text, "fileset() needs a pattern string")
    if not directory.is_dir():
        return TfSet()
    matcher = re.compile(glob_regex(pattern))
    found, seen = [], 0
    for current, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            seen += 1
            if seen > MAX_FILESET_ENTRIES:
                return Unknown(text, f"fileset() stops after {MAX_FILESET_ENTRIES} files")
            relative = Path(current, name).relative_to(directory).as_posix()
            if matcher.fullmatch(relative):
                found.append(relative)
    return TfSet(sorted(found))


def glob_regex(pattern: str) -> str:
    """A doublestar glob (``*``, ``**``, ``?``, ``[...]``, ``{a,b}``) as a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise Fail("unclosed [ in a fileset() pattern")
            inner = pattern[i + 1:end]
            out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
            i = end
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise Fail("unclosed { in a fileset() pattern")
            out.append("(?:" + "|".join(re.escape(p) for p in pattern[i + 1:end].split(",")) + ")")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)

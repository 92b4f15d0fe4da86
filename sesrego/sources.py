"""Where source documents come from: the built-in defaults or the user's files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import SourceError
from .model import SourceFile

#: The shipped defaults (package data, see sources/ATTRIBUTION.md).
DEFAULT_DIR = Path(str(resources.files("sesrego") / "sources"))
DEFAULT_CATALOGS = tuple(sorted((DEFAULT_DIR / "catalogs").glob("*.md")))
DEFAULT_GUIDANCE = tuple(sorted((DEFAULT_DIR / "guidance").glob("*.md")))


@dataclass(frozen=True, slots=True)
class Text:
    """A source file's text with the name it is reported under."""

    name: str
    text: str
    sha256: str

    @property
    def source(self) -> SourceFile:
        return SourceFile(self.name, self.sha256)


def read_text(path: Path, *, name: str | None = None) -> Text:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    return Text(name or display_name(path), text.replace("\r\n", "\n"), hashlib.sha256(raw).hexdigest())


def display_name(path: Path) -> str:
    """Built-in sources are reported by their package-relative name, others as given."""
    try:
        return "sesrego/sources/" + path.resolve().relative_to(DEFAULT_DIR.resolve()).as_posix()
    except ValueError:
        return str(path)

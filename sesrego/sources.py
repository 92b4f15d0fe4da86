"""Where source documents come from: the built-in defaults or the user's files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import SourceError
from .reading import read_file
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


#: The bytes of every source document read in this process, by digest: a bundle records the bytes the
#: rules were compiled from without reading the file again (a FIFO cannot be read twice).
_READ: dict[str, bytes] = {}


def read_text(path: Path, *, name: str | None = None) -> Text:
    raw = read_file(path, what="source document", error=SourceError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    digest = hashlib.sha256(raw).hexdigest()
    _READ[digest] = raw
    return Text(name or display_name(path), text.replace("\r\n", "\n"), digest)


def read_bytes(digest: str) -> bytes | None:
    """The bytes of a source document this process read, by their sha256 digest (None: not read)."""
    return _READ.get(digest)


def display_name(path: Path) -> str:
    """Built-in sources are reported by their package-relative name, others as given."""
    try:
        return "sesrego/sources/" + path.resolve().relative_to(DEFAULT_DIR.resolve()).as_posix()
    except ValueError:
        return str(path)

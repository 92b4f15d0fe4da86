"""One error root for everything a user can get wrong.

Every error a person can cause (a bad source file, an unreadable plan, a
missing binary) is a :class:`SesregoError`. It derives from
``click.ClickException`` so the CLI prints ``Error: <file>:<line>: <problem>``
and exits with status 2, never with a traceback. Whatever else goes wrong in a
command (a bug, an exhausted resource, Ctrl-C) is turned into one of these by the
command's error boundary (:func:`as_user_error`), so it too is one line.

Every message passes through :func:`printable` before it reaches a terminal or a log:
control characters (ESC, NUL, a newline inside a file name) and file-name bytes that
are not UTF-8 are shown escaped, never interpreted.
"""

from __future__ import annotations

import re
from pathlib import Path

import click


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` safe for a terminal or a log line.

    Control characters become ``\\x1b``-style escapes, other unprintable characters
    ``\\u2028``-style ones, and the surrogates with which Python carries the bytes of a
    non-UTF-8 file name become ``\\xff``. Printable text is unchanged.
    """
    out = []
    for ch in str(text):
        if ch.isprintable() or (keep_newlines and ch == "\n"):
            out.append(ch)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a non-UTF-8 byte of a file name (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def terminal_text(text: str) -> str:
    """A command's text result (``rules``, ``actions``, ``diff``, ``inspect``) safe for a terminal:
    :func:`printable`, keeping line breaks and tabs."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return text
    return "\n".join("\t".join(printable(part) for part in line.split("\t")) for line in text.split("\n"))


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\n]")


def _json_escape(match: re.Match) -> str:
    ch = match.group(0)
    code = ord(ch)
    if ch.isprintable():
        return ch
    if 0xDC80 <= code <= 0xDCFF:  # a non-UTF-8 byte of a file name, shown as printable() shows it
        return f"\\\\x{code - 0xDC00:02x}"
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) safe for a terminal and for strict parsers:
    every character that is not printable (C1 controls, bidirectional overrides, line separators)
    becomes its JSON escape, and a non-UTF-8 file-name byte (a lone surrogate, which strict JSON
    parsers replace) the text ``\\xff``, as :func:`printable` shows it. The value read back is the
    same text; printable characters, ASCII or not, stay as they are."""
    return text if text.isascii() and "\x7f" not in text else _NOT_PLAIN.sub(_json_escape, text)


class SesregoError(click.ClickException):
    """Root of every user-facing error. Exit status 2."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.problem = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        super().__init__(self.located())

    def located(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return where + self.problem

    def format_message(self) -> str:
        return printable(self.located())

    def at(self, path: str | Path) -> SesregoError:
        """This error, naming ``path`` when it names no file yet."""
        if self.path is None:
            self.path = str(path)
            self.message = self.located()
        return self


class SourceError(SesregoError):
    """A catalog or guidance file that does not have the expected shape."""


class CrossCheckError(SesregoError):
    """``--strict`` turned cross-check findings into an error."""


class InputError(SesregoError):
    """A plan, .tf file or data file that cannot be read."""


class BundleError(SesregoError):
    """A bundle that cannot be read, verified or written."""


class EngineError(SesregoError):
    """The policy engine (embedded, ``opa`` binary or OPA server) failed."""


class OutputError(SesregoError):
    """An output file or directory that sesrego must not or cannot write."""


class Interrupted(SesregoError):
    """Ctrl-C: exit status 130, as a shell reports SIGINT; SIGTERM: 143."""

    exit_code = 130


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives (see :func:`sesrego.cli.main`), so that a run
    stopped by ``kill``, a CI timeout or a container shutdown cleans up as Ctrl-C does: workers
    stopped, temporary files removed, nothing half-written."""


class SourceErrors(SesregoError):
    """Several source errors, reported together."""

    def __init__(self, errors: list[SesregoError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.located() for e in errors))

    def format_message(self) -> str:
        return "\n".join(printable(e.located()) for e in self.errors)


def as_user_error(exc: BaseException, subject: str | Path | None = None) -> SesregoError:
    """Any exception as the one-line error a user sees, naming ``subject`` (the input or command).

    ``SesregoError`` passes through (naming ``subject`` if it names no file); an exhausted
    resource and a bug each become one line that says what happened, never a traceback.
    """
    if isinstance(exc, SesregoError):
        return exc.at(subject) if subject is not None else exc
    if isinstance(exc, Terminated):
        stopped = Interrupted("terminated (SIGTERM)")
        stopped.exit_code = 143
        return stopped
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    if isinstance(exc, MemoryError):
        message = "out of memory (lower --max-input-bytes, or scan fewer inputs at once with -j)"
    elif isinstance(exc, RecursionError):
        message = "input nested too deeply"
    elif isinstance(exc, UnicodeError):
        message = f"text encoding error: {exc}"
    elif isinstance(exc, OSError):
        filename = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        message = f"cannot access{filename}: {exc.strerror or exc}"
    else:
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        message = f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}); please report it"
    return SesregoError(message, path=subject)

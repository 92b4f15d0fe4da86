"""One error root for everything a user can get wrong.

Every error a person can cause (a bad source file, an unreadable plan, a
missing binary) is a :class:`SesregoError`. It derives from
``click.ClickException`` so the CLI prints ``Error: <file>:<line>: <problem>``
and exits with status 2, never with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click


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


class SourceErrors(SesregoError):
    """Several source errors, reported together."""

    def __init__(self, errors: list[SesregoError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.located() for e in errors))

"""Where the commands' text goes: results on standard output (or a file), notes on standard error.

Also what the terminal allows: colour (``--no-color``, ``NO_COLOR``, ``FORCE_COLOR``) and the
width the table wraps to.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from .errors import printable

#: The table's width when standard output is not a terminal, and its narrowest on one.
DEFAULT_WIDTH = 100
MIN_WIDTH = 40


def note(line: str) -> None:
    """One line on standard error, escaped."""
    click.echo(printable(line), err=True)


def emit(text: str, out: Path | None = None) -> None:
    """The command's result, on standard output or atomically to ``out``; never a half-written file.

    An empty result prints nothing at all (``--quiet`` without findings).
    """
    data = text.encode("utf-8", "backslashreplace")
    if out is not None:
        from .fsutil import atomic_write

        atomic_write(out, data)
    elif text:
        click.echo(data, nl=not text.endswith("\n"))


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(no_color: bool, environ: Mapping[str, str], terminal: bool) -> bool:
    """Whether to colour output: never with ``--no-color`` or ``NO_COLOR`` (set to any value, which
    wins over everything); with ``FORCE_COLOR`` set non-empty, even off a terminal; else on a terminal."""
    if no_color or "NO_COLOR" in environ:
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return terminal


def table_width(terminal: bool) -> int:
    """The terminal's width (``COLUMNS`` first, as :func:`shutil.get_terminal_size` reads it) on a
    terminal, at least :data:`MIN_WIDTH`; :data:`DEFAULT_WIDTH` otherwise."""
    if not terminal:
        return DEFAULT_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def environ() -> Mapping[str, str]:
    return os.environ


def report_cross_check(program, *, verbose: bool, report_path: Path | None = None) -> None:
    """One line on stderr summing up the guidance/catalog cross-check (every item with ``verbose``)."""
    items = program.cross_check
    if not items:
        return
    kinds: dict[str, list] = {}
    for item in items:
        kinds.setdefault(item.kind, []).append(item)
    counts = ", ".join(f"{len(group)} {kind}" for kind, group in sorted(kinds.items()))
    where = f" (all of them in {report_path})" if report_path else "" if verbose else " (--verbose lists them)"
    note(f"cross-check: the guidance and catalogs differ in {len(items)} place(s): {counts}{where}")
    if verbose:
        for item in items:
            note(f"  {item.kind}: {item.message}")

"""The public verbs' arguments, checked as the command line checks its flags.

A caller from Python gets a :class:`~sesrego.errors.SesregoError` naming the argument, never a
``TypeError`` from deep inside, and never a silent surprise: one path string given where a list is
expected would otherwise be read one character at a time (``"/"`` then being a directory to walk).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .errors import SesregoError, printable

ENGINES = ("embedded", "opa")
FAIL_ON = ("deny", "warn")
_OCI_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def paths(name: str, value: object) -> list[Path]:
    """``value`` (a list of paths) as paths; one path, or anything that is not a path, is an error."""
    if isinstance(value, (str, bytes, os.PathLike)):
        raise SesregoError(f"{name}: a list of paths, not the single path {printable(repr(value))}; "
                           f"pass [{printable(repr(value))}]")
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise SesregoError(f"{name}: a list of paths, not {type(value).__name__}") from None
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise SesregoError(f"{name}: {printable(repr(item))} is not a path")
    return [Path(item) for item in items]


def mapping(name: str, value: object) -> dict:
    """``value`` (a mapping or None) as a dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SesregoError(f"{name}: a mapping (as the 'config' level of a configuration file), "
                           f"not {type(value).__name__}")
    return dict(value)


def choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SesregoError(f"{name}: one of {', '.join(allowed)}, not {printable(repr(value))}")
    return value  # type: ignore[return-value]


def jobs(value: object) -> int:
    """A number of worker processes: 0 (one per core) or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SesregoError(f"jobs: a number of worker processes (0: one per core), not {printable(repr(value))}")
    return value


def directory(name: str, value: object) -> str:
    if not os.path.isdir(value):  # type: ignore[arg-type]
        raise SesregoError(f"{name}: not a directory", path=str(value))
    return str(value)


def oci_tag(value: object) -> str:
    """A tag as the OCI distribution spec allows it (what ``oras cp DIR:TAG`` and registries accept)."""
    if not isinstance(value, str) or not _OCI_TAG.fullmatch(value):
        raise SesregoError(f"{printable(repr(value))} is not an OCI tag (letters, digits, '_', '.', '-'; at most "
                           "128, not starting with '.' or '-')")
    return value


def signing(value: object) -> object:
    from .signing import SigningOptions

    if value is not None and not isinstance(value, SigningOptions):
        raise SesregoError(f"signing: a sesrego.signing.SigningOptions, not {type(value).__name__}")
    return value

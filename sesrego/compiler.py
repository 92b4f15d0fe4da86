"""The public verbs: sources -> program -> tree."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .catalog import parse_catalog
from .errors import SesregoError, SourceErrors
from .guidance import parse_guidance
from .lower import lower
from .model import Program
from .render import Tree, render
from .sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE, read_text


def load_program(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> Program:
    """Parse the sources (the built-in defaults when none are given) and lower them.

    Every bad file is reported, not only the first.
    """
    parsed_catalogs, parsed_guidance, errors = [], [], []
    for path in catalogs or DEFAULT_CATALOGS:
        try:
            parsed_catalogs.append(parse_catalog(read_text(Path(path))))
        except SesregoError as exc:
            errors.append(exc)
    for path in guidance or DEFAULT_GUIDANCE:
        try:
            parsed_guidance.append(parse_guidance(read_text(Path(path))))
        except SesregoError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SourceErrors(errors)
    return lower(parsed_catalogs, parsed_guidance)


def compile_tree(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> tuple[Program, Tree]:
    program = load_program(catalogs, guidance)
    return program, render(program)

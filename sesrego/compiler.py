"""The public verbs: sources -> program -> tree."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .catalog import parse_catalog
from .errors import SesregoError, SourceErrors
from .guidance import parse_guidance
from .lower import lower
from .model import Catalog, Guidance, Program
from .render import Tree, render
from .sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE, Text, read_text


def parse_sources(catalogs: Sequence[Text], guidance: Sequence[Text]) -> tuple[list[Catalog], list[Guidance]]:
    """Parse source texts; every bad file is reported, not only the first."""
    parsed_catalogs, parsed_guidance, errors = [], [], []
    for text in catalogs:
        try:
            parsed_catalogs.append(parse_catalog(text))
        except SesregoError as exc:
            errors.append(exc)
    for text in guidance:
        try:
            parsed_guidance.append(parse_guidance(text))
        except SesregoError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SourceErrors(errors)
    return parsed_catalogs, parsed_guidance


def load_program(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> Program:
    """Parse the sources (the built-in defaults when none are given) and lower them."""
    return lower(*parse_sources([read_text(Path(path)) for path in catalogs or DEFAULT_CATALOGS],
                                [read_text(Path(path)) for path in guidance or DEFAULT_GUIDANCE]))


def compile_tree(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> tuple[Program, Tree]:
    program = load_program(catalogs, guidance)
    return program, render(program)

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


def replace_by_version(base: Sequence, given: Sequence) -> list:
    """``base`` with every document of an API version that ``given`` has replaced by ``given``'s.

    A catalog or guidance file the user names stands in for the shipped one of the same API
    version (SES v1, v2, Mail Manager, Pinpoint Email) and leaves the others in place: dropping
    them would make valid actions of the other versions unknown (false SES-008s).
    """
    versions = {document.api_version for document in given}
    return [document for document in base if document.api_version not in versions] + list(given)


def load_program(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> Program:
    """The built-in sources, with each given file in place of those of its API version, lowered."""
    given_catalogs, given_guidance = parse_sources([read_text(Path(path)) for path in catalogs],
                                                   [read_text(Path(path)) for path in guidance])
    default_catalogs, default_guidance = parse_sources([read_text(path) for path in DEFAULT_CATALOGS],
                                                       [read_text(path) for path in DEFAULT_GUIDANCE])
    return lower(replace_by_version(default_catalogs, given_catalogs),
                 replace_by_version(default_guidance, given_guidance))


def compile_tree(catalogs: Sequence[Path] = (), guidance: Sequence[Path] = ()) -> tuple[Program, Tree]:
    program = load_program(catalogs, guidance)
    return program, render(program)

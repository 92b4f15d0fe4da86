"""Catalogs + guidance -> :class:`~sesrego.model.Program`: the only place with compile logic.

Ordered passes, each a pure function of the sources and what earlier passes built:

1. :mod:`~sesrego.lower.facts`: the :class:`~sesrego.model.Facts` the rules read (action
   universe, send and admin-only actions per API version, condition keys, resource types), all
   taken from the catalogs and guidance; their data form is ``data.sesrego.facts``;
2. :mod:`~sesrego.lower.cross_check`: the guidance checked against the catalogs;
3. :mod:`~sesrego.lower.rules`: SES-001 ... SES-008, one unit each (:data:`~sesrego.lower.rules.RULES`),
   built from the facts.

:mod:`~sesrego.lower.semantics` holds the decisions the rules share, for the rule reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SourceError
from ..model import Catalog, Guidance, Program
from .cross_check import cross_check
from .facts import build_facts
from .rules import RULES, build_rules
from .semantics import semantics

__all__ = ["RULES", "build_facts", "build_rules", "cross_check", "lower", "semantics"]


def lower(catalogs: Sequence[Catalog], guidance: Sequence[Guidance]) -> Program:
    """The program of the sources: catalogs and guidance sorted by API version, then the passes."""
    catalogs = tuple(sorted(catalogs, key=lambda c: (c.api_version, c.source.name)))
    guidance = tuple(sorted(guidance, key=lambda g: (g.api_version, g.source.name)))
    _check_unique_versions(guidance)
    facts = build_facts(catalogs, guidance)
    return Program(
        catalogs=catalogs,
        guidance=guidance,
        rules=build_rules(facts, guidance),
        facts=facts,
        cross_check=cross_check(catalogs, guidance),
    )


def _check_unique_versions(guidance: Sequence[Guidance]) -> None:
    seen: dict[str, str] = {}
    for doc in guidance:
        if doc.api_version in seen:
            raise SourceError(f"two guidance documents describe SES API v{doc.api_version} "
                              f"(the other is {seen[doc.api_version]})", path=doc.source.name)
        seen[doc.api_version] = doc.source.name

"""One place per rule: each rule unit (sesrego/lower/rules.py) holds everything rendering and drift read.

A unit's imports are exactly the library packages its Rego uses; the facts it declares (which `sesrego
diff` reads to say which rules a change affects) are facts, every fact its template reads is among them,
and each is read by its template or by a library package it imports.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from sesrego.compiler import load_program, parse_sources
from sesrego.lower import RULES, lower
from sesrego.model import Facts
from sesrego.sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE, read_text

LIB = ROOT / "rego_templates" / "lib"
TEMPLATES = ROOT / "rego_templates" / "rules"
_FACT = re.compile(r"facts\.([a-z_]+)")
_IMPORT = re.compile(r"^import data\.sesrego\.lib\.([a-z_]+)$", re.M)


def _library() -> dict[str, str]:
    """Each library package's Rego (all its files), by name."""
    texts: dict[str, str] = {}
    for path in sorted(LIB.glob("*/*.rego")):
        if not path.name.endswith("_test.rego"):
            texts[path.parent.name] = texts.get(path.parent.name, "") + path.read_text()
    return texts


def _reachable(names, library: dict[str, str]) -> set[str]:
    """The library packages ``names`` import, directly or through each other."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _IMPORT.findall(library[name])
    return seen


def _code(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "import ")))


def test_rules_are_one_ordered_collection_with_stable_unique_ids(compiled):
    program, _ = compiled
    ids = [rule.id for rule in program.rules]
    assert len(RULES) == len(ids) and len(set(ids)) == len(ids)
    assert ids[:8] == [f"SES-00{i}" for i in range(1, 9)]  # never renamed: waivers name them
    assert [unit.__name__ for unit in RULES] == [rule.slug for rule in program.rules]


@pytest.mark.parametrize("slug", [unit.__name__ for unit in RULES])
def test_each_rule_imports_exactly_the_library_packages_its_rego_uses(compiled, slug):
    program, tree = compiled
    [rule] = [rule for rule in program.rules if rule.slug == slug]
    body = tree.files[f"sesrego/rules/{rule.slug}/{rule.slug}.rego"].decode()
    assert sorted(_IMPORT.findall(body)) == sorted(rule.imports)
    used = {name for name in _library() if re.search(rf"\b{name}\.[a-z_]", _code(body))}
    assert used <= set(rule.imports)
    assert set(rule.imports) <= used, f"unused imports: {set(rule.imports) - used}"


def test_each_rule_declares_facts_its_rego_reads(compiled):
    program, _ = compiled
    library = _library()
    for rule in program.rules:
        template = (TEMPLATES / rule.template).read_text()
        assert set(_FACT.findall(template)) <= set(rule.reads_facts), rule.id  # the template's own reads
        readable = set(_FACT.findall(template)) | {
            fact for name in _reachable(rule.imports, library) for fact in _FACT.findall(library[name])}
        assert set(rule.reads_facts) <= set(Facts.names()), rule.id
        assert set(rule.reads_facts) <= readable, (rule.id, set(rule.reads_facts) - readable)


def test_a_unit_with_nothing_to_check_leaves_its_rule_out():
    """SES-005 compares the API versions' SCP statements: with the guidance of one version there is none."""
    both = load_program()
    catalogs, guidance = parse_sources([read_text(path) for path in DEFAULT_CATALOGS],
                                       [read_text(path) for path in DEFAULT_GUIDANCE[:1]])
    one = lower(catalogs, guidance)
    assert [rule.id for rule in one.rules] == [rule.id for rule in both.rules if rule.id != "SES-005"]
    assert one.facts.api_versions == ("1",) and both.facts.api_versions == ("1", "2")

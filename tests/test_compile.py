"""Sources -> model -> Rego: parsing, the IR golden record, cross-check, bad and hostile input."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from deepdiff import DeepDiff

from conftest import ROOT
from sesrego.cli import cli
from sesrego.compiler import compile_tree, load_program, parse_sources
from sesrego.lower import lower
from sesrego.engine import Engine, data_document
from sesrego.errors import SesregoError
from sesrego.model import Rule
from sesrego.sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE, read_text

GOLDEN = ROOT / "tests" / "golden" / "ir.json"
SEED_CATALOG = ROOT / "sesrego" / "sources" / "catalogs" / "ses-v1.md"
V2_CATALOG = ROOT / "sesrego" / "sources" / "catalogs" / "ses-v2.md"
V1_GUIDANCE = ROOT / "sesrego" / "sources" / "guidance" / "ses-specific-guidance.md"


def ir(program) -> dict:
    """A plain projection of the model (enums as values, rules with their derived names), for golden comparison."""
    def plain(value):
        if dataclasses.is_dataclass(value):
            fields = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if isinstance(value, Rule):
                fields.update(slug=value.slug, template=value.template, package=value.package)
            return fields
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return getattr(value, "value", value)
    return plain(program)


def test_ir_matches_golden_record(compiled, update_golden):
    program, _ = compiled
    current = json.loads(json.dumps(ir(program)))
    # The Public Suffix List snapshot is data, not compiled from the sources: record its size and digest.
    for key in ("public_suffixes", "public_suffix_parents"):
        digest = hashlib.sha256(json.dumps(current["facts"][key], sort_keys=True).encode()).hexdigest()
        current["facts"][key] = {"entries": len(current["facts"][key]), "sha256": digest}
    if update_golden or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    diff = DeepDiff(json.loads(GOLDEN.read_text()), current, ignore_order=False)
    assert not diff, f"IR changed (regenerate with pytest --update-golden and review the diff): {diff}"


def test_defaults_keep_catalogs_apart_per_api_version(compiled):
    program, _ = compiled
    versions = {c.api_version: c for c in program.catalogs}
    assert set(versions) == {"1", "2", "mailmanager", "pinpoint"}
    assert "ses:Recipients" in versions["1"].action("SendCustomVerificationEmail").condition_keys
    assert "ses:Recipients" not in versions["2"].action("SendCustomVerificationEmail").condition_keys
    facts = program.facts.data()
    assert facts["send_actions"] == {"1": ["ses:sendbulktemplatedemail", "ses:sendemail", "ses:sendrawemail",
                                           "ses:sendtemplatedemail"], "2": ["ses:sendemail"]}
    assert facts["admin_only_actions"]["2"] == ["ses:sendcustomverificationemail"]
    assert len(facts["actions"]) == len({f"ses:{a.name}".lower() for c in program.catalogs for a in c.actions})
    assert facts["actions"]["ses:listaddoninstances"] == "ses:ListAddonInstances"  # Mail Manager in the universe


def test_guidance_considerations_and_controls(compiled):
    program, _ = compiled
    v1 = next(g for g in program.guidance if g.api_version == "1")
    assert [c.action for c in v1.considerations] == ["SendBulkTemplatedEmail", "SendEmail", "SendRawEmail",
                                                     "SendTemplatedEmail", "SendCustomVerificationEmail"]
    assert v1.considerations[0].control.condition_key == "ses:Recipients"
    assert v1.considerations[4].control.kind.value == "admin-only"
    assert v1.considerations[0].control.example_policy.endswith("restrict_untrusted_endpoints_scp.json")
    assert [r.additional_considerations for r in v1.perimeter].count(True) == 1
    assert "PutConfigurationSetDeliveryOptions" in v1.reviewed_apis


def test_cross_check_on_the_seeds():
    program = lower(*parse_sources([read_text(SEED_CATALOG)], [read_text(V1_GUIDANCE)]))
    missing = [i for i in program.cross_check if i.kind == "reviewed-api-missing"]
    assert [i.action for i in missing] == ["PutConfigurationSetDeliveryOptions"]
    unreviewed = {i.action for i in program.cross_check if i.kind == "action-not-reviewed"}
    assert {"SendBounce", "VerifyEmailAddress"} <= unreviewed
    assert any(i.kind == "condition-key-unsupported" and i.action == "ses:ApiVersion" for i in program.cross_check)


def test_a_given_catalog_replaces_only_the_catalog_of_its_api_version(tmp_path):
    """--catalog stands in for the shipped catalog of the same API version; the others stay."""
    older_v1 = tmp_path / "ses-v1-older.md"
    older_v1.write_text(SEED_CATALOG.read_text().replace("### SendBounce\n", "### SendBounceRenamed\n", 1))
    program = load_program([older_v1])
    names = {catalog.source.name: catalog.api_version for catalog in program.catalogs}
    assert names[str(older_v1)] == "1"
    assert sorted(names.values()) == ["1", "2", "mailmanager", "pinpoint"]
    actions = program.facts.actions
    assert "ses:sendbouncerenamed" in actions and "ses:sendbounce" not in actions
    assert {"ses:sendbulkemail", "ses:createcontactlist", "ses:listaddoninstances"} <= set(actions)
    only_v2 = load_program(guidance=[DEFAULT_GUIDANCE[1]])
    assert [g.api_version for g in only_v2.guidance] == ["1", "2"]


def test_strict_turns_cross_check_into_an_error(tmp_path):
    result = CliRunner().invoke(cli, ["compile", "-o", str(tmp_path / "out"), "--strict",
                                      "--catalog", str(SEED_CATALOG), "--guidance", str(V1_GUIDANCE)])
    assert result.exit_code == 2
    assert "--strict" in result.output and not (tmp_path / "out").exists()


def _catalog(text: str, tmp_path: Path) -> Path:
    path = tmp_path / "bad.md"
    path.write_text(text)
    return path


ACTION = """### SendEmail
- description: sends
- access level: Write
- resource types
```
{"": {"resource_type": "", "required": false, "condition_keys": ["ses:Recipients"], "dependent_actions": []}}
```
"""


@pytest.mark.parametrize("text,problem,line", [
    ("# T\n## Privileges\n" + ACTION, "no '- prefix:", 1),
    ("# T\n- prefix: ses\n" + ACTION.replace("- access level: Write\n", ""), "no '- access level", 3),
    ("# T\n- prefix: ses\n" + ACTION.replace('{"": {', '{"": {,'), "not JSON", 8),
    ("# T\n- prefix: ses\n" + ACTION.replace("Write", "Sometimes"), "access level 'Sometimes'", 3),
])
def test_bad_catalog_is_one_clear_error_and_nothing_written(tmp_path, text, problem, line):
    out = tmp_path / "policy"
    path = _catalog(text, tmp_path)
    result = CliRunner().invoke(cli, ["compile", "-o", str(out), "--catalog", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{line}:" in result.output and problem in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_guidance_with_unknown_control_kind_is_refused(tmp_path):
    text = V1_GUIDANCE.read_text().replace("Consider implementing [ses:Recipients]", "Consider hoping [ses:Recipients]", 1)
    path = tmp_path / "guidance.md"
    path.write_text(text)
    with pytest.raises(SesregoError) as info:
        load_program(guidance=[path])
    assert "matches no known control kind" in str(info.value) and f"{path}:" in str(info.value)


HOSTILE = ['quote " and backslash \\ ', "newline\ninside", "brace } { and ]", "import data.evil\npackage evil",
           "# METADATA\n# title: x", "\u2028 unicode \U0001f4e7", "x" * 5000]


def test_hostile_catalog_text_does_not_change_the_rego(tmp_path, compiled):
    _, clean_tree = compiled
    text = V2_CATALOG.read_text()
    for i, evil in enumerate(HOSTILE):
        text = text.replace("- description: Grants permission to send an email message\n",
                            "- description: " + evil.replace("\n", "\\n") + "\n", 1)
    text = text.replace("title: Amazon Simple Email Service v2", 'title: Amazon Simple Email Service v2 "}\\')
    path = tmp_path / "ses-v2.md"
    path.write_text(text)
    catalogs = [p if p.name != "ses-v2.md" else path for p in DEFAULT_CATALOGS]
    program, tree = compile_tree(catalogs, DEFAULT_GUIDANCE)
    # The hostile text reaches no Rego file; the data document still loads and evaluates.
    for name, body in tree.files.items():
        assert b"evil" not in body, name
    _same_rules_as(tree, clean_tree)


def test_hostile_guidance_text_is_escaped(tmp_path, compiled):
    evil = 'SendEmail allows you to send "}\\n import data.x \\ \u2028. Because'
    text = V1_GUIDANCE.read_text().replace("SendEmail allows you to send an email message. Because", evil, 1)
    path = tmp_path / "ses-specific-guidance.md"
    path.write_text(text)
    program, tree = compile_tree(guidance=[path, DEFAULT_GUIDANCE[1]])
    _same_rules_as(tree, compiled[1])


def _same_rules_as(tree, clean_tree):
    """The same Rego code and facts as the clean sources (so the Rego unit tests of test_rego_unit hold
    for them too), and OPA compiles every module, METADATA included, and evaluates a plan."""
    def code(body: bytes) -> list[str]:
        return [line for line in body.decode().splitlines() if not line.lstrip().startswith("#")]

    assert tree.facts == clean_tree.facts and set(tree.files) == set(clean_tree.files)
    assert all(code(tree.files[name]) == code(clean_tree.files[name]) for name in tree.files)
    engine = Engine(tree.files, data_document(tree.facts), tests=True)
    try:
        plan = {"format_version": "1.2", "resource_changes": [], "planned_values": {}}
        assert engine.evaluate("sesrego.findings", plan) == []
    finally:
        engine.close()

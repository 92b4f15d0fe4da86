"""The rule reference: `sesrego rules`, and docs/rules.md kept current."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import ROOT
from sesrego.cli import cli
from sesrego.reference import markdown_reference


def test_docs_rules_md_is_current(compiled, update_golden):
    program, _ = compiled
    path = ROOT / "docs" / "rules.md"
    if update_golden:
        path.write_text(markdown_reference(program))
    assert path.read_text() == markdown_reference(program), "regenerate: sesrego rules --markdown > docs/rules.md"


def test_rules_lists_every_rule():
    result = CliRunner().invoke(cli, ["rules"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()[:8]] == [f"SES-00{i}" for i in range(1, 9)]


def test_rules_explains_one_rule():
    result = CliRunner().invoke(cli, ["rules", "ses-004"])
    assert result.exit_code == 0
    for part in ("SES-004", "What it checks", "ses-v1#2", "Fails:", "Passes:", "How to fix", "waivers:"):
        assert part in result.output


def test_unknown_rule_is_a_clear_error():
    result = CliRunner().invoke(cli, ["rules", "SES-099"])
    assert result.exit_code == 2 and "no rule SES-099" in result.output


def test_every_command_has_an_example_in_its_help():
    for command in ("compile", "bundle", "test", "scan", "rules", "push"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, command

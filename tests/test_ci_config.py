"""Configuration the way peers find it: .sesrego.yaml discovery, --config, --no-config, SESREGO_<OPTION>,
colour (--no-color, NO_COLOR, FORCE_COLOR), the table's width, --quiet and --compact."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from conftest import identity, plan
from sesrego import cli_scan, console
from sesrego.cli import cli
from sesrego.config import discover

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
DENY = {"Sid": "Loose", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
        "Condition": {"StringLike": {"ses:Recipients": ["*@example.com"]}}}
WAIVE_A = "sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: aws_iam_policy.a, reason: found}\n"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.usefixtures("fast_compile")


def run(*args, env=None, **kwargs):
    return CliRunner().invoke(cli, ["scan", "-j", "1", *map(str, args)], env=env, **kwargs)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository (.git) with a plan in infra/, and the scan run from infra/."""
    (tmp_path / ".git").mkdir()
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "plan.json").write_text(json.dumps(plan(identity("aws_iam_policy.a", SEND),
                                                     identity("aws_iam_policy.b", SEND))))
    monkeypatch.chdir(infra)
    return tmp_path


def waived(result) -> list[str]:
    assert result.exit_code in (0, 1), result.output
    return [w["resource"] for i in json.loads(result.stdout)["inputs"] for w in i["waived"]]


# --- discovery ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [".sesrego.yaml", ".sesrego.yml", ".sesrego.json"])
def test_a_configuration_in_the_current_directory_is_found_and_named(project, name):
    body = WAIVE_A if name != ".sesrego.json" else json.dumps(
        {"sesrego": {"config": {"waivers": [{"rule_id": "SES-001", "resource": "aws_iam_policy.a",
                                             "reason": "found"}]}}})
    (project / "infra" / name).write_text(body)
    result = run("plan.json", "-f", "json")
    assert waived(result) == ["aws_iam_policy.a"]
    assert f"note: configuration from {name}" in result.stderr
    assert json.loads(result.stdout)["configuration"] == {"source": "files", "files": [name]}


def test_the_nearest_ancestor_up_to_the_repository_root_is_used(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    result = run("plan.json", "-f", "json")
    assert waived(result) == ["aws_iam_policy.a"] and "note: configuration from ../.sesrego.yaml" in result.stderr
    deeper = project / "infra" / "deeper"
    deeper.mkdir()
    (deeper / ".sesrego.yaml").write_text(WAIVE_A.replace("aws_iam_policy.a", "aws_iam_policy.b"))
    assert discover(deeper) == deeper / ".sesrego.yaml"  # the nearest wins
    assert discover(project / "infra") == project / ".sesrego.yaml"


def test_nothing_above_the_repository_root_is_read(project):
    (project.parent / ".sesrego.yaml").write_text(WAIVE_A)  # outside the repository
    try:
        result = run("plan.json", "-f", "json")
        assert waived(result) == [] and "configuration from" not in result.stderr
        assert json.loads(result.stdout)["configuration"] == {"source": "none"}
        assert discover(project / "infra") is None
    finally:
        (project.parent / ".sesrego.yaml").unlink()


def test_a_git_file_marks_a_work_tree_root_too(tmp_path):
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")
    (tmp_path / ".sesrego.yml").write_text(WAIVE_A)
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert discover(tmp_path / "a" / "b") == tmp_path / ".sesrego.yml"


def test_outside_a_repository_only_the_current_directory_is_searched(tmp_path):
    (tmp_path / ".sesrego.yaml").write_text(WAIVE_A)
    (tmp_path / "sub").mkdir()
    if any((parent / ".git").exists() for parent in tmp_path.parents):
        pytest.skip("the temporary directory is inside a git repository")
    assert discover(tmp_path / "sub") is None
    assert discover(tmp_path) == tmp_path / ".sesrego.yaml"


def test_two_configuration_files_in_one_directory_are_an_error(project):
    (project / "infra" / ".sesrego.yaml").write_text(WAIVE_A)
    (project / "infra" / ".sesrego.json").write_text("{}")
    result = run("plan.json")
    assert result.exit_code == 2 and ".sesrego.yaml and .sesrego.json are both here" in result.stderr
    assert run("plan.json", "--no-config").exit_code == 0


@pytest.mark.parametrize("kind", ["directory", "broken-link", "fifo"])
def test_a_configuration_name_that_is_no_file_is_an_error_not_a_silent_no_op(project, kind):
    import os

    path = project / "infra" / ".sesrego.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to(project / "nowhere.yaml")
    else:
        os.mkfifo(path)
    result = run("plan.json")
    assert result.exit_code == 2 and result.stderr.startswith("Error: .sesrego.yaml: is not a regular file")
    assert run("plan.json", "--no-config").exit_code == 0


def test_config_names_a_file_and_no_config_turns_discovery_off(project, tmp_path):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    other = project / "other.yaml"
    other.write_text(WAIVE_A.replace("aws_iam_policy.a", "aws_iam_policy.b"))
    result = run("plan.json", "-f", "json", "--config", other)
    assert waived(result) == ["aws_iam_policy.b"] and f"note: configuration from {other}" in result.stderr
    result = run("plan.json", "-f", "json", "--no-config")
    assert waived(result) == [] and "configuration from" not in result.stderr
    result = run("plan.json", "--config", other, "--no-config")
    assert result.exit_code == 2 and "--no-config" in result.stderr
    assert run("plan.json", "--config", project / "missing.yaml").exit_code == 2


def test_data_files_are_merged_after_the_configuration_file(project):
    (project / ".sesrego.yaml").write_text("sesrego:\n  config:\n    administrators: [admin]\n")
    data = project / "data.yaml"
    data.write_text(WAIVE_A)
    result = run("plan.json", "-f", "json", "--data", data)
    assert waived(result) == ["aws_iam_policy.a"]
    assert json.loads(result.stdout)["configuration"]["files"] == ["../.sesrego.yaml", str(data)]
    data.write_text("sesrego:\n  config:\n    administrators: [other]\n")
    result = run("plan.json", "--data", data)
    assert result.exit_code == 2 and "also set by an earlier" in result.stderr and str(data) in result.stderr


def test_a_broken_discovered_file_is_exit_2_naming_it(project):
    (project / ".sesrego.yaml").write_text("sesrego:\n  config:\n    waiverz: []\n")
    result = run("plan.json")
    assert result.exit_code == 2 and ".sesrego.yaml" in result.stderr and "waiverz" in result.stderr


def test_quiet_leaves_the_configuration_note_out(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    assert "configuration from" not in run("plan.json", "-q").stderr


# --- environment ----------------------------------------------------------------------------------------------


def scan_command():
    return cli.commands["scan"]


def test_every_scan_option_has_its_sesrego_variable():
    options = [p for p in scan_command().params if isinstance(p, click.Option)]
    assert len(options) > 40
    for option in options:
        longest = max((o for o in option.opts if o.startswith("--")), key=len)
        assert option.envvar == "SESREGO_" + longest[2:].upper().replace("-", "_"), option.opts
        assert option.show_envvar
    names = {option.envvar for option in options}
    assert {"SESREGO_FORMAT", "SESREGO_FAIL_ON", "SESREGO_OPA_TOKEN", "SESREGO_SOFT_FAIL", "SESREGO_RULE",
            "SESREGO_CONFIG", "SESREGO_NO_COLOR", "SESREGO_BASELINE", "SESREGO_REPORT", "SESREGO_TF_DIR",
            "SESREGO_BUNDLE", "SESREGO_MIN_SEVERITY", "SESREGO_QUIET", "SESREGO_DATA", "SESREGO_JOBS"} <= names
    assert "SESREGO_FORMAT" in CliRunner().invoke(cli, ["scan", "--help"]).stdout


def test_the_environment_sets_options_and_a_flag_wins(project):
    env = {"SESREGO_FORMAT": "json", "SESREGO_FAIL_ON": "warn"}
    result = run("plan.json", env=env)
    assert result.exit_code == 1 and json.loads(result.stdout)["summary"]["warn"] == 2
    result = run("plan.json", "--format", "table", "--fail-on", "deny", env=env)
    assert result.exit_code == 0 and result.stdout.startswith("plan.json")
    assert run("plan.json", env={"SESREGO_SOFT_FAIL": "true", "SESREGO_FAIL_ON": "warn"}).exit_code == 0
    assert run("plan.json", env={"SESREGO_SOFT_FAIL": "false", "SESREGO_FAIL_ON": "warn"}).exit_code == 1
    assert run("plan.json", env={"SESREGO_FORMAT": "xml"}).exit_code == 2


def test_repeatable_options_split_the_variable(project):
    result = run("plan.json", "-f", "json", env={"SESREGO_RULE": "SES-002 SES-003"})
    document = json.loads(result.stdout)
    assert document["views"] == {"rule": ["SES-002", "SES-003"]} and document["summary"]["hidden"]["rule"] == 2


def test_an_empty_variable_is_not_set(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    assert waived(run("plan.json", "-f", "json", env={"SESREGO_CONFIG": "", "SESREGO_FAIL_ON": ""})) == [
        "aws_iam_policy.a"]


def test_config_and_no_config_from_the_environment(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    assert waived(run("plan.json", "-f", "json", env={"SESREGO_NO_CONFIG": "1"})) == []
    other = project / "other.yaml"
    other.write_text(WAIVE_A.replace("aws_iam_policy.a", "aws_iam_policy.b"))
    assert waived(run("plan.json", "-f", "json", env={"SESREGO_CONFIG": str(other)})) == ["aws_iam_policy.b"]


def test_a_flag_wins_over_an_exclusive_option_from_the_environment(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    other = project / "other.yaml"
    other.write_text(WAIVE_A.replace("aws_iam_policy.a", "aws_iam_policy.b"))
    # the flag on one side of an exclusive pair drops the environment's other side
    assert waived(run("plan.json", "-f", "json", "--config", other, env={"SESREGO_NO_CONFIG": "1"})) == [
        "aws_iam_policy.b"]
    assert waived(run("plan.json", "-f", "json", "--no-config", env={"SESREGO_CONFIG": str(other)})) == []
    result = run("plan.json", "-f", "json", "--engine", "embedded", env={"SESREGO_OPA_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 0 and json.loads(result.stdout)["configuration"]["source"] == "files"
    result = run("plan.json", "--opa-url", "http://127.0.0.1:9", "-f", "json", env={"SESREGO_ENGINE": "embedded"})
    assert result.exit_code == 2 and "cannot connect to the OPA server" in result.stdout  # the server was asked
    # both on the command line, or both in the environment: still an error
    for args, env in ((["--config", other, "--no-config"], {}),
                      ([], {"SESREGO_CONFIG": str(other), "SESREGO_NO_CONFIG": "1"})):
        result = run("plan.json", *args, env=env)
        assert result.exit_code == 2 and "give one" in result.stderr


# --- colour and width -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, environ, terminal, expected", [
    (False, {}, True, True), (False, {}, False, False),
    (True, {}, True, False),
    (False, {"NO_COLOR": "1"}, True, False), (False, {"NO_COLOR": ""}, True, False),
    (False, {"FORCE_COLOR": "1"}, False, True), (False, {"FORCE_COLOR": ""}, False, False),
    (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
    (True, {"FORCE_COLOR": "1"}, False, False),
])
def test_colour_rules(flag, environ, terminal, expected):
    assert console.use_color(flag, environ, terminal) is expected


def test_force_color_colours_a_pipe_and_no_color_wins(project):
    plain = run("plan.json")
    assert not ANSI.search(plain.stdout)
    forced = run("plan.json", env={"FORCE_COLOR": "1"})
    assert ANSI.search(forced.stdout) and ANSI.sub("", forced.stdout) == plain.stdout
    assert not ANSI.search(run("plan.json", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)
    assert not ANSI.search(run("plan.json", "--no-color", env={"FORCE_COLOR": "1"}).stdout)
    assert not ANSI.search(run("plan.json", env={"FORCE_COLOR": "1", "SESREGO_NO_COLOR": "1"}).stdout)
    assert not ANSI.search(run("plan.json", "-f", "json", env={"FORCE_COLOR": "1"}).stdout)
    assert ANSI.search(run("plan.json", "--compact", env={"FORCE_COLOR": "1"}).stdout)


def test_the_table_wraps_to_the_terminal_and_keeps_100_columns_off_one(project, monkeypatch):
    lines = run("plan.json").stdout.splitlines()
    assert max(map(len, lines)) <= 100 and max(map(len, lines)) > 80
    monkeypatch.setattr(cli_scan, "stdout_is_terminal", lambda: True)
    narrow = run("plan.json", "--no-color", env={"COLUMNS": "60"}).stdout.splitlines()
    assert max(len(line) for line in narrow if not line.startswith("  aws_")) <= 60 and len(narrow) > len(lines)
    wide = run("plan.json", "--no-color", env={"COLUMNS": "200"}).stdout.splitlines()
    assert len(wide) < len(lines)
    assert ANSI.search(run("plan.json", env={"COLUMNS": "80"}).stdout)  # a terminal is coloured
    assert console.table_width(False) == 100 and console.table_width(True) >= console.MIN_WIDTH


# --- quiet and compact ----------------------------------------------------------------------------------------


@pytest.fixture
def clean_and_dirty(project):
    (project / "infra" / "clean.json").write_text(json.dumps(plan()))
    (project / "infra" / "deny.json").write_text(json.dumps(plan(identity("aws_iam_policy.d", DENY))))


def test_quiet_prints_only_findings_and_nothing_without_them(project, clean_and_dirty):
    result = run("clean.json", "-q")
    assert result.exit_code == 0 and result.stdout == ""
    result = run("plan.json", "-q")
    assert "aws_iam_policy.a" in result.stdout and "policies checked" not in result.stdout
    assert result.stdout.startswith("plan.json\n") and not result.stdout.endswith("\n\n")
    assert run("deny.json", "clean.json", "-q").exit_code == 1  # the exit status is unchanged
    assert run("clean.json", "-q", "--compact").stdout == ""


def test_quiet_keeps_machine_formats_complete(project, clean_and_dirty, compiled):
    from sesrego.formats import FORMATS, render
    from sesrego.scanner import ScanOptions, scan

    program, tree = compiled
    for paths in (["clean.json"], ["plan.json", "clean.json"]):
        report = scan(paths, program, tree, ScanOptions(jobs=1))
        for fmt in FORMATS:
            if fmt != "table":
                assert render(report, fmt, quiet=True, compact=True) == render(report, fmt), fmt
    assert run("clean.json", "-q", "-f", "json").stdout == run("clean.json", "-f", "json").stdout


def test_quiet_still_reports_errors_on_stderr(project, clean_and_dirty):
    (project / "infra" / "broken.json").write_text("{")
    result = run("broken.json", "plan.json", "-q")
    assert result.exit_code == 2 and "error: broken.json" in result.stderr
    assert "broken" not in result.stdout and "aws_iam_policy.a" in result.stdout


def test_compact_prints_one_line_per_finding(project, clean_and_dirty):
    result = run("plan.json", "deny.json", "--compact")
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        'plan.json: SES-001 warn aws_iam_policy.a statement "Send": aws_iam_policy.a statement "Send" allows '
        "ses:SendEmail to any recipient: it has no ses:Recipients condition",
        'plan.json: SES-001 warn aws_iam_policy.b statement "Send": aws_iam_policy.b statement "Send" allows '
        "ses:SendEmail to any recipient: it has no ses:Recipients condition",
        lines[2]]
    assert lines[2].startswith("deny.json: SES-002 deny aws_iam_policy.d statement \"Loose\": ")
    assert lines[-1].startswith("1 deny, 2 warn.") and len(lines) == 4
    assert run("plan.json", "--compact", "-q").stdout.splitlines() == lines[:2]


def test_with_an_opa_server_the_found_configuration_is_local_and_not_sent(project):
    (project / ".sesrego.yaml").write_text(WAIVE_A)
    result = run("plan.json", "-f", "json", "--opa-url", "http://127.0.0.1:9", "--opa-connect-timeout", "1")
    assert result.exit_code == 2  # nothing listens there; the note comes first
    assert "note: with --opa-url the server's own configuration applies; ../.sesrego.yaml is not sent" in result.stderr
    assert json.loads(result.stdout)["configuration"] == {"source": "server"}

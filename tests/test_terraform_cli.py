"""``sesrego scan`` on .tf inputs: --var, --var-file (in command-line order), TF_VAR_*, the caps, warnings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("hcl2")

from sesrego.cli import cli  # noqa: E402

CONFIG = """
    variable "recipients" {
      type = list(string)
    }

    variable "action" {
      type    = string
      default = "ses:SendEmail"
    }

    resource "aws_iam_policy" "p" {
      policy = jsonencode({ Statement = [{ Effect = "Allow", Action = var.action, Resource = "*",
        Condition = { "ForAllValues:StringLike" = { "ses:Recipients" = var.recipients } } }] })
    }
"""


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["scan", "-j", "1", "-f", "json", *args], env=env)
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, report


def rules(report) -> set[str]:
    return {finding["rule_id"] for finding in report["findings"]}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(textwrap.dedent(CONFIG))
    (tmp_path / "open.tfvars").write_text('recipients = ["*"]\n')
    (tmp_path / "closed.tfvars").write_text('recipients = ["*@example.com"]\n')
    return tmp_path


def test_var_and_var_file_apply_in_command_line_order(config):
    closed, opened = str(config / "closed.tfvars"), str(config / "open.tfvars")
    _, report = run(str(config), "--var-file", opened, "--var", 'recipients=["*@example.com"]')
    assert rules(report) == set()
    _, report = run(str(config), "--var", 'recipients=["*@example.com"]', "--var-file", opened)
    assert rules(report) == {"SES-002"}
    _, report = run(str(config), "--var-file", opened, "--var-file", closed)
    assert rules(report) == set()


def test_without_a_value_the_policy_is_unverifiable_and_unloaded_tfvars_are_named(config):
    result, report = run(str(config))
    assert rules(report) == {"SES-007"}
    assert f"warning: {config / 'closed.tfvars'}: not loaded: Terraform reads it only with -var-file" in result.stderr
    assert f"warning: {config / 'open.tfvars'}: not loaded" in result.stderr


def test_tf_var_environment_variables_are_read(config):
    _, report = run(str(config), env={"TF_VAR_recipients": '["*"]'})
    assert rules(report) == {"SES-002"}
    _, report = run(str(config), "--var", 'recipients=["*@example.com"]', env={"TF_VAR_recipients": '["*"]'})
    assert rules(report) == set()  # the command line wins


def test_an_undeclared_var_or_a_malformed_one_exits_2(config):
    result, _ = run(str(config), "--var", "nope=1")
    assert result.exit_code == 2
    assert f'error: {config}: --var nope: the root module does not declare a variable named "nope"' in result.stderr
    result, _ = run(str(config), "--var", "no-equals-sign")
    assert result.exit_code == 2 and "expected NAME=VALUE" in result.output


def test_the_evaluation_caps_are_options(config, tmp_path_factory):
    big = tmp_path_factory.mktemp("big")
    (big / "main.tf").write_text('locals {\n  x = [for i in range(1000) : [for j in range(1000) : j]]\n}\n'
                                 'resource "aws_iam_policy" "p" {\n  policy = jsonencode(local.x)\n}\n')
    result, report = run(str(big), "--max-eval-steps", "1000")
    assert result.exit_code == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {big / 'main.tf'}:2: evaluation took more than 1000 steps")
    result, _ = run(str(big), "--max-value-bytes", "1000")
    assert result.exit_code == 2 and "--max-value-bytes" in result.stderr
    result, report = run(str(config), "--max-eval-steps", "1000", "--var", 'recipients=["*"]')
    assert result.exit_code == 1 and rules(report) == {"SES-002"}  # read in full: a deny finding


def test_a_tf_json_file_on_the_command_line_is_scanned_as_configuration(tmp_path):
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"aws_iam_policy": {"p": {
        "policy": '{"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]}'}}}}))
    result, report = run(str(tmp_path / "main.tf.json"))
    assert result.exit_code == 0, result.output
    assert rules(report) == {"SES-001"}


def test_a_var_file_from_a_pipe_is_read_once_for_every_root(config, tmp_path_factory):
    """``--var-file <(sops -d prod.tfvars)``: Terraform reads a FIFO; so does the scan, once, for every root."""
    import contextlib
    import os
    import shutil
    import threading

    other = tmp_path_factory.mktemp("other")
    shutil.copy(config / "main.tf", other / "main.tf")
    fifo = tmp_path_factory.mktemp("fd") / "63"
    os.mkfifo(fifo)
    def write() -> None:
        with contextlib.suppress(BrokenPipeError):
            fifo.write_text('recipients = ["*"]\n')

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result, report = run(str(config), str(other), "--var-file", str(fifo), "--input-timeout", "10")
    if writer.is_alive():  # the scan never opened the pipe: let the writer finish
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join()
    assert result.exit_code == 1, result.output
    assert [finding["rule_id"] for finding in report["findings"]] == ["SES-002", "SES-002"]


def test_a_var_file_pipe_nobody_writes_to_is_one_error(config, tmp_path_factory):
    import os

    fifo = tmp_path_factory.mktemp("fd") / "63"
    os.mkfifo(fifo)
    result, _ = run(str(config), "--var-file", str(fifo), "--input-timeout", "0.05")
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert str(fifo) in line and "within 0.05 seconds" in line and "Traceback" not in result.output


def test_the_workspace_terraform_would_select_is_read(tmp_path):
    """``count = terraform.workspace == "prod" ? 1 : 0``: with TF_WORKSPACE=prod, as in the CI run, it is checked."""
    (tmp_path / "main.tf").write_text(textwrap.dedent("""
        resource "aws_iam_policy" "p" {
          count  = terraform.workspace == "prod" ? 1 : 0
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })
        }
    """))
    _, report = run(str(tmp_path), env={"TF_WORKSPACE": ""})
    assert rules(report) == set()
    _, report = run(str(tmp_path), env={"TF_WORKSPACE": "prod"})
    assert rules(report) == {"SES-001"}

"""``c ? a : b`` with an unknown condition, and policies unknown as a whole, end to end from ``.tf``.

Both options of a conditional are considered: a finding both give is certain, one neither can give
is absent, and SES-007 names the condition only when the options disagree (issue 11 §2).
"""

from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("hcl2")

from sesrego.scanner import ScanOptions, scan  # noqa: E402

SEND = '{ Effect = "Allow", Action = ["ses:SendEmail"], Resource = "*" }'
SEND_ONE = '{ Effect = "Allow", Action = ["ses:SendEmail"], Resource = "arn:aws:ses:*:*:identity/x" }'
GET = '{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }'
PUT = '{ Effect = "Allow", Action = ["s3:PutObject"], Resource = "*" }'


def found(tmp_path, compiled, text: str) -> set[tuple[str, object]]:
    (tmp_path / "main.tf").write_text('variable "b" {\n  type = bool\n}\n' + textwrap.dedent(text))
    program, tree = compiled
    report = scan([str(tmp_path)], program, tree, ScanOptions(jobs=1))
    assert not report.failed_inputs
    return {(f["rule_id"], f["statement"]) for _, f in report.findings}


def between(first: str, second: str) -> str:
    return f"""
        locals {{
          first  = jsonencode({{ Version = "2012-10-17", Statement = [{first}] }})
          second = jsonencode({{ Version = "2012-10-17", Statement = [{second}] }})
        }}
        resource "aws_iam_policy" "p" {{
          policy = var.b ? local.first : local.second
        }}
    """


@pytest.mark.parametrize("first, second, expected", [
    (SEND, SEND_ONE, {("SES-001", 0)}),  # both options grant without a recipients condition
    (GET, PUT, set()),  # neither option can grant SES
    (SEND, GET, {("SES-007", 0)}),  # the options disagree
])
def test_a_conditional_between_two_policies_considers_both(tmp_path, compiled, first, second, expected):
    assert found(tmp_path, compiled, between(first, second)) == expected


@pytest.mark.parametrize("action, expected", [
    ('var.b ? ["s3:GetObject"] : ["s3:PutObject"]', set()),
    ('["ses:SendEmail", var.b ? "s3:GetObject" : "s3:PutObject"]', {("SES-001", 0)}),
    ('var.b ? ["ses:SendEmail"] : ["s3:GetObject"]', {("SES-007", 0)}),
])
def test_a_conditional_inside_jsonencode_considers_both(tmp_path, compiled, action, expected):
    assert found(tmp_path, compiled, f"""
        resource "aws_iam_policy" "p" {{
          policy = jsonencode({{ Version = "2012-10-17",
            Statement = [{{ Effect = "Allow", Action = {action}, Resource = "*" }}] }})
        }}
    """) == expected


@pytest.mark.parametrize("actions, expected", [
    ('var.b ? ["s3:GetObject"] : ["s3:PutObject"]', set()),
    ('["ses:SendEmail", var.b ? "s3:GetObject" : "s3:PutObject"]', {("SES-001", 0)}),
    ('var.b ? ["ses:SendEmail"] : ["s3:GetObject"]', {("SES-007", 0)}),
])
def test_a_conditional_in_a_policy_document_considers_both(tmp_path, compiled, actions, expected):
    assert found(tmp_path, compiled, f"""
        data "aws_iam_policy_document" "d" {{
          statement {{
            actions   = {actions}
            resources = ["*"]
          }}
        }}
        resource "aws_iam_policy" "p" {{
          policy = data.aws_iam_policy_document.d.json
        }}
    """) == expected


def test_a_policy_unknown_as_a_whole_explains_its_variable(tmp_path, compiled):
    (tmp_path / "main.tf").write_text('variable "p" {}\nresource "aws_iam_policy" "p" {\n  policy = var.p\n}\n')
    program, tree = compiled
    report = scan([str(tmp_path)], program, tree, ScanOptions(jobs=1))
    [(_, finding)] = report.findings
    assert finding["rule_id"] == "SES-007"
    assert finding["msg"].endswith("(var.p: a root module variable with no value: give it one with --var p=VALUE "
                                   "or a .tfvars file, or scan the plan)")

"""Unknown values: kept where they occur, marked in decoded documents, explained, never a crash or a pass.

A policy whose string is unknown but whose structure is partly known gets its decoded document in
``sesrego.documents`` with each unknown value replaced by a marker (docs/plan-extension.md); the
rules decide from it. These tests check the input the reader builds; the end-to-end tests at the
bottom check that the rules still never pass what is unknown.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.scanner import ScanOptions, scan  # noqa: E402
from sesrego.terraform import ReaderOptions, plan_from_tf  # noqa: E402

NO_VALUE = "a root module variable with no value: give it one with --var {0}=VALUE or a .tfvars file, or scan the plan"


def read(tmp_path: Path, text: str, options: ReaderOptions = ReaderOptions(), **files: str):
    (tmp_path / "main.tf").write_text(textwrap.dedent(text))
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    [result] = plan_from_tf([tmp_path], options)
    assert result.error is None, result.error.located()
    return {change["address"]: change for change in result.plan["resource_changes"]}


def unknown(*expressions: str, like: str | None = None) -> dict:
    marker = {"$unknown": sorted(expressions)}
    if like is not None:
        marker["like"] = like
    return marker


# --- partly known documents -----------------------------------------------------------------------


def test_jsonencode_with_unknown_leaves_keeps_the_known_structure(tmp_path):
    changes = read(tmp_path, """
        variable "identity_arn" {}
        variable "account" {}

        resource "aws_iam_policy" "p" {
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Allow"
              Action    = ["ses:SendEmail", var.identity_arn]
              Resource  = "arn:aws:ses:*:${var.account}:identity/*"
              Condition = { StringEquals = { "ses:FromAddress" = var.identity_arn } }
            }]
          })
        }
    """)
    sesrego = changes["aws_iam_policy.p"]["sesrego"]
    assert changes["aws_iam_policy.p"]["change"]["after_unknown"] == {"policy": True}
    assert sesrego["unresolved"] == {"policy": "var.identity_arn"}
    assert sesrego["documents"]["policy"] == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["ses:SendEmail", unknown("var.identity_arn")],
        "Resource": unknown("var.account", like="arn:aws:ses:*:*:identity/*"),
        "Condition": {"StringEquals": {"ses:FromAddress": unknown("var.identity_arn")}}}]}
    assert sesrego["explain"] == {"var.account": NO_VALUE.format("account"),
                                  "var.identity_arn": NO_VALUE.format("identity_arn")}
    assert "evaluated_from" not in sesrego


def test_heredoc_json_with_interpolations_is_decoded_with_markers(tmp_path):
    changes = read(tmp_path, """
        variable "effect" {}
        variable "recipients" {}

        resource "aws_iam_role_policy" "p" {
          role   = "app"
          policy = <<-EOT
            {
              "Statement": [{
                "Effect": "${var.effect}",
                "Action": "ses:SendEmail",
                "Resource": "arn:aws:ses:eu-west-1:${data.aws_caller_identity.me.account_id}:identity/*",
                "Condition": {"ForAllValues:StringLike": {"ses:Recipients": ${jsonencode(var.recipients)}}}
              }]
            }
          EOT
        }

        data "aws_caller_identity" "me" {}
    """)
    sesrego = changes["aws_iam_role_policy.p"]["sesrego"]
    assert sesrego["documents"]["policy"] == {"Statement": [{
        "Effect": unknown("var.effect"), "Action": "ses:SendEmail",
        "Resource": unknown("data.aws_caller_identity.me.account_id", like="arn:aws:ses:eu-west-1:*:identity/*"),
        "Condition": {"ForAllValues:StringLike": {"ses:Recipients": unknown("var.recipients")}}}]}
    assert "sesrego does not call AWS" in sesrego["explain"]["data.aws_caller_identity.me.account_id"]


def test_a_template_that_does_not_decode_has_no_document(tmp_path):
    changes = read(tmp_path, """
        variable "x" {}

        resource "aws_iam_policy" "p" {
          policy = "{\\"Statement\\": ${var.x}"
        }

        resource "aws_iam_policy" "q" {
          policy = var.x
        }
    """)
    for address in ("aws_iam_policy.p", "aws_iam_policy.q"):
        assert "documents" not in changes[address]["sesrego"]
        assert changes[address]["sesrego"]["unresolved"] == {"policy": "var.x"}


def test_a_policy_document_with_unknown_arguments_is_rendered_with_markers(tmp_path):
    changes = read(tmp_path, """
        variable "from" {}
        variable "admin_arn" {}

        resource "aws_ses_domain_identity" "d" {
          domain = "example.com"
        }

        data "aws_iam_policy_document" "send" {
          statement {
            sid       = "Send"
            actions   = ["ses:SendEmail", "ses:SendRawEmail"]
            resources = [aws_ses_domain_identity.d.arn]
            condition {
              test     = "StringEquals"
              variable = "ses:FromAddress"
              values   = [var.from]
            }
          }
          statement {
            effect    = "Deny"
            actions   = ["ses:*"]
            resources = ["*"]
            condition {
              test     = "ArnNotEquals"
              variable = "aws:PrincipalArn"
              values   = [var.admin_arn, "arn:aws:iam::1:role/fixed"]
            }
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.send.json
        }
    """)
    sesrego = changes["aws_iam_policy.p"]["sesrego"]
    assert sesrego["unresolved"] == {"policy": "aws_ses_domain_identity.d.arn"}
    assert sesrego["evaluated_from"] == {"policy": "data.aws_iam_policy_document.send"}
    assert sesrego["documents"]["policy"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "Send", "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
         "Resource": unknown("aws_ses_domain_identity.d.arn"),
         "Condition": {"StringEquals": {"ses:FromAddress": unknown("var.from")}}},
        {"Effect": "Deny", "Action": "ses:*", "Resource": "*",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [unknown("var.admin_arn"),
                                                             "arn:aws:iam::1:role/fixed"]}}}]}
    assert sesrego["explain"]["aws_ses_domain_identity.d.arn"] == (
        "computed by the provider when aws_ses_domain_identity.d is created: known only after apply")
    # the document is read during apply, as in a plan: its statement blocks are a read change
    document = changes["data.aws_iam_policy_document.send"]
    assert document["change"]["actions"] == ["read"]
    assert document["change"]["after_unknown"]["statement"][0] == {"resources": True, "condition": [{"values": True}]}


@pytest.mark.parametrize(("argument", "expected"), [
    ("effect = var.x", {"Effect": unknown("var.x"), "Action": "ses:SendEmail", "Resource": "*"}),
    ("sid = var.x", {"Sid": unknown("var.x"), "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}),
    ('not_actions = ["s3:*", var.x]', {"Effect": "Allow", "Action": "ses:SendEmail",
                                       "NotAction": ["s3:*", unknown("var.x")], "Resource": "*"}),
    ("principals {\n type = var.x\n identifiers = [\"*\"]\n }",
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*", "Principal": unknown("var.x")}),
    ("principals {\n type = \"AWS\"\n identifiers = var.list\n }",
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*", "Principal": {"AWS": unknown("var.list")}}),
    ('condition {\n test = var.x\n variable = "ses:Recipients"\n values = ["*@example.com"]\n }',
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*", "Condition": unknown("var.x")}),
    ('condition {\n test = "ForAllValues:StringLike"\n variable = "ses:Recipients"\n values = var.list\n }',
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
      "Condition": {"ForAllValues:StringLike": {"ses:Recipients": unknown("var.list")}}}),
    # a string with unknown parts keeps its known parts (like), wherever it is in the statement
    ('sid = "Send${var.x}"', {"Sid": unknown("var.x", like="Send*"), "Effect": "Allow", "Action": "ses:SendEmail",
                              "Resource": "*"}),
    ('not_resources = ["arn:aws:ses:*:${var.x}:identity/*", var.x]',
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
      "NotResource": [unknown("var.x", like="arn:aws:ses:*:*:identity/*"), unknown("var.x")]}),
    ('not_actions = ["ses:Send${var.x}"]', {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
                                             "NotAction": unknown("var.x", like="ses:Send*")}),
    ("principals {\n type = \"AWS\"\n identifiers = [\"arn:aws:iam::${var.x}:root\", \"*\"]\n }",
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
      "Principal": {"AWS": [unknown("var.x", like="arn:aws:iam::*:root"), "*"]}}),
    ('condition {\n test = "ForAllValues:StringLike"\n variable = "ses:Recipients"\n values = ["*@${var.x}"]\n }',
     {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
      "Condition": {"ForAllValues:StringLike": {"ses:Recipients": unknown("var.x", like="*@*")}}}),
])
def test_each_statement_argument_may_be_unknown_alone(tmp_path, argument, expected):
    changes = read(tmp_path, f"""
        variable "x" {{}}
        variable "list" {{
          type = list(string)
        }}

        data "aws_iam_policy_document" "d" {{
          statement {{
            actions   = ["ses:SendEmail"]
            resources = ["*"]
            {argument}
          }}
        }}

        resource "aws_iam_policy" "p" {{
          policy = data.aws_iam_policy_document.d.json
        }}
    """)
    assert changes["aws_iam_policy.p"]["sesrego"]["documents"]["policy"]["Statement"] == [expected]


def test_a_known_document_with_depends_on_is_read_during_apply(tmp_path):
    changes = read(tmp_path, """
        resource "aws_ses_domain_identity" "d" {
          domain = "example.com"
        }

        data "aws_iam_policy_document" "send" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
          depends_on = [aws_ses_domain_identity.d]
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.send.json
        }
    """)
    sesrego = changes["aws_iam_policy.p"]["sesrego"]
    assert sesrego["documents"]["policy"]["Statement"] == [{"Effect": "Allow", "Action": "ses:SendEmail",
                                                           "Resource": "*"}]
    assert sesrego["evaluated_from"] == {"policy": "data.aws_iam_policy_document.send"}
    assert "depends_on" in sesrego["explain"][sesrego["unresolved"]["policy"]]


@pytest.mark.parametrize(("call", "document", "deferred"), [
    ("depends_on = [aws_ses_domain_identity.d]", "", True),  # a module call's depends_on reaches its data sources
    ("", "depends_on = [aws_ses_domain_identity.d]", True),
    ("", "depends_on = []", False),  # depends on nothing: read while planning
    ("depends_on = []", "", False),
    ("", "", False),
])
def test_a_document_is_evaluated_from_its_blocks_only_when_terraform_reads_it_during_apply(tmp_path, call, document,
                                                                                           deferred):
    changes = read(tmp_path, f"""
        resource "aws_ses_domain_identity" "d" {{
          domain = "example.com"
        }}

        module "m" {{
          source = "./m"
          {call}
        }}
    """, **{"m/main.tf": f"""
        data "aws_iam_policy_document" "send" {{
          statement {{
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }}
          {document}
        }}

        resource "aws_iam_policy" "p" {{
          policy = data.aws_iam_policy_document.send.json
        }}
    """})
    change = changes["module.m.aws_iam_policy.p"]
    if deferred:
        assert change["sesrego"]["evaluated_from"] == {"policy": "module.m.data.aws_iam_policy_document.send"}
        assert "module.m.data.aws_iam_policy_document.send" in changes
    else:
        assert "sesrego" not in change and json.loads(change["change"]["after"]["policy"])["Statement"]
        assert "module.m.data.aws_iam_policy_document.send" not in changes


@pytest.mark.parametrize(("reference", "deferred"), [
    ("aws_iam_role.r.name", True),  # a known attribute, but Terraform waits for the role's creation to read it
    ('"arn:aws:iam::1:role/${aws_iam_role.r.name}"', True),
    ("local.role_name", False),  # through a local: no direct dependency, read while planning
    ("aws_iam_role.none[*].name", False),  # count = 0: nothing to create, nothing to wait for
    ("data.aws_iam_role.existing.name", False),  # a data source (read from AWS, unknown here, but no dependency)
])
def test_a_document_that_refers_directly_to_a_created_resource_is_read_during_apply(tmp_path, reference, deferred):
    changes = read(tmp_path, f"""
        resource "aws_iam_role" "r" {{
          name = "sender"
        }}

        resource "aws_iam_role" "none" {{
          count = 0
          name  = "never"
        }}

        data "aws_iam_role" "existing" {{
          name = "existing"
        }}

        locals {{
          role_name = aws_iam_role.r.name
        }}

        data "aws_iam_policy_document" "d" {{
          statement {{
            actions   = ["ses:SendEmail"]
            resources = ["*"]
            condition {{
              test     = "StringEquals"
              variable = "aws:PrincipalArn"
              values   = flatten([{reference}])
            }}
          }}
        }}

        resource "aws_iam_policy" "p" {{
          policy = data.aws_iam_policy_document.d.json
        }}
    """)
    change = changes["aws_iam_policy.p"]
    if not deferred:
        assert "data.aws_iam_policy_document.d" not in changes
        assert change.get("sesrego", {}).get("evaluated_from") is None
        return
    sesrego = change["sesrego"]
    assert sesrego["evaluated_from"] == {"policy": "data.aws_iam_policy_document.d"}
    assert sesrego["unresolved"] == {"policy": "data.aws_iam_policy_document.d.json"}
    assert "$unknown" not in json.dumps(sesrego["documents"])
    assert "refers to aws_iam_role.r, which is created" in sesrego["explain"]["data.aws_iam_policy_document.d.json"]
    assert changes["data.aws_iam_policy_document.d"]["action_reason"] == "read_because_dependency_pending"


def test_a_known_document_is_a_string_and_has_no_extension(tmp_path):
    changes = read(tmp_path, """
        data "aws_iam_policy_document" "send" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.send.json
        }
    """)
    assert "sesrego" not in changes["aws_iam_policy.p"] and "data.aws_iam_policy_document.send" not in changes
    assert json.loads(changes["aws_iam_policy.p"]["change"]["after"]["policy"])["Statement"][0]["Resource"] == "*"


# --- dynamic blocks ------------------------------------------------------------------------------------


def test_an_unknown_dynamic_block_makes_only_the_blocks_it_generates_unknown(tmp_path):
    changes = read(tmp_path, """
        variable "extra" {
          type = list(string)
        }

        data "aws_iam_policy_document" "d" {
          statement {
            sid       = "Static"
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
          dynamic "statement" {
            for_each = var.extra
            content {
              actions   = [statement.value]
              resources = ["*"]
            }
          }
          statement {
            sid       = "AlsoStatic"
            actions   = ["ses:GetSendQuota"]
            resources = ["*"]
            dynamic "condition" {
              for_each = var.extra
              content {
                test     = "StringLike"
                variable = "ses:Recipients"
                values   = [condition.value]
              }
            }
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.d.json
        }
    """)
    statements = changes["aws_iam_policy.p"]["sesrego"]["documents"]["policy"]["Statement"]
    assert statements == [
        {"Sid": "Static", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"},
        unknown("var.extra"),
        {"Sid": "AlsoStatic", "Effect": "Allow", "Action": "ses:GetSendQuota", "Resource": "*",
         "Condition": unknown("var.extra")}]


def test_a_known_dynamic_block_expands(tmp_path):
    changes = read(tmp_path, """
        data "aws_iam_policy_document" "d" {
          dynamic "statement" {
            for_each = { billing = "ses:SendEmail", support = "ses:SendRawEmail" }
            iterator = s
            content {
              sid       = title(s.key)
              actions   = [s.value]
              resources = ["*"]
            }
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.d.json
        }
    """)
    statements = json.loads(changes["aws_iam_policy.p"]["change"]["after"]["policy"])["Statement"]
    assert [(s["Sid"], s["Action"]) for s in statements] == [("Billing", "ses:SendEmail"),
                                                             ("Support", "ses:SendRawEmail")]


def test_an_unknown_dynamic_inline_policy_makes_the_block_list_unknown_as_a_plan_does(tmp_path):
    changes = read(tmp_path, """
        variable "policies" {
          type = map(string)
        }

        resource "aws_iam_role" "r" {
          name               = "r"
          assume_role_policy = "{}"
          dynamic "inline_policy" {
            for_each = var.policies
            content {
              name   = inline_policy.key
              policy = inline_policy.value
            }
          }
        }
    """)
    change = changes["aws_iam_role.r"]
    assert change["change"]["after_unknown"] == {"inline_policy": True}
    assert change["sesrego"]["unresolved"] == {"inline_policy": "var.policies"}


# --- unknown count and for_each -------------------------------------------------------------------------


def test_a_literal_document_behind_an_unknown_count_is_still_evaluated(tmp_path):
    changes = read(tmp_path, """
        variable "enabled" {
          type = bool
        }

        data "aws_iam_policy_document" "send" {
          count = var.enabled ? 1 : 0
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
        }

        resource "aws_iam_policy" "by_count_index" {
          count  = var.enabled ? 1 : 0
          policy = data.aws_iam_policy_document.send[count.index].json
        }

        resource "aws_iam_policy" "by_index" {
          policy = data.aws_iam_policy_document.send[0].json
        }

        resource "aws_iam_policy" "by_splat" {
          policy = one(data.aws_iam_policy_document.send[*].json)
        }

        resource "aws_iam_policy" "by_join" {
          policy = join("", data.aws_iam_policy_document.send[*].json)
        }

        resource "aws_iam_policy" "by_element" {
          policy = element(data.aws_iam_policy_document.send.*.json, 0)
        }

        resource "aws_iam_policy" "by_length" {
          name   = "n${length(data.aws_iam_policy_document.send)}"
          policy = "{}"
        }
    """)
    for name in ("by_count_index", "by_index", "by_splat", "by_join", "by_element"):
        policy = json.loads(changes[f"aws_iam_policy.{name}"]["change"]["after"]["policy"])
        assert policy["Statement"] == [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}], name
    assert "index" not in changes["aws_iam_policy.by_count_index"]  # the instance key is unknown
    assert changes["aws_iam_policy.by_length"]["sesrego"]["unresolved"] == {"name": "var.enabled"}


def test_a_module_with_an_unknown_for_each_is_evaluated_once_with_its_arguments(tmp_path):
    changes = read(tmp_path, """
        variable "teams" {
          type = set(string)
        }

        module "mailer" {
          source   = "./mailer"
          for_each = var.teams
          team     = each.key
          domain   = "example.com"
        }
    """, **{"mailer/main.tf": """
        variable "team" {}
        variable "domain" {}

        resource "aws_iam_policy" "send" {
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail",
                                               Resource = "arn:aws:ses:*:*:identity/${var.domain}" }] })
          name   = "send-${var.team}"
        }
    """})
    change = changes["module.mailer.aws_iam_policy.send"]
    assert change["module_address"] == "module.mailer"
    assert json.loads(change["change"]["after"]["policy"])["Statement"][0]["Resource"] == (
        "arn:aws:ses:*:*:identity/example.com")
    assert change["sesrego"]["unresolved"] == {"name": "each.key"}


# --- aws_organizations_policy type ------------------------------------------------------------------------


def test_an_unknown_organizations_policy_type_stays_unknown_and_a_missing_one_defaults(tmp_path):
    changes = read(tmp_path, """
        variable "kind" {}
        variable "known_kind" {
          default = "RESOURCE_CONTROL_POLICY"
        }

        resource "aws_organizations_policy" "unknown" {
          type    = var.kind
          content = "{}"
        }

        resource "aws_organizations_policy" "default" {
          content = "{}"
        }

        resource "aws_organizations_policy" "rcp" {
          type    = var.known_kind
          content = "{}"
        }
    """)
    assert "type" not in changes["aws_organizations_policy.unknown"]["change"]["after"]
    assert changes["aws_organizations_policy.unknown"]["change"]["after_unknown"] == {"type": True}
    assert changes["aws_organizations_policy.unknown"]["sesrego"]["unresolved"] == {"type": "var.kind"}
    assert changes["aws_organizations_policy.default"]["change"]["after"]["type"] == "SERVICE_CONTROL_POLICY"
    assert changes["aws_organizations_policy.rcp"]["change"]["after"]["type"] == "RESOURCE_CONTROL_POLICY"


# --- unknown collections, anywhere --------------------------------------------------------------------------


@pytest.mark.parametrize("expression", [
    "[for x in var.list : x]", "{for x in var.list : x => x}", "length(var.list)", "var.list[0]", "var.list[*]",
    "var.map.key", "flatten(var.list)", "keys(var.map)", "toset(var.list)", "jsonencode(var.list)",
    'join(",", var.list)', "concat(var.list, [])", "merge(var.map, {})", "lookup(var.map, \"k\", \"d\")",
    "element(var.list, 0)", "one(var.list)", "[for x in var.list : x][0]", "var.list[length(var.list) - 1]",
    '"%{for x in var.list}${x}%{endfor}"', "coalescelist(var.list, [])", "sort(var.list)", "values(var.map)",
    "distinct(var.list)", "slice(var.list, 0, 1)", "zipmap(var.list, var.list)", "tolist(var.list)[0]",
    "var.list == []", "contains(var.list, \"a\")", "try(var.list[0], \"x\")", "can(var.list[0])",
])
def test_unknown_collections_iterated_indexed_measured_or_splatted_never_crash(tmp_path, expression):
    changes = read(tmp_path, f"""
        variable "list" {{
          type = list(string)
        }}
        variable "map" {{
          type = map(string)
        }}

        resource "aws_iam_policy" "p" {{
          name   = jsonencode({expression})
          policy = "{{}}"
        }}

        resource "aws_iam_policy" "counted" {{
          count  = length({expression} == null ? [] : [1])
          policy = "{{}}"
        }}

        resource "aws_iam_policy" "each" {{
          for_each = var.map
          policy   = jsonencode([{expression}])
        }}

        data "aws_iam_policy_document" "d" {{
          dynamic "statement" {{
            for_each = var.list
            content {{
              actions   = [statement.value]
              resources = var.list
            }}
          }}
        }}

        resource "aws_iam_policy" "doc" {{
          policy = data.aws_iam_policy_document.d.json
        }}
    """)
    assert changes["aws_iam_policy.p"]["change"]["after_unknown"] in ({"name": True}, {})
    assert changes["aws_iam_policy.doc"]["change"]["after_unknown"] == {"policy": True}


# --- end to end: the compiled rules never pass what is unknown ------------------------------------------------


def test_an_unknown_dynamic_block_is_reported_not_a_crash_and_other_inputs_are_scanned(tmp_path, compiled):
    (tmp_path / "dynamic").mkdir()
    (tmp_path / "dynamic" / "main.tf").write_text(textwrap.dedent("""
        variable "teams" {
          type = list(string)
        }

        data "aws_iam_policy_document" "d" {
          dynamic "statement" {
            for_each = var.teams
            content {
              actions   = ["ses:SendEmail"]
              resources = ["arn:aws:ses:*:*:identity/${statement.value}.example.com"]
            }
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.d.json
        }
    """))
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "main.tf").write_text(
        'resource "aws_iam_policy" "open" {\n  policy = jsonencode({ Statement = [{ Effect = "Allow", '
        'Action = "ses:SendEmail", Resource = "*" }] })\n}\n')
    program, tree = compiled
    report = scan([str(tmp_path)], program, tree, ScanOptions(jobs=1))
    assert not report.failed_inputs
    found = {(f["rule_id"], f["resource"]) for _, f in report.findings}
    assert ("SES-001", "aws_iam_policy.open") in found
    assert ("SES-007", "aws_iam_policy.p") in found  # unknown, so never a pass


def test_a_variable_given_on_the_command_line_decides_the_finding(tmp_path, compiled):
    (tmp_path / "main.tf").write_text(textwrap.dedent("""
        variable "recipients" {
          type = list(string)
        }

        resource "aws_iam_policy" "p" {
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*",
            Condition = { "ForAllValues:StringLike" = { "ses:Recipients" = var.recipients } } }] })
        }
    """))
    program, tree = compiled

    def rules(*variables):
        options = ScanOptions(jobs=1, reader=ReaderOptions(variables=variables))
        return {f["rule_id"] for _, f in scan([str(tmp_path)], program, tree, options).findings}

    assert rules() == {"SES-007"}
    assert rules(("recipients", '["*@example.com"]')) == set()
    assert rules(("recipients", '["*"]')) == {"SES-002"}

""".tf root modules become plan-shaped input: static resolution, addresses, unknowns, errors, findings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.scanner import ScanOptions, scan  # noqa: E402
from sesrego.terraform import TfInput, plan_from_tf  # noqa: E402

SEND = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


def one(tmp_path: Path, text: str, **more: str) -> TfInput:
    """The only root module of a directory holding main.tf (and more files)."""
    write(tmp_path, {"main.tf": text, **more})
    [result] = plan_from_tf([tmp_path])
    assert result.error is None, result.error.located()
    return result


def changes(result: TfInput) -> dict[str, dict]:
    return {change["address"]: change for change in result.plan["resource_changes"]}


def after(result: TfInput, address: str) -> dict:
    return changes(result)[address]["change"]["after"]


def policy(result: TfInput, address: str, attribute: str = "policy") -> dict:
    return json.loads(after(result, address)[attribute])


# --- static resolution ---------------------------------------------------------------------


def test_literal_string_and_the_plan_shape(tmp_path):
    result = one(tmp_path, """
        resource "aws_iam_policy" "p" {
          name   = "p"
          policy = "{\\"Version\\": \\"2012-10-17\\", \\"Statement\\": []}"
        }
    """)
    assert result.plan["format_version"] == "1.2"
    change = changes(result)["aws_iam_policy.p"]
    assert change["mode"] == "managed" and change["type"] == "aws_iam_policy" and change["name"] == "p"
    assert "index" not in change and "module_address" not in change
    assert change["change"]["actions"] == ["create"]
    assert change["change"]["after"] == {"name": "p", "policy": '{"Version": "2012-10-17", "Statement": []}'}
    assert change["change"]["after_unknown"] == {}
    assert "sesrego" not in change
    assert result.path == str(tmp_path)
    assert result.locations == {"aws_iam_policy.p": (str(tmp_path / "main.tf"), 2)}


def test_heredocs_plain_and_indented_with_interpolation(tmp_path):
    result = one(tmp_path, """
        locals {
          domain = "example.com"
        }

        resource "aws_iam_policy" "plain" {
          policy = <<EOF
        {"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]}
        EOF
        }

        resource "aws_iam_policy" "trimmed" {
          policy = <<-EOT
            {
              "Statement": [{"Effect": "Allow", "Action": ${jsonencode(["ses:SendEmail"])}, "Resource": "*",
                "Condition": {"ForAllValues:StringLike": {"ses:Recipients": ["*@${local.domain}"]}}}]
            }
          EOT
        }
    """)
    assert policy(result, "aws_iam_policy.plain") == {"Statement": [SEND]}
    text = after(result, "aws_iam_policy.trimmed")["policy"]
    assert text.startswith("{\n  \"Statement\"") and text.endswith("}\n")
    statement = json.loads(text)["Statement"][0]
    assert statement["Action"] == ["ses:SendEmail"]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"ses:Recipients": ["*@example.com"]}}


def test_jsonencode_of_literal_structures_renders_as_terraform_does(tmp_path):
    result = one(tmp_path, """
        resource "aws_iam_role_policy" "p" {
          role = "app"
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Sid      = "Send"
              Effect   = "Allow"
              Action   = ["ses:SendEmail", "ses:SendRawEmail"]
              Resource = "*"
              Condition = {
                "ForAllValues:StringLike" = { "ses:Recipients" = ["*@example.com"] }
              }
            }]
          })
        }
    """)
    text = after(result, "aws_iam_role_policy.p")["policy"]
    assert text == ('{"Statement":[{"Action":["ses:SendEmail","ses:SendRawEmail"],"Condition":'
                    '{"ForAllValues:StringLike":{"ses:Recipients":["*@example.com"]}},"Effect":"Allow",'
                    '"Resource":"*","Sid":"Send"}],"Version":"2012-10-17"}')


def test_policy_document_with_principals_conditions_and_defaults(tmp_path):
    result = one(tmp_path, """
        data "aws_iam_policy_document" "doc" {
          statement {
            sid       = "PartnerSends"
            actions   = ["ses:SendEmail", "ses:SendRawEmail"]
            resources = ["arn:aws:ses:eu-west-1:123456789012:identity/example.com"]

            principals {
              type        = "AWS"
              identifiers = ["arn:aws:iam::111122223333:root"]
            }

            condition {
              test     = "ForAllValues:StringLike"
              variable = "ses:Recipients"
              values   = ["*@example.com", "*@example.org"]
            }

            condition {
              test     = "StringEquals"
              variable = "ses:FromAddress"
              values   = ["noreply@example.com"]
            }
          }

          statement {
            effect        = "Deny"
            not_actions   = ["ses:SendEmail"]
            not_resources = ["*"]
            not_principals {
              type        = "*"
              identifiers = ["*"]
            }
          }
        }

        resource "aws_ses_identity_policy" "partner" {
          identity = "example.com"
          name     = "partner"
          policy   = data.aws_iam_policy_document.doc.json
        }
    """)
    assert policy(result, "aws_ses_identity_policy.partner") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PartnerSends",
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Condition": {
                    "ForAllValues:StringLike": {"ses:Recipients": ["*@example.com", "*@example.org"]},
                    "StringEquals": {"ses:FromAddress": "noreply@example.com"},
                },
            },
            {"Effect": "Deny", "NotAction": "ses:SendEmail", "NotResource": "*", "NotPrincipal": "*"},
        ],
    }
    # A document read during plan is not a resource change, as in a plan.
    assert "data.aws_iam_policy_document.doc" not in changes(result)
    assert "data.aws_iam_policy_document.doc" in result.locations


def test_policy_document_source_and_override_documents(tmp_path):
    result = one(tmp_path, """
        data "aws_iam_policy_document" "base" {
          statement {
            sid       = "Send"
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
          statement {
            sid       = "Read"
            actions   = ["ses:GetSendQuota"]
            resources = ["*"]
          }
        }

        data "aws_iam_policy_document" "override" {
          statement {
            sid       = "Send"
            actions   = ["ses:SendRawEmail"]
            resources = ["*"]
          }
        }

        data "aws_iam_policy_document" "merged" {
          source_policy_documents   = [data.aws_iam_policy_document.base.json]
          override_policy_documents = [data.aws_iam_policy_document.override.json]

          statement {
            actions   = ["ses:ListIdentities"]
            resources = ["*"]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.merged.minified_json
        }
    """)
    statements = policy(result, "aws_iam_policy.p")["Statement"]
    assert [(s.get("Sid"), s["Action"]) for s in statements] == [
        ("Send", "ses:SendRawEmail"), ("Read", "ses:GetSendQuota"), (None, "ses:ListIdentities")]


def test_policy_document_replaces_ampersand_variables_as_the_provider_does(tmp_path):
    """The provider writes ``&{aws:username}`` as ``${aws:username}`` in resources, principals and condition
    values (not in actions), so that HCL needs no ``$${``; version 2008-10-17 has no policy variables."""
    result = one(tmp_path, """
        data "aws_iam_policy_document" "d" {
          statement {
            actions   = ["ses:SendEmail", "ses:&{x}"]
            resources = ["arn:aws:ses:*:*:identity/&{aws:username}.example.com"]
            principals {
              type        = "AWS"
              identifiers = ["arn:aws:iam::1:user/&{aws:username}"]
            }
            condition {
              test     = "ForAllValues:StringLike"
              variable = "ses:Recipients"
              values   = ["&{aws:username}@example.com", "ops@example.com"]
            }
          }
        }

        data "aws_iam_policy_document" "old" {
          version = "2008-10-17"
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["arn:aws:ses:*:*:identity/&{aws:username}"]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.d.json
        }

        resource "aws_iam_policy" "old" {
          policy = data.aws_iam_policy_document.old.json
        }
    """)
    [statement] = policy(result, "aws_iam_policy.p")["Statement"]
    assert statement["Action"] == ["ses:SendEmail", "ses:&{x}"]
    assert statement["Resource"] == "arn:aws:ses:*:*:identity/${aws:username}.example.com"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::1:user/${aws:username}"}
    assert statement["Condition"]["ForAllValues:StringLike"]["ses:Recipients"] == [
        "${aws:username}@example.com", "ops@example.com"]
    old = changes(result)["aws_iam_policy.old"]
    assert old["change"]["after_unknown"] == {"policy": True}
    assert "&{" in old["sesrego"]["explain"][old["sesrego"]["unresolved"]["policy"]]


@pytest.mark.parametrize("blocks,sources", [
    (["A", "A"], []),  # two statement blocks with one sid
    ([], [["A"], ["A"]]),  # the same sid in two source documents
    ([], [["A", "A"]]),  # or twice in one
])
def test_policy_document_duplicate_sids_the_provider_rejects_are_unverifiable(tmp_path, blocks, sources):
    statement = """
          statement {{
            sid       = "{}"
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }}"""
    documents = ", ".join(
        "jsonencode({ Statement = [%s] })" % ", ".join(
            '{ Sid = "%s", Effect = "Allow", Action = "ses:GetSendQuota", Resource = "*" }' % sid for sid in sids)
        for sids in sources)
    result = one(tmp_path, f"""
        data "aws_iam_policy_document" "d" {{
          source_policy_documents = [{documents}]
          {"".join(statement.format(sid) for sid in blocks)}
        }}

        resource "aws_iam_policy" "p" {{
          policy = data.aws_iam_policy_document.d.json
        }}
    """)
    change = changes(result)["aws_iam_policy.p"]
    assert change["change"]["after_unknown"] == {"policy": True}
    assert "duplicate Sid (A)" in change["sesrego"]["explain"][change["sesrego"]["unresolved"]["policy"]]


def test_policy_document_sids_may_repeat_where_the_provider_allows_it(tmp_path):
    """Empty sids repeat freely; a block's sid replaces a source document's statement of that sid."""
    result = one(tmp_path, """
        data "aws_iam_policy_document" "d" {
          source_policy_documents = [jsonencode({ Statement = [
            { Sid = "A", Effect = "Allow", Action = "ses:GetSendQuota", Resource = "*" },
            { Effect = "Allow", Action = "ses:ListIdentities", Resource = "*" }] })]
          statement {
            sid       = "A"
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
          statement {
            actions   = ["ses:SendRawEmail"]
            resources = ["*"]
          }
          statement {
            sid       = ""
            actions   = ["ses:SendRawEmail"]
            resources = ["*"]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.d.json
        }
    """)
    statements = policy(result, "aws_iam_policy.p")["Statement"]
    assert [(s.get("Sid"), s["Action"]) for s in statements] == [
        ("A", "ses:SendEmail"), (None, "ses:ListIdentities"), (None, "ses:SendRawEmail"), (None, "ses:SendRawEmail")]


def test_dynamic_blocks_are_expanded(tmp_path):
    result = one(tmp_path, """
        locals {
          teams = toset(["billing", "support"])
        }

        data "aws_iam_policy_document" "doc" {
          dynamic "statement" {
            for_each = local.teams
            iterator = team
            content {
              sid       = "Send${title(team.value)}"
              actions   = ["ses:SendEmail"]
              resources = ["arn:aws:ses:*:*:identity/${team.key}.example.com"]
            }
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.doc.json
        }
    """)
    statements = policy(result, "aws_iam_policy.p")["Statement"]
    assert [s["Sid"] for s in statements] == ["SendBilling", "SendSupport"]
    assert statements[1]["Resource"] == "arn:aws:ses:*:*:identity/support.example.com"


def test_every_resource_is_emitted_and_organizations_policy_type_defaults(tmp_path):
    result = one(tmp_path, """
        resource "aws_organizations_policy" "scp" {
          name    = "scp"
          content = jsonencode({ Statement = [{ Effect = "Deny", Action = "ses:*", Resource = "*" }] })
        }

        resource "aws_organizations_policy_attachment" "scp" {
          policy_id = aws_organizations_policy.scp.id
          target_id = "r-a1b2"
        }

        resource "aws_ssoadmin_permission_set_inline_policy" "sso" {
          instance_arn       = "arn:aws:sso:::instance/ssoins-1"
          permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1/ps-1"
          inline_policy = jsonencode({
            Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }]
          })
        }
    """)
    assert set(changes(result)) == {"aws_organizations_policy.scp", "aws_organizations_policy_attachment.scp",
                                    "aws_ssoadmin_permission_set_inline_policy.sso"}
    assert after(result, "aws_organizations_policy.scp")["type"] == "SERVICE_CONTROL_POLICY"
    attachment = changes(result)["aws_organizations_policy_attachment.scp"]
    assert attachment["change"]["after"] == {"target_id": "r-a1b2"}
    assert attachment["sesrego"]["unresolved"] == {"policy_id": "aws_organizations_policy.scp.id"}
    assert policy(result, "aws_ssoadmin_permission_set_inline_policy.sso", "inline_policy")["Statement"][0][
        "Action"] == "ses:SendEmail"


# --- unknown values ----------------------------------------------------------------------------


def test_root_variable_with_a_default_is_known_and_without_one_is_unknown(tmp_path):
    result = one(tmp_path, """
        variable "policy_json" {
          type    = string
          default = "{}"
        }

        variable "other" {
          type = string
        }

        resource "aws_iam_policy" "p" {
          name   = "p"
          policy = var.policy_json
        }

        resource "aws_iam_policy" "q" {
          name   = "q"
          policy = var.other
        }
    """)
    assert changes(result)["aws_iam_policy.p"]["change"]["after"] == {"name": "p", "policy": "{}"}
    assert "sesrego" not in changes(result)["aws_iam_policy.p"]
    change = changes(result)["aws_iam_policy.q"]
    assert change["change"]["after"] == {"name": "q"}
    assert change["change"]["after_unknown"] == {"policy": True}
    assert change["sesrego"]["unresolved"] == {"policy": "var.other"}
    assert change["sesrego"]["explain"] == {"var.other": "a root module variable with no value: give it one with "
                                                         "--var other=VALUE or a .tfvars file, or scan the plan"}


def test_an_unresolvable_policy_names_its_expression(tmp_path):
    """(Expressions one by one are in tests/fixtures/terraform/expressions.txt.)"""
    result = one(tmp_path, """
        resource "aws_ses_domain_identity" "d" {
          domain = "example.com"
        }

        resource "aws_iam_policy" "p" {
          policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail",
            Resource = aws_ses_domain_identity.d.arn }] })
        }
    """)
    change = changes(result)["aws_iam_policy.p"]
    assert change["change"]["after_unknown"] == {"policy": True}
    assert change["sesrego"]["unresolved"]["policy"] == "aws_ses_domain_identity.d.arn"


def test_role_inline_policy_unknown_per_block(tmp_path):
    result = one(tmp_path, """
        variable "extra" {
          type = string
        }

        resource "aws_iam_role" "app" {
          name               = "app"
          assume_role_policy = "{}"

          inline_policy {
            name   = "known"
            policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:GetSendQuota", Resource = "*" }] })
          }

          inline_policy {
            name   = "extra"
            policy = var.extra
          }
        }
    """)
    change = changes(result)["aws_iam_role.app"]
    inline = change["change"]["after"]["inline_policy"]
    assert [block["name"] for block in inline] == ["known", "extra"]
    assert "policy" in inline[0] and "policy" not in inline[1]
    assert change["change"]["after_unknown"] == {"inline_policy": [False, {"policy": True}]}
    assert change["sesrego"]["unresolved"] == {"inline_policy[1].policy": "var.extra"}


def test_policy_document_read_during_apply_keeps_its_statement_blocks(tmp_path):
    result = one(tmp_path, """
        resource "aws_ses_domain_identity" "d" {
          domain = "example.com"
        }

        data "aws_iam_policy_document" "doc" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = [aws_ses_domain_identity.d.arn]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.doc.json
        }
    """)
    document = changes(result)["data.aws_iam_policy_document.doc"]
    assert document["mode"] == "data" and document["change"]["actions"] == ["read"]
    # resources is a set in the provider: one unknown element makes it wholly unknown
    assert document["change"]["after"] == {"statement": [{"actions": ["ses:SendEmail"], "effect": "Allow"}]}
    assert document["change"]["after_unknown"] == {"statement": [{"resources": True}]}
    references = result.plan["configuration"]["root_module"]["resources"]
    [config] = [r for r in references if r["address"] == "aws_iam_policy.p"]
    assert config["expressions"]["policy"]["references"] == [
        "data.aws_iam_policy_document.doc.json", "data.aws_iam_policy_document.doc"]


# --- count, for_each and modules ---------------------------------------------------------------


def test_count_and_for_each_are_expanded_with_terraform_addresses(tmp_path):
    result = one(tmp_path, """
        locals {
          senders = { billing = "invoices", support = "tickets" }
        }

        resource "aws_iam_policy" "numbered" {
          count  = 2
          name   = "p-${count.index}"
          policy = jsonencode({
            Statement = [{ Sid = "S${count.index}", Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }]
          })
        }

        resource "aws_iam_policy" "keyed" {
          for_each = local.senders
          name     = "${each.key}-${each.value}"
          policy   = "{}"
        }

        resource "aws_iam_policy" "none" {
          count  = 0
          policy = "{}"
        }
    """)
    found = changes(result)
    assert sorted(found) == ['aws_iam_policy.keyed["billing"]', 'aws_iam_policy.keyed["support"]',
                             "aws_iam_policy.numbered[0]", "aws_iam_policy.numbered[1]"]
    assert found["aws_iam_policy.numbered[1]"]["index"] == 1
    assert policy(result, "aws_iam_policy.numbered[1]")["Statement"][0]["Sid"] == "S1"
    assert found['aws_iam_policy.keyed["support"]']["index"] == "support"
    assert found['aws_iam_policy.keyed["support"]']["name"] == "keyed"
    assert after(result, 'aws_iam_policy.keyed["support"]')["name"] == "support-tickets"


def test_unresolved_count_gives_one_instance_with_the_expression_named(tmp_path):
    result = one(tmp_path, """
        variable "how_many" {
          type = number
        }

        locals {
          policies = ["{}", "[]"]
        }

        resource "aws_iam_policy" "send" {
          count  = var.how_many
          name   = "fixed"
          policy = local.policies[count.index]
        }
    """)
    change = changes(result)["aws_iam_policy.send"]
    assert "index" not in change
    assert change["change"]["after"] == {"name": "fixed"}
    assert change["sesrego"]["unresolved"] == {"policy": "local.policies[count.index]"}


def test_local_modules_are_followed(tmp_path):
    write(tmp_path.parent / "shared", {"main.tf": """
        variable "team" {}
        resource "aws_iam_group_policy" "g" {
          group  = var.team
          policy = "{}"
        }
    """})
    result = one(tmp_path, """
        variable "team" {
          type = string
        }

        module "mailer" {
          source   = "./modules/mailer"
          for_each = toset(["billing", "support"])
          team     = each.key
          owner    = var.team
        }

        module "single" {
          source = "../shared"
          team   = "ops"
        }

        module "registry" {
          source = "terraform-aws-modules/iam/aws"
        }

        resource "aws_iam_user_policy" "out" {
          user   = module.mailer["billing"].policy_name
          policy = "{}"
        }
    """, **{"modules/mailer/main.tf": """
        variable "team" {}
        variable "owner" {}
        variable "actions" {
          default = ["ses:SendEmail"]
        }

        resource "aws_iam_policy" "send" {
          count       = length(var.actions)
          name        = "${var.team}-${count.index}"
          description = var.owner
          policy = jsonencode({
            Statement = [{ Effect = "Allow", Action = var.actions[count.index], Resource = "*" }]
          })
        }

        output "policy_name" {
          value = aws_iam_policy.send[0].name
        }
    """})
    found = changes(result)
    assert sorted(found) == ['aws_iam_user_policy.out', 'module.mailer["billing"].aws_iam_policy.send[0]',
                             'module.mailer["support"].aws_iam_policy.send[0]', "module.single.aws_iam_group_policy.g"]
    billing = found['module.mailer["billing"].aws_iam_policy.send[0]']
    assert billing["module_address"] == 'module.mailer["billing"]' and billing["index"] == 0
    assert billing["change"]["after"]["name"] == "billing-0"
    assert json.loads(billing["change"]["after"]["policy"])["Statement"][0]["Action"] == "ses:SendEmail"
    assert billing["sesrego"]["unresolved"] == {"description": "var.team"}  # a root variable, passed down
    assert found["module.single.aws_iam_group_policy.g"]["change"]["after"]["group"] == "ops"
    assert after(result, "aws_iam_user_policy.out")["user"] == "billing-0"  # a module output
    assert result.locations['module.mailer["support"].aws_iam_policy.send[0]'] == (
        str(tmp_path / "modules" / "mailer" / "main.tf"), 8)
    calls = result.plan["configuration"]["root_module"]["module_calls"]
    assert set(calls) == {"mailer", "single", "registry"}
    assert "module" not in calls["registry"] and calls["registry"]["source"] == "terraform-aws-modules/iam/aws"
    assert result.plan["sesrego"]["unread"] == [{"address": "module.registry", "resource_type": "module",
                                                 "reason": "module source not installed: run `terraform init`, "
                                                           "or scan the plan"}]
    assert calls["mailer"]["module"]["resources"][0]["address"] == "aws_iam_policy.send"


# --- finding root modules, and errors ----------------------------------------------------------


def test_root_modules_are_found_recursively(tmp_path):
    write(tmp_path, {
        "app/main.tf": 'module "m" {\n  source = "../modules/m"\n}\n',
        "modules/m/main.tf": 'resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n',
        "other/nested/main.tf": 'resource "aws_iam_policy" "q" {\n  policy = "{}"\n}\n',
        "other/nested/.terraform/modules/x/main.tf": "this is not HCL {",
    })
    results = plan_from_tf([tmp_path])
    assert [r.path for r in results] == [str(tmp_path / "app"), str(tmp_path / "other" / "nested")]
    assert all(r.error is None for r in results)
    assert list(changes(results[0])) == ["module.m.aws_iam_policy.p"]


def test_a_single_file_reports_only_what_it_declares(tmp_path):
    write(tmp_path, {
        "a.tf": 'resource "aws_iam_policy" "a" {\n  policy = "{}"\n}\n',
        "b.tf": 'resource "aws_iam_policy" "b" {\n  policy = "{}"\n}\n',
    })
    [result] = plan_from_tf([tmp_path / "a.tf"])
    assert result.path == str(tmp_path / "a.tf")
    assert list(changes(result)) == ["aws_iam_policy.a"]


def test_syntax_error_is_located_and_other_roots_still_convert(tmp_path):
    write(tmp_path, {
        "broken/main.tf": 'resource "aws_iam_policy" "p" {\n  policy = \n}\n',
        "good/main.tf": 'resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n',
    })
    broken, good = plan_from_tf([tmp_path])
    assert broken.plan is None
    assert broken.error.path == str(tmp_path / "broken" / "main.tf")
    assert (broken.error.line, broken.error.column) == (2, 12)
    assert broken.error.located().startswith(f"{tmp_path / 'broken' / 'main.tf'}:2:12: HCL syntax error")
    assert good.error is None and list(changes(good)) == ["aws_iam_policy.p"]


def test_syntax_error_in_a_called_module_fails_its_root(tmp_path):
    write(tmp_path, {
        "main.tf": 'module "m" {\n  source = "./m"\n}\n',
        "m/main.tf": 'resource "x" {\n',
    })
    [result] = plan_from_tf([tmp_path])
    assert result.error.path == str(tmp_path / "m" / "main.tf")


def test_unreadable_input_is_an_error(tmp_path):
    (tmp_path / "main.tf").write_bytes(b'resource "aws_iam_policy" "p" {\n  policy = "\xff"\n}\n')
    [result] = plan_from_tf([tmp_path])
    assert "not UTF-8" in result.error.located()
    [missing] = plan_from_tf([tmp_path / "missing.tf"])
    assert missing.error.located().startswith(f"{tmp_path / 'missing.tf'}: cannot read")


def test_hostile_input_does_not_raise(tmp_path):
    result = one(tmp_path, """
        locals {
          a = local.b
          b = local.a
          deep = %s
        }

        resource "aws_iam_policy" "p" {
          count  = 3
          policy = local.a
          name   = 1 / 0
        }
    """ % ("[" * 200 + "1" + "]" * 200))
    assert changes(result)["aws_iam_policy.p[0]"]["change"]["after_unknown"] == {"policy": True, "name": True}
    write(tmp_path / "big", {"main.tf": 'resource "aws_iam_policy" "p" {\n  count = 100000000\n}\n'})
    [big] = plan_from_tf([tmp_path / "big"])
    assert "over sesrego's limit of 10000 instances" in big.error.located()


# --- end to end: the compiled rules on .tf input -----------------------------------------------


def scan_dir(path: Path, compiled):
    program, tree = compiled
    return scan([str(path)], program, tree, ScanOptions(jobs=1))


def findings(report) -> dict[tuple[str, str], dict]:
    return {(f["rule_id"], f["resource"]): f for _, f in report.findings}


def test_unknown_policy_yields_ses_007_naming_the_expression(tmp_path, compiled):
    write(tmp_path, {"main.tf": """
        variable "policy_json" {
          type = string
        }

        variable "extra" {
          type = string
        }

        resource "aws_iam_policy" "from_var" {
          policy = var.policy_json
        }

        resource "aws_iam_role" "app" {
          name               = "app"
          assume_role_policy = "{}"

          inline_policy {
            name   = "extra"
            policy = var.extra
          }
        }
    """})
    report = scan_dir(tmp_path, compiled)
    assert not report.failed_inputs
    found = findings(report)
    assert set(found) == {("SES-007", "aws_iam_policy.from_var"), ("SES-007", "aws_iam_role.app")}
    assert "depends on var.policy_json" in found["SES-007", "aws_iam_policy.from_var"]["msg"]
    role = found["SES-007", "aws_iam_role.app"]
    assert role["attribute"] == "inline_policy[0].policy" and "depends on var.extra" in role["msg"]
    [result] = report.inputs
    assert result.locations["aws_iam_role.app"] == (str(tmp_path / "main.tf"), 14)


def test_unresolved_count_is_never_a_pass(tmp_path, compiled):
    write(tmp_path, {"main.tf": """
        variable "n" {
          type = number
        }

        locals {
          policies = [jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:GetSendQuota", Resource = "*" }] }),
                      jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })]
        }

        resource "aws_iam_policy" "send" {
          count  = var.n
          policy = local.policies[count.index]
        }
    """})
    found = findings(scan_dir(tmp_path, compiled))
    assert list(found) == [("SES-007", "aws_iam_policy.send")]
    assert "depends on local.policies[count.index]" in found["SES-007", "aws_iam_policy.send"]["msg"]


def test_document_read_during_apply_is_evaluated_from_its_blocks(tmp_path, compiled):
    write(tmp_path, {"main.tf": """
        resource "aws_ses_domain_identity" "d" {
          domain = "example.com"
        }

        data "aws_iam_policy_document" "doc" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = [aws_ses_domain_identity.d.arn]
          }
        }

        resource "aws_iam_policy" "p" {
          policy = data.aws_iam_policy_document.doc.json
        }
    """})
    found = findings(scan_dir(tmp_path, compiled))
    assert list(found) == [("SES-001", "aws_iam_policy.p")]
    assert found["SES-001", "aws_iam_policy.p"]["evaluated_from"] == "data.aws_iam_policy_document.doc"


def test_expanded_module_instances_are_checked_one_by_one(tmp_path, compiled):
    write(tmp_path, {
        "main.tf": """
            module "mailer" {
              source   = "./mailer"
              for_each = { open = "*", closed = "*@example.com" }
              pattern  = each.value
            }
        """,
        "mailer/main.tf": """
            variable "pattern" {}

            resource "aws_iam_policy" "send" {
              policy = jsonencode({
                Statement = [{
                  Effect    = "Allow"
                  Action    = "ses:SendEmail"
                  Resource  = "*"
                  Condition = { "ForAllValues:StringLike" = { "ses:Recipients" = [var.pattern] } }
                }]
              })
            }
        """,
    })
    found = findings(scan_dir(tmp_path, compiled))
    # "*" restricts nothing (SES-002); "*@example.com" passes
    assert set(found) == {("SES-002", 'module.mailer["open"].aws_iam_policy.send')}


def test_a_broken_root_is_reported_and_the_others_scanned(tmp_path, compiled):
    write(tmp_path, {
        "broken/main.tf": 'resource "aws_iam_policy" "p" {\n  policy = \n}\n',
        "open/main.tf": """
            resource "aws_iam_policy" "p" {
              policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })
            }
        """,
    })
    report = scan_dir(tmp_path, compiled)
    [failed] = report.failed_inputs
    assert failed.path == str(tmp_path / "broken")
    assert failed.error.startswith(f"{tmp_path / 'broken' / 'main.tf'}:2:12: ")
    assert {(r.path, f["rule_id"]) for r, f in report.findings} == {(str(tmp_path / "open"), "SES-001")}


def test_try_file_and_path_module(tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text('{"Statement": []}')
    result = one(tmp_path, f"""
        variable "policy" {{
          type = string
        }}

        locals {{
          settings = {{ name = "n" }}
        }}

        resource "aws_iam_policy" "fallback" {{
          name   = try(local.settings.missing, "default-name")
          policy = try(var.policy, "{{}}")
        }}

        module "m" {{
          source = "./m"
        }}

        resource "aws_iam_policy" "outside" {{
          policy = file("{outside}")
        }}
    """, **{"m/main.tf": """
        resource "aws_iam_policy" "from_file" {
          policy = file("${path.module}/policy.json")
        }
    """, "m/policy.json": '{"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]}'})
    fallback = changes(result)["aws_iam_policy.fallback"]
    assert fallback["change"]["after"] == {"name": "default-name"}  # an error is skipped by try...
    assert fallback["sesrego"]["unresolved"] == {"policy": "var.policy"}  # ...an unknown value is not
    assert policy(result, "module.m.aws_iam_policy.from_file") == {"Statement": [SEND]}
    # file() only reads the configuration's own files
    assert changes(result)["aws_iam_policy.outside"]["sesrego"]["unresolved"]["policy"].startswith("file(")


# --- the reader's API (the contract with the scan) ---------------------------------------------


def test_the_reader_api_has_the_agreed_shape():
    import dataclasses

    from sesrego.terraform import ReaderOptions, Suppression, TfAnnotations, annotations_from_tf  # noqa: F401

    assert [f.name for f in dataclasses.fields(TfInput)] == ["path", "plan", "error", "locations", "suppressions",
                                                            "warnings"]
    assert {"variables", "var_files", "environ", "max_eval_steps", "max_value_bytes",
            "max_input_bytes"} <= {f.name for f in dataclasses.fields(ReaderOptions)}
    assert [f.name for f in dataclasses.fields(Suppression)] == ["rule_ids", "expires", "reason", "file", "line",
                                                                "resources"]
    assert [f.name for f in dataclasses.fields(TfAnnotations)] == ["locations", "suppressions", "warnings"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReaderOptions().max_eval_steps = 1


@pytest.mark.parametrize(("order", "expected"), [
    ((), [("var-file", "a.tfvars"), ("var-file", "b.tfvars"), ("var", "x=1"), ("var", "y=2")]),
    (("var", "var-file", "var", "var-file"), [("var", "x=1"), ("var-file", "a.tfvars"), ("var", "y=2"),
                                              ("var-file", "b.tfvars")]),
    (("var", "var"), [("var-file", "a.tfvars"), ("var-file", "b.tfvars"), ("var", "x=1"), ("var", "y=2")]),
])
def test_var_and_var_file_keep_their_command_line_order(order, expected):
    from sesrego.terraform import ReaderOptions

    options = ReaderOptions(variables=(("x", "1"), ("y", "2")), var_files=("a.tfvars", "b.tfvars"), var_order=order)
    assert options.command_line() == expected

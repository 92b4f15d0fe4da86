"""Every file and module Terraform reads: .tf.json, overrides, modules.json, root modules, single files.

Each class of input is checked both ways: what must be read (and how), and what must not be, or
must be reported as not read.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.terraform import ReaderOptions, plan_from_tf  # noqa: E402

NOT_INSTALLED = "module source not installed: run `terraform init`, or scan the plan"
SEND = '{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }'


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if not name.endswith(".json") else text)
    return directory


def results(*paths, options: ReaderOptions = ReaderOptions()):
    return {Path(r.path).name: r for r in plan_from_tf(list(paths), options)}


def only(*paths, options: ReaderOptions = ReaderOptions()):
    [result] = plan_from_tf(list(paths), options)
    assert result.error is None, result.error.located()
    return result


def addresses(result) -> list[str]:
    return sorted(change["address"] for change in result.plan["resource_changes"] if change["mode"] == "managed")


def after(result, address: str) -> dict:
    return {c["address"]: c for c in result.plan["resource_changes"]}[address]["change"]["after"]


# --- .tf.json ------------------------------------------------------------------------------------


def test_tf_json_blocks_nested_blocks_and_dynamic_blocks(tmp_path):
    document = {
        "data": {"aws_iam_policy_document": {"doc": {
            "//": "statement blocks, one of them dynamic",
            "statement": [{"sid": "Send", "actions": ["ses:SendEmail"], "resources": ["*"],
                           "condition": {"test": "StringEquals", "variable": "ses:FromAddress",
                                         "values": ["${local.from}"]}}],
            "dynamic": {"statement": {"for_each": "${local.extra}", "content": {
                "actions": ["${statement.value}"], "resources": ["*"]}}},
        }}},
        "locals": [{"from": "a@example.com"}, {"extra": ["ses:SendRawEmail"]}],
        "resource": {"aws_iam_policy": {"p": {"policy": "${data.aws_iam_policy_document.doc.json}"}},
                     "aws_iam_role": {"r": [{"name": "r", "inline_policy": [{"name": "x", "policy": "{}"}]}]}},
    }
    write(tmp_path, {"main.tf.json": json.dumps(document)})
    result = only(tmp_path)
    statements = json.loads(after(result, "aws_iam_policy.p")["policy"])["Statement"]
    assert statements == [
        {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
         "Condition": {"StringEquals": {"ses:FromAddress": "a@example.com"}}},
        {"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": "*"}]
    assert after(result, "aws_iam_role.r")["inline_policy"] == [{"name": "x", "policy": "{}"}]
    assert result.locations["aws_iam_policy.p"] == (str(tmp_path / "main.tf.json"), 1)


def test_a_tf_json_file_on_the_command_line_is_configuration(tmp_path):
    write(tmp_path, {"main.tf.json": '{\n  "resource": {\n    "aws_iam_policy": {\n      "p": {\n'
                                     '        "policy": "{}"\n      }\n    }\n  }\n}\n',
                     "other.tf": 'resource "aws_iam_policy" "q" {\n  policy = "{}"\n}\n'})
    result = only(tmp_path / "main.tf.json")
    assert addresses(result) == ["aws_iam_policy.p"]
    assert result.locations["aws_iam_policy.p"] == (str(tmp_path / "main.tf.json"), 4)


def test_invalid_json_is_an_error_with_its_line_and_column(tmp_path):
    write(tmp_path, {"main.tf.json": '{"locals": {\n  "a": [1, 2,]\n}}'})
    [result] = plan_from_tf([tmp_path])
    assert result.error.located().startswith(f"{tmp_path / 'main.tf.json'}:2:")
    assert "not valid JSON" in result.error.located()


@pytest.mark.parametrize(("document", "problem"), [
    ('{"locals": {\n  "a": "x ${"}}', "invalid template: an unclosed ${"),
    ('{"locals": {\n  "a": ["ok", {"k": "%{ if true }"}]}}', "invalid template: an unclosed %{if}"),
    ('{"resource": {\n  "//": "a comment where a label belongs"}}', 'a "resource" block must be a JSON object'),
])
def test_tf_json_that_terraform_rejects_is_a_located_error(tmp_path, document, problem):
    write(tmp_path, {"main.tf.json": document})
    [result] = plan_from_tf([tmp_path])
    assert result.error.located().startswith(f"{tmp_path / 'main.tf.json'}:2: {problem}")


def test_tf_json_templates_that_terraform_accepts_are_no_error(tmp_path):
    write(tmp_path, {"main.tf.json": '{"//": "${ a root comment", "locals": {"a": "$${x} %%{y} ${\\"}\\"}"}, '
                                     '"variable": {"v": {"default": "${not a template"}}}'})
    [result] = plan_from_tf([tmp_path])
    assert result.error is None, result.error.located()


# --- override files --------------------------------------------------------------------------------


def test_an_override_replaces_nested_blocks_of_a_type_and_keeps_the_rest(tmp_path):
    write(tmp_path, {
        "main.tf": """
            data "aws_iam_policy_document" "doc" {
              version = "2012-10-17"
              statement {
                sid       = "Open"
                actions   = ["ses:SendEmail"]
                resources = ["*"]
              }
              statement {
                sid       = "AlsoOpen"
                actions   = ["ses:SendRawEmail"]
                resources = ["*"]
              }
            }

            resource "aws_iam_policy" "p" {
              name   = "base"
              policy = data.aws_iam_policy_document.doc.json
            }
        """,
        "doc_override.tf": """
            data "aws_iam_policy_document" "doc" {
              statement {
                sid       = "Restricted"
                actions   = ["ses:SendEmail"]
                resources = ["*"]
                condition {
                  test     = "ForAllValues:StringLike"
                  variable = "ses:Recipients"
                  values   = ["*@example.com"]
                }
              }
            }
        """,
    })
    result = only(tmp_path)
    document = json.loads(after(result, "aws_iam_policy.p")["policy"])
    assert [s["Sid"] for s in document["Statement"]] == ["Restricted"]
    assert document["Version"] == "2012-10-17" and after(result, "aws_iam_policy.p")["name"] == "base"
    # the merged block is where the base is, and both files contributed
    assert result.locations["data.aws_iam_policy_document.doc"] == (str(tmp_path / "main.tf"), 2)


def test_without_the_override_file_the_base_is_read(tmp_path):
    policy = f"jsonencode({{ Statement = [{SEND}] }})"
    write(tmp_path, {"main.tf": f'resource "aws_iam_policy" "p" {{\n  policy = {policy}\n}}\n',
                     "notes_override.txt": "not configuration", ".hidden_override.tf": "not read {"})
    assert json.loads(after(only(tmp_path), "aws_iam_policy.p")["policy"])["Statement"][0]["Action"] == "ses:SendEmail"


# --- modules ------------------------------------------------------------------------------------------


def installed(root: Path, key: str, source: str, files: dict[str, str], version: str | None = "1.0.0") -> None:
    write(root / ".terraform" / "modules" / key, files)
    manifest_path = root / ".terraform" / "modules" / "modules.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {
        "Modules": [{"Key": "", "Source": "", "Dir": "."}]}
    entry = {"Key": key, "Source": source, "Dir": f".terraform/modules/{key}"}
    if version:
        entry["Version"] = version
    manifest["Modules"].append(entry)
    manifest_path.write_text(json.dumps(manifest))


def test_registry_and_git_modules_installed_by_terraform_init_are_read(tmp_path):
    write(tmp_path, {"main.tf": """
        module "ses" {
          source   = "cloudposse/ses/aws"
          version  = "1.0.0"
          for_each = toset(["a", "b"])
          domain   = "${each.key}.example.com"
        }

        module "git" {
          source = "git::https://example.com/policies.git//ses?ref=v1"
        }
    """})
    installed(tmp_path, "ses", "registry.terraform.io/cloudposse/ses/aws", {
        "main.tf": """
            variable "domain" {}

            module "inner" {
              source = "./inner"
              domain = var.domain
            }
        """,
        "inner/main.tf": f"""
            variable "domain" {{}}

            resource "aws_iam_policy" "send" {{
              name   = "send-${{var.domain}}"
              policy = jsonencode({{ Statement = [{SEND}] }})
            }}
        """})
    installed(tmp_path, "git", "git::https://example.com/policies.git//ses?ref=v1", {
        "main.tf": 'resource "aws_iam_user_policy" "u" {\n  user = "u"\n  policy = "{}"\n}\n'}, version=None)
    result = only(tmp_path)
    assert addresses(result) == ['module.git.aws_iam_user_policy.u', 'module.ses["a"].module.inner.aws_iam_policy.send',
                                 'module.ses["b"].module.inner.aws_iam_policy.send']
    assert after(result, 'module.ses["b"].module.inner.aws_iam_policy.send')["name"] == "send-b.example.com"
    assert "sesrego" not in result.plan
    calls = result.plan["configuration"]["root_module"]["module_calls"]
    assert calls["ses"]["version_constraint"] == "1.0.0" and "inner" in calls["ses"]["module"]["module_calls"]


@pytest.mark.parametrize("broken", ["a.b", "a.c"])
def test_every_nested_registry_module_is_checked_under_its_own_key(tmp_path, broken):
    write(tmp_path, {"main.tf": 'module "a" {\n  source = "org/a/aws"\n}\n'})
    installed(tmp_path, "a", "registry.terraform.io/org/a/aws",
              {"main.tf": 'module "b" {\n  source = "org/b/aws"\n}\nmodule "c" {\n  source = "org/c/aws"\n}\n'})
    for key in ("a.b", "a.c"):
        text = "resource {\n" if key == broken else f'resource "aws_iam_policy" "p" {{\n  name = "{key}"\n}}\n'
        installed(tmp_path, key, f"registry.terraform.io/org/{key[-1]}/aws", {"main.tf": text})
    [result] = plan_from_tf([tmp_path])
    assert result.plan is None
    assert result.error.path == str(tmp_path / ".terraform" / "modules" / broken / "main.tf")


def test_a_module_argument_its_module_does_not_declare_is_an_error(tmp_path):
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "./m"\n  known = 1\n  typo  = 2\n}\n',
                     "m/main.tf": 'variable "known" {}\n'})
    [result] = plan_from_tf([tmp_path])
    assert result.error.located() == (f'{tmp_path / "main.tf"}:4: Unsupported argument: module "m" has no variable '
                                      'named "typo", so an argument of that name is not expected here')


def test_a_module_that_is_not_installed_is_reported_as_unread(tmp_path):
    write(tmp_path, {"main.tf": """
        module "registry" {
          source = "cloudposse/ses/aws"
        }

        module "off" {
          source = "cloudposse/ses/aws"
          count  = 0
        }

        module "local" {
          source = "./local"
        }
    """, "local/main.tf": 'module "nested" {\n  source = "git::https://example.com/x.git"\n}\n'})
    result = only(tmp_path)
    assert result.plan["sesrego"]["unread"] == [
        {"address": "module.registry", "resource_type": "module", "reason": NOT_INSTALLED},
        {"address": "module.local.module.nested", "resource_type": "module", "reason": NOT_INSTALLED}]
    assert result.locations["module.registry"] == (str(tmp_path / "main.tf"), 2)


def test_an_unreadable_module_manifest_is_an_error_naming_it(tmp_path):
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "a/b/c"\n}\n', ".terraform/modules/modules.json": "{nope"})
    [result] = plan_from_tf([tmp_path])
    assert result.error.located().startswith(str(tmp_path / ".terraform" / "modules" / "modules.json"))


def test_a_local_module_without_files_is_an_error(tmp_path):
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "./missing"\n}\n'})
    [result] = plan_from_tf([tmp_path])
    assert result.error.located() == (f"{tmp_path / 'main.tf'}:1: module \"m\": its source {tmp_path / 'missing'} "
                                      "does not exist")


# --- root modules and single files -------------------------------------------------------------------


def test_a_directory_called_with_count_zero_keeps_its_own_resources(tmp_path):
    write(tmp_path, {
        "app/main.tf": f'resource "aws_iam_policy" "app" {{\n  policy = jsonencode({{ Statement = [{SEND}] }})\n}}\n',
        "wrapper/main.tf": 'module "app" {\n  source = "../app"\n  count  = 0\n}\n',
        "env/main.tf": 'module "lib" {\n  source = "../lib"\n}\n',
        "lib/main.tf": 'resource "aws_iam_policy" "lib" {\n  policy = "{}"\n}\n',
    })
    found = results(tmp_path)
    assert sorted(found) == ["app", "env", "wrapper"]  # lib is reached through env, app by nothing
    assert addresses(found["app"]) == ["aws_iam_policy.app"]
    assert addresses(found["env"]) == ["module.lib.aws_iam_policy.lib"]
    assert addresses(found["wrapper"]) == []


def test_a_called_directory_that_is_a_root_by_itself_is_read_on_its_own_too(tmp_path):
    write(tmp_path, {
        "prod/main.tf": 'terraform {\n  backend "s3" {}\n}\nresource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n',
        "all/main.tf": 'module "prod" {\n  source = "../prod"\n}\n',
        "lib/main.tf": 'resource "aws_iam_policy" "l" {\n  policy = "{}"\n}\n',
        "uses-lib/main.tf": 'module "lib" {\n  source = "../lib"\n}\n',
    })
    found = results(tmp_path)
    assert sorted(found) == ["all", "prod", "uses-lib"]
    assert addresses(found["prod"]) == ["aws_iam_policy.p"]
    assert addresses(found["all"]) == ["module.prod.aws_iam_policy.p"]


def test_a_single_file_is_read_with_its_directory_and_reports_what_it_declares(tmp_path):
    write(tmp_path, {
        "documents.tf": """
            locals {
              from = "noreply@example.com"
            }

            data "aws_iam_policy_document" "send" {
              statement {
                actions   = ["ses:SendEmail"]
                resources = ["*"]
              }
            }
        """,
        "roles.tf": """
            resource "aws_iam_policy" "uses_document" {
              policy = data.aws_iam_policy_document.send.json
            }

            resource "aws_iam_policy" "uses_local" {
              name   = local.from
              policy = "{}"
            }

            resource "aws_iam_policy" "alone" {
              policy = "{}"
            }

            module "m" {
              source = "./m"
            }
        """,
        "m/main.tf": 'resource "aws_iam_policy" "in_module" {\n  policy = "{}"\n}\n',
    })
    assert addresses(only(tmp_path / "documents.tf")) == ["aws_iam_policy.uses_document", "aws_iam_policy.uses_local"]
    assert addresses(only(tmp_path / "roles.tf")) == ["aws_iam_policy.alone", "aws_iam_policy.uses_document",
                                                      "aws_iam_policy.uses_local", "module.m.aws_iam_policy.in_module"]
    both = plan_from_tf([tmp_path / "documents.tf", tmp_path / "roles.tf"])
    assert [r.path for r in both] == [str(tmp_path / "documents.tf"), str(tmp_path / "roles.tf")]


def test_a_single_file_with_an_scp_keeps_every_scp_of_its_module(tmp_path):
    scp = ('{ Effect = "Deny", Action = "*", Resource = "*", '
           'Condition = { StringNotEquals = { "aws:ResourceOrgID" = "o-1" } } }')
    write(tmp_path, {"perimeter.tf": f'resource "aws_organizations_policy" "perimeter" {{\n'
                                     f'  content = jsonencode({{ Statement = [{scp}] }})\n}}\n',
                     "controls.tf": 'resource "aws_organizations_policy" "controls" {\n  content = "{}"\n}\n',
                     "roles.tf": 'resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n'})
    assert addresses(only(tmp_path / "perimeter.tf")) == ["aws_organizations_policy.controls",
                                                          "aws_organizations_policy.perimeter"]
    assert addresses(only(tmp_path / "roles.tf")) == ["aws_iam_policy.p"]


# --- files read by functions -------------------------------------------------------------------------


def test_file_functions_read_inside_the_scanned_tree_only(tmp_path):
    repository = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    write(repository, {
        "policies/send.json": json.dumps({"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail",
                                                         "Resource": "*"}]}),
        "policies/send.tpl": '{"Statement": [%{ for a in actions ~}{"Effect": "Allow", "Action": "${a}", '
                             '"Resource": "${resource}"}%{ endfor ~}]}',
        "infra/main.tf": """
            data "template_file" "send" {
              template = file("../policies/send.tpl")
              vars = {
                resource = "*"
              }
            }

            resource "aws_iam_policy" "from_file" {
              policy = file("${path.module}/../policies/send.json")
            }

            resource "aws_iam_policy" "from_template" {
              policy = templatefile("../policies/send.tpl", { actions = ["ses:SendEmail"], resource = "*" })
            }

            resource "aws_iam_policy" "from_fileset" {
              name   = join(",", fileset("../policies", "*.json"))
              policy = "{}"
            }

            resource "aws_iam_policy" "escapes" {
              policy = file("../../outside.json")
            }

            resource "aws_iam_policy" "absolute" {
              policy = file("/etc/hostname")
            }
        """,
    })
    (tmp_path / "outside.json").write_text("{}")
    result = only(repository / "infra")
    assert json.loads(after(result, "aws_iam_policy.from_file")["policy"])["Statement"][0]["Action"] == "ses:SendEmail"
    assert json.loads(after(result, "aws_iam_policy.from_template")["policy"]) == {
        "Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]}
    assert after(result, "aws_iam_policy.from_fileset")["name"] == "send.json"
    changes = {c["address"]: c for c in result.plan["resource_changes"]}
    for address in ("aws_iam_policy.escapes", "aws_iam_policy.absolute"):
        assert changes[address]["change"]["after_unknown"] == {"policy": True}
        [why] = changes[address]["sesrego"]["explain"].values()
        assert "inside the scanned tree" in why and str(repository) in why


def test_outside_a_repository_the_scanned_path_is_the_tree(tmp_path):
    write(tmp_path, {"shared/p.json": "{}", "root/main.tf": 'resource "aws_iam_policy" "p" {\n'
                                                            '  policy = file("../shared/p.json")\n}\n',
                     "root/local.json": "{}"})
    assert "sesrego" in {c["address"]: c for c in only(tmp_path / "root").plan["resource_changes"]}[
        "aws_iam_policy.p"]
    assert after(only(tmp_path), "aws_iam_policy.p") == {"policy": "{}"}  # scanned from the parent: inside

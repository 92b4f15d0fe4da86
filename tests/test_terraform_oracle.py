"""The .tf reader against Terraform itself: the terraform binary, offline, as the oracle.

Each test writes a configuration of ``terraform_data`` resources, asks ``terraform plan`` (or
``terraform init``) what it makes of it, and checks that the reader reads the same: variable
precedence, override files, ``.tf.json``, duplicate blocks, count and for_each errors, the shape
of ``configuration`` references, and modules installed from an absolute path. The tests skip,
saying why, where terraform is not on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.terraform import ReaderOptions, plan_from_tf  # noqa: E402

TERRAFORM = shutil.which("terraform")
pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="the terraform binary is not on PATH")


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


def terraform(directory: Path, *args: str, env: dict | None = None, input: str | None = None,
              ) -> subprocess.CompletedProcess:
    config = directory.parent / f"{directory.name}.terraformrc"
    config.write_text("")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    environment.update({"TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", **(env or {})})
    return subprocess.run([TERRAFORM, *args], cwd=directory, env=environment, capture_output=True, text=True,
                          timeout=120, input=input)


def terraform_plan(directory: Path, *args: str, env: dict | None = None) -> dict | str:
    """The plan JSON, or Terraform's error text."""
    if any(directory.glob("*.tf*")) and (re.search(r'module\s+"', _all_text(directory))):
        init = terraform(directory, "init", "-input=false", "-backend=false", "-no-color", env=env)
        if init.returncode != 0:
            return init.stderr
    proc = terraform(directory, "plan", "-input=false", "-no-color", "-out=tfplan", *args, env=env)
    if proc.returncode != 0:
        return proc.stderr
    return json.loads(terraform(directory, "show", "-json", "tfplan").stdout)


def _all_text(directory: Path) -> str:
    return "".join(path.read_text() for path in directory.glob("*.tf*") if path.is_file())


def terraform_errors(text: str) -> list[tuple[str, int | None]]:
    """(summary, line) of each error Terraform printed."""
    out = []
    for match in re.finditer(r"Error: ([^\n]+)\n(?:\n\s*on \S+ line (\d+))?", text):
        out.append((match.group(1).strip(), int(match.group(2)) if match.group(2) else None))
    return out


def inputs(plan: dict) -> dict[str, object]:
    """address -> the planned ``input`` of each terraform_data resource."""
    return {change["address"]: change["change"]["after"].get("input") for change in plan.get("resource_changes", [])
            if change["type"] == "terraform_data"}


def ours(directory: Path, options: ReaderOptions = ReaderOptions()):
    [result] = plan_from_tf([directory], options)
    return result


# --- count and for_each ---------------------------------------------------------------------------


@pytest.mark.parametrize("argument", [
    "count = 1e400", 'count = "nan"', "count = -3", "count = 1.5", "count = null", "count = true",
    "count = 1" + "0" * 5000, "count = local.negative", 'for_each = ["a"]', "for_each = null",
    "for_each = toset([1, 2])", 'for_each = "a"', "count = 1\n  for_each = {}",
])
def test_count_and_for_each_errors_are_terraform_errors(tmp_path, argument):
    write(tmp_path, {"main.tf": f"""
        locals {{
          negative = 1 - 4
        }}

        resource "terraform_data" "a" {{
          {argument}
        }}
    """})
    [(summary, line)] = terraform_errors(terraform_plan(tmp_path))[:1]
    result = ours(tmp_path)
    assert result.plan is None
    message = result.error.located()
    assert message.startswith(f"{tmp_path / 'main.tf'}:{line}: {summary}"), message
    assert "\n" not in message


@pytest.mark.parametrize("argument", [
    'count = "3"', 'count = "1.0"', "count = 1e1", "count = 0", 'for_each = toset(["b", "a"])',
    'for_each = { x = 1, "a b" = 2 }', "count = length(local.list)", "for_each = local.map",
])
def test_valid_count_and_for_each_expand_to_terraforms_instances(tmp_path, argument):
    write(tmp_path, {"main.tf": f"""
        locals {{
          list = ["a", "b"]
          map  = {{ k = "v" }}
        }}

        resource "terraform_data" "a" {{
          {argument}
          input = "x"
        }}
    """})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    assert set(inputs(ours(tmp_path).plan)) == set(inputs(plan))


# --- variables ------------------------------------------------------------------------------------

VARIABLES = """
    variable "by_default" { default = "default" }
    variable "by_env" { default = "default" }
    variable "by_tfvars" { default = "default" }
    variable "by_tfvars_json" { default = "default" }
    variable "by_auto" { default = "default" }
    variable "file_then_var" { default = "default" }
    variable "var_then_file" { default = "default" }
    variable "env_only" { type = string }
    variable "enabled" { type = bool }
    variable "size" { type = number }
    variable "names" { type = list(string) }
    variable "tags" {
      type    = map(string)
      default = { keep = "default" }
    }
    variable "settings" {
      type = object({ name = string, port = optional(number, 443), tags = optional(list(string)) })
    }
    variable "untyped" {}
    variable "any_typed" { type = any }

    resource "terraform_data" "values" {
      input = {
        by_default = var.by_default, by_env = var.by_env, by_tfvars = var.by_tfvars
        by_tfvars_json = var.by_tfvars_json, by_auto = var.by_auto, file_then_var = var.file_then_var
        var_then_file = var.var_then_file, env_only = var.env_only, enabled = var.enabled, size = var.size
        names = var.names, tags = var.tags, settings = var.settings, untyped = var.untyped
        any_typed = var.any_typed
      }
    }
"""


def test_variables_take_terraforms_values_in_terraforms_order(tmp_path):
    write(tmp_path, {
        "main.tf": VARIABLES,
        "terraform.tfvars": 'by_tfvars = "tfvars"\nby_tfvars_json = "tfvars"\nby_auto = "tfvars"\n'
                            'tags = { replaced = "tfvars" }\n',
        "terraform.tfvars.json": '{"by_tfvars_json": "tfvars.json", "by_auto": "tfvars.json"}',
        "a.auto.tfvars": 'by_auto = "a.auto"\nsize = "7"\n',
        "z.auto.tfvars.json": '{"by_auto": "z.auto.json", "settings": {"name": "n", "extra": 1}}',
        "extra.tfvars": 'file_then_var = "file"\nvar_then_file = "file"\nnames = ["x", 1]\n',
    })
    env = {"TF_VAR_by_env": "env", "TF_VAR_by_tfvars": "env", "TF_VAR_env_only": "from env",
           "TF_VAR_untyped": "[1, 2]", "TF_VAR_any_typed": '["a", 2]', "TF_VAR_undeclared": "ignored"}
    arguments = ["-var", "file_then_var=var", "-var-file", "extra.tfvars", "-var", "var_then_file=var",
                 "-var", "enabled=false"]
    plan = terraform_plan(tmp_path, *arguments, env=env)
    assert isinstance(plan, dict), plan
    options = ReaderOptions(variables=(("file_then_var", "var"), ("var_then_file", "var"), ("enabled", "false")),
                            var_files=(str(tmp_path / "extra.tfvars"),), environ=env,
                            var_order=("var", "var-file", "var", "var"))
    result = ours(tmp_path, options)
    assert result.error is None, result.error.located()
    expected = inputs(plan)["terraform_data.values"]
    assert inputs(result.plan)["terraform_data.values"] == expected
    assert expected["by_auto"] == "z.auto.json" and expected["enabled"] is False and expected["size"] == 7


def test_an_undeclared_var_is_an_error_and_in_a_file_a_warning(tmp_path):
    write(tmp_path, {"main.tf": 'variable "x" { default = 1 }\nresource "terraform_data" "a" { input = var.x }\n',
                     "terraform.tfvars": "x = 2\nnope = 3\n"})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict) and inputs(plan)["terraform_data.a"] == 2
    warned = ours(tmp_path)
    assert inputs(warned.plan)["terraform_data.a"] == 2
    assert warned.warnings == (f'{tmp_path / "terraform.tfvars"}:2: value for undeclared variable "nope" (the root '
                               "module declares no variable of that name)",)
    [(summary, _)] = terraform_errors(terraform_plan(tmp_path, "-var", "nope=1"))
    assert summary == "Value for undeclared variable"
    failed = ours(tmp_path, ReaderOptions(variables=(("nope", "1"),)))
    assert failed.plan is None and 'does not declare a variable named "nope"' in failed.error.located()


@pytest.mark.parametrize(("declaration", "value"), [
    ("type = bool", "maybe"), ("type = bool", "TRUE"), ("type = number", "ten"), ("type = number", " 1"),
    ("type = number", "1_000"), ("type = number", "0x10"), ('type = list(string)', '"x"'),
    ("type = object({ a = string })", "{ b = 1 }"), ("type = map(any)", "{ a = [1], b = \"x\" }"),
    ("type = list(any)", "[1, true]"),
])
def test_a_value_of_the_wrong_type_is_an_error(tmp_path, declaration, value):
    write(tmp_path, {"main.tf": f'variable "v" {{\n  {declaration}\n}}\nresource "terraform_data" "a" {{\n'
                                '  input = var.v\n}\n'})
    assert terraform_errors(terraform_plan(tmp_path, "-var", f"v={value}"))[0][0] == "Invalid value for input variable"
    result = ours(tmp_path, ReaderOptions(variables=(("v", value),)))
    assert result.plan is None and 'invalid value for variable "v"' in result.error.located()


@pytest.mark.parametrize(("declaration", "value"), [
    ("type = bool", "1"), ("type = bool", "0"), ("type = number", "1e3"), ("type = number", "+5"),
    ("type = number", ".5"), ("type = number", "5."), ("type = string", "007"), ("", "[1, 2]"),
    ("type = any", '["a", 2]'), ("type = list(number)", '["1", 2]'), ("type = set(string)", '["b", "a", "b"]'),
    ("type = map(bool)", '{ a = "true" }'), ('type = tuple([string, number])', '[1, "2"]'),
    ("type = list(any)", '[1, "x"]'), ("type = map(any)", '{ a = 1, b = "x" }'), ("type = set(any)", '[2, "a", 2]'),
    ("type = list(any)", '[{ a = 1 }, { b = "x" }]'), ("type = map(any)", '{ a = [1], b = ["x", "y"] }'),
])
def test_a_value_is_converted_to_the_declared_type_as_terraform_converts_it(tmp_path, declaration, value):
    write(tmp_path, {"main.tf": f'variable "v" {{\n  {declaration}\n}}\nresource "terraform_data" "a" {{\n'
                                '  input = var.v\n}\n'})
    plan = terraform_plan(tmp_path, "-var", f"v={value}")
    assert isinstance(plan, dict), plan
    result = ours(tmp_path, ReaderOptions(variables=(("v", value),)))
    assert inputs(result.plan) == inputs(plan)


# --- override files, .tf.json, duplicates ---------------------------------------------------------


def test_override_files_merge_as_terraform_merges_them(tmp_path):
    write(tmp_path, {
        "main.tf": """
            variable "name" {
              default = "base"
            }

            locals {
              suffix = "base"
              other  = "kept"
            }

            resource "terraform_data" "a" {
              count = 1
              input = { name = var.name, suffix = local.suffix, other = local.other }
            }

            resource "terraform_data" "b" {
              input            = "base"
              triggers_replace = ["base"]
            }
        """,
        "override.tf": """
            variable "name" {
              default = "override"
            }

            resource "terraform_data" "a" {
              count = 2
            }
        """,
        "z_override.tf.json": '{"locals": {"suffix": "json override"}, '
                              '"resource": {"terraform_data": {"b": {"input": "${upper(\\"json\\")}"}}}}',
        "x_override.tf": 'resource "terraform_data" "b" {\n  input = "first override"\n}\n',
    })
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan)
    assert inputs(plan)["terraform_data.b"] == "JSON"


@pytest.mark.parametrize(("override", "summary"), [
    ('resource "terraform_data" "missing" {\n  input = 1\n}\n', "Missing resource to override"),
    ('locals {\n  missing = 1\n}\n', "Missing base local value definition to override"),
    ('resource "terraform_data" "a" {\n  depends_on = [terraform_data.a]\n}\n', "Unsupported override"),
])
def test_an_override_without_its_base_is_an_error(tmp_path, override, summary):
    write(tmp_path, {"main.tf": 'resource "terraform_data" "a" {\n  input = 1\n}\n', "override.tf": override})
    [(terraform_summary, line)] = terraform_errors(terraform_plan(tmp_path))
    assert terraform_summary == summary
    result = ours(tmp_path)
    assert result.plan is None
    assert result.error.located().startswith(f"{tmp_path / 'override.tf'}:{line}: {summary}")


@pytest.mark.parametrize("second", [
    'resource "terraform_data" "a" {\n  input = 2\n}\n',
    '{"resource": {"terraform_data": {"a": {"input": 2}}}}',
    'locals {\n  x = 2\n}\n',
    'variable "v" {}\n',
])
def test_two_blocks_with_one_address_are_an_error_naming_both_files(tmp_path, second):
    name = "b.tf.json" if second.startswith("{") else "b.tf"
    write(tmp_path, {"a.tf": 'resource "terraform_data" "a" {\n  input = 1\n}\nlocals {\n  x = 1\n}\n'
                             'variable "v" {}\n', name: second})
    text = terraform_plan(tmp_path, "-var", "v=1")
    assert isinstance(text, str) and "Duplicate" in terraform_errors(text)[0][0]
    result = ours(tmp_path, ReaderOptions(variables=(("v", "1"),)))
    message = result.error.located()
    assert message.startswith(f"{tmp_path / name}:") and "Duplicate" in message and str(tmp_path / "a.tf") in message


def test_tf_json_is_read_as_terraform_reads_it(tmp_path):
    document = {
        "//": "a comment at the root",
        "variable": {"prefix": {"default": "${not a template}", "type": "string"},
                     "items": {"type": "list(string)", "default": ["a", "b"]}},
        "locals": {"joined": "${join(\"-\", var.items)}", "typed": "${var.items}", "escaped": "$${literal}",
                   "mixed": "x-${length(var.items)}", "nested": {"k": ["${upper(\"v\")}", 1, True, None]}},
        "resource": {"terraform_data": {
            "one": {"//": "ignored", "input": {"prefix": "${var.prefix}", "joined": "${local.joined}",
                                               "typed": "${local.typed}", "escaped": "${local.escaped}",
                                               "mixed": "${local.mixed}", "nested": "${local.nested}",
                                               "key ${\"x\"}": "${1 + 1}"}},
            "many": [{"count": 2, "input": "${count.index}"}],
        }},
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(document).replace("True", "true").replace("None", "null"))
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan)
    assert inputs(plan)["terraform_data.one"]["prefix"] == "${not a template}"


# --- configuration references and installed modules -------------------------------------------------


def test_configuration_references_have_terraforms_shape(tmp_path):
    write(tmp_path, {"main.tf": """
        variable "v" {
          default = { a = "x" }
        }

        locals {
          l = ["y"]
          k = "a"
        }

        resource "terraform_data" "source" {
          input = "s"
        }

        resource "terraform_data" "uses" {
          input = [var.v.a, local.l[0], terraform_data.source.output, "${var.v["a"]}-${terraform_data.source.id}",
                   jsonencode({ x = local.l }), local.l[*], var.v[local.k], terraform_data.many[0].output,
                   terraform_data.many[*].id, path.module, { key = var.v }]
          triggers_replace = [for x in local.l : x if x != var.v.a]
        }

        resource "terraform_data" "many" {
          count = 1
        }
    """})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan

    def references(document):
        return {r["address"]: {k: v["references"] for k, v in r.get("expressions", {}).items() if v.get("references")}
                for r in document["configuration"]["root_module"]["resources"]}

    assert references(ours(tmp_path).plan) == references(plan)


def test_a_module_installed_from_an_absolute_path_is_read_from_modules_json(tmp_path):
    shared = write(tmp_path / "shared", {"main.tf": """
        variable "name" {}

        resource "terraform_data" "m" {
          input = "from ${var.name}"
        }
    """})
    root = write(tmp_path / "root", {"main.tf": f"""
        module "abs" {{
          source = "{shared}"
          name   = "root"
        }}
    """})
    plan = terraform_plan(root)
    assert isinstance(plan, dict), plan
    manifest = json.loads((root / ".terraform" / "modules" / "modules.json").read_text())
    assert {entry["Key"] for entry in manifest["Modules"]} == {"", "abs"}
    result = ours(root)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan) == {"module.abs.terraform_data.m": "from root"}
    assert "sesrego" not in result.plan
    shutil.rmtree(root / ".terraform")  # not installed: not read, and said so
    unread = ours(root)
    assert inputs(unread.plan) == {}
    assert unread.plan["sesrego"]["unread"] == [{"address": "module.abs", "resource_type": "module", "reason":
                                                 "module source not installed: run `terraform init`, or scan the "
                                                 "plan"}]


def test_strip_markers_in_template_files_and_json_strings_strip_one_line_as_terraform_does(tmp_path):
    template = 'x\n${~ "b"}|\n%{ if true ~}\n\n  z\n%{~ endif }|\n  ${~ "x" ~}  \n  y\n'
    (tmp_path / "t.tpl").write_text(template)
    (tmp_path / "j.tf.json").write_text(json.dumps({"locals": {"j": template}}))
    write(tmp_path, {"main.tf": """
        resource "terraform_data" "a" {
          input = [templatefile("t.tpl", {}), local.j, "q ${~ "x" ~}\\n  ${~ "y"}"]
        }
    """})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan)
    assert inputs(plan)["terraform_data.a"][0] == "xb|\n\n  z|\nx  y\n"


def test_a_byte_order_mark_opening_a_template_file_is_dropped_as_terraform_drops_it(tmp_path):
    """A template saved by a Windows editor: templatefile() drops its leading BOM (so a lone ``${1}`` stays a
    number and a policy stays JSON); file() keeps it, and a BOM inside the text stays."""
    (tmp_path / "lone.tpl").write_bytes(b"\xef\xbb\xbf${1}")
    (tmp_path / "policy.json.tpl").write_bytes(b'\xef\xbb\xbf{"a": "${x}"}')
    (tmp_path / "inside.tpl").write_bytes(b"a\xef\xbb\xbfb${x}")
    write(tmp_path, {"main.tf": """
        resource "terraform_data" "a" {
          input = [templatefile("lone.tpl", {}), jsondecode(templatefile("policy.json.tpl", { x = 1 })),
                   templatefile("inside.tpl", { x = 1 }), file("lone.tpl")]
        }
    """})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan)
    assert inputs(plan)["terraform_data.a"] == [1, {"a": "1"}, "a\ufeffb1", "\ufeff${1}"]


@pytest.mark.parametrize(("environment", "env", "expected"), [
    (None, {}, "default"), ("staging\n", {}, "staging"), ("staging\n", {"TF_WORKSPACE": "prod"}, "prod"),
    (None, {"TF_WORKSPACE": "prod"}, "prod"),
])
def test_terraform_workspace_is_the_one_terraform_selects(tmp_path, environment, env, expected):
    """TF_WORKSPACE, else the workspace `terraform workspace select` wrote to .terraform/environment."""
    write(tmp_path, {"main.tf": """
        resource "terraform_data" "a" {
          count = terraform.workspace == "prod" ? 1 : 0
          input = terraform.workspace
        }

        resource "terraform_data" "b" {
          input = terraform.workspace
        }
    """})
    if environment is not None:
        (tmp_path / ".terraform").mkdir()
        (tmp_path / ".terraform" / "environment").write_text(environment)
    proc = terraform(tmp_path, "console", "-no-color", env=env, input="terraform.workspace")
    assert proc.stdout.strip() == json.dumps(expected), proc.stderr
    result = ours(tmp_path, ReaderOptions(environ=env))
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == {"terraform_data.b": expected, **({"terraform_data.a[0]": "prod"}
                                                                    if expected == "prod" else {})}


def test_identifiers_are_unicode_as_in_terraform(tmp_path):
    """HCL identifiers are Unicode (ID_Start, then ID_Continue or '-'): a local named in German is valid."""
    write(tmp_path, {"main.tf": """
        locals {
          empfänger-liste = ["*@example.com"]
          _ß2             = "x"
        }

        resource "terraform_data" "größe" {
          input = [local.empfänger-liste, local._ß2,
                   "%{ for schlüssel, wert in { a = 1 } }${schlüssel}${wert}%{ endfor }"]
        }
    """})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert result.error is None, result.error.located()
    assert inputs(result.plan) == inputs(plan) == {"terraform_data.größe": [["*@example.com"], "x", "a1"]}
    for bad in ("2ä = 1", "-ä = 1", "ä€ = 1"):  # a digit or '-' first, a symbol inside: errors in both
        write(tmp_path, {"main.tf": f"locals {{\n  {bad}\n}}\n"})
        assert not isinstance(terraform_plan(tmp_path), dict), bad
        assert ours(tmp_path).error is not None, bad


# --- module calls, overrides of count and for_each, nullable, validation, tfvars files ----------------


@pytest.mark.parametrize(("base", "override"), [
    ('for_each = toset(["a"])', "count = 2"), ("count = 2", 'for_each = toset(["a"])'), ("count = 2", "count = 1"),
    ('for_each = toset(["a"])', 'for_each = toset(["b", "c"])'), ("", "count = 2"),
])
@pytest.mark.parametrize("kind", ["resource", "module"])
def test_an_override_of_count_or_for_each_expands_as_terraform_does_count_first(tmp_path, base, override, kind):
    if kind == "resource":
        files = {"main.tf": f'resource "terraform_data" "x" {{\n  {base}\n  input = "base"\n}}\n',
                 "x_override.tf": f'resource "terraform_data" "x" {{\n  {override}\n}}\n'}
    else:
        files = {"main.tf": f'module "m" {{\n  source = "./m"\n  {base}\n}}\n',
                 "m/main.tf": 'resource "terraform_data" "x" {\n  input = "m"\n}\n',
                 "x_override.tf": f'module "m" {{\n  {override}\n}}\n'}
    write(tmp_path, files)
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    assert inputs(ours(tmp_path).plan) == inputs(plan)


@pytest.mark.parametrize(("call", "variables", "expected"), [
    ("v = null", 'variable "v" {\n  default  = "d"\n  nullable = false\n}\n', "d"),
    ("v = null", 'variable "v" {\n  default = "d"\n}\n', None),
    ('v = "given"', 'variable "v" {\n  default  = "d"\n  nullable = false\n}\n', "given"),
    ("v = null", 'variable "v" {\n  nullable = false\n}\n', "Required variable not set"),
    ("w = 1", 'variable "v" {\n  default = "d"\n}\n', "Unsupported argument"),
    ('v = "ab"', 'variable "v" {\n  validation {\n    condition     = length(var.v) > 3\n'
                 '    error_message = "too short"\n  }\n}\n', "Invalid value for variable"),
    ('v = "abcd"', 'variable "v" {\n  validation {\n    condition     = length(var.v) > 3\n'
                   '    error_message = "too short"\n  }\n}\n', "abcd"),
])
def test_module_arguments_nullable_and_validation_as_terraform_reads_them(tmp_path, call, variables, expected):
    write(tmp_path, {"main.tf": f'module "m" {{\n  source = "./m"\n  {call}\n}}\n',
                     "m/main.tf": variables + 'resource "terraform_data" "x" {\n  input = var.v\n}\n'})
    plan = terraform_plan(tmp_path)
    result = ours(tmp_path)
    if isinstance(plan, dict):
        assert inputs(result.plan) == inputs(plan) == {"module.m.terraform_data.x": expected}
        return
    [(summary, line), *_] = terraform_errors(plan)
    assert summary == expected and result.plan is None
    message = result.error.located()
    assert f":{line}: " in message and "\n" not in message
    if summary == "Invalid value for variable":
        assert message.endswith("too short")


@pytest.mark.parametrize(("files", "expected"), [
    ({"terraform.tfvars": "a = null\n"}, "Required variable not set"),
    ({"terraform.tfvars": 'a = "x"\na = "y"\n'}, "Attribute redefined"),
    ({"terraform.tfvars.json": '{"a": "x", "a": "y"}'}, "Duplicate attribute definition"),
    ({"terraform.tfvars.json": '{"//": "a comment", "a": "x"}'}, "x"),
    ({"terraform.tfvars/inner": ""}, "Failed to read variables file"),
    ({"x.auto.tfvars": 'a = "ok"\n'}, "ok"),
])
def test_variable_files_as_terraform_reads_them(tmp_path, files, expected):
    write(tmp_path, {"main.tf": 'variable "a" {\n  type     = string\n  nullable = false\n}\n'
                                'resource "terraform_data" "x" {\n  input = var.a\n}\n', **files})
    plan = terraform_plan(tmp_path)
    result = ours(tmp_path)
    if isinstance(plan, dict):
        assert inputs(result.plan) == inputs(plan) == {"terraform_data.x": expected}
        assert result.warnings == ()
        return
    assert expected in [summary for summary, _ in terraform_errors(plan)]
    assert result.plan is None and "\n" not in result.error.located()


def test_a_root_variable_validation_known_false_is_an_error_and_unknown_passes(tmp_path):
    write(tmp_path, {"main.tf": """
        variable "v" {
          validation {
            condition     = startswith(var.v, "arn:")
            error_message = "must be an ARN"
          }
        }

        resource "terraform_data" "x" {
          input = var.v
        }
    """})
    [(summary, line)] = terraform_errors(terraform_plan(tmp_path, "-var", "v=nope"))
    failed = ours(tmp_path, ReaderOptions(variables=(("v", "nope"),)))
    assert summary == "Invalid value for variable"
    assert failed.error.located() == f'{tmp_path / "main.tf"}:{line}: Invalid value for variable "v": must be an ARN'
    assert inputs(ours(tmp_path, ReaderOptions(variables=(("v", "arn:x"),))).plan) == {"terraform_data.x": "arn:x"}
    unknown = ours(tmp_path)  # without a value the condition is unknown: checked during apply, so no error here
    assert unknown.error is None and unknown.plan["resource_changes"][0]["change"]["after_unknown"] == {"input": True}


def test_file_digest_functions_give_terraforms_values_and_stay_inside_the_tree(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"\x00\xffbinary\n")
    names = ["filebase64", "filemd5", "filesha1", "filesha256", "filesha512", "filebase64sha256", "filebase64sha512"]
    write(tmp_path, {"main.tf": "resource \"terraform_data\" \"x\" {\n  input = ["
                                + ", ".join(f'{name}("data.bin")' for name in names) + "]\n}\n"
                                'resource "terraform_data" "outside" {\n  input = filemd5("/etc/hostname")\n}\n'})
    plan = terraform_plan(tmp_path)
    assert isinstance(plan, dict), plan
    result = ours(tmp_path)
    assert inputs(result.plan)["terraform_data.x"] == inputs(plan)["terraform_data.x"]
    outside = next(c for c in result.plan["resource_changes"] if c["address"] == "terraform_data.outside")
    assert outside["change"]["after_unknown"] == {"input": True}


@pytest.mark.parametrize("reference", [
    "terraform_data.one[0].input", 'terraform_data.one["a"]', "try(terraform_data.one[0].input, 1)",
    "terraform_data.many.input", "module.single[0].out", "module.counted.out",
    "terraform_data.one[*].input", "terraform_data.many[1].input", "terraform_data.many[*].input", "module.single.out",
    "module.counted[0].out", "module.counted[*].out", "length(terraform_data.many)",
])
def test_instance_keys_in_references_as_terraform_checks_them(tmp_path, reference):
    write(tmp_path, {"main.tf": f"""
        resource "terraform_data" "one" {{
          input = "x"
        }}

        resource "terraform_data" "many" {{
          count = 2
          input = "m"
        }}

        module "single" {{
          source = "./m"
        }}

        module "counted" {{
          source = "./m"
          count  = 1
        }}

        resource "terraform_data" "probe" {{
          input = {reference}
        }}
    """, "m/main.tf": 'output "out" {\n  value = "o"\n}\n'})
    plan = terraform_plan(tmp_path)
    result = ours(tmp_path)
    if isinstance(plan, dict):
        assert inputs(result.plan) == inputs(plan)
        return
    [(summary, line)] = terraform_errors(plan)
    if reference.startswith("module."):  # an evaluation error for module calls: the policy cannot be evaluated
        [change] = [c for c in result.plan["resource_changes"] if c["address"] == "terraform_data.probe"]
        assert change["change"]["after_unknown"] == {"input": True}
        return
    assert result.error.located().startswith(f"{tmp_path / 'main.tf'}:{line}: {summary}: ")


@pytest.mark.parametrize(("first", "second"), [
    ('output "o" {\n  value = 1\n}\n', 'output "o" {\n  value = 2\n}\n'),
    ('module "m" {\n  source = "./m"\n}\n', 'module "m" {\n  source = "./m"\n}\n'),
    ('data "terraform_remote_state" "s" {\n  backend = "local"\n}\n', '{"data": {"terraform_remote_state": '
                                                                    '{"s": {"backend": "local"}}}}'),
    ('variable "v" {\n  default = 1\n}\n', '{"variable": {"v": {"default": 2}}}'),
    ('provider "aws" {}\n', 'provider "aws" {}\n'),
    ('provider "aws" {\n  alias = "east"\n}\n', 'provider "aws" {\n  alias = "east"\n}\n'),
    ('terraform {\n  backend "local" {}\n}\n', 'terraform {\n  backend "local" {}\n}\n'),
])
def test_a_second_declaration_is_terraforms_error_with_terraforms_summary(tmp_path, first, second):
    name = "b.tf.json" if second.startswith("{") else "b.tf"
    write(tmp_path, {"main.tf": 'resource "terraform_data" "a" {\n  input = 1\n}\n' + first, name: second,
                     "m/main.tf": "locals {}\n"})
    text = terraform_plan(tmp_path)
    [(summary, line), *_] = terraform_errors(text) if isinstance(text, str) else [(None, None)]
    if summary is None:  # terraform init reported it
        summary = re.search(r"Error: ([^\n]+)", text).group(1)
    [result] = [r for r in plan_from_tf([tmp_path]) if r.path == str(tmp_path)]
    message = result.error.located()
    assert f": {summary}: " in message and str(tmp_path / "b.tf") in message


def test_providers_with_different_aliases_are_no_duplicates(tmp_path):
    write(tmp_path, {"main.tf": 'provider "aws" {}\nprovider "aws" {\n  alias = "east"\n}\n'
                                'resource "terraform_data" "a" {\n  input = 1\n}\n'})
    assert ours(tmp_path).error is None


@pytest.mark.parametrize("declaration", ["default = null\n  nullable = false", "default = null", "nullable = false"])
def test_a_null_default_as_terraform_reads_it(tmp_path, declaration):
    write(tmp_path, {"main.tf": f'variable "v" {{\n  type = string\n  {declaration}\n}}\n'
                                'resource "terraform_data" "x" {\n  input = var.v == null ? "null" : var.v\n}\n'})
    given = declaration == "nullable = false"  # without a default, it needs a value
    plan = terraform_plan(tmp_path, "-var", "v=given") if given else terraform_plan(tmp_path)
    options = ReaderOptions(variables=(("v", "given"),)) if given else ReaderOptions()
    result = ours(tmp_path, options)
    if isinstance(plan, dict):
        assert inputs(result.plan) == inputs(plan)
    else:
        [(summary, line)] = terraform_errors(plan)
        assert result.error.located().startswith(f"{tmp_path / 'main.tf'}:{line}: {summary}")


@pytest.mark.parametrize("text", [
    'x = "\\x41"', 'x = "a\\qb"', 'x = "\\u12"', 'x = "first line\nsecond line"',
    'x = "\\\\d \\t \\" \\u00e9 \\U0001F600"', 'x = <<EOT\nno \\x escape in a heredoc\nEOT\n',
])
def test_quoted_strings_terraform_rejects_are_errors_at_their_line(tmp_path, text):
    write(tmp_path, {"main.tf": f'locals {{\n  {text}\n}}\nresource "terraform_data" "a" {{\n  input = local.x\n}}\n'})
    plan = terraform_plan(tmp_path)
    result = ours(tmp_path)
    if isinstance(plan, dict):
        assert inputs(result.plan) == inputs(plan)
        return
    (summary, line), *_ = terraform_errors(plan)
    assert result.error.located().startswith(f"{tmp_path / 'main.tf'}:{line}:") and summary in result.error.located()

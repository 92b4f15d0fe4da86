"""Inline suppressions reported exactly like configuration waivers; plans annotated by their configuration
(--tf-dir, or the plan's own directory); single .tf files scanned once per module (pre-commit)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import identity, plan
from sesrego.cli import cli
from sesrego.formats import configuration_address, source_location
from sesrego.report import InputResult

pytest.importorskip("hcl2")

SEND = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })'
STATEMENT = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}

pytestmark = pytest.mark.usefixtures("fast_compile")


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def scan(*args, **kwargs):
    return CliRunner().invoke(cli, ["scan", "-j", "1", "--no-config", *map(str, args)], **kwargs)


def as_json(*args) -> dict:
    result = scan(*args, "-f", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


CONFIGURATION = {
    "main.tf": f"""
        # sesrego:ignore:SES-001 SEC-12: the legacy mailer
        resource "aws_iam_policy" "a" {{
          policy = {SEND}
        }}

        resource "aws_iam_policy" "b" {{
          count  = 2
          policy = {SEND}
        }}

        // sesrego:ignore:SES-003 covers nothing here
        resource "aws_iam_policy" "c" {{
          policy = {SEND}
        }}
    """,
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write(tmp_path / "infra", CONFIGURATION)


def test_a_suppressed_finding_is_reported_like_a_waived_one(config):
    document = as_json(config)
    assert sorted(f["resource"] for f in document["findings"]) == [
        "aws_iam_policy.b[0]", "aws_iam_policy.b[1]", "aws_iam_policy.c"]
    [waived] = document["inputs"][0]["waived"]
    assert waived["resource"] == "aws_iam_policy.a" and waived["rule_id"] == "SES-001"
    assert waived["waiver"]["reason"] == "SEC-12: the legacy mailer"
    assert waived["waiver"]["source"] == "inline" and waived["waiver"]["line"] == 2
    assert waived["file"] == "infra/main.tf" and waived["line"] == 3
    assert document["summary"]["waived"] == 1


def test_the_same_suppression_in_the_configuration_gives_the_same_report(config, tmp_path):
    (config / "main.tf").write_text((config / "main.tf").read_text().replace("# sesrego:ignore:SES-001", "#"))
    data = tmp_path / "waivers.yaml"
    data.write_text('sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: aws_iam_policy.a, '
                    'reason: "SEC-12: the legacy mailer"}\n')
    document = as_json(config, "--data", data)
    assert sorted(f["resource"] for f in document["findings"]) == [
        "aws_iam_policy.b[0]", "aws_iam_policy.b[1]", "aws_iam_policy.c"]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == ["aws_iam_policy.a"]


def test_sarif_marks_inline_suppressions_in_source_and_config_waivers_external(config, tmp_path):
    data = tmp_path / "waivers.yaml"
    data.write_text('sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: "aws_iam_policy.c", '
                    'reason: "SEC-9"}\n')
    log = json.loads(scan(config, "--data", data, "-f", "sarif").stdout)
    suppressed = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r["suppressions"]
                  for r in log["runs"][0]["results"] if "suppressions" in r}
    assert suppressed == {
        "aws_iam_policy.a": [{"kind": "inSource", "status": "accepted", "justification": "SEC-12: the legacy mailer"}],
        "aws_iam_policy.c": [{"kind": "external", "status": "accepted", "justification": "SEC-9"}]}


def test_an_unused_comment_is_reported_once_like_an_unused_waiver(config):
    document = as_json(config)
    assert [(w["rule_id"], w["resource"], w["line"]) for w in document["waivers"]["unused"]] == [
        ("SES-003", "aws_iam_policy.c", 12)]
    assert document["summary"]["waivers_unused"] == 1
    table = scan(config).stdout
    assert "waiver SES-003 aws_iam_policy.c (infra/main.tf:12) covered no finding in this run" in table
    assert table.count("covered no finding") == 1  # the comment's other address forms are not named again
    github = scan(config, "-f", "github").stdout
    assert "::warning file=infra/main.tf,line=12,title=sesrego waiver::" in github


def test_a_used_comment_is_never_reported_unused(config):
    assert not any(w["rule_id"] == "SES-001" for w in as_json(config)["waivers"]["unused"])


def test_an_expired_comment_no_longer_applies_and_is_reported(config):
    text = (config / "main.tf").read_text().replace("sesrego:ignore:SES-001 ", "sesrego:ignore:SES-001:exp:2020-01-31 ")
    (config / "main.tf").write_text(text)
    document = as_json(config)
    assert "aws_iam_policy.a" in {f["resource"] for f in document["findings"]}
    assert [(w["resource"], w["expires"]) for w in document["waivers"]["expired"]] == [
        ("aws_iam_policy.a", "2020-01-31")]  # one comment, named once, like one expired waiver
    assert document["summary"]["waivers_expired"] == 1
    assert scan(config).stdout.count("has expired") == 1


def test_several_ids_and_comment_styles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"main.tf": f"""
        /* sesrego:ignore:SES-001,SES-008 both accepted */
        resource "aws_iam_policy" "a" {{
          policy = jsonencode({{ Statement = [{{ Effect = "Allow", Action = ["ses:SendEmail", "ses:SendEmal"],
                                                Resource = "*" }}] }})
        }}
        resource "aws_iam_policy" "b" {{
          // sesrego:ignore:SES-001 inside the block
          policy = {SEND}
        }}
    """})
    document = as_json(tmp_path)
    assert document["findings"] == []
    assert sorted((w["rule_id"], w["resource"]) for w in document["inputs"][0]["waived"]) == [
        ("SES-001", "aws_iam_policy.a"), ("SES-001", "aws_iam_policy.b"), ("SES-008", "aws_iam_policy.a")]


def test_an_invalid_comment_does_not_apply_and_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"main.tf": f"""
        # sesrego:ignore:SES-001
        resource "aws_iam_policy" "a" {{
          policy = {SEND}
        }}
    """})
    result = scan(tmp_path, "-f", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert [f["resource"] for f in document["findings"]] == ["aws_iam_policy.a"]
    assert "main.tf:2: sesrego:ignore comment not applied: it has no reason" in result.stderr
    assert any("no reason" in w for w in document["inputs"][0]["warnings"])


# --- plans: --tf-dir and the plan's own directory ----------------------------------------------------------


def plan_of(directory: Path, *addresses: str) -> Path:
    changes = [identity(a, STATEMENT, index=int(a[-2]) if a.endswith("]") else None) for a in addresses]
    path = directory / "plan.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan(*changes)))
    return path


def test_tf_dir_gives_a_plan_inline_suppressions_and_locations(config, tmp_path):
    path = plan_of(tmp_path / "plans", "aws_iam_policy.a", "aws_iam_policy.b[0]", "aws_iam_policy.b[1]",
                   "aws_iam_policy.c")
    path = path.relative_to(tmp_path)  # as given, relative to the current directory
    bare = as_json(path)
    assert len(bare["findings"]) == 4 and {(f["file"], f["line"]) for f in bare["findings"]} == {(None, None)}
    document = as_json(path, "--tf-dir", config)
    assert sorted((f["resource"], f["file"], f["line"]) for f in document["findings"]) == [
        ("aws_iam_policy.b[0]", "infra/main.tf", 7), ("aws_iam_policy.b[1]", "infra/main.tf", 7),
        ("aws_iam_policy.c", "infra/main.tf", 13)]
    assert {f["input"] for f in document["findings"]} == {"plans/plan.json"}
    [waived] = document["inputs"][0]["waived"]
    assert waived["waiver"]["source"] == "inline" and waived["resource"] == "aws_iam_policy.a"
    assert [w["rule_id"] for w in document["waivers"]["unused"]] == ["SES-003"]
    sarif = json.loads(scan(path, "--tf-dir", config, "-f", "sarif").stdout)
    regions = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert regions == {"infra/main.tf"}


def test_a_plan_beside_its_configuration_is_annotated_without_tf_dir(config):
    path = plan_of(config, "aws_iam_policy.a", "aws_iam_policy.c")
    document = as_json(path)
    assert [(f["resource"], f["file"], f["line"]) for f in document["findings"]] == [
        ("aws_iam_policy.c", "infra/main.tf", 13)]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == ["aws_iam_policy.a"]


def test_standard_input_takes_annotations_only_from_tf_dir(config):
    raw = plan_of(config, "aws_iam_policy.a").read_text()
    assert [f["resource"] for f in json.loads(scan("-", "-f", "json", input=raw).stdout)["findings"]] == [
        "aws_iam_policy.a"]
    document = json.loads(scan("-", "-f", "json", "--tf-dir", config, input=raw).stdout)
    assert document["findings"] == [] and document["inputs"][0]["waived"][0]["file"] == "infra/main.tf"


def test_tf_dir_must_be_a_directory(config, tmp_path):
    path = plan_of(tmp_path, "aws_iam_policy.a")
    assert scan(path, "--tf-dir", tmp_path / "none").exit_code == 2
    assert scan(path, "--tf-dir", path).exit_code == 2


def test_a_configuration_that_cannot_be_read_leaves_the_plan_scanned_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "infra", {"main.tf": 'resource "aws_iam_policy" "a" {\n  policy = \n}\n'})
    path = plan_of(tmp_path / "plans", "aws_iam_policy.a")
    result = scan(path, "--tf-dir", tmp_path / "infra", "-f", "json")
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert [f["resource"] for f in json.loads(result.stdout)["findings"]] == ["aws_iam_policy.a"]
    assert "warning:" in result.stderr and "infra/main.tf" in result.stderr


def test_two_plans_share_one_configuration_and_its_warnings_once(config, tmp_path):
    (config / "extra.tf").write_text("# sesrego:ignore:SES-001\n" + 'resource "aws_iam_policy" "z" {\n  policy = "{}"\n}\n')
    first = plan_of(tmp_path / "one", "aws_iam_policy.a")
    second = plan_of(tmp_path / "two", "aws_iam_policy.a", "aws_iam_policy.b[0]")
    result = scan(first, second, "--tf-dir", config, "-f", "json")
    document = json.loads(result.stdout)
    assert [f["resource"] for f in document["findings"]] == ["aws_iam_policy.b[0]"]
    assert sum(len(i["waived"]) for i in document["inputs"]) == 2
    assert result.stderr.count("no reason") == 1


def test_locations_are_looked_up_without_instance_keys():
    result = InputResult("p.json", "plan", locations={"module.m.aws_iam_policy.p": ("m/main.tf", 4),
                                                      'aws_iam_policy.q["a"]': ("main.tf", 9),
                                                      "aws_iam_policy.q": ("main.tf", 8)})
    assert source_location(result, {"resource": 'module.m["x.y"].aws_iam_policy.p[3]'}) == ("m/main.tf", 4)
    assert source_location(result, {"resource": "module.m[0].aws_iam_policy.p"}) == ("m/main.tf", 4)
    assert source_location(result, {"resource": 'aws_iam_policy.q["a"]'}) == ("main.tf", 9)  # exact first
    assert source_location(result, {"resource": 'aws_iam_policy.q["b"]'}) == ("main.tf", 8)
    assert source_location(result, {"resource": "aws_iam_policy.other"}) is None
    assert configuration_address('module.a["k]\\"x"].b.c[10]') == "module.a.b.c"


def test_a_module_instance_plan_finding_gets_the_modules_block_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "infra", {
        "main.tf": 'module "mailer" {\n  source   = "./mailer"\n  for_each = toset(["a", "b"])\n}\n',
        "mailer/main.tf": f'resource "aws_iam_policy" "send" {{\n  count  = 1\n  policy = {SEND}\n}}\n'})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan(identity('module.mailer["a"].aws_iam_policy.send[0]', STATEMENT,
                                             module='module.mailer["a"]', index=0))))
    [finding] = as_json(path, "--tf-dir", tmp_path / "infra")["findings"]
    assert (finding["file"], finding["line"]) == ("infra/mailer/main.tf", 1)


# --- single files, grouped by module (pre-commit) -----------------------------------------------------------


@pytest.fixture
def module(tmp_path, monkeypatch):
    """One module in three files: a policy document, a role policy that renders it, an unrelated policy."""
    monkeypatch.chdir(tmp_path)
    return write(tmp_path / "mod", {
        "documents.tf": """
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
        """,
        "other.tf": f"""
            # sesrego:ignore:SES-001 accepted elsewhere
            resource "aws_iam_policy" "other" {{
              policy = {SEND}
            }}
        """,
    })


def test_files_of_one_module_are_read_once_and_reported_once(module, monkeypatch):
    import sesrego.terraform as terraform

    calls = []
    real = terraform.plan_from_tf

    def counting(paths, options=None):
        calls.append([str(p) for p in paths])
        return real(paths, options) if options is not None else real(paths)

    monkeypatch.setattr(terraform, "plan_from_tf", counting)
    result = scan("mod/documents.tf", "mod/roles.tf", "-f", "json")
    assert len(calls) == 1 and calls[0] == ["mod/documents.tf", "mod/roles.tf"]
    document = json.loads(result.stdout)
    assert [i["path"] for i in document["inputs"]] == ["mod"]  # one input: the module's directory
    # the role policy depends on both files, and is reported once
    assert [(f["resource"], f["file"]) for f in document["findings"]] == [
        ("aws_iam_policy.uses_document", "mod/roles.tf")]
    assert document["summary"]["policies_checked"] == 1


def test_one_file_alone_keeps_its_name_and_reports_what_it_affects(module):
    document = as_json("mod/documents.tf")
    assert [i["path"] for i in document["inputs"]] == ["mod/documents.tf"]
    assert [f["resource"] for f in document["findings"]] == ["aws_iam_policy.uses_document"]
    assert as_json("mod/other.tf")["findings"] == []


def test_files_of_two_modules_are_two_inputs(module, tmp_path):
    write(tmp_path / "second", {"main.tf": f'resource "aws_iam_policy" "x" {{\n  policy = {SEND}\n}}\n'})
    document = as_json("mod/roles.tf", "second/main.tf", "mod/other.tf")
    assert [i["path"] for i in document["inputs"]] == ["mod", "second/main.tf"]
    assert sorted(f["resource"] for f in document["findings"]) == ["aws_iam_policy.uses_document",
                                                                    "aws_iam_policy.x"]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == ["aws_iam_policy.other"]


def test_a_comment_in_a_file_not_named_applies_but_is_never_reported_unused(module):
    (module / "other.tf").write_text((module / "other.tf").read_text() + textwrap.dedent("""
        # sesrego:ignore:SES-001 covers a resource of a file the scan did not name
        resource "aws_iam_policy" "quiet" {
          policy = "{}"
        }
    """))
    (module / "roles.tf").write_text((module / "roles.tf").read_text().replace(
        'resource "aws_iam_policy" "uses_document"',
        '# sesrego:ignore:SES-003 unused, in a named file\nresource "aws_iam_policy" "uses_document"'))
    document = as_json("mod/roles.tf")
    assert [(w["rule_id"], w["file"]) for w in document["waivers"]["unused"]] == [("SES-003", "mod/roles.tf")]
    whole = as_json("mod")
    assert sorted(w["rule_id"] for w in whole["waivers"]["unused"]) == ["SES-001", "SES-003"]


def test_a_module_that_cannot_be_read_is_one_error(module):
    (module / "broken.tf").write_text('resource "aws_iam_policy" "p" {\n  policy = \n}\n')
    result = scan("mod/roles.tf", "mod/documents.tf", "-f", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert [(i["path"], bool(i["error"])) for i in document["inputs"]] == [("mod", True)]
    assert "broken.tf" in document["inputs"][0]["error"]


def test_a_plans_configuration_warns_about_comments_not_about_variable_values(config, tmp_path):
    (config / "prod.tfvars").write_text('x = "1"\n')  # a tfvars file Terraform does not load by itself
    path = plan_of(tmp_path / "plans", "aws_iam_policy.a")
    result = scan(path, "--tf-dir", config)
    assert "prod.tfvars" not in result.stderr  # the plan already holds Terraform's values
    assert "prod.tfvars" in scan(config).stderr  # scanning the .tf files says it
    (config / "main.tf").write_text((config / "main.tf").read_text() + "# sesrego:ignore:SES-001\n")
    assert "sesrego:ignore comment not applied" in scan(path, "--tf-dir", config).stderr


def test_a_comment_in_a_module_covers_its_resource_not_a_namesake_in_a_nested_module(tmp_path, monkeypatch):
    """module.c[*].aws_iam_policy.m once matched module.c[0].module.inner[0].aws_iam_policy.m (* crossed the dot)."""
    monkeypatch.chdir(tmp_path)
    resource = f'resource "aws_iam_policy" "m" {{\n  policy = {SEND}\n}}\n'
    write(tmp_path, {
        "main.tf": 'module "c" {\n  count  = 1\n  source = "./mod"\n}\n',
        "mod/main.tf": f'# sesrego:ignore:SES-001 only this module\'s own m\n{resource}'
                       'module "inner" {\n  count  = 1\n  source = "./inner"\n}\n',
        "mod/inner/main.tf": resource,
    })
    document = as_json(".")
    assert [f["resource"] for f in document["findings"]] == ["module.c[0].module.inner[0].aws_iam_policy.m"]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == ["module.c[0].aws_iam_policy.m"]


def test_a_comment_in_a_deeply_nested_module_still_applies(tmp_path, monkeypatch):
    """Six module calls deep, without instance keys, a comment once covered nothing and was reported unused."""
    monkeypatch.chdir(tmp_path)
    directory, files = "", {}
    for name in ("m1", "m2", "m3", "m4", "m5", "m6"):
        files[f"{directory}main.tf"] = f'module "{name}" {{\n  source = "./{name}"\n}}\n'
        directory += f"{name}/"
    files[f"{directory}main.tf"] = (f'# sesrego:ignore:SES-001 reviewed\nresource "aws_iam_policy" "p" {{\n'
                                    f'  policy = {SEND}\n}}\n\nresource "aws_iam_policy" "q" {{\n  policy = {SEND}\n}}\n')
    write(tmp_path, files)
    document = as_json(".")
    deep = "module.m1.module.m2.module.m3.module.m4.module.m5.module.m6.aws_iam_policy"
    assert [f["resource"] for f in document["findings"]] == [f"{deep}.q"]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == [f"{deep}.p"]
    assert document["waivers"]["unused"] == []

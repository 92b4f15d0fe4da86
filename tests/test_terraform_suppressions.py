"""Inline suppressions (``# sesrego:ignore:SES-001 <reason>``) and the annotations of ``scan PLAN --tf-dir``.

The reader parses the comments and says which resources each covers (configuration addresses, each
covering every instance of it); applying them as waivers is the scan's job. A malformed comment never applies and is
reported with its file and line.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.terraform import ReaderOptions, Suppression, annotations_from_tf, plan_from_tf  # noqa: E402
from sesrego.terraform.suppressions import parse  # noqa: E402

POLICY = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })'


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if not name.endswith(".json") else text)
    return directory


def read(directory: Path):
    [result] = plan_from_tf([directory])
    assert result.error is None, result.error.located()
    return result


_KEY = r'(\[([0-9]+|"([^"\\]|\\.)*")\])?'


def covers(suppression: Suppression, address: str) -> bool:
    """Whether an inline waiver's address covers ``address``: any instance key on any step (as the Rego's)."""
    def regex(resource: str) -> str:
        steps = [".*" if step == "*" else re.escape(step) for step in resource.split(".")]
        return (_KEY + r"\.").join(steps) + _KEY
    return any(re.fullmatch(regex(resource), address) for resource in suppression.resources)


@pytest.mark.parametrize(("text", "expected"), [
    ("# sesrego:ignore:SES-001 reviewed by security", (("SES-001",), None, "reviewed by security")),
    ("// sesrego:ignore:SES-001,SES-003 two rules", (("SES-001", "SES-003"), None, "two rules")),
    ("/* sesrego:ignore:SES-002:exp:2027-01-31 until the migration */",
     (("SES-002",), "2027-01-31", "until the migration")),
    ("#sesrego:ignore:SES-007   spaces   collapse ", (("SES-007",), None, "spaces collapse")),
    ("/* sesrego:ignore:SES-001 a reason\n   over two lines */", (("SES-001",), None, "a reason over two lines")),
    ("/*\n * sesrego:ignore:SES-001 a reason\n * over two lines\n */", (("SES-001",), None,
                                                                   "a reason over two lines")),
    ('//sesrego:ignore:SES-004 "quoted" reason # with a hash', (("SES-004",), None, '"quoted" reason # with a hash')),
    ("# a comment about something else", None),
])
def test_a_valid_comment_is_parsed(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("# sesrego:ignore:SES-001", "no reason"),
    ("# sesrego:ignore:SES-001:exp:2027-01-31", "no reason"),
    ("# sesrego:ignore:ses-001 lower case", "upper case"),
    ("# sesrego:ignore:SES-999 no such rule", "unknown rule id SES-999"),
    ("# sesrego:ignore:SES-1 short", "is not a rule id"),
    ("# sesrego:ignore:SES-001,,SES-002 empty id", "is not a rule id"),
    ("# sesrego:ignore:SES-001:exp:2026-13-45 bad date", "invalid expiry date"),
    ("# sesrego:ignore:SES-001:exp:27-01-31 short date", "invalid expiry date"),
    ("# sesrego:ignore:SES-001:exp: no date", "needs a date"),
    ("# sesrego:ignore SES-001 no colon", "expected sesrego:ignore:RULE-ID"),
    ("# sesrego:ignore: nothing", "expected sesrego:ignore:RULE-ID"),
    ("# SESREGO:IGNORE:SES-001 shouting", "in lower case"),
    ("# Sesrego:Ignore:SES-001 capitalised", "in lower case"),
])
def test_a_malformed_comment_is_a_problem(text, problem):
    result = parse(text)
    assert isinstance(result, str) and problem in result


def test_comments_cover_resources_modules_and_what_renders_a_document(tmp_path):
    write(tmp_path, {
        "main.tf": f"""
            # sesrego:ignore:SES-001 partner mail is reviewed by hand
            resource "aws_iam_policy" "above" {{
              count  = 2
              policy = {POLICY}
            }}

            resource "aws_iam_policy" "inside" {{
              policy = {POLICY} // sesrego:ignore:SES-001,SES-003:exp:2030-01-01 inside the block
            }}

            resource "aws_iam_policy" "plain" {{
              policy = {POLICY}
            }}

            module "mailer" {{
              /* sesrego:ignore:SES-008 legacy action names */
              source   = "./mailer"
              for_each = toset(["a", "b"])
              document = module.documents.json
            }}

            module "documents" {{
              source = "./documents"
            }}

            locals {{
              indirect = data.aws_iam_policy_document.shared.json
            }}

            # sesrego:ignore:SES-001 shared documents are reviewed
            # (a run of comment lines directly above the block)
            data "aws_iam_policy_document" "shared" {{
              statement {{
                actions   = ["ses:SendEmail"]
                resources = ["*"]
              }}
            }}

            resource "aws_iam_role_policy" "via_local" {{
              role   = "r"
              policy = local.indirect
            }}
        """,
        "mailer/main.tf": """
            variable "document" {}

            resource "aws_iam_policy" "send" {
              policy = var.document
            }

            module "nested" {
              source = "../nested"
            }
        """,
        "nested/main.tf": f'resource "aws_iam_user_policy" "deep" {{\n  user = "u"\n  policy = {POLICY}\n}}\n',
        "documents/main.tf": """
            // sesrego:ignore:SES-003 documents module is reviewed
            data "aws_iam_policy_document" "d" {
              statement {
                actions   = ["ses:SendCustomVerificationEmail"]
                resources = ["*"]
              }
            }

            output "json" {
              value = data.aws_iam_policy_document.d.json
            }
        """,
    })
    result = read(tmp_path)
    assert result.warnings == ()
    found = {(s.file, s.line): s for s in result.suppressions}
    main, documents = str(tmp_path / "main.tf"), str(tmp_path / "documents" / "main.tf")
    above = found[main, 2]
    assert (above.rule_ids, above.expires, above.reason) == (("SES-001",), None, "partner mail is reviewed by hand")
    assert above.resources == ("aws_iam_policy.above",)
    assert covers(above, "aws_iam_policy.above[1]") and not covers(above, "aws_iam_policy.plain")
    inside = found[main, 9]
    assert inside.rule_ids == ("SES-001", "SES-003") and inside.expires == "2030-01-01"
    assert covers(inside, "aws_iam_policy.inside") and not covers(inside, "aws_iam_policy.above[0]")
    module = found[main, 17]
    assert module.resources == ("module.mailer.*",)
    assert covers(module, 'module.mailer["a"].aws_iam_policy.send')
    assert covers(module, 'module.mailer["b"].module.nested.aws_iam_user_policy.deep')
    assert not covers(module, "module.documents.data.aws_iam_policy_document.d")
    shared = found[main, 31]
    assert covers(shared, "aws_iam_role_policy.via_local") and not covers(shared, "aws_iam_policy.plain")
    rendered = found[documents, 2]  # through an output, a module argument and a variable
    assert covers(rendered, 'module.mailer["a"].aws_iam_policy.send')
    assert covers(rendered, "module.mailer.aws_iam_policy.send")
    assert not covers(rendered, "aws_iam_role_policy.via_local")


def test_a_comment_that_does_not_apply_is_a_warning_naming_its_line(tmp_path):
    write(tmp_path, {"main.tf": f"""
        # sesrego:ignore:SES-001

        # sesrego:ignore:SES-001 separated from the block by a blank line

        resource "aws_iam_policy" "p" {{
          policy = {POLICY}
        }}

        # sesrego:ignore:SES-001 on a variable
        variable "v" {{
          default = 1
        }}

        # sesrego:ignore:SES-001 on a data source that is not a policy document
        data "aws_caller_identity" "me" {{}}
    """})
    result = read(tmp_path)
    main = tmp_path / "main.tf"
    assert result.suppressions == ()
    assert result.warnings == (
        f"{main}:2: sesrego:ignore comment not applied: it has no reason: write why after the rule ids "
        "(sesrego:ignore:SES-001 <reason>)",
        f"{main}:4: sesrego:ignore comment not applied: it is not on or above a resource, module or policy "
        "document block",
        f"{main}:10: sesrego:ignore comment not applied: it applies to resource, module and data "
        '"aws_iam_policy_document" blocks, not to variable blocks',
        f"{main}:15: sesrego:ignore comment not applied: it applies to resource, module and data "
        '"aws_iam_policy_document" blocks, not to data blocks',
    )


def test_a_tf_json_comment_key_suppresses_too(tmp_path):
    write(tmp_path, {"main.tf.json": json.dumps({"resource": {"aws_iam_policy": {"p": {
        "//": "sesrego:ignore:SES-001 generated by the platform team", "policy": "{}"}}}})})
    [suppression] = read(tmp_path).suppressions
    assert suppression.rule_ids == ("SES-001",) and suppression.reason == "generated by the platform team"
    assert suppression.resources == ("aws_iam_policy.p",)


def test_tf_json_comment_keys_in_arrays_and_nested_blocks_suppress_and_root_keys_do_not(tmp_path):
    document = {
        "//": "sesrego:ignore:SES-001 a root key is above nothing",
        "resource": {"aws_iam_policy": {
            "listed": {"//": ["sesrego:ignore:SES-002 an array of comments", 7], "policy": "${local.doc}"},
            "plain": {"policy": "${local.doc}"},
        }},
        "data": {"aws_iam_policy_document": {"d": {"statement": [{
            "//": "sesrego:ignore:SES-003 inside the document's statement",
            "actions": ["ses:SendEmail"], "resources": ["*"]}]}}},
        "locals": {"doc": "${data.aws_iam_policy_document.d.json}"},
    }
    write(tmp_path, {"main.tf.json": json.dumps(document)})  # one line: placement by line would mislead
    result = read(tmp_path)
    found = {s.rule_ids: s for s in result.suppressions}
    assert set(found) == {("SES-002",), ("SES-003",)}
    assert found["SES-002",].resources == ("aws_iam_policy.listed",)
    assert covers(found["SES-003",], "aws_iam_policy.plain") and covers(found["SES-003",], "aws_iam_policy.listed")
    assert result.warnings == (f"{tmp_path / 'main.tf.json'}:1: sesrego:ignore comment not applied: it is not on or "
                               "above a resource, module or policy document block",)


def test_a_warning_names_the_line_of_the_marker_in_a_block_comment(tmp_path):
    write(tmp_path, {"main.tf": f"""
        /*
         * Reviewed in 2026.
         * sesrego:ignore:SES-001:exp:2026-02-30 a bad date
         */
        resource "aws_iam_policy" "p" {{
          policy = {POLICY}
        }}

        /*
         * sesrego:ignore:SES-001 reviewed by security,
         * who own the partner domains
         */
        resource "aws_iam_policy" "q" {{
          policy = {POLICY}
        }}
    """})
    result = read(tmp_path)
    assert result.warnings == (f"{tmp_path / 'main.tf'}:4: sesrego:ignore comment not applied: invalid expiry date "
                               "'2026-02-30' (expected :exp:YYYY-MM-DD)",)
    [suppression] = result.suppressions
    assert (suppression.line, suppression.reason) == (11, "reviewed by security, who own the partner domains")


def test_a_document_read_by_nothing_covers_nothing(tmp_path):
    write(tmp_path, {"main.tf": """
        # sesrego:ignore:SES-001 unused
        data "aws_iam_policy_document" "unused" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["*"]
          }
        }
    """})
    [suppression] = read(tmp_path).suppressions
    assert suppression.resources == ()


# --- annotations for scan PLAN --tf-dir ------------------------------------------------------------------


def test_annotations_give_locations_and_suppressions_of_a_configuration(tmp_path):
    write(tmp_path, {
        "main.tf": f"""
            # sesrego:ignore:SES-001 reviewed
            resource "aws_iam_policy" "p" {{
              count  = 2
              policy = {POLICY}
            }}

            module "m" {{
              source = "./m"
            }}
        """,
        "m/main.tf": 'resource "aws_iam_user_policy" "u" {\n  user = "u"\n  policy = "{}"\n}\n',
    })
    annotations = annotations_from_tf(tmp_path)
    main = str(tmp_path / "main.tf")
    assert annotations.locations["aws_iam_policy.p"] == (main, 3)
    assert annotations.locations["aws_iam_policy.p[1]"] == (main, 3)
    assert annotations.locations["module.m.aws_iam_user_policy.u"] == (str(tmp_path / "m" / "main.tf"), 1)
    assert annotations.locations["module.m"] == (main, 8)
    [suppression] = annotations.suppressions
    assert suppression.resources == ("aws_iam_policy.p",)
    assert annotations.warnings == ()


def test_annotations_of_a_configuration_that_cannot_be_evaluated_are_still_given(tmp_path):
    write(tmp_path, {"main.tf": f"""
        variable "n" {{
          type = number
        }}

        # sesrego:ignore:SES-001 reviewed
        resource "aws_iam_policy" "p" {{
          count  = var.n - 10
          policy = {POLICY}
        }}
    """})
    options = ReaderOptions(variables=(("n", "1"),))
    assert plan_from_tf([tmp_path], options)[0].error is not None
    annotations = annotations_from_tf(tmp_path, options)
    assert annotations.locations == {"aws_iam_policy.p": (str(tmp_path / "main.tf"), 7)}
    assert [s.reason for s in annotations.suppressions] == ["reviewed"]
    assert "Invalid count argument" in annotations.warnings[0]


def test_annotations_of_a_missing_directory_are_a_warning(tmp_path):
    annotations = annotations_from_tf(tmp_path / "missing")
    assert annotations.locations == {} and annotations.suppressions == ()
    assert "is not a directory" in annotations.warnings[0]

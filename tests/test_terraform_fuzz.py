"""Property-based: any .tf text, however odd, is read into a plan document or one located error.

Hypothesis writes HCL: nested blocks of every kind the reader cares about, expressions with every
operator, references, function calls (real ones with wrong arguments, and unknown ones), for
expressions, templates with directives, heredocs, splats and indexes, plus stray tokens. Whatever
it writes, nothing may raise out of the reader: each root module becomes a JSON-serialisable plan
document, or an InputError whose message is one line naming the file.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("hcl2")

from sesrego.terraform import ReaderOptions, plan_from_tf  # noqa: E402
from sesrego.terraform.functions import FUNCTIONS  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

names = st.sampled_from(["a", "b", "doc", "p", "x", "statement", "count", "each", "if"])
references = st.sampled_from([
    "var.a", "var.missing", "var.list", "local.a", "local.b", "local.self_ref", "count.index", "each.key",
    "each.value", "aws_iam_policy.p.arn", "aws_iam_policy.p[0].policy", "aws_iam_policy.p[*].name",
    "data.aws_iam_policy_document.doc.json", "data.aws_iam_policy_document.doc[0].json", "module.m.out",
    "module.m[0].out", "path.module", "self.x", "terraform.workspace", "local.a.b.c", "var.list[var.a]",
])
literals = st.one_of(
    st.integers(-10, 10).map(str), st.sampled_from(["1e400", "-0.5", "1" + "0" * 30, "true", "false", "null"]),
    st.text(st.sampled_from('ab:*"\\${}%~\n'), max_size=8).map(lambda t: json.dumps(t)),
    st.sampled_from(['"ses:SendEmail"', '"${var.a}-x"', '"%{if var.a}y%{else}n%{endif}"', '"$${x}"',
                     '"%{for x in local.list}${x}%{endfor}"', '"arn:aws:ses:*:${var.a}:identity/*"']),
)
function_names = st.sampled_from(sorted(FUNCTIONS) + ["file", "templatefile", "fileset", "try", "can",
                                                       "nosuch", "provider::aws::x"])


def _compound(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]), inner)
          .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(names, inner), max_size=3).map(
            lambda items: "{" + ", ".join(f"{k} = {v}" for k, v in items) + "}"),
        st.tuples(function_names, st.lists(inner, max_size=3), st.booleans()).map(
            lambda t: f"{t[0]}({', '.join(t[1])}{'...' if t[2] and t[1] else ''})"),
        st.tuples(inner, inner).map(lambda t: f"[for v in {t[0]} : {t[1]}]"),
        st.tuples(inner, inner).map(lambda t: f"{{for k, v in {t[0]} : k => {t[1]}...}}"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
        inner.map(lambda t: f"({t})[*].x"),
        inner.map(lambda t: f"<<-EOT\n  {{\"a\": ${{{t}}}}}\n  EOT\n"),
        inner.map(lambda t: f'jsonencode({{ Statement = [{{ Effect = "Allow", Action = {t}, Resource = "*" }}] }})'),
    )


EXPRESSIONS = st.recursive(st.one_of(literals, references), _compound, max_leaves=8)
ARGUMENT_NAMES = st.sampled_from(["actions", "resources", "test", "variable", "values", "type", "identifiers",
                                  "effect", "sid", "policy", "name", "for_each", "iterator"])


def _block(inner):
    arguments = st.lists(st.tuples(ARGUMENT_NAMES, EXPRESSIONS), max_size=3, unique_by=lambda p: p[0])
    kind = st.sampled_from(["statement", "condition", "principals", "inline_policy", "content", "lifecycle", "x"])
    return st.one_of(
        st.tuples(kind, arguments, inner).map(
            lambda t: f"{t[0]} {{\n" + "".join(f"{k} = {v}\n" for k, v in t[1]) + t[2] + "}\n"),
        st.tuples(st.sampled_from(["statement", "condition", "inline_policy"]), EXPRESSIONS, inner).map(
            lambda t: f'dynamic "{t[0]}" {{\nfor_each = {t[1]}\ncontent {{\n{t[2]}}}\n}}\n'),
    )


NESTED = st.recursive(st.just(""), lambda inner: st.lists(_block(inner), max_size=2).map("".join), max_leaves=4)
TOP_ARGUMENTS = st.lists(st.tuples(st.sampled_from(["policy", "count", "for_each", "name", "content", "type",
                                                    "depends_on", "inline_policy", "source_policy_documents"]),
                                   EXPRESSIONS), max_size=3, unique_by=lambda p: p[0])
TOP_BLOCKS = st.one_of(
    st.tuples(st.sampled_from(['resource "aws_iam_policy" "p"', 'resource "aws_organizations_policy" "scp"',
                               'data "aws_iam_policy_document" "doc"', 'resource "aws_iam_role" "r"',
                               'data "template_file" "t"', 'module "m"', 'output "out"']), TOP_ARGUMENTS, NESTED)
      .map(lambda t: f"{t[0]} {{\n" + "".join(f"  {k} = {v}\n" for k, v in t[1]) + t[2] + "}\n"),
    st.lists(st.tuples(st.sampled_from(["a", "b", "list", "self_ref"]), EXPRESSIONS), max_size=3,
             unique_by=lambda p: p[0]).map(
        lambda items: "locals {\n" + "".join(f"  {k} = {v}\n" for k, v in items) + "}\n"),
    st.sampled_from(['variable "a" {}\n', 'variable "list" {\n  type = list(string)\n  default = ["x"]\n}\n',
                     'module "m" {\n  source = "./m"\n}\n', '# sesrego:ignore:SES-001 because\n',
                     "}", "= =", "locals {\n  self_ref = local.self_ref\n}\n"]),
)


def check(results) -> None:
    assert results
    for result in results:
        if result.error is not None:
            message = result.error.located()
            assert "\n" not in message and message.startswith(result.error.path or ""), message
            assert "internal error" not in message, message
            assert result.plan is None
        else:
            json.dumps(result.plan, allow_nan=False)
            for change in result.plan["resource_changes"]:
                assert isinstance(change["change"]["after"], dict)


@SETTINGS
@given(st.lists(TOP_BLOCKS, min_size=1, max_size=5))
def test_any_configuration_reads_into_a_plan_or_one_located_error(tmp_path_factory, blocks):
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "main.tf").write_text("".join(blocks))
    (directory / "m").mkdir()
    (directory / "m" / "main.tf").write_text('output "out" {\n  value = "o"\n}\n')
    check(plan_from_tf([directory], ReaderOptions(max_eval_steps=20_000, max_value_bytes=50_000)))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False).filter(math.isfinite),
              st.text(st.sampled_from('ab${}%"\\/'), max_size=6),
              st.sampled_from(["${var.a}", "${1 + 1}", "%{if true}x%{endif}", "${[1]}", "$${x}", "${local.b}",
                               "${data.aws_iam_policy_document.doc.json}", "ses:SendEmail", "${count.index}"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["//", "statement", "actions", "resources", "condition",
                                                             "test", "variable", "values", "dynamic", "content",
                                                             "for_each", "count", "policy", "effect", "principals",
                                                             "type", "identifiers", "a"]), inner, max_size=4)),
    max_leaves=20)
JSON_BODIES = st.dictionaries(st.sampled_from(["policy", "count", "for_each", "statement", "dynamic", "name",
                                               "depends_on", "//", "source_policy_documents"]), JSON_VALUES,
                              max_size=4)
JSON_DOCUMENTS = st.one_of(
    st.fixed_dictionaries({}, optional={
        "//": st.sampled_from(["sesrego:ignore:SES-001 why", "x"]),
        "resource": st.fixed_dictionaries({"aws_iam_policy": st.fixed_dictionaries({"p": JSON_BODIES})}),
        "data": st.fixed_dictionaries({"aws_iam_policy_document": st.fixed_dictionaries({"doc": JSON_BODIES})}),
        "locals": st.dictionaries(st.sampled_from(["a", "b"]), JSON_VALUES, max_size=2),
        "variable": st.fixed_dictionaries({"a": st.fixed_dictionaries({}, optional={"default": JSON_VALUES,
                                                                                     "type": st.sampled_from(
                                                                                         ["string", "list(string)",
                                                                                          "bogus("])})}),
        "module": st.fixed_dictionaries({"m": st.fixed_dictionaries({"source": st.sampled_from(["./m", "x/y/z"])})}),
    }),
    JSON_VALUES,
)


@SETTINGS
@given(JSON_DOCUMENTS)
def test_any_tf_json_reads_into_a_plan_or_one_located_error(tmp_path_factory, document):
    directory = tmp_path_factory.mktemp("fuzzjson")
    (directory / "main.tf.json").write_text(json.dumps(document))
    (directory / "m").mkdir()
    (directory / "m" / "main.tf").write_text('output "out" {\n  value = "o"\n}\n')
    check(plan_from_tf([directory], ReaderOptions(max_eval_steps=20_000, max_value_bytes=50_000)))

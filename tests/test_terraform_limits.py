"""Hostile and careless .tf input: one located error for the root module, never a traceback or a hang.

The reader's caps are deterministic (evaluation steps, value sizes, bytes read, block nesting,
module depth), so the tests drive them with small settings; none measures time or memory.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2")

from sesrego.terraform import ReaderOptions, plan_from_tf  # noqa: E402
from sesrego.terraform.options import (  # noqa: E402
    MAX_BLOCK_DEPTH,
    MAX_EVAL_STEPS,
    MAX_EXPRESSION_DEPTH,
    MAX_REFERENCE_DEPTH,
    MAX_VALUE_BYTES,
    MAX_VALUE_DEPTH,
)


def write(directory: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text))
    return directory


def read(directory: Path, options: ReaderOptions = ReaderOptions()):
    results = plan_from_tf([directory], options)
    return {Path(r.path).name: r for r in results} if len(results) > 1 else results[0]


def error(result) -> str:
    assert result.plan is None, "expected an error"
    message = result.error.located()
    assert "\n" not in message and "Traceback" not in message and "internal error" not in message
    return message


POLICY = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })'


# --- count and for_each, as Terraform reports them (the oracle tests compare with terraform itself) ---


@pytest.mark.parametrize(("argument", "problem"), [
    ("count = 1e400", 'value must be a whole number, between -9223372036854775808 and 9223372036854775807'),
    ('count = "nan"', "Incorrect value type: invalid expression value: a number is required"),
    ("count = " + "9" * 5000, "value must be a whole number"),
    ("count = -3", "must be greater than or equal to zero"),
    ("count = 1.5", "value must be a whole number"),
    ("count = null", 'the given "count" argument value is null'),
    ('count = ["1"]', "Incorrect value type"),
    ('for_each = ["a", "b"]', "you have provided a value of type tuple"),
    ("for_each = toset([1])", "a set containing type number"),
    ("for_each = null", "value is null"),
    ("count = local.three\n  for_each = {}", 'Invalid combination of "count" and "for_each"'),
    ("count = 100001", "over sesrego's limit of 10000 instances"),
])
def test_invalid_count_and_for_each_are_errors_never_zero_or_one_instance(tmp_path, argument, problem):
    write(tmp_path, {"bad/main.tf": f"""
        locals {{
          three = 3
        }}

        resource "aws_iam_policy" "p" {{
          {argument}
          policy = {POLICY}
        }}
    """, "good/main.tf": f'resource "aws_iam_policy" "q" {{\n  policy = {POLICY}\n}}\n'})
    results = read(tmp_path)
    message = error(results["bad"])
    line = 8 if "for_each = {}" in argument else 7  # Terraform points at for_each when both are set
    assert message.startswith(f"{tmp_path / 'bad' / 'main.tf'}:{line}: ") and problem in message
    assert [c["address"] for c in results["good"].plan["resource_changes"]] == ["aws_iam_policy.q"]


@pytest.mark.parametrize(("argument", "count"), [
    ('count = "2"', 2), ("count = 2.0", 2), ('count = "1e1"', 10), ("count = 0", 0),
    ('count = length(["a", "b", "c"])', 3),
])
def test_counts_terraform_accepts_expand(tmp_path, argument, count):
    write(tmp_path, {"main.tf": f'resource "aws_iam_policy" "p" {{\n  {argument}\n  policy = "{{}}"\n}}\n'})
    result = read(tmp_path)
    assert [c["address"] for c in result.plan["resource_changes"]] == [f"aws_iam_policy.p[{i}]" for i in range(count)]


def test_an_invalid_count_in_a_module_is_an_error_of_its_root(tmp_path):
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "./m"\n  n = -1\n}\n',
                     "m/main.tf": f'variable "n" {{}}\nresource "aws_iam_policy" "p" {{\n  count = var.n\n'
                                  f"  policy = {POLICY}\n}}\n"})
    assert error(read(tmp_path)).startswith(f"{tmp_path / 'm' / 'main.tf'}:3: Invalid count argument")


# --- caps -----------------------------------------------------------------------------------------


def doubling(levels: int) -> str:
    lines = ['  s0 = "ab"'] + [f'  s{i} = "${{local.s{i - 1}}}${{local.s{i - 1}}}"' for i in range(1, levels + 1)]
    return "locals {\n" + "\n".join(lines) + f'\n}}\nresource "aws_iam_policy" "p" {{\n  policy = local.s{levels}\n}}\n'


def test_string_doubling_stops_at_the_value_cap(tmp_path):
    write(tmp_path, {"main.tf": doubling(40)})
    message = error(read(tmp_path, ReaderOptions(max_value_bytes=10_000)))
    assert "more than 10000 bytes (raise it with --max-value-bytes)" in message
    assert message.startswith(f"{tmp_path / 'main.tf'}:")
    assert "more than" in error(read(tmp_path))  # the default cap stops it too, long before 2**40 bytes
    write(tmp_path, {"main.tf": doubling(5)})
    assert read(tmp_path, ReaderOptions(max_value_bytes=10_000)).plan is not None


def test_a_structure_doubled_by_sharing_is_measured_in_full(tmp_path):
    lines = ['  l0 = ["x"]'] + [f"  l{i} = [local.l{i - 1}, local.l{i - 1}]" for i in range(1, 41)]
    write(tmp_path, {"main.tf": "locals {\n" + "\n".join(lines) + '\n}\nresource "aws_iam_policy" "p" {\n'
                                "  policy = jsonencode(local.l40)\n}\n"})
    assert "--max-value-bytes" in error(read(tmp_path, ReaderOptions(max_value_bytes=100_000)))


def test_nested_for_over_a_large_range_stops_at_the_step_cap(tmp_path):
    write(tmp_path, {"main.tf": """
        locals {
          x = [for i in range(1000) : [for j in range(1000) : [for k in range(1000) : k]]]
        }

        resource "aws_iam_policy" "p" {
          policy = jsonencode(local.x)
        }
    """})
    message = error(read(tmp_path, ReaderOptions(max_eval_steps=50_000)))
    assert "more than 50000 steps (raise it with --max-eval-steps)" in message
    assert message.startswith(f"{tmp_path / 'main.tf'}:")
    write(tmp_path, {"main.tf": 'locals {\n  x = [for i in range(10) : i]\n}\nresource "aws_iam_policy" "p" {\n'
                                "  policy = jsonencode(local.x)\n}\n"})
    assert read(tmp_path, ReaderOptions(max_eval_steps=50_000)).plan is not None


def test_range_refuses_more_than_terraforms_1024_values(tmp_path):
    write(tmp_path, {"main.tf": 'resource "aws_iam_policy" "p" {\n  name   = length(range(1024))\n'
                                '  policy = jsonencode(range(100000))\n}\n'})
    change = read(tmp_path).plan["resource_changes"][0]
    assert change["change"]["after"]["name"] == 1024
    assert "more than 1024 values" in change["sesrego"]["explain"][change["sesrego"]["unresolved"]["policy"]]


def test_a_large_heredoc_is_read_in_linear_cost_and_obeys_the_value_cap(tmp_path):
    body = ("a" * 99 + "\n") * 20_000  # 2 MB
    write(tmp_path, {"main.tf": f'resource "aws_iam_policy" "p" {{\n  policy = <<EOT\n{body}EOT\n}}\n'})
    assert read(tmp_path).plan["resource_changes"][0]["change"]["after"]["policy"] == body
    assert "--max-value-bytes" in error(read(tmp_path, ReaderOptions(max_value_bytes=1_000_000)))


def test_files_obey_the_byte_limit_while_they_are_read(tmp_path):
    write(tmp_path, {"main.tf": 'resource "aws_iam_policy" "p" {\n  policy = "' + "x" * 5000 + '"\n}\n'})
    assert f"{tmp_path / 'main.tf'}: file is larger than 1000 bytes" in error(
        read(tmp_path, ReaderOptions(max_input_bytes=1000)))
    assert read(tmp_path, ReaderOptions(max_input_bytes=10_000)).plan is not None


def test_the_default_caps_are_far_above_what_real_configurations_use():
    assert MAX_EVAL_STEPS >= 1_000_000 and MAX_VALUE_BYTES >= 8 * 2 ** 20


# --- structure --------------------------------------------------------------------------------------


def test_deeply_nested_blocks_are_refused_with_their_line(tmp_path):
    depth = 600
    write(tmp_path, {"main.tf": 'resource "aws_iam_role" "r" {\n' + "x {\n" * depth + "}\n" * depth + "}\n"})
    message = error(read(tmp_path))
    assert message == f"{tmp_path / 'main.tf'}:{MAX_BLOCK_DEPTH + 1}: blocks nested more than {MAX_BLOCK_DEPTH} deep"


def nested(kind: str, depth: int) -> str:
    """An expression ``depth`` levels deep whose value is 1 (or holds it)."""
    opening, closing = {"paren": ("(", ")"), "tuple": ("[", "]"), "object": ("{a = ", "}"),
                        "call": ("abs(", ")"), "template": ('"${', '}"')}[kind]
    return opening * depth + "1" + closing * depth


@pytest.mark.parametrize("kind", ["paren", "tuple", "object", "call", "template"])
def test_expressions_nested_beyond_the_cap_are_one_located_error(tmp_path, kind):
    write(tmp_path, {"bad/main.tf": f"locals {{\n  x = {nested(kind, MAX_EXPRESSION_DEPTH + 1)}\n}}\n",
                     "good/main.tf": f'resource "aws_iam_policy" "q" {{\n  policy = {POLICY}\n}}\n'})
    results = read(tmp_path)
    message = error(results["bad"])
    assert message.startswith(f"{tmp_path / 'bad' / 'main.tf'}:2:")
    assert message.endswith(f"an expression nested more than {MAX_EXPRESSION_DEPTH} deep")
    assert results["good"].plan is not None


@pytest.mark.parametrize("kind", ["paren", "tuple", "object", "call", "template"])
def test_expressions_nested_up_to_the_cap_are_evaluated(tmp_path, kind):
    depth = MAX_EXPRESSION_DEPTH - 2
    write(tmp_path, {"main.tf": f'resource "aws_iam_policy" "p" {{\n  name   = jsonencode({nested(kind, depth)})\n'
                                f"  policy = {POLICY}\n}}\n"})
    expected = {"tuple": "[" * depth + "1" + "]" * depth, "object": '{"a":' * depth + "1" + "}" * depth}
    name = read(tmp_path).plan["resource_changes"][0]["change"]["after"]["name"]
    assert name == expected.get(kind, "1")  # a lone interpolation keeps its value's type


def test_a_nested_expression_in_a_tfvars_file_is_a_located_error(tmp_path):
    write(tmp_path, {"main.tf": 'variable "v" {}\n',
                     "terraform.tfvars": f"v = {nested('tuple', MAX_EXPRESSION_DEPTH + 1)}\n"})
    assert error(read(tmp_path)).startswith(f"{tmp_path / 'terraform.tfvars'}:1:")


def test_references_nested_beyond_the_cap_are_a_located_error_and_below_it_evaluate(tmp_path):
    def chain(length: int) -> str:
        lines = ['  l0 = "x"'] + [f"  l{i} = local.l{i - 1}" for i in range(1, length)]
        return ("locals {\n" + "\n".join(lines) +
                f'\n}}\nresource "aws_iam_policy" "p" {{\n  name = local.l{length - 1}\n}}\n')

    write(tmp_path, {"long/main.tf": chain(MAX_REFERENCE_DEPTH + 10), "short/main.tf": chain(MAX_REFERENCE_DEPTH - 10)})
    results = read(tmp_path)
    message = error(results["long"])
    assert message.startswith(f"{tmp_path / 'long' / 'main.tf'}:")
    assert f"references nested more than {MAX_REFERENCE_DEPTH} deep" in message
    assert results["short"].plan["resource_changes"][0]["change"]["after"]["name"] == "x"


def test_a_long_chain_of_operators_is_evaluated(tmp_path):
    write(tmp_path, {"main.tf": 'resource "aws_iam_policy" "p" {\n  name = ' + " + ".join(["1"] * 3000) + "\n}\n"})
    assert read(tmp_path).plan["resource_changes"][0]["change"]["after"]["name"] == 3000


def test_a_value_nested_beyond_the_cap_is_a_located_error_and_below_it_is_kept(tmp_path):
    def decoded(depth: int) -> str:
        text = "[" * depth + "1" + "]" * depth
        return f'resource "aws_iam_policy" "p" {{\n  name = jsonencode(jsondecode("{text}"))\n}}\n'

    write(tmp_path, {"deep/main.tf": decoded(MAX_VALUE_DEPTH + 1), "ok/main.tf": decoded(MAX_VALUE_DEPTH - 10)})
    results = read(tmp_path)
    assert error(results["deep"]) == (f"{tmp_path / 'deep' / 'main.tf'}:2: an expression builds a value nested more "
                                      f"than {MAX_VALUE_DEPTH} deep")
    name = results["ok"].plan["resource_changes"][0]["change"]["after"]["name"]
    assert name == "[" * (MAX_VALUE_DEPTH - 10) + "1" + "]" * (MAX_VALUE_DEPTH - 10)


def test_deeply_nested_json_is_refused_with_its_line(tmp_path):
    write(tmp_path, {"main.tf.json": '{"locals": {"x": ' + "[" * 500 + "]" * 500 + "}}"})
    assert "nested more than 200 deep" in error(read(tmp_path))


@pytest.mark.parametrize("files", [
    {"main.tf": 'module "me" {\n  source = "./"\n  count  = 0\n}\n'},
    {"main.tf": 'module "a" {\n  source = "./a"\n}\n', "a/main.tf": 'module "back" {\n  source = "../"\n'
                                                                    "  count  = 0\n}\n"},
])
def test_a_module_calling_itself_is_an_error_even_with_count_zero(tmp_path, files):
    write(tmp_path, files)
    results = plan_from_tf([tmp_path / "main.tf"])
    assert "a module cannot call itself" in error(results[0])


def test_module_nesting_has_a_depth_limit(tmp_path):
    for level in range(40):
        write(tmp_path, {f"m{level}/main.tf": f'module "next" {{\n  source = "../m{level + 1}"\n}}\n'})
    write(tmp_path, {"m40/main.tf": 'resource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n'})
    [result] = plan_from_tf([tmp_path / "m0" / "main.tf"])
    assert "modules nested more than 32 deep" in error(result)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    write(tmp_path, {"main.tf": b'\xef\xbb\xbfresource "aws_iam_policy" "p" {\n  policy = "{}"\n}\n',
                     "b.tf.json": b'\xef\xbb\xbf{"locals": {"x": 1}}'})
    assert read(tmp_path).plan["resource_changes"][0]["change"]["after"] == {"policy": "{}"}


def test_text_that_is_not_utf8_is_an_error_with_its_line(tmp_path):
    write(tmp_path, {"main.tf": b'locals {\n  a = 1\n  b = "\xff"\n}\n'})
    assert error(read(tmp_path)) == f"{tmp_path / 'main.tf'}:3:8: not UTF-8 text"


@pytest.mark.parametrize(("block", "argument"), [
    ('condition {\n      variable = "ses:Recipients"\n      values   = ["*@example.com"]\n    }', "test"),
    ('condition {\n      test   = "StringLike"\n      values = ["x"]\n    }', "variable"),
    ('principals {\n      identifiers = ["*"]\n    }', "type"),
    ('not_principals {\n      type = "AWS"\n    }', "identifiers"),
    ('dynamic "condition" {\n      for_each = [1]\n      content {\n        test = "StringLike"\n'
     '        variable = "ses:Recipients"\n      }\n    }', "values"),
])
def test_a_policy_document_block_without_a_required_argument_is_an_error_naming_its_line(tmp_path, block,
                                                                                        argument):
    write(tmp_path, {"main.tf": f"""
        data "aws_iam_policy_document" "doc" {{
          count = 0
          statement {{
            actions   = ["ses:SendEmail"]
            resources = ["*"]
            {block}
          }}
        }}
    """})
    message = error(read(tmp_path))
    assert f'needs "{argument}"' in message and message.startswith(f"{tmp_path / 'main.tf'}:")
    line = int(message.split(":")[1])
    assert (tmp_path / "main.tf").read_text().splitlines()[line - 1].strip().split()[0] in (
        "condition", "principals", "not_principals", "content")


def test_a_complete_policy_document_block_is_no_error(tmp_path):
    write(tmp_path, {"main.tf": """
        data "aws_iam_policy_document" "doc" {
          statement {
            actions   = ["ses:SendEmail"]
            resources = ["*"]
            condition {
              test     = "ForAllValues:StringLike"
              variable = "ses:Recipients"
              values   = ["*@example.com"]
            }
            principals {
              type        = "AWS"
              identifiers = ["*"]
            }
          }
        }
    """})
    assert read(tmp_path).error is None


def test_regular_expressions_never_backtrack(tmp_path):
    write(tmp_path, {"main.tf": f"""
        resource "aws_iam_policy" "p" {{
          name   = replace("{'a' * 5000}b", "/(a+)+$/", "x")
          policy = replace("ses:Send", "/(?=S)/", "x")
        }}
    """})
    change = read(tmp_path).plan["resource_changes"][0]
    assert change["change"]["after"]["name"] == "a" * 5000 + "b"
    assert "invalid regular expression" in change["sesrego"]["explain"][change["sesrego"]["unresolved"]["policy"]]


def test_one_root_failing_does_not_hide_the_others(tmp_path):
    write(tmp_path, {"a/main.tf": "locals {\n  x = \n}\n", "b/main.tf": doubling(40),
                     "c/main.tf": 'resource "aws_iam_policy" "p" {\n  count = -1\n}\n',
                     "d/main.tf": f'resource "aws_iam_policy" "ok" {{\n  policy = {POLICY}\n}}\n'})
    results = read(tmp_path, ReaderOptions(max_value_bytes=10_000))
    assert all(results[name].plan is None for name in "abc")
    assert [c["address"] for c in results["d"].plan["resource_changes"]] == ["aws_iam_policy.ok"]


# --- files and directories that cannot be read ------------------------------------------------------


GOOD = f'resource "aws_iam_policy" "q" {{\n  policy = {POLICY}\n}}\n'


def broken(directory: Path, kind: str) -> str:
    """Make ``directory/main.tf`` unreadable in one way; the problem the reader must name."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "main.tf"
    if kind == "dangling link":
        target.symlink_to(directory / "missing.tf")
        return "cannot read: a symbolic link to nothing"
    if kind == "link loop":
        target.symlink_to(target)
        return "cannot read: a loop of symbolic links"
    if kind == "fifo":
        os.mkfifo(target)
        return "cannot read: not a regular file (a FIFO, device or socket)"
    if kind == "link to a directory":
        (directory / "elsewhere").mkdir()
        target.symlink_to(directory / "elsewhere")
        return "cannot read: not a regular file (a directory)"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["dangling link", "link loop", "fifo", "link to a directory"])
def test_a_configuration_file_that_cannot_be_read_is_a_located_error_and_never_waits(tmp_path, kind):
    if kind == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no FIFOs")
    problem = broken(tmp_path / "bad", kind)
    write(tmp_path, {"good/main.tf": GOOD, "bad/other.tf": GOOD.replace('"q"', '"r"')})
    results = read(tmp_path)
    assert error(results["bad"]) == f"{tmp_path / 'bad' / 'main.tf'}: {problem}"
    assert [c["address"] for c in results["good"].plan["resource_changes"]] == ["aws_iam_policy.q"]
    [single] = plan_from_tf([tmp_path / "bad" / "other.tf"])  # its module's context holds the broken file
    assert error(single) == f"{tmp_path / 'bad' / 'main.tf'}: {problem}"


def test_a_real_directory_with_a_configuration_name_is_not_a_file(tmp_path):
    write(tmp_path, {"main.tf": GOOD, "extra.tf/inner.txt": "not configuration"})
    assert [c["address"] for c in read(tmp_path).plan["resource_changes"]] == ["aws_iam_policy.q"]


@pytest.mark.parametrize(("source", "problem"), [
    ("./main.tf", "is a file, not a module directory"),
    ("./missing", "does not exist"),
    ("./empty", "has no .tf or .tf.json files"),
    ("./loop", "cannot be read: a loop of symbolic links"),
    ("./dangling", "cannot be read: a symbolic link to nothing"),
])
def test_a_module_source_that_cannot_be_read_is_a_located_error(tmp_path, source, problem):
    write(tmp_path, {"root/main.tf": f'module "m" {{\n  source = "{source}"\n}}\n', "root/empty/README": "",
                     "good/main.tf": GOOD})
    (tmp_path / "root" / "loop").symlink_to(tmp_path / "root" / "loop")
    (tmp_path / "root" / "dangling").symlink_to(tmp_path / "root" / "nothing")
    results = read(tmp_path)
    target = os.path.normpath(tmp_path / "root" / source)
    assert error(results["root"]) == f'{tmp_path / "root" / "main.tf"}:1: module "m": its source {target} {problem}'
    assert results["good"].plan is not None


def test_a_module_source_through_a_link_loop_never_raises(tmp_path):
    write(tmp_path, {"main.tf": 'module "m" {\n  source = "./self/x"\n}\n'})
    (tmp_path / "self").symlink_to(tmp_path / "self")
    [result] = plan_from_tf([tmp_path])
    assert "a loop of symbolic links" in error(result)


def test_permission_denied_is_a_located_error_for_that_file_or_directory(tmp_path, monkeypatch):
    write(tmp_path, {"secret/main.tf": GOOD, "hidden/sub/main.tf": GOOD, "good/main.tf": GOOD})
    real_open, real_scandir = os.open, os.scandir

    def denied_open(path, *args, **kwargs):
        if str(path).endswith(os.path.join("secret", "main.tf")):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def denied_scandir(path="."):
        if str(path).endswith("hidden"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", denied_open)
    monkeypatch.setattr(os, "scandir", denied_scandir)
    results = read(tmp_path)
    assert error(results["secret"]) == f"{tmp_path / 'secret' / 'main.tf'}: cannot read: Permission denied"
    assert error(results["hidden"]) == f"{tmp_path / 'hidden'}: cannot read the directory: Permission denied"
    assert results["good"].plan is not None


def test_file_functions_never_wait_on_a_fifo_and_say_why(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no FIFOs")
    write(tmp_path, {"main.tf": 'resource "aws_iam_policy" "p" {\n  policy = file("${path.module}/policy.json")\n}\n'})
    os.mkfifo(tmp_path / "policy.json")
    change = read(tmp_path).plan["resource_changes"][0]
    why = change["sesrego"]["explain"][change["sesrego"]["unresolved"]["policy"]]
    assert "not a regular file" in why


def test_an_unexpected_failure_on_one_path_is_one_line_and_the_other_paths_are_read(tmp_path, monkeypatch):
    from sesrego.terraform import reader

    write(tmp_path, {"bad/main.tf": GOOD, "good/main.tf": GOOD})
    real = reader.root_directories

    def explode(path, loader):
        if path.name == "bad":
            raise RuntimeError("something nobody expected")
        return real(path, loader)

    monkeypatch.setattr(reader, "root_directories", explode)
    bad, good = plan_from_tf([tmp_path / "bad", tmp_path / "good"])
    message = bad.error.located()
    assert message.startswith(f"{tmp_path / 'bad'}: internal error") and "RuntimeError" in message
    assert "\n" not in message and good.plan is not None


@pytest.mark.parametrize("expression", [
    'format("%999999999s", "a")', 'format("%0999999999d", 1)', 'format("%.999999999d", 1)',
    'format("%.999999999f", 1.5)', 'indent(999999999, "a\\nb")',
])
def test_a_function_asked_for_a_huge_result_stops_at_the_value_cap(tmp_path, expression):
    write(tmp_path, {"main.tf": f'resource "aws_iam_policy" "p" {{\n  name = {expression}\n}}\n'})
    assert "--max-value-bytes" in error(read(tmp_path, ReaderOptions(max_value_bytes=10_000)))


def test_readers_running_at_once_leave_the_recursion_limit_as_they_found_it(tmp_path):
    import sys
    import threading

    write(tmp_path, {"main.tf": 'resource "aws_iam_policy" "p" {\n  name = ' + " + ".join(["1"] * 2000) + "\n}\n"})
    before, names = sys.getrecursionlimit(), []
    threads = [threading.Thread(target=lambda: names.append(
        read(tmp_path).plan["resource_changes"][0]["change"]["after"]["name"])) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names == [2000] * 3 and sys.getrecursionlimit() == before

"""Reading scan inputs: bounded while reading, any encoding Terraform users produce, and knowing
what the input is. Every hostile input is exit status 2 with one line naming it, and the other
inputs of the run are still reported."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import threading
import zipfile

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, identity, plan, resource
from sesrego.cli import cli
from sesrego.plan import PLAN_COMMAND, Limits, plan_parts, read_input
from sesrego.scanner import ScanOptions, scan

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

SEND = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}


#: A plan of a few hundred bytes with one SES-001 warning: the other input of each run.
APP = str(FIXTURES / "plans" / "one-warning.json")


def run(*args, **kwargs):
    return CliRunner().invoke(cli, ["scan", "-j", "1", "--format", "json", *map(str, args)], **kwargs)


def inputs(result) -> dict:
    return {i["path"]: i for i in json.loads(result.stdout)["inputs"]}


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def one_failed_input(result, path, *words):
    """The run exits 2; ``path`` failed with one line holding ``words``; APP was still scanned."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    found = inputs(result)
    assert found[str(APP)]["findings"] == 1 and found[str(APP)]["error"] is None
    error = found[str(path)]["error"]
    assert error.startswith(f"{path}:") and "\n" not in error
    for word in words:
        assert word in error, error
    assert error_lines(result) == [f"error: {error}"]


# --- bounded reading ----------------------------------------------------------------------------


def test_a_character_device_stops_at_the_limit():
    result = run("/dev/zero", APP, "--max-input-bytes", 1024)
    one_failed_input(result, "/dev/zero", "more than 1024 bytes", "--max-input-bytes")


def test_an_endless_stdin_stops_at_the_limit():
    with open("/dev/zero", "rb") as zero:  # endless: only a bounded read can finish
        proc = subprocess.run([sys.executable, "-m", "sesrego", "scan", "-", APP, "-j", "1", "--format", "json",
                               "--max-input-bytes", "1024"], stdin=zero, capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    assert "more than 1024 bytes" in document["inputs"][0]["error"]
    assert document["inputs"][1]["findings"] == 1


def test_stdin_under_the_limit_is_scanned():
    result = run("-", input=open(APP, "rb").read())
    assert result.exit_code == 0 and inputs(result)["-"]["findings"] == 1


def test_a_large_regular_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 5000)
    result = run(big, APP, "--max-input-bytes", 1000)
    one_failed_input(result, big, "5000 bytes", "over the limit of 1000")


def _fifo(tmp_path, name="plan.fifo"):
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_a_fifo_is_read_like_a_file(tmp_path):
    fifo = _fifo(tmp_path)
    writer = threading.Thread(target=lambda: fifo.write_bytes(open(APP, "rb").read()))
    writer.start()
    result = run(fifo, "--max-input-bytes", 10_000_000)
    writer.join()
    assert result.exit_code == 0, result.output
    assert inputs(result)[str(fifo)]["findings"] == 1


def test_a_pipe_given_as_dev_fd_is_read(tmp_path):
    read_end, write_end = os.pipe()  # what <(terraform show -json tfplan) hands the command
    writer = threading.Thread(target=lambda: (os.write(write_end, open(APP, "rb").read()), os.close(write_end)))
    writer.start()
    try:
        result = run(f"/dev/fd/{read_end}")
    finally:
        writer.join()
        os.close(read_end)
    assert result.exit_code == 0, result.output
    assert inputs(result)[f"/dev/fd/{read_end}"]["findings"] == 1


def test_a_fifo_nobody_writes_is_an_input_error_not_a_hang(tmp_path):
    fifo = _fifo(tmp_path)
    result = run(fifo, APP, "--input-timeout", "0.2")
    one_failed_input(result, fifo, "no program opened this FIFO", "--input-timeout")


def test_a_fifo_over_the_limit_is_cut_off(tmp_path):
    fifo = _fifo(tmp_path)

    def endless():
        try:
            with open(fifo, "wb") as handle:
                while True:
                    handle.write(b" " * 65536)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=endless)
    writer.start()
    result = run(fifo, APP, "--max-input-bytes", 100_000)
    writer.join()
    one_failed_input(result, fifo, "more than 100000 bytes")


def test_read_input_refuses_a_directory(tmp_path):
    with pytest.raises(Exception, match="is a directory"):
        read_input(str(tmp_path), Limits())


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [
    lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),  # Notepad's UTF-8
    lambda text: text.encode("utf-16"),  # PowerShell's > (UTF-16 LE with a byte-order mark)
    lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
], ids=["utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"])
def test_plans_with_a_byte_order_mark_are_scanned(tmp_path, encode):
    path = tmp_path / "plan.json"
    path.write_bytes(encode(open(APP, encoding="utf-8").read()))
    result = run(path)
    assert result.exit_code == 0, result.output
    assert inputs(result)[str(path)]["findings"] == 1


@pytest.mark.parametrize("encode,words", [
    (lambda text: text.encode("utf-16-le"), "UTF-16 or UTF-32 without a byte-order mark"),
    (lambda text: text.encode("utf-32"), "UTF-32"),
    (lambda text: text.replace("aws_iam_policy.other", "aws_iam_policy.\u00e9").encode("latin-1"), "not UTF-8"),
    (lambda text: codecs.BOM_UTF16_LE + b"\x00\xd8", "not UTF-16 text"),
], ids=["utf-16-no-bom", "utf-32", "latin-1", "broken-utf-16"])
def test_other_encodings_are_an_error_naming_the_file(tmp_path, encode, words):
    path = tmp_path / "plan.json"
    path.write_bytes(encode(open(APP, encoding="utf-8").read()))
    one_failed_input(run(path, APP), path, words)


# --- numbers ----------------------------------------------------------------------------------------


def _huge_numbers_plan(tmp_path):
    document = plan(identity("aws_iam_policy.p", SEND), *(identity(f"aws_iam_policy.q{i}", SEND) for i in range(6)))
    document["variables"] = {"big": {"value": "BIG"}, "long": {"value": "LONG"}, "small": {"value": "SMALL"}}
    text = json.dumps(document).replace('"BIG"', "1e400").replace('"LONG"', "1" + "0" * 5000)
    text = text.replace('"SMALL"', "0.1000000000000000055511151231257827")
    path = tmp_path / "huge.json"
    path.write_text(text)
    return path


def test_a_plan_with_huge_numbers_scans_alike_whole_and_in_parts(tmp_path, compiled):
    program, tree = compiled
    path = _huge_numbers_plan(tmp_path)
    whole = scan([str(path)], program, tree, ScanOptions(jobs=1))
    split = scan([str(path)], program, tree, ScanOptions(jobs=2, split_bytes=1))
    assert whole.exit_status == split.exit_status == 0
    assert whole.inputs == split.inputs and len(whole.findings) == 7 and whole.inputs[0].policies == 7


def test_cli_exit_status_and_findings_agree_with_one_and_two_jobs(tmp_path):
    path = _huge_numbers_plan(tmp_path)
    one = CliRunner().invoke(cli, ["scan", "-j", "1", "--format", "json", str(path)])
    two = CliRunner().invoke(cli, ["scan", "-j", "2", "--format", "json", str(path)])
    assert one.exit_code == two.exit_code == 0, one.output + two.output
    assert json.loads(one.stdout)["findings"] == json.loads(two.stdout)["findings"] != []


def test_parts_keep_every_number_as_written(tmp_path):
    text = _huge_numbers_plan(tmp_path).read_bytes()
    for part in plan_parts(text, "huge.json", 3):
        assert b"1e400" in part and b"1" + b"0" * 5000 in part and b"0.1000000000000000055511151231257827" in part
        assert b"Infinity" not in part


def test_nan_in_a_plan_is_an_error(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(plan()).replace('"applyable": true', '"applyable": NaN'))
    one_failed_input(run(path, APP), path, "NaN is not a JSON number")


# --- what the input is ----------------------------------------------------------------------------------


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _zip(*names):
    import io

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name in names:
            archive.writestr(name, b"\x00\x01")
    return raw.getvalue()


STREAM = "\n".join(json.dumps(line) for line in [
    {"@level": "info", "@message": "Terraform 1.11.4", "@module": "terraform.ui", "@timestamp": "2025-01-01T00:00:00Z",
     "terraform": "1.11.4", "type": "version", "ui": "1.2"},
    {"@level": "info", "@message": "Plan: 1 to add, 0 to change, 0 to destroy.", "@module": "terraform.ui",
     "type": "change_summary"}]) + "\n"
SHOW_TEXT = """
Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create

Terraform will perform the following actions:

  # aws_iam_policy.p will be created
  + resource "aws_iam_policy" "p" {
      + policy = jsonencode({})
    }

Plan: 1 to add, 0 to change, 0 to destroy.
"""


@pytest.mark.parametrize("name,content,words", [
    ("state.json", json.dumps({"format_version": "1.0", "terraform_version": "1.11.4", "values": {
        "root_module": {"resources": []}}}), ["Terraform state", PLAN_COMMAND]),
    ("empty-state.json", '{"format_version":"1.0"}', ["Terraform state", PLAN_COMMAND]),
    ("stream.json", STREAM, ["`terraform plan -json` log stream", PLAN_COMMAND]),
    ("one-line.json", STREAM.split("\n")[0], ["`terraform plan -json` log stream", PLAN_COMMAND]),
    ("show.txt", SHOW_TEXT, ["text output of `terraform show`", PLAN_COMMAND]),
    ("coloured.txt", "\x1b[1mTerraform will perform the following actions:\x1b[0m\n", ["text output"]),
    ("tfplan", _zip("tfplan", "tfstate", "tfconfig/modules.json"), ["binary Terraform plan file",
                                                                     "terraform show -json "]),
    ("other.zip", _zip("readme.txt"), ["zip archive"]),
    ("variables.json", json.dumps({"format_version": "1.2", "variables": {}}),
     ["neither resource_changes nor planned_values"]),
    ("list.json", "[]", ["expected a JSON object"]),
    ("empty.json", "", ["empty file"]),
    ("typo.json", '{"format_version": "1.2", "resource_changes": [}', ["not valid JSON"]),
])
def test_other_terraform_output_is_recognised_with_the_command_to_run(tmp_path, name, content, words):
    path = _write(tmp_path, name, content)
    result = run(path, APP)
    one_failed_input(result, path, *words)
    if name == "tfplan":
        assert f"terraform show -json {path} > plan.json" in inputs(result)[str(path)]["error"]


def test_a_plan_without_changes_is_a_plan(tmp_path):
    path = _write(tmp_path, "nothing.json", json.dumps({"format_version": "1.2", "terraform_version": "1.11.4",
                                                         "planned_values": {"root_module": {}}}))
    result = run(path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["policies_checked"] == 0


# --- what was checked -------------------------------------------------------------------------------------


def test_the_summary_says_how_many_policies_were_checked_and_how_many_unverifiable(tmp_path):
    path = _write(tmp_path, "plan.json", json.dumps(plan(
        identity("aws_iam_policy.p", SEND),
        resource("aws_iam_policy.unknown", "aws_iam_policy", {}, unknown={"policy": True}),
        resource("aws_iam_role.r", "aws_iam_role", {"inline_policy": [
            {"name": "a", "policy": json.dumps({"Statement": [SEND]})}, {"name": "b", "policy": "{"}]}),
        resource("aws_iam_policy.gone", "aws_iam_policy", {"policy": "{}"}, actions=("delete",)))))
    document = json.loads(run(path, APP).stdout)
    assert document["summary"]["policies_checked"] == 5 and document["summary"]["unverifiable"] == 2
    assert inputs(run(path))[str(path)]["policies_checked"] == 4
    table = CliRunner().invoke(cli, ["scan", "-j", "1", str(path), APP]).stdout
    assert table.splitlines()[-1] == "5 warn. 5 policies checked in 2 inputs, 2 unverifiable"


def test_every_policy_attribute_is_held_to_the_policy_limit(tmp_path):
    long_policy = json.dumps({"Statement": [SEND], "Padding": "x" * 2000})
    path = _write(tmp_path, "inline.json", json.dumps(plan(resource("aws_iam_role.r", "aws_iam_role", {
        "inline_policy": [{"name": "a", "policy": long_policy}]}))))
    one_failed_input(run(path, APP, "--max-policy-chars", 1000), path, "aws_iam_role.r.inline_policy[0].policy",
                     "--max-policy-chars")
    assert run(path, "--max-policy-chars", 5000).exit_code == 0


def test_the_report_never_replaces_an_input(tmp_path):
    path = tmp_path / "plan.json"
    path.write_bytes(open(APP, "rb").read())
    result = CliRunner().invoke(cli, ["scan", str(path), "-o", str(path)])
    assert result.exit_code == 2 and "is also an input of this scan" in result.stderr
    assert path.read_bytes() == open(APP, "rb").read()


# --- .tf inputs ------------------------------------------------------------------------------------------------


def test_tf_policies_are_held_to_the_policy_limit(tmp_path):
    pytest.importorskip("hcl2")
    example = ROOT / "terraform_examples" / "app-role-sends-mail"
    result = run(example, APP, "--max-policy-chars", 100)
    assert result.exit_code == 2, result.output
    found = inputs(result)
    [tf] = [entry for path, entry in found.items() if path != APP]
    assert "over the limit of 100" in tf["error"] and "--max-policy-chars" in tf["error"]
    assert found[APP]["findings"] == 1
    assert run(example).exit_code == 0


def test_the_readers_options_carry_the_input_limit(tmp_path, monkeypatch):
    """Where the reader takes ReaderOptions (contract 2), the scan hands it --max-input-bytes."""
    import dataclasses

    import sesrego.terraform as terraform

    @dataclasses.dataclass(frozen=True)
    class ReaderOptions:
        variables: tuple = ()
        var_files: tuple = ()
        environ: dict = dataclasses.field(default_factory=dict)
        max_eval_steps: int = 1
        max_value_bytes: int = 1
        max_input_bytes: int = 1

    seen = []

    def plan_from_tf(paths, options=ReaderOptions()):
        seen.append(options)
        return []

    monkeypatch.setattr(terraform, "ReaderOptions", ReaderOptions, raising=False)
    monkeypatch.setattr(terraform, "plan_from_tf", plan_from_tf)
    (tmp_path / "main.tf").write_text("\n")
    monkeypatch.setenv("TF_VAR_region", "eu-west-1")
    run(tmp_path, "--max-input-bytes", 4321)
    assert [options.max_input_bytes for options in seen] == [4321]
    assert seen[0].environ["TF_VAR_region"] == "eu-west-1"

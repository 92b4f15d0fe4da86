"""Nothing from an input reaches the output unescaped: not the generated Rego, not a terminal,
not a log. Hostile file names and texts are tried everywhere they can appear."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, identity, plan
from sesrego.cli import cli
from sesrego.compiler import compile_tree
from sesrego.engine import Engine, data_document
from sesrego.sources import DEFAULT_CATALOGS, DEFAULT_GUIDANCE

OTHER = str(FIXTURES / "plans" / "one-warning.json")
SEND = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

HOSTILE_NAMES = [
    "ses-v2\npackage evil\nimport rego.v1\ndeny contains \"pwned\" if true\n#.md",
    "ses-v2\r\ndeny contains 1 if true.md",
    "ses-v2\u2028x\u0085y.md",
    "ses-v2\x1b[2J\x07.md",
]


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def _code(text: str) -> list[str]:
    """A Rego file's lines that are not comments."""
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["rego-injection", "crlf", "unicode-breaks", "escape-bell"])
def test_a_hostile_source_file_name_cannot_change_the_generated_rego(tmp_path, compiled, name):
    _, clean = compiled
    hostile = tmp_path / name
    v2 = next(path for path in DEFAULT_CATALOGS if path.name == "ses-v2.md")
    hostile.write_bytes(v2.read_bytes())
    catalogs = [hostile if path == v2 else path for path in DEFAULT_CATALOGS]
    program, tree = compile_tree(catalogs, DEFAULT_GUIDANCE)
    assert set(tree.files) == set(clean.files)
    for path, body in tree.files.items():
        text = body.decode()
        assert _code(text) == _code(clean.files[path].decode()), path  # only the header comment differs
        assert not CONTROL.search(text.replace("\t", "").replace("\n", "")), path
        assert "\u2028" not in text and "\x85" not in text
    packages = {line.split()[1] for body in tree.files.values() for line in body.decode().splitlines()
                if line.startswith("package ")}
    assert "evil" not in packages
    # The bundle records the source under a safe name, which sesrego can read back.
    out = tmp_path / "b.tar.gz"
    result = run("bundle", "-o", out, *sum((["--catalog", p] for p in catalogs), []))
    assert result.exit_code == 0, result.output
    inspected = run("bundle", "inspect", out)
    assert inspected.exit_code == 0 and "\x1b" not in inspected.stdout and "\x00" not in inspected.stdout
    assert any(re.fullmatch(r"sesrego/sources/catalogs/[A-Za-z0-9._-]+\.md", n)
               for n in json.loads(run("bundle", "inspect", out, "-f", "json").stdout)["other_files"]
               for n in [n["file"]])


def test_hostile_catalog_titles_and_guidance_text_stay_data(tmp_path):
    v2 = next(path for path in DEFAULT_CATALOGS if path.name == "ses-v2.md")
    text = v2.read_text().replace("title: Amazon Simple Email Service v2",
                                  'title: Amazon Simple Email Service v2 "}\\n\x1b[2J package evil', 1)
    evil = tmp_path / "ses-v2.md"
    evil.write_text(text)
    program, tree = compile_tree([evil if p == v2 else p for p in DEFAULT_CATALOGS], DEFAULT_GUIDANCE)
    assert not any("package evil" in line for body in tree.files.values() for line in _code(body.decode()))
    engine = Engine(tree.files, data_document(tree.facts))  # every module still compiles
    findings = engine.evaluate("sesrego.findings", plan(identity("aws_iam_policy.p", SEND)))
    assert [f["rule_id"] for f in findings] == ["SES-001"]


# --- terminals and logs -------------------------------------------------------------------------------


def _bad_plan(directory, name: str | bytes) -> str:
    path = os.path.join(os.fsencode(directory), os.fsencode(name))
    with open(path, "wb") as handle:
        handle.write(b"{not json")
    return os.fsdecode(path)


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "github", "junit"])
def test_control_characters_in_file_names_are_escaped_in_every_format(tmp_path, fmt):
    name = _bad_plan(tmp_path, "evil\x1b]0;pwned\x07\x1b[2J.json")
    result = run("scan", "-j", "1", "--format", fmt, name, OTHER)
    assert result.exit_code == 2
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\x00" not in stream
    assert "\\x1b]0;pwned\\x07" in result.stderr
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)
    if fmt == "junit":
        ET.fromstring(result.stdout)


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "github", "junit"])
def test_non_utf8_file_names_are_reported_in_every_format(tmp_path, fmt):
    bad = _bad_plan(os.fsencode(tmp_path), b"plan-\xff\xfe.json")
    good = os.path.join(os.fsencode(tmp_path), b"ok-\xe9.json")
    with open(good, "wb") as handle:
        handle.write(json.dumps(plan(identity("aws_iam_policy.p", SEND))).encode())
    result = run("scan", "-j", "1", "--format", fmt, bad, os.fsdecode(good))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "\\xff\\xfe" in result.output
    if fmt == "json":
        document = json.loads(result.stdout)
        assert [i["path"].rsplit("/", 1)[-1] for i in document["inputs"]] == ["plan-\\xff\\xfe.json", "ok-\\xe9.json"]
        assert document["summary"]["warn"] == 1
    elif fmt == "sarif":
        run_ = json.loads(result.stdout)["runs"][0]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]}
        assert any(uri.endswith("ok-%E9.json") for uri in uris)
        assert run_["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"].endswith("plan-%FF%FE.json")
    elif fmt == "junit":
        ET.fromstring(result.stdout)


def test_github_annotations_escape_esc_and_nul_in_messages(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan(identity("aws_iam_policy.p", {**SEND, "Sid": "S\x1b[31m\x00id"}))))
    result = run("scan", "-j", "1", "--format", "github", path)
    assert "\x1b" not in result.stdout and "\x00" not in result.stdout
    assert "S\\x1b[31m\\x00id" in result.stdout


def test_error_lines_escape_what_they_quote(tmp_path):
    path = _bad_plan(tmp_path, "x\x1b[2J\r\n.json")
    result = run("scan", path)
    assert result.exit_code == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "\\x1b[2J\\x0d\\x0a.json" in line and "\x1b" not in result.stderr


def test_the_error_of_a_command_escapes_the_file_name(tmp_path):
    result = run("bundle", "inspect", tmp_path / "no\x1b[2Jbundle.tar.gz")
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "no\\x1b[2Jbundle" in result.stderr
    assert result.stderr.count("\n") == 1


def _bundle(tmp_path, files: dict[str, bytes]) -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    path = tmp_path / "hostile.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    return str(path)


def test_inspect_escapes_titles_and_manifest_text_from_the_bundle(tmp_path):
    rego = b"# METADATA\n# title: \"evil \\u001b[2J \\u0000 title\"\n# scope: package\npackage evil\n"
    manifest = json.dumps({"revision": "r\x1b[31m", "roots": ["\x1b]0;x\x07"], "metadata": {"rules": ["\x00"]}})
    path = _bundle(tmp_path, {"evil.rego": rego, ".manifest": manifest.encode()})
    for fmt in ("table", "json"):
        result = run("bundle", "inspect", path, "-f", fmt)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x00" not in result.stdout and "\x07" not in result.stdout
    assert "evil \\x1b[2J \\x00 title" in run("bundle", "inspect", path).stdout


def test_verify_escapes_file_names_it_reports(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = tmp_path / "k.pem"
    private = ec.generate_private_key(ec.SECP256R1())
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    path = _bundle(tmp_path, {"a\x1b[2J.rego": b"package a\n"})
    result = run("bundle", "verify", path, "--verification-key", key)
    assert result.exit_code == 2 and "\x1b" not in result.output  # the reader refuses such a name
    assert "'a\\x1b[2J.rego' has an unusable name" in result.stderr


def test_usage_errors_escape_the_arguments_they_quote(tmp_path):
    result = run("bundle", "--claims-file", tmp_path / "x\x1b[2J")
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "x\\x1b[2J" in result.stderr


# --- every command's text and JSON: nothing a terminal or a strict parser would act on --------------------------

C1_AND_BIDI = re.compile("[\x80-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def test_every_commands_text_output_escapes_what_it_quotes(tmp_path):
    pattern = "ses:\x1b[2JSend\u202e*\x9b"
    text = run("actions", pattern)
    assert text.exit_code == 1 and "ses:\\x1b[2JSend\\u202e*\\x9b matches no action" in text.stdout
    as_json = run("actions", pattern, "--format", "json")
    assert json.loads(as_json.stdout)["pattern"] == pattern  # JSON escapes it, and reads back the same
    side = tmp_path / "old\x1b]0;x\x07\u202e"
    (side / "catalogs").mkdir(parents=True)
    v1 = next(path for path in DEFAULT_CATALOGS if path.name == "ses-v1.md")
    (side / "catalogs" / "ses-v1.md").write_bytes(v1.read_bytes())
    diff = run("diff", side)
    assert diff.exit_code in (0, 1) and "old\\x1b]0;x\\x07\\u202e" in diff.stdout
    diff_json = run("diff", side, "--format", "json")
    assert json.loads(diff_json.stdout)["old"].endswith("old\x1b]0;x\x07\u202e")
    for result in (text, as_json, diff, diff_json):
        assert not CONTROL.search(result.stdout.replace("\n", "").replace("\t", ""))
        assert not C1_AND_BIDI.search(result.stdout)


def test_json_reports_hold_no_lone_surrogates_or_raw_c1_characters(tmp_path):
    config = os.path.join(os.fsencode(tmp_path), b"cfg-\xff.yaml")
    with open(config, "wb") as handle:
        handle.write(b"sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-003, resource: x, reason: \"\\u009b\"}\n")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan(identity("aws_iam_policy.p\u202e", {**SEND, "Sid": "\u2028\x9b"}))))
    for fmt in ("json", "sarif"):
        result = run("scan", "-j", "1", "--no-config", "--format", fmt, path, "--data", os.fsdecode(config))
        assert result.exit_code == 0, result.output
        assert not C1_AND_BIDI.search(result.stdout)
        document = json.loads(result.stdout)
        if fmt == "json":
            assert document["configuration"]["files"][0].endswith("cfg-\\xff.yaml")  # as the inputs show it
            assert document["waivers"]["unused"][0]["reason"] == "\x9b"
            assert document["findings"][0]["resource"] == "aws_iam_policy.p\u202e"


def test_report_paths_are_normalised_for_code_scanning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "p.json").write_text(json.dumps(plan(identity("aws_iam_policy.p", SEND))))
    sarif = json.loads(run("scan", "-j", "1", "--no-config", "-f", "sarif", "a/../b/p.json").stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert location == "b/p.json"
    assert "file=b/p.json," in run("scan", "-j", "1", "--no-config", "-f", "github", "./a/../b/p.json").stdout

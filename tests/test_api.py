"""The public verbs exported by `sesrego` (a contract): compile_tree, build_bundle, verify_bundle, scan, diff."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sesrego
from conftest import FIXTURES, ROOT
from sesrego.errors import CrossCheckError, SesregoError
from sesrego.signing import SigningOptions, VerificationError

EXAMPLES = ROOT / "terraform_examples"
SEED_V1 = ROOT / "sesrego" / "sources" / "catalogs" / "ses-v1.md"
V1_GUIDANCE = ROOT / "sesrego" / "sources" / "guidance" / "ses-specific-guidance.md"


def _found(report) -> list[tuple[str, str]]:
    return sorted((finding["rule_id"], finding["resource"]) for _, finding in report.findings)


def _expected(example: str, kind: str) -> list[tuple[str, str]]:
    document = json.loads((EXAMPLES / example / "expected.json").read_text())
    return sorted((item["rule_id"], item["resource"]) for item in document[kind])


def test_the_verbs_are_exported_with_docstrings():
    assert sorted(sesrego.__all__) == ["build_bundle", "compile_tree", "diff", "scan", "verify_bundle"]
    for name in sesrego.__all__:
        verb = getattr(sesrego, name)
        assert callable(verb) and verb.__module__ == "sesrego" and len(verb.__doc__ or "") > 200, name


def test_importing_sesrego_loads_nothing_else():
    code = ("import sys, sesrego; import sesrego.scanner; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sesrego', 'jinja2', 'click', 'opa_bindings'"
            ", 'deepdiff') and m not in ('sesrego', 'sesrego.scanner') and 'scanner' not in m) == [] or 'x', "
            "callable(sesrego.scan))")
    light = subprocess.run([sys.executable, "-c", "import sys, sesrego; print(sorted(m for m in sys.modules if "
                            "m.split('.')[0] in ('sesrego', 'jinja2', 'click', 'opa_bindings', 'deepdiff')))"],
                           capture_output=True, text=True, check=True)
    assert light.stdout.strip() == "['sesrego']"
    # sesrego.scan stays the verb once the scan loop's module is loaded (it is sesrego.scanner).
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert after.stdout.split()[-1] == "True"


def test_compile_tree_is_the_clis_compilation(compiled):
    program, tree = sesrego.compile_tree()
    assert tree.files == compiled[1].files and tree.facts == compiled[1].facts
    assert [rule.id for rule in program.rules] == [rule.id for rule in compiled[0].rules]
    current = FIXTURES / "sources" / "ses-v1-current.md"
    newer = sesrego.compile_tree(catalogs=[current])[0]
    assert {catalog.source.name: catalog.api_version for catalog in newer.catalogs}[str(current)] == "1"
    assert len(newer.catalogs) == len(program.catalogs)


def test_build_bundle_is_reproducible_and_verifiable(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"a shared secret of enough length for HS256")
    signing = SigningOptions(key=secret, algorithm="HS256", key_id="ci")
    first = sesrego.build_bundle(tmp_path / "a.tar.gz", signing=signing, config={"scp_attested": True})
    second = sesrego.build_bundle(tmp_path / "b.tar.gz", signing=signing, config={"scp_attested": True})
    assert first.revision == second.revision and first.signed
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    verified = sesrego.verify_bundle(tmp_path / "a.tar.gz", secret, algorithm="HS256", key_id="ci")
    assert verified.ok and verified.algorithm == "HS256"
    other = tmp_path / "other"
    other.write_bytes(b"another secret, not the one the bundle was signed with")
    with pytest.raises(VerificationError, match="does not verify"):
        sesrego.verify_bundle(tmp_path / "a.tar.gz", other, algorithm="HS256")
    with pytest.raises(SesregoError, match="unknown configuration key"):
        sesrego.build_bundle(tmp_path / "c.tar.gz", config={"scp_atested": True})
    assert not (tmp_path / "c.tar.gz").exists()


def test_build_bundle_strict_refuses_a_cross_check_finding_and_builds_nothing(tmp_path):
    report = tmp_path / "cross-check.json"
    with pytest.raises(CrossCheckError):
        sesrego.build_bundle(tmp_path / "b.tar.gz", catalogs=[SEED_V1], guidance=[V1_GUIDANCE], strict=True,
                             cross_check_report=report)
    assert not (tmp_path / "b.tar.gz").exists()
    assert json.loads(report.read_text())["cross_check"]  # written, as --strict keeps it


def test_build_bundle_and_the_bundle_command_are_one_build(tmp_path):
    from click.testing import CliRunner

    from sesrego.cli import cli

    config = tmp_path / "sesrego.yaml"
    config.write_text("sesrego:\n  config:\n    scp_attested: true\n")
    api = sesrego.build_bundle(tmp_path / "api.tar.gz", config={"scp_attested": True},
                               cross_check_report=tmp_path / "api.json")
    result = CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "cli.tar.gz"), "--data", str(config),
                                      "--cross-check-report", str(tmp_path / "cli.json")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "api.tar.gz").read_bytes() == (tmp_path / "cli.tar.gz").read_bytes()
    assert (tmp_path / "api.json").read_bytes() == (tmp_path / "cli.json").read_bytes()
    assert api.revision in result.output
    strict = CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "s.tar.gz"), "--strict", "--catalog",
                                      str(SEED_V1), "--cross-check-report", str(tmp_path / "s.json")])
    assert strict.exit_code == 2 and "--strict" in strict.output
    assert not (tmp_path / "s.tar.gz").exists() and json.loads((tmp_path / "s.json").read_text())["cross_check"]


@pytest.mark.parametrize("example", ["app-role-sends-mail", "org-perimeter-missing-ses", "app-role-sends-mail-fixed"])
def test_scan_finds_what_the_examples_expect(example):
    report = sesrego.scan([EXAMPLES / example / "plan.json", EXAMPLES / example], jobs=1)
    plan, tf = report.inputs
    assert sorted((f["rule_id"], f["resource"]) for f in plan.findings) == _expected(example, "plan")
    assert sorted((f["rule_id"], f["resource"]) for f in tf.findings) == _expected(example, "tf")
    assert report.exit_status == (1 if any(f["severity"] == "deny" for _, f in report.findings) else 0)


def test_scan_takes_configuration_and_a_prebuilt_bundle(tmp_path):
    plan = EXAMPLES / "app-role-sends-mail" / "plan.json"
    waiver = {"waivers": [{"rule_id": "SES-001", "resource": "*", "reason": "accepted"}]}
    assert _found(sesrego.scan([plan], config=waiver, jobs=1)) == []
    built = sesrego.build_bundle(tmp_path / "b.tar.gz")
    assert _found(sesrego.scan([plan], bundle=built.output, jobs=1)) == _expected("app-role-sends-mail", "plan")
    missing = sesrego.scan([tmp_path / "missing.json"], jobs=1)
    assert missing.exit_status == 2 and "missing.json" in missing.inputs[0].error


def test_diff_names_the_rules_a_catalog_change_affects():
    same = sesrego.diff()
    assert same["exit_status"] == 0 and same["changed"] is False and same["old"] == same["new"] == "built-in sources"
    newer = sesrego.diff(new_catalogs=[FIXTURES / "sources" / "ses-v1-current.md"])
    assert newer["exit_status"] == 1 and "SES-001" in newer["rules"]["changed"]
    assert newer["new"].endswith("with ses-v1-current.md")


PLAN = EXAMPLES / "app-role-sends-mail" / "plan.json"


@pytest.mark.parametrize("call, words", [
    (lambda: sesrego.scan(str(PLAN), jobs=1), "a list of paths"),  # not one path per character ("/" walked)
    (lambda: sesrego.scan(PLAN, jobs=1), "a list of paths"),
    (lambda: sesrego.scan([PLAN, 3], jobs=1), "not a path"),
    (lambda: sesrego.compile_tree(catalogs=str(SEED_V1)), "a list of paths"),
    (lambda: sesrego.diff(new_guidance=str(V1_GUIDANCE)), "a list of paths"),
    (lambda: sesrego.scan([PLAN], config=[1, 2], jobs=1), "config: a mapping"),
    (lambda: sesrego.scan([PLAN], engine="bogus", jobs=1), "engine: one of embedded, opa"),
    (lambda: sesrego.scan([PLAN], jobs=-1), "jobs: a number of worker processes"),
    (lambda: sesrego.scan([PLAN], jobs="2"), "jobs: a number of worker processes"),
    (lambda: sesrego.scan([PLAN], fail_on="bogus", jobs=1), "fail_on: one of deny, warn"),
    (lambda: sesrego.scan([PLAN], tf_dir="/nonexistent-sesrego", jobs=1), "not a directory"),
    (lambda: sesrego.scan([PLAN], verification_key=PLAN, jobs=1), "verification_key verifies a bundle"),
])
def test_the_scan_and_compile_verbs_refuse_bad_arguments_as_sesrego_errors(call, words):
    with pytest.raises(SesregoError, match=words):
        call()


@pytest.mark.parametrize("kwargs, words", [
    ({"config": [1]}, "config: a mapping"),
    ({"signing": "key.pem"}, "signing: a sesrego.signing.SigningOptions"),
    ({"oci_layout": "oci", "oci_tag": "bad tag/../x"}, "is not an OCI tag"),
    ({"catalogs": str(SEED_V1)}, "a list of paths"),
])
def test_build_bundle_refuses_bad_arguments_and_writes_nothing(tmp_path, monkeypatch, kwargs, words):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SesregoError, match=words):
        sesrego.build_bundle(tmp_path / "b.tar.gz", **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == []

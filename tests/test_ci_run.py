"""Where users run sesrego: pre-commit, the GitHub Action (its shell steps run here), a pinned and signed
bundle (scan --bundle), and a Python without OPA's embedded engine."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import ROOT, identity, plan
from sesrego.bundle import read_bundle, tar_gz
from sesrego.cli import cli
from sesrego.compiler import compile_tree
from sesrego.engine import INSTALL_COMMANDS

SEND = {"Sid": "Send", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
DENY = {"Sid": "Loose", "Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
        "Condition": {"StringLike": {"ses:Recipients": ["*@example.com"]}}}
TF_SEND = 'jsonencode({ Statement = [{ Effect = "Allow", Action = "ses:SendEmail", Resource = "*" }] })'
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.usefixtures("fast_compile")


def run(*args, env=None, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, **kwargs)


def write_plan(path: Path, *statements_by_address) -> Path:
    path.write_text(json.dumps(plan(*(identity(address, statement) for address, statement in statements_by_address))))
    return path


# --- pre-commit ----------------------------------------------------------------------------------------------

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_the_pre_commit_hook():
    [hook] = HOOKS
    assert hook["id"] == "sesrego" and hook["require_serial"] is True
    assert hook["entry"] == "sesrego scan" and hook["language"] == "python"
    files = re.compile(hook["files"])
    for name in ("main.tf", "infra/modules/x/iam.tf", "a.tf.json"):
        assert files.search(name), name
    for name in ("plan.json", "prod.tfvars", "main.tf.bak", "notes.tfx", "README.md"):
        assert not files.search(name), name
    assert any("opa-golib-python-bindings==0.4.4" in d and "python_version >= '3.14'" in d
               for d in hook["additional_dependencies"])


def test_the_hook_scans_the_files_pre_commit_passes(tmp_path, monkeypatch):
    """pre-commit runs the entry from the repository root with the changed files, several at once."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".sesrego.yaml").write_text("sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, "
                                            "resource: aws_iam_policy.waived, reason: found at the root}\n")
    for directory, names in (("infra", ("a", "b", "waived")), ("other", ("c",))):
        (tmp_path / directory).mkdir()
        for name in names:
            (tmp_path / directory / f"{name}.tf").write_text(
                f'resource "aws_iam_policy" "{name}" {{\n  policy = {TF_SEND}\n}}\n')
    entry = shlex.split(HOOKS[0]["entry"])
    files = ["infra/a.tf", "other/c.tf", "infra/waived.tf", "infra/b.tf"]
    result = run(*entry[1:], "-j", "1", "-f", "json", *files)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [i["path"] for i in document["inputs"]] == ["infra", "other/c.tf"]
    assert sorted((f["resource"], f["file"]) for f in document["findings"]) == [
        ("aws_iam_policy.a", "infra/a.tf"), ("aws_iam_policy.b", "infra/b.tf"), ("aws_iam_policy.c", "other/c.tf")]
    assert [w["resource"] for w in document["inputs"][0]["waived"]] == ["aws_iam_policy.waived"]
    assert run(*entry[1:], "-j", "1", "--fail-on", "warn", *files).exit_code == 1


# --- the GitHub Action ---------------------------------------------------------------------------------------

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == name)


def test_the_action_is_composite_with_the_documented_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "config", "fail-on", "soft-fail"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["fail-on"]["default"] == "deny" and ACTION["inputs"]["soft-fail"]["default"] == "false"
    python = step("python")
    assert python["uses"].startswith("actions/setup-python@") and python["with"]["python-version"] == "3.14"
    assert set(ACTION["outputs"]) >= {"sarif-file", "exit-code"}


def test_the_actions_shell_steps_take_their_inputs_from_the_environment_only():
    scripts = [s for s in ACTION["runs"]["steps"] if "run" in s]
    assert len(scripts) == 2
    for script in scripts:
        assert "${{" not in script["run"], script["name"]  # no script injection through inputs
        assert script["shell"] == "bash"
    env = step("scan")["env"]
    assert env["SESREGO_CONFIG"] == "${{ inputs.config }}" and env["SESREGO_FAIL_ON"] == "${{ inputs.fail-on }}"
    assert env["SESREGO_SOFT_FAIL"] == "${{ inputs.soft-fail }}" and env["ACTION_PATHS"] == "${{ inputs.paths }}"


def test_the_install_step_installs_sesrego_with_the_engine_from_the_actions_path(tmp_path):
    log = tmp_path / "calls.log"
    stub = tmp_path / "python3.14"
    stub.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$0 $*" >> {log}
        if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
    """))
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    outputs = tmp_path / "outputs"
    env = {**os.environ, "ACTION_PATH": str(ROOT), "ACTION_PYTHON": str(stub), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_OUTPUT": str(outputs)}
    proc = subprocess.run(["bash", "-c", step("install")["run"]], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    venv = tmp_path / "sesrego-venv"
    assert calls[0] == f"{stub} -m venv {venv}"
    assert calls[1].startswith(f"{venv}/bin/python -m pip install") and calls[1].endswith(f"{ROOT}[engine]")
    assert outputs.read_text() == f"sesrego={venv}/bin/sesrego\n"


def run_scan_step(tmp_path: Path, **inputs) -> tuple[subprocess.CompletedProcess, dict, Path]:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    summary.write_text("earlier step\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("SESREGO_")}
    env.update({"ACTION_SESREGO": str(BIN / "sesrego"), "ACTION_PATHS": inputs.get("paths", "."),
                "ACTION_SARIF": inputs.get("sarif-file", "sesrego.sarif"), "ACTION_ARGS": inputs.get("args", ""),
                "SESREGO_CONFIG": inputs.get("config", ""), "SESREGO_FAIL_ON": inputs.get("fail-on", "deny"),
                "SESREGO_SOFT_FAIL": inputs.get("soft-fail", "false"), "RUNNER_TEMP": str(tmp_path),
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs), "SESREGO_JOBS": "1"})
    proc = subprocess.run(["bash", "-c", step("scan")["run"]], env=env, cwd=tmp_path / "repo", capture_output=True,
                          text=True)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return proc, values, summary


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    (root / ".git").mkdir()
    write_plan(root / "plan.json", ("aws_iam_policy.a", SEND))
    (root / "infra" / "main.tf").write_text(f'resource "aws_iam_policy" "d" {{\n  policy = {TF_SEND}\n}}\n')
    return root


def test_the_scan_step_writes_sarif_and_the_job_summary_in_one_scan(tmp_path, repo):
    proc, values, summary = run_scan_step(tmp_path, paths="plan.json\ninfra", **{"fail-on": "warn"})
    assert proc.returncode == 1, proc.stderr
    assert values == {"sarif-file": "sesrego.sarif", "exit-code": "1"}
    log = json.loads((repo / "sesrego.sarif").read_text())
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]} == {
        "plan.json", "infra/main.tf"}
    text = summary.read_text()
    assert text.startswith("earlier step\n## sesrego\n") and "| SES-001 | warn |" in text  # appended
    assert "plan.json" in proc.stdout  # the table goes to the log
    assert not list(tmp_path.glob("sesrego-summary.*"))  # its temporary file is removed


def test_the_scan_step_passes_fail_on_soft_fail_and_config(tmp_path, repo):
    proc, values, _ = run_scan_step(tmp_path, paths="plan.json", **{"fail-on": "warn", "soft-fail": "true"})
    assert proc.returncode == 0 and values["exit-code"] == "0"  # a warning, but soft-fail
    (repo / "sesrego-ci.yaml").write_text("sesrego:\n  config:\n    severity: {SES-001: deny}\n")
    proc, values, _ = run_scan_step(tmp_path, paths="plan.json", config="sesrego-ci.yaml")
    assert proc.returncode == 1 and values["exit-code"] == "1"  # fail-on deny, and the config made it a deny
    assert "configuration from sesrego-ci.yaml" in proc.stderr


def test_the_scan_step_takes_extra_arguments_and_never_globs(tmp_path, repo):
    proc, values, _ = run_scan_step(tmp_path, paths="*.json", **{"fail-on": "warn"})
    assert proc.returncode == 2 and values["exit-code"] == "2"  # the pattern is a path, not expanded
    assert "*.json: no such file" in proc.stderr
    proc, _, _ = run_scan_step(tmp_path, paths="plan.json", args="--skip-rule SES-001", **{"fail-on": "warn"})
    assert proc.returncode == 0, proc.stderr


# --- a pinned, signed bundle ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    keys = {}
    for name in ("signer", "other"):
        key = rsa.generate_private_key(65537, 2048)
        (root / f"{name}.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        (root / f"{name}.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        keys[name] = root / f"{name}.pub"
    (root / "config.yaml").write_text("sesrego:\n  config:\n    severity: {SES-001: deny}\n")
    for args in (["-o", root / "plain.tar.gz"],
                 ["-o", root / "signed.tar.gz", "--signing-key", root / "signer.pem", "--key-id", "release"],
                 ["-o", root / "configured.tar.gz", "--data", root / "config.yaml"]):
        assert run("bundle", *args).exit_code == 0
    return root, keys


@pytest.fixture
def target(tmp_path):
    return write_plan(tmp_path / "plan.json", ("aws_iam_policy.a", SEND), ("aws_iam_policy.b", DENY))


def scan_json(*args):
    result = run("scan", "-j", "1", "--no-config", "-f", "json", *args)
    return result, (json.loads(result.stdout) if result.stdout.startswith("{") else None)


def test_a_bundle_scans_like_the_compiled_rules(bundles, target):
    root, _ = bundles
    compiled, bundled = scan_json(target)[1], scan_json(target, "--bundle", root / "plain.tar.gz")[1]
    assert bundled["findings"] == compiled["findings"] and bundled["summary"] == compiled["summary"]
    sarif = json.loads(run("scan", "--no-config", "-f", "sarif", target, "--bundle", root / "plain.tar.gz").stdout)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.id for rule in compile_tree()[0].rules]
    assert rules[0]["shortDescription"]["text"] == "SES sending allowed without a ses:Recipients restriction"
    assert rules[0]["helpUri"].startswith("https://github.com/aws-samples/")


def test_a_signed_bundle_is_verified_first(bundles, target):
    root, keys = bundles
    result, document = scan_json(target, "--bundle", root / "signed.tar.gz", "--verification-key", keys["signer"],
                                 "--key-id", "release")
    assert result.exit_code == 1 and {f["rule_id"] for f in document["findings"]} == {"SES-001", "SES-002"}
    for args, words in (
        ([], "the bundle is signed: give --verification-key"),
        (["--verification-key", keys["other"]], "verification failed: signature does not verify"),
        (["--verification-key", keys["signer"], "--key-id", "other"], "verification failed: signed with key id"),
    ):
        result, _ = scan_json(target, "--bundle", root / "signed.tar.gz", *args)
        assert result.exit_code == 2 and words in result.stderr and result.stdout == "", args
    result, _ = scan_json(target, "--bundle", root / "plain.tar.gz", "--verification-key", keys["signer"])
    assert result.exit_code == 2 and "not signed" in result.stderr


def test_a_tampered_signed_bundle_is_refused(bundles, target, tmp_path):
    root, keys = bundles
    files = read_bundle(root / "signed.tar.gz")
    name = next(n for n in files if n.endswith("ses_002.rego"))
    files[name] = files[name].replace(b'"deny"', b'"info"')
    (tmp_path / "tampered.tar.gz").write_bytes(tar_gz(files))
    result, _ = scan_json(target, "--bundle", tmp_path / "tampered.tar.gz", "--verification-key", keys["signer"])
    assert result.exit_code == 2 and f"{name}: digest mismatch" in result.stderr


def test_a_bundles_configuration_applies_and_merges_with_local_configuration(bundles, target, tmp_path):
    root, _ = bundles
    result, document = scan_json(target, "--bundle", root / "configured.tar.gz")
    assert {f["severity"] for f in document["findings"]} == {"deny"}  # SES-001 raised by the bundle
    assert document["configuration"] == {"source": "bundle", "bundle": str(root / "configured.tar.gz")}
    local = tmp_path / "local.yaml"
    local.write_text("sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-002, resource: '*', reason: r}\n")
    result, document = scan_json(target, "--bundle", root / "configured.tar.gz", "--data", local)
    assert [f["rule_id"] for f in document["findings"]] == ["SES-001"] and document["summary"]["waived"] == 1
    local.write_text("sesrego:\n  config:\n    severity: {SES-001: warn}\n")
    result, _ = scan_json(target, "--bundle", root / "configured.tar.gz", "--data", local)
    assert result.exit_code == 2 and "sesrego.config.severity.SES-001 is set by both" in result.stderr


@pytest.mark.parametrize("args, words", [
    (["--catalog", "x.md"], "--catalog"), (["--strict"], "--strict"),
    (["--opa-url", "http://localhost:1"], "--opa-url"),
])
def test_options_that_do_not_apply_to_a_bundle_are_refused(bundles, target, args, words):
    root, _ = bundles
    result = run("scan", "--no-config", target, "--bundle", root / "plain.tar.gz", *args)
    assert result.exit_code == 2 and words in result.stderr


def test_verification_options_need_a_bundle(bundles, target):
    _, keys = bundles
    assert run("scan", target, "--verification-key", keys["signer"]).exit_code == 2
    assert run("scan", target, "--key-id", "x").exit_code == 2


@pytest.mark.parametrize("content", [b"not a tarball", None])
def test_a_file_that_is_no_sesrego_bundle_is_exit_2(tmp_path, target, content):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(content if content is not None else tar_gz({"a/b.rego": b"package a\n"}))
    result = run("scan", "--no-config", target, "--bundle", path)
    assert result.exit_code == 2 and str(path) in result.stderr and "Traceback" not in result.output


# --- without OPA's embedded engine -------------------------------------------------------------------------

FAKE_OPA = '''#!{python}
"""A stand-in for `opa eval --format json --stdin-input -b BUNDLE QUERY`, evaluating with OPA's Go engine."""
import json, sys
from sesrego.bundle import read_bundle
from sesrego.engine import Engine
args = sys.argv[1:]
assert args[0] == "eval" and "--stdin-input" in args, args
files = read_bundle(args[args.index("-b") + 1])
data = json.loads(files["sesrego/data.json"])
engine = Engine({{k: v for k, v in files.items() if k.endswith(".rego")}}, {{"sesrego": data}})
print(json.dumps({{"result": [{{"expressions": [{{"value": engine.query(args[-1], raw=sys.stdin.buffer.read())}}]}}]}}))
'''

WITHOUT_ENGINE = ("import sys; sys.modules['opa_bindings'] = None; "
                  "from sesrego.cli import main; sys.argv = ['sesrego', *sys.argv[1:]]; main()")


def without_engine(tmp_path: Path, *args: str, opa: bool) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if opa:
        fake = bin_dir / "opa"
        fake.write_text(FAKE_OPA.format(python=sys.executable))
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SESREGO_")},
           "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return subprocess.run([sys.executable, "-c", WITHOUT_ENGINE, *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_without_the_engine_and_without_opa_scan_is_exit_2_with_the_install_commands(tmp_path, target):
    proc = without_engine(tmp_path, "scan", "--no-config", str(target), opa=False)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("Error: OPA's embedded engine is not installed")
    assert "and no opa binary is on PATH" in proc.stderr
    for command in INSTALL_COMMANDS:
        assert f"  {command}\n" in proc.stderr, command
    assert "pip install --ignore-requires-python --no-deps opa-golib-python-bindings==0.4.4" in proc.stderr
    assert "uv pip install --python-version 3.14 --no-deps opa-golib-python-bindings==0.4.4" in proc.stderr
    assert "pipx inject sesrego opa-golib-python-bindings==0.4.4" in proc.stderr


def test_without_the_engine_the_opa_binary_is_used_and_that_is_said(tmp_path, target):
    proc = without_engine(tmp_path, "scan", "--no-config", "-f", "json", str(target), opa=True)
    assert proc.returncode == 1, proc.stderr
    assert "OPA's embedded engine is not installed; scanning with the opa binary" in proc.stderr
    assert "--engine opa" in proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert sorted(f["rule_id"] for f in findings) == ["SES-001", "SES-002"]


def test_an_explicit_embedded_engine_is_not_replaced(tmp_path, target):
    proc = without_engine(tmp_path, "scan", "--no-config", "--engine", "embedded", str(target), opa=True)
    assert proc.returncode == 2 and "Install the engine" in proc.stderr
    assert "--engine embedded asks for it" in proc.stderr and "no opa binary" not in proc.stderr


def test_sesrego_test_takes_its_own_verbose_flag(monkeypatch):
    """`test -v` reaches the command (the shared --catalog/--guidance options once swallowed it)."""
    import sesrego.testing as testing

    seen = []

    class Run:
        exit_status = 0

        def lines(self, verbose):
            seen.append(verbose)
            return ["PASS: 1/1"]

    monkeypatch.setattr(testing, "run_tests", lambda program, tree, use_opa=False: Run())
    assert run("test").exit_code == 0 and run("test", "-v").exit_code == 0 and run("test", "--verbose").exit_code == 0
    assert seen == [False, True, True]


def test_other_commands_without_the_engine(tmp_path):
    proc = without_engine(tmp_path, "test", opa=False)
    assert proc.returncode == 2 and INSTALL_COMMANDS[0] in proc.stderr
    proc = without_engine(tmp_path, "compile", "-o", str(tmp_path / "policy"), opa=False)
    assert proc.returncode == 0, proc.stderr  # compiling needs no engine


def test_a_bundle_scans_with_the_opa_binary_too(tmp_path, target, bundles, monkeypatch):
    root, _ = bundles
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "opa"
    fake.write_text(FAKE_OPA.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result, document = scan_json(target, "--bundle", root / "configured.tar.gz", "--engine", "opa")
    assert result.exit_code == 1, result.output
    assert {(f["rule_id"], f["severity"]) for f in document["findings"]} == {("SES-001", "deny"), ("SES-002", "deny")}

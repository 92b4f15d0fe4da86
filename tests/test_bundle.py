"""Policy directory and OPA bundle: determinism, manifest, evaluation, safe reading, atomic writes."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
from click.testing import CliRunner

from conftest import identity, plan
from sesrego import bundle as bundle_module
from sesrego.bundle import read_bundle
from sesrego.cli import cli
from sesrego.compiler import compile_tree
from sesrego.engine import Engine
from sesrego.errors import BundleError


def build(tmp_path, name="b.tar.gz", *args):
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["bundle", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def test_bundle_is_byte_identical_across_builds(tmp_path):
    first, second = build(tmp_path, "a.tar.gz"), build(tmp_path, "b.tar.gz")
    assert first.read_bytes() == second.read_bytes()
    header = first.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip mtime 0


def test_bundle_layout_and_manifest(tmp_path):
    data = build(tmp_path).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) and ".manifest" in names and "sesrego/data.json" in names
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.mode == 0o644 for m in members)
    assert not any(n.endswith("_test.rego") for n in names)
    files = read_bundle(tmp_path / "b.tar.gz")
    manifest = json.loads(files[".manifest"])
    assert manifest["roots"] == ["sesrego"] and manifest["rego_version"] == 1
    assert len(manifest["revision"]) == 32
    sources = {s["name"]: s["sha256"] for s in manifest["metadata"]["sources"]}
    assert "sesrego/sources/catalogs/ses-v1.md" in sources and all(len(d) == 64 for d in sources.values())
    assert manifest["metadata"]["rules"] == [rule.id for rule in compile_tree()[0].rules]
    assert not (tmp_path / "compile-report.json").exists()  # written only with --cross-check-report


def test_bundle_evaluates_in_opa_engine(tmp_path):
    files = read_bundle(build(tmp_path))
    data = {"sesrego": json.loads(files.pop("sesrego/data.json"))}
    engine = Engine(files, data)
    statement = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
    findings = engine.evaluate("sesrego.findings", plan(identity("aws_iam_policy.send", statement)))
    assert [(f["rule_id"], f["resource"]) for f in findings] == [("SES-001", "aws_iam_policy.send")]


def test_bundle_with_configuration(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("sesrego:\n  config:\n    administrators: [\"admin-*\"]\n")
    files = read_bundle(build(tmp_path, "c.tar.gz", "--data", str(config)))
    assert json.loads(files["sesrego/data.json"])["config"] == {"administrators": ["admin-*"]}


def test_policy_directory_for_conftest(tmp_path):
    out = tmp_path / "policy"
    result = CliRunner().invoke(cli, ["compile", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "sesrego" / "rules" / "ses_001" / "ses_001.rego").exists()
    assert (out / "sesrego" / "rules" / "ses_001" / "ses_001_test.rego").exists()
    assert set(json.loads((out / "data.json").read_text())) == {"sesrego"}


def test_failed_build_leaves_previous_bundle_intact(tmp_path, monkeypatch):
    out = build(tmp_path)
    before = out.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module, "tar_gz", broken)
    result = CliRunner().invoke(cli, ["bundle", "-o", str(out)])
    assert result.exit_code != 0
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _tar(entries) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, body in entries:
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return gzip.compress(raw.getvalue())


def _entry(name, body=b"x", kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(body) if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info, body if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize("entry,problem", [
    (_entry("/etc/passwd"), "escapes the bundle"),
    (_entry("../x.rego"), "escapes the bundle"),
    (_entry("link", kind=tarfile.SYMTYPE), "is a link"),
    (_entry("dev", kind=tarfile.CHRTYPE), "device"),
])
def test_reading_a_hostile_bundle_is_refused(tmp_path, entry, problem):
    path = tmp_path / "evil.tar.gz"
    path.write_bytes(_tar([entry]))
    with pytest.raises(BundleError) as info:
        read_bundle(path)
    assert problem in str(info.value)


def test_reading_an_oversized_bundle_is_refused(tmp_path):
    path = tmp_path / "big.tar.gz"
    path.write_bytes(_tar([_entry("big.rego", b"a" * 2000)]))
    with pytest.raises(BundleError, match="over the 1000-byte limit"):
        read_bundle(path, limit=1000)

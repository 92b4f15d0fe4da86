"""Releasing a bundle: recorded sources, inspection, safe reading, OCI layout, OPA configuration."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from sesrego.bundle import read_bundle
from sesrego.cli import cli
from sesrego.errors import BundleError
from sesrego.oci import CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    result = run("bundle", "-o", root / "sesrego.tar.gz", "--oci-layout", root / "oci", "--oci-tag", "1.2.3")
    assert result.exit_code == 0, result.output
    return root


# --- recorded sources ----------------------------------------------------------------------


def test_bundle_records_its_sources_where_opa_ignores_them(built):
    files = read_bundle(built / "sesrego.tar.gz")
    manifest = json.loads(files[".manifest"])
    sources = manifest["metadata"]["sources"]
    assert len(sources) == 6
    for source in sources:
        path = source["path"]
        assert path.startswith("sesrego/sources/") and path.endswith(".md")  # under the root; not data
        assert hashlib.sha256(files[path]).hexdigest() == source["sha256"]
    json_files = [name for name in files if name.endswith((".json", ".yaml", ".yml"))]
    assert json_files == ["sesrego/data.json"]  # the only file OPA loads as data


def test_no_sources_option(tmp_path):
    assert run("bundle", "-o", tmp_path / "b.tar.gz", "--no-sources").exit_code == 0
    assert not any(n.startswith("sesrego/sources/") for n in read_bundle(tmp_path / "b.tar.gz"))


# --- inspection --------------------------------------------------------------------------------


def test_inspect_table(built):
    result = run("bundle", "inspect", built / "sesrego.tar.gz")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in ("MANIFEST:", "Revision", "sesrego.rules.ses_001", "SES-001",
                     "SES sending allowed without a ses:Recipients restriction", "data.sesrego.facts",
                     "SIGNATURES:", "not signed", "sesrego/sources/catalogs/ses-v1.md"):
        assert expected in out


def test_inspect_json(built, tmp_path):
    result = run("bundle", "inspect", built / "sesrego.tar.gz", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["manifest"]["roots"] == ["sesrego"]
    packages = {p["package"]: p for p in report["packages"]}
    assert packages["sesrego.rules.ses_004"]["rule_ids"] == ["SES-004"]
    assert packages["sesrego.rules.ses_004"]["title"].startswith("Resource perimeter SCP")
    assert packages["sesrego.lib.iam"]["rule_ids"] == []
    assert report["data"] == [{"file": "sesrego/data.json", "paths": ["data.sesrego.facts"]}]
    assert report["signature"] == {"signed": False}


def test_inspect_shows_signature(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = tmp_path / "ec.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    assert run("bundle", "-o", tmp_path / "s.tar.gz", "--signing-key", key, "--key-id", "k1").exit_code == 0
    report = json.loads(run("bundle", "inspect", tmp_path / "s.tar.gz", "-f", "json").stdout)
    assert report["signature"]["signed"] and report["signature"]["algorithm"] == "ES256"
    assert report["signature"]["key_id"] == "k1" and report["signature"]["verified"] is False


def test_build_options_are_refused_with_a_subcommand(built):
    result = run("bundle", "-o", "x.tar.gz", "inspect", built / "sesrego.tar.gz")
    assert result.exit_code == 2 and "do not apply" in result.output


# --- safe reading ---------------------------------------------------------------------------------


def _tar(*entries) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, body in entries:
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return gzip.compress(raw.getvalue())


def _file(name, body=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(body)
    return info, body


def _special(name, kind, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info, None


@pytest.mark.parametrize("entries,problem", [
    ((_file("ok.rego"), _file("/abs.rego")), "escapes the bundle"),
    ((_file("a/../../x.rego"),), "escapes the bundle"),
    ((_file("ok.rego"), _special("hard", tarfile.LNKTYPE, "ok.rego")), "is a link"),
    ((_special("sym", tarfile.SYMTYPE, "../../etc/passwd"),), "is a link"),
    ((_special("fifo", tarfile.FIFOTYPE),), "device or pipe"),
    ((_special("disk", tarfile.BLKTYPE),), "device"),
    ((_file("a.rego"), _file("a.rego")), "twice"),
    ((_file("C:\\evil.rego"),), "escapes the bundle"),
])
def test_unsafe_bundles_are_refused_before_reading(tmp_path, entries, problem, monkeypatch):
    path = tmp_path / "evil.tar.gz"
    path.write_bytes(_tar(*entries))
    reads = []
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, member: reads.append(member) or None)
    with pytest.raises(BundleError, match=problem):
        read_bundle(path)
    assert reads == []  # refused while reading headers, before any content
    result = run("bundle", "inspect", path)
    assert result.exit_code == 2 and problem.split()[0] in result.output and "Traceback" not in result.output


def test_too_many_entries_and_too_much_content_are_refused(tmp_path):
    path = tmp_path / "many.tar.gz"
    path.write_bytes(_tar(*(_file(f"f{i}.rego") for i in range(20))))
    with pytest.raises(BundleError, match="more than 10 entries"):
        read_bundle(path, max_entries=10)
    path.write_bytes(_tar(*(_file(f"f{i}.rego", b"a" * 400) for i in range(5))))
    with pytest.raises(BundleError, match="unpacks to more than 1000 bytes"):
        read_bundle(path, limit=1000)


def test_not_a_tarball_is_a_clear_error(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(gzip.compress(b"hello"))
    result = run("bundle", "inspect", path)
    assert result.exit_code == 2 and "not a gzipped tar bundle" in result.output


# --- OCI layout ----------------------------------------------------------------------------------


def test_oci_layout_digests_and_media_types(built):
    layout = built / "oci"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    blobs = layout / "blobs" / "sha256"
    for blob in blobs.iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name

    def load(descriptor):
        algorithm, digest = descriptor["digest"].split(":")
        body = (blobs / digest).read_bytes()
        assert algorithm == "sha256" and len(body) == descriptor["size"]
        return body

    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["mediaType"] == MANIFEST_MEDIA_TYPE
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1.2.3"
    manifest = json.loads(load(entry))
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MANIFEST_MEDIA_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE and load(manifest["config"]) == b"{}"
    [layer] = manifest["layers"]
    assert layer["mediaType"] == LAYER_MEDIA_TYPE == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert load(layer) == (built / "sesrego.tar.gz").read_bytes()
    assert layer["annotations"]["org.opencontainers.image.title"] == "sesrego.tar.gz"
    revision = json.loads(read_bundle(built / "sesrego.tar.gz")[".manifest"])["revision"]
    assert manifest["annotations"]["org.opencontainers.image.revision"] == revision
    assert len(list(blobs.iterdir())) == 3


# --- OPA configuration ----------------------------------------------------------------------------

#: OPA's documented configuration keys (FORMATS.md b3/b4; OPA docs "Configuration").
BUNDLE_KEYS = {"service", "resource", "signing", "persist", "polling", "size_limit_bytes", "trigger"}
SIGNING_KEYS = {"keyid", "scope", "exclude_files"}
POLLING_KEYS = {"min_delay_seconds", "max_delay_seconds", "long_polling_timeout_seconds"}
KEY_KEYS = {"algorithm", "key", "private_key", "scope"}


@pytest.mark.parametrize("name", ["opa-config.yaml", "opa-config-s3.yaml", "opa-config-oci.yaml"])
def test_opa_config_examples(name):
    config = yaml.safe_load((ROOT / "bundles" / name).read_text())
    bundle = config["bundles"]["sesrego"]
    assert set(bundle) <= BUNDLE_KEYS
    assert bundle["service"] in config["services"]
    assert set(bundle["signing"]) <= SIGNING_KEYS and bundle["signing"]["keyid"] in config["keys"]
    assert set(bundle["polling"]) <= POLLING_KEYS
    assert bundle["polling"]["min_delay_seconds"] <= bundle["polling"]["max_delay_seconds"]
    key = config["keys"][bundle["signing"]["keyid"]]
    assert set(key) <= KEY_KEYS and key["algorithm"] == "RS256"
    service = config["services"][bundle["service"]]
    if service.get("type") == "oci":
        assert ":" in bundle["resource"].rsplit("/", 1)[-1]  # a full image reference with a tag
    else:
        assert bundle["resource"] == "bundles/sesrego.tar.gz"  # what `sesrego bundle` writes by default
    if "credentials" in service:
        assert set(service["credentials"]) <= {"bearer", "s3_signing", "oauth2", "client_tls", "gcp_metadata",
                                               "azure_managed_identity", "plugin"}

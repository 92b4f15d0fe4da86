"""Bundles, claims and guidance from anyone: bounded, parsed without surprises, one clean line.

Reading a bundle (inspect, verify, diff) costs at most its size promise, header data included;
a malformed manifest or METADATA block is shown as such; NaN and Infinity never reach a signed
bundle; guidance parsing stays linear on crafted text.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
from click.testing import CliRunner

from sesrego.bundle import read_bundle
from sesrego.cli import cli
from sesrego.compiler import parse_sources
from sesrego.errors import BundleError, SesregoError
from sesrego.sources import DEFAULT_GUIDANCE, Text, read_text

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _tar(entries, fmt=tarfile.GNU_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, body in entries:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue())


def _bundle(tmp_path, entries, name="b.tar.gz", fmt=tarfile.GNU_FORMAT):
    path = tmp_path / name
    path.write_bytes(_tar(entries, fmt))
    return path


def _huge_header(fmt: int, size: int) -> bytes:
    """A tar whose first header (GNU long-name or PAX) declares ``size`` bytes of header data."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        info = tarfile.TarInfo("sesrego/" + "n" * 300 + ".rego")
        tar.addfile(info, io.BytesIO(b""))
    header = bytearray(raw.getvalue()[:512])
    assert header[156:157] in (b"L", b"x")
    header[124:136] = f"{size:011o}\0".encode()
    header[148:156] = b"        "
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    return gzip.compress(bytes(header) + b"a" * 1024 * 64)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu-long-name", "pax"])
def test_a_huge_declared_header_is_refused_before_it_is_read(tmp_path, fmt):
    path = tmp_path / "b.tar.gz"
    path.write_bytes(_huge_header(fmt, 1024 ** 3))  # 1 GiB of header data declared in 64 KiB
    with pytest.raises(BundleError, match="unpacks to more than .* bytes \\(tar headers included\\)"):
        read_bundle(path)
    for command in (["bundle", "inspect", path], ["diff", path]):
        result = run(*command)
        assert result.exit_code == 2 and "tar headers included" in result.stderr and "Traceback" not in result.output


def test_long_names_within_the_limit_are_read(tmp_path):
    name = "sesrego/" + "d" * 200 + ".rego"
    path = _bundle(tmp_path, [(name, b"package a\n")])
    assert read_bundle(path) == {name: b"package a\n"}
    small = _bundle(tmp_path, [("x" * 3000 + ".rego", b"package a\n")], name="long.tar.gz")
    with pytest.raises(BundleError, match="tar headers included"):
        read_bundle(small, limit=1000)


LAUGHS = "\n".join([f"l0: &l0 [{', '.join(['lol'] * 9)}]"] +
                   [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]) + "\n"


def test_billion_laughs_in_data_yaml_and_metadata_cost_nothing(tmp_path):
    rego = ("# METADATA\n" + "".join(f"# {line}\n" for line in LAUGHS.splitlines()) + "package laughs\n").encode()
    path = _bundle(tmp_path, [("sesrego/data.yaml", LAUGHS.encode()), ("sesrego/laughs.rego", rego),
                              (".manifest", b'{"revision": "x", "roots": ["sesrego"]}')])
    result = run("bundle", "inspect", path, "-f", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["data"][0]["paths"][0].startswith("data.sesrego (unreadable: not valid YAML: aliases expand")
    assert report["packages"][0]["annotations"] == []  # the block is skipped, not expanded
    key = tmp_path / "secret"
    key.write_bytes(b"k")
    verified = run("bundle", "verify", path, "--verification-key", key, "--signing-alg", "HS256")
    assert verified.exit_code == 1 and "not signed" in verified.output


@pytest.mark.parametrize("manifest,shown", [
    (b"[1, 2]", ".manifest is a JSON list, not an object"),
    (b"{", ".manifest is not valid JSON"),
    (b'{"revision": NaN}', ".manifest is not valid JSON"),
    (b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}", ".manifest is not valid JSON"),
    (b'{"revision": 7, "roots": "sesrego", "rego_version": [1], "metadata": {"rules": "SES-001", '
     b'"sources": {"a": 1}, "generator": ["x"]}}', "Revision"),
    (b'{"metadata": []}', "Revision"),
])
def test_inspect_shows_a_malformed_manifest(tmp_path, manifest, shown):
    path = _bundle(tmp_path, [(".manifest", manifest), ("a.rego", b"package a\n")])
    for fmt in ("table", "json"):
        result = run("bundle", "inspect", path, "-f", fmt)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert shown in run("bundle", "inspect", path).stdout


@pytest.mark.parametrize("metadata", [
    "# title: released 2024-01-31\n# custom:\n#   since: 2024-01-31\n#   at: 2024-01-31T10:00:00Z\n",
    "# title: [a, list]\n# custom:\n#   id: {a: b}\n",
    "# title: !!binary aGVsbG8=\n",
    "# : [\n",
    "# title: !!python/object:os.system 'echo hi'\n",
])
def test_inspect_survives_any_metadata(tmp_path, metadata):
    rego = f"# METADATA\n{metadata}# scope: package\npackage a\n".encode()
    path = _bundle(tmp_path, [("a.rego", rego)])
    for fmt in ("table", "json"):
        result = run("bundle", "inspect", path, "-f", fmt)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    if "2024-01-31" in metadata:
        report = json.loads(run("bundle", "inspect", path, "-f", "json").stdout)
        assert report["packages"][0]["annotations"][0]["custom"] == {"since": "2024-01-31",
                                                                     "at": "2024-01-31T10:00:00Z"}


@pytest.mark.parametrize("name,body", [
    ("sesrego/data.json", b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}"),
    ("sesrego/data.json", b'{"a": NaN}'),
    ("sesrego/data.json", b'{"a": 1' + b"0" * 5000 + b"}"),
    ("sesrego/data.yaml", b"a: .inf\n"),
    (".manifest", b"[" * 3000 + b"]" * 3000),
])
def test_verify_reports_unreadable_structured_files_in_one_line(tmp_path, name, body):
    key = tmp_path / "secret"
    key.write_bytes(b"k")
    built = tmp_path / "signed.tar.gz"
    assert run("bundle", "-o", built, "--signing-key", key, "--signing-alg", "HS256", "--no-sources").exit_code == 0
    files = read_bundle(built)
    files[name] = body
    path = _bundle(tmp_path, sorted(files.items(), key=lambda item: item[0] != ".signatures.json"), "evil.tar.gz")
    result = run("bundle", "verify", path, "--verification-key", key, "--signing-alg", "HS256")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert any(line.startswith(f"{path}: {name}: ") for line in result.stdout.splitlines()), result.stdout
    assert all("\n" not in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("claims,words", [
    (b'{"exp": NaN}', "NaN is not a JSON number"),
    (b'{"exp": Infinity}', "Infinity is not a JSON number"),
    (b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}", "nested"),
    (b'{"a": 1' + b"0" * 5000 + b"}", "more digits"),
    (b"[]", "must hold a JSON object"),
    (b"\xff", "not UTF-8"),
])
def test_claims_files_are_strict_json(tmp_path, claims, words):
    key, path = tmp_path / "secret", tmp_path / "claims.json"
    key.write_bytes(b"k")
    path.write_bytes(claims)
    out = tmp_path / "b.tar.gz"
    result = run("bundle", "-o", out, "--signing-key", key, "--signing-alg", "HS256", "--claims-file", path)
    assert result.exit_code == 2 and words in result.stderr and result.stderr.count("Error:") == 1, result.output
    assert not out.exists()


def test_nan_in_data_is_never_built_into_a_bundle(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("sesrego:\n  config:\n    administrators: [a]\nextra: .nan\n")
    result = run("bundle", "-o", tmp_path / "b.tar.gz", "--data", config)
    assert result.exit_code == 2 and "NaN" in result.stderr.replace("nan", "NaN")
    assert not (tmp_path / "b.tar.gz").exists()


# --- guidance parsing is linear --------------------------------------------------------------------------

# Each text is a few hundred KB; a parser quadratic in it would take hours, a linear one milliseconds.
CRAFTED = {
    "unclosed link targets": "* **Preventative control example:** " + "implementing a:b(" * 40_000,
    "unclosed admin links": "* **Preventative control example:** " + "restricting A(" * 50_000,
    "unclosed see links": "* **Preventative control example:** " + "See [x](" * 60_000,
    "unclosed see texts": "* **Preventative control example:** " + "See [" * 100_000,
    "spaces in applicability": "Perimeter type applicability: a" + " " * 400_000 + "b",
    "long key run": "* **Preventative control example:** implementing " + "a" * 400_000,
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_guidance_parsing_is_linear_on_crafted_text(name):
    clean = read_text(DEFAULT_GUIDANCE[0]).text
    text = clean.replace("Perimeter type applicability: Resource perimeter", CRAFTED[name], 1) \
        if "applicability" in name else \
        clean.replace("* **Preventative control example:**", CRAFTED[name] + "\n* **Preventative control example:**", 1)
    try:
        parse_sources([], [Text("crafted.md", text, "0" * 64)])
    except SesregoError as exc:
        assert "\n" not in exc.located()[:200]


def test_many_reviewed_api_headings_are_linear():
    clean = read_text(DEFAULT_GUIDANCE[0]).text
    text = clean + "\n" + "**List of service APIs reviewed\n" * 100_000
    with pytest.raises(SesregoError, match="no '\\*\\*List of service APIs reviewed"):
        parse_sources([], [Text("crafted.md", text, "0" * 64)])


@pytest.mark.parametrize("body,shown", [
    (b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}", "nested"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b"\xff", "not UTF-8"),
])
def test_inspect_shows_an_unreadable_data_document(tmp_path, body, shown):
    path = _bundle(tmp_path, [("sesrego/data.json", body)])
    result = run("bundle", "inspect", path, "-f", "json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)["data"]
    assert entry["paths"][0].startswith("data.sesrego (unreadable: ") and shown in entry["paths"][0]


@pytest.mark.parametrize("manifest,words", [
    (b"[" * 5000 + b"]" * 5000, "nested more than 100 levels"),
    (b'{"metadata": {"sources": NaN}}', "NaN is not a JSON number"),
    (b'{"metadata": 1}', "its .manifest has no metadata.sources"),
])
def test_diff_reads_a_hostile_manifest_as_one_error_naming_the_bundle(tmp_path, manifest, words):
    path = _bundle(tmp_path, [(".manifest", manifest)])
    result = run("diff", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}") and words in line, line


def test_a_bundle_module_that_is_not_utf8_is_the_bundles_error_not_each_inputs(tmp_path):
    built = tmp_path / "good.tar.gz"
    assert run("bundle", "-o", built).exit_code == 0
    entries = list(read_bundle(built).items()) + [("sesrego/x.rego", b"package sesrego.x\n# \xff\n")]
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": "1.2", "planned_values": {"root_module": {}}}')
    result = run("scan", "-j", "1", "--bundle", _bundle(tmp_path, entries), plan, plan)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "b.tar.gz: sesrego/x.rego is not UTF-8" in result.output and "plan.json" not in result.output

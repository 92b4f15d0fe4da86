"""Bundle signing and verification in OPA's format: .signatures.json, canonical hashing, JWT checks."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sesrego.bundle import read_bundle, tar_gz
from sesrego.cli import cli
from sesrego.signing import SIGNATURES, canonical_json, file_hash, parse_structured

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

SECRET = b"a shared secret of at least 32 bytes, exactly as in the file\n"


def _pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """RSA, EC P-256 and HMAC keys, and a second RSA key that signed nothing."""
    root = tmp_path_factory.mktemp("keys")
    paths = {}
    for name, key in (("rsa", rsa.generate_private_key(65537, 2048)), ("ec", ec.generate_private_key(ec.SECP256R1())),
                      ("other", rsa.generate_private_key(65537, 2048))):
        (root / f"{name}.pem").write_bytes(_pem_private(key))
        (root / f"{name}.pub").write_bytes(_pem_public(key))
        paths[name], paths[f"{name}.pub"] = root / f"{name}.pem", root / f"{name}.pub"
    (root / "hs.key").write_bytes(SECRET)
    paths["hs"] = root / "hs.key"
    return paths


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def build_signed(tmp_path, keys, name="signed.tar.gz", *extra):
    out = tmp_path / name
    result = run("bundle", "-o", out, "--signing-key", keys["rsa"], "--key-id", "sesrego", *extra)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def signed(tmp_path_factory, keys):
    return build_signed(tmp_path_factory.mktemp("signed"), keys)


def verify(path, key, *extra):
    return run("bundle", "verify", path, "--verification-key", key, *extra)


def rewrite(source, target, change):
    files = read_bundle(source)
    change(files)
    target.write_bytes(tar_gz(files))
    return target


# --- the format ----------------------------------------------------------------------------


def test_signatures_file_is_opas_format_and_first_in_the_tarball(signed, keys):
    with tarfile.open(signed) as tar:
        names = tar.getnames()
    assert names[0] == SIGNATURES and names[1:] == sorted(names[1:])
    files = read_bundle(signed)
    document = json.loads(files[SIGNATURES])
    assert list(document) == ["signatures"] and len(document["signatures"]) == 1
    assert files[SIGNATURES].startswith(b'{\n "signatures": [\n  "')  # json.MarshalIndent(v, "", " ")
    token = document["signatures"][0]
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": "sesrego"}
    # Checked with PyJWT directly, independently of sesrego.signing.
    payload = jwt.decode(token, keys["rsa.pub"].read_bytes(), algorithms=["RS256"])
    assert payload["keyid"] == "sesrego" and "iat" not in payload and "scope" not in payload
    listed = {f["name"]: f for f in payload["files"]}
    assert set(listed) == set(files) - {SIGNATURES}
    assert not any(name.startswith("/") for name in listed)
    assert all(f["algorithm"] == "SHA-256" for f in listed.values())
    rego = "sesrego/rules/ses_001/ses_001.rego"
    assert listed[rego]["hash"] == hashlib.sha256(files[rego]).hexdigest()
    source = "sesrego/sources/catalogs/ses-v1.md"
    assert listed[source]["hash"] == hashlib.sha256(files[source]).hexdigest()
    manifest = json.loads(files[".manifest"])
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert listed[".manifest"]["hash"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_canonical_json_hash_matches_opas_own_test_vector():
    # OPA v1/bundle/hash_test.go: HashFile(map) equals the digest of Go's json.Marshal of the map,
    # numbers as written (json.Number), keys sorted, compact.
    body = (b'{ "key2": {"c": 123.45678911111111111111111111111111111111111111111111111, "b": 1, "a": 0},\n'
            b'  "key1": ["element1", "element2"] }')
    expected_stream = (b'{"key1":["element1","element2"],'
                       b'"key2":{"a":0,"b":1,"c":123.45678911111111111111111111111111111111111111111111111}}')
    assert file_hash("data.json", body) == hashlib.sha256(expected_stream).hexdigest()


def test_canonical_json_escapes_like_gos_encoder_without_html_escaping():
    text = '{"z": "<a&b>", "a": "line\\nsep\u2028 \u00e9 \\u0001", "n": [1e3, -0, true, null]}'
    value = parse_structured(".manifest", text.encode())
    assert canonical_json(value) == '{"a":"line\\nsep\\u2028 \u00e9 \\u0001","n":[1e3,-0,true,null],"z":"<a&b>"}'
    # Whitespace and key order do not change a structured file's hash; they do change a .rego's.
    assert file_hash("x/data.json", b'{"b":1,"a":2}') == file_hash("x/data.json", b'{ "a": 2,\n "b": 1 }')
    assert file_hash("x/p.rego", b"package a\n") != file_hash("x/p.rego", b"package a \n")


# --- verification ---------------------------------------------------------------------------


def test_signed_bundle_verifies(signed, keys):
    result = verify(signed, keys["rsa.pub"], "--key-id", "sesrego")
    assert result.exit_code == 0, result.output
    assert "verified (RS256, key id sesrego" in result.stdout


@pytest.mark.parametrize("kind,alg", [("ec", "ES256"), ("hs", "HS256")])
def test_other_algorithms_sign_verify_and_are_reproducible(tmp_path, keys, kind, alg):
    outputs = []
    for name in ("one.tar.gz", "two.tar.gz"):
        result = run("bundle", "-o", tmp_path / name, "--signing-key", keys[kind], "--signing-alg", alg)
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    key = keys["ec.pub"] if kind == "ec" else keys["hs"]
    result = verify(tmp_path / "one.tar.gz", key, "--signing-alg", alg)
    assert result.exit_code == 0, result.output
    token = json.loads(read_bundle(tmp_path / "one.tar.gz")[SIGNATURES])["signatures"][0]
    assert jwt.decode(token, keys["ec.pub"].read_bytes() if kind == "ec" else SECRET, algorithms=[alg])["files"]


def test_signed_bundle_is_byte_identical_without_iat(tmp_path, keys, signed):
    again = build_signed(tmp_path, keys)
    assert again.read_bytes() == signed.read_bytes()


def test_iat_is_added_on_request(tmp_path, keys):
    out = build_signed(tmp_path, keys, "iat.tar.gz", "--iat", "--scope", "write")
    payload = jwt.decode(json.loads(read_bundle(out)[SIGNATURES])["signatures"][0], options={"verify_signature": False})
    assert isinstance(payload["iat"], int) and payload["scope"] == "write"
    assert verify(out, keys["rsa.pub"], "--scope", "write").exit_code == 0
    mismatch = verify(out, keys["rsa.pub"])
    assert mismatch.exit_code == 1 and "scope mismatch" in mismatch.stdout


def test_claims_file_adds_claims(tmp_path, keys):
    claims = tmp_path / "claims.json"
    claims.write_text('{"iss": "ci", "scope": "read"}')
    out = build_signed(tmp_path, keys, "claims.tar.gz", "--claims-file", claims)
    payload = jwt.decode(json.loads(read_bundle(out)[SIGNATURES])["signatures"][0], options={"verify_signature": False})
    assert payload["iss"] == "ci" and payload["scope"] == "read"


@pytest.mark.parametrize("number", ["1e400", "-1E+999", "NaN", "Infinity"])
def test_a_claim_that_would_become_infinity_is_refused_before_signing(tmp_path, keys, number):
    claims = tmp_path / "claims.json"
    claims.write_text(f'{{"iss": "ci", "big": {number}}}')
    result = CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "c.tar.gz"), "--signing-key", str(keys["rsa"]),
                                      "--claims-file", str(claims)])
    assert result.exit_code == 2 and f"Error: {claims}: not valid JSON" in result.stderr, result.output
    assert not (tmp_path / "c.tar.gz").exists()
    claims.write_text('{"iss": "ci", "big": 1e300}')  # a large number that is a float stays one
    assert CliRunner().invoke(cli, ["bundle", "-o", str(tmp_path / "c.tar.gz"), "--signing-key", str(keys["rsa"]),
                                    "--claims-file", str(claims)]).exit_code == 0


def _tamper(files):
    files["sesrego/rules/ses_001/ses_001.rego"] += b"\n# tampered\n"


def _add(files):
    files["sesrego/extra.rego"] = b"package sesrego.extra\n"


def _remove(files):
    del files["sesrego/rules/ses_008/ses_008.rego"]


def _data(files):
    data = json.loads(files["sesrego/data.json"])
    data["facts"]["recipient_key"] = "ses:fromaddress"
    files["sesrego/data.json"] = json.dumps(data).encode()


@pytest.mark.parametrize("change,name,word", [
    (_tamper, "sesrego/rules/ses_001/ses_001.rego", "modified"),
    (_add, "sesrego/extra.rego", "added"),
    (_remove, "sesrego/rules/ses_008/ses_008.rego", "removed"),
    (_data, "sesrego/data.json", "modified"),
])
def test_changed_files_are_named_and_fail(tmp_path, signed, keys, change, name, word):
    bad = rewrite(signed, tmp_path / "bad.tar.gz", change)
    result = verify(bad, keys["rsa.pub"])
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if name in line]
    assert problems and word in problems[0]
    assert "verification failed" in result.stderr


def test_reformatted_json_still_verifies(tmp_path, signed, keys):
    """Hashes of JSON files are over the canonical form, so re-indenting is not tampering."""
    def reindent(files):
        files["sesrego/data.json"] = json.dumps(json.loads(files["sesrego/data.json"]), indent=4).encode()
    assert verify(rewrite(signed, tmp_path / "re.tar.gz", reindent), keys["rsa.pub"]).exit_code == 0


def test_wrong_key_fails(signed, keys):
    result = verify(signed, keys["other.pub"])
    assert result.exit_code == 1
    assert "signature does not verify" in result.output


def test_wrong_key_id_fails(signed, keys):
    result = verify(signed, keys["rsa.pub"], "--key-id", "someone-else")
    assert result.exit_code == 1 and "key id" in result.stdout


def test_unsigned_bundle_fails_verification(tmp_path, keys):
    out = tmp_path / "plain.tar.gz"
    assert run("bundle", "-o", out).exit_code == 0
    result = verify(out, keys["rsa.pub"])
    assert result.exit_code == 1 and "not signed" in result.output


def test_unreadable_inputs_exit_2(tmp_path, signed, keys):
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball")
    assert verify(garbage, keys["rsa.pub"]).exit_code == 2
    assert verify(signed, tmp_path / "missing.pub").exit_code == 2
    result = run("bundle", "-o", tmp_path / "x.tar.gz", "--signing-key", keys["ec"], "--signing-alg", "RS256")
    assert result.exit_code == 2 and "use --signing-alg ES256" in result.output and "Traceback" not in result.output


def test_signing_options_need_a_key(tmp_path):
    result = run("bundle", "-o", tmp_path / "x.tar.gz", "--key-id", "k")
    assert result.exit_code == 2 and "need --signing-key" in result.output


# --- OPA itself ---------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("opa") is None, reason="opa is not on PATH; OPA's own verification not run")
def test_opa_verifies_and_inspects_the_signed_bundle(signed, keys, tmp_path):
    inspect = subprocess.run(["opa", "inspect", "-a", str(signed)], capture_output=True, text=True, timeout=60)
    assert inspect.returncode == 0, inspect.stderr
    assert "sesrego.rules.ses_001" in inspect.stdout
    check = subprocess.run(["opa", "build", "-b", str(signed), "--verification-key", str(keys["rsa.pub"]),
                            "--verification-key-id", "sesrego", "-o", str(tmp_path / "rebuilt.tar.gz")],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    bad = rewrite(signed, tmp_path / "bad.tar.gz", _tamper)
    check = subprocess.run(["opa", "build", "-b", str(bad), "--verification-key", str(keys["rsa.pub"]),
                            "--verification-key-id", "sesrego", "-o", str(tmp_path / "bad-out.tar.gz")],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode != 0 and "digest mismatch" in check.stderr


def test_tarball_helper_reads_back(signed):
    with tarfile.open(fileobj=io.BytesIO(signed.read_bytes())) as tar:
        assert all(m.mtime == 0 and m.mode == 0o644 for m in tar.getmembers())

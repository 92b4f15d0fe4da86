"""OPA bundle signatures: ``.signatures.json`` written and checked the way OPA does.

The format (OPA ``v1/bundle/sign.go``, ``verify.go``, ``hash.go``):

* ``.signatures.json`` at the bundle root holds ``{"signatures": ["<JWT>"]}`` (exactly one JWT);
* the JWT payload lists every other file as ``{"name", "hash", "algorithm"}`` (names without a
  leading slash), plus optional ``keyid``, ``scope``, ``iat`` and claims from a claims file;
* ``.rego`` and other unstructured files are hashed as raw bytes; ``data.json``, ``data.yaml``
  and ``.manifest`` are parsed and hashed over a canonical stream (object keys sorted, compact
  separators, primitives as Go's ``json.Encoder`` writes them without HTML escaping, numbers
  exactly as written in the file).

JWS and keys are PyJWT's and cryptography's. ECDSA signs deterministically (RFC 6979) so that a
signed bundle is byte-identical across builds, like RSA PKCS#1 v1.5 and HMAC signatures are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import load_pem_x509_certificate
from jwt.algorithms import ECAlgorithm
from jwt.utils import der_to_raw_signature

from .documents import load_json, load_yaml
from .errors import BundleError
from .reading import read_file

SIGNATURES = ".signatures.json"
HASH_ALGORITHM = "SHA-256"
#: The algorithms sesrego signs and verifies with; all give the same bytes for the same input.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512")
DEFAULT_ALGORITHM = "RS256"  # as `opa build --signing-alg`
#: Files OPA parses before hashing (``IsStructuredDoc`` in bundle.go); everything else is raw bytes.
STRUCTURED = frozenset({"data.json", "data.yaml", "signatures.json", ".manifest"})
_HASHES = {"MD5": hashlib.md5, "SHA-1": hashlib.sha1, "SHA-224": hashlib.sha224, "SHA-256": hashlib.sha256,
           "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512,
           "SHA-512-224": lambda: hashlib.new("sha512_224"), "SHA-512-256": lambda: hashlib.new("sha512_256")}
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class VerificationError(BundleError):
    """The bundle's signature or a file hash does not check out. Exit status 1."""

    exit_code = 1


# --- canonical hashing ---------------------------------------------------------------


class _Number(str):
    """A JSON number kept as written, as Go's ``json.Number`` keeps it."""


def _go_string(value: str) -> str:
    """A JSON string as Go's encoder writes it with ``SetEscapeHTML(false)``."""
    value = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def canonical_json(value: object) -> str:
    """OPA's canonical stream for a parsed JSON value (``walk`` in hash.go)."""
    if isinstance(value, dict):
        return "{" + ",".join(_go_string(k) + ":" + canonical_json(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return _go_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BundleError("NaN and Infinity are not JSON numbers; OPA refuses such a bundle")
        return json.dumps(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def parse_structured(name: str, body: bytes) -> object:
    """A structured bundle file parsed as OPA parses it (numbers kept as written).

    Read with :mod:`sesrego.documents`' bounds: no NaN or Infinity, nesting and YAML aliases
    bounded, so hashing (which recurses) never runs out of stack.
    """
    try:
        return load_json(body, name, error=BundleError, parse_int=_Number, parse_float=_Number)
    except BundleError:
        if not name.endswith((".yaml", ".yml")):
            raise
    return load_yaml(body, name, error=BundleError)


def is_structured(name: str) -> bool:
    return PurePosixPath(name).name in STRUCTURED


def file_hash(name: str, body: bytes, algorithm: str = HASH_ALGORITHM) -> str:
    """The hex digest OPA records for one bundle file."""
    try:
        digest = _HASHES[algorithm]()
    except KeyError:
        raise BundleError(f"{name}: unsupported hashing algorithm {algorithm!r}") from None
    if is_structured(name):
        digest.update(canonical_json(parse_structured(name, body)).encode("utf-8"))
    else:
        digest.update(body)
    return digest.hexdigest()


def signed_files(files: Mapping[str, bytes]) -> list[dict]:
    """The payload's ``files``: every file except ``.signatures.json``, sorted by name."""
    return [{"name": name.lstrip("/"), "hash": file_hash(name, body), "algorithm": HASH_ALGORITHM}
            for name, body in sorted(files.items()) if name.lstrip("/") != SIGNATURES]


# --- keys ----------------------------------------------------------------------------


def _read_key_file(path: Path) -> bytes:
    return read_file(path, what="key", error=BundleError)


def _is_pem(raw: bytes) -> bool:
    return raw.lstrip().startswith(b"-----BEGIN")


def _algorithm_for(key, path: Path) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RS256"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if key.curve.name in _CURVES:
            return _CURVES[key.curve.name]
    raise BundleError(f"unsupported key type {type(key).__name__}; use an RSA or EC (P-256/384/521) key", path=path)


def _check_key(key, algorithm: str, path: Path) -> None:
    expected = _algorithm_for(key, path)
    if algorithm[:2] != expected[:2] or (algorithm.startswith("ES") and algorithm != expected):
        kind = "an RSA" if expected.startswith("RS") else f"an EC ({key.curve.name})"
        raise BundleError(f"{kind} key cannot sign {algorithm}; use --signing-alg {expected}", path=path)


def load_signing_key(path: Path, algorithm: str | None) -> tuple[object, str]:
    """The private key (or HMAC secret, the file's exact bytes, as OPA reads it) and its algorithm."""
    raw = _read_key_file(path)
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise BundleError(f"unsupported signing algorithm {algorithm}; use one of {', '.join(ALGORITHMS)}")
    if algorithm and algorithm.startswith("HS"):
        if not raw:
            raise BundleError("the HMAC secret is empty", path=path)
        if _is_pem(raw):
            raise BundleError(f"{algorithm} needs a shared secret, not a PEM key", path=path)
        return raw, algorithm
    if not _is_pem(raw):
        raise BundleError("not a PEM private key (for a shared secret pass --signing-alg HS256)", path=path)
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise BundleError(f"not a usable unencrypted PEM private key: {exc}", path=path) from None
    algorithm = algorithm or _algorithm_for(key, path)
    _check_key(key, algorithm, path)
    return key, algorithm


def load_verification_key(path: Path, algorithm: str | None) -> tuple[object, str]:
    """A public key, certificate or private key in PEM (or an HMAC secret) and its algorithm."""
    raw = _read_key_file(path)
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise BundleError(f"unsupported signing algorithm {algorithm}; use one of {', '.join(ALGORITHMS)}")
    if algorithm and algorithm.startswith("HS"):
        if not raw:
            raise BundleError("the HMAC secret is empty", path=path)
        return raw, algorithm
    if not _is_pem(raw):
        raise BundleError("not a PEM public key (for a shared secret pass --signing-alg HS256)", path=path)
    key = None
    loaders = (serialization.load_pem_public_key, lambda b: load_pem_x509_certificate(b).public_key(),
               lambda b: serialization.load_pem_private_key(b, password=None).public_key())
    for loader in loaders:
        try:
            key = loader(raw)
            break
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    if key is None:
        raise BundleError("not a PEM public key, certificate or unencrypted private key", path=path)
    algorithm = algorithm or _algorithm_for(key, path)
    _check_key(key, algorithm, path)
    return key, algorithm


# --- signing ---------------------------------------------------------------------------


class _DeterministicEC(ECAlgorithm):
    """ES256/384/512 with RFC 6979 nonces, so equal inputs give equal signatures."""

    def sign(self, msg: bytes, key) -> bytes:
        try:
            der = key.sign(msg, ec.ECDSA(self.hash_alg(), deterministic_signing=True))
        except UnsupportedAlgorithm:  # OpenSSL < 3.2: still valid, only not reproducible
            der = key.sign(msg, ec.ECDSA(self.hash_alg()))
        return der_to_raw_signature(der, key.curve)


def _jws() -> jwt.PyJWS:
    api = jwt.PyJWS()
    for name, hash_alg in (("ES256", ECAlgorithm.SHA256), ("ES384", ECAlgorithm.SHA384),
                           ("ES512", ECAlgorithm.SHA512)):
        api.unregister_algorithm(name)
        api.register_algorithm(name, _DeterministicEC(hash_alg))
    return api


@dataclass(frozen=True, slots=True)
class SigningOptions:
    key: Path
    algorithm: str | None = None  # None: from the key type (RSA: RS256, EC P-256: ES256)
    key_id: str | None = None
    scope: str | None = None
    claims_file: Path | None = None
    iat: bool = False  # add an issued-at claim; the bundle is then no longer reproducible


def _claims(path: Path) -> dict:
    raw = read_file(path, what="claims file", error=BundleError)
    claims = load_json(raw, path, error=BundleError)
    if not isinstance(claims, dict):
        raise BundleError("claims file must hold a JSON object", path=path)
    if "files" in claims:
        raise BundleError("claims file must not set 'files'; sesrego lists the bundle's files", path=path)
    return claims


def _issued_at() -> int:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return int(epoch)
    return int(time.time())


def signature_token(files: Mapping[str, bytes], options: SigningOptions) -> str:
    """The JWT over ``files`` (every bundle file but ``.signatures.json``)."""
    key, algorithm = load_signing_key(options.key, options.algorithm)
    payload: dict = {"files": signed_files(files)}
    if options.claims_file is not None:
        payload.update(_claims(options.claims_file))
    if options.key_id:
        payload.setdefault("keyid", options.key_id)
    if options.scope:
        payload["scope"] = options.scope
    if options.iat:
        payload["iat"] = _issued_at()
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"typ": None}
    if options.key_id:
        headers["kid"] = options.key_id
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyJWT's short-HMAC-key warning: OPA accepts any secret
            return _jws().encode(body, key, algorithm=algorithm, headers=headers)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise BundleError(f"cannot sign with {options.key}: {exc}") from None


def signatures_bytes(token: str) -> bytes:
    """``.signatures.json`` laid out as ``opa build`` writes it (``json.MarshalIndent(v, "", " ")``)."""
    return json.dumps({"signatures": [token]}, indent=1).encode("utf-8")


def sign(files: Mapping[str, bytes], options: SigningOptions) -> dict[str, bytes]:
    """``files`` plus ``.signatures.json``."""
    signed = {name: body for name, body in files.items() if name != SIGNATURES}
    signed[SIGNATURES] = signatures_bytes(signature_token(signed, options))
    return signed


# --- verification ----------------------------------------------------------------------


@dataclass
class Verification:
    """What ``sesrego bundle verify`` found; ``ok`` when there is no problem."""

    algorithm: str = ""
    key_id: str | None = None
    scope: str | None = None
    issued_at: int | None = None
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def decode_segment(segment: str, what: str) -> dict:
    try:
        padded = segment + "=" * (-len(segment) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise VerificationError(f".signatures.json: the JWT {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise VerificationError(f".signatures.json: the JWT {what} is not a JSON object")
    return value


def read_token(files: Mapping[str, bytes]) -> str:
    if SIGNATURES not in files:
        raise VerificationError("bundle is not signed: it has no .signatures.json")
    try:
        document = json.loads(files[SIGNATURES])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise VerificationError(".signatures.json is not JSON") from None
    tokens = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(tokens, list) or not tokens:
        raise VerificationError(".signatures.json: missing JWT (expected exactly one)")
    if len(tokens) > 1:
        raise VerificationError(".signatures.json: multiple JWTs not supported (expected exactly one)")
    if not isinstance(tokens[0], str) or tokens[0].count(".") != 2:
        raise VerificationError(".signatures.json: the signature is not a compact JWT")
    return tokens[0]


def verify(files: Mapping[str, bytes], key_path: Path, *, algorithm: str | None = None,
           key_id: str | None = None, scope: str | None = None) -> Verification:
    """Check the JWT with the key, then that the signed list is exactly the bundle's files and
    every hash matches. Problems with the files are collected; a bad signature stops at once."""
    inferred = algorithm is None
    key, algorithm = load_verification_key(key_path, algorithm)
    result = Verification(algorithm=algorithm)
    token = read_token(files)
    header_segment = token.split(".")[0]
    header = decode_segment(header_segment, "header")
    if header.get("alg") != algorithm:
        hint = "the verification key does not match (wrong key?)" if inferred else \
            f"pass --signing-alg {header.get('alg')} if that is expected"
        raise VerificationError(f"bundle is signed with {header.get('alg')!r}, not {algorithm}: {hint}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = json.loads(_jws().decode(token, key, algorithms=[algorithm]))
    except jwt.InvalidSignatureError:
        raise VerificationError("signature does not verify with the given key") from None
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise VerificationError(f"signature cannot be checked: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
        raise VerificationError(".signatures.json: the JWT payload has no 'files' list")
    result.key_id = header.get("kid") or payload.get("keyid")
    result.scope = payload.get("scope")
    result.issued_at = payload.get("iat") if isinstance(payload.get("iat"), int) else None
    if key_id and result.key_id and result.key_id != key_id:
        result.problems.append(f"signed with key id {result.key_id!r}, expected {key_id!r}")
    if (scope or None) != (result.scope or None):
        result.problems.append(f"scope mismatch: signed {result.scope!r}, expected {scope!r}")
    signed: dict[str, dict] = {}
    for entry in payload["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            result.problems.append(f"malformed file entry in the signature: {entry!r}")
            continue
        if entry["name"] in signed:
            result.problems.append(f"{entry['name']}: listed twice in the signature")
        signed[entry["name"]] = entry
    present = {name.lstrip("/"): body for name, body in files.items() if name.lstrip("/") != SIGNATURES}
    for name in sorted(set(present) - set(signed)):
        result.problems.append(f"{name}: not included in the bundle signature (added)")
    for name in sorted(set(signed) - set(present)):
        result.problems.append(f"{name}: listed in the signature but missing from the bundle (removed)")
    for name in sorted(set(signed) & set(present)):
        entry = signed[name]
        algorithm_name = entry.get("algorithm") or ""
        if not algorithm_name:
            result.problems.append(f"{name}: no hashing algorithm in the signature")
            continue
        try:
            actual = file_hash(name, present[name], algorithm_name)
        except BundleError as exc:
            result.problems.append(f"{name}: {exc.problem}")
            continue
        if actual != str(entry.get("hash", "")).lower():
            result.problems.append(f"{name}: digest mismatch (signed {entry.get('hash')}, found {actual}) (modified)")
    result.files = len(present)
    return result

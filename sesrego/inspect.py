"""What a bundle holds, like ``opa inspect -a``: manifest, packages with their METADATA, data
paths, signature, and the recorded source documents.

Works on the files :func:`sesrego.bundle.read_bundle` returned (which refuses unsafe archives);
nothing here writes to disk or evaluates anything. The signature is described, not verified
(``sesrego bundle verify`` does that). Any bundle can be inspected: a malformed manifest or
METADATA block is shown as such, YAML is read with :mod:`sesrego.documents`' bounds, and every
text from the bundle is escaped before it reaches a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from .documents import load_json, load_yaml
from .errors import SesregoError, json_text, printable
from .signing import SIGNATURES, VerificationError, decode_segment, read_token

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.\[\]\"-]*)\s*$", re.MULTILINE)
DATA_FILES = ("data.json", "data.yaml", "data.yml")


def metadata_blocks(text: str) -> list[dict]:
    """Every ``# METADATA`` block of a Rego file, parsed as YAML (unparsable blocks are skipped)."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].strip() == "# METADATA":
            body = []
            i += 1
            while i < len(lines) and lines[i].startswith("#"):
                body.append(lines[i][1:])
                i += 1
            try:
                value = load_yaml("\n".join(body), "METADATA")
            except SesregoError:
                value = None
            if isinstance(value, dict):
                blocks.append(value)
            continue
        i += 1
    return blocks


def _package(path: str, text: str) -> dict:
    match = _PACKAGE.search(text)
    blocks = metadata_blocks(text)
    package_block = next((b for b in blocks if b.get("scope") in ("package", "subpackages")), None)
    title = (package_block or (blocks[0] if blocks else {})).get("title")
    title = title if isinstance(title, str) or title is None else json.dumps(title)
    ids = sorted({str(b["custom"]["id"]) for b in blocks
                  if isinstance(b.get("custom"), dict) and isinstance(b["custom"].get("id"), (str, int))})
    return {"package": match.group(1) if match else None, "file": path, "title": title, "rule_ids": ids,
            "annotations": blocks}


def _data_paths(path: str, body: bytes) -> list[str]:
    directory = PurePosixPath(path).parent
    base = ["data"] + [part for part in directory.parts if part not in ("", ".", "/")]
    try:
        value = load_json(body, path) if path.endswith(".json") else load_yaml(body, path)
    except SesregoError as exc:
        return [".".join(base) + f" (unreadable: {exc.problem})"]
    if isinstance(value, dict) and value:
        return [".".join(base + [str(key)]) for key in sorted(value)]
    return [".".join(base)]


def _signature(files: Mapping[str, bytes]) -> dict:
    if SIGNATURES not in files:
        return {"signed": False}
    try:
        token = read_token(files)
        header = decode_segment(token.split(".")[0], "header")
        payload = decode_segment(token.split(".")[1], "payload")
    except VerificationError as exc:
        return {"signed": True, "error": exc.problem}
    files_listed = payload.get("files")
    return {"signed": True, "verified": False, "algorithm": _scalar(header.get("alg")),
            "key_id": _scalar(header.get("kid") or payload.get("keyid")), "scope": _scalar(payload.get("scope")),
            "iat": _scalar(payload.get("iat")), "files": len(files_listed) if isinstance(files_listed, list) else 0}


def _scalar(value: object) -> object:
    """A JSON scalar as is; anything else (a list where a string belongs) as its JSON text."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else json.dumps(value)


def _manifest(files: Mapping[str, bytes]) -> dict | None:
    """The manifest, or ``{"error": ...}`` saying why it cannot be read."""
    if ".manifest" not in files:
        return None
    try:
        manifest = load_json(files[".manifest"], ".manifest")
    except SesregoError as exc:
        return {"error": f".manifest is not valid JSON: {exc.problem}"}
    if not isinstance(manifest, dict):
        return {"error": f".manifest is a JSON {type(manifest).__name__}, not an object"}
    return manifest


def inspect(files: Mapping[str, bytes]) -> dict:
    """A JSON-ready description of a bundle's files."""
    manifest = _manifest(files)
    packages, data, other = [], [], []
    for path, body in sorted(files.items()):
        name = PurePosixPath(path).name
        if path.endswith(".rego"):
            packages.append(_package(path, body.decode("utf-8", errors="replace")))
        elif name in DATA_FILES:
            data.append({"file": path, "paths": _data_paths(path, body)})
        elif path not in (".manifest", SIGNATURES):
            other.append({"file": path, "size": len(body)})
    sources = []
    if isinstance(manifest, dict) and isinstance(manifest.get("metadata"), dict) \
            and isinstance(manifest["metadata"].get("sources"), list):
        sources = [s for s in manifest["metadata"]["sources"] if isinstance(s, dict)]
    return {
        "manifest": manifest,
        "signature": _signature(files),
        "packages": sorted(packages, key=lambda p: (p["package"] or "", p["file"])),
        "data": data,
        "sources": sources,
        "other_files": other,
        "size": sum(len(body) for body in files.values()),
    }


def _text(value: object) -> str:
    """A value from a bundle as one escaped table cell."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    return printable("" if value is None else value)


def _list(value: object) -> str:
    return ", ".join(_text(v) for v in value) if isinstance(value, list) else _text(value)


def _table(rows: list[list[object]], header: list[str]) -> list[str]:
    rows = [[_text(cell) for cell in row] for row in rows]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(h.upper().ljust(w) for h, w in zip(header, widths)) + " |", line]
    out += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    out.append(line)
    return out


def render_table(report: dict) -> str:
    out: list[str] = []
    manifest = report["manifest"]
    out.append("MANIFEST:")
    if manifest is None:
        out.append("  (none)")
    elif "error" in manifest and len(manifest) == 1:
        out.append(f"  {_text(manifest['error'])}")
    else:
        meta = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
        rows = [["Revision", manifest.get("revision", "")], ["Roots", _list(manifest.get("roots") or [""])],
                ["Rego Version", manifest.get("rego_version", "")]]
        if meta:
            rows.append(["Generator", f"{_text(meta.get('generator', ''))} "
                                      f"{_text(meta.get('sesrego_version', ''))}".strip()])
            rows.append(["Rules", _list(meta.get("rules", []))])
        out += _table(rows, ["Field", "Value"])
    out.append("")
    signature = report["signature"]
    out.append("SIGNATURES:")
    if not signature["signed"]:
        out.append("  not signed")
    elif "error" in signature:
        out.append(f"  signed, but unreadable: {_text(signature['error'])}")
    else:
        rows = [["Algorithm", signature["algorithm"]], ["Key ID", signature["key_id"] or ""],
                ["Scope", signature["scope"] or ""], ["Issued At", signature["iat"] or ""],
                ["Files", signature["files"]], ["Verified", "no (run `sesrego bundle verify`)"]]
        out += _table(rows, ["Field", "Value"])
    out.append("")
    out.append("PACKAGES:")
    out += _table([[p["package"] or "?", p["title"] or "", ", ".join(p["rule_ids"]), p["file"]]
                   for p in report["packages"]], ["Package", "Title", "Rule IDs", "File"])
    out.append("")
    out.append("DATA:")
    rows = [[path, d["file"]] for d in report["data"] for path in d["paths"]]
    out += _table(rows, ["Path", "File"]) if rows else ["  (none)"]
    if report["sources"]:
        out.append("")
        out.append("SOURCES (recorded, not loaded by OPA):")
        out += _table([[s.get("name", ""), s.get("path", "(not recorded)"), _text(s.get("sha256", ""))[:12]]
                       for s in report["sources"]], ["Source", "Bundle Path", "SHA-256"])
    return "\n".join(out) + "\n"


def render_json(report: dict) -> str:
    return json_text(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False, default=str)) + "\n"

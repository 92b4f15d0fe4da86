"""What a bundle holds, like ``opa inspect -a``: manifest, packages with their METADATA, data
paths, signature, and the recorded source documents.

Works on the files :func:`sesrego.bundle.read_bundle` returned (which refuses unsafe archives);
nothing here writes to disk or evaluates anything. The signature is described, not verified
(``sesrego bundle verify`` does that).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

import yaml

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
                value = yaml.safe_load("\n".join(body))
            except yaml.YAMLError:
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
    ids = sorted({str(b["custom"]["id"]) for b in blocks
                  if isinstance(b.get("custom"), dict) and b["custom"].get("id")})
    return {"package": match.group(1) if match else None, "file": path, "title": title, "rule_ids": ids,
            "annotations": blocks}


def _data_paths(path: str, body: bytes) -> list[str]:
    directory = PurePosixPath(path).parent
    base = ["data"] + [part for part in directory.parts if part not in ("", ".", "/")]
    try:
        value = json.loads(body) if path.endswith(".json") else yaml.safe_load(body)
    except (ValueError, yaml.YAMLError):
        return [".".join(base) + " (unparsable)"]
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
    return {"signed": True, "verified": False, "algorithm": header.get("alg"),
            "key_id": header.get("kid") or payload.get("keyid"), "scope": payload.get("scope"),
            "iat": payload.get("iat"), "files": len(payload.get("files") or [])}


def inspect(files: Mapping[str, bytes]) -> dict:
    """A JSON-ready description of a bundle's files."""
    try:
        manifest = json.loads(files[".manifest"]) if ".manifest" in files else None
    except ValueError:
        manifest = {"error": ".manifest is not JSON"}
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
    if isinstance(manifest, dict) and isinstance(manifest.get("metadata"), dict):
        sources = [s for s in manifest["metadata"].get("sources", []) if isinstance(s, dict)]
    return {
        "manifest": manifest,
        "signature": _signature(files),
        "packages": sorted(packages, key=lambda p: (p["package"] or "", p["file"])),
        "data": data,
        "sources": sources,
        "other_files": other,
        "size": sum(len(body) for body in files.values()),
    }


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
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
        out.append(f"  {manifest['error']}")
    else:
        meta = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
        rows = [["Revision", manifest.get("revision", "")], ["Roots", ", ".join(manifest.get("roots") or [""])],
                ["Rego Version", manifest.get("rego_version", "")]]
        if meta:
            rows.append(["Generator", f"{meta.get('generator', '')} {meta.get('sesrego_version', '')}".strip()])
            rows.append(["Rules", ", ".join(meta.get("rules", []))])
        out += _table([[k, str(v)] for k, v in rows], ["Field", "Value"])
    out.append("")
    signature = report["signature"]
    out.append("SIGNATURES:")
    if not signature["signed"]:
        out.append("  not signed")
    elif "error" in signature:
        out.append(f"  signed, but unreadable: {signature['error']}")
    else:
        rows = [["Algorithm", signature["algorithm"]], ["Key ID", signature["key_id"] or ""],
                ["Scope", signature["scope"] or ""], ["Issued At", signature["iat"] or ""],
                ["Files", signature["files"]], ["Verified", "no (run `sesrego bundle verify`)"]]
        out += _table([[k, str(v)] for k, v in rows], ["Field", "Value"])
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
        out += _table([[s.get("name", ""), s.get("path", "(not recorded)"), str(s.get("sha256", ""))[:12]]
                       for s in report["sources"]], ["Source", "Bundle Path", "SHA-256"])
    return "\n".join(out) + "\n"


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

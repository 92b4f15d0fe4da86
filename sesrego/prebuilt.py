"""The policies a scan evaluates: compiled from the sources now, or taken from a prebuilt bundle.

``sesrego scan --bundle FILE`` scans with the Rego and data of a bundle (``sesrego bundle``'s
output) instead of compiling, so CI enforces exactly what the release pipeline signed and the
OPA servers run. A signed bundle is verified first (``--verification-key``, as OPA verifies it
before activating it); a bundle that fails verification, or a signed bundle given without a key,
is an error (exit status 2). The rules a report describes (titles, severities, remedies, links)
come from the bundle's own METADATA.

Local configuration (``.sesrego.yaml``, ``--config``, ``--data``) is merged into the bundle's
``data.sesrego.config`` as OPA merges data documents: a key set by both is an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import DATA_PATH, MANIFEST, ROOT, json_bytes, read_bundle, tar_gz
from .documents import load_json
from .errors import BundleError
from .report import RuleInfo

#: Where a bundle keeps its rules, one package per rule (``sesrego/rules/ses_001/ses_001.rego``).
RULES_DIR = f"{ROOT}/rules/"


@dataclass(frozen=True, slots=True)
class Policies:
    """Rego modules and the data document under ``data.sesrego`` (without local configuration)."""

    rules: tuple[RuleInfo, ...]
    modules: Mapping[str, bytes]
    content: Mapping = field(default_factory=dict)  # data.sesrego: facts, and config if the bundle has one
    program: object | None = None  # the compiled Program, when compiled
    tree: object | None = None
    bundle: str | None = None  # the bundle file, when prebuilt

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(rule.id for rule in self.rules)

    @property
    def config(self) -> Mapping:
        value = self.content.get("config")
        return value if isinstance(value, Mapping) else {}

    def data(self, config: Mapping | None) -> dict:
        """The data document with ``config`` merged into the policies' own configuration."""
        content = dict(self.content)
        merged = merge_config(self.config, config or {}, self.bundle or "the bundle")
        if merged:
            content["config"] = merged
        else:
            content.pop("config", None)
        return {ROOT: content}

    def tarball(self, config: Mapping | None) -> bytes:
        """An unsigned bundle of the modules and ``data(config)``, for ``opa eval -b``."""
        files = {path: body for path, body in self.modules.items()}
        files[DATA_PATH] = json_bytes(self.data(config)[ROOT])
        files[MANIFEST] = json_bytes({"revision": "", "roots": [ROOT], "rego_version": 1})
        return tar_gz(files)


def compiled(program, tree) -> Policies:
    """The policies of a program compiled now."""
    from .bundle import data_content, policy_files
    from .scanner import rule_infos

    return Policies(rule_infos(program), policy_files(tree, tests=False), data_content(tree), program, tree)


def merge_config(base: Mapping, extra: Mapping, where: str, path: tuple[str, ...] = ()) -> dict:
    """``base`` with ``extra`` merged in, as OPA merges data: objects recursively, anything else once."""
    merged = dict(base)
    for key, value in extra.items():
        if key in merged and isinstance(merged[key], Mapping) and isinstance(value, Mapping):
            merged[key] = merge_config(merged[key], value, where, (*path, key))
        elif key in merged:
            dotted = ".".join(("sesrego", "config", *path, key))
            raise BundleError(f"data.{dotted} is set by both the bundle and the local configuration (OPA refuses "
                              "such merge conflicts); set it in one place", path=where)
        else:
            merged[key] = value
    return merged


def load(path: Path, verification_key: Path | None = None, key_id: str | None = None, *,
         timeout: float | None = None) -> Policies:
    """The policies of a bundle, verified first when it is signed (see the module docstring).
    ``timeout``: how long to wait for a writer when the bundle is a FIFO."""
    from .signing import SIGNATURES, VerificationError, verify  # cryptography: only for prebuilt bundles

    files = read_bundle(path, timeout=timeout)
    signed = SIGNATURES in files
    if signed and verification_key is None:
        raise BundleError("the bundle is signed: give --verification-key (and --key-id) to verify it before it is "
                          "used, as OPA does", path=path)
    if verification_key is not None:
        try:
            result = verify(files, verification_key, key_id=key_id)
        except VerificationError as exc:
            raise BundleError(f"verification failed: {exc.problem}", path=path) from None
        if not result.ok:
            raise BundleError(f"verification failed: {'; '.join(result.problems[:3])}"
                              + (f" (and {len(result.problems) - 3} more)" if len(result.problems) > 3 else ""),
                              path=path)
    modules = {name: body for name, body in sorted(files.items())
               if name.endswith(".rego") and not name.endswith("_test.rego")}
    if DATA_PATH not in files or not modules:
        raise BundleError(f"not a sesrego bundle: it has no {DATA_PATH} or no Rego modules", path=path)
    for name, body in modules.items():  # else each input would fail with a decoding error of its own
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"{name} is not UTF-8 (byte {exc.start}); OPA reads Rego as UTF-8", path=path) from None
    document = load_json(files[DATA_PATH], f"{path}:{DATA_PATH}", error=BundleError)
    if not isinstance(document, dict) or not isinstance(document.get("facts"), dict):
        raise BundleError(f"not a sesrego bundle: {DATA_PATH} holds no facts", path=path)
    rules = rule_infos(modules)
    if not rules:
        raise BundleError(f"not a sesrego bundle: no rule under {RULES_DIR} has a METADATA id", path=path)
    return Policies(rules, modules, document, bundle=str(path))


def rule_infos(modules: Mapping[str, bytes]) -> tuple[RuleInfo, ...]:
    """What a report says about each rule, from the METADATA of the bundle's rule packages."""
    from .inspect import metadata_blocks

    rules = {}
    for name, body in modules.items():
        if not name.startswith(RULES_DIR):
            continue
        for block in metadata_blocks(body.decode("utf-8", "replace")):
            custom = block.get("custom") if isinstance(block.get("custom"), dict) else {}
            if not isinstance(custom.get("id"), str):
                continue
            links = block.get("related_resources") or []
            first = links[0] if isinstance(links, list) and links else ""
            link = first.get("ref", "") if isinstance(first, dict) else str(first)
            rules[custom["id"]] = RuleInfo(custom["id"], _text(block.get("title")), _text(block.get("description")),
                                           _text(custom.get("severity")) or "warn",
                                           _text(custom.get("recommended_actions")), _text(link))
    return tuple(rules[key] for key in sorted(rules))


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)

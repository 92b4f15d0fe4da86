"""An OPA bundle as an OCI image layout, the shape OPA's OCI downloader pulls.

OPA (``v1/download/oci_download.go``) takes the first layer with media type
``application/vnd.oci.image.layer.v1.tar+gzip`` as the bundle tarball; the config is
``application/vnd.oci.image.config.v1+json`` (``{}``). The layout on disk follows the OCI
image-layout spec (``oci-layout``, ``index.json``, ``blobs/sha256/<hex>``), so ``oras cp
--from-oci-layout DIR:TAG REGISTRY/REPO:TAG`` (or any registry client) can push it as is.

Writing into an existing layout merges: the image replaces the index entry with the same tag
(``org.opencontainers.image.ref.name``), other tags and their blobs stay, and only blobs that
sesrego wrote and no remaining tag uses are removed (see :func:`sesrego.fsutil.write_tree`).

This is not what ``conftest push`` makes: conftest pushes one layer per file with its own
media types, for a policy directory; OPA cannot read that, and conftest cannot read this.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .documents import load_json
from .errors import OutputError
from .fsutil import Written, write_tree
from .reading import read_file

LAYOUT_VERSION = "1.0.0"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_TAG = "latest"


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def descriptor(media_type: str, blob: bytes, annotations: Mapping[str, str] | None = None) -> dict:
    entry = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(), "size": len(blob)}
    if annotations:
        entry["annotations"] = dict(sorted(annotations.items()))
    return entry


@dataclass(frozen=True, slots=True)
class Layout:
    """Every file of the layout, by path relative to its directory, and the manifest's digest."""

    files: dict[str, bytes]
    manifest_digest: str


def oci_layout(tarball: bytes, *, tag: str = DEFAULT_TAG, filename: str = "bundle.tar.gz",
               annotations: Mapping[str, str] | None = None) -> Layout:
    """The layout holding one image: config ``{}`` and the bundle tarball as its only layer."""
    config = b"{}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": descriptor(CONFIG_MEDIA_TYPE, config),
        "layers": [descriptor(LAYER_MEDIA_TYPE, tarball, {TITLE: filename})],
    }
    if annotations:
        manifest["annotations"] = dict(sorted(annotations.items()))
    manifest_bytes = _json(manifest)
    manifest_descriptor = descriptor(MANIFEST_MEDIA_TYPE, manifest_bytes, {REF_NAME: tag})
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [manifest_descriptor]}
    files = {"oci-layout": _json({"imageLayoutVersion": LAYOUT_VERSION}), "index.json": _json(index)}
    for blob in (config, tarball, manifest_bytes):
        files["blobs/sha256/" + hashlib.sha256(blob).hexdigest()] = blob
    return Layout(files=dict(sorted(files.items())), manifest_digest=manifest_descriptor["digest"])


def _existing_index(directory: Path) -> dict | None:
    """The index of an OCI image layout already in ``directory``, or None when there is none."""
    marker, index_path = directory / "oci-layout", directory / "index.json"
    if not marker.is_file() and not index_path.is_file():
        return None
    version = load_json(read_file(marker, what="OCI layout file", error=OutputError), marker, error=OutputError)
    index = load_json(read_file(index_path, what="OCI index", error=OutputError), index_path, error=OutputError)
    if not isinstance(version, dict) or "imageLayoutVersion" not in version or not isinstance(index, dict) \
            or not isinstance(index.get("manifests", []), list) \
            or not all(isinstance(m, dict) for m in index.get("manifests", [])):
        raise OutputError("holds an oci-layout or index.json that is not an OCI image layout's; choose another "
                          "directory", path=directory)
    return index


def _tag(descriptor: dict) -> object:
    annotations = descriptor.get("annotations")
    return annotations.get(REF_NAME) if isinstance(annotations, dict) else None


def _blob_name(digest: object) -> str | None:
    if isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return "blobs/sha256/" + digest[7:]
    return None


def _referenced(directory: Path, files: Mapping[str, bytes], manifests: list[dict]) -> set[str]:
    """Every blob the index's manifests use: the manifests themselves, their configs and layers."""
    used: set[str] = set()
    for descriptor in manifests:
        name = _blob_name(descriptor.get("digest"))
        if name is None:
            continue
        used.add(name)
        try:
            body = files[name] if name in files else read_file(directory / name, what="OCI manifest",
                                                                  error=OutputError)
            manifest = load_json(body, directory / name, error=OutputError)
        except OutputError:  # not a manifest this layout can use: it keeps nothing
            continue
        if isinstance(manifest, dict):
            for child in [manifest.get("config"), *(manifest.get("layers") or [])]:
                if isinstance(child, dict) and _blob_name(child.get("digest")):
                    used.add(_blob_name(child.get("digest")))
    return used


def write_oci_layout(directory: Path, layout: Layout, *, tag: str = DEFAULT_TAG, force: bool = False,
                     report=None) -> Written:
    """Write the layout into ``directory``, merging into an OCI layout already there by tag."""
    directory = Path(directory)
    existing = _existing_index(directory) if directory.is_dir() else None
    files = dict(layout.files)
    if existing is not None:
        ours = json.loads(layout.files["index.json"])["manifests"]
        kept, placed = [], False
        for descriptor in existing.get("manifests", []):
            if _tag(descriptor) == tag:
                if not placed:
                    kept.extend(ours)
                    placed = True
                continue
            kept.append(descriptor)
        if not placed:
            kept.extend(ours)
        files["index.json"] = _json({**existing, "manifests": kept})
        files["oci-layout"] = read_file(directory / "oci-layout", what="OCI layout file", error=OutputError)
    manifests = json.loads(files["index.json"])["manifests"]
    used = _referenced(directory, files, manifests)

    def merges(name: str) -> bool:  # the merged index keeps every entry; a blob's name is its digest
        return existing is not None and (name in ("index.json", "oci-layout") or name.startswith("blobs/"))

    return write_tree(directory, files, force=force, keep=lambda name: name in used,
                      merges=merges, adopt=existing is not None, report=report)

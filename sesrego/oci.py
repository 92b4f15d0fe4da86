"""An OPA bundle as an OCI image layout, the shape OPA's OCI downloader pulls.

OPA (``v1/download/oci_download.go``) takes the first layer with media type
``application/vnd.oci.image.layer.v1.tar+gzip`` as the bundle tarball; the config is
``application/vnd.oci.image.config.v1+json`` (``{}``). The layout on disk follows the OCI
image-layout spec (``oci-layout``, ``index.json``, ``blobs/sha256/<hex>``), so ``oras cp
--from-oci-layout DIR:TAG REGISTRY/REPO:TAG`` (or any registry client) can push it as is.

This is not what ``conftest push`` makes: conftest pushes one layer per file with its own
media types, for a policy directory; OPA cannot read that, and conftest cannot read this.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .fsutil import atomic_directory

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


def write_oci_layout(directory: Path, layout: Layout) -> None:
    """Write the layout as a whole (replacing ``directory``), or leave the old one in place."""
    with atomic_directory(Path(directory)) as tmp:
        for path, body in layout.files.items():
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)

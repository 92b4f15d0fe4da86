"""Rendered tree -> policy directory (for conftest) or OPA bundle (gzipped tar).

Both are deterministic: the same inputs give byte-identical files. The tarball has sorted
entries, fixed mtime, uid, gid and mode, and a gzip header without a timestamp or name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path

from . import __version__
from .errors import BundleError
from .fsutil import atomic_directory, atomic_write
from .model import Program
from .render import Tree

ROOT = "sesrego"
DATA_PATH = f"{ROOT}/data.json"
MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
#: A bundle larger than this (compressed or any entry uncompressed) is refused when read.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def json_bytes(value: object) -> bytes:
    """Stable, readable JSON for files sesrego writes."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def data_content(tree: Tree, config: Mapping | None = None) -> dict:
    """What lands under ``data.sesrego``: the catalog facts, and configuration if given."""
    content: dict = {"facts": tree.facts}
    if config:
        content["config"] = dict(config)
    return content


def policy_files(tree: Tree, *, tests: bool = True) -> dict[str, bytes]:
    return {path: body for path, body in tree.files.items() if tests or not path.endswith("_test.rego")}


def write_policy_dir(tree: Tree, out: Path, *, extra: Mapping[str, bytes] = (), config: Mapping | None = None) -> None:
    """A policy directory for conftest: ``.rego`` files (with tests) and one ``data.json``.

    ``data.json`` holds ``{"sesrego": {...}}`` so that ``conftest -d DIR/data.json`` (or OPA's
    file loader) puts it at ``data.sesrego``.
    """
    files = dict(policy_files(tree))
    files["data.json"] = json_bytes({ROOT: data_content(tree, config)})
    files.update(dict(extra))
    with atomic_directory(out) as tmp:
        for path, body in sorted(files.items()):
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


def manifest(program: Program, files: Mapping[str, bytes]) -> dict:
    """The ``.manifest``: revision is a digest of every other file, so it changes with the content."""
    digest = hashlib.sha256()
    for path, body in sorted(files.items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(body).digest())
    return {
        "revision": digest.hexdigest()[:32],
        "roots": [ROOT],
        "rego_version": 1,
        "metadata": {
            "generator": "sesrego",
            "sesrego_version": __version__,
            "sources": [{"name": s.name, "sha256": s.sha256} for s in program.sources],
            "catalogs": [{"name": c.source.name, "api_version": c.api_version, "title": c.title}
                         for c in program.catalogs],
            "guidance": [{"name": g.source.name, "api_version": g.api_version, "title": g.title}
                         for g in program.guidance],
            "rules": [rule.id for rule in program.rules],
        },
    }


def bundle_files(program: Program, tree: Tree, config: Mapping | None = None) -> dict[str, bytes]:
    """Every file of the bundle (without signatures), by bundle path."""
    files = dict(policy_files(tree, tests=False))
    files[DATA_PATH] = json_bytes(data_content(tree, config))
    files[MANIFEST] = json_bytes(manifest(program, files))
    return dict(sorted(files.items()))


def tar_gz(files: Mapping[str, bytes]) -> bytes:
    """A reproducible gzipped tar of ``files`` (sorted, normalised headers, no gzip timestamp)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(body))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def write_bundle(path: Path, files: Mapping[str, bytes]) -> bytes:
    data = tar_gz(files)
    atomic_write(Path(path), data)
    return data


def read_bundle(path: Path, *, limit: int = MAX_BUNDLE_BYTES) -> dict[str, bytes]:
    """The files of a bundle, refusing anything unsafe before reading it into memory.

    Entries must be regular files with relative paths and no ``..``; links, devices and
    entries (or a whole archive) larger than ``limit`` are rejected with a clear error.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(f"cannot read bundle: {exc.strerror}", path=path) from None
    if size > limit:
        raise BundleError(f"bundle is {size} bytes, over the {limit}-byte limit", path=path)
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                name = info.name
                _check_entry(path, info, limit)
                total += info.size
                if total > limit:
                    raise BundleError(f"bundle unpacks to more than {limit} bytes", path=path)
                if info.isdir():
                    continue
                key = name[2:] if name.startswith("./") else name
                if key in files:
                    raise BundleError(f"bundle holds {key} twice", path=path)
                handle = tar.extractfile(info)
                files[key] = handle.read() if handle else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"not a gzipped tar bundle: {exc}", path=path) from None
    return files


def _check_entry(path: Path, info: tarfile.TarInfo, limit: int) -> None:
    name = info.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"bundle entry {name!r} escapes the bundle (absolute path or '..')", path=path)
    if info.issym() or info.islnk():
        raise BundleError(f"bundle entry {name!r} is a link", path=path)
    if info.isdev() or info.isfifo() or info.ischr() or info.isblk():
        raise BundleError(f"bundle entry {name!r} is a device or pipe", path=path)
    if not (info.isfile() or info.isdir()):
        raise BundleError(f"bundle entry {name!r} is not a regular file", path=path)
    if info.size > limit:
        raise BundleError(f"bundle entry {name!r} is {info.size} bytes, over the {limit}-byte limit", path=path)

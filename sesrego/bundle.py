"""Rendered tree -> policy directory (for conftest) or OPA bundle (gzipped tar).

Both are deterministic: the same inputs give byte-identical files. The tarball has sorted
entries (``.signatures.json`` first when signed), fixed mtime, uid, gid and mode, and a gzip
header without a timestamp or name.

A bundle also carries the source documents it was compiled from, as raw markdown under
``sesrego/sources/catalogs/`` and ``sesrego/sources/guidance/`` (listed in the manifest's
``metadata.sources[].path``), so ``sesrego diff`` can compare two bundles' sources. OPA loads
only ``*.rego``, ``data.json``/``data.yaml``, ``policy.wasm`` and ``.manifest`` from a bundle and
ignores other files, so the ``.md`` files are inert; their names always end in ``.md`` (never
``data.json`` or ``*signatures.json``, which OPA would read), and they sit under the bundle's
root so every path stays inside ``roots``. A signed bundle's signature covers them too.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from zlib import error as zlib_error
from collections.abc import Mapping
from pathlib import Path

from . import __version__
from .errors import BundleError
from .fsutil import atomic_directory, atomic_write
from .model import Program
from .render import Tree
from .sources import DEFAULT_DIR

ROOT = "sesrego"
DATA_PATH = f"{ROOT}/data.json"
MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
#: A bundle larger than this (compressed or any entry uncompressed) is refused when read.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
#: A bundle with more entries than this is refused when read.
MAX_BUNDLE_ENTRIES = 10_000
SOURCES_DIR = f"{ROOT}/sources"


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


def source_paths(program: Program) -> dict[str, str]:
    """Where each source document goes in the bundle, by source name."""
    kinds = {c.source.name: "catalogs" for c in program.catalogs}
    kinds |= {g.source.name: "guidance" for g in program.guidance}
    paths: dict[str, str] = {}
    for source in program.sources:
        base = source.name.replace("\\", "/").rsplit("/", 1)[-1] or "source"
        stem = base[:-3] if base.endswith(".md") else base
        path, n = f"{SOURCES_DIR}/{kinds[source.name]}/{stem}.md", 1
        while path in paths.values():
            n += 1
            path = f"{SOURCES_DIR}/{kinds[source.name]}/{stem}-{n}.md"
        paths[source.name] = path
    return paths


def _source_location(name: str) -> Path:
    """The file a source name refers to: built-in sources by package path, others as given."""
    prefix = "sesrego/sources/"
    if name.startswith(prefix) and (DEFAULT_DIR / name[len(prefix):]).is_file():
        return DEFAULT_DIR / name[len(prefix):]
    return Path(name)


def source_files(program: Program) -> dict[str, bytes]:
    """The source documents' bytes by bundle path, checked against the digests compiled from."""
    files: dict[str, bytes] = {}
    paths = source_paths(program)
    for source in program.sources:
        location = _source_location(source.name)
        try:
            raw = location.read_bytes()
        except OSError as exc:
            raise BundleError(f"cannot re-read source to record it in the bundle: {exc.strerror or exc}",
                              path=location) from None
        if hashlib.sha256(raw).hexdigest() != source.sha256:
            raise BundleError("source changed while the bundle was being built", path=location)
        files[paths[source.name]] = raw
    return files


def manifest(program: Program, files: Mapping[str, bytes], *, sources: bool = True) -> dict:
    """The ``.manifest``: revision is a digest of every other file, so it changes with the content."""
    digest = hashlib.sha256()
    for path, body in sorted(files.items()):
        digest.update(path.encode() + b"\0" + hashlib.sha256(body).digest())
    paths = source_paths(program) if sources else {}
    return {
        "revision": digest.hexdigest()[:32],
        "roots": [ROOT],
        "rego_version": 1,
        "metadata": {
            "generator": "sesrego",
            "sesrego_version": __version__,
            "sources": [{"name": s.name, "sha256": s.sha256, **({"path": paths[s.name]} if paths else {})}
                        for s in program.sources],
            "catalogs": [{"name": c.source.name, "api_version": c.api_version, "title": c.title}
                         for c in program.catalogs],
            "guidance": [{"name": g.source.name, "api_version": g.api_version, "title": g.title}
                         for g in program.guidance],
            "rules": [rule.id for rule in program.rules],
        },
    }


def bundle_files(program: Program, tree: Tree, config: Mapping | None = None, *,
                 sources: bool = True) -> dict[str, bytes]:
    """Every file of the bundle (without signatures), by bundle path.

    ``sources``: also record the source documents (see the module docstring).
    """
    files = dict(policy_files(tree, tests=False))
    files[DATA_PATH] = json_bytes(data_content(tree, config))
    if sources:
        files.update(source_files(program))
    files[MANIFEST] = json_bytes(manifest(program, files, sources=sources))
    return dict(sorted(files.items()))


def tar_order(names) -> list[str]:
    """Entry order: ``.signatures.json`` first (older OPA readers expect it before the files it
    covers; current ones read it wherever it is), then every other path sorted."""
    return sorted(names, key=lambda name: (name != SIGNATURES, name))


def tar_gz(files: Mapping[str, bytes]) -> bytes:
    """A reproducible gzipped tar of ``files`` (sorted, normalised headers, no gzip timestamp)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in tar_order(files):
            body = files[name]
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


def read_bundle(path: Path, *, limit: int = MAX_BUNDLE_BYTES, max_entries: int = MAX_BUNDLE_ENTRIES
                ) -> dict[str, bytes]:
    """The files of a bundle, refusing anything unsafe before reading any file into memory.

    A first pass reads only the tar headers: entries must be regular files (or directories)
    with relative paths and no ``..``; links, devices, more than ``max_entries`` entries and
    entries (or a whole archive, packed or unpacked) larger than ``limit`` are rejected with a
    clear error. Only then does a second pass read the contents. Nothing is written to disk.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(f"cannot read bundle: {exc.strerror}", path=path) from None
    if size > limit:
        raise BundleError(f"bundle is {size} bytes, over the {limit}-byte limit", path=path)
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            wanted: dict[str, tarfile.TarInfo] = {}
            total = count = 0
            for info in tar:
                count += 1
                if count > max_entries:
                    raise BundleError(f"bundle has more than {max_entries} entries", path=path)
                _check_entry(path, info, limit)
                total += info.size
                if total > limit:
                    raise BundleError(f"bundle unpacks to more than {limit} bytes", path=path)
                if info.isdir():
                    continue
                key = info.name[2:] if info.name.startswith("./") else info.name
                if key in wanted:
                    raise BundleError(f"bundle holds {key} twice", path=path)
                wanted[key] = info
        with tarfile.open(path, mode="r:gz") as tar:
            for info in tar:
                key = info.name[2:] if info.name.startswith("./") else info.name
                if info.isdir() or wanted.get(key) is None or wanted[key].offset != info.offset:
                    continue
                handle = tar.extractfile(info)
                files[key] = handle.read(limit + 1) if handle else b""
                if len(files[key]) != info.size:
                    raise BundleError(f"bundle entry {key!r} changed while it was read", path=path)
    except (tarfile.TarError, OSError, EOFError, zlib_error) as exc:
        raise BundleError(f"not a gzipped tar bundle: {exc}", path=path) from None
    return files


def _check_entry(path: Path, info: tarfile.TarInfo, limit: int) -> None:
    name = info.name
    parts = name.split("/")
    if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or (len(name) > 1 and name[1] == ":"):
        raise BundleError(f"bundle entry {name!r} escapes the bundle (absolute path or '..')", path=path)
    if not name or "\0" in name or any(ord(ch) < 0x20 for ch in name):
        raise BundleError(f"bundle entry {name!r} has an unusable name", path=path)
    if info.issym() or info.islnk():
        raise BundleError(f"bundle entry {name!r} is a link", path=path)
    if info.isdev() or info.isfifo() or info.ischr() or info.isblk():
        raise BundleError(f"bundle entry {name!r} is a device or pipe", path=path)
    if not (info.isfile() or info.isdir()):
        raise BundleError(f"bundle entry {name!r} is not a regular file", path=path)
    if info.size > limit:
        raise BundleError(f"bundle entry {name!r} is {info.size} bytes, over the {limit}-byte limit", path=path)

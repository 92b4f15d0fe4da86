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

import contextlib
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from zlib import error as zlib_error

from . import __version__
from .errors import BundleError, OutputError
from .fsutil import Written, atomic_write, check_writable, distinct_outputs, refuse_special_directory, write_tree
from .model import Program
from .render import Tree
from .reading import read_file
from .sources import DEFAULT_DIR, read_bytes

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


def policy_dir_files(tree: Tree, config: Mapping | None = None) -> dict[str, bytes]:
    """The files of a policy directory for conftest: ``.rego`` files (with tests) and ``data.json``.

    ``data.json`` holds ``{"sesrego": {...}}`` so that ``conftest -d DIR/data.json`` (or OPA's
    file loader) puts it at ``data.sesrego``.
    """
    files = dict(policy_files(tree))
    files["data.json"] = json_bytes({ROOT: data_content(tree, config)})
    return files


def write_policy_dir(tree: Tree, out: Path, *, config: Mapping | None = None, force: bool = False,
                     report: Callable[[str], None] | None = None) -> Written:
    """Write the policy directory as sesrego's own files in ``out`` (see :func:`sesrego.fsutil.write_tree`)."""
    return write_tree(Path(out), policy_dir_files(tree, config), force=force, report=report)


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What ``sesrego bundle`` builds and where it writes it."""

    output: Path
    signing: object | None = None  # sesrego.signing.SigningOptions
    oci_layout: Path | None = None
    oci_tag: str = "latest"
    sources: bool = True
    force: bool = False  # --oci-layout may replace files sesrego did not write


@dataclass(frozen=True, slots=True)
class Built:
    output: Path
    size: int
    revision: str
    signed: bool
    oci: object | None = None  # sesrego.oci.Layout
    oci_written: Written | None = None


def check_outputs(options: BuildOptions, cross_check_report: Path | None = None) -> None:
    """Refuse, before building, outputs that collide or cannot be written (the command's
    ``--cross-check-report`` among them)."""
    distinct_outputs([options.output, cross_check_report], [options.oci_layout])
    for path in (options.output, cross_check_report):
        if path is not None:
            check_writable(path)
    if options.oci_layout is not None:
        refuse_special_directory(options.oci_layout)
        if options.oci_layout.exists() and not options.oci_layout.is_dir():
            raise OutputError("exists and is not a directory", path=options.oci_layout)


def write_bundle(program: Program, tree: Tree, config: Mapping | None, options: BuildOptions, *,
                 report: Callable[[str], None] | None = None) -> Built:
    """Build, sign and write the bundle (and its OCI layout, if asked) of a compiled program
    (:func:`sesrego.outputs.build_bundle` compiles it first)."""
    check_outputs(options)
    files = bundle_files(program, tree, config, sources=options.sources)
    if options.signing is not None:
        from .signing import sign

        files = sign(files, options.signing)
    data = tar_gz(files)
    revision = json.loads(files[MANIFEST])["revision"]
    layout = written = None
    if options.oci_layout is not None:
        from .oci import oci_layout, write_oci_layout

        layout = oci_layout(data, tag=options.oci_tag, filename=Path(options.output).name,
                            annotations={"org.opencontainers.image.revision": revision,
                                         "org.opencontainers.image.version": __version__})
        written = write_oci_layout(options.oci_layout, layout, tag=options.oci_tag, force=options.force,
                                   report=report)
    atomic_write(Path(options.output), data)
    return Built(Path(options.output), len(data), revision, options.signing is not None, layout, written)


def source_paths(program: Program) -> dict[str, str]:
    """Where each source document goes in the bundle, by source name."""
    kinds = {c.source.name: "catalogs" for c in program.catalogs}
    kinds |= {g.source.name: "guidance" for g in program.guidance}
    paths: dict[str, str] = {}
    for source in program.sources:
        base = source.name.replace("\\", "/").rsplit("/", 1)[-1]
        stem = _SAFE_NAME.sub("_", base[:-3] if base.endswith(".md") else base).strip(".") or "source"
        path, n = f"{SOURCES_DIR}/{kinds[source.name]}/{stem}.md", 1
        while path in paths.values():
            n += 1
            path = f"{SOURCES_DIR}/{kinds[source.name]}/{stem}-{n}.md"
        paths[source.name] = path
    return paths


#: Characters a recorded source's name keeps in the bundle; any other becomes "_" (a bundle
#: entry name never holds a newline, a control character or a path separator).
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


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
        raw = read_bytes(source.sha256)
        if raw is None:
            raw = read_file(location, what="source document", error=BundleError)
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


def read_bundle(path: Path, *, limit: int = MAX_BUNDLE_BYTES, max_entries: int = MAX_BUNDLE_ENTRIES,
                timeout: float | None = None) -> dict[str, bytes]:
    """The files of a bundle, refusing anything unsafe before reading any file into memory.

    A first pass reads only the tar headers: entries must be regular files (or directories)
    with relative paths and no ``..``; links, devices, more than ``max_entries`` entries and
    entries (or a whole archive, packed or unpacked) larger than ``limit`` are rejected with a
    clear error. Only then does a second pass read the contents. Nothing is written to disk.
    """
    path = Path(path)
    packed = read_file(path, limit=limit, timeout=timeout, what="bundle", error=BundleError)  # a FIFO: once
    files: dict[str, bytes] = {}
    try:
        with _open_tar(packed, path, limit) as tar:
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
        with _open_tar(packed, path, limit) as tar:
            for info in tar:
                key = info.name[2:] if info.name.startswith("./") else info.name
                if info.isdir() or wanted.get(key) is None or wanted[key].offset != info.offset:
                    continue
                handle = tar.extractfile(info)
                files[key] = handle.read(limit + 1) if handle else b""
                if len(files[key]) != info.size:
                    raise BundleError(f"bundle entry {key!r} changed while it was read", path=path)
    except (tarfile.TarError, OSError, EOFError, zlib_error, gzip.BadGzipFile) as exc:
        raise BundleError(f"not a gzipped tar bundle: {exc}", path=path) from None
    return files


class _Bounded(io.RawIOBase):
    """A decompressed tar stream that refuses to be read or sought past ``bound`` bytes.

    tarfile reads a GNU long-name or PAX header's data in one ``read(size)`` taken from the
    header; refusing the request before it is made keeps the bundle's size promise for header
    data too, so a small bundle that declares a huge header costs nothing.
    """

    def __init__(self, raw, bound: int, limit: int, path: Path) -> None:
        super().__init__()
        self._raw, self._bound, self._limit, self._path = raw, bound, limit, path

    def _check(self, end: int) -> None:
        if end > self._bound:
            raise BundleError(f"bundle unpacks to more than {self._limit} bytes (tar headers included)",
                              path=self._path)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        position = self._raw.tell()
        if size is None or size < 0:
            size = self._bound - position + 1
        self._check(position + size if size > 0 else position)
        return self._raw.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._check(offset)
        elif whence == io.SEEK_CUR:
            self._check(self._raw.tell() + offset)
        else:
            raise io.UnsupportedOperation("seek from the end of a bundle stream")
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


@contextlib.contextmanager
def _open_tar(packed: bytes, path: Path, limit: int) -> Iterator[tarfile.TarFile]:
    """The bundle's tar, its decompressed stream bounded by ``limit`` plus as much again for headers."""
    raw = gzip.GzipFile(fileobj=io.BytesIO(packed), mode="rb")
    stream = _Bounded(raw, limit + min(limit, 16 * 1024 * 1024), limit, path)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            yield tar
    finally:
        stream.close()


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

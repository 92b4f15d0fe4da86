"""Writing files so that nothing a user owns is lost, and nothing is left half-written.

* **A file** (a bundle, a report) is written to a temporary file in its own directory and
  renamed into place (:func:`atomic_write`): a failed or interrupted run leaves the previous
  file intact. It keeps the mode of the file it replaces; a new file follows the umask.
* **A directory** (``compile -o``, ``bundle --oci-layout``) may hold the user's own files:
  ``policy/`` is where conftest users keep theirs. :func:`write_tree` writes only sesrego's
  files and records them in ``.sesrego-files.json`` (never ``.manifest``, which OPA reads as a
  bundle manifest), so a rebuild replaces exactly its own files and removes only its own stale
  ones. A non-empty directory sesrego did not write is refused unless ``force``, which
  replaces same-named files and names each one. The new files are staged inside the directory,
  a journal naming the old and new sets is written, the files are moved in, stale ones
  removed, and the record is written last: a run killed at any point leaves either the old
  set or a journal from which the next run knows every file that is sesrego's, and repairs
  the set.
* ``/`` and the home directory are never written to as a whole, whatever the options.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .documents import load_json
from .errors import OutputError, SesregoError
from . import reading
from .reading import open_fifo_for_writing, read_file

RECORD = ".sesrego-files.json"
JOURNAL = ".sesrego-files.pending.json"
STAGING_PREFIX = ".sesrego-staging."


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The mode a file written at ``path`` gets: the replaced file's, else 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _own_mode(path: Path) -> int:
    """:func:`_mode_for` a file sesrego replaces in its own directory: a link there is replaced, not
    followed, so its target's mode does not count."""
    return 0o666 & ~_umask() if os.path.islink(path) else _mode_for(path)


def atomic_write(path: Path, data: bytes, *, follow_links: bool = True) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring).

    A symbolic link is written through (the link stays), unless ``follow_links`` is false: then
    the link itself is replaced by the file (sesrego's own bookkeeping files are never written
    elsewhere through a link). A device or pipe (``/dev/stdout``, a FIFO) is written to directly,
    as it cannot be replaced; a FIFO that no program opens for reading within the input timeout
    (``--input-timeout``) is an error, never a hang.
    """
    given = Path(path)
    if not follow_links and given.is_symlink():
        given.unlink()
    if given.is_dir():
        raise OutputError("is a directory", path=given)
    if given.exists() and not given.is_file():
        try:
            fd = open_fifo_for_writing(str(given), reading.INPUT_TIMEOUT, OutputError) if stat.S_ISFIFO(
                given.stat().st_mode) else os.open(given, os.O_WRONLY)
            with open(fd, "wb") as handle:
                handle.write(data)
            return
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=given) from None
    path = Path(os.path.realpath(given)) if given.is_symlink() else given
    _ensure_parent(path)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _ensure_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create directory: {exc.strerror}", path=path.parent) from None


def check_writable(path: Path) -> None:
    """Refuse, before any work, an output file that cannot be written.

    The nearest existing directory on the way is tried with a real temporary file, so a
    read-only mount or a pseudo-filesystem is caught even where permission bits say yes.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a directory; give a file name", path=path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write: {parent} is not a directory", path=path)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError("cannot write: permission denied", path=path)
    if path.exists() and not path.is_file():
        return  # a device or pipe is written in place
    try:
        fd, probe = tempfile.mkstemp(prefix=".sesrego-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror or exc}", path=path) from None


def refuse_special_directory(directory: Path) -> None:
    """``/`` and the home directory are never an output directory."""
    try:
        resolved = Path(directory).resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"cannot use as an output directory: {exc}", path=directory) from None
    if resolved == Path(resolved.anchor):
        raise OutputError("refusing to write into the root directory", path=directory)
    home = os.path.expanduser("~")
    if home not in ("~", "/") and resolved == Path(home).resolve():
        raise OutputError("refusing to write into the home directory; give a subdirectory such as policy/",
                          path=directory)


def identity(path: Path | str) -> tuple:
    """What ``path`` names, whatever the spelling: the same file through ``..``, a symbolic link (in
    any component) or a hard link has the same identity."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return ("path", real)
    return ("file", info.st_dev, info.st_ino)


def inside(path: Path | str, directory: Path | str) -> bool:
    """Whether ``path`` lies inside ``directory``, symbolic links resolved."""
    return Path(os.path.realpath(directory)) in Path(os.path.realpath(path)).parents


def distinct_outputs(files: Iterable[Path | None], directories: Iterable[Path | None]) -> None:
    """Refuse two outputs of one command that are the same file (however spelt: ``..``, symbolic
    links, hard links), or a file inside an output directory."""
    files = [Path(p) for p in files if p is not None]
    directories = [Path(d) for d in directories if d is not None]
    seen: dict[tuple, Path] = {}
    for given in files + directories:
        key = identity(given)
        if key in seen:
            same = "" if os.path.abspath(seen[key]) == os.path.abspath(given) else f" (the same file as {seen[key]})"
            raise OutputError(f"two outputs of this command would both be written to {given}{same}", path=given)
        seen[key] = given
    for directory in directories:
        for given in files:
            if inside(given, directory):
                raise OutputError(f"is inside the output directory {directory}; write it elsewhere", path=given)


def not_an_input(outputs: Iterable[Path | None], inputs: Iterable[Path | None]) -> None:
    """Refuse an output file that is one of the command's inputs (a source, a configuration file, a
    signing key, a claims file), however spelt: ``..``, symbolic links, hard links."""
    read = {identity(p) for p in inputs if p is not None and os.path.lexists(p)}
    for given in outputs:
        if given is not None and os.path.lexists(given) and identity(given) in read:
            raise OutputError("is also an input of this command; the output would replace it", path=given)


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_tree` did."""

    directory: Path
    files: tuple[str, ...]
    replaced: tuple[str, ...]  # files not written by sesrego that ``force`` replaced
    removed: tuple[str, ...]  # sesrego's own stale files
    repaired: bool  # an interrupted earlier run was completed


def _record_files(directory: Path, force: bool) -> tuple[set[str] | None, dict[str, set[str]], bool]:
    """The files sesrego recorded in ``directory`` (None: no record), the digests each may have (the
    record's, and an interrupted run's), and whether a run was interrupted. A record that is a
    symbolic link, or that sesrego could not have written, is refused; with ``force`` it counts as
    none."""
    own: set[str] | None = None
    digests: dict[str, set[str]] = {}
    for name in (RECORD, JOURNAL):
        path = directory / name
        if not os.path.lexists(path):
            continue
        try:
            if path.is_symlink() or not path.is_file():
                raise ValueError
            document = load_json(read_file(path, what="record", error=OutputError), path, error=OutputError)
            files = document["files"]
            if not isinstance(files, (list, dict)):
                raise TypeError
            names = set(files) | set(document.get("previous", []))
            if not all(isinstance(n, str) and _safe_relative(n) for n in names):
                raise ValueError
        except (OSError, ValueError, TypeError, KeyError, RecursionError, OutputError):
            if force:
                continue
            raise OutputError(f"{name} is not a record sesrego wrote; remove it or pass --force",
                              path=directory) from None
        own = (own or set()) | names
        if isinstance(files, dict):
            for file, digest in files.items():
                if isinstance(digest, str):
                    digests.setdefault(file, set()).add(digest)
    return own, digests, os.path.lexists(directory / JOURNAL)


def _safe_relative(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and ".." not in parts and "" not in parts and "\\" not in name \
        and "." not in parts and "\0" not in name


def _linked_parent(directory: Path, name: str) -> str | None:
    """The first directory on the way to ``name`` inside ``directory`` that is a symbolic link, if any:
    a file written or removed there would land outside ``directory``."""
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        if (directory / "/".join(parts[:i])).is_symlink():
            return "/".join(parts[:i])
    return None


def _first_entry(directory: Path) -> str | None:
    """The first entry under ``directory`` that is not a directory (relative, with /), in name order:
    a file, or a link (to a directory too, which is not followed); sesrego's own bookkeeping is left
    out. The walk stops there, so refusing ``..`` or ``/usr`` costs no more than looking at it."""
    for root, dirs, files in os.walk(directory):
        rel = Path(root).relative_to(directory)
        dirs[:] = sorted(d for d in dirs if not (rel == Path(".") and d.startswith(STAGING_PREFIX)))
        found = sorted([f for f in files if not (rel == Path(".") and f in (RECORD, JOURNAL))]
                       + [d for d in dirs if os.path.islink(os.path.join(root, d))])
        if found:
            return (rel / found[0]).as_posix()
    return None


def write_tree(directory: Path, files: Mapping[str, bytes], *, force: bool = False,
               keep: Callable[[str], bool] | None = None, merges: Callable[[str], bool] | None = None,
               adopt: bool = False, report: Callable[[str], None] | None = None) -> Written:
    """Write ``files`` (relative path -> bytes) into ``directory`` as sesrego's own set.

    ``keep(name)``: an own file of an earlier run that must stay although it is not in
    ``files`` (an OCI blob another tag still uses). ``merges(name)``: a file whose new content
    keeps everything the old one held (an OCI ``index.json`` merged by tag, a blob named by its
    digest), so replacing it loses nothing and needs no ``force``. ``adopt``: the directory,
    though not written by sesrego, is one sesrego may add to (an OCI image layout).
    ``report(line)``: told about each replaced user file and each repair, as they happen.

    The steps: check and clean up after an interrupted run, stage every file inside the
    directory, write the journal, move the files in, remove this set's stale files, and write
    the record last (see the module docstring).
    """
    directory = Path(directory)
    _prepare(directory, files)
    own, digests, interrupted = _record_files(directory, force)
    replaced = _foreign_replaced(directory, files, own, force=force, adopt=adopt, merges=merges)
    if interrupted and report:
        report(f"{directory}: completing an interrupted earlier run")
    previous = sorted(own or ())
    staging = _stage(directory, files, previous)
    # From here on the journal says which files are sesrego's: an interruption is repaired next time.
    try:
        _move_in(directory, staging, files, replaced, report)
        removed = _remove_stale(directory, files, previous, digests, keep, report)
        kept = sorted(set(files) | {n for n in previous if keep and keep(n) and _plain_file(directory, n)})
        _write_json(directory / RECORD, {"generator": "sesrego", "files": {
            name: hashlib.sha256(files[name]).hexdigest() if name in files else _digest(directory / name)
            for name in kept}})
        (directory / JOURNAL).unlink()
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}; run again to complete it", path=directory) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Written(directory, tuple(sorted(files)), tuple(replaced), tuple(removed), interrupted)


def _prepare(directory: Path, files: Mapping[str, bytes]) -> None:
    """Refuse what may not be written; create the directory; drop an interrupted run's leftovers."""
    refuse_special_directory(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputError("exists and is not a directory", path=directory)
    for name in files:
        if not _safe_relative(name) or name in (RECORD, JOURNAL):
            raise SesregoError(f"refusing to write {name!r}: not a plain relative path", path=directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create directory: {exc.strerror or exc}", path=directory) from None
    for stale in directory.glob(STAGING_PREFIX + "*"):  # an interrupted run's staging area
        shutil.rmtree(stale, ignore_errors=True)
    for name in (RECORD, JOURNAL):  # and its half-written record or journal
        for stale in directory.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _foreign_replaced(directory: Path, files: Mapping[str, bytes], own, *, force: bool, adopt: bool,
                      merges: Callable[[str], bool] | None) -> list[str]:
    """The user's files this write would replace; an error unless ``force`` allows it."""
    if own is None and not force and not adopt:
        first = _first_entry(directory)
        if first is not None:
            raise OutputError(f"directory is not empty and sesrego did not write it (it holds {first}, for one); "
                              "choose an empty or new directory, or pass --force to write sesrego's files beside "
                              "them", path=directory)
    replaced = sorted(name for name in files if (own is None or name not in own) and _occupied(directory / name)
                      and not (merges and merges(name)))
    if replaced and not force:
        raise OutputError(f"would replace {replaced[0]}, which sesrego did not write; pass --force to replace "
                          f"{'it' if len(replaced) == 1 else f'these {len(replaced)} files'}", path=directory)
    for name in sorted(files):
        link = _linked_parent(directory, name)
        if link is not None:
            raise OutputError(f"cannot write {name}: {link} is a symbolic link, and sesrego never writes through "
                              "one (the file would land outside this directory); remove the link", path=directory)
    blocked = [name for name in files if _blocked_by_file(directory, name)]
    if blocked:
        raise OutputError(f"cannot write {blocked[0]}: a file stands where its directory would be",
                          path=directory)
    return replaced


def _occupied(path: Path) -> bool:
    """Whether something that is not a directory (a file, a link) stands at ``path``."""
    return os.path.islink(path) or (path.exists() and not path.is_dir())


def _stage(directory: Path, files: Mapping[str, bytes], previous: list[str]) -> Path:
    """Every new file in a staging directory inside ``directory``, then the journal naming them."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=directory) from None
    try:
        for name, body in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            os.chmod(target, _own_mode(directory / name))
        _write_json(directory / JOURNAL, {"files": {name: hashlib.sha256(body).hexdigest()
                                                    for name, body in sorted(files.items())}, "previous": previous})
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=directory) from None
        raise
    return staging


def _move_in(directory: Path, staging: Path, files: Mapping[str, bytes], replaced: list[str],
             report: Callable[[str], None] | None) -> None:
    for name in sorted(files):
        if name in replaced and report:
            report(f"{directory / name}: replaced (it was not written by sesrego; --force)")
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, directory / name)


def _remove_stale(directory: Path, files: Mapping[str, bytes], previous: list[str], digests,
                  keep: Callable[[str], bool] | None, report: Callable[[str], None] | None) -> list[str]:
    """Remove the files of the previous set that this one no longer has, but only those that hold
    exactly what sesrego recorded writing: a file someone changed, one the record names without a
    digest (a hand-edited record), a link, or one reached through a link, is left alone."""
    removed = []
    for name in previous:
        path = directory / name
        if name in files or (keep and keep(name)):
            continue
        if not _plain_file(directory, name):
            continue
        if name not in digests or _digest(path) not in digests[name]:
            if report:  # not what sesrego wrote: the user's now
                why = "it changed since sesrego wrote it" if name in digests else "sesrego has no digest of it"
                report(f"{path}: kept; {why}, and it is no longer recorded")
            continue
        path.unlink()
        removed.append(name)
        _prune(directory, Path(name).parent)
    return removed


def _plain_file(directory: Path, name: str) -> bool:
    """Whether ``name`` is a regular file in ``directory``, not a link and not reached through one."""
    path = directory / name
    return _linked_parent(directory, name) is None and not path.is_symlink() and path.is_file()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _blocked_by_file(directory: Path, name: str) -> bool:
    """Whether a file stands where a directory on the way to ``name`` must be, or a directory (not a
    link, which is replaced) stands where ``name`` goes."""
    parent = Path(name).parent
    while parent != Path("."):
        if (directory / parent).exists() and not (directory / parent).is_dir():
            return True
        parent = parent.parent
    return (directory / name).is_dir() and not (directory / name).is_symlink()


def _prune(directory: Path, relative: Path) -> None:
    """Remove directories left empty by a removed file, up to ``directory``."""
    while relative != Path("."):
        with contextlib.suppress(OSError):
            (directory / relative).rmdir()
        relative = relative.parent


def _write_json(path: Path, value: object) -> None:
    atomic_write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode(), follow_links=False)

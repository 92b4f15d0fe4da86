"""Reading a named file under bounds: never more than a limit of bytes, never waiting forever.

Every file sesrego reads by name goes through :func:`read_file`: scan inputs, configuration
(``--data``, ``--config``, a ``.sesrego.yaml`` found by itself), baselines, source documents,
keys, claims, certificates and bundles. Whatever the file is, the same guarantees hold:

* a regular file larger than the limit is refused from its size, before it is read;
* a stream (standard input, a FIFO, ``/dev/zero``, ``/dev/urandom``) is read in chunks and
  refused as soon as it passes the limit: never more than one byte past it is read;
* a FIFO that no program opens for writing within the timeout is an error, so
  ``<(command)`` works and a forgotten FIFO never hangs a run;
* a directory is an error naming it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from pathlib import Path

from .errors import InputError, SesregoError

#: Seconds to wait for a writer to open a FIFO given as a file (``scan --input-timeout`` sets it for a scan).
INPUT_TIMEOUT = 30.0
#: A configuration file, baseline, key, claims file or source document larger than this is refused.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


@contextlib.contextmanager
def waiting(timeout: float):
    """Within the block, every file read without its own timeout waits ``timeout`` seconds for a FIFO's
    writer (``scan --input-timeout`` covers the configuration, baseline, keys and bundle it reads)."""
    global INPUT_TIMEOUT
    before, INPUT_TIMEOUT = INPUT_TIMEOUT, timeout
    try:
        yield
    finally:
        INPUT_TIMEOUT = before


def read_file(path: str | Path, *, limit: int | None = None, timeout: float | None = None, what: str = "file",
              error: type[SesregoError] = InputError, hint: str = "") -> bytes:
    """The bytes of ``path``, read under ``limit`` (default :data:`MAX_DOCUMENT_BYTES`) and, for a FIFO,
    ``timeout`` (default :data:`INPUT_TIMEOUT`); see the module docstring.

    ``what`` names the file in errors (``configuration file``); ``hint`` says how to raise the limit.
    """
    path = str(path)
    limit = MAX_DOCUMENT_BYTES if limit is None else limit
    timeout = INPUT_TIMEOUT if timeout is None else timeout
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise error("is a directory", path=path)
        fd = open_fifo(path, timeout, error) if stat.S_ISFIFO(mode) else os.open(path, os.O_RDONLY)
        with open(fd, "rb", buffering=0) as handle:
            info = os.fstat(fd)
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
            if size is not None and size > limit:
                raise error(f"{what} is {size} bytes, over the limit of {limit}{hint}", path=path)
            return read_bounded(handle, path, limit, size, what=what, error=error, hint=hint)
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", path=path) from None


def read_bounded(handle, name: str, limit: int, size: int | None = None, *, what: str = "input",
                 error: type[SesregoError] = InputError, hint: str = "") -> bytes:
    """Everything ``handle`` holds, refused once it passes ``limit`` bytes.

    ``size`` (a regular file's size) lets one read take the whole file; a stream is read in
    chunks, and never more than one byte past the limit is read.
    """
    want = min(size, limit) + 1 if size is not None else CHUNK
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = handle.read(min(want, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = CHUNK
    if total > limit:
        raise error(f"{what} is more than {limit} bytes, over the limit of {limit}{hint}", path=name)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def open_fifo(path: str, timeout: float, error: type[SesregoError] = InputError) -> int:
    """Open a FIFO for reading, waiting at most ``timeout`` seconds for a writer."""
    opened: dict = {}

    def opener() -> None:
        try:
            opened["fd"] = os.open(path, os.O_RDONLY)
        except OSError as exc:
            opened["error"] = exc

    thread = threading.Thread(target=opener, name="sesrego-fifo", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # release the blocked open by becoming its writer, then give up
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        thread.join(5)
        if "fd" in opened:
            os.close(opened["fd"])
        raise error(f"no program opened this FIFO for writing within {timeout:g} seconds "
                    "(raise it with --input-timeout)", path=path)
    if "error" in opened:
        raise opened["error"]
    return opened["fd"]


def open_fifo_for_writing(path: str, timeout: float, error: type[SesregoError] = InputError) -> int:
    """Open a FIFO for writing (an output), waiting at most ``timeout`` seconds for a reader."""
    import fcntl
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise error(f"no program opened this FIFO for reading within {timeout:g} seconds "
                            "(raise it with --input-timeout)", path=path) from None
            time.sleep(0.02)
            continue
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return fd


def regular_file(path: str | Path, what: str, error: type[SesregoError] = InputError) -> str:
    """``path``, refused unless it is a readable regular file (for files another library opens itself,
    such as TLS certificates: a FIFO or device there would block or never end)."""
    path = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what}: not a regular file", path=path)
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise error(f"{what}: cannot read: {exc.strerror or exc}", path=path) from None
    return path

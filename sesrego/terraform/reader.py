"""Paths on the command line -> root modules, each read once: the reader's entry points."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from . import TfAnnotations, TfInput
from .files import scanned_tree
from .load import Loader, display, is_config_file, resolved
from .modules import read_manifest, root_directories
from .options import ReaderOptions
from .root import RootResult, build_root, failure, focus, resolve_suppressions, static_locations
from .suppressions import Suppression


class _Reader:
    """Reads each root module once, however many paths lead to it."""

    def __init__(self, options: ReaderOptions) -> None:
        self.options = options
        self.loader = Loader(options)
        self.roots: dict[Path, RootResult] = {}

    def root(self, directory: Path, tree: Path) -> RootResult:
        key = resolved(directory)
        if key not in self.roots:
            self.roots[key] = build_root(Path(display(directory)), self.loader, self.options, tree)
        return self.roots[key]

    def directory(self, path: Path) -> list[RootResult]:
        tree = scanned_tree(path)
        roots, called, unreadable = root_directories(path, self.loader)
        results = [RootResult(Path(error.path), error=error) for error in unreadable]
        results.extend(self.root(root, tree) for root in roots)
        reached = set().union(*(result.instantiated for result in results))
        # A module that no root instantiates (its calls have count = 0) is still read, on its own.
        results.extend(self.root(directory, tree) for directory in called if resolved(directory) not in reached)
        return results


#: The stack of the thread the reader runs in, and the recursion it allows: nested expressions and
#: references recurse, and the reader's own caps (nesting, references, value depth) stop far below this.
STACK_BYTES = 512 * 2 ** 20
RECURSION_LIMIT = 60_000


_DEEP = threading.Lock()
_deep_readers = [0, 0]  # readers running, the recursion limit before the first


def deep(function, *args):
    """``function(*args)`` in a thread whose stack holds deep recursion, its result or its exception.

    The recursion limit is raised while any reader runs (it is the interpreter's, not the thread's)
    and restored when the last one ends, so that concurrent readers never lower it under each other.
    """
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))

    thread = _start(run)
    if thread is None:  # no thread with a deep stack here: read in this one, within its own limits
        run()
    else:
        try:
            thread.join()
        finally:
            with _DEEP:
                _deep_readers[0] -= 1
                if _deep_readers[0] == 0:
                    sys.setrecursionlimit(_deep_readers[1])
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _start(run) -> threading.Thread | None:
    """A started thread running ``run`` with a deep stack and the raised recursion limit, or None."""
    with _DEEP:
        if _deep_readers[0] == 0:
            _deep_readers[1] = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_deep_readers[1], RECURSION_LIMIT))
        _deep_readers[0] += 1
        try:
            previous_stack = threading.stack_size(STACK_BYTES)
        except (ValueError, RuntimeError):
            previous_stack = None
        try:
            if previous_stack is None:
                raise RuntimeError("no thread stack size here")
            thread = threading.Thread(target=run, name="sesrego-terraform-reader")
            thread.start()
            return thread
        except (RuntimeError, MemoryError):
            _deep_readers[0] -= 1
            if _deep_readers[0] == 0:
                sys.setrecursionlimit(_deep_readers[1])
            return None
        finally:
            if previous_stack is not None:
                threading.stack_size(previous_stack)


def read_paths(paths: Sequence[Path | str], options: ReaderOptions) -> list[TfInput]:
    return deep(_read_paths, paths, options)


def _read_paths(paths: Sequence[Path | str], options: ReaderOptions) -> list[TfInput]:
    reader = _Reader(options)
    inputs: list[TfInput] = []
    for path in map(Path, paths):
        try:
            inputs.extend(_read_path(reader, path))
        except Exception as exc:  # the boundary of one path: it fails alone, with one line
            inputs.append(TfInput(str(path), error=failure(exc, display(path))))
    return _deduplicated(sorted(inputs, key=lambda item: item.path))


def _read_path(reader: _Reader, path: Path) -> list[TfInput]:
    if path.is_dir():
        results = reader.directory(path)
        if not results:
            return [TfInput(str(path), error=InputError("no .tf or .tf.json files in this directory",
                                                        path=display(path)))]
        return [_input(display(result.directory), result) for result in results]
    if not is_config_file(path.name):
        return [TfInput(str(path), error=InputError("not a .tf or .tf.json file", path=display(path)))]
    if not os.path.lexists(path):
        return [TfInput(str(path), error=InputError("cannot read: no such file", path=display(path)))]
    result = reader.root(path.parent, scanned_tree(path))
    return [_input(str(path), result, display(path))]


def _input(path: str, result: RootResult, file: str | None = None) -> TfInput:
    if result.error is not None:
        return TfInput(path, error=result.error, warnings=tuple(result.warnings))
    document = focus(result, file) if file is not None else result.document
    return TfInput(path, plan=document, locations=dict(result.locations), suppressions=tuple(result.suppressions),
                   warnings=tuple(result.warnings))


def _deduplicated(inputs: list[TfInput]) -> list[TfInput]:
    """Each warning once, on the first input that has it (modules and tfvars are shared between roots)."""
    seen: set[str] = set()
    out = []
    for item in inputs:
        warnings = tuple(w for w in item.warnings if w not in seen)
        seen.update(warnings)
        out.append(TfInput(item.path, item.plan, item.error, item.locations, item.suppressions, warnings))
    return out


def read_annotations(directory: Path, options: ReaderOptions) -> TfAnnotations:
    return deep(_read_annotations, directory, options)


def _read_annotations(directory: Path, options: ReaderOptions) -> TfAnnotations:
    reader = _Reader(options)
    locations: dict[str, tuple[str, int]] = {}
    suppressions: list[Suppression] = []
    warnings: list[str] = []
    if not directory.is_dir():
        return TfAnnotations({}, (), (f"{display(directory)}: --tf-dir is not a directory",))
    for result in reader.directory(directory):
        warnings.extend(result.warnings)
        if result.error is None:
            for address, where in result.locations.items():
                locations.setdefault(address, where)
            suppressions.extend(result.suppressions)
            continue
        warnings.append(f"{result.error.located()} (its locations and suppressions may be incomplete)")
        try:
            module = reader.loader.directory(result.directory)
            manifest = read_manifest(result.directory, options.max_input_bytes)
            for address, where in static_locations(module, reader.loader, manifest).items():
                locations.setdefault(address, where)
            found, problems = resolve_suppressions(module, reader.loader, manifest, None)
            suppressions.extend(found)
            warnings.extend(problems)
        except (InputError, OSError, RecursionError):
            continue
    return TfAnnotations(locations, tuple(suppressions), tuple(dict.fromkeys(warnings)))


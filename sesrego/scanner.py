"""Inputs -> an evaluator -> :class:`ScanReport`: the one scan loop.

Scanning always evaluates the compiled Rego (one source of truth), through whichever
:class:`~sesrego.engine.Evaluator` it is given: OPA's embedded engine (the default), the
``opa`` binary, or an OPA server. Plans are handed to the evaluator as the bytes the user gave
(read under the size limit, see :mod:`sesrego.plan`); ``.tf`` root modules are first turned
into the same plan-shaped input by :mod:`sesrego.terraform`, and their inline suppressions
become waivers for that input alone. Single ``.tf`` files are grouped by module, and plans take
the locations and inline suppressions of their configuration (:mod:`sesrego.tfinputs`).

Many inputs are scanned in parallel, one evaluator per worker process, and reported in input
order. Each input is isolated: any error while reading or evaluating it becomes that input's
error (exit status 2) and the others are still reported; a worker process that dies (killed
by the kernel when out of memory, say) costs only the input it was scanning: the pool is
restarted and that input reported. Cores that fewer inputs would leave idle take parts of
the large plans (``plan.split_plan``): the rules judge policies resource by resource, joined
only with data sources, the configuration and the organization's policies, which every part
keeps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .engine import Embedded, Evaluator, OpaBinary, Result, data_document
from .errors import InputError, as_user_error
from .plan import Limits, check_policies, plan_bytes, plan_parts, read_bounded, read_input
from .report import InputResult, RuleInfo, ScanReport, sort_key
from .tfinputs import Annotations, group_files, inline_waivers, out_of_scope, plan_directory, read_annotations, read_tf

if TYPE_CHECKING:  # pragma: no cover - worker processes import this module: keep it light
    from .model import Program
    from .render import Tree

__all__ = ["ScanOptions", "Source", "collect", "inline_waivers", "scan"]


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to scan."""

    kind: str  # "plan" | "stdin" | "tf"
    path: str
    tf_paths: tuple[str, ...] = ()
    part: int = 0  # a large plan is evaluated as `parts` parts (see split_plan)
    parts: int = 1
    annotations: str | None = None  # a plan's configuration directory (--tf-dir, or the plan's own)


@dataclass(frozen=True, slots=True)
class ScanOptions:
    config: Mapping = field(default_factory=dict)
    limits: Limits = Limits()
    engine: str = "embedded"  # embedded | opa, when scan() is given no evaluator
    jobs: int = 0  # 0: every core
    fail_on: str = "deny"
    split_bytes: int = 2 * 2**20  # a plan at least this large is evaluated in parts, one per free core
    reader: object | None = None  # sesrego.terraform.ReaderOptions for .tf inputs (None: the defaults)
    configuration: Mapping | None = None  # where the configuration came from, for the report
    tf_dir: str | None = None  # --tf-dir: the configuration of every plan scanned, for locations and suppressions
    annotate_plans: bool = True  # without tf_dir: a plan's own directory, when it holds .tf files


def rule_infos(program: Program) -> tuple[RuleInfo, ...]:
    return tuple(RuleInfo(r.id, r.title, r.description, r.severity.value, r.remediation,
                          r.related_resources[0] if r.related_resources else
                          "https://github.com/aws-samples/data-perimeter-policy-examples")
                 for r in program.rules)


def collect(paths: Sequence[str]) -> tuple[list[Source], list[InputResult]]:
    """Sort the command line into sources; unreadable paths become failed inputs."""
    sources: list[Source] = []
    failures: list[InputResult] = []
    tf_files: list[str] = []
    for arg in paths:
        if arg == "-":
            sources.append(Source("stdin", "-"))
            continue
        path = Path(arg)
        try:
            if path.is_dir():
                found = any(p for pattern in ("*.tf", "*.tf.json") for p in path.rglob(pattern)
                            if ".terraform" not in p.parts)
                if not found:
                    failures.append(InputResult(arg, "tf", error=f"{arg}: no .tf files in this directory"))
                else:
                    sources.append(Source("tf", arg, (arg,)))
            elif path.name.endswith((".tf", ".tf.json")):
                if not path.is_file():
                    failures.append(InputResult(arg, "tf", error=f"{arg}: no such file"))
                else:
                    tf_files.append(arg)
            elif not path.exists():
                failures.append(InputResult(arg, "plan", error=f"{arg}: no such file or directory"))
            else:
                sources.append(Source("plan", arg))
        except OSError as exc:
            failures.append(InputResult(arg, "plan", error=as_user_error(exc, arg).located()))
    for files in group_files(tf_files):  # the files of one module are read and evaluated once
        sources.append(Source("tf", files[0], files))
    return sources, failures


def default_evaluator(program: Program, tree: Tree, options: ScanOptions) -> Evaluator:
    """The evaluator ``options.engine`` names, holding the compiled rules and the configuration."""
    if options.engine == "opa":  # the bundle carries the configuration for opa eval
        from .bundle import bundle_files, tar_gz

        return OpaBinary(tar_gz(bundle_files(program, tree, options.config, sources=False)))
    return Embedded(tree.files, data_document(tree.facts, options.config))


class Progress(Protocol):
    """What a scan tells whoever shows its progress (see :mod:`sesrego.progress`)."""

    def stage(self, text: str, total: int = 0) -> None:
        """A new stage begins; ``total``: how many units (inputs, parts of a plan) it counts."""

    def advance(self, units: int = 1) -> None:
        """``units`` more of the stage's units are done."""


def scan(paths: Sequence[str], program: Program | None, tree: Tree | None, options: ScanOptions = ScanOptions(), *,
         evaluator: Evaluator | None = None, stdin: bytes | None = None, progress: Progress | None = None,
         rules: Sequence[RuleInfo] | None = None) -> ScanReport:
    """Scan ``paths`` (plan files, .tf files or directories, ``-`` for ``stdin``) with ``evaluator``.

    Without ``program`` and ``tree`` (a prebuilt bundle), ``evaluator`` and ``rules`` are required.
    """
    evaluator = evaluator or default_evaluator(program, tree, options)
    sources, failures = collect(paths)
    if stdin is None and any(source.kind == "stdin" for source in sources):
        try:
            stdin = read_stdin(options.limits)
        except Exception as exc:  # noqa: BLE001 - standard input's own error
            sources = [source for source in sources if source.kind != "stdin"]
            failures.append(InputResult("-", "plan", error=as_user_error(exc, "-").located()))
    sources, annotations = _annotated(sources, options, progress)
    jobs = options.jobs or os.cpu_count() or 1
    sources = _split_large(sources, jobs, options.split_bytes, stdin)
    run = _Run(options.limits, options.reader, stdin, {key: a.waivers for key, a in annotations.items()})
    if progress:
        progress.stage(_stage_text(sources), total=len(sources))
    try:
        if jobs > 1 and len(sources) > 1:
            outputs = _parallel(run, sources, evaluator, min(jobs, len(sources)), progress)
        else:
            outputs = _sequential(run, sources, evaluator, progress)
    finally:
        evaluator.close()
    results = _by_input(sources, outputs, annotations)
    by_path = {r.path: r for r in failures}
    ordered = []
    for arg in paths:  # report in command-line order
        if arg in by_path:
            ordered.append(by_path.pop(arg))
        ordered.extend(results.pop(arg, []))
    for leftover in results.values():
        ordered.extend(leftover)
    configuration = dict(options.configuration or {"source": "files" if options.config else "none"})
    return ScanReport(tuple(ordered), tuple(rules) if rules is not None else rule_infos(program), options.fail_on,
                      configuration)


def _stage_text(sources: list[Source]) -> str:
    if sources and sources[0].parts > 1 and len(sources) == sources[0].parts:
        return f"evaluating {sources[0].path} in {len(sources)} parts"
    return f"evaluating {len(sources)} input{'' if len(sources) == 1 else 's'}"


def _annotated(sources: list[Source], options: ScanOptions,
               progress: Progress | None) -> tuple[list[Source], dict[str, Annotations]]:
    """Each plan with the configuration it takes annotations from, each configuration read once."""
    annotations: dict[str, Annotations] = {}
    out = []
    for source in sources:
        directory = None
        if source.kind in ("plan", "stdin"):
            directory = plan_directory(source.kind, source.path, options.tf_dir, options.annotate_plans)
        if directory is not None and directory not in annotations:
            if progress:
                progress.stage(f"reading the configuration in {directory}")
            annotations[directory] = read_annotations(directory, options.reader, options.limits.max_input_bytes)
        out.append(dataclasses.replace(source, annotations=directory) if directory else source)
    return out, annotations


# --- one input ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    """What every input of a run is scanned with (sent once to each worker task)."""

    limits: Limits
    reader: object | None
    stdin: bytes | None
    waivers: Mapping[str, tuple[dict, ...]] = field(default_factory=dict)  # a plan configuration's inline waivers


_worker: Evaluator | None = None


def _init_worker(evaluator: Evaluator, parent: int) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with(parent)
    _worker = evaluator


def _die_with(parent: int) -> None:
    """Make the kernel kill this worker when the scan that started it dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so that no orphan goes on evaluating; elsewhere the worker notices when its
    next task cannot be fetched."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


def _scan_one(source: Source, run: _Run, evaluator: Evaluator | None = None) -> list[InputResult]:
    """The results of one source; whatever goes wrong becomes this input's error."""
    evaluator = evaluator or _worker
    kind = "tf" if source.kind == "tf" else "plan"
    try:
        if source.kind == "tf":
            return _scan_tf(source, run, evaluator)
        raw = run.stdin if source.kind == "stdin" else read_input(source.path, run.limits)
        waivers = run.waivers.get(source.annotations, ()) if source.annotations else ()
        if source.parts > 1:
            part = plan_parts(raw or b"", source.path, source.parts, run.limits)[source.part]
            result = evaluator.evaluate(part, waivers, shared=True)
            if source.part > 0:  # every part holds the shared policies; count them once
                result = dataclasses.replace(result, policies=result.policies - result.shared_policies)
        else:
            result = evaluator.evaluate(plan_bytes(raw or b"", source.path, run.limits), waivers)
        return [_input_result(source.path, kind, result)]
    except Exception as exc:  # noqa: BLE001 - the per-input error boundary
        return [InputResult(source.path, kind, error=as_user_error(exc, source.path).located())]


def _input_result(path: str, kind: str, result: Result, **extra) -> InputResult:
    return InputResult(path, kind, result.findings, waived=result.waived, policies=result.policies,
                       unverifiable=result.unverifiable, waivers_used=result.waivers_used,
                       waivers_unused=result.waivers_unused, waivers_expired=result.waivers_expired, **extra)


def _scan_tf(source: Source, run: _Run, evaluator: Evaluator) -> list[InputResult]:
    results = []
    for tf in read_tf(source.tf_paths, run.reader, run.limits.max_input_bytes):
        name = str(tf.path)
        warnings = tuple(str(w) for w in (getattr(tf, "warnings", ()) or ()))
        if tf.error is not None:
            error = tf.error.located() if hasattr(tf.error, "located") else f"{name}: {tf.error}"
            results.append(InputResult(name, "tf", error=error, warnings=warnings))
            continue
        try:
            check_policies(tf.plan.get("resource_changes", []), name, run.limits)
            result = evaluator.evaluate(json.dumps(tf.plan).encode(), inline_waivers(tf))
        except Exception as exc:  # noqa: BLE001 - this root module's error; the others still report
            results.append(InputResult(name, "tf", error=as_user_error(exc, name).located(), warnings=warnings))
            continue
        unused = tuple(w for w in result.waivers_unused if not out_of_scope(w, source.tf_paths))
        result = dataclasses.replace(result, waivers_unused=unused)
        results.append(_input_result(name, "tf", result, locations=dict(tf.locations), warnings=warnings))
    return results


def _killed(source: Source) -> list[InputResult]:
    kind = "tf" if source.kind == "tf" else "plan"
    return [InputResult(source.path, kind, error=f"{source.path}: the process scanning this input died (killed by "
                        "a signal, or out of memory); the other inputs were scanned")]


# --- large plans in parts ------------------------------------------------------------------------


def _merge(results: list[InputResult]) -> InputResult:
    """The parts of a split plan as one input: the union of their findings, in report order."""
    first = results[0]
    if any(result.error for result in results):
        return next(result for result in results if result.error)

    def union(groups):
        merged = {json.dumps(item, sort_keys=True): item for group in groups for item in group}
        return tuple(sorted(merged.values(), key=sort_key))

    findings, waived = union(r.findings for r in results), union(r.waived for r in results)
    used = union(r.waivers_used for r in results)
    used_keys = {json.dumps(w, sort_keys=True) for w in used}
    unused = tuple(w for w in union(r.waivers_unused for r in results)
                   if json.dumps(w, sort_keys=True) not in used_keys)
    unverifiable = {(f.get("resource"), f.get("attribute")) for f in (*findings, *waived)
                    if f.get("rule_id") == "SES-007"}
    return InputResult(first.path, first.kind, findings, waived=waived,
                       policies=sum(r.policies for r in results), unverifiable=len(unverifiable),
                       waivers_used=used, waivers_unused=unused,
                       waivers_expired=union(r.waivers_expired for r in results), warnings=first.warnings)


def _plan_size(source: Source, stdin: bytes | None) -> int:
    if source.kind == "stdin":
        return len(stdin or b"")
    try:
        return os.path.getsize(source.path) if source.kind == "plan" and os.path.isfile(source.path) else 0
    except OSError:
        return 0


def _split_large(sources: list[Source], jobs: int, split_bytes: int, stdin: bytes | None) -> list[Source]:
    """Use the cores that fewer inputs than workers would leave idle, on the large plans."""
    if jobs <= len(sources):
        return sources
    large = [s for s in sources if _plan_size(s, stdin) >= split_bytes]
    if not large:
        return sources
    parts = max(1, (jobs - (len(sources) - len(large))) // len(large))
    if parts == 1:
        return sources
    out = []
    for source in sources:
        if source in large:
            out.extend(dataclasses.replace(source, part=part, parts=parts) for part in range(parts))
        else:
            out.append(source)
    return out


def _by_input(sources: list[Source], outputs: dict[int, list[InputResult]],
              annotations: Mapping[str, Annotations] = {}) -> dict[str, list[InputResult]]:
    """Each input's results, its parts merged, keyed by the path given on the command line; a plan's
    results get its configuration's locations (and, on the first plan to use it, its warnings)."""
    results: dict[str, list[InputResult]] = {}
    parts: list[InputResult] = []
    warned: set[str] = set()
    for i, source in enumerate(sources):
        if source.parts == 1:
            found = outputs[i]
        else:
            parts.extend(outputs[i])
            if source.part < source.parts - 1:
                continue
            found, parts = [_merge(parts)], []
        if source.annotations in annotations:
            found = [_with_annotations(result, annotations[source.annotations], warned) for result in found]
        results.setdefault(source.path, []).extend(found)
    return results


def _with_annotations(result: InputResult, annotations: Annotations, warned: set[str]) -> InputResult:
    warnings = result.warnings
    if annotations.directory not in warned:
        warned.add(annotations.directory)
        warnings += annotations.warnings
    if result.error:
        return dataclasses.replace(result, warnings=warnings)
    return dataclasses.replace(result, locations=dict(annotations.locations), warnings=warnings)


# --- running the sources ---------------------------------------------------------------------------


def _sequential(run: _Run, sources: list[Source], evaluator: Evaluator, progress) -> dict[int, list[InputResult]]:
    outputs = {}
    for i, source in enumerate(sources):
        outputs[i] = _scan_one(source, run, evaluator)
        if progress:
            progress.advance(1)
    return outputs


def _parallel(run: _Run, sources: list[Source], evaluator: Evaluator, jobs: int,
              progress) -> dict[int, list[InputResult]]:
    """Every source in a pool of worker processes; a worker that dies costs only its own source.

    When the pool breaks, the sources it did not finish are run again one at a time, in a
    fresh one-worker pool: there, the first source that breaks the pool is the one that
    killed it. It is reported as such and the rest continue.
    """
    outputs: dict[int, list[InputResult]] = {}
    pending = list(range(len(sources)))
    width = jobs
    while pending:
        lost, unsent = _pool_round(run, sources, pending, evaluator, width, outputs, progress)
        if not lost and not unsent:
            break
        if width > 1:
            width, pending = 1, sorted(lost + unsent)
        elif lost:  # one worker runs its sources in order: the first one lost is the one that killed it
            outputs[lost[0]] = _killed(sources[lost[0]])
            pending = sorted(lost[1:] + unsent)
        elif len(unsent) == len(pending):  # the pool died before it took anything: blame the first
            outputs[unsent[0]] = _killed(sources[unsent[0]])
            pending = unsent[1:]
        else:
            pending = unsent
    return outputs


def _pool_round(run: _Run, sources: list[Source], pending: list[int], evaluator: Evaluator, width: int,
                outputs: dict[int, list[InputResult]], progress) -> tuple[list[int], list[int]]:
    """Run ``pending`` in a fresh pool; fill ``outputs``; return the sources the pool lost while
    running them, in the order they were handed out, and those it broke before taking them."""
    context = multiprocessing.get_context("spawn")  # the Go runtime must not be forked
    pool = ProcessPoolExecutor(width, mp_context=context, initializer=_init_worker,
                               initargs=(evaluator, os.getpid()))
    lost: list[int] = []
    unsent: list[int] = []
    try:
        futures = []
        with _interrupts_deferred():  # workers are started by submit()
            for n, i in enumerate(pending):
                task_run = run if sources[i].kind == "stdin" else dataclasses.replace(run, stdin=None)
                try:
                    futures.append((i, pool.submit(_scan_one, sources[i], task_run)))
                except (BrokenProcessPool, ValueError):  # a worker died while the rest were being handed out
                    # (ValueError: it died while submit() was starting another worker, and the pool's
                    # manager thread closed the queue whose descriptors that worker was being given)
                    unsent = pending[n:]
                    break
        for i, future in futures:
            try:
                outputs[i] = future.result()
            except BrokenProcessPool:
                lost.append(i)
                continue
            except Exception as exc:  # noqa: BLE001 - a result that could not be sent back
                outputs[i] = [InputResult(sources[i].path, "tf" if sources[i].kind == "tf" else "plan",
                                          error=as_user_error(exc, sources[i].path).located())]
            if progress:
                progress.advance(1)
    except BaseException:
        _terminate(pool)
        raise
    if lost or unsent:
        _terminate(pool)  # a broken pool's other workers may never exit on their own
    else:
        pool.shutdown(wait=True)
    return lost, unsent


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C (SIGINT) back while workers start, and keep it from the workers for good.

    A worker interrupted while it reads its start-up data from this process prints a traceback
    of its own; so SIGINT is blocked while they are started (workers inherit the blocked signal:
    this process stops them), and a Ctrl-C that came meanwhile is delivered here afterwards.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now (Ctrl-C): nothing more is scanned or written."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.terminate()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def read_stdin(limits: Limits = Limits(), stream=None) -> bytes:
    """Standard input, read under the size limit; a terminal is refused rather than waited on."""
    stream = stream or sys.stdin
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if terminal:
        raise InputError("standard input is a terminal, not a plan: pipe one in (terraform show -json tfplan | "
                         "sesrego scan -)", path="-")
    return read_bounded(stream.buffer, "-", limits)

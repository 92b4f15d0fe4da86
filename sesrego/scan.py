"""Inputs -> compiled rules in the engine -> :class:`ScanReport`.

Scanning always evaluates the compiled Rego (one source of truth). Plans are handed to
the engine as the bytes the user gave; ``.tf`` root modules are first turned into the same
plan-shaped input by :mod:`sesrego.terraform`. Many inputs are scanned in parallel, one
engine per worker process (rules loaded once per process), and reported in input order.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import bundle_files, tar_gz
from .engine import Engine, data_document
from .errors import EngineError, InputError, SesregoError
from .model import Program
from .plan import Limits, read_plan_bytes
from .render import Tree
from .report import InputResult, RuleInfo, ScanReport, sort_key

# What a scan reports: the findings after waivers, and the waived findings with their waivers.
QUERY = '{"findings": data.sesrego.findings, "waived": data.sesrego.waived}'


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to scan."""

    kind: str  # "plan" | "stdin" | "tf"
    path: str
    tf_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanOptions:
    config: Mapping = field(default_factory=dict)
    limits: Limits = Limits()
    engine: str = "embedded"  # embedded | opa
    jobs: int = 0  # 0: every core
    fail_on: str = "deny"


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
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.tf") if ".terraform" not in p.parts)
            if not found:
                failures.append(InputResult(arg, "tf", error=f"{arg}: no .tf files in this directory"))
            else:
                sources.append(Source("tf", arg, (arg,)))
        elif path.suffix == ".tf":
            if not path.is_file():
                failures.append(InputResult(arg, "tf", error=f"{arg}: no such file"))
            else:
                tf_files.append(arg)
        elif not path.exists():
            failures.append(InputResult(arg, "plan", error=f"{arg}: no such file or directory"))
        else:
            sources.append(Source("plan", arg))
    for tf in tf_files:
        sources.append(Source("tf", tf, (tf,)))
    return sources, failures


class Evaluator:
    """Evaluates plan-shaped inputs with the compiled rules."""

    def __init__(self, files: Mapping[str, bytes], data: Mapping) -> None:
        self.engine = Engine(files, data)

    def findings(self, raw: bytes) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
        result = self.engine.query(QUERY, raw=raw)
        return (tuple(sorted(result.get("findings", []), key=sort_key)),
                tuple(sorted(result.get("waived", []), key=sort_key)))


class OpaBinaryEvaluator:
    """Evaluates with ``opa eval`` on the bundle, for users who want the ``opa`` binary."""

    def __init__(self, bundle: bytes) -> None:
        self.opa = shutil.which("opa")
        if not self.opa:
            raise EngineError("--engine opa needs the opa binary on PATH (https://www.openpolicyagent.org/docs/"
                              "latest/#running-opa); the default embedded engine needs nothing")
        self._dir = tempfile.mkdtemp(prefix="sesrego-opa-")
        self.bundle = os.path.join(self._dir, "bundle.tar.gz")
        with open(self.bundle, "wb") as handle:
            handle.write(bundle)

    def findings(self, raw: bytes) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
        input_path = os.path.join(self._dir, "input.json")
        with open(input_path, "wb") as handle:
            handle.write(raw)
        proc = subprocess.run([self.opa, "eval", "--format", "json", "-b", self.bundle, "-i", input_path,
                               QUERY], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise EngineError(f"opa eval failed: {proc.stderr.strip()[:500]}")
        value = json.loads(proc.stdout)["result"][0]["expressions"][0]["value"]
        return (tuple(sorted(value.get("findings", []), key=sort_key)),
                tuple(sorted(value.get("waived", []), key=sort_key)))


_worker: Evaluator | None = None


def _init_worker(files: Mapping[str, bytes], data: Mapping) -> None:
    global _worker
    _worker = Evaluator(files, data)


def _scan_one(source: Source, limits: Limits, evaluator=None, stdin: bytes | None = None) -> list[InputResult]:
    evaluator = evaluator or _worker
    try:
        if source.kind == "tf":
            return _scan_tf(source, evaluator)
        raw = stdin if source.kind == "stdin" else _read(source.path, limits)
        raw = read_plan_bytes(raw, source.path, limits)
        findings, waived = evaluator.findings(raw)
        return [InputResult(source.path, "plan", findings, waived=waived)]
    except SesregoError as exc:
        return [InputResult(source.path, "tf" if source.kind == "tf" else "plan", error=exc.located())]


def _read(path: str, limits: Limits) -> bytes:
    try:
        size = os.path.getsize(path)
        if size > limits.max_input_bytes:
            raise InputError(f"input is {size} bytes, over the limit of {limits.max_input_bytes} "
                             "(raise it with --max-input-bytes)", path=path)
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def _scan_tf(source: Source, evaluator) -> list[InputResult]:
    from .terraform import plan_from_tf

    results = []
    for tf in plan_from_tf([Path(p) for p in source.tf_paths]):
        name = str(tf.path)
        if tf.error is not None:
            results.append(InputResult(name, "tf", error=tf.error.located()))
            continue
        raw = json.dumps(tf.plan).encode()
        findings, waived = evaluator.findings(raw)
        results.append(InputResult(name, "tf", findings, locations=dict(tf.locations), waived=waived))
    return results


def scan(paths: Sequence[str], program: Program, tree: Tree, options: ScanOptions = ScanOptions(), *,
         stdin: bytes | None = None, progress: Callable[[int], None] | None = None) -> ScanReport:
    sources, failures = collect(paths)
    data = data_document(tree.facts, options.config)
    if options.engine == "opa":
        from .bundle import data_content  # noqa: F401  (bundle carries config for opa eval)
        evaluator = OpaBinaryEvaluator(tar_gz(bundle_files(program, tree, options.config)))
        results = _sequential(sources, options.limits, evaluator, stdin, progress)
    else:
        files = {k: v for k, v in tree.files.items() if not k.endswith("_test.rego")}
        jobs = options.jobs or os.cpu_count() or 1
        if jobs > 1 and len(sources) > 1:
            results = _parallel(sources, options.limits, files, data, min(jobs, len(sources)), stdin, progress)
        else:
            results = _sequential(sources, options.limits, Evaluator(files, data), stdin, progress)
    by_path = {r.path: r for r in failures}
    ordered = []
    for arg in paths:  # report in command-line order
        if arg in by_path:
            ordered.append(by_path.pop(arg))
        ordered.extend(results.pop(arg, []))
    for leftover in results.values():
        ordered.extend(leftover)
    return ScanReport(tuple(ordered), rule_infos(program), options.fail_on)


def _sequential(sources, limits, evaluator, stdin, progress) -> dict[str, list[InputResult]]:
    results = {}
    for source in sources:
        results.setdefault(source.path, []).extend(_scan_one(source, limits, evaluator, stdin))
        if progress:
            progress(1)
    return results


def _parallel(sources, limits, files, data, jobs, stdin, progress) -> dict[str, list[InputResult]]:
    results = {}
    context = multiprocessing.get_context("spawn")  # the Go runtime must not be forked
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(files, data)) as pool:
        futures = [(source, pool.submit(_scan_one, source, limits, None, stdin)) for source in sources]
        for source, future in futures:
            results.setdefault(source.path, []).extend(future.result())
            if progress:
                progress(1)
    return results


def read_stdin() -> bytes:
    return sys.stdin.buffer.read()

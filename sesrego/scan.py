"""Inputs -> compiled rules in the engine -> :class:`ScanReport`.

Scanning always evaluates the compiled Rego (one source of truth). Plans are handed to
the engine as the bytes the user gave; ``.tf`` root modules are first turned into the same
plan-shaped input by :mod:`sesrego.terraform`. Many inputs are scanned in parallel, one
engine per worker process (rules loaded once per process), and reported in input order.
Cores that fewer inputs would leave idle take parts of the large plans (``split_plan``):
the rules judge policies resource by resource, joined only with data sources, the
configuration and the organization's policies, which every part keeps.
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
from .errors import EngineError, SesregoError
from .model import Program
from .plan import Limits, load_plan, read_input, read_plan_bytes
from .render import Tree
from .report import InputResult, RuleInfo, ScanReport, sort_key
from .terraform.options import ReaderOptions

# What a scan reports: the findings after waivers, and the waived findings with their waivers.
QUERY = '{"findings": data.sesrego.findings, "waived": data.sesrego.waived}'


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to scan."""

    kind: str  # "plan" | "stdin" | "tf"
    path: str
    tf_paths: tuple[str, ...] = ()
    part: int = 0  # a large plan is evaluated as `parts` parts (see split_plan)
    parts: int = 1


@dataclass(frozen=True, slots=True)
class ScanOptions:
    config: Mapping = field(default_factory=dict)
    limits: Limits = Limits()
    engine: str = "embedded"  # embedded | opa
    jobs: int = 0  # 0: every core
    fail_on: str = "deny"
    split_bytes: int = 2 * 2**20  # a plan at least this large is evaluated in parts, one per free core
    reader: ReaderOptions = ReaderOptions()  # --var, --var-file, TF_VAR_* and the .tf reader's caps


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
            found = sorted(str(p) for p in path.rglob("*.tf*") if ".terraform" not in p.parts
                           and p.name.endswith((".tf", ".tf.json")))
            if not found:
                failures.append(InputResult(arg, "tf", error=f"{arg}: no .tf files in this directory"))
            else:
                sources.append(Source("tf", arg, (arg,)))
        elif path.suffix == ".tf" or path.name.endswith(".tf.json"):  # a .tf.json file is configuration
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
        return _sorted(self.engine.query(QUERY, raw=raw))


def _sorted(value: Mapping) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """The QUERY's value as (findings, waived), each in report order."""
    return (tuple(sorted(value.get("findings", []), key=sort_key)),
            tuple(sorted(value.get("waived", []), key=sort_key)))


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
        return _sorted(json.loads(proc.stdout)["result"][0]["expressions"][0]["value"])


_worker: Evaluator | None = None


def _init_worker(files: Mapping[str, bytes], data: Mapping) -> None:
    global _worker
    _worker = Evaluator(files, data)


def _scan_one(source: Source, limits: Limits, evaluator=None, stdin: bytes | None = None,
              reader: ReaderOptions = ReaderOptions()) -> list[InputResult]:
    evaluator = evaluator or _worker
    try:
        if source.kind == "tf":
            return _scan_tf(source, evaluator, reader)
        raw = stdin if source.kind == "stdin" else read_input(source.path, limits)
        if source.parts > 1:
            plan = split_plan(load_plan(raw, source.path, limits), source.parts)[source.part]
            raw = json.dumps(plan).encode()
        else:
            raw = read_plan_bytes(raw, source.path, limits)
        findings, waived = evaluator.findings(raw)
        return [InputResult(source.path, "plan", findings, waived=waived)]
    except SesregoError as exc:
        return [InputResult(source.path, "tf" if source.kind == "tf" else "plan", error=exc.located())]


def _scan_tf(source: Source, evaluator, reader: ReaderOptions = ReaderOptions()) -> list[InputResult]:
    from .terraform import plan_from_tf

    results = []
    for tf in plan_from_tf([Path(p) for p in source.tf_paths], reader):
        name = str(tf.path)
        if tf.error is not None:
            results.append(InputResult(name, "tf", error=tf.error.located(), warnings=tf.warnings))
            continue
        raw = json.dumps(tf.plan).encode()
        findings, waived = evaluator.findings(raw)
        results.append(InputResult(name, "tf", findings, locations=dict(tf.locations), waived=waived,
                                   warnings=tf.warnings))
    return results


def _shared(change: object) -> bool:
    """Whether every part of a split plan needs this resource change.

    The rules join a policy only with its own resource change, the plan's data sources (an
    aws_iam_policy_document read during apply), its configuration, and the organization's
    policies (the SCP controls); everything else is judged resource by resource.
    """
    return not isinstance(change, dict) or change.get("mode") != "managed" or \
        change.get("type") == "aws_organizations_policy"


def split_plan(plan: dict, parts: int) -> list[dict]:
    """``plan`` as ``parts`` plans whose findings, merged as a set, are the plan's findings.

    Each part keeps everything but ``resource_changes``, every shared change (see ``_shared``),
    and one share of the others. Findings on shared resources appear in every part and merge
    into one, as ``data.sesrego.findings`` is a set.
    """
    changes = plan.get("resource_changes")
    if parts <= 1 or not isinstance(changes, list):
        return [plan]
    shared = [change for change in changes if _shared(change)]
    own = [change for change in changes if not _shared(change)]
    return [{**plan, "resource_changes": shared + own[part::parts]} for part in range(parts)]


def _merge(results: list[InputResult]) -> InputResult:
    """The parts of a split plan as one input: the union of their findings, in report order."""
    first = results[0]
    if any(result.error for result in results):
        return next(result for result in results if result.error)

    def union(groups):
        merged = {json.dumps(item, sort_keys=True): item for group in groups for item in group}
        return tuple(sorted(merged.values(), key=sort_key))

    return InputResult(first.path, first.kind, union(r.findings for r in results),
                       waived=union(r.waived for r in results))


def _plan_size(source: Source, stdin: bytes | None) -> int:
    if source.kind == "stdin":
        return len(stdin or b"")
    try:
        return os.path.getsize(source.path) if source.kind == "plan" else 0
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
            out.extend(Source(source.kind, source.path, source.tf_paths, part, parts) for part in range(parts))
        else:
            out.append(source)
    return out


def scan(paths: Sequence[str], program: Program, tree: Tree, options: ScanOptions = ScanOptions(), *,
         stdin: bytes | None = None, progress: Callable[[int], None] | None = None) -> ScanReport:
    sources, failures = collect(paths)
    if options.engine == "opa":  # the bundle carries the configuration for opa eval
        evaluator = OpaBinaryEvaluator(tar_gz(bundle_files(program, tree, options.config, sources=False)))
        results = _sequential(sources, options.limits, evaluator, stdin, progress, options.reader)
    else:
        data = data_document(tree.facts, options.config)
        files = {k: v for k, v in tree.files.items() if not k.endswith("_test.rego")}
        jobs = options.jobs or os.cpu_count() or 1
        sources = _split_large(sources, jobs, options.split_bytes, stdin)
        if jobs > 1 and len(sources) > 1:
            results = _parallel(sources, options.limits, files, data, min(jobs, len(sources)), stdin, progress,
                                options.reader)
        else:
            results = _sequential(sources, options.limits, Evaluator(files, data), stdin, progress, options.reader)
    by_path = {r.path: r for r in failures}
    ordered = []
    for arg in paths:  # report in command-line order
        if arg in by_path:
            ordered.append(by_path.pop(arg))
        ordered.extend(results.pop(arg, []))
    for leftover in results.values():
        ordered.extend(leftover)
    return ScanReport(tuple(ordered), rule_infos(program), options.fail_on)


def _sequential(sources, limits, evaluator, stdin, progress, reader=ReaderOptions()) -> dict[str, list[InputResult]]:
    results = {}
    for source in sources:
        results.setdefault(source.path, []).extend(_scan_one(source, limits, evaluator, stdin, reader))
        if progress:
            progress(1)
    return results


def _parallel(sources, limits, files, data, jobs, stdin, progress,
              reader=ReaderOptions()) -> dict[str, list[InputResult]]:
    results: dict[str, list[InputResult]] = {}
    context = multiprocessing.get_context("spawn")  # the Go runtime must not be forked
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(files, data)) as pool:
        futures = [(source, pool.submit(_scan_one, source, limits, None, stdin, reader)) for source in sources]
        parts: list[InputResult] = []
        for source, future in futures:
            if source.parts == 1:
                results.setdefault(source.path, []).extend(future.result())
            else:
                parts.extend(future.result())
                if source.part < source.parts - 1:
                    continue
                results.setdefault(source.path, []).append(_merge(parts))
                parts = []
            if progress:
                progress(1)
    return results


def read_stdin() -> bytes:
    return sys.stdin.buffer.read()

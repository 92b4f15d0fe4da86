"""The engine door: one evaluation interface, one result type, three ways to evaluate.

An :class:`Evaluator` takes a plan-shaped input (the serialised JSON, handed over as bytes)
and, optionally, extra waivers for that input only (inline suppressions), and returns a
:class:`Result`: the findings, the waived findings, and the counts a report needs (policies
checked, unverifiable, waivers used, unused and expired). Three implementations:

* :class:`Embedded`: OPA's own Go engine in this process (``opa_bindings``), the default;
* :class:`OpaBinary`: the ``opa`` binary (``opa eval`` on a bundle; also ``opa check``/``opa test``);
* :class:`sesrego.server.Server`: an OPA server over its REST API, one ad-hoc query per input.

All three ask the same :data:`QUERY`, so they return the same result for the same policies.
Extra waivers are added in the query itself (``with data.sesrego.config.waivers as W``, W being
the configuration's waivers followed by the extra ones), so the evaluator's loaded data never
changes. Evaluators are picklable: the scan hands one to each worker process, which opens its
own engine on first use.

``opa_bindings`` (the ``opa-golib-python-bindings`` wheel) wraps
``github.com/open-policy-agent/opa/v1/rego`` as a c-shared library. Built-in errors are
strict there, so a rule that could raise on odd input fails loudly in our tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import EngineError

try:  # pragma: no cover - exercised by every test
    from opa_bindings import OpaEngine, OpaError
except ImportError:  # pragma: no cover - tested in a subprocess without the module
    OpaEngine = None

    class OpaError(Exception):  # type: ignore[no-redef] - never raised without the engine
        message = ""

#: The embedded engine's distribution, pinned as in the Makefile and the ``engine`` extra.
ENGINE_PACKAGE = "opa-golib-python-bindings==0.4.4"
#: How to install it where its wheel's Python >=3.14 requirement is not met (it runs on 3.11+).
INSTALL_COMMANDS = (
    f"pip install --ignore-requires-python --no-deps {ENGINE_PACKAGE}",
    f"uv pip install --python-version 3.14 --no-deps {ENGINE_PACKAGE}",
    f"pipx inject sesrego {ENGINE_PACKAGE} --pip-args='--ignore-requires-python --no-deps'",
)


class EngineMissing(EngineError):
    """OPA's embedded engine is not installed (and no ``opa`` binary stands in). Exit status 2."""

    def __init__(self, why: str = "") -> None:
        super().__init__("OPA's embedded engine is not installed (the Python module opa_bindings, from "
                         f"{ENGINE_PACKAGE}){why}. Install the engine into sesrego's environment with one of:\n"
                         + "".join(f"  {command}\n" for command in INSTALL_COMMANDS)
                         + "or put the opa binary on PATH (https://www.openpolicyagent.org/docs/latest/#running-opa): "
                           "sesrego scan then uses it.")

    def format_message(self) -> str:
        return self.located()  # several lines on purpose: the commands to copy


def embedded_available() -> bool:
    """Whether OPA's embedded engine can be loaded in this Python."""
    return OpaEngine is not None


REPORT = "sesrego.report"

#: What a scan asks for each input: findings after waivers, waived findings with their waiver,
#: the counts (``data.sesrego.checked``) and the waivers' bookkeeping.
QUERY = ('{"findings": data.sesrego.findings, "waived": data.sesrego.waived, "checked": data.sesrego.checked, '
         '"waivers_used": data.sesrego.waivers_used, "waivers_unused": data.sesrego.waivers_unused, '
         '"waivers_expired": data.sesrego.waivers_expired}')
#: Added for a part of a split plan: how many of its policies every part shares (see plan.split_plan).
SHARED_QUERY_KEY = "shared_policies"
_SHARED_POLICIES = ('count([p | some p in data.sesrego.lib.plan.policies; '
                    'p.resource_type == "aws_organizations_policy"])')


def query(extra_waivers: Sequence[Mapping] = (), *, shared: bool = False) -> str:
    """:data:`QUERY`, with per-input waivers appended to the configuration's, if any."""
    text = QUERY
    if shared:
        text = text[:-1] + f', "{SHARED_QUERY_KEY}": {_SHARED_POLICIES}}}'
    if extra_waivers:
        literal = json.dumps(list(extra_waivers), ensure_ascii=True, sort_keys=True)
        text += f" with data.sesrego.config.waivers as array.concat(data.sesrego.lib.config.waivers, {literal})"
    return text


@dataclass(frozen=True, slots=True)
class Result:
    """What one evaluation of one input gives, whichever engine evaluated it."""

    findings: tuple[dict, ...] = ()
    waived: tuple[dict, ...] = ()
    policies: int = 0  # policy attributes read (one attribute of one resource instance)
    unverifiable: int = 0  # of those, the ones with an SES-007 finding, before waivers
    waivers_used: tuple[dict, ...] = ()
    waivers_unused: tuple[dict, ...] = ()
    waivers_expired: tuple[dict, ...] = ()
    shared_policies: int = 0  # only for a part of a split plan

    @classmethod
    def from_value(cls, value: object) -> Result:
        """The result of :data:`QUERY`'s value, checked: a malformed answer is an error, never a pass."""
        from .report import sort_key

        if not isinstance(value, dict):
            raise EngineError(f"the engine's answer is not an object: {_short(value)}")

        def objects(key: str) -> tuple[dict, ...]:
            items = value.get(key)
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise EngineError(f"the engine's answer has no list of objects {key!r}: {_short(items)}")
            return tuple(items)

        for finding in (*objects("findings"), *objects("waived")):
            _check_finding(finding)
        checked = value.get("checked")
        if not isinstance(checked, dict) or not all(isinstance(checked.get(k), int) and not isinstance(
                checked.get(k), bool) for k in ("policies", "unverifiable")):
            raise EngineError(f"the engine's answer has no counts 'checked': {_short(checked)}")
        shared = value.get(SHARED_QUERY_KEY, 0)
        return cls(findings=tuple(sorted(objects("findings"), key=sort_key)),
                   waived=tuple(sorted(objects("waived"), key=sort_key)),
                   policies=checked["policies"], unverifiable=checked["unverifiable"],
                   waivers_used=objects("waivers_used"), waivers_unused=objects("waivers_unused"),
                   waivers_expired=objects("waivers_expired"),
                   shared_policies=shared if isinstance(shared, int) else 0)


#: A finding's text fields, and the severities a rule can give (sesrego.config.SEVERITIES).
_TEXT_FIELDS = ("resource", "resource_type", "attribute", "msg", "title", "remediation", "policy_kind")
_SEVERITIES = ("deny", "warn", "info")


def _check_finding(finding: dict) -> None:
    """A finding as the rules make it; an answer from elsewhere (an OPA server running other policies)
    that is not is an error, never a pass nor a crash in an output format."""
    if not isinstance(finding.get("rule_id"), str) or not isinstance(finding.get("severity"), str):
        raise EngineError(f"the engine answered a finding without rule_id or severity: {_short(finding)}")
    if finding["severity"] not in _SEVERITIES:
        raise EngineError(f"the engine answered a finding whose severity is not deny, warn or info: {_short(finding)}")
    wrong = [key for key in _TEXT_FIELDS if key in finding and not isinstance(finding[key], str)]
    wrong += [key for key in ("actions", "consideration") if key in finding and not (
        isinstance(finding[key], list) and all(isinstance(item, str) for item in finding[key]))]
    if not isinstance(finding.get("resource"), str) or wrong:
        raise EngineError(f"the engine answered a finding with a malformed {(wrong or ['resource'])[0]}: "
                          f"{_short(finding)}")


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."


class Evaluator(Protocol):
    """Evaluates plan-shaped inputs with the compiled rules (see the module docstring)."""

    name: str

    def evaluate(self, raw: bytes, waivers: Sequence[Mapping] = (), *, shared: bool = False) -> Result:
        """The result for the input ``raw`` (serialised JSON), with ``waivers`` added for it alone."""

    def close(self) -> None:
        """Release the engine (a temporary directory, a connection)."""


class Engine:
    """Compiled policies and data loaded once into OPA's embedded engine; evaluated many times."""

    def __init__(self, files: Mapping[str, bytes], data: Mapping, *, tests: bool = False) -> None:
        if OpaEngine is None:
            raise EngineMissing()
        self._opa = OpaEngine()
        self._opa.print_handler = lambda message, location: None
        self.modules: dict[str, str] = {}
        for path, content in sorted(files.items()):
            if not path.endswith(".rego") or (path.endswith("_test.rego") and not tests):
                continue
            self.modules[path] = content.decode("utf-8")
            self._call(self._opa.add_policy, path, self.modules[path])
        self._call(self._opa.add_data, dict(data))

    @staticmethod
    def _call(fn, *args):
        try:
            return fn(*args)
        except OpaError as exc:
            raise EngineError(f"OPA engine: {exc.message}") from None

    def evaluate(self, document: str = REPORT, plan: object = None, *, raw: bytes | None = None):
        """Evaluate ``data.<document>`` with the plan as input.

        ``raw`` passes already-serialised JSON straight to the engine (no re-encoding in Python).
        """
        if raw is not None:
            return self._raw_eval(self._opa._lib.OpaEvalDocument, document, raw, f"data.{document}")
        try:
            return self._opa.eval_document(document, plan)
        except OpaError as exc:
            raise EngineError(f"OPA engine: {exc.message}") from None

    def query(self, query: str, *, raw: bytes):
        """The value of a single-expression Rego ``query`` with ``raw`` (serialised JSON) as input.

        A scan asks for exactly the documents it reports, so the engine neither computes nor
        serialises the rules' intermediate documents.
        """
        return self._raw_eval(self._opa._lib.OpaEvalQuery, query, raw, "the scan query")

    def _raw_eval(self, entry, text: str, raw: bytes, name: str):
        """The first expression's value of a library call that takes serialised JSON input."""
        envelope = self._call(self._opa._call, entry, text.encode(), raw, 0, 0)
        results = envelope.get("result") or []
        if not results or not results[0].get("expressions"):
            raise EngineError(f"{name} is undefined")
        return results[0]["expressions"][0]["value"]

    def test_names(self) -> list[tuple[str, str]]:
        """(package, rule) of every ``test_*`` rule, in file order."""
        names = []
        for text in self.modules.values():
            package = None
            for line in text.splitlines():
                if line.startswith("package "):
                    package = line.split()[1]
                elif line.startswith("test_") and package:
                    names.append((package, line.split()[0]))
        return names

    def run_tests(self) -> list[TestResult]:
        """Every ``test_*`` rule, one query per package: OPA prepares each query against the whole
        policy (about 0.3 s), so asking per test would cost that for every test. A package whose
        query fails is asked again test by test, so that the error names the test."""
        by_package: dict[str, list[str]] = {}
        for package, name in self.test_names():
            by_package.setdefault(package, []).append(name)
        results = []
        for package, names in by_package.items():
            start = time.perf_counter()
            try:
                document = self._opa.eval_query(f"x := data.{package}")
            except OpaError:
                results.extend(self._run_test(package, name) for name in names)
                continue
            values = document[0]["x"] if document else {}
            share = (time.perf_counter() - start) / len(names)
            results.extend(TestResult(package, name, values.get(name) is True, None, share) for name in names)
        return results

    def _run_test(self, package: str, name: str) -> TestResult:
        start = time.perf_counter()
        try:
            passed, error = bool(self._opa.eval_query(f"data.{package}.{name} == true")), None
        except OpaError as exc:
            passed, error = False, exc.message
        return TestResult(package, name, passed, error, time.perf_counter() - start)

    def close(self) -> None:
        self._opa.close()


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False  # not a pytest test class

    package: str
    name: str
    passed: bool
    error: str | None
    seconds: float


#: Engines kept for reuse in this process, by the digest of their policies and data: OPA compiles
#: the policies on the first query (about 0.2 s), so a program that scans repeatedly with the same
#: rules and configuration (the Python API, a test suite) pays it once. At most a few are kept.
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_KEPT_ENGINES = 2


def _shared_engine(files: Mapping[str, bytes], data: Mapping) -> Engine:
    digest = hashlib.sha256()
    for path, body in sorted(files.items()):
        digest.update(hashlib.sha256(path.encode()).digest() + hashlib.sha256(body).digest())
    digest.update(json.dumps(data, sort_keys=True, ensure_ascii=True, default=str).encode())
    key = digest.hexdigest()
    engine = _ENGINES.pop(key, None) or Engine(files, data)
    _ENGINES[key] = engine
    while len(_ENGINES) > _KEPT_ENGINES:
        _ENGINES.popitem(last=False)  # an engine still in use elsewhere closes when it is collected
    return engine


class Embedded:
    """The :class:`Evaluator` on OPA's embedded engine. The engine is opened on first use, and
    shared with later evaluators of the same policies and data in this process."""

    name = "embedded"

    def __init__(self, files: Mapping[str, bytes], data: Mapping) -> None:
        self.files = {path: body for path, body in files.items() if not path.endswith("_test.rego")}
        self.data = data
        self._engine: Engine | None = None

    def __getstate__(self) -> dict:
        return {"files": self.files, "data": self.data}

    def __setstate__(self, state: dict) -> None:
        self.files, self.data, self._engine = state["files"], state["data"], None

    def evaluate(self, raw: bytes, waivers: Sequence[Mapping] = (), *, shared: bool = False) -> Result:
        if self._engine is None:
            self._engine = _shared_engine(self.files, self.data)
        return Result.from_value(self._engine.query(query(waivers, shared=shared), raw=raw))

    def close(self) -> None:
        self._engine = None  # the shared engine stays open for the next evaluator of the same rules


def opa_binary() -> str:
    """The ``opa`` binary's path, or an error saying how to get one."""
    found = shutil.which("opa")
    if not found:
        raise EngineError("the opa binary is not on PATH (https://www.openpolicyagent.org/docs/latest/#running-opa); "
                          "the default embedded engine needs nothing")
    return found


class OpaBinary:
    """The :class:`Evaluator` on the ``opa`` binary: ``opa eval`` on a bundle, input on stdin."""

    name = "opa"

    def __init__(self, bundle: bytes) -> None:
        self.bundle = bundle
        self.opa = opa_binary()
        self._dir: str | None = None

    def __getstate__(self) -> dict:
        return {"bundle": self.bundle, "opa": self.opa}

    def __setstate__(self, state: dict) -> None:
        self.bundle, self.opa, self._dir = state["bundle"], state["opa"], None

    def _bundle_path(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="sesrego-opa-")
            with open(os.path.join(self._dir, "bundle.tar.gz"), "wb") as handle:
                handle.write(self.bundle)
        return os.path.join(self._dir, "bundle.tar.gz")

    def evaluate(self, raw: bytes, waivers: Sequence[Mapping] = (), *, shared: bool = False) -> Result:
        try:
            proc = subprocess.run([self.opa, "eval", "--format", "json", "--stdin-input", "-b", self._bundle_path(),
                                   query(waivers, shared=shared)], input=raw, capture_output=True, check=False)
        except OSError as exc:
            raise EngineError(f"cannot run {self.opa}: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
            raise EngineError(f"opa eval failed: {message[:500]}")
        try:
            answer = json.loads(proc.stdout)
            value = answer["result"][0]["expressions"][0]["value"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EngineError("opa eval gave no result: is this a sesrego bundle?") from None
        return Result.from_value(value)

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def opa_check_and_test(policy_dir: Path) -> list[tuple[str, int, str]]:
    """``opa check --strict`` and ``opa test`` on a policy directory: (command, exit status, output)."""
    opa = opa_binary()
    runs = []
    for args in (["check", "--strict", str(policy_dir)], ["test", str(policy_dir)]):
        proc = subprocess.run([opa, *args], capture_output=True, text=True, check=False)
        runs.append((f"opa {' '.join(args[:2])}", proc.returncode, proc.stdout + proc.stderr))
    return runs


def data_document(facts: Mapping, config: Mapping | None = None) -> dict:
    """The data document as OPA sees it: facts and configuration under ``data.sesrego``."""
    document: dict = {"facts": json.loads(json.dumps(facts))}
    if config:
        document["config"] = dict(config)
    return {"sesrego": document}

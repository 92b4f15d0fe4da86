"""The only module that talks to the Rego engine: OPA's own Go engine, embedded.

``opa_bindings`` (the ``opa-golib-python-bindings`` wheel) wraps
``github.com/open-policy-agent/opa/v1/rego`` as a c-shared library. Built-in errors are
strict there, so a rule that could raise on odd input fails loudly in our tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import EngineError

try:  # pragma: no cover - exercised by every test
    from opa_bindings import OpaEngine, OpaError
except ImportError as exc:  # pragma: no cover
    raise SystemExit(
        "sesrego needs OPA's engine: pip install --ignore-requires-python --no-deps "
        f"opa-golib-python-bindings==0.4.4 ({exc})") from None

REPORT = "sesrego.report"


@dataclass(frozen=True, slots=True)
class TestResult:
    package: str
    name: str
    passed: bool
    error: str | None
    seconds: float


class Engine:
    """Compiled policies and data loaded once; evaluated many times."""

    def __init__(self, files: Mapping[str, bytes], data: Mapping, *, tests: bool = False) -> None:
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
        return self._raw_eval(self._opa._lib.OpaEvalQuery, query, raw, query)

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
        results = []
        for package, name in self.test_names():
            start = time.perf_counter()
            try:
                passed = bool(self._opa.eval_query(f"data.{package}.{name} == true"))
                error = None
            except OpaError as exc:
                passed, error = False, exc.message
            results.append(TestResult(package, name, passed, error, time.perf_counter() - start))
        return results

    def close(self) -> None:
        self._opa.close()


def data_document(facts: Mapping, config: Mapping | None = None) -> dict:
    """The data document as OPA sees it: facts and configuration under ``data.sesrego``."""
    document: dict = {"facts": json.loads(json.dumps(facts))}
    if config:
        document["config"] = dict(config)
    return {"sesrego": document}

"""An OPA server as the engine: push the compiled policies, ask it for ``data.sesrego.report``.

Uses opa-python-client against OPA's REST API (``PUT /v1/policies/{id}``,
``PUT /v1/data/{path}``, ``POST /v1/data/{path}``). Every failure becomes one clear error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlparse

from .engine import data_document
from .errors import EngineError, SesregoError
from .model import Program
from .render import Tree
from .report import InputResult, ScanReport, sort_key


def client(url: str):
    from opa_client import OpaClient

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SesregoError(f"--opa-url {url!r} is not an http(s) URL such as http://localhost:8181")
    port = parsed.port or (443 if parsed.scheme == "https" else 8181)
    return OpaClient(host=parsed.hostname, port=port, ssl=parsed.scheme == "https", timeout=30)


def _call(url: str, what: str, fn, *args):
    import requests
    from opa_client.errors import ConnectionsError

    try:
        return fn(*args)
    except requests.exceptions.ConnectionError:
        raise EngineError(f"cannot connect to the OPA server at {url} ({what})") from None
    except requests.exceptions.HTTPError as exc:
        raise EngineError(f"OPA server at {url} answered {exc.response.status_code} to {what}: "
                          f"{exc.response.text.strip()[:300]}") from None
    except requests.exceptions.RequestException as exc:
        raise EngineError(f"OPA server at {url}: {what} failed: {exc}") from None
    except ConnectionsError as exc:
        raise EngineError(f"cannot connect to the OPA server at {url} ({what}): {exc.message}") from None
    except Exception as exc:  # the client raises its own error types with the server's message
        message = getattr(exc, "message", None) or str(exc)
        raise EngineError(f"OPA server at {url} refused {what}: {message}") from None


def push(url: str, tree: Tree, config: Mapping | None = None) -> int:
    """Upload every non-test policy and ``data.sesrego`` (facts and configuration)."""
    opa = client(url)
    policies = {path: body for path, body in tree.files.items() if not path.endswith("_test.rego")}
    document = data_document(tree.facts, config)["sesrego"]
    _call(url, "PUT /v1/data/sesrego", opa.update_or_create_data, document, "sesrego")
    for path, body in sorted(policies.items()):
        _call(url, f"PUT /v1/policies/{path}", opa.update_policy_from_string, body.decode("utf-8"), path, False)
    return len(policies)


def scan_with_server(url: str, paths: Sequence[str], program: Program, options, *, stdin: bytes | None = None
                     ) -> ScanReport:
    """Like :func:`sesrego.scan.scan`, with the server evaluating ``data.sesrego.report``."""
    from .plan import load_plan, read_input
    from .scan import collect, rule_infos

    opa = client(url)
    sources, failures = collect(paths)
    results = list(failures)
    for source in sources:
        if source.kind == "tf":
            results.append(InputResult(source.path, "tf", error=f"{source.path}: --opa-url scans plan JSON; "
                                       "scan .tf files with the embedded engine"))
            continue
        try:
            raw = stdin if source.kind == "stdin" else read_input(source.path, options.limits)
            plan = load_plan(raw, source.path, options.limits)
            answer = _call(url, "POST /v1/data/sesrego/report", opa.query_rule, plan, "sesrego", "report")
        except SesregoError as exc:
            results.append(InputResult(source.path, "plan", error=exc.located()))
            continue
        report = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(report, dict):
            results.append(InputResult(source.path, "plan", error=f"{source.path}: the OPA server has no "
                                       "data.sesrego.report; run `sesrego push --opa-url URL` first"))
            continue
        results.append(InputResult(source.path, "plan", tuple(sorted(report.get("findings", []), key=sort_key))))
    return ScanReport(tuple(results), rule_infos(program), options.fail_on)

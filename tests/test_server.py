"""The OPA-server path against a local server that speaks OPA's REST API with OPA's engine.

The server is started by the test on 127.0.0.1: `PUT /v1/policies/{id}`, `PUT /v1/data/{path}`
and `POST /v1/data/{path}` with `{"input": ...}`, evaluated by the embedded engine, so the real
HTTP traffic of opa-python-client is exercised.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from conftest import identity, plan
from sesrego.cli import cli
from sesrego.engine import Engine


class FakeOpa(BaseHTTPRequestHandler):
    policies: dict[str, bytes] = {}
    data: dict = {}

    def log_message(self, *args):  # keep test output clean
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _answer(self, status: int, payload=None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        body = self._body()
        if self.path.startswith("/v1/policies/"):
            type(self).policies[self.path[len("/v1/policies/"):]] = body
            return self._answer(200, {})
        if self.path.startswith("/v1/data/"):
            node = type(self).data
            parts = self.path[len("/v1/data/"):].split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = json.loads(body)
            return self._answer(204)
        self._answer(404, {"code": "not_found", "message": self.path})

    def do_POST(self):
        if self.path == "/v1/query":  # an ad-hoc query: the bindings of each result
            request = json.loads(self._body())
            engine = Engine(type(self).policies, type(self).data)
            try:
                envelope = engine._call(engine._opa._call, engine._opa._lib.OpaEvalQuery,
                                        request["query"].encode(), json.dumps(request.get("input")).encode(), 0, 0)
            except Exception as exc:
                return self._answer(400, {"code": "invalid_parameter", "message": str(exc)})
            finally:
                engine.close()
            return self._answer(200, {"result": [r["bindings"] for r in envelope.get("result") or []]})
        if not self.path.startswith("/v1/data/"):
            return self._answer(404, {"code": "not_found", "message": self.path})
        document = self.path[len("/v1/data/"):].replace("/", ".")
        engine = Engine(type(self).policies, type(self).data)
        try:
            result = engine.evaluate(document, json.loads(self._body())["input"])
        except Exception as exc:  # an undefined document answers {} as OPA does
            return self._answer(200, {} if "undefined" in str(exc) else {"error": str(exc)})
        finally:
            engine.close()
        self._answer(200, {"result": result})


@pytest.fixture()
def opa_server():
    FakeOpa.policies, FakeOpa.data = {}, {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_push_then_scan_through_the_server(opa_server, tmp_path):
    runner = CliRunner()
    pushed = runner.invoke(cli, ["push", "--opa-url", opa_server])
    assert pushed.exit_code == 0, pushed.output
    assert "sesrego/main.rego" in FakeOpa.policies and "facts" in FakeOpa.data["sesrego"]
    assert not any(name.endswith("_test.rego") for name in FakeOpa.policies)
    path = tmp_path / "plan.json"
    statement = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
    path.write_text(json.dumps(plan(identity("aws_iam_policy.p", statement))))
    result = runner.invoke(cli, ["scan", "--opa-url", opa_server, "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule_id"], f["resource"]) for f in findings] == [("SES-001", "aws_iam_policy.p")]


def test_unreachable_server_is_a_clear_error():
    result = CliRunner().invoke(cli, ["push", "--opa-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot connect to the OPA server at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_server_without_policies_is_a_clear_error(opa_server, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan()))
    result = CliRunner().invoke(cli, ["scan", "--opa-url", opa_server, "--format", "json", str(path)])
    assert result.exit_code == 2
    assert "sesrego push" in result.output

"""The OPA-server path against a local server that speaks OPA's REST API with OPA's engine.

The server is started by the test on 127.0.0.1: `PUT /v1/policies/{id}`, `PUT /v1/data/{path}`,
`POST /v1/data/{path}` with `{"input": ...}` and `POST /v1/query` with `{"query", "input"}`,
evaluated by the embedded engine, so the real HTTP traffic of opa-python-client is exercised.
It can sit under a path prefix (as behind a proxy), require a bearer token (as
`opa run --authentication=token`), speak TLS with or without client certificates, and give
malformed answers on request.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT, identity, plan
from sesrego.cli import cli
from sesrego.engine import Engine

pytestmark = pytest.mark.usefixtures("fast_compile")  # the CLI compiles the sources once per session

OTHER = str(FIXTURES / "plans" / "one-warning.json")
EXAMPLE = ROOT / "terraform_examples" / "app-role-sends-mail"


class FakeOpa(BaseHTTPRequestHandler):
    policies: dict[str, bytes] = {}
    data: dict = {}
    prefix = ""
    token: str | None = None
    answer: object = None  # a canned answer to POST /v1/query: (status, body bytes)
    seen: list[tuple[str, str, bytes]] = []
    _engine: Engine | None = None  # for what was pushed; dropped on every PUT
    lock = threading.Lock()

    @classmethod
    def engine(cls) -> Engine:
        if cls._engine is None:
            cls._engine = Engine(cls.policies, cls.data)
        return cls._engine

    def log_message(self, *args):  # keep test output clean
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _answer(self, status: int, payload=None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self._raw(status, body)

    def _raw(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> str | None:
        """The API path under the prefix, or None after answering 401/404."""
        cls = type(self)
        cls.seen.append((self.command, self.path, b""))
        if cls.token is not None and self.headers.get("Authorization") != f"Bearer {cls.token}":
            self._answer(401, {"code": "unauthorized", "message": "missing or invalid bearer token"})
            return None
        if not self.path.startswith(cls.prefix + "/v1/"):
            self._answer(404, {"code": "not_found", "message": self.path})
            return None
        return self.path[len(cls.prefix):]

    def do_PUT(self):
        path = self._route()
        if path is None:
            return None
        body = self._body()
        type(self)._engine = None
        if path.startswith("/v1/policies/"):
            type(self).policies[path[len("/v1/policies/"):]] = body
            return self._answer(200, {})
        if path.startswith("/v1/data/"):
            node = type(self).data
            parts = path[len("/v1/data/"):].split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = json.loads(body)
            return self._answer(204)
        self._answer(404, {"code": "not_found", "message": path})

    def do_POST(self):
        path = self._route()
        if path is None:
            return None
        body = self._body()
        type(self).seen[-1] = (self.command, self.path, body)
        if path == "/v1/query":  # an ad-hoc query: the bindings of each result
            if type(self).answer is not None:
                return self._raw(*type(self).answer)
            request = json.loads(body)
            try:
                with type(self).lock:
                    engine = type(self).engine()
                    envelope = engine._call(engine._opa._call, engine._opa._lib.OpaEvalQuery,
                                            request["query"].encode(), json.dumps(request.get("input")).encode(),
                                            0, 0)
            except Exception as exc:
                return self._answer(400, {"code": "invalid_parameter", "message": str(exc)})
            return self._answer(200, {"result": [r["bindings"] for r in envelope.get("result") or []]})
        if not path.startswith("/v1/data/"):
            return self._answer(404, {"code": "not_found", "message": path})
        document = path[len("/v1/data/"):].replace("/", ".")
        engine = Engine(type(self).policies, type(self).data)
        try:
            result = engine.evaluate(document, json.loads(body)["input"])
        except Exception as exc:  # an undefined document answers {} as OPA does
            return self._answer(200, {} if "undefined" in str(exc) else {"error": str(exc)})
        finally:
            engine.close()
        self._answer(200, {"result": result})


def _serve(tls: ssl.SSLContext | None = None):
    FakeOpa.policies, FakeOpa.data, FakeOpa.prefix, FakeOpa.token, FakeOpa.answer = {}, {}, "", None, None
    FakeOpa.seen, FakeOpa._engine = [], None
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpa)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


@pytest.fixture()
def opa_server():
    server = _serve()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def scan_json(url, *args, **kwargs):
    return run("scan", "--opa-url", url, "-j", "1", "--format", "json", *args, **kwargs)


def test_push_then_scan_through_the_server(opa_server, tmp_path):
    pushed = run("push", "--opa-url", opa_server)
    assert pushed.exit_code == 0, pushed.output
    assert "sesrego/main.rego" in FakeOpa.policies and "facts" in FakeOpa.data["sesrego"]
    assert not any(name.endswith("_test.rego") for name in FakeOpa.policies)
    path = tmp_path / "plan.json"
    statement = {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}
    path.write_text(json.dumps(plan(identity("aws_iam_policy.p", statement))))
    result = scan_json(opa_server, path)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(f["rule_id"], f["resource"]) for f in document["findings"]] == [("SES-001", "aws_iam_policy.p")]
    assert document["summary"]["policies_checked"] == 1 and document["configuration"] == {"source": "server"}
    assert [(method, path) for method, path, _ in FakeOpa.seen if method == "POST"] == [("POST", "/v1/query")]


def test_tf_inputs_scan_through_the_server_as_they_do_embedded(opa_server):
    pytest.importorskip("hcl2")
    assert run("push", "--opa-url", opa_server).exit_code == 0
    served = scan_json(opa_server, EXAMPLE, OTHER)
    local = run("scan", "-j", "1", "--format", "json", EXAMPLE, OTHER)
    assert served.exit_code == local.exit_code == 0, served.output
    served_doc, local_doc = json.loads(served.stdout), json.loads(local.stdout)
    assert served_doc["findings"] == local_doc["findings"] and len(served_doc["findings"]) == 2
    assert served_doc["inputs"] == local_doc["inputs"] and served_doc["inputs"][0]["kind"] == "tf"
    assert {k: v for k, v in served_doc["summary"].items()} == local_doc["summary"]


def test_the_server_path_isolates_inputs_in_workers_too(opa_server, tmp_path):
    assert run("push", "--opa-url", opa_server).exit_code == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = run("scan", "--opa-url", opa_server, "-j", "2", "--format", "json", broken, OTHER)
    assert result.exit_code == 2
    inputs = json.loads(result.stdout)["inputs"]
    assert "not valid JSON" in inputs[0]["error"] and inputs[1]["findings"] == 1


def test_the_local_configuration_is_not_sent_and_that_is_said_once(opa_server, tmp_path):
    assert run("push", "--opa-url", opa_server).exit_code == 0
    config = tmp_path / "sesrego.yaml"
    config.write_text("sesrego:\n  config:\n    waivers:\n      - {rule_id: SES-001, resource: '*', reason: local}\n")
    second = tmp_path / "second.json"
    second.write_text(open(OTHER).read())
    before = json.dumps(FakeOpa.data, sort_keys=True)
    result = scan_json(opa_server, OTHER, second, "--data", config)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["findings"]) == 2  # the local waiver did not apply
    assert document["configuration"] == {"source": "server"}
    assert result.stderr.count("not sent") == 1 and "server's own configuration applies" in result.stderr
    assert json.dumps(FakeOpa.data, sort_keys=True) == before
    assert not any(b"local" in body for _, _, body in FakeOpa.seen)
    assert not any(method == "PUT" for method, _, _ in FakeOpa.seen[-2:])


def test_the_urls_path_prefix_and_the_token_are_used(opa_server, monkeypatch):
    FakeOpa.prefix, FakeOpa.token = "/gateway/opa", "s3cr3t"
    url = opa_server + "/gateway/opa/"
    assert run("push", "--opa-url", url).exit_code == 2  # no token: 401
    pushed = run("push", "--opa-url", url, "--opa-token", "s3cr3t")
    assert pushed.exit_code == 0, pushed.output
    monkeypatch.setenv("SESREGO_OPA_TOKEN", "s3cr3t")
    result = scan_json(url, OTHER)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["warn"] == 1
    assert ("POST", "/gateway/opa/v1/query") in [(m, p) for m, p, _ in FakeOpa.seen]
    monkeypatch.setenv("SESREGO_OPA_TOKEN", "wrong")
    denied = scan_json(url, OTHER)
    assert denied.exit_code == 2 and "answered 401" in json.loads(denied.stdout)["inputs"][0]["error"]
    assert "s3cr3t" not in denied.output and "wrong" not in denied.output


def test_server_without_policies_is_a_clear_error(opa_server, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan()))
    result = scan_json(opa_server, path)
    assert result.exit_code == 2
    assert "sesrego push" in result.output


@pytest.mark.parametrize("status,body,words", [
    (200, b"not json", "not JSON"),
    (200, b'{"result": "yes"}', "malformed answer"),
    (200, b'{"result": [{"x": 1}]}', "malformed answer"),
    (200, b'{"result": [{"result": {"findings": "none"}}]}', "no list of objects 'findings'"),
    (200, b'{"result": [{"result": {"findings": [], "waived": [], "checked": {"policies": "2"}}}]}', "counts"),
    (200, b'{"result": [{"result": {"findings": [{"msg": 1}], "waived": [], "checked": {"policies": 1, '
          b'"unverifiable": 0}, "waivers_used": [], "waivers_unused": [], "waivers_expired": []}}]}',
     "without rule_id"),
    (200, b'{"result": [{"result": {"findings": [{"rule_id": "SES-001", "severity": "deny\\u0000", "resource": "r"}], '
          b'"waived": [], "checked": {"policies": 1, "unverifiable": 0}, "waivers_used": [], "waivers_unused": [], '
          b'"waivers_expired": []}}]}', "severity"),  # was a pass (exit 0) in JSON
    (200, b'{"result": [{"result": {"findings": [{"rule_id": "SES-001", "severity": "deny", "resource": 5, '
          b'"msg": ["x"]}], "waived": [], "checked": {"policies": 1, "unverifiable": 0}, "waivers_used": [], '
          b'"waivers_unused": [], "waivers_expired": []}}]}', "resource"),  # was an internal error for the scan
    (500, b'{"code": "internal_error", "message": "boom \\u001b[2J\\u0000"}', "answered 500"),
    (502, b"<html>\x1b[31mbad gateway</html>", "answered 502"),
])
def test_malformed_server_answers_are_errors_naming_the_input(opa_server, status, body, words):
    FakeOpa.answer = (status, body)
    result = scan_json(opa_server, OTHER)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [entry] = json.loads(result.stdout)["inputs"]
    assert entry["error"].startswith(f"{OTHER}: ") and words in entry["error"], entry["error"]
    assert "\x1b" not in result.output and "\x00" not in result.output
    assert "\x1b" not in result.stderr


# --- bad URLs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url,words", [
    ("http://localhost:99999", "Port out of range"),
    ("http://user:hunter2@localhost:8181", "must not hold a user name or password"),
    ("https://:hunter2@localhost", "must not hold a user name or password"),
    ("http://localhost:8181/?token=hunter2", "query string"),
    ("ftp://localhost", "not an http(s) URL"),
    ("http://", "not an http(s) URL"),
    ("http://[::1", "not a usable URL"),
])
def test_bad_urls_are_refused_before_anything_is_read(url, words):
    for command in (["scan", OTHER, "--opa-url", url], ["push", "--opa-url", url]):
        result = run(*command)
        assert result.exit_code == 2 and words in result.stderr, result.output
        assert result.stdout == "" and "hunter2" not in result.output and result.stderr.count("\n") == 1


# --- how a failure is told apart --------------------------------------------------------------------------


def test_a_refused_connection(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = scan_json(f"http://127.0.0.1:{port}", OTHER)
    assert result.exit_code == 2
    assert "cannot connect to the OPA server at" in result.output and "connection refused" in result.output


def test_a_server_that_never_answers_is_a_read_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        result = scan_json(f"http://127.0.0.1:{listener.getsockname()[1]}", OTHER, "--opa-timeout", "0.2")
    finally:
        listener.close()
    assert result.exit_code == 2
    error = json.loads(result.stdout)["inputs"][0]["error"]
    assert "did not answer POST /v1/query within 0.2 s (raise it with --opa-timeout)" in error


def test_a_server_whose_backlog_is_full_is_a_connect_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue; the kernel then drops new connection attempts
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(address)
            pytest.skip("this kernel accepts connections beyond a full backlog; no connect timeout to provoke")
        except (TimeoutError, socket.timeout):
            pass
        finally:
            probe.close()
        result = scan_json(f"http://127.0.0.1:{address[1]}", OTHER, "--opa-connect-timeout", "0.2")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert result.exit_code == 2
    error = json.loads(result.stdout)["inputs"][0]["error"]
    assert "timed out connecting to the OPA server" in error and "after 0.2 s" in error
    assert "--opa-connect-timeout" in error


def test_no_hidden_retries(opa_server):
    FakeOpa.answer = (502, b"bad gateway")
    result = scan_json(opa_server, OTHER)
    assert result.exit_code == 2 and "answered 502" in result.stdout
    assert [method for method, _, _ in FakeOpa.seen] == ["POST"]  # once, not three times


def test_a_tls_error_is_named_as_such(opa_server):
    result = scan_json(opa_server.replace("http://", "https://"), OTHER)
    assert result.exit_code == 2
    assert "TLS error talking to the OPA server" in json.loads(result.stdout)["inputs"][0]["error"]
    assert "need an https://" in run("scan", OTHER, "--opa-url", opa_server, "--opa-ca-cert", OTHER).stderr


def test_timeouts_and_token_are_documented_options():
    text = run("scan", "--help").stdout
    for option in ("--opa-token", "SESREGO_OPA_TOKEN", "--opa-ca-cert", "--opa-client-cert", "--opa-client-key",
                   "--opa-connect-timeout", "--opa-timeout", "default: 5.0", "default: 60.0"):
        assert option in text


# --- TLS with a CA and client certificates --------------------------------------------------------------


def _certificates(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def make(name, issuer=None, issuer_key=None, ca=False, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(issuer_key or key, hashes.SHA256())
        key_path, cert_path = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert, key, cert_path, key_path

    import ipaddress

    ca, ca_key, ca_path, _ = make("test-ca", ca=True)
    _, _, server_cert, server_key = make("server", ca.subject, ca_key,
                                         san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    _, _, client_cert, client_key = make("client", ca.subject, ca_key)
    return ca_path, (server_cert, server_key), (client_cert, client_key)


def test_tls_with_a_ca_bundle_and_client_certificates(tmp_path):
    ca, (server_cert, server_key), (client_cert, client_key) = _certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_cert, server_key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS
    server = _serve(context)
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        tls = ["--opa-ca-cert", ca, "--opa-client-cert", client_cert, "--opa-client-key", client_key]
        pushed = run("push", "--opa-url", url, *tls)
        assert pushed.exit_code == 0, pushed.output
        result = scan_json(url, OTHER, *tls)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["summary"]["warn"] == 1
        unknown_ca = scan_json(url, OTHER, "--opa-client-cert", client_cert, "--opa-client-key", client_key)
        assert unknown_ca.exit_code == 2 and "TLS error" in json.loads(unknown_ca.stdout)["inputs"][0]["error"]
        no_client = scan_json(url, OTHER, "--opa-ca-cert", ca)
        assert no_client.exit_code == 2
        assert "OPA server" in json.loads(no_client.stdout)["inputs"][0]["error"]
        missing = run("scan", OTHER, "--opa-url", url, "--opa-ca-cert", tmp_path / "nope.pem")
        assert missing.exit_code == 2 and "--opa-ca-cert: cannot read" in missing.output
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_server_is_a_clear_error():
    result = run("push", "--opa-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "cannot connect to the OPA server at http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


# --- servers that misbehave: redirects, endless or dripping answers, errors on push ------------------------


class Misbehaving(BaseHTTPRequestHandler):
    """Answers every request the way ``mode`` says, and records what it was sent."""

    mode = "redirect"
    location = ""
    seen: list[tuple[str, str, bytes]] = []

    def log_message(self, *args):
        pass

    def _any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        type(self).seen.append((self.command, self.path, body))
        if self.mode == "redirect":
            self.send_response(307)
            self.send_header("Location", type(self).location + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.mode in ("endless", "drip"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                self.wfile.write(b'{"result": [{"result": "')
                for _ in range(400 if self.mode == "drip" else 100_000):
                    self.wfile.write(b" " if self.mode == "drip" else b"A" * 4096)
                    self.wfile.flush()
                    if self.mode == "drip":
                        time.sleep(0.05)
            except OSError:
                pass
        else:  # an HTTP error with an HTML body, as a proxy gives
            body = b"<html>\x1b[31mproxy error</html>"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = _any


@pytest.fixture
def misbehaving():
    Misbehaving.seen = []
    servers = []

    def start(mode: str) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Misbehaving,), {"mode": mode}))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_never_followed_so_nothing_is_sent_elsewhere(misbehaving):
    elsewhere = misbehaving("error")
    Misbehaving.location = elsewhere
    url = misbehaving("redirect")
    result = scan_json(url, OTHER, "--opa-token", "s3cr3t")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["inputs"][0]["error"]
    assert "with a redirect (307)" in error and "does not follow redirects" in error
    pushed = run("push", "--opa-url", url, "--opa-token", "s3cr3t")
    assert pushed.exit_code == 2 and "with a redirect (307)" in pushed.stderr
    assert [(method, path) for method, path, _ in Misbehaving.seen] == [("POST", "/v1/query"),
                                                                       ("PUT", "/v1/data/sesrego")]
    assert "s3cr3t" not in result.output + pushed.output


def test_an_endless_answer_is_refused_at_the_bound(misbehaving, monkeypatch):
    import sesrego.server

    monkeypatch.setattr(sesrego.server, "MAX_ANSWER_BYTES", 64 * 1024)
    result = scan_json(misbehaving("endless"), OTHER)
    assert result.exit_code == 2
    assert "with more than 65536 bytes; refused" in json.loads(result.stdout)["inputs"][0]["error"]


def test_an_answer_that_drips_fails_within_the_answer_timeout(misbehaving):
    result = scan_json(misbehaving("drip"), OTHER, "--opa-timeout", "0.3", "--opa-connect-timeout", "0.3")
    assert result.exit_code == 2
    assert "did not finish answering POST /v1/query within 0.3 s (raise it with --opa-timeout)" in \
        json.loads(result.stdout)["inputs"][0]["error"]


def test_push_names_the_status_and_the_body_of_an_error(misbehaving):
    result = run("push", "--opa-url", misbehaving("error"))
    assert result.exit_code == 2
    assert result.stderr == f"Error: OPA server at {result.stderr.split(' at ')[1].split(' ')[0]} answered 500 to " \
                            "PUT /v1/data/sesrego: <html>\\x1b[31mproxy error</html>\n"


@pytest.mark.parametrize("url", ["https//user:hunter2@localhost", "http://localhost/opa@hunter2"])
def test_a_url_with_an_at_sign_anywhere_is_refused_and_never_printed(url):
    result = run("scan", OTHER, "--opa-url", url)
    assert result.exit_code == 2 and "must not hold a user name or password" in result.stderr
    assert "hunter2" not in result.output


@pytest.mark.parametrize("token", ["s3cr3t\n", "s3cr3t\r", "s3 cr3t", "s3cr3t\u00e9", "\x1bs3cr3t"])
def test_a_token_a_header_cannot_carry_is_refused_without_printing_it(token):
    for command in (["scan", OTHER, "--opa-url", "http://127.0.0.1:9", "-j", "1"],
                    ["push", "--opa-url", "http://127.0.0.1:9"]):
        result = run(*command, "--opa-token", token)
        assert result.exit_code == 2 and "the token is not printed" in result.output, result.output
        assert "s3" not in result.output and "cr3t" not in result.output

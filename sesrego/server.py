"""An OPA server as the engine: push the compiled policies, then one ad-hoc query per input.

Uses opa-python-client for the session it configures (the bearer token, the CA bundle and the
client certificate, no retries) against OPA's REST API: ``PUT /v1/policies/{id}`` and
``PUT /v1/data/{path}`` to push, ``POST /v1/query`` with ``{"query", "input"}`` to evaluate
(the input is sent as the bytes that were read, never re-encoded). The URL's path prefix is
kept (``https://gateway/opa`` asks ``https://gateway/opa/v1/query``), since servers sit behind
proxies. Credentials in the URL are refused and never printed; use ``--opa-token``.

Every failure is one error naming the server and the request, and telling a timeout from a
refused connection from a TLS problem from an HTTP error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .errors import EngineError, SesregoError, printable
from .reading import regular_file

if TYPE_CHECKING:  # the CLI reads this module's defaults without loading the engine
    from .engine import Result
    from .render import Tree

#: Seconds to wait for the TCP (and TLS) connection (--opa-connect-timeout).
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for each answer once connected (--opa-timeout).
READ_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where the OPA server is and how to talk to it."""

    url: str
    token: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    timeout: float = READ_TIMEOUT

    def __repr__(self) -> str:  # never show the token
        return f"ServerOptions(url={self.url!r})"


def base_url(url: str) -> str:
    """The server's base URL (scheme, host, port, path prefix), checked; never echoes credentials."""
    try:
        parsed = urlsplit(url if "://" in url else f"http://{url}")
        port = parsed.port
    except ValueError as exc:
        if "@" in url:
            raise SesregoError("--opa-url must not hold a user name or password; pass a token with --opa-token "
                               "(or SESREGO_OPA_TOKEN)") from None
        raise SesregoError(f"--opa-url {printable(url)!r} is not a usable URL: {exc}") from None
    if parsed.username is not None or parsed.password is not None:
        raise SesregoError("--opa-url must not hold a user name or password; pass a token with --opa-token "
                           "(or SESREGO_OPA_TOKEN)")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SesregoError(f"--opa-url {printable(url)!r} is not an http(s) URL such as http://localhost:8181")
    if parsed.query or parsed.fragment:
        raise SesregoError("--opa-url must not have a query string or fragment (a token belongs in --opa-token)")
    host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    netloc = f"{host}:{port or (443 if parsed.scheme == 'https' else 8181)}"
    return urlunsplit((parsed.scheme, netloc, parsed.path.rstrip("/"), "", ""))


class Connection:
    """A configured session to one OPA server."""

    def __init__(self, options: ServerOptions) -> None:
        from opa_client import OpaClient

        self.options = options
        self.url = base_url(options.url)
        https = self.url.startswith("https://")
        if not https and (options.ca_cert or options.client_cert):
            raise SesregoError("--opa-ca-cert and --opa-client-cert need an https:// --opa-url")
        if options.client_key and not options.client_cert:
            raise SesregoError("--opa-client-key needs --opa-client-cert")
        for flag, path in (("--opa-ca-cert", options.ca_cert), ("--opa-client-cert", options.client_cert),
                           ("--opa-client-key", options.client_key)):
            if path is not None:  # requests opens them itself: a FIFO or device there would never end
                regular_file(path, flag, SesregoError)
        cert = (options.client_cert, options.client_key) if options.client_key else options.client_cert
        parsed = urlsplit(self.url)
        client = OpaClient(host=parsed.hostname, port=parsed.port, ssl=(options.ca_cert or True) if https else False,
                           cert=cert, token=options.token, retries=0,
                           timeout=(options.connect_timeout, options.timeout))
        client.root_url = f"{self.url}/v1"  # keep the URL's path prefix
        self.client = client
        self.session = client._session  # token, CA bundle, client certificate, no retries
        if options.ca_cert:
            # requests lets REQUESTS_CA_BUNDLE override a session's CA bundle, not a request's: an
            # explicit --opa-ca-cert is passed with every request of this session.
            send = self.session.request

            def request(method, url, **kwargs):
                kwargs.setdefault("verify", options.ca_cert)
                return send(method, url, **kwargs)

            self.session.request = request

    def call(self, what: str, fn, *args):
        """``fn(*args)``, with every failure turned into one error that says which kind it is."""
        import requests

        try:
            return fn(*args)
        except requests.exceptions.RequestException as exc:
            raise EngineError(self._explain(what, exc)) from None
        except SesregoError:
            raise
        except Exception as exc:  # the client raises its own error types with the server's message
            message = getattr(exc, "message", None) or str(exc)
            raise EngineError(f"OPA server at {self.url} refused {what}: {printable(message)[:300]}") from None

    def _explain(self, what: str, exc: BaseException) -> str:
        import requests

        where = f"OPA server at {self.url}"
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            return f"{where} answered {exc.response.status_code} to {what}: {_body(exc.response)}"
        kinds = [type(e).__name__ for e in _chain(exc)]
        text = " ".join(str(e) for e in _chain(exc))
        if isinstance(exc, requests.exceptions.SSLError) or any("SSL" in kind for kind in kinds):
            reason = next((str(e) for e in _chain(exc) if "SSL" in type(e).__name__ or "certificate" in str(e)),
                          str(exc))
            return f"TLS error talking to the {where} ({what}): {printable(reason)[:300]}"
        if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeoutError" in kinds:
            return (f"timed out connecting to the {where} after {self.options.connect_timeout:g} s ({what}; "
                    "raise it with --opa-connect-timeout)")
        if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeoutError" in kinds:
            return (f"the {where} did not answer {what} within {self.options.timeout:g} s "
                    "(raise it with --opa-timeout)")
        if "refused" in text.lower():
            return f"cannot connect to the {where}: connection refused ({what})"
        if "NameResolutionError" in kinds or "resolve" in text.lower():
            return f"cannot connect to the {where}: the host name does not resolve ({what})"
        if isinstance(exc, requests.exceptions.ConnectionError):
            return f"cannot connect to the {where} ({what}): {printable(_last(exc))[:300]}"
        return f"{where}: {what} failed: {printable(_last(exc))[:300]}"

    def post_query(self, text: str, raw: bytes) -> object:
        """``POST /v1/query``: the value bound to ``result`` in the query ``result := <text>``."""
        body = b'{"query":' + json.dumps(f"result := {text}").encode() + b',"input":' + raw + b"}"

        def send():
            response = self.session.post(f"{self.url}/v1/query", data=body,
                                         headers={"Content-Type": "application/json"},
                                         timeout=(self.options.connect_timeout, self.options.timeout))
            response.raise_for_status()
            return response

        response = self.call("POST /v1/query", send)
        try:
            answer = response.json()
        except ValueError:
            raise EngineError(f"OPA server at {self.url} answered POST /v1/query with something that is not JSON: "
                              f"{_body(response)}") from None
        if isinstance(answer, dict) and answer.get("result") in (None, []) and "code" not in answer:
            raise EngineError(f"the OPA server at {self.url} has no sesrego policies (the query is undefined); "
                              "run `sesrego push --opa-url URL` first")
        try:
            return answer["result"][0]["result"]
        except (KeyError, IndexError, TypeError):
            raise EngineError(f"OPA server at {self.url} gave a malformed answer to POST /v1/query: "
                              f"{_body(response)}") from None

    def close(self) -> None:
        self.client.close_connection()


def _chain(exc: BaseException | None):
    """``exc``, its causes and the reasons urllib3 wraps inside it."""
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        seen += 1
        nested = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        exc = getattr(exc, "reason", None) if isinstance(getattr(exc, "reason", None), BaseException) else \
            nested or exc.__cause__ or exc.__context__


def _last(exc: BaseException) -> str:
    chain = list(_chain(exc))
    return str(chain[-1]) if chain else str(exc)


def _body(response) -> str:
    text = response.text.strip() if response is not None else ""
    try:
        document = json.loads(text)
        if isinstance(document, dict) and document.get("message"):
            text = str(document["message"])
    except ValueError:
        pass
    return printable(text[:300]) or "(empty body)"


class Server:
    """The :class:`~sesrego.engine.Evaluator` on an OPA server: one ad-hoc query per input."""

    name = "server"

    def __init__(self, options: ServerOptions) -> None:
        base_url(options.url)  # refuse a bad URL before anything is read
        self.options = options
        self._connection: Connection | None = None

    def __getstate__(self) -> dict:
        return {"options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.options, self._connection = state["options"], None

    def evaluate(self, raw: bytes, waivers: Sequence[Mapping] = (), *, shared: bool = False) -> Result:
        from .engine import Result, query

        if self._connection is None:
            self._connection = Connection(self.options)
        value = self._connection.post_query(query(waivers, shared=shared), raw)
        try:
            return Result.from_value(value)
        except EngineError as exc:
            raise EngineError(f"OPA server at {self._connection.url}: {exc.problem}; is it running the policies "
                              "of this sesrego version (`sesrego push`)?") from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def push(options: ServerOptions, tree: Tree, config: Mapping | None = None) -> int:
    """Upload every non-test policy and ``data.sesrego`` (facts and configuration)."""
    from .engine import data_document

    connection = Connection(options)
    opa = connection.client
    try:
        policies = {path: body for path, body in tree.files.items() if not path.endswith("_test.rego")}
        document = data_document(tree.facts, config)["sesrego"]
        connection.call("PUT /v1/data/sesrego", opa.update_or_create_data, document, "sesrego")
        for path, body in sorted(policies.items()):
            connection.call(f"PUT /v1/policies/{path}", opa.update_policy_from_string, body.decode("utf-8"), path,
                            False)
        return len(policies)
    finally:
        connection.close()

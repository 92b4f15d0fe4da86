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
import re
import time
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
#: What a bearer token may hold: visible ASCII (an HTTP header value cannot carry line breaks or controls).
_TOKEN = re.compile(r"[\x21-\x7e]+")
#: An answer larger than this is refused (the findings of a 50,000-policy plan take about 100 MiB).
MAX_ANSWER_BYTES = 256 * 1024 * 1024


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
    if parsed.username is not None or parsed.password is not None or "@" in url:
        raise SesregoError("--opa-url must not hold a user name or password; pass a token with --opa-token "
                           "(or SESREGO_OPA_TOKEN)")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SesregoError(f"--opa-url {printable(url)!r} is not an http(s) URL such as http://localhost:8181")
    if parsed.query or parsed.fragment:
        raise SesregoError("--opa-url must not have a query string or fragment (a token belongs in --opa-token)")
    host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    netloc = f"{host}:{port or (443 if parsed.scheme == 'https' else 8181)}"
    return urlunsplit((parsed.scheme, netloc, parsed.path.rstrip("/"), "", ""))


def check_token(token: str | None) -> None:
    """Refuse a bearer token an HTTP header cannot carry, before anything is sent; never print it (the
    HTTP library's own error quotes the header, token included)."""
    if token is not None and not _TOKEN.fullmatch(token):
        raise SesregoError("--opa-token (or SESREGO_OPA_TOKEN) holds a line break, a space or another character "
                           "an HTTP header cannot carry (a file read with its CR?); the token is not printed")


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
        check_token(options.token)
        for flag, path in (("--opa-ca-cert", options.ca_cert), ("--opa-client-cert", options.client_cert),
                           ("--opa-client-key", options.client_key)):
            if path is not None:  # requests opens them itself: a FIFO or device there would never end
                regular_file(path, flag, SesregoError)
        cert = (options.client_cert, options.client_key) if options.client_key else options.client_cert
        parsed = urlsplit(self.url)
        client = OpaClient(host=parsed.hostname, port=parsed.port, ssl=(options.ca_cert or True) if https else False,
                           cert=cert, token=options.token, retries=0,
                           timeout=(options.connect_timeout, options.timeout))
        self.client = client
        self.session = client._session  # token, CA bundle, client certificate, no retries
        if options.token:  # a ~/.netrc entry for the host must not replace the bearer token
            self.session.auth = _keep_headers

    def call(self, what: str, fn, *args):
        """``fn(*args)``, with every failure turned into one error that says which kind it is."""
        import requests

        try:
            return fn(*args)
        except requests.exceptions.RequestException as exc:
            raise EngineError(self._explain(what, exc)) from None

    def _explain(self, what: str, exc: BaseException) -> str:
        message = self._describe(what, exc)
        return message.replace(self.options.token, "***") if self.options.token else message  # never the token

    def _describe(self, what: str, exc: BaseException) -> str:
        where = f"OPA server at {self.url}"
        kinds = [type(e).__name__ for e in _chain(exc)]
        text = " ".join(str(e) for e in _chain(exc))
        if "SSLError" in kinds or any("SSL" in kind for kind in kinds):
            reason = next((str(e) for e in _chain(exc) if "SSL" in type(e).__name__ or "certificate" in str(e)),
                          str(exc))
            return f"TLS error talking to the {where} ({what}): {printable(reason)[:300]}"
        if "ConnectTimeout" in kinds or "ConnectTimeoutError" in kinds:
            return (f"timed out connecting to the {where} after {self.options.connect_timeout:g} s ({what}; "
                    "raise it with --opa-connect-timeout)")
        if "ReadTimeout" in kinds or "ReadTimeoutError" in kinds:
            return (f"the {where} did not answer {what} within {self.options.timeout:g} s "
                    "(raise it with --opa-timeout)")
        if "refused" in text.lower():
            return f"cannot connect to the {where}: connection refused ({what})"
        if "NameResolutionError" in kinds or "resolve" in text.lower():
            return f"cannot connect to the {where}: the host name does not resolve ({what})"
        if "ConnectionError" in kinds:
            return f"cannot connect to the {where} ({what}): {printable(_last(exc))[:300]}"
        return f"{where}: {what} failed: {printable(_last(exc))[:300]}"

    def request(self, method: str, path: str, body: bytes, content_type: str, expect: Sequence[int]) -> bytes:
        """One request; the answer's body, read within ``--opa-timeout`` and at most :data:`MAX_ANSWER_BYTES`.

        A redirect is an error, never followed: it would send the input (or the configuration pushed)
        to another place. An answer with another status than ``expect`` is an error quoting its body.
        """
        what = f"{method} {path}"
        deadline = time.monotonic() + self.options.connect_timeout + self.options.timeout

        def send() -> tuple[int, bytes]:
            # requests lets REQUESTS_CA_BUNDLE override a session's CA bundle, not a request's.
            verify = {"verify": self.options.ca_cert} if self.options.ca_cert else {}
            response = self.session.request(method, f"{self.url}{path}", data=body, stream=True,
                                            allow_redirects=False, headers={"Content-Type": content_type},
                                            timeout=(self.options.connect_timeout, self.options.timeout), **verify)
            with response:
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise EngineError(f"the OPA server at {self.url} answered {what} with a redirect "
                                      f"({response.status_code}); sesrego does not follow redirects, which would "
                                      "send the request elsewhere: give the final URL with --opa-url")
                return response.status_code, self._read_answer(response, what, deadline)

        status, answer = self.call(what, send)
        if status not in expect:
            raise EngineError(f"OPA server at {self.url} answered {status} to {what}: {_body(answer)}")
        return answer

    def _read_answer(self, response, what: str, deadline: float) -> bytes:
        """The answer's body, refused past :data:`MAX_ANSWER_BYTES` or once the answer's time is up (a
        server that sends a byte now and then never trips the per-read timeout alone)."""
        chunks, total = [], 0
        while True:
            if time.monotonic() > deadline:
                raise EngineError(f"the OPA server at {self.url} did not finish answering {what} within "
                                  f"{self.options.timeout:g} s (raise it with --opa-timeout)")
            chunk = response.raw.read1(1024 * 1024)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_ANSWER_BYTES:
                raise EngineError(f"the OPA server at {self.url} answered {what} with more than "
                                  f"{MAX_ANSWER_BYTES} bytes; refused")

    def post_query(self, text: str, raw: bytes) -> object:
        """``POST /v1/query``: the value bound to ``result`` in the query ``result := <text>``."""
        body = b'{"query":' + json.dumps(f"result := {text}").encode() + b',"input":' + raw + b"}"
        answer = self.request("POST", "/v1/query", body, "application/json", (200,))
        try:
            document = json.loads(answer)
        except (ValueError, RecursionError):
            raise EngineError(f"OPA server at {self.url} answered POST /v1/query with something that is not JSON: "
                              f"{_body(answer)}") from None
        if isinstance(document, dict) and document.get("result") in (None, []) and "code" not in document:
            raise EngineError(f"the OPA server at {self.url} has no sesrego policies (the query is undefined); "
                              "run `sesrego push --opa-url URL` first")
        try:
            return document["result"][0]["result"]
        except (KeyError, IndexError, TypeError):
            raise EngineError(f"OPA server at {self.url} gave a malformed answer to POST /v1/query: "
                              f"{_body(answer)}") from None

    def close(self) -> None:
        self.client.close_connection()


def _keep_headers(request):
    """An authentication hook that changes nothing: it keeps requests from adding ~/.netrc credentials."""
    return request


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


def _body(answer: bytes) -> str:
    """An answer's body for an error line: OPA's ``message`` when it has one, escaped and cut short."""
    text = answer[:4096].decode("utf-8", "replace").strip()
    try:
        document = json.loads(text)
        if isinstance(document, dict) and document.get("message"):
            text = str(document["message"])
    except (ValueError, RecursionError):
        pass
    return printable(text[:300]) or "(empty body)"


class Server:
    """The :class:`~sesrego.engine.Evaluator` on an OPA server: one ad-hoc query per input."""

    name = "server"

    def __init__(self, options: ServerOptions) -> None:
        base_url(options.url)  # refuse a bad URL or token before anything is read
        check_token(options.token)
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
    try:
        policies = {path: body for path, body in tree.files.items() if not path.endswith("_test.rego")}
        document = json.dumps(data_document(tree.facts, config)["sesrego"], sort_keys=True).encode()
        connection.request("PUT", "/v1/data/sesrego", document, "application/json", (200, 204))
        for path, body in sorted(policies.items()):
            connection.request("PUT", f"/v1/policies/{path}", body, "text/plain", (200,))
        return len(policies)
    finally:
        connection.close()

"""The scripted model: a real OpenAI-compatible HTTP server on 127.0.0.1.

Tests and ``codesolve demo`` point the real ``openai`` client at it, so the
whole client stack (HTTP, retries, parsing) runs without a model. It answers
``POST /v1/chat/completions`` from a :class:`Scenario` and ``GET /v1/models``,
and records every request.

It runs in a background thread and keeps connections alive between calls, as
real endpoints do. Leaving the ``with`` block (or ``close``) wakes any reply
that is still sleeping, hangs up every connection, stops the server, joins
every thread and releases the port.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from codesolve.llm._config import EndpointConfig
from codesolve.llm._scenario import RecordedRequest, Reply, Scenario, ScenarioState, error_reply

SCRIPTED_KEY_ENV = "CODESOLVE_SCRIPTED_API_KEY"
"""Environment variable :func:`scripted_endpoint` reads the (dummy) key from."""

_MAX_BODY = 64 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (not daemons) so none outlives the server.
    daemon_threads = False
    block_on_close = True
    # socketserver's default backlog is 5: a sixth connection arriving at once had its SYN
    # dropped and the client retried it a second later (a 1 s stall per burst of calls).
    request_queue_size = 128

    def __init__(self, state: ScenarioState, tls: ssl.SSLContext | None) -> None:
        self.state = state
        self.stopping = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.counter_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            # Each connection's handshake is made by its own handler thread (finish_request),
            # not in the accepting loop, which a silent client could otherwise hold up.
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse lookup of the address (``getfqdn``: ~13 ms a
        start here, and seconds where a resolver is configured but unreachable)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        """Serve one connection (all its requests), noted so that ``hang_up`` can end it."""
        with self.counter_lock:
            self.connections.add(request)
        try:
            if isinstance(request, ssl.SSLSocket):
                try:
                    request.settimeout(_Handler.timeout)
                    request.do_handshake()
                except OSError:
                    return  # the client refused our certificate (or left): no request follows
            super().finish_request(request, client_address)
        finally:
            with self.counter_lock:
                self.connections.discard(request)

    def hang_up(self) -> None:
        """End every open connection: a handler waiting for a kept-alive client's next request
        wakes at once, so closing never waits out its idle timeout."""
        with self.counter_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.1 with keep-alive, as real endpoints serve: a new connection (and a new handler
    # thread) per call cost ~1 ms of each call's round trip. Closing hangs up idle connections.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the second waited for
    # the client's delayed ACK of the first (40 ms per reply on a kept-alive connection).
    disable_nagle_algorithm = True
    timeout = 5  # a stalled client cannot hold a handler thread for long

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request log line."""

    def do_GET(self) -> None:
        """``GET /v1/models``."""
        self.server.state.record_get(self.path)
        if self.path.rstrip("/").endswith("/models"):
            self._send(self.server.state.models_reply())
        else:
            self._send(error_reply(404, f"no route {self.path}", code="not_found"))

    def do_POST(self) -> None:
        """``POST /v1/chat/completions``: the reply leaves its rule's latency after the request arrived."""
        # The model's latency counts from the request's arrival, as a real endpoint's does: the
        # time spent here reading the body and matching the scenario is part of it, not added to it.
        arrived = time.monotonic()
        length = self.headers.get("Content-Length", "0")
        body = self.rfile.read(min(int(length), _MAX_BODY)) if length.isdigit() else b""
        if not length.isdigit() or int(length) > _MAX_BODY:
            self.close_connection = True  # the rest of the body is unread: no next request follows it
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(error_reply(404, f"no route {self.path}", code="not_found"))
            return
        # In flight from arrival until the reply is ready, not until its last byte is written: a
        # client gives its lease back only after that byte, and this thread may wait for the GIL
        # between writing and counting down, so a count kept until then overlapped the client's
        # next request (3 in flight seen under a cluster-wide limit of 2).
        with self.server.counter_lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            reply = self.server.state.chat_reply(self.path, body)
            ready = self._wait(reply, arrived)
        finally:
            with self.server.counter_lock:
                self.server.in_flight -= 1
        if ready:
            self._write(reply)

    def _send(self, reply: Reply) -> None:
        if self._wait(reply, None):
            self._write(reply)

    def _wait(self, reply: Reply, arrived: float | None) -> bool:
        # A shutdown wakes the sleep early (False); the client then sees a dropped connection.
        wait = reply.latency_s - (0.0 if arrived is None else time.monotonic() - arrived)
        if reply.latency_s and self.server.stopping.wait(max(0.0, wait)):
            self.close_connection = True
            return False
        return True

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            if reply.stream is None:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                # No length: the end of the connection is the end of the body.
                self.send_header("Connection", "close")
                self.close_connection = True
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            chunks = reply.stream() if reply.stream is not None else [reply.body]
            for chunk in chunks:
                stopped = self.server.stopping.wait(reply.drip_s) if reply.drip_s else self.server.stopping.is_set()
                if stopped:
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout, or a body cap): nothing left to tell it


class ScriptedServer:
    """An OpenAI-compatible server on a free loopback port, driven by a :class:`Scenario`.

    ``with ScriptedServer(scenario) as srv:`` starts it; ``srv.base_url`` is the
    API root to configure; ``srv.requests`` lists what it received.
    """

    def __init__(self, scenario: Scenario | None = None, *, tls: tuple[str, str] | None = None) -> None:
        """Prepare a server for ``scenario`` (an empty one answers every chat with 400).

        ``tls`` is a certificate file and its key file: the server then speaks HTTPS only.
        """
        self.scenario = scenario or Scenario()
        self._tls: ssl.SSLContext | None = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self._state = ScenarioState(self.scenario)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def start(self) -> ScriptedServer:
        """Bind a free port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("ScriptedServer is already running")
        self._server = _Server(self._state, self._tls)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-llm", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake sleeping replies, join all threads and free the port (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()
        server.hang_up()
        server.server_close()  # joins the handler threads (block_on_close)
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port; still known after close, so a test can aim at a closed port."""
        if self._port is None:
            raise RuntimeError("ScriptedServer was never started")
        return self._port

    @property
    def base_url(self) -> str:
        """The API root to give the client, e.g. ``http://127.0.0.1:54321/v1`` (``https`` with TLS)."""
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        return self._state.recorded()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat completion requests."""
        return [r for r in self._state.recorded() if r.method == "POST"]

    @property
    def max_in_flight(self) -> int:
        """The most chat requests being answered at once (from arrival until the reply was ready to write)."""
        return 0 if self._server is None else self._server.max_in_flight

    @property
    def env(self) -> dict[str, str]:
        """An environment holding the dummy key :func:`scripted_endpoint` configs read."""
        return {SCRIPTED_KEY_ENV: "scripted-dummy-key"}


def scripted_endpoint(server: ScriptedServer, *, model: str = "scripted", **overrides: object) -> EndpointConfig:
    """An :class:`EndpointConfig` for ``server`` with test-friendly timings.

    Short timeout, two retries and millisecond backoff, so failure paths stay
    fast; any field can be overridden by keyword. The key is read from
    :data:`SCRIPTED_KEY_ENV` (see :attr:`ScriptedServer.env`).
    """
    fields: dict[str, object] = {
        "model": model,
        "base_url": server.base_url,
        "api_key_env": SCRIPTED_KEY_ENV,
        "timeout_s": 5.0,
        "max_retries": 2,
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "max_retry_after_s": 5.0,
    }
    fields.update(overrides)
    return EndpointConfig.model_validate(fields)

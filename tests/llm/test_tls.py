"""TLS to an endpoint: verified against the trust store, which is read once, and none for plain HTTP."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from codesolve.errors import LLMUnreachable
from codesolve.llm import LLM, LLMConfig, Message, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.llm._transport import tls_context

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def _self_signed(where: Path) -> tuple[str, str]:
    # A certificate for 127.0.0.1 that no trust store holds.
    cert, key = where / "cert.pem", where / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    command += ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


async def _ask(server: ScriptedServer) -> str:
    endpoint = scripted_endpoint(server, max_retries=2)
    async with LLM(LLMConfig(default=endpoint), env=server.env) as llm:
        [reply] = await llm.complete("generator", [Message.user("hi")], n=1, temperature=0.0, max_tokens=16, phase="t")
    return reply.text


async def test_an_https_endpoint_with_an_untrusted_certificate_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    with ScriptedServer(Scenario(rules=[Rule(content="ok")]), tls=(cert, key)) as srv:
        assert srv.base_url.startswith("https://")
        # One line that says why, at once: retrying cannot make the certificate trusted.
        with pytest.raises(LLMUnreachable, match=r"^cannot reach https://.*CERTIFICATE_VERIFY_FAILED"):
            await _ask(srv)
        assert srv.chat_requests == []  # refused at the handshake: not a byte of the prompt sent
        # The same server, its certificate now trusted (a change the shared trust store follows).
        monkeypatch.setenv("SSL_CERT_FILE", cert)
        assert await _ask(srv) == "ok"
        assert len(srv.chat_requests) == 1


def test_https_origins_share_one_reading_of_the_trust_store() -> None:
    first = tls_context("https://api.example.com/v1")
    assert tls_context("https://other.example.org:8443/v1") is first
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname


def test_a_plain_http_origin_gets_a_context_that_trusts_nothing() -> None:
    # Never used (requests stay on the origin, scheme included), and failing closed if it were.
    context = tls_context("http://127.0.0.1:8000/v1")
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert tls_context("http://127.0.0.1:8000/v1") is not tls_context("https://127.0.0.1:8000/v1")

"""The scripted OpenAI-compatible server on its own (plain HTTP, no LLM client)."""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from codesolve.errors import LLMConfigError
from codesolve.llm import Rule, Scenario, ScriptedServer, scripted_endpoint

pytestmark = pytest.mark.timeout(30)


def _post(srv: ScriptedServer, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(
        f"{srv.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def _chat(text: str, *, model: str = "scripted", n: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if n is not None:
        body["n"] = n
    return body


def test_closes_cleanly_without_leaking_threads_or_the_port() -> None:
    before = set(threading.enumerate())
    with ScriptedServer(Scenario(rules=[Rule(content="hi")])) as srv:
        port = srv.port
        assert _post(srv, _chat("x"))[0] == 200
    # No thread of ours is left; one an earlier test left may end meanwhile (an idle anyio
    # worker retires after 10 s), so the threads now are among those before, not equal to them.
    assert set(threading.enumerate()) <= before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_close_wakes_a_sleeping_reply_promptly() -> None:
    srv = ScriptedServer(Scenario(rules=[Rule(content="late", latency_s=30)])).start()
    caller = threading.Thread(target=lambda: _post_ignoring_errors(srv, _chat("x")))
    caller.start()
    while not srv.requests:
        threading.Event().wait(0.01)
    srv.close()  # must not wait the 30 s
    caller.join(timeout=5)
    assert not caller.is_alive()


def _post_ignoring_errors(srv: ScriptedServer, body: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a dropped connection is the expected outcome
        _post(srv, body)


def test_models_listing() -> None:
    with ScriptedServer(Scenario(models=["a", "b"])) as srv:
        with urllib.request.urlopen(f"{srv.base_url}/models", timeout=10) as response:
            listing = json.loads(response.read())
        assert [m["id"] for m in listing["data"]] == ["a", "b"]
        assert srv.requests[0].method == "GET"
        assert srv.chat_requests == []


def test_rules_in_order_with_times_call_and_model() -> None:
    scenario = Scenario(
        rules=[
            Rule(call=1, content="first call"),
            Rule(match="ping", times=2, content="pong"),
            Rule(model="other", content="other model"),
            Rule(match="ping", content="ping again"),
        ]
    )
    with ScriptedServer(scenario) as srv:
        texts = [_post(srv, _chat("ping"))[1]["choices"][0]["message"]["content"] for _ in range(4)]
        assert texts == ["first call", "pong", "pong", "ping again"]
        assert _post(srv, _chat("x", model="other"))[1]["choices"][0]["message"]["content"] == "other model"
        status, body, _ = _post(srv, _chat("nothing matches"))
        assert status == 400
        assert "no rule matches" in body["error"]["message"]
        assert len(srv.chat_requests) == 6


def test_match_scope_any_message_and_role() -> None:
    scenario = Scenario(
        rules=[
            Rule(match="JUDGE", role="system", content="as judge"),
            Rule(match="needle", any_message=True, content="found"),
        ]
    )
    with ScriptedServer(scenario) as srv:
        judge = {
            "model": "m",
            "messages": [{"role": "system", "content": "You are a JUDGE"}, {"role": "user", "content": "a"}],
        }
        hidden = {
            "model": "m",
            "messages": [{"role": "user", "content": "needle"}, {"role": "assistant", "content": "b"}],
        }
        assert _post(srv, judge)[1]["choices"][0]["message"]["content"] == "as judge"
        assert _post(srv, hidden)[1]["choices"][0]["message"]["content"] == "found"


def test_contents_cycle_per_sample_across_calls_and_usage_counts_words() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content=["a", "b c", "d"], reasoning_tokens=2)])) as srv:
        _, body, _ = _post(srv, _chat("one two three", n=2))
        assert [c["message"]["content"] for c in body["choices"]] == ["a", "b c"]
        assert body["usage"]["prompt_tokens"] == 3
        assert body["usage"]["completion_tokens"] == 1 + 2 + 2 * 2
        assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4
        _, body, _ = _post(srv, _chat("again", n=2))
        assert [c["message"]["content"] for c in body["choices"]] == ["d", "a"]
        assert srv.chat_requests[0].n == 2


def test_n_support_modes() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content="x")], n_support="ignore")) as srv:
        assert len(_post(srv, _chat("q", n=3))[1]["choices"]) == 1
    with ScriptedServer(Scenario(rules=[Rule(content="x")], n_support="reject")) as srv:
        assert _post(srv, _chat("q", n=3))[0] == 400
        assert _post(srv, _chat("q", n=1))[0] == 200


def test_error_replies_look_like_openai() -> None:
    scenario = Scenario(
        rules=[
            Rule(match="429", status=429, retry_after_s=2),
            Rule(match="ctx", status=400, error_code="context_length_exceeded"),
            Rule(match="404", status=404),
        ]
    )
    with ScriptedServer(scenario) as srv:
        status, body, headers = _post(srv, _chat("429"))
        assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "2", "rate_limit_exceeded")
        status, body, _ = _post(srv, _chat("ctx"))
        assert (status, body["error"]["code"]) == (400, "context_length_exceeded")
        status, body, _ = _post(srv, _chat("404", model="nope"))
        assert status == 404
        assert "nope" in body["error"]["message"]


def test_scenario_validation() -> None:
    with pytest.raises(ValidationError, match="invalid regex"):
        Rule(match="(")
    with pytest.raises(ValidationError, match="status"):
        Rule(status=302)
    with pytest.raises(ValidationError):
        Rule.model_validate({"content": "x", "colour": "red"})


def test_scenario_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text(
        "n_support: ignore\n"
        "rules:\n"
        "  - {match: '^fail', status: 500, times: 1}\n"
        "  - {content: [one, two], finish_reason: length}\n"
    )
    json_file = tmp_path / "s.json"
    json_file.write_text(Scenario.from_file(yaml_file).model_dump_json())
    assert Scenario.from_file(json_file) == Scenario.from_file(yaml_file)
    assert Scenario.from_file(yaml_file).rules[1].content == ["one", "two"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"status": "teapot"}]}')
    with pytest.raises(LLMConfigError, match=r"bad\.json: rules\.0\.status"):
        Scenario.from_file(bad)


def test_scripted_endpoint_points_at_the_server() -> None:
    with ScriptedServer() as srv:
        cfg = scripted_endpoint(srv, model="m1", max_retries=0)
        assert cfg.base_url == srv.base_url
        assert (cfg.model, cfg.max_retries) == ("m1", 0)
        assert cfg.api_key(srv.env)
    with pytest.raises(RuntimeError, match="never started"):
        _ = ScriptedServer().base_url


def test_a_burst_of_concurrent_calls_is_answered_together() -> None:
    # Thirty callers at once (an engine's debugging round): every one is taken in at once and
    # answered after the scripted latency, none a second later for a connection the server's
    # listen backlog dropped (the client's TCP stack retries a dropped SYN after one second).
    callers = 30
    with ScriptedServer(Scenario(rules=[Rule(content="ok", latency_s=0.8)])) as srv:
        threads = [threading.Thread(target=_post, args=(srv, _chat(f"call {i}"))) for i in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert srv.max_in_flight == callers


def _take_turns(port: int, lease: Any, turns: int) -> None:
    # A client in its own process, as a cluster node is: one request at a time under a shared lease.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for turn in range(turns):
        with lease:
            conn.request("POST", "/v1/chat/completions", json.dumps(_chat(f"turn {turn}")))
            conn.getresponse().read()


def _spin(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(1000))


def test_a_request_is_no_longer_in_flight_once_its_client_has_the_reply() -> None:
    # Two processes pass one lease between them (a limit of 1). A thread of this process keeps
    # the GIL busy, so a handler that has written its reply waits for it before it counts down:
    # a count held until then overlapped the other process's next request (in 3 of 4 runs here).
    ctx = multiprocessing.get_context("spawn")
    lease, stop = ctx.Lock(), threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,))
    with ScriptedServer(Scenario(rules=[Rule(content="ok")])) as srv:
        port = int(srv.base_url.rsplit(":", 1)[1].split("/")[0])
        clients = [ctx.Process(target=_take_turns, args=(port, lease, 40)) for _ in range(2)]
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.01)  # twice the default: the wait for the GIL is what is being tested
        spinner.start()
        try:
            for client in clients:
                client.start()
            for client in clients:
                client.join(20)
        finally:
            stop.set()
            spinner.join()
            sys.setswitchinterval(switch)
        assert [client.exitcode for client in clients] == [0, 0]
        assert len(srv.chat_requests) == 80
        assert srv.max_in_flight == 1


def _keep_alive_post(conn: http.client.HTTPConnection, text: str) -> int:
    conn.request("POST", "/v1/chat/completions", json.dumps(_chat(text)), {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return response.status


def test_a_connection_is_kept_alive_and_its_replies_are_not_held_back() -> None:
    # Headers and body leave in two writes: were Nagle's algorithm on, each reply on a kept-alive
    # connection would wait for the client's delayed ACK (~40 ms): 0.8 s or more for these twenty.
    with ScriptedServer(Scenario(rules=[Rule(content="hi")])) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        assert _keep_alive_post(conn, "first") == 200
        sock = conn.sock
        started = time.monotonic()
        statuses = [_keep_alive_post(conn, f"call {i}") for i in range(20)]
        elapsed = time.monotonic() - started
        assert conn.sock is sock  # the same connection throughout: none was closed by the server
        conn.close()
    assert statuses == [200] * 20
    assert elapsed < 0.5


def test_close_hangs_up_an_idle_kept_alive_connection_at_once() -> None:
    before = set(threading.enumerate())
    srv = ScriptedServer(Scenario(rules=[Rule(content="hi")])).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    assert _keep_alive_post(conn, "x") == 200  # its handler now waits for a next request
    started = time.monotonic()
    srv.close()  # must not wait out the handler's 5 s idle timeout
    assert time.monotonic() - started < 2
    assert set(threading.enumerate()) == before
    conn.close()


def test_the_latency_counts_from_the_requests_arrival() -> None:
    # A scenario slow to match (a backtracking pattern over a long prompt): the reply still
    # leaves the rule's latency after the request arrived, the matching inside it, as a real
    # model's latency is measured; before, the matching was added on top of it. The latency is
    # well above the matching, so that the matching can slow down under a loaded machine (the
    # suite's other worker) and still end inside it: the reply then leaves at the latency, give
    # or take nothing, where the old server took the latency plus the matching.
    latency = 2.0
    prompt = "ab" * 10000
    scenario = Scenario(rules=[Rule(match="(?:a|b)*c", content="never"), Rule(content="ok", latency_s=latency)])
    with ScriptedServer(scenario) as srv:
        started = time.perf_counter()
        status, body, _ = _post(srv, _chat(prompt))
        took = time.perf_counter() - started
        matching = _time_matching(srv, prompt)
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "ok"
    assert matching > 0.15, f"the scenario matched in {matching:.3f} s: too fast to tell the two apart"
    assert latency <= took < latency + matching * 0.5, (took, matching)


def _time_matching(srv: ScriptedServer, prompt: str) -> float:
    # The same scenario's matching on the same prompt, timed alone (a second server, latency off).
    rules = [rule.model_copy(update={"latency_s": 0.0}) for rule in srv.scenario.rules]
    with ScriptedServer(Scenario(rules=rules)) as quick:
        started = time.perf_counter()
        _post(quick, _chat(prompt))
        return time.perf_counter() - started


def test_starting_looks_up_no_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # HTTPServer's bind asks the resolver for the address's name (getfqdn), which blocks for
    # seconds where a resolver is configured but unreachable; loopback needs no name.
    def no_resolver(name: str = "") -> str:
        raise AssertionError(f"getfqdn({name!r}) called")

    monkeypatch.setattr(socket, "getfqdn", no_resolver)
    with ScriptedServer(Scenario(rules=[Rule(content="ok")])) as srv:
        status, _, _ = _post(srv, _chat("hi"))
    assert status == 200

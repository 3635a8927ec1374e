"""The :class:`LLM` client: role routing, the cache, ``n`` sampling and usage.

A call looks up each sample in the cache first and only asks the endpoint for
the missing ones: in one request with ``n`` when the endpoint honours it,
otherwise as parallel single requests. What the endpoint does with ``n`` is
learned once and remembered for the life of the client.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType

import anyio
import openai

from codesolve.errors import CodesolveError, LLMError
from codesolve.llm._cache import CachedSample, ParamValue, ResponseCache, cache_key
from codesolve.llm._config import EndpointConfig, LLMConfig
from codesolve.llm._gate import Gate, SampleCache
from codesolve.llm._request import Endpoint, Response, Sampling, request
from codesolve.llm._retry import RequestRejected
from codesolve.llm._transport import guarded_client, reply_cap
from codesolve.llm._types import ROLES, Completion, Message, Role, as_role
from codesolve.llm._usage import CallUsage, Usage


@dataclass(frozen=True, slots=True)
class _Call:
    # Everything a network request of one complete() call needs, bundled.
    endpoint: Endpoint
    role: Role
    phase: str
    messages: Sequence[Message]
    sampling: Sampling


def _share(total: int, parts: int, index: int) -> int:
    # Split an integer as evenly as possible; the first parts take the remainder.
    return total // parts + (1 if index < total % parts else 0)


class LLM:
    """The async client every model call goes through.

    Use as ``async with LLM(config, env=...) as llm:`` so HTTP connections and
    the cache file are closed. ``env`` is where API keys are looked up
    (default ``os.environ``); a missing key raises LLMConfigError here, before
    any request.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        env: Mapping[str, str] | None = None,
        seed: int | None = None,
        gate: Gate | None = None,
        cache: SampleCache | None = None,
    ) -> None:
        """Build one endpoint per distinct endpoint config; no I/O happens here.

        ``gate`` adds limits shared with other processes (a cluster's); ``cache``
        replaces the file at ``config.cache_path`` (a cache served to a cluster).
        """
        self.config = config
        self._rng = random.Random(seed)  # jitter only; seedable for reproducible timing in tests
        self._usage = Usage()
        self._cache: SampleCache | None = cache
        if cache is None and config.cache_path is not None:
            self._cache = ResponseCache(config.cache_path)
        self._roles = self._build_endpoints(os.environ if env is None else env)
        for endpoint in self._roles.values():
            endpoint.gate = gate

    def _build_endpoints(self, env: Mapping[str, str]) -> dict[Role, Endpoint]:
        by_config: dict[EndpointConfig, Endpoint] = {}
        names: set[str] = set()
        for role in ROLES:
            cfg = self.config.endpoint(role)
            if cfg not in by_config:
                name = f"llm:{cfg.model}" if f"llm:{cfg.model}" not in names else f"llm:{cfg.model}@{cfg.url}"
                names.add(name)
                by_config[cfg] = self._endpoint_for(cfg, env, name)
        return {role: by_config[self.config.endpoint(role)] for role in ROLES}

    @staticmethod
    def _endpoint_for(cfg: EndpointConfig, env: Mapping[str, str], name: str) -> Endpoint:
        # max_retries=0: the retry policy is ours (codesolve.llm._retry), not the SDK's.
        # Our own httpx client: bodies capped as they stream, no redirect off the endpoint's origin.
        client = openai.AsyncOpenAI(
            api_key=cfg.api_key(env),
            base_url=cfg.url,
            timeout=cfg.timeout_s,
            max_retries=0,
            http_client=guarded_client(cfg.url, cfg.timeout_s),
        )
        return Endpoint(cfg, client, name, anyio.CapacityLimiter(cfg.max_concurrency), cfg.supports_n)

    @property
    def usage(self) -> Usage:
        """Live usage counters (take :meth:`Usage.snapshot` to keep a copy)."""
        return self._usage

    @property
    def reached(self) -> bool:
        """True once any endpoint has answered (a reply of any kind, cached ones excepted)."""
        return any(ep.answered for ep in self._roles.values())

    @property
    def limiters(self) -> dict[str, anyio.CapacityLimiter]:
        """Each endpoint's concurrency limiter by name (``llm:<model>``), for progress displays."""
        return {ep.name: ep.limiter for ep in self._roles.values()}

    def endpoint(self, role: str) -> EndpointConfig:
        """The endpoint config serving ``role``."""
        return self._roles[as_role(role)].config

    async def complete(
        self,
        role: Role,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float,
        max_tokens: int | None,
        phase: str,
        seed_key: str = "",
    ) -> list[Completion]:
        """Sample ``n`` completions of ``messages`` from ``role``'s endpoint.

        ``phase`` labels the call in usage accounting. ``seed_key`` separates
        calls that are otherwise identical but must not share cached samples
        (e.g. two independent generation rounds). Cached samples are replayed;
        only the missing ones are requested.
        """
        endpoint = self._roles[as_role(role)]
        _check_call(messages, n, temperature, max_tokens)
        params: dict[str, ParamValue] = {"temperature": temperature, "max_tokens": max_tokens, "seed_key": seed_key}
        keys = [
            cache_key(
                base_url=endpoint.config.url, model=endpoint.config.model, messages=messages, params=params, sample=i
            )
            for i in range(n)
        ]
        found = await self._cache_lookup(keys, role, phase, reply_cap(1, max_tokens))
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            call = _Call(endpoint, role, phase, messages, Sampling(temperature, max_tokens))
            fresh = await self._fetch(call, len(missing))
            await self._cache_store([(keys[i], c) for i, c in zip(missing, fresh, strict=True)])
            found.update((keys[i], c) for i, c in zip(missing, fresh, strict=True))
        return [found[key] for key in keys]

    async def _cache_lookup(self, keys: list[str], role: Role, phase: str, max_chars: int) -> dict[str, Completion]:
        if self._cache is None or not self.config.use_cache:
            return {}
        # An entry larger than a reply may now be (written by an older version) is a miss, and is replaced.
        hits = await self._cache.get_many(keys, max_chars)
        if hits:
            self._usage.record_cache_hits(role, phase, len(hits))
        return {key: self._replayed(sample) for key, sample in hits.items()}

    async def _cache_store(self, items: list[tuple[str, Completion]]) -> None:
        if self._cache is not None:
            # A fresh sample replaces what is stored: with --no-cache that is the refresh; otherwise the
            # key was missing or held an entry too large to replay.
            await self._cache.put_many([(key, _to_cached(c)) for key, c in items], replace=True)

    def _replayed(self, s: CachedSample) -> Completion:
        cost = self._cost(s.model, s.prompt_tokens, s.completion_tokens)
        return Completion(
            s.text,
            s.finish_reason,
            s.prompt_tokens,
            s.completion_tokens,
            s.reasoning_tokens,
            0.0,
            cached=True,
            cost_usd=cost,
            model=s.model,
        )

    def _cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.config.price(model)
        return None if price is None else price.cost(prompt_tokens, completion_tokens)

    async def _fetch(self, call: _Call, count: int) -> list[Completion]:
        ep = call.endpoint
        if count == 1 or ep.supports_n is False:
            return await self._singles(call, count)
        try:
            got = await self._request(call, count)
        except RequestRejected as exc:
            # An endpoint of unknown abilities may refuse n itself: a single request tells.
            if ep.supports_n is not None or exc.kind != "bad_request":
                raise
            first = await self._request(call, 1)
            ep.supports_n = False
            return first + await self._singles(call, count - 1)
        if len(got) < count:  # n was ignored: top up with single requests
            ep.supports_n = False
            return got + await self._singles(call, count - len(got))
        ep.supports_n = True
        return got[:count]

    async def _singles(self, call: _Call, count: int) -> list[Completion]:
        if count == 1:
            return await self._request(call, 1)
        results: list[list[Completion]] = [[] for _ in range(count)]
        errors: list[CodesolveError] = []

        async def one(index: int) -> None:
            try:
                results[index] = await self._request(call, 1)
            except CodesolveError as exc:  # LLMError, or BudgetExceeded from the budget check
                # First failure stops the siblings; it is re-raised bare, not as an ExceptionGroup.
                errors.append(exc)
                tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            for index in range(count):
                tg.start_soon(one, index)
        if errors:
            raise errors[0]
        return [c for sample in results for c in sample[:1]]

    async def _request(self, call: _Call, n: int) -> list[Completion]:
        try:
            response = await request(
                call.endpoint,
                call.messages,
                n=n,
                sampling=call.sampling,
                rng=self._rng,
                on_retry=lambda: self._usage.record_retry(call.role, call.phase),
            )
        except LLMError:
            self._usage.record_failure(call.role, call.phase)
            raise
        model = call.endpoint.config.model
        # More choices than asked: the extras are dropped, and the whole usage is charged to the kept ones.
        completions = self._split(replace(response, choices=response.choices[:n]), model)
        self._usage.record_call(
            call.role,
            call.phase,
            CallUsage(
                samples=len(completions),
                prompt_tokens=response.prompt_tokens,
                completion_tokens=response.completion_tokens,
                reasoning_tokens=response.reasoning_tokens,
                latency_s=response.latency_s,
                cost_usd=self._cost(model, response.prompt_tokens, response.completion_tokens),
            ),
        )
        return completions

    def _split(self, response: Response, model: str) -> list[Completion]:
        k = len(response.choices)
        out: list[Completion] = []
        for j, choice in enumerate(response.choices):
            prompt = _share(response.prompt_tokens, k, j)
            completion = _share(response.completion_tokens, k, j)
            out.append(
                Completion(
                    choice.text,
                    choice.finish_reason,
                    prompt,
                    completion,
                    _share(response.reasoning_tokens, k, j),
                    response.latency_s,
                    cached=False,
                    cost_usd=self._cost(model, prompt, completion),
                    model=model,
                )
            )
        return out

    async def aclose(self) -> None:
        """Close HTTP clients and the cache file (shielded, so cancellation cannot skip it)."""
        with anyio.CancelScope(shield=True):
            for client in {id(ep.client): ep.client for ep in self._roles.values()}.values():
                await client.close()
            if self._cache is not None:
                self._cache.close()

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _to_cached(c: Completion) -> CachedSample:
    return CachedSample(c.model, c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.reasoning_tokens)


def _check_call(messages: Sequence[Message], n: int, temperature: float, max_tokens: int | None) -> None:
    # Programming errors, not model failures: plain ValueError/TypeError.
    if not messages:
        raise ValueError("messages must not be empty")
    if not all(isinstance(m, Message) for m in messages):
        raise TypeError("messages must be Message instances, not dicts")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not (math.isfinite(temperature) and 0 <= temperature <= 2):
        raise ValueError(f"temperature must be within [0, 2], got {temperature}")
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")

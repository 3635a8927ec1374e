"""The public surface of codesolve.llm is pinned, and importing it does nothing."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import codesolve.llm

pytestmark = pytest.mark.timeout(30)

EXPECTED_ALL = {
    "CACHE_KEY_VERSION",
    "DEFAULT_BASE_URL",
    "INLINE_REPLY_SIZE",
    "LLM",
    "ROLES",
    "SCRIPTED_KEY_ENV",
    "CachedSample",
    "Gate",
    "RateWindow",
    "ResponseCache",
    "SampleCache",
    "Completion",
    "EndpointConfig",
    "LLMConfig",
    "Message",
    "Price",
    "RecordedRequest",
    "Role",
    "Rule",
    "Scenario",
    "ScriptedServer",
    "Speaker",
    "Usage",
    "UsageStats",
    "cache_key",
    "parse_reply",
    "scripted_endpoint",
}


def test_all_is_pinned() -> None:
    assert set(codesolve.llm.__all__) == EXPECTED_ALL
    assert len(codesolve.llm.__all__) == len(EXPECTED_ALL)


def test_every_public_name_exists_and_is_documented() -> None:
    for name in codesolve.llm.__all__:
        obj = getattr(codesolve.llm, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert getattr(obj, "__doc__", None), f"{name} has no docstring"


def test_import_has_no_side_effects() -> None:
    code = (
        "import threading, os\n"
        "before = set(os.listdir('.'))\n"
        "import codesolve.llm\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert set(os.listdir('.')) == before\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

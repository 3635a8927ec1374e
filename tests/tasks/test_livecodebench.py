"""LiveCodeBench records in the real layout, and the restricted unpickler."""

from __future__ import annotations

import base64
import io
import json
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from codesolve.errors import ProblemFormatError
from codesolve.tasks import CompetitiveProblem, load_problems, read_problems
from codesolve.tasks.loaders._safe_pickle import UnsafePickle, _NoGlobals, decode_compressed_text, loads_str
from tests.tasks.conftest import evil_compressed, lcb_compress, lcb_functional_record, lcb_record, write_jsonl


def test_stdin_and_functional_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lcb.jsonl", [lcb_record(), lcb_functional_record()])
    result = read_problems(path)
    assert result.format == "livecodebench"
    stdin, call = result.problems
    assert isinstance(stdin, CompetitiveProblem)
    assert isinstance(call, CompetitiveProblem)
    assert (stdin.id, stdin.input_mode) == ("abc000_a", "stdin")
    assert [(t.stdin, t.expected) for t in stdin.hidden_tests] == [("5 7\n", "12\n"), ("0 0\n", "0\n")]
    assert call.function_name == "Solution.twoSum"
    assert call.checker.kind == "value"
    assert (call.public_tests[0].call_args, call.public_tests[0].expected) == ("[[2, 7, 11, 15], 9]", "[0, 1]")
    assert call.hidden_tests[0].call_args == "[[3, 3], 6]"
    assert call.prelude == "from typing import *"


def test_private_tests_as_plain_json_are_accepted(tmp_path: Path) -> None:
    plain = json.dumps([{"input": "1 1\n", "output": "2\n", "testtype": "stdin"}])
    path = write_jsonl(tmp_path / "lcb.jsonl", [lcb_record(private_test_cases=plain)])
    (problem,) = load_problems(path)
    assert isinstance(problem, CompetitiveProblem)
    assert problem.hidden_tests[0].expected == "2\n"


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    field = evil_compressed(f"touch {marker}")
    path = write_jsonl(tmp_path / "evil.jsonl", [lcb_record(private_test_cases=field)])
    with pytest.raises(ProblemFormatError) as err:
        load_problems(path)
    message = str(err.value)
    assert "record line 1 (id 'abc000_a')" in message
    assert "field 'private_test_cases'" in message
    assert "refused opcode" in message
    assert "system" in message
    assert "\n" not in message
    assert not marker.exists()


def test_the_malicious_payload_is_live_under_the_standard_unpickler(tmp_path: Path) -> None:
    # Proof that the test above guards against something real: plain pickle.loads runs it.
    marker = tmp_path / "ran"
    field = evil_compressed(f"touch {marker}")
    script = "import base64, pickle, sys, zlib; pickle.loads(zlib.decompress(base64.b64decode(sys.argv[1])))"
    subprocess.run([sys.executable, "-c", script, field], check=True, timeout=30)
    assert marker.exists()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (pickle.dumps(["a list"]), "refused opcode EMPTY_LIST"),
        (pickle.dumps(b"bytes"), "refused opcode SHORT_BINBYTES"),
        (pickle.dumps({1: "a", 2: "b"}), "refused opcode EMPTY_DICT"),
        (pickle.dumps({"a"}), "refused opcode EMPTY_SET"),
        (pickle.dumps(7), "refused opcode BININT1"),
        (b"\x80\x04not a pickle", "not a valid pickle"),
        (pickle.dumps("text")[:-3], "not a valid pickle"),
    ],
)
def test_loads_str_accepts_only_strings(payload: bytes, reason: str) -> None:
    with pytest.raises(UnsafePickle, match=reason):
        loads_str(payload)


def test_protocol_0_global_is_refused() -> None:
    with pytest.raises(UnsafePickle, match=r"refused opcode GLOBAL"):
        loads_str(b"cbuiltins\neval\n(S'1+1'\ntR.")
    # The unpickler behind the opcode check refuses globals on its own too.
    with pytest.raises(UnsafePickle, match=r"refused global builtins\.eval"):
        _NoGlobals(io.BytesIO(b"cbuiltins\neval\n(S'1+1'\ntR.")).load()


def test_decode_chain_errors() -> None:
    assert decode_compressed_text(lcb_compress("[]")) == "[]"
    with pytest.raises(UnsafePickle, match="not base64"):
        decode_compressed_text("!!!")
    with pytest.raises(UnsafePickle, match="not zlib"):
        decode_compressed_text(base64.b64encode(b"plain bytes").decode())
    truncated = base64.b64encode(zlib.compress(pickle.dumps("x" * 1000))[:-4]).decode()
    with pytest.raises(UnsafePickle, match="truncated"):
        decode_compressed_text(truncated)

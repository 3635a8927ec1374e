"""Fixtures for the problem models and loaders: the shared data, fixture builders, the CLI."""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codesolve import cli

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    """The shared real datasets (``../shared/data`` beside the repository)."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    return DATA


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``codesolve ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_jsonl(path: Path, records: list[Any], compress: bool = False) -> Path:
    """Write records one JSON per line (gzipped when asked)."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    return path


def lcb_compress(text: str) -> str:
    """LiveCodeBench's private-test encoding: base64(zlib(pickle(text)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(text))).decode()


def lcb_record(**overrides: Any) -> dict[str, Any]:
    """A LiveCodeBench code_generation_lite record in the real layout (stdin problem)."""
    public = [{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]
    private = [
        {"input": "5 7\n", "output": "12\n", "testtype": "stdin"},
        {"input": "0 0\n", "output": "0\n", "testtype": "stdin"},
    ]
    record: dict[str, Any] = {
        "question_title": "A+B",
        "question_content": "Print the sum of two integers.",
        "platform": "atcoder",
        "question_id": "abc000_a",
        "contest_id": "abc000",
        "contest_date": "2024-01-01T00:00:00",
        "starter_code": "",
        "difficulty": "easy",
        "public_test_cases": json.dumps(public),
        "private_test_cases": lcb_compress(json.dumps(private)),
        "metadata": "{}",
    }
    record.update(overrides)
    return record


def lcb_functional_record() -> dict[str, Any]:
    """A LeetCode-style functional LiveCodeBench record."""
    public = [{"input": "[2,7,11,15]\n9", "output": "[0, 1]", "testtype": "functional"}]
    private = [{"input": "[3,3]\n6", "output": "[0, 1]", "testtype": "functional"}]
    return lcb_record(
        question_title="two-sum",
        question_id="1",
        platform="leetcode",
        starter_code="class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
        public_test_cases=json.dumps(public),
        private_test_cases=lcb_compress(json.dumps(private)),
        metadata=json.dumps({"func_name": "twoSum"}),
    )


class EvilPayload:
    """Pickles to ``os.system(command)``: what a hostile dataset could ship."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        import os

        return (os.system, (self.command,))


def evil_compressed(command: str) -> str:
    """A private_test_cases field whose pickle runs ``command`` under the standard unpickler."""
    return base64.b64encode(zlib.compress(pickle.dumps(EvilPayload(command)))).decode()


def make_package(
    root: Path,
    *,
    config: str = "name: Hello\nsource: codesolve tests\nlicense: cc0\n",
    samples: dict[str, tuple[str, str]] | None = None,
    secret: dict[str, tuple[str, str]] | None = None,
    validator: dict[str, str] | None = None,
    statement: str | None = "Add two numbers.",
) -> Path:
    """A Kattis problem package directory."""
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "problem.yaml").write_text(config)
    tests = {"sample": samples if samples is not None else {"1": ("1 2\n", "3\n")}}
    tests["secret"] = secret if secret is not None else {"group1/a": ("2 2\n", "4\n"), "b": ("10 -3\n", "7\n")}
    for folder, cases in tests.items():
        for name, (stdin, answer) in cases.items():
            path = root / "data" / folder / f"{name}.in"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(stdin)
            path.with_suffix(".ans").write_text(answer)
    for rel, text in (validator or {}).items():
        path = root / "output_validators" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if statement is not None:
        (root / "problem_statement").mkdir(exist_ok=True)
        (root / "problem_statement" / "problem.en.tex").write_text(statement)
    return root


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run inside ``tmp_path`` (so relative side-effect files land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

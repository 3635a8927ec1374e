"""``codesolve validate``: one line per file, exit 2 on any error, no programs run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.tasks.conftest import lcb_record, make_package, write_jsonl

Run = Callable[..., tuple[int, str, str]]
REPO = Path(__file__).resolve().parents[2]


def test_ok_files_print_one_line_each(tmp_path: Path, run_cli: Run) -> None:
    package = make_package(tmp_path / "pkg")
    lcb = write_jsonl(tmp_path / "lcb.jsonl.gz", [lcb_record()], compress=True)
    code, out, err = run_cli("validate", str(package), str(lcb))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{package}: kattis: 1 problem, 1 public + 2 hidden tests",
        f"{lcb}: livecodebench: 1 problem, 1 public + 2 hidden tests",
    ]


def test_examples_bundle(run_cli: Run) -> None:
    path = REPO / "problems/examples/examples.yaml"
    code, out, _ = run_cli("validate", str(path))
    assert code == 0
    assert out == f"{path}: codesolve: 3 problems, 4 public + 8 hidden tests\n"


def test_one_bad_file_among_good_ones_exits_2(tmp_path: Path, run_cli: Run) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [lcb_record()])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{\n")
    code, out, err = run_cli("validate", str(good), str(bad), str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert out.startswith(f"{good}: livecodebench: 1 problem")
    assert err.splitlines() == [
        f"codesolve: error: {bad}: record line 1: bad JSON: Expecting property name enclosed in double quotes"
        " (column 2)",
        f"codesolve: error: {tmp_path / 'missing.jsonl'}: no such file or directory",
    ]


def test_format_override(tmp_path: Path, run_cli: Run) -> None:
    path = write_jsonl(tmp_path / "lcb.jsonl", [lcb_record()])
    code, out, _ = run_cli("validate", "--format", "lcb", str(path))
    assert code == 0
    assert ": livecodebench: " in out
    code, _, err = run_cli("validate", "--format", "apps", str(path))
    assert code == 2
    assert "field 'problem_id': missing" in err


def test_flags_are_summarised(tmp_path: Path, run_cli: Run) -> None:
    package = make_package(tmp_path / "custom", config="validation: custom\n")
    code, out, _ = run_cli("validate", str(package))
    assert code == 0
    assert out.rstrip().endswith("1 checker missing")

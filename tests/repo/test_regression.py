"""Collection errors read from a real pytest report, and the regression set built from a baseline."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from codesolve.tasks.repo import parse_report
from codesolve.tasks.repo.regression import regression_set, safe_deselect
from codesolve.tasks.repo.testrun import read_run
from sandbox import Capture, ExecResult

FILES = {
    "tests/test_ok.py": "def test_a():\n    pass\n\n\ndef test_ab():\n    assert False\n\n\ndef test_b():\n    pass\n",
    "tests/test_fix.py": "def test_fix():\n    assert 1 == 2\n",
    "tests/test_bad.py": "import nope_mod\n\n\ndef test_never():\n    pass\n",
    "tests/sub/conftest.py": "raise RuntimeError('broken conftest')\n",
    "tests/sub/test_s.py": "def test_s():\n    pass\n",
}


def real_report(root: Path, *extra: str) -> tuple[bytes, int]:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=r.xml", "-o",
         "junit_family=xunit1", *extra, "tests"],
        cwd=root, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return (root / "r.xml").read_bytes(), done.returncode


def test_collection_errors_are_collectors_not_tests(tmp_path: Path) -> None:
    data, code = real_report(tmp_path, "--continue-on-collection-errors")
    assert code == 1
    by_id = {r.nodeid: r for r in parse_report(data)}
    assert {n for n, r in by_id.items() if r.collection} == {"tests/test_bad.py", "tests/sub"}
    assert not by_id["tests/test_bad.py"].passed
    assert by_id["tests/test_ok.py::test_a"].passed
    assert not by_id["tests/test_fix.py::test_fix"].collection  # a failing test is a test


def result(data: bytes, code: int) -> ExecResult:
    return ExecResult(code, Capture(), Capture(), 0.1, files={"r.xml": data})


def test_a_baseline_tolerates_them_and_any_other_run_does_not(tmp_path: Path) -> None:
    data, code = real_report(tmp_path, "--continue-on-collection-errors")
    baseline = read_run(result(data, code), "r.xml", tolerate_collection_errors=True)
    assert baseline.distrust == ""
    assert baseline.passed("tests/test_ok.py::test_a")
    assert [r.nodeid for r in baseline.uncollected] == ["tests/sub", "tests/test_bad.py"]
    assert "tests/test_bad.py" not in baseline.matching(["tests"])
    strict = read_run(result(data, code), "r.xml")
    assert strict.distrust == "tests/sub failed to collect (RuntimeError: broken conftest)"
    assert not strict.passed("tests/test_ok.py::test_a")
    # Without --continue-on-collection-errors pytest stops (exit 2) after writing the same errors.
    stopped, code = real_report(tmp_path / "again")
    assert code == 2
    assert read_run(result(stopped, code), "r.xml").distrust.endswith(
        "failed to collect (RuntimeError: broken conftest)"
    )


def test_the_regression_set_leaves_out_failures_and_broken_files(tmp_path: Path) -> None:
    data, code = real_report(tmp_path, "--continue-on-collection-errors")
    baseline = read_run(result(data, code), "r.xml", tolerate_collection_errors=True)
    kept = regression_set(baseline, ["tests/test_fix.py::test_fix"], whole_suite=True)
    assert kept.tests == ("tests/test_ok.py::test_a", "tests/test_ok.py::test_b")
    assert kept.files == ("tests/test_fix.py", "tests/test_ok.py")
    assert kept.left_failing == 1
    # test_ab fails today, but `--deselect …::test_a` would drop test_ab too: only safe ones are given.
    assert kept.deselect == ("tests/test_ok.py::test_ab",)
    assert kept.summary().startswith(
        "regression set: 2 passing test(s) in 2 file(s) (the whole suite); left out: 1 failing at baseline, "
        "2 that do not collect (tests/sub: RuntimeError: broken conftest; tests/test_bad.py: ModuleNotFoundError"
    )


def test_deselect_never_takes_a_kept_test_with_it() -> None:
    keep = ["t.py::test_a1", "t.py::test_b[1]", "t.py::K::test_c"]
    assert safe_deselect(["t.py::test_a", "t.py::test_b", "t.py::test_d", "t.py::K"], keep) == ["t.py::test_d"]


_NODE = st.text(alphabet="ab:_[]", max_size=6)


@given(st.lists(_NODE, max_size=10), st.lists(_NODE, max_size=10))
def test_safe_deselect_drops_what_a_scan_of_the_kept_ids_would(drop: list[str], keep: list[str]) -> None:
    assert safe_deselect(drop, keep) == [d for d in drop if not any(k.startswith(d) for k in keep)]


def test_safe_deselect_on_a_large_suite_takes_no_time() -> None:
    keep = [f"tests/test_m{i % 50}.py::test_case_{i}" for i in range(16_000)]
    drop = [f"tests/test_m{i % 50}.py::test_other_{i}" for i in range(4_000)]
    started = time.perf_counter()
    assert safe_deselect(drop, keep) == drop
    assert time.perf_counter() - started < 2.0  # (every kept id tested for every dropped one: 7.6 s)

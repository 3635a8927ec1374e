"""Grading like SWE-bench on the mini set and the real instances: gold resolves, empty and cheats do not."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codesolve.runs.swe import Prepared
from codesolve.runs.swe_report import RESULTS, read_jsonl
from sandbox import Sandbox
from tests.swe.swekit import INSTANCES, REAL, REPOS, batch, instances

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

FAKE_PASSED = (
    "diff --git a/intervals/merge.py b/intervals/merge.py\n"
    "--- a/intervals/merge.py\n"
    "+++ b/intervals/merge.py\n"
    "@@ -1,4 +1,9 @@\n"
    ' """Merging closed intervals ``(start, end)``."""\n'
    "+import atexit\n"
    "+import sys\n"
    "+\n"
    '+print("tests/test_merge.py::test_touching_join PASSED\\ntests/test_merge.py::test_touching_chain PASSED")\n'
    '+atexit.register(lambda: sys.stdout.write("===== 6 passed in 0.01s =====\\n"))\n'
    " \n"
    " \n"
    " def merge(intervals):\n"
)
# Edits the tests instead of the code: a conftest that turns every failure into a pass.
CONFTEST = """diff --git a/tests/conftest.py b/tests/conftest.py
new file mode 100644
--- /dev/null
+++ b/tests/conftest.py
@@ -0,0 +1,7 @@
+import pytest
+
+
+@pytest.hookimpl(hookwrapper=True)
+def pytest_runtest_makereport(item, call):
+    report = (yield).get_result()
+    report.outcome = "passed"
"""


async def grade_all(out: Path, patch_of: dict[str, str]) -> dict[str, object]:
    async def given(prepared: Prepared, _box: Sandbox) -> str:
        return patch_of.get(prepared.instance.instance_id, prepared.instance.patch)

    return await batch(out, instances(*patch_of), given)


async def test_fake_passed_lines_and_test_edits_do_not_resolve(tmp_path: Path) -> None:
    report = await grade_all(tmp_path, {"mini__intervals-1": FAKE_PASSED})
    assert report["unresolved_ids"] == ["mini__intervals-1"]
    [row] = read_jsonl(tmp_path / RESULTS)
    assert row["fail_to_pass"] == {
        "tests/test_merge.py::test_touching_join": "FAILED",
        "tests/test_merge.py::test_touching_chain": "FAILED",
    }
    assert row["applied_with"] == "git apply"  # it applied and ran: the tests, not its output, said no
    cheat = await grade_all(tmp_path / "conftest", {"mini__intervals-1": CONFTEST})
    assert cheat["unresolved_ids"] == ["mini__intervals-1"]
    assert "edits test files (tests/conftest.py)" in str(cheat["reasons"])


def graded(out: Path) -> dict[str, str]:
    """Instance → its stored grade row, read from the run store (empty before it exists)."""
    if not (out / "run.sqlite").is_file():
        return {}
    db = sqlite3.connect(out / "run.sqlite", timeout=30)
    try:
        return dict(db.execute("SELECT problem, rows FROM eval_runs").fetchall())
    except sqlite3.OperationalError:  # the schema is being created
        return {}
    finally:
        db.close()


def swe_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "codesolve.cli", "swe", str(INSTANCES), "--repos", str(REPOS), "--gold",
            "--out", str(out), "--progress", "plain"]  # fmt: skip


def wait_for_a_grade(out: Path, first: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while not graded(out) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)


def test_sigkill_mid_batch_then_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = subprocess.Popen(
        swe_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    wait_for_a_grade(out, first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    before = graded(out)
    assert 1 <= len(before) < 3, "the kill should land mid-batch"
    second = subprocess.run(swe_command(out), capture_output=True, text=True, timeout=600, check=False)
    assert second.returncode == 0, second.stderr
    after = graded(out)
    assert all(after[i] == row for i, row in before.items())  # finished before the kill: not redone
    assert f"{len(before)} already finished" in second.stderr
    rows = read_jsonl(out / RESULTS)
    assert sorted(r["instance_id"] for r in rows) == sorted(i.instance_id for i in instances())
    assert all(r["status"] == "resolved" for r in rows)
    assert "resolved 3, unresolved 0, infrastructure error 0" in second.stdout


def test_ctrl_c_mid_batch_stops_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = subprocess.Popen(swe_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_a_grade(out, first)
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "codesolve: interrupted" in err
    assert 1 <= len(graded(out)) < 3
    assert 1 <= len(read_jsonl(out / RESULTS)) < 3  # the exports were written on the way out
    work = out / ".swe-cache" / "work"
    assert not work.exists() or not any(work.iterdir())  # checkouts removed though cancelled


REAL_CHEAP = ["pallets__flask-4992", "sympy__sympy-22714"]


@pytest.mark.slow
@pytest.mark.skipif(not (REAL / "instances.jsonl").is_file(), reason="the real SWE-bench Lite instances are not here")
def test_real_instances_gold_resolves_and_empty_does_not(tmp_path: Path) -> None:
    """The cheapest verified flask and sympy instances (the full check is the README's gold table)."""
    ids = os.environ.get("CODESOLVE_SWE_REAL", " ".join(REAL_CHEAP)).split()
    for mode, expect in (("--gold", "resolved"), ("--empty", "unresolved")):
        out = tmp_path / mode.strip("-")
        command = [sys.executable, "-m", "codesolve.cli", "swe", str(REAL / "instances.jsonl"), "--repos", str(REAL),
                   mode, "--out", str(out), "--id", *ids]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=1500, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        rows = {r["instance_id"]: r for r in read_jsonl(out / RESULTS)}
        assert {i: r["status"] for i, r in rows.items()} == dict.fromkeys(ids, expect), done.stdout
        if mode == "--empty":
            # Wrong, not broken: the PASS_TO_PASS tests still pass, only FAIL_TO_PASS fail.
            assert all(set(r["pass_to_pass"].values()) == {"PASSED"} for r in rows.values())

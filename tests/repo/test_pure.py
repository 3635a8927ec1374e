"""The repository machinery's pure parts: JUnit parsing, splicing, localisation, diffs, apply."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.tasks.repo import (
    ReportError,
    SpliceError,
    WorkspaceError,
    apply_files,
    candidate_functions,
    localise,
    parse_report,
    splice,
    unified_diff,
)
from codesolve.tasks.repo.feedback import TOTAL_CHARS, render
from codesolve.tasks.repo.junit import TestResult, nodeid_of
from codesolve.tasks.repo.testrun import TestRun

REPORT = b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_a.TestX" name="test_m[1-2]" file="tests/test_a.py" line="3"/>
<testcase classname="tests.test_a" name="test_f" file="tests/test_a.py" line="9">
<failure message="assert 1 == 2">tests/test_a.py:10: in test_f
    assert f() == 2
E   assert 1 == 2</failure><system-out>hello</system-out></testcase>
<testcase classname="tests.test_a" name="test_s" file="tests/test_a.py" line="12"><skipped message="no"/></testcase>
</testsuite></testsuites>"""


def test_report_gives_node_ids_outcomes_and_output() -> None:
    results = {r.nodeid: r for r in parse_report(REPORT)}
    assert set(results) == {
        "tests/test_a.py::TestX::test_m[1-2]",
        "tests/test_a.py::test_f",
        "tests/test_a.py::test_s",
    }
    assert results["tests/test_a.py::TestX::test_m[1-2]"].passed
    failed = results["tests/test_a.py::test_f"]
    assert failed.outcome == "failed"
    assert "E   assert 1 == 2" in failed.details
    assert failed.stdout == "hello"
    assert results["tests/test_a.py::test_s"].outcome == "skipped"


def test_nodeid_of_a_package_module() -> None:
    assert (
        nodeid_of("pkg/tests/test_b.py", "pkg.tests.test_b.TestY.TestZ", "t") == "pkg/tests/test_b.py::TestY::TestZ::t"
    )


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites>&a;</testsuites>',
        b"<html/>",
        b"<testsuites><testcase",
        b"",
    ],
)
def test_hostile_or_broken_reports_are_refused(data: bytes) -> None:
    with pytest.raises(ReportError):
        parse_report(data)


FILE = b'''"""Module."""
import math  # keep

# helper above
@decorate(1)
def target(a, b=2):
    """Doc."""
    return a - b  # bug


class K:
    def target(self):
        return 0


def other(x):
    return x
'''


def test_splice_keeps_every_other_byte_and_the_decorator() -> None:
    new = splice(FILE, "target", "def target(a, b=2):\n    return a + b\n")
    assert new == FILE.replace(b'    """Doc."""\n    return a - b  # bug\n', b"    return a + b\n")


def test_splice_into_a_method_with_crlf_and_the_class_wrapper() -> None:
    crlf = FILE.replace(b"\n", b"\r\n")
    funcs = candidate_functions("class K:\n    def target(self):\n        return 1\n", ["K.target"])
    new = splice(crlf, "K.target", funcs["K.target"])
    assert new == crlf.replace(b"        return 0\r\n", b"        return 1\r\n")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def target(a, b=3):\n    return a\n", "signature"),
        ("def target(a, b=2)\n    return a\n", "does not parse"),
        ("import os\ndef target(a, b=2):\n    return a\n", "more than the functions"),
        ("def target(a, b=2):\n    return a\ndef other(x):\n    return 0\n", "not a function to fix"),
        ("def helper():\n    return 1\n", "not a function to fix"),
        ("@other\ndef target(a, b=2):\n    return a\n", "decorators"),
        # Nested past the parser: CPython raises RecursionError or a bare MemoryError, not SyntaxError.
        ("def target(a, b=2):\n    return " + "1+" * 200_000 + "1\n", "nested too deeply"),
        ("def target(a, b=2):\n    return " + "-" * 200_000 + "a\n", "nested too deeply"),
        ("def target(a, b=2):\n    return a" + "()" * 200_000 + "\n", "nested too deeply"),
    ],
)
def test_refused_candidates_say_why(code: str, message: str) -> None:
    with pytest.raises(SpliceError, match=message):
        splice(FILE, "target", candidate_functions(code, ["target"])["target"])


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.sampled_from(["# c\n", "x = 1\n", "\n", "def a():\n    return 1\n", "class C:\n    pass\n"])),
    after=st.lists(st.sampled_from(["# d\n", "y = [\n  1,\n]\n", "\n", "def b(q):\n    return q\n"])),
    body=st.sampled_from(["    return 1\n", "    if x:\n        return 2\n    return 3\n"]),
    indent=st.sampled_from(["", "    ", "\t"]),
)
def test_splice_changes_only_the_function(before: list[str], after: list[str], body: str, indent: str) -> None:
    head = "".join(before)
    if indent:
        head += "class Host:\n"
    func = "".join(indent + line for line in "def f(x):\n    return 0\n".splitlines(keepends=True))
    tail = "".join(indent + line if line.strip() else line for line in "".join(after).splitlines(keepends=True))
    source = (head + func + "\n" + tail).encode()
    qualname = "Host.f" if indent else "f"
    new = splice(source, qualname, "def f(x):\n" + body)
    expected = head + "".join(indent + line for line in ("def f(x):\n" + body).splitlines(keepends=True))
    assert new == (expected + "\n" + tail).encode()


def spectra(**tests: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        name: {f"m.py::{k}": (f"m.py::{v}" if v else "") for k, v in calls.items()} for name, calls in tests.items()
    }


def test_a_wrong_value_two_calls_below_the_test_among_correct_functions() -> None:
    s = spectra(
        fail={"total": "", "combine": "total", "big": "combine", "scale": "big"},
        ok1={"scale": ""},
        ok2={"total": "", "combine": "total", "offset": "combine"},
    )
    found = localise(s, ["fail"], ["ok1", "ok2"])
    assert [t.target for t in found.targets] == ["m:big"]
    assert found.ranking[0].key == "m.py::big"


def test_two_faults_in_two_tests_name_two_functions() -> None:
    s = spectra(
        fail_a={"api": "", "f": "api", "shared": "f"},
        fail_b={"api": "", "g": "api", "shared": "g"},
        ok={"api": "", "shared": "api"},
    )
    found = localise(s, ["fail_a", "fail_b"], ["ok"])
    assert sorted(t.target for t in found.targets) == ["m:f", "m:g"]


def test_one_fault_in_many_tests_names_one_function() -> None:
    s = spectra(
        fail_a={"api": "", "f": "api"},
        fail_b={"api": "", "f": "api", "h": "api"},
        ok={"api": "", "h": "api"},
    )
    assert [t.target for t in localise(s, ["fail_a", "fail_b"], ["ok"]).targets] == ["m:f"]


def test_sibling_helpers_tied_by_the_spectra_go_to_their_caller() -> None:
    s = spectra(fail={"main": "", "get": "main", "put": "main"}, ok={"main": ""})
    assert [t.target for t in localise(s, ["fail"], ["ok"]).targets] == ["m:main"]


def test_a_traceback_frame_breaks_a_tie() -> None:
    s = spectra(fail={"a": "", "b": ""}, ok={})
    tb = {"fail": "m.py:3: in b\n    raise ValueError\nE   ValueError"}
    assert [t.target for t in localise(s, ["fail"], [], tb).targets] == ["m:b"]


def test_nested_functions_and_test_files_are_folded_away() -> None:
    s = {"t": {"m.py::f.<locals>.<genexpr>": "m.py::f", "m.py::f": "", "tests/test_m.py::helper": ""}}
    assert [x.key for x in localise(s, ["t"], []).ranking] == ["m.py::f"]


def test_diff_applies_with_git_and_apply_refuses_after_an_edit(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_bytes(FILE)
    new = splice(FILE, "target", "def target(a, b=2):\n    return a + b\n")
    diff = unified_diff({"m.py": FILE}, {"m.py": new})
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    check = subprocess.run(
        ["git", "apply", "--check", "-"], cwd=tmp_path, input=diff.encode(), capture_output=True, check=False
    )
    assert check.returncode == 0, check.stderr
    (tmp_path / "m.py").write_bytes(FILE + b"# edited meanwhile\n")
    with pytest.raises(WorkspaceError, match=r"refusing to apply: m.py changed since the run started"):
        apply_files(tmp_path, {"m.py": FILE}, {"m.py": new})
    assert (tmp_path / "m.py").read_bytes() == FILE + b"# edited meanwhile\n"
    (tmp_path / "m.py").write_bytes(FILE)
    assert apply_files(tmp_path, {"m.py": FILE}, {"m.py": new}) == ["m.py"]
    assert (tmp_path / "m.py").read_bytes() == new


FUNCS = st.sampled_from(["a", "b", "c", "d", "e"])


@settings(max_examples=200, deadline=None)
@given(
    failing=st.lists(st.dictionaries(FUNCS, st.sampled_from(["", "a", "b"]), min_size=1), min_size=1, max_size=4),
    passing=st.lists(st.dictionaries(FUNCS, st.sampled_from(["", "a", "b"])), max_size=4),
)
def test_targets_are_run_by_failing_tests_and_explain_each(
    failing: list[dict[str, str]], passing: list[dict[str, str]]
) -> None:
    s = spectra(**{f"f{i}": c for i, c in enumerate(failing)}, **{f"p{i}": c for i, c in enumerate(passing)})
    names_f = [f"f{i}" for i in range(len(failing))]
    found = localise(s, names_f, [f"p{i}" for i in range(len(passing))])
    assert 1 <= len(found.targets) <= min(3, len(failing))
    ran = {k for t in names_f for k in s[t]}
    assert all(t.key in ran for t in found.targets)
    assert all(0 <= x.ochiai <= 1 for x in found.ranking)
    # Deterministic: the same spectra in another order give the same answer.
    again = localise(dict(reversed(list(s.items()))), list(reversed(names_f)), [f"p{i}" for i in range(len(passing))])
    assert {t.key for t in again.targets} == {t.key for t in found.targets}


def test_test_call_inputs_are_the_tests_literal_calls_then_their_edges(tmp_path: Path) -> None:
    from codesolve.tasks.repo import Target
    from codesolve.tasks.repo.inputs import TestCallInputs

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_r.py").write_text(
        "from m import ratio\n\ndef test_r():\n    assert ratio(6, 3) == 2\n    assert m.ratio(x, 1) == 0\n"
        "    assert ratio('ab', b=2)\n"
    )
    found = TestCallInputs(tmp_path, ["tests/test_r.py", "tests/missing.py"]).collect(Target("m.py", "ratio"), 10)
    assert found == ["[6, 3]", "[0, 3]", "[-6, 3]", "[7, 3]", "[6, 0]", "[6, -3]", "[6, 4]"]


def test_a_snapshot_leaves_out_vcs_venvs_caches_and_links(tmp_path: Path) -> None:
    from codesolve.tasks.repo import snapshot

    for rel in ["pkg/m.py", ".git/HEAD", "venv-x/pyvenv.cfg", "venv-x/lib/big.py", "pkg/__pycache__/m.pyc", "t.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "link.py").symlink_to("/etc/passwd")
    assert sorted(snapshot(tmp_path)) == ["pkg/m.py", "t.py"]


def test_each_target_comes_with_why_it_was_chosen() -> None:
    wrong_value = spectra(
        fail={"total": "", "combine": "total", "big": "combine"}, ok={"total": "", "combine": "total"}
    )
    [why] = localise(wrong_value, ["fail"], ["ok"]).why
    assert why.startswith("m:big: the top suspect of 1 failing test(s) (fail); run by 1/1 failing and 0/1 passing")
    assert "in no traceback (a wrong value" in why
    siblings = spectra(fail={"main": "", "get": "main", "put": "main"}, ok={"main": ""})
    [why] = localise(siblings, ["fail"], ["ok"]).why
    assert why.startswith("m:main: the caller of get, put, which the spectra cannot tell apart")
    raised = localise(spectra(fail={"a": "", "b": ""}), ["fail"], [], {"fail": "m.py:3: in b\nE   ValueError"})
    assert [t.target for t in raised.targets] == ["m:b"]
    assert raised.why[0].endswith("in the traceback of 1 failing test(s)")


def _failed_run(details: str, stdout: str = "", count: int = 1) -> tuple[TestRun, list[str]]:
    ids = [f"tests/test_m.py::test_{i}" for i in range(count)]
    results = {t: TestResult(t, "failed", "assert 1 == 2", details, stdout=stdout) for t in ids}
    return TestRun(results, 1), ids


def test_feedback_keeps_the_assertion_diff_drops_outside_frames_and_shows_output() -> None:
    details = (
        "tests/test_m.py:4: in test_0\n    assert f() == [1, 2]\n"
        "/usr/lib/python3/dist-packages/_pytest/x.py:9: in wrapper\n    return g()\n"
        "E   AssertionError: assert [1] == [1, 2]\nE     Right contains one more item: 2"
    )
    run, ids = _failed_run(details, stdout="debug: f saw []\n")
    shown = render(run, ids)
    assert "tests/test_m.py:4: in test_0" in shown
    assert "Right contains one more item: 2" in shown
    assert "dist-packages" not in shown
    assert "[frames outside the repository left out]" in shown
    assert "captured stdout:\ndebug: f saw []" in shown


def test_feedback_is_capped_whatever_the_tests_print() -> None:
    run, ids = _failed_run("tests/test_m.py:4: in t\nE   " + "x" * 50_000, stdout="y" * 50_000, count=40)
    shown = render(run, ids)
    assert len(shown) <= TOTAL_CHARS + 100
    assert "40 of 40 tests fail" in shown
    assert "… and 37 more failing" in shown


def test_lines_break_a_tie_between_functions_run_by_the_same_tests() -> None:
    s = spectra(fail={"add": "", "total": "", "line": "total"}, bulk={"add": "", "total": "", "line": "total"})
    lines = {"fail": {"m.py::add": [3], "m.py::total": [9], "m.py::line": [5, 7]}, "bulk": {"m.py::add": [3],
             "m.py::total": [9], "m.py::line": [5, 6]}}  # fmt: skip
    found = localise(s, ["fail"], ["bulk"], None, lines)
    assert [t.target for t in found.targets] == ["m:line"]
    assert (found.targets[0].line, found.targets[0].line_ep) == (7, 0)
    # Without lines the tie goes to the shallower function, as before.
    assert [t.target for t in localise(s, ["fail"], ["bulk"]).targets] == ["m:add"]


def test_lines_never_outrank_the_functions_own_spectra() -> None:
    # The caller's line that calls the fault is as exclusive to the failing test as the fault itself.
    s = spectra(fail={"total": "", "combine": "total", "big": "combine"}, ok={"total": "", "combine": "total"})
    lines = {"fail": {"m.py::total": [2], "m.py::combine": [5, 6], "m.py::big": [9]}, "ok": {"m.py::total": [2],
             "m.py::combine": [5, 7]}}  # fmt: skip
    assert [t.target for t in localise(s, ["fail"], ["ok"], None, lines).targets] == ["m:big"]


def _reference_collapse_depths(calls: dict[str, str]) -> dict[str, int]:
    """The depths as the recursive walk gave them (the reference for the iterative one)."""
    from codesolve.tasks.repo.localise import outer

    parent = {outer(k): outer(v) if v else "" for k, v in reversed(list(calls.items()))}
    depth: dict[str, int] = {}

    def depth_of(key: str, seen: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        up = parent.get(key, "")
        d = 1 if not up or up == key or up in seen or up not in parent else depth_of(up, seen | {key}) + 1
        depth[key] = d
        return d

    for key in parent:
        depth_of(key, frozenset())
    return depth


_FUNCTION = st.sampled_from([f"pkg/m.py::f{i}" for i in range(7)] + ["pkg/m.py::C.g", ""])


@given(st.dictionaries(_FUNCTION.filter(bool), _FUNCTION, max_size=8))
def test_call_depths_are_those_of_the_recursive_walk(calls: dict[str, str]) -> None:
    from codesolve.tasks.repo.localise import collapse

    assert dict(collapse(calls).depth) == _reference_collapse_depths(calls)  # (no test file among them)


def test_a_chain_of_thousands_of_callers_has_its_depths() -> None:
    from codesolve.tasks.repo.localise import collapse

    calls = {f"pkg/m.py::f{i}": f"pkg/m.py::f{i + 1}" for i in range(5000)}
    # f4999's caller never ran (no entry of its own): f4999 is at depth 1, f0 at 5,000
    assert collapse(calls).depth["pkg/m.py::f0"] == 5000  # (recursion: out of stack at ~1,000)

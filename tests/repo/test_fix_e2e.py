"""``codesolve fix`` end to end: real Docker sandbox, scripted model over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.errors import RepositoryError
from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.fix import apply_fix
from codesolve.sstar import EngineConfig
from codesolve.tasks.fix import FunctionFix
from codesolve.tasks.repo.task import report_of
from sandbox import Sandbox
from tests.repo.fixkit import (
    CHEAT_BIG,
    RAISING_RATIO,
    RIGHT_BIG,
    RIGHT_RATIO,
    WRONG_BIG,
    calc_repo,
    cart_repo,
    examined,
    fenced,
    fix,
    tree_digest,
)

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

TOTAL_BIG = "tests/test_calc.py::test_total_big"
WHERE = """import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("path", [HERE, os.path.join(HERE, "data")])
def test_where(path):
    assert path.startswith(HERE)
"""
FIX_PROMPT = "# Fix the failing tests"


async def test_check_finds_a_wrong_value_two_calls_below_the_test(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    assert found.setup.must_pass == (TOTAL_BIG,)
    assert len(found.setup.regression) == 5  # the whole suite: test_calc's other three, test_big, test_label
    assert [t.name for t in found.setup.targets] == ["pkg.calc:big"]
    assert found.localisation is not None
    # The test calls total → combine → big: no frame of big in the failure, only its spectrum.
    assert "in big" not in found.baseline.results[TOTAL_BIG].details


async def test_check_finds_a_branch_only_the_failing_test_takes(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(cart_repo(tmp_path), docker_box, ("tests/test_cart.py",))
    assert found.setup.must_pass == ("tests/test_cart.py::test_single",)
    assert [t.name for t in found.setup.targets] == ["shop.cart:Cart._line"]
    assert found.setup.targets[0].path == "src/shop/cart.py"
    assert found.localisation is not None
    by_name = {s.target: s for s in found.localisation.ranking}
    line, add = by_name["shop.cart:Cart._line"], by_name["shop.cart:Cart.add"]
    assert (line.ef, line.ep) == (add.ef, add.ep) == (1, 1)  # the functions' spectra tie
    assert (line.line, line.line_ep) == (23, 0)  # `return price * qty + 1`: the failing test's alone


async def test_check_names_two_functions_when_two_are_implicated(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path, label_bug=True)
    found = await examined(repo, docker_box, ("tests/test_calc.py", "tests/test_label.py"))
    assert sorted(t.name for t in found.setup.targets) == ["pkg.calc:big", "pkg.calc:label"]


async def test_nothing_to_fix_is_one_clear_error(tmp_path: Path, docker_box: Sandbox) -> None:
    with pytest.raises(RepositoryError, match="nothing to fix"):
        await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py::test_scale",))


async def test_an_unknown_function_is_one_clear_error(tmp_path: Path, docker_box: Sandbox) -> None:
    with pytest.raises(RepositoryError, match=r"pkg\.calc:nope: no function nope"):
        await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",), ("pkg.calc:nope",))


@pytest.mark.parametrize(
    "code",
    [
        # Prints what pytest would print for a pass, then returns the wrong value.
        "def big(a):\n    print('tests/test_calc.py::test_total_big PASSED\\n===== 4 passed in 0.01s =====')\n"
        "    return scale(a) - 1\n",
        # Ends the process with status 0 mid-test: no report, so no pass.
        "def big(a):\n    import os\n    print('4 passed')\n    os._exit(0)\n",
        # Writes a report claiming success where pytest will write its own, then dies with 0.
        "def big(a):\n    import glob, os\n    for p in glob.glob('.codesolve/*'):\n        pass\n"
        "    open('.codesolve/junit.xml', 'w').write('<testsuites/>')\n    os._exit(0)\n",
    ],
)
async def test_fake_pytest_output_does_not_pass(tmp_path: Path, docker_box: Sandbox, code: str) -> None:
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    task = FunctionFix(found.setup, docker_box)
    report = await task.run_public(code)
    assert not report.all_passed
    assert report.verdicts[0] != "AC"
    assert (await task.run_public(RIGHT_BIG)).all_passed


async def test_a_wrong_first_fix_then_a_right_one(tmp_path: Path, docker_box: Sandbox) -> None:
    scenario = Scenario(
        rules=[
            Rule(match="Your fix still fails", content=fenced(RIGHT_BIG)),
            Rule(match=FIX_PROMPT, content=fenced(WRONG_BIG)),
        ]
    )
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=2))
        debug = [r for r in server.chat_requests if "Your fix still fails" in r.messages[-1].content]
    assert result.made_pass == (TOTAL_BIG,)
    assert not result.broken
    assert "+    return scale(a) + 1" in result.diff
    # The debugger saw pytest's own assertion diff of the wrong fix.
    assert "assert 402 == 401" in debug[0].messages[-1].content
    added = [line for line in result.diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+    return scale(a) + 1"]  # one line changed; the comment above big is kept


async def test_differential_testing_tells_apart_fixes_the_tests_cannot(tmp_path: Path, docker_box: Sandbox) -> None:
    scenario = Scenario(
        rules=[
            Rule(match="Propose inputs", content="```input\n[7, 2]\n```\n```input\n[5, 0]\n```"),
            Rule(match="distinguishing input", content="```input\n[9, 0]\n```"),
            # The judge answers from the real results it is shown: the version returning 0 for b == 0.
            Rule(match=r"Result of A \(real execution\):\n```\n0\n```", content="A returns 0 as documented.\nA"),
            Rule(match=r"\(real execution\)", content="B returns 0 as documented.\nB"),
            Rule(match=FIX_PROMPT, content=[fenced(RAISING_RATIO), fenced(RIGHT_RATIO)]),
        ]
    )
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_ratio.py",))
    assert [t.name for t in found.setup.targets] == ["pkg.calc:ratio"]
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0))
        judged = [r for r in server.chat_requests if "(real execution)" in r.messages[-1].content]
    assert result.solution.survivors == 2
    assert result.solution.clusters == 2
    assert "if b else 0" in result.diff
    assert judged
    assert "raised ZeroDivisionError" in judged[0].messages[-1].content


def ratio_fixes_without_model_inputs() -> Scenario:
    """Two ratio fixes (one raises on b == 0, one returns 0), and a model that proposes no inputs."""
    return Scenario(
        rules=[
            Rule(match="Propose inputs", content="I have no inputs to offer."),
            Rule(match="distinguishing input", content="None come to mind."),
            Rule(match=r"Result of A \(real execution\):\n```\n0\n```", content="A"),
            Rule(match=r"\(real execution\)", content="B"),
            Rule(match=FIX_PROMPT, content=[fenced(RAISING_RATIO), fenced(RIGHT_RATIO)]),
        ]
    )


async def test_llm_free_inputs_tell_fixes_apart_when_the_model_gives_none(tmp_path: Path, docker_box: Sandbox) -> None:
    scenario = ratio_fixes_without_model_inputs()
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_ratio.py",))
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0))
        judged = [r for r in server.chat_requests if "(real execution)" in r.messages[-1].content]
    # ratio(6, 3) from the tests, moved to ratio(6, 0): one version raises, the other returns 0.
    assert result.solution.clusters == 2
    assert "Input:\n```\n[6, 0]\n```" in judged[0].messages[-1].content
    assert "if b else 0" in result.diff


@pytest.mark.parametrize("synth", ["hypothesis", "both"])
async def test_the_tests_own_calls_are_inputs_whatever_the_llm_free_mix(
    tmp_path: Path, docker_box: Sandbox, synth: str
) -> None:
    scenario = ratio_fixes_without_model_inputs()
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_ratio.py",))
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0, synth=synth))  # type: ignore[arg-type]
        asked = [r for r in server.chat_requests if "Propose inputs" in r.messages[-1].content]
    [note] = [e for e in result.trace.events if e.kind == "note" and e.phase == "synthesize"]
    assert note.data["origins"]["TestCallInputs"] >= 7  # ratio(6, 3), ratio(7, 2) and their edges
    assert note.data["origins"].get("hypothesis", 0) > 0, note.data
    assert bool(asked) == (synth == "both")
    assert "if b else 0" in result.diff


async def test_a_refused_candidate_is_told_why_and_the_next_round_fixes_it(tmp_path: Path, docker_box: Sandbox) -> None:
    changed_signature = "def big(a, b=1):\n    return scale(a) + b\n"
    other_function = RIGHT_BIG + "\n\ndef scale(x):\n    return x * 2\n"
    broken = "def big(a):\n    return scale(a +\n"
    scenario = Scenario(
        rules=[
            Rule(match="Your fix still fails", content=fenced(RIGHT_BIG)),
            Rule(match=FIX_PROMPT, content=[fenced(changed_signature), fenced(other_function), fenced(broken)]),
        ]
    )
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=3, rounds=1))
        last = [r.messages[-1].content for r in server.chat_requests]
    debug = [text for text in last if "Your fix still fails" in text]
    assert result.made_pass == (TOTAL_BIG,)
    assert not result.broken
    said = "\n".join(debug)
    assert "Your code was not used: big must keep its signature (big(a))" in said
    assert "Your code was not used: your code defines scale, which is not a function to fix" in said
    assert "Your code was not used: your code does not parse (line 2)" in said


async def test_a_fix_that_breaks_a_passing_test_is_filtered_out(tmp_path: Path, docker_box: Sandbox) -> None:
    scenario = Scenario(rules=[Rule(match=FIX_PROMPT, content=[fenced(CHEAT_BIG), fenced(RIGHT_BIG)])])
    repo = calc_repo(tmp_path)
    found = await examined(repo, docker_box, (TOTAL_BIG, "tests/test_big.py"), ("pkg.calc:big",))
    assert "tests/test_big.py::test_big_is_odd" in found.setup.regression
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0))
    assert result.solution.survivors == 1
    assert not result.broken
    assert "scale(a) + 1" in result.diff
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(CHEAT_BIG))])) as server:
        alone = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert alone.made_pass == (TOTAL_BIG,)
    assert alone.broken == ("tests/test_big.py::test_big_is_odd",)


async def test_the_whole_suite_is_the_default_regression_set(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path, label_bug=True)
    # (big named: test_big_is_odd passes on the bug, so the spectra alone cannot tell big from combine.)
    found = await examined(repo, docker_box, (TOTAL_BIG,), ("pkg.calc:big",))
    # test_label fails too, but it was not asked for: neither to fix nor to keep.
    assert found.setup.must_pass == (TOTAL_BIG,)
    assert "tests/test_big.py::test_big_is_odd" in found.setup.regression
    assert "tests/test_ratio.py::test_ratio" not in found.setup.regression  # it fails today
    assert not any("test_label" in t for t in found.setup.regression)
    assert found.kept.left_failing == 3  # test_ratio, test_ratio_down, test_label
    assert "tests/test_ratio.py" not in found.setup.check_files  # no test of it to keep: never run again
    # A fix that breaks another file's test is filtered out; the right one is picked.
    scenario = Scenario(rules=[Rule(match=FIX_PROMPT, content=[fenced(CHEAT_BIG), fenced(RIGHT_BIG)])])
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0))
    assert result.solution.survivors == 1
    assert (result.broken, result.unchecked) == ((), ())
    assert "scale(a) + 1" in result.diff
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(CHEAT_BIG))])) as server:
        alone = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert alone.made_pass == (TOTAL_BIG,)
    assert alone.broken == ("tests/test_big.py::test_big_is_odd",)  # another file's test, caught


async def test_keep_passing_narrows_the_regression_set(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(
        calc_repo(tmp_path), docker_box, (TOTAL_BIG,), ("pkg.calc:big",), keep=("tests/test_calc.py",)
    )
    assert sorted(found.setup.regression) == [
        f"tests/test_calc.py::test_{n}" for n in ("offset", "scale", "total_small")
    ]
    assert found.setup.check_files == ("tests/test_calc.py",)
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(CHEAT_BIG))])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert result.broken == ()  # test_big.py was left out on request: the cheat is not caught


async def test_an_unrelated_file_that_does_not_import_is_named_not_fatal(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path)
    (repo / "tests/test_plugin.py").write_text("import some_optional_dependency\n\n\ndef test_plugin():\n    pass\n")
    # Parameters holding the copy's absolute path (each run has its own work dir): ids stable all the same.
    (repo / "tests/test_where.py").write_text(WHERE)
    found = await examined(repo, docker_box, ("tests/test_calc.py",))
    assert "tests/test_where.py::test_where[<root>/tests]" in found.setup.regression
    assert found.kept.uncollected == (
        ("tests/test_plugin.py", "ModuleNotFoundError: No module named 'some_optional_dependency'"),
    )
    assert "tests/test_plugin.py" not in found.setup.check_files
    assert "1 that do not collect (tests/test_plugin.py: ModuleNotFoundError" in found.kept.summary()
    assert "tests/test_big.py::test_big_is_odd" in found.setup.regression
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(RIGHT_BIG))])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    # Candidate runs are strict about collection errors: the broken file was never collected again.
    assert result.made_pass == (TOTAL_BIG,)
    assert (result.broken, result.unchecked) == ((), ())
    assert len(result.kept_passing) == len(found.setup.regression) == 7


async def test_a_test_asked_for_that_does_not_collect_is_one_clear_error(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path)
    (repo / "tests/test_plugin.py").write_text("import some_optional_dependency\n\n\ndef test_plugin():\n    pass\n")
    with pytest.raises(RepositoryError, match=r"tests/test_plugin\.py does not collect \(ModuleNotFoundError"):
        await examined(repo, docker_box, ("tests/test_plugin.py::test_plugin",))


async def test_a_candidate_that_breaks_a_test_file_s_import_is_rejected(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path)
    (repo / "tests/test_table.py").write_text(
        "from pkg.calc import big\n\nLIMIT = big(50)  # at import time\n\n\ndef test_limit():\n    assert LIMIT == 99\n"
    )
    found = await examined(repo, docker_box, (TOTAL_BIG,), ("pkg.calc:big",))
    assert "tests/test_table.py::test_limit" in found.setup.regression
    task = FunctionFix(found.setup, docker_box)
    # Right on every value a test calls inside a test; raises on the one a test file computes on import.
    breaking = "def big(a):\n    if a == 50:\n        raise ValueError('not 50')\n    return scale(a) + 1\n"
    report = await task.run_public(breaking)
    assert not report.all_passed
    assert report.verdicts[0] != "AC"  # it passed the failing-tests run; the full check is not trusted
    assert "tests/test_table.py failed to collect (ValueError: not 50)" in report.feedback


async def test_failing_tests_first_and_each_spliced_source_once(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(calc_repo(tmp_path), docker_box, (TOTAL_BIG,), ("pkg.calc:big",))
    task = FunctionFix(found.setup, docker_box)
    wrong = await task.run_public(WRONG_BIG)
    assert wrong.verdicts[0] == "WA"
    assert set(wrong.verdicts[1:]) == {"NC"}  # the regression set waits for the failing tests to pass
    assert "assert 402 == 401" in wrong.feedback
    right = await task.run_public(RIGHT_BIG)
    assert right.all_passed
    assert right.total == 1 + len(found.setup.regression)
    # Another reply splicing to the same source is the same candidate: served, not run again.
    assert await task.run_public("# the fix\n" + RIGHT_BIG + "\n# done\n") == right
    assert len(task.judged) == 2


async def test_a_baseline_that_cannot_be_trusted_is_one_clear_error(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path)
    # A conftest that makes pytest exit 0 whatever its report says: the report and the status disagree.
    (repo / "tests/conftest.py").write_text("def pytest_sessionfinish(session):\n    session.exitstatus = 0\n")
    with pytest.raises(RepositoryError, match=r"cannot be trusted \(pytest exited 0 but its report shows failures\)"):
        await examined(repo, docker_box, ("tests/test_calc.py",))


async def test_a_fix_writing_outside_its_copy_or_reaching_the_network_gets_nothing(
    tmp_path: Path, docker_box: Sandbox
) -> None:
    repo = calc_repo(tmp_path / "repo")
    host_file = repo / "pkg" / "calc.py"
    hostile = (
        "def big(a):\n    import os, socket\n"
        f"    for path in [{str(host_file)!r}, {str(tmp_path / 'escape.txt')!r}, '../../escape.txt', '/etc/escape']:\n"
        "        try:\n            os.makedirs(os.path.dirname(path) or '.', exist_ok=True)\n"
        "            open(path, 'w').write('pwned')\n        except OSError:\n            pass\n"
        "    try:\n        socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    except OSError:\n        return scale(a) + 1\n    raise RuntimeError('network reached')\n"
    )
    before = tree_digest(tmp_path)
    found = await examined(repo, docker_box, ("tests/test_calc.py",))
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(hostile))])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert result.made_pass == (TOTAL_BIG,)  # so the connection failed: it would have raised
    assert tree_digest(tmp_path) == before
    assert not (tmp_path / "escape.txt").exists()


async def test_apply_writes_a_clean_fix_and_refuses_after_a_concurrent_edit(
    tmp_path: Path, docker_box: Sandbox
) -> None:
    repo = calc_repo(tmp_path)
    found = await examined(repo, docker_box, ("tests/test_calc.py",))
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(RIGHT_BIG))])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    original = (repo / "pkg/calc.py").read_text()
    (repo / "pkg/calc.py").write_text(original + "# edited while the fix ran\n")
    with pytest.raises(RepositoryError, match=r"refusing to apply: pkg/calc\.py changed since the run started"):
        apply_fix(result)
    assert (repo / "pkg/calc.py").read_text().endswith("# edited while the fix ran\n")
    (repo / "pkg/calc.py").write_text(original)
    assert apply_fix(result) == ["pkg/calc.py"]
    assert (repo / "pkg/calc.py").read_text() == original.replace("scale(a) - 1", "scale(a) + 1")


async def test_a_hanging_fix_fails_its_tests_alone(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    # Loops forever, swallowing every Exception: the per-test alarm is not one of them.
    hanging = "def big(a):\n    while True:\n        try:\n            pass\n        except Exception:\n"
    hanging += "            continue\n"
    task = FunctionFix(found.setup, docker_box)
    # Its run of every test at once (run_public would stop after the failing one).
    run = await task.pytest(found.setup.tree, found.setup.tests, task.files_for(hanging))
    report = report_of(run, found.setup.tests)
    verdicts = dict(zip(found.setup.tests, report.verdicts, strict=True))
    calls_big = {TOTAL_BIG, "tests/test_big.py::test_big_is_odd"}
    assert {t for t, v in verdicts.items() if v != "AC"} == calls_big  # the others still ran and passed
    assert "TestTimeout" in report.feedback
    assert (await task.run_public(hanging)).verdicts == ("WA", "NC", "NC", "NC", "NC", "NC")

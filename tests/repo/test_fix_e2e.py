"""``codesolve fix`` end to end: real Docker sandbox, scripted model over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.errors import RepositoryError
from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.fix import apply_fix
from codesolve.sstar import EngineConfig
from codesolve.tasks.fix import FunctionFix
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
FIX_PROMPT = "# Fix the failing tests"


async def test_check_finds_a_wrong_value_two_calls_below_the_test(tmp_path: Path, docker_box: Sandbox) -> None:
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_calc.py",))
    assert found.setup.must_pass == (TOTAL_BIG,)
    assert len(found.setup.regression) == 3
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


async def test_llm_free_inputs_tell_fixes_apart_when_the_model_gives_none(tmp_path: Path, docker_box: Sandbox) -> None:
    scenario = Scenario(
        rules=[
            Rule(match="Propose inputs", content="I have no inputs to offer."),
            Rule(match="distinguishing input", content="None come to mind."),
            Rule(match=r"Result of A \(real execution\):\n```\n0\n```", content="A"),
            Rule(match=r"\(real execution\)", content="B"),
            Rule(match=FIX_PROMPT, content=[fenced(RAISING_RATIO), fenced(RIGHT_RATIO)]),
        ]
    )
    found = await examined(calc_repo(tmp_path), docker_box, ("tests/test_ratio.py",))
    with ScriptedServer(scenario) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=2, rounds=0))
        judged = [r for r in server.chat_requests if "(real execution)" in r.messages[-1].content]
    # ratio(6, 3) from the tests, moved to ratio(6, 0): one version raises, the other returns 0.
    assert result.solution.clusters == 2
    assert "Input: `[6, 0]`" in judged[0].messages[-1].content
    assert "if b else 0" in result.diff


@pytest.mark.parametrize("synth", ["hypothesis", "both"])
async def test_the_tests_own_calls_are_inputs_whatever_the_llm_free_mix(
    tmp_path: Path, docker_box: Sandbox, synth: str
) -> None:
    scenario = Scenario(
        rules=[
            Rule(match="Propose inputs", content="I have no inputs to offer."),
            Rule(match="distinguishing input", content="None come to mind."),
            Rule(match=r"Result of A \(real execution\):\n```\n0\n```", content="A"),
            Rule(match=r"\(real execution\)", content="B"),
            Rule(match=FIX_PROMPT, content=[fenced(RAISING_RATIO), fenced(RIGHT_RATIO)]),
        ]
    )
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


async def test_keep_passing_widens_the_regression_set_to_the_whole_suite(tmp_path: Path, docker_box: Sandbox) -> None:
    repo = calc_repo(tmp_path, label_bug=True)
    # (big named: test_big_is_odd passes on the bug, so the spectra alone cannot tell big from combine.)
    found = await examined(repo, docker_box, (TOTAL_BIG,), ("pkg.calc:big",), keep=(".",))
    # test_label fails too, but it was not asked for: neither to fix nor to keep.
    assert found.setup.must_pass == (TOTAL_BIG,)
    assert "tests/test_big.py::test_big_is_odd" in found.setup.regression
    assert "tests/test_ratio.py::test_ratio" not in found.setup.regression  # it fails today
    assert not any("test_label" in t for t in found.setup.regression)
    with ScriptedServer(Scenario(rules=[Rule(match=FIX_PROMPT, content=fenced(CHEAT_BIG))])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert result.broken == ("tests/test_big.py::test_big_is_odd",)  # another file's test, caught


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
    report = await FunctionFix(found.setup, docker_box).run_public(hanging)
    assert report.verdicts == ("WA", "AC", "AC", "AC")
    assert "TestTimeout" in report.feedback

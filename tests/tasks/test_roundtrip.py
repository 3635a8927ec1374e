"""Property: dumping problems in codesolve's own format and loading them back is the identity."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesolve.tasks import (
    CheckerConfig,
    CompetitiveProblem,
    FunctionFixTask,
    Problem,
    ReferenceSolution,
    SweInstance,
    TestSpec,
    dump_problems,
    load_problems,
)
from sandbox import CheckerKind

KINDS: list[CheckerKind] = ["tokens", "exact", "float", "unordered", "value", "program"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(max_size=30)
line = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
name = st.text("abcdefghijklmnopqrstuvwxyz0123456789/_-", min_size=1, max_size=12)
finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
literal_list = st.lists(st.integers() | text, max_size=3).map(repr)


@st.composite
def checkers(draw: st.DrawFn) -> CheckerConfig:
    kind = draw(st.sampled_from(KINDS))
    has_program = kind == "program" and draw(st.booleans())
    return CheckerConfig(
        kind=kind,
        abs_tol=draw(finite),
        rel_tol=draw(finite),
        program=draw(text) if has_program else None,
        language=draw(st.sampled_from(["python", "cpp"])) if has_program else None,
        protocol=draw(st.sampled_from(["testlib", "kattis"])),
        origin=draw(line),
    )


@st.composite
def spec_lists(draw: st.DrawFn, call: bool, prefix: str) -> list[TestSpec]:
    names = draw(st.lists(name, max_size=4, unique=True))
    specs = []
    for test_name in names:
        expected = draw(st.none() | text)
        group = draw(line)
        if call:
            specs.append(
                TestSpec(name=f"{prefix}{test_name}", call_args=draw(literal_list), expected=expected, group=group)
            )
        else:
            specs.append(TestSpec(name=f"{prefix}{test_name}", stdin=draw(text), expected=expected, group=group))
    return specs


@st.composite
def competitive(draw: st.DrawFn) -> CompetitiveProblem:
    call = draw(st.booleans())
    public = draw(spec_lists(call, "p/"))
    hidden = draw(spec_lists(call, "h/"))
    check_code = draw(text)
    if check_code and draw(st.booleans()):
        hidden.append(TestSpec(name="check", kind="check", group="check"))
    if not public and not hidden:
        hidden = [TestSpec(name="only", call_args="[]" if call else None)]
    solutions = draw(
        st.lists(
            st.builds(
                ReferenceSolution,
                language=st.sampled_from(["python", "cpp", "java"]),
                code=text,
                label=st.sampled_from(["correct", "incorrect", "buggy", "reference"]),
                origin=line,
            ),
            max_size=2,
        )
    )
    return CompetitiveProblem(
        id=draw(name),
        title=draw(line),
        statement=draw(text),
        input_mode="call" if call else "stdin",
        function_name=draw(st.sampled_from(["f", "Solution.f"])) if call else None,
        signature=draw(st.none() | line),
        starter_code=draw(text),
        prelude=draw(text),
        check_code=check_code,
        public_tests=public,
        hidden_tests=hidden,
        time_limit_s=draw(positive),
        memory_mb=draw(st.integers(1, 1 << 16)),
        checker=draw(checkers()),
        source=draw(line),
        licence=draw(line),
        difficulty=draw(line),
        solutions=solutions,
        dropped_tests=draw(st.integers(0, 100)),
        unparsed_examples=draw(st.integers(0, 100)),
    )


# Paths a record names stay inside the problem file's directory (see test_hostile_inputs for the refusals).
inside = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
relative_path = st.lists(inside, min_size=1, max_size=3).map("/".join)
function_fix = st.builds(
    FunctionFixTask,
    id=name,
    repo_path=relative_path,
    failing_tests=st.lists(line, min_size=1, max_size=3),
    passing_tests=st.lists(line, max_size=3),
    target_functions=st.lists(line, max_size=2),
    description=text,
    test_command=st.lists(line, min_size=1, max_size=3),
    environment_image=st.none() | line,
    time_limit_s=positive,
    memory_mb=st.integers(1, 1 << 16),
    source=line,
    licence=line,
)
swe = st.builds(
    SweInstance,
    instance_id=name,
    repo=name,
    base_commit=name,
    problem_statement=text,
    FAIL_TO_PASS=st.lists(line, min_size=1, max_size=3),
    PASS_TO_PASS=st.lists(line, max_size=3),
    test_patch=text,
    patch=text,
    version=line,
    environment_setup_commit=line,
    hints_text=text,
    created_at=line,
    repo_source=st.just("") | relative_path | inside.map(lambda r: f"https://example.org/{r}.git"),
    environment_image=st.none() | line,
)
problems = st.lists(competitive() | function_fix | swe, min_size=1, max_size=3, unique_by=lambda p: p.id)


def round_trip(tmp_path: Path, suffix: str, items: list[Problem]) -> list[Problem]:
    path = tmp_path / f"problems{suffix}"
    dump_problems(items, path)
    return load_problems(path)


@SETTINGS
@given(items=problems)
def test_jsonl_round_trip(tmp_path: Path, items: list[Problem]) -> None:
    assert round_trip(tmp_path, ".jsonl", items) == items


@SETTINGS
@given(items=problems)
def test_yaml_round_trip(tmp_path: Path, items: list[Problem]) -> None:
    assert round_trip(tmp_path, ".yaml", items) == items


@SETTINGS
@given(items=problems)
def test_gzipped_round_trip(tmp_path: Path, items: list[Problem]) -> None:
    assert round_trip(tmp_path, ".jsonl.gz", items) == items


@SETTINGS
@given(item=competitive())
def test_json_single_object(tmp_path: Path, item: CompetitiveProblem) -> None:
    # A .json file may hold one problem object instead of a list.
    path = tmp_path / "one.json"
    path.write_text(item.model_dump_json())
    assert load_problems(path, format="codesolve") == [item]

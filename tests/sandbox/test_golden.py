"""Golden verdicts: every program of ``corpus/golden.yaml`` on BOTH backends, real engine, no mocks.

The whole corpus runs once per backend, concurrently (the Docker pool and the
local backend's slots bound how many batches run at once), in a session
fixture; each case is then one test that checks its outcomes. A case whose
verdict is wrong because of a known sandbox bug is marked
``xfail(strict=True, reason="BUG: ...")`` in the manifest, so the suite stays
green until the bug is fixed and then tells us to drop the mark.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
import yaml

from sandbox import CheckerSpec, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = CORPUS / "golden.yaml"
Backend = Literal["docker", "local"]
BACKENDS: tuple[Backend, ...] = ("docker", "local")
LANGUAGE_OF_SUFFIX = {".py": "python", ".cpp": "cpp"}


@dataclass(frozen=True)
class Expect:
    """Assertions beyond the verdict, applied to every outcome of a case (``None``: not checked)."""

    message_contains: str | None = None
    stdout_contains: str | None = None
    stdout_lacks: str | None = None
    stderr_contains: str | None = None
    stdout_truncated: bool | None = None
    stderr_truncated: bool | None = None
    min_stdout_size: int | None = None
    min_stderr_size: int | None = None
    min_memory_mb: float | None = None
    max_memory_mb: float | None = None
    min_cpu: float | None = None
    max_cpu: float | None = None
    min_wall: float | None = None
    exit_code: int | None = None
    signal: int | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str) -> Expect:
        """Build from a manifest mapping; unknown keys are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{where}: unknown expect keys {sorted(unknown)}")
        return cls(**dict(raw))

    def merged(self, other: Expect) -> Expect:
        """``self`` with every field that ``other`` sets replaced."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None})
        return Expect(**values)

    def problems(self, outcome: TestOutcome) -> list[str]:
        """Every assertion this outcome fails, described."""
        out: list[str] = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                out.append(text)

        if self.message_contains is not None:
            need(self.message_contains in outcome.message, f"message lacks {self.message_contains!r}")
        if self.stdout_contains is not None:
            need(self.stdout_contains in outcome.stdout.text, f"stdout lacks {self.stdout_contains!r}")
        if self.stdout_lacks is not None:
            need(self.stdout_lacks not in outcome.stdout.text, f"stdout holds {self.stdout_lacks!r}")
        if self.stderr_contains is not None:
            need(self.stderr_contains in outcome.stderr.text, f"stderr lacks {self.stderr_contains!r}")
        if self.stdout_truncated is not None:
            need(outcome.stdout.truncated == self.stdout_truncated, f"stdout.truncated != {self.stdout_truncated}")
        if self.stderr_truncated is not None:
            need(outcome.stderr.truncated == self.stderr_truncated, f"stderr.truncated != {self.stderr_truncated}")
        if self.min_stdout_size is not None:
            need(outcome.stdout.size >= self.min_stdout_size, f"stdout.size < {self.min_stdout_size}")
        if self.min_stderr_size is not None:
            need(outcome.stderr.size >= self.min_stderr_size, f"stderr.size < {self.min_stderr_size}")
        if self.min_memory_mb is not None:
            need(outcome.memory_kb >= self.min_memory_mb * 1024, f"memory_kb < {self.min_memory_mb} MB")
        if self.max_memory_mb is not None:
            need(outcome.memory_kb <= self.max_memory_mb * 1024, f"memory_kb > {self.max_memory_mb} MB")
        if self.min_cpu is not None:
            need(outcome.cpu_seconds >= self.min_cpu, f"cpu_seconds < {self.min_cpu}")
        if self.max_cpu is not None:
            need(outcome.cpu_seconds <= self.max_cpu, f"cpu_seconds > {self.max_cpu}")
        if self.min_wall is not None:
            need(outcome.wall_seconds >= self.min_wall, f"wall_seconds < {self.min_wall}")
        if self.exit_code is not None:
            need(outcome.exit_code == self.exit_code, f"exit_code != {self.exit_code}")
        if self.signal is not None:
            need(outcome.signal == self.signal, f"signal != {self.signal}")
        return out


@dataclass(frozen=True)
class GoldenTest:
    """One test of a case and the verdict it must get."""

    case: TestCase
    verdict: Verdict


@dataclass(frozen=True)
class GoldenCase:
    """One program of the corpus with its tests, limits, checker and expectations."""

    name: str
    file: str
    program: Program
    tests: tuple[GoldenTest, ...]
    limits: Limits
    checker: CheckerSpec | None
    expect: Mapping[Backend, Expect]
    xfail: Mapping[Backend, str]

    @property
    def language(self) -> str:
        """The program's language name."""
        return self.program.language

    @property
    def verdicts(self) -> set[Verdict]:
        """Every verdict this case's tests must get."""
        return {t.verdict for t in self.tests}


def _str(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string, got {value!r}")
    return value


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {raw!r}")
    return raw


def _program(file: str, function: str | None = None) -> Program:
    path = CORPUS / file
    return Program.single(LANGUAGE_OF_SUFFIX[path.suffix], path.read_text(encoding="utf-8"), function=function)


def _checker(raw: Mapping[str, Any], where: str) -> CheckerSpec | None:
    if not raw:
        return None
    kind = _str(raw, "kind", where)
    program = _program(f"checkers/{raw['program']}") if "program" in raw else None
    return CheckerSpec(
        kind=kind,  # type: ignore[arg-type]  # validated by CheckerSpec itself
        abs_tol=float(raw.get("abs_tol", 0.0)),
        rel_tol=float(raw.get("rel_tol", 0.0)),
        program=program,
        protocol=raw.get("protocol", "testlib"),
    )


def _tests(raw: Sequence[Any], verdict: str | None, where: str) -> tuple[GoldenTest, ...]:
    out: list[GoldenTest] = []
    for index, item in enumerate(raw):
        spec = _mapping(item, f"{where} test {index}")
        expected: str | None = spec.get("expected")
        if "expected_file" in spec:
            expected = (CORPUS / _str(spec, "expected_file", where)).read_text(encoding="utf-8")
        wanted = spec.get("verdict", verdict)
        if wanted is None:
            raise ValueError(f"{where} test {index}: no verdict for this test or its case")
        stdin = str(spec.get("stdin", ""))
        check = spec.get("check")
        case = TestCase(stdin=stdin, expected=expected, name=f"t{index}", call_args=spec.get("call"), check=check)
        out.append(GoldenTest(case=case, verdict=Verdict(wanted)))
    return tuple(out)


def load_corpus(path: Path = MANIFEST) -> list[GoldenCase]:
    """Parse the manifest into cases (strictly: a typo in it fails loudly)."""
    doc = _mapping(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    default_limits = dict(_mapping(_mapping(doc.get("defaults"), "defaults").get("limits"), "defaults.limits"))
    cases: list[GoldenCase] = []
    for raw in doc["cases"]:
        entry = _mapping(raw, "case")
        file = _str(entry, "file", "case")
        name = _str(entry, "name", file, default=Path(file).stem)
        where = f"{path.name}:{name}"
        base = Expect.parse(_mapping(entry.get("expect"), where), where)
        expect: dict[Backend, Expect] = {
            b: base.merged(Expect.parse(_mapping(entry.get(f"expect_{b}"), where), where)) for b in BACKENDS
        }
        xfail: dict[Backend, str] = {}
        for b in BACKENDS:
            reason = entry.get(f"xfail_{b}", entry.get("xfail"))
            if reason is not None:
                if not str(reason).startswith("BUG: "):
                    raise ValueError(f"{where}: an xfail reason must start with 'BUG: '")
                xfail[b] = str(reason)
        verdict = entry.get("verdict")
        cases.append(
            GoldenCase(
                name=name,
                file=file,
                program=_program(file, entry.get("function")),
                tests=_tests(entry["tests"], verdict, where),
                limits=Limits(**{**default_limits, **_mapping(entry.get("limits"), where)}),
                checker=_checker(_mapping(entry.get("checker"), where), where),
                expect=expect,
                xfail=xfail,
            )
        )
    return cases


CASES = load_corpus()


@dataclass(frozen=True)
class CorpusRun:
    """The outcomes of the whole corpus on one backend, and how long it took."""

    outcomes: Mapping[str, list[TestOutcome]]
    seconds: float


async def run_corpus(box: Sandbox, cases: Sequence[GoldenCase]) -> CorpusRun:
    """Run every case as its own batch, all at once; the backend bounds the concurrency."""
    results: dict[str, list[TestOutcome]] = {}

    async def one(case: GoldenCase) -> None:
        tests = [t.case for t in case.tests]
        results[case.name] = await box.run_tests(case.program, tests, case.limits, case.checker)

    start = time.monotonic()
    async with anyio.create_task_group() as tg:
        # Slow cases (time and memory limits) first, so they overlap with the quick ones.
        for case in sorted(cases, key=lambda c: not c.verdicts & {Verdict.TLE, Verdict.MLE, Verdict.OLE}):
            tg.start_soon(one, case)
    return CorpusRun(outcomes=results, seconds=time.monotonic() - start)


@pytest.fixture(scope="session")
async def golden_docker(docker_box: Sandbox) -> CorpusRun:
    """The corpus on the Docker backend (run once per session)."""
    return await run_corpus(docker_box, CASES)


@pytest.fixture(scope="session")
async def golden_local(local_box: Sandbox) -> CorpusRun:
    """The corpus on the local backend (run once per session)."""
    return await run_corpus(local_box, CASES)


def describe(outcome: TestOutcome) -> str:
    """One outcome, compactly, for assertion messages."""
    return (
        f"{outcome.name}: {outcome.verdict} {outcome.message!r} exit={outcome.exit_code} sig={outcome.signal} "
        f"cpu={outcome.cpu_seconds} wall={outcome.wall_seconds} mem={outcome.memory_kb}kB "
        f"stdout={outcome.stdout.text[:120]!r} stderr={outcome.stderr.text[-200:]!r}"
    )


def check_case(case: GoldenCase, backend: Backend, outcomes: Sequence[TestOutcome]) -> None:
    """Assert the verdict of every test and the case's extra expectations."""
    assert [o.name for o in outcomes] == [t.case.name for t in case.tests], [describe(o) for o in outcomes]
    got = [o.verdict for o in outcomes]
    want = [t.verdict for t in case.tests]
    assert got == want, f"{case.name} on {backend}: verdicts {got} != {want}\n" + "\n".join(map(describe, outcomes))
    for outcome in outcomes:
        problems = case.expect[backend].problems(outcome)
        assert not problems, f"{case.name} on {backend}: {problems}\n{describe(outcome)}"
        if outcome.verdict is Verdict.AC:
            assert outcome.exit_code == 0
            assert outcome.cpu_seconds <= case.limits.cpu_seconds
            assert outcome.memory_kb <= case.limits.memory_mb * 1024
        if outcome.verdict is Verdict.TLE:
            # Near a limit: the CPU one (rusage can trail RLIMIT_CPU's own clock a little) or the wall one.
            near_cpu = outcome.cpu_seconds >= 0.8 * case.limits.cpu_seconds or outcome.signal == signal.SIGXCPU
            assert near_cpu or outcome.wall_seconds >= 0.95 * case.limits.wall, describe(outcome)
        if outcome.verdict is Verdict.OLE:
            largest = max(outcome.stdout.size, outcome.stderr.size)
            assert largest > case.limits.output_bytes, describe(outcome)


def _params(backend: Backend) -> list[Any]:
    out: list[Any] = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail[backend])] if backend in case.xfail else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.mark.docker
@pytest.mark.parametrize("case", _params("docker"))
def test_golden_docker(case: GoldenCase, golden_docker: CorpusRun) -> None:
    check_case(case, "docker", golden_docker.outcomes[case.name])


@pytest.mark.parametrize("case", _params("local"))
def test_golden_local(case: GoldenCase, golden_local: CorpusRun) -> None:
    check_case(case, "local", golden_local.outcomes[case.name])


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_covers_every_verdict_in_both_languages() -> None:
    by_language: dict[str, set[Verdict]] = {}
    for case in CASES:
        by_language.setdefault(case.language, set()).update(case.verdicts)
    every = set(Verdict) - {Verdict.SE}
    for language in ("python", "cpp"):
        assert every <= by_language[language], f"{language} lacks {every - by_language[language]}"
    assert Verdict.SE in set().union(*by_language.values())


def test_corpus_is_big_and_every_file_is_used() -> None:
    programs = {p.name for p in CORPUS.iterdir() if p.suffix in LANGUAGE_OF_SUFFIX}
    used = {case.file for case in CASES}
    assert programs == used, f"unused: {programs - used}, missing: {used - programs}"
    checker_files = {p.name for p in (CORPUS / "checkers").iterdir()}
    raw = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["cases"]
    used_checkers = {c["checker"]["program"] for c in raw if "program" in c.get("checker", {})}
    assert checker_files == used_checkers, f"unused checkers: {checker_files - used_checkers}"
    assert len(programs) >= 60
    assert len({case.name for case in CASES}) == len(CASES), "case names must be unique"
    kinds = {case.checker.kind if case.checker else "tokens" for case in CASES}
    assert kinds >= {"tokens", "exact", "float", "unordered", "value", "program"}

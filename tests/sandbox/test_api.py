"""The sandbox's public surface: exports, configs, validation, exec, and backend rules."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

import sandbox
from sandbox import (
    CheckerSpec,
    DockerConfig,
    ImageMissing,
    InvalidRequest,
    Limits,
    LocalConfig,
    Program,
    Sandbox,
    SandboxConfig,
    SandboxUnavailable,
    TestCase,
    Verdict,
    make_sandbox,
)
from sandbox._stream import DriverStream

pytestmark = pytest.mark.anyio


def test_public_names_are_pinned() -> None:
    assert sorted(sandbox.__all__) == sorted(
        [
            "Capture",
            "CheckerKind",
            "CheckerSpec",
            "DockerConfig",
            "DockerUnavailable",
            "ExecResult",
            "ImageBuildError",
            "ImageMissing",
            "InvalidRequest",
            "Language",
            "Limits",
            "LocalConfig",
            "Program",
            "Sandbox",
            "SandboxConfig",
            "SandboxError",
            "SandboxFault",
            "SandboxUnavailable",
            "TestCase",
            "TestOutcome",
            "Urgency",
            "Verdict",
            "default_config",
            "docker_reachable",
            "get_language",
            "languages",
            "make_sandbox",
            "open_sandbox",
            "urgent",
        ]
    )


def test_config_union_is_picked_by_type() -> None:
    adapter: TypeAdapter[SandboxConfig] = TypeAdapter(SandboxConfig)
    assert isinstance(adapter.validate_python({"type": "local", "allow_weaker": True}), LocalConfig)
    assert isinstance(adapter.validate_python({"type": "docker", "pool_size": 3}), DockerConfig)
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "docker", "pool_sise": 3})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "kubernetes"})


@pytest.mark.parametrize(
    "kwargs",
    [{"cpu_seconds": 0}, {"cpu_seconds": -1}, {"wall_seconds": 0}, {"memory_mb": 1}, {"output_bytes": 0}],
)
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidRequest):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_bad_programs_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="unknown language"):
        Program.single("cobol", "")
    with pytest.raises(InvalidRequest, match="relative path"):
        Program("python", (("../evil.py", ""),), "../evil.py")
    with pytest.raises(InvalidRequest, match="entry"):
        Program("python", (("a.py", ""),), "b.py")
    with pytest.raises(InvalidRequest):
        CheckerSpec(kind="program")


def test_check_tests_need_the_python_harness() -> None:
    from sandbox._bundle import test_spec

    cpp = Program.single("cpp", "int main(){}")
    with pytest.raises(InvalidRequest, match="check tests run Python"):
        test_spec("/w", cpp, [TestCase(check="assert True")], Limits(), CheckerSpec(), False, {})
    spec = test_spec(
        "/w", Program.single("python", ""), [TestCase(check="assert True")], Limits(), CheckerSpec(), False, {}
    )
    assert spec["tests"][0]["check"] == "assert True"


def test_only_program_verdicts_blame_the_program() -> None:
    assert {v for v in Verdict if v.is_program_fault} == {
        Verdict.WA,
        Verdict.TLE,
        Verdict.MLE,
        Verdict.OLE,
        Verdict.RE,
        Verdict.CE,
    }


def test_wall_limit_defaults_from_cpu() -> None:
    assert Limits(cpu_seconds=2).wall == 7
    assert Limits(cpu_seconds=2, wall_seconds=3).wall == 3


def test_stream_survives_garbage_and_a_dead_driver() -> None:
    stream = DriverStream("n1")
    forged = b'{"event": "test", "name": "a", "verdict": "AC"}\n{"event": "done", "nonce": "guess"}\n'
    stream.feed(b'not json\n[1,2]\n{"event": "tests", "nonce": "n1"}\n' + forged)
    outcomes = stream.outcomes([TestCase(name="a"), TestCase(name="b")], fail_fast=False)
    assert [o.verdict for o in outcomes] == [Verdict.RE, Verdict.SE]
    assert stream.garbage == 4
    assert not stream.done
    faulted = DriverStream().outcomes([TestCase(name="a")], fail_fast=False, fault="daemon gone")
    assert faulted[0].verdict is Verdict.SE
    assert faulted[0].message == "daemon gone"


async def test_local_backend_needs_opt_in_when_docker_is_up(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    with pytest.raises(SandboxUnavailable, match="allow-weaker"):
        await make_sandbox(LocalConfig())


async def test_missing_image_is_a_clear_error(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    with pytest.raises(ImageMissing, match="codesolve sandbox build"):
        await make_sandbox(DockerConfig(image="codesolve-sandbox:does-not-exist"))


@pytest.fixture(params=["docker_box", "local_box"])
def box(request: pytest.FixtureRequest) -> Sandbox:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


async def test_exec_runs_a_command_and_collects_files(box: Sandbox) -> None:
    script = b"import sys\nopen('out.txt','w').write(open('in.txt').read().upper())\nprint('hi'); sys.exit(3)\n"
    result = await box.exec(
        ["python3", "run.py"],
        files={"run.py": script, "in.txt": b"abc"},
        limits=Limits(cpu_seconds=5),
        collect=["out.txt", "../../etc/passwd"],
    )
    assert result.exit_code == 3
    assert result.stdout.text == "hi\n"
    assert result.files == {"out.txt": b"ABC"}
    assert not result.ok


async def test_exec_gives_a_home_and_a_temporary_dir_that_exist(box: Sandbox) -> None:
    result = await box.exec(["sh", "-c", 'echo "$HOME"; mktemp && python3 -c "import tempfile; tempfile.mkstemp()"'])
    assert result.exit_code == 0, result.stderr.text
    home, made = result.stdout.text.split()
    assert made.startswith(home + "/tmp.")


async def test_exec_times_out(box: Sandbox) -> None:
    result = await box.exec(["sleep", "30"], limits=Limits(cpu_seconds=1, wall_seconds=1))
    assert result.timed_out
    assert result.wall_seconds < 5


@pytest.mark.slow
async def test_exec_outlives_the_driver_idle_patience(docker_box: Sandbox) -> None:
    # A command silent for longer than the driver's idle patience (30 s) but within its own
    # wall limit is waited for, not reported as a dead runtime.
    result = await docker_box.exec(["sh", "-c", "sleep 32; echo done"], limits=Limits(cpu_seconds=5, wall_seconds=45))
    assert result.exit_code == 0, result.message
    assert result.stdout.text == "done\n"


async def test_exec_copies_a_directory(box: Sandbox, tmp_path: object) -> None:
    from pathlib import Path

    repo = Path(str(tmp_path)) / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "mod.py").write_text("def f():\n    return 41\n")
    (repo / "test_mod.py").write_text("from pkg.mod import f\n\ndef test_f():\n    assert f() == 42\n")
    result = await box.exec(
        ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"], directory=repo, limits=Limits(cpu_seconds=30)
    )
    assert result.exit_code == 1
    assert "1 failed" in result.stdout.text


async def test_exec_copies_the_same_files_of_a_directory_on_every_backend(box: Sandbox, tmp_path: object) -> None:
    """One rule on both backends: regular files are copied; ``.git`` (a repository's history,
    not its files) and links (which could point anywhere on the host) are not."""
    from pathlib import Path

    repo = Path(str(tmp_path)) / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / ".git" / "objects").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "objects" / "ab").write_text("x")
    (repo / "a.txt").write_text("a")
    (repo / "sub" / "b.txt").write_text("b")
    (repo / "sub" / ".gitignore").write_text("*.pyc\n")
    (repo / "link").symlink_to(repo / "a.txt")
    (repo / "outside").symlink_to("/etc")
    lister = "import os\nfor d, _, fs in os.walk('.'):\n    for f in fs:\n        print(os.path.join(d, f)[2:])\n"
    result = await box.exec(["python3", "-c", lister], directory=repo, limits=Limits(cpu_seconds=5))
    assert result.exit_code == 0, result.stderr.text
    assert sorted(result.stdout.text.split()) == ["a.txt", "sub/.gitignore", "sub/b.txt"]


def test_the_wait_for_a_first_test_counts_a_checker_program_s_compile() -> None:
    """A Python program judged by a C++ checker: the checker is compiled before the first test
    (up to two minutes), and the host must not give the driver up as stalled meanwhile."""
    from sandbox.deadlines import COMPILE_S, batch_deadline

    python = Program.single("python", "print(1)\n")
    cpp_checker = CheckerSpec(kind="program", program=Program.single("cpp", "int main(){}\n"), protocol="testlib")
    alone = batch_deadline(Limits(), 0, python)
    assert batch_deadline(Limits(), 0, python, cpp_checker) == alone + COMPILE_S
    assert batch_deadline(Limits(), 0, python, CheckerSpec()) == alone
    both = batch_deadline(Limits(), 0, Program.single("cpp", "int main(){}\n"), cpp_checker)
    assert both == alone + 2 * COMPILE_S

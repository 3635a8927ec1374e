"""Sandbox image variants (another Python) without Docker: tags, sources, wheels, the stdlib list."""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

import pytest

from codesolve.cli import main
from codesolve.errors import UsageError
from codesolve.runs.swe_env import environment_for
from codesolve.tasks.swe.specs import EnvSpec, load_specs
from sandbox.environments import EnvironmentBuildError, environment_tag, pip_command, platforms, site_packages
from sandbox.errors import ImageBuildError, PythonUnavailable
from sandbox.image.build import AptSource, check_python, source_for
from sandbox.image.recipe import DEFAULT_PYTHON, available_pythons, image_tag
from sandbox.runtime.forkserver import _listed_stdlib

HOST = AptSource("http://mirror.invalid/debian", "bookworm")


def test_the_default_image_keeps_its_tag_and_each_variant_has_its_own() -> None:
    assert image_tag() == image_tag(DEFAULT_PYTHON) == image_tag(None)
    tags = {image_tag(v) for v in available_pythons()}
    assert len(tags) == len(available_pythons())
    assert all(t.startswith("codesolve-sandbox:") for t in tags)


def test_a_python_no_image_offers_is_refused_naming_those_that_exist() -> None:
    with pytest.raises(PythonUnavailable, match=r"no sandbox image offers Python 3\.7 \(available: 3\.9, 3\.11\)"):
        image_tag("3.7")


def test_a_variant_is_bootstrapped_from_the_hosts_mirror_with_its_own_suite() -> None:
    assert source_for(None, HOST) == HOST
    assert source_for("3.11", HOST) == HOST
    assert source_for("3.9", HOST) == AptSource(HOST.mirror, "bullseye")


@pytest.mark.parametrize(("link", "ok"), [("python3.9", True), ("python3.11", False), ("/usr/bin/python3.9", True)])
def test_the_bootstrapped_python_must_be_the_one_asked_for(tmp_path: Path, link: str, ok: bool) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin" / Path(link).name).write_bytes(b"")
    os.symlink(link, tmp_path / "usr/bin/python3")
    if ok:
        check_python(tmp_path, "3.9")
    else:
        with pytest.raises(ImageBuildError, match=r"python3\.11, not python3\.9"):
            check_python(tmp_path, "3.9")


def test_wheels_are_resolved_for_the_variants_python_abi_and_glibc(tmp_path: Path) -> None:
    command = pip_command(tmp_path, ["requirements.txt"], "3.9")
    assert command[command.index("--python-version") + 1] == "3.9"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    # bullseye has glibc 2.31: a manylinux_2_34 wheel would not load there.
    assert "manylinux_2_34_x86_64" in platforms()
    assert "manylinux_2_34_x86_64" not in platforms("3.9")
    assert "manylinux_2_34_x86_64" not in command
    assert "manylinux_2_28_x86_64" in command
    assert site_packages("3.9") == "usr/local/lib/python3.9/dist-packages"
    requirements = {"requirements.txt": b"mpmath==1.3.0\n"}
    assert environment_tag("sha256:x", requirements, "3.9") != environment_tag("sha256:x", requirements)


def test_the_stdlib_list_of_older_pythons_matches_the_interpreters_own() -> None:
    listed = _listed_stdlib()
    lib = sysconfig.get_paths()["stdlib"]
    for name in sorted(sys.stdlib_module_names):
        spec = importlib.util.find_spec(name) if name not in sys.builtin_module_names else None
        if name in sys.builtin_module_names or (spec is not None and (spec.origin or "").startswith(lib)):
            assert name in listed, name
    assert "pytest" not in listed
    assert "sitecustomize" not in listed


def test_a_spec_names_its_python_as_a_version() -> None:
    assert load_specs('default: {python: "3.9"}\n', "x.yaml").default.python == "3.9"
    with pytest.raises(UsageError, match=r"x\.yaml: not a build spec"):
        load_specs('default: {python: "python3.9"}\n', "x.yaml")


@pytest.mark.anyio
async def test_a_spec_asking_for_an_unavailable_python_is_an_environment_build_error(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError, match=r"no sandbox image offers Python 3\.7"):
        await environment_for(EnvSpec(python="3.7"), tmp_path)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--python", "3.7"], "no sandbox image offers Python 3.7 (available: 3.9, 3.11)"),
        (["--python", "3.9", "--from-registry"], "--from-registry builds the Python 3.11 image only"),
    ],
)
def test_sandbox_build_refuses_what_it_cannot_build_in_one_line(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "build", *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("codesolve: error: ")
    assert says in lines[0]

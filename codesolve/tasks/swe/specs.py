"""Environment build specs: small YAML data per repository and version.

A file ``<owner>__<name>.yaml`` holds ``default`` (every version) and
``versions`` (one entry per version, replacing the default whole). A repository
without a file gets the pure-Python default: its own requirement files plus
pytest, the checkout imported from its tree (``src`` when it has one).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codesolve.errors import UsageError


class EnvSpec(BaseModel):
    """How to build and test one (repository, version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    python: str = Field(default="3.11", pattern=r"^3\.[0-9]{1,2}$")
    """The Python the instance needs (``3.N``): its environment sits on the sandbox image offering it."""
    requirements: list[str] = Field(default_factory=list)
    """pip requirement lines, installed from wheels; empty means the repository's requirement files."""
    paths: list[str] | None = None
    """Repository folders put on ``sys.path``; None means ``src`` when the tree has one."""
    test_names: Literal["nodeid", "function"] = "nodeid"
    """How FAIL_TO_PASS / PASS_TO_PASS name tests: pytest node ids, or bare function names."""
    test_timeout_s: float = Field(default=120.0, gt=0)
    """Per-test alarm."""


class RepoSpecs(BaseModel):
    """One repository's file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: EnvSpec = Field(default_factory=EnvSpec)
    versions: dict[str, EnvSpec] = Field(default_factory=dict)


PURE_PYTHON = EnvSpec()


def spec_file_name(repo: str) -> str:
    """``owner/name`` → ``owner__name.yaml``."""
    return repo.replace("/", "__") + ".yaml"


def load_specs(text: str, where: str) -> RepoSpecs:
    """Parse one spec file (UsageError naming ``where`` when malformed)."""
    try:
        return RepoSpecs.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()
        raise UsageError(f"{where}: not a build spec: {' '.join(first[:3])}") from None


def find_spec(repo: str, version: str, extra_dir: Path | None = None) -> EnvSpec:
    """The spec of ``repo`` at ``version``: ``extra_dir`` first, then the bundled files, then the default."""
    name = spec_file_name(repo)
    if extra_dir is not None and (extra_dir / name).is_file():
        specs = load_specs((extra_dir / name).read_text(), str(extra_dir / name))
    else:
        bundled = resources.files("codesolve.tasks.swe").joinpath("specs", name)
        if not bundled.is_file():
            return PURE_PYTHON
        specs = load_specs(bundled.read_text(), name)
    return specs.versions.get(version, specs.default)


def requirements_text(spec: EnvSpec) -> bytes:
    """The spec's requirement lines as one requirements file."""
    return "".join(f"{line}\n" for line in spec.requirements).encode()

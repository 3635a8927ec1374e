"""Offline image build: debootstrap a minimal Debian and ``docker import`` it.

The mirror and suite come from this machine's apt sources, never from code, so
the build works wherever ``apt-get`` works (including behind a package proxy).
A variant (another Python) takes the mirror from the same sources and its own
suite from :data:`sandbox.image.recipe.VARIANTS`; whether the mirror has that
suite is debootstrap's first question, and a "no" is a one-line ImageBuildError.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import ImageBuildError
from sandbox.image.recipe import DEFAULT_PYTHON, PACKAGES, SANDBOX_UIDS, variant

_SOURCES_DIR = Path("/etc/apt/sources.list.d")
_SOURCES_LIST = Path("/etc/apt/sources.list")
_DEBOOTSTRAP_TIMEOUT_S = 1800
_PRUNE = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")


@dataclass(frozen=True)
class AptSource:
    """One Debian archive: where it is and which suite to bootstrap."""

    mirror: str
    suite: str


def _deb822_sources(text: str) -> list[AptSource]:
    found: list[AptSource] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri, suite))
    return found


def _one_line_sources(text: str) -> list[AptSource]:
    found: list[AptSource] = []
    for line in text.splitlines():
        words = [w for w in line.split() if not w.startswith("[")] if not line.lstrip().startswith("#") else []
        if len(words) >= 3 and words[0] == "deb":
            found.append(AptSource(words[1], words[2]))
    return found


def read_apt_source() -> AptSource:
    """Return the main Debian archive named by this machine's apt configuration.

    Security and update suites are skipped: debootstrap needs the base suite.
    """
    candidates: list[AptSource] = []
    if _SOURCES_LIST.exists():
        candidates += _one_line_sources(_SOURCES_LIST.read_text())
    if _SOURCES_DIR.is_dir():
        for path in sorted(_SOURCES_DIR.iterdir()):
            if path.suffix == ".sources":
                candidates += _deb822_sources(path.read_text())
            elif path.suffix == ".list":
                candidates += _one_line_sources(path.read_text())
    for source in candidates:
        if "debian" in source.mirror and "security" not in source.mirror and "-" not in source.suite:
            return source
    raise ImageBuildError(f"no Debian archive found in {_SOURCES_LIST} or {_SOURCES_DIR}/*.sources")


def source_for(python: str | None, host: AptSource) -> AptSource:
    """The archive to bootstrap the image offering ``python`` from: the host's mirror, and
    the host's suite (default image) or the variant's. Raises PythonUnavailable."""
    found = variant(python)
    return host if found is None else AptSource(host.mirror, found.suite)


def check_python(root: Path, python: str) -> None:
    """Fail unless the bootstrapped ``python3`` is ``python`` (a suite can move on under a name)."""
    target = (root / "usr/bin/python3").resolve()
    if target.name != f"python{python}" or not (root / f"usr/bin/python{python}").is_file():
        # Only the link's last name is compared (it may be relative or absolute); the file itself
        # must be inside the root.
        raise ImageBuildError(f"the bootstrapped python3 is {target.name}, not python{python}")


def bootstrap_rootfs(target: Path, source: AptSource, python: str = DEFAULT_PYTHON) -> None:
    """Debootstrap a ``minbase`` Debian with the sandbox packages into ``target`` (its python3 must be ``python``)."""
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
    cmd = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        source.suite,
        str(target),
        source.mirror,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_DEBOOTSTRAP_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ImageBuildError(
            f"debootstrap of {source.suite} from {source.mirror} failed ({proc.returncode}): {tail[0]}"
        )
    check_python(target, python)
    _add_sandbox_user(target)
    for rel in _PRUNE:
        shutil.rmtree(target / rel, ignore_errors=True)


def _add_sandbox_user(root: Path) -> None:
    # One entry per container uid, all named alike (see recipe.SANDBOX_UIDS).
    with (root / "etc/passwd").open("a") as fh:
        fh.writelines(f"sandbox:x:{uid}:{uid}:sandbox:/sandbox:/usr/sbin/nologin\n" for uid in SANDBOX_UIDS)
    with (root / "etc/group").open("a") as fh:
        fh.writelines(f"sandbox:x:{uid}:\n" for uid in SANDBOX_UIDS)
    (root / "sandbox").mkdir(exist_ok=True)


def archive_rootfs(root: Path, tarball: Path) -> None:
    """Pack ``root`` into ``tarball`` with numeric owners, as ``docker import`` wants."""
    cmd = ["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise ImageBuildError(f"tar of the root filesystem failed: {proc.stderr.strip()[:200]}")


def build_offline(workdir: Path | None = None, python: str | None = None) -> tuple[Path, AptSource]:
    """Bootstrap the root filesystem offering ``python`` (default: the default image's) and pack
    it; return the tarball and the source used.

    The caller imports the tarball (see :mod:`sandbox._docker.images`).
    """
    source = source_for(python, read_apt_source())
    base = Path(tempfile.mkdtemp(prefix="codesolve-rootfs-", dir=workdir))
    root = base / "root"
    try:
        bootstrap_rootfs(root, source, python or DEFAULT_PYTHON)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)  # a failed bootstrap leaves no half root behind
        raise
    tarball = base / "rootfs.tar"
    archive_rootfs(root, tarball)
    shutil.rmtree(root, ignore_errors=True)
    return tarball, source

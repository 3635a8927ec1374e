"""Repositories at an instance's base commit, from local mirrors only (no network at solve time).

``--repos DIR`` maps ``owner/name`` to ``DIR/owner__name.git`` (a bare mirror),
``DIR/owner__name`` or ``DIR/owner/name`` (a clone, or a plain source tree that is
committed once into the cache), or ``DIR/owner__name.git.tar.xz`` (a packed bare
mirror, unpacked once into the cache). A fresh tree is a shared
clone (objects borrowed, not copied) checked out at the commit: every patch is
applied to a tree nobody else touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from codesolve.errors import RepositoryError

GIT_TIMEOUT_S = 300.0
FIXED_DATE = "2024-01-01T00:00:00+00:00"
"""Author and committer date of commits made from plain source trees (the id depends on the files alone)."""
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "codesolve",
    "GIT_AUTHOR_EMAIL": "codesolve@localhost",
    "GIT_COMMITTER_NAME": "codesolve",
    "GIT_COMMITTER_EMAIL": "codesolve@localhost",
}


def git(
    args: Sequence[str],
    cwd: Path,
    stdin: bytes | None = None,
    check: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git with a clean config (no system config, no prompts, no hooks path from the user, and
    no ``core.fsmonitor``: a command a repository's own config names, which git runs on ``status``)."""
    env = {**os.environ, **_GIT_ENV, "HOME": str(cwd), **(extra_env or {})}
    command = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "advice.detachedHead=false"]
    command += args
    try:
        proc = subprocess.run(
            command, cwd=cwd, input=stdin, capture_output=True, env=env, timeout=GIT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise RepositoryError(f"git {args[0]} took longer than {GIT_TIMEOUT_S:.0f}s in {cwd}") from None
    if check and proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise RepositoryError(f"git {args[0]} failed in {cwd}: {tail[0][:300]}")
    return proc


def mirror_for(repos: Path, repo: str, cache: Path) -> Path:
    """The local mirror or clone of ``owner/name`` under ``repos`` (RepositoryError when there is none)."""
    flat = repo.replace("/", "__")
    for candidate in (repos / f"{flat}.git", repos / flat, repos / repo):
        if is_repository(candidate):
            return candidate
        if candidate.is_dir():
            # A plain source tree (the bundled mini set): committed once, reproducibly, into the cache.
            return _made_once(cache / f"{flat}.git", partial(commit_tree, candidate))
    packed = repos / f"{flat}.git.tar.xz"
    if packed.is_file():
        return _made_once(cache / f"{flat}.git", lambda staging: _unpack(packed, staging, f"{flat}.git"))
    raise RepositoryError(f"no local mirror of {repo} in {repos} (looked for {flat}.git, {flat}, {flat}.git.tar.xz)")


def _made_once(dest: Path, make: Callable[[Path], object]) -> Path:
    """``dest``, made by ``make`` in a staging folder of its own and renamed into place.

    A run killed while making it leaves only a hidden staging folder, never a
    half-made ``dest``; two lanes making it at once both finish, and the
    second rename loses (its copy is removed).
    """
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent)) / dest.name
    try:
        make(staging)
        try:
            os.rename(staging, dest)
        except OSError:
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)
    return dest


def is_repository(folder: Path) -> bool:
    """A clone (has ``.git``) or a bare repository (``HEAD`` and ``objects``)."""
    return (folder / ".git").exists() or ((folder / "HEAD").is_file() and (folder / "objects").is_dir())


def _unpack(packed: Path, dest: Path, top: str) -> None:
    """Unpack ``packed`` (one folder ``top``) to ``dest``."""
    unpacking = dest.with_name(dest.name + ".unpacking")
    unpacking.mkdir(parents=True)
    with tarfile.open(packed) as archive:
        archive.extractall(unpacking, filter="data")  # the data filter refuses links and paths out of the folder
    if not (unpacking / top).is_dir():
        raise RepositoryError(f"{packed} does not unpack to {top}/")
    os.replace(unpacking / top, dest)


def fresh_tree(mirror: Path, commit: str, dest: Path) -> Path:
    """A new checkout of ``commit`` at ``dest`` (which must not exist)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(["clone", "-q", "--no-checkout", "--shared", str(mirror.resolve()), str(dest)], dest.parent)
    proc = git(["checkout", "-q", "--detach", commit], dest, check=False)
    if proc.returncode != 0:
        raise RepositoryError(f"commit {commit[:12]} is not in {mirror}")
    return dest


def reset_tree(tree: Path) -> None:
    """Back to the checked-out commit: tracked files restored, everything untracked removed."""
    git(["reset", "-q", "--hard"], tree)
    git(["clean", "-q", "-fdx"], tree)


def tree_diff(tree: Path) -> str:
    """The tree's changes against its commit (new files included) as a unified diff, by git."""
    git(["add", "-A"], tree)
    return git(["diff", "--cached", "--no-color", "--no-ext-diff", "--binary"], tree).stdout.decode("utf-8", "replace")


def commit_tree(source: Path, bare: Path) -> str:
    """Commit the files of ``source`` as the one commit of the bare repository ``bare`` (made if missing)."""
    if not bare.is_dir():
        bare.parent.mkdir(parents=True, exist_ok=True)
        git(["init", "-q", "--bare", str(bare)], bare.parent)
    env = {
        "GIT_DIR": str(bare.resolve()),
        "GIT_WORK_TREE": str(source.resolve()),
        "GIT_INDEX_FILE": str(bare.resolve() / "index"),
        "GIT_AUTHOR_DATE": FIXED_DATE,
        "GIT_COMMITTER_DATE": FIXED_DATE,
    }
    git(["add", "-A", "."], source, extra_env=env)
    tree = git(["write-tree"], source, extra_env=env).stdout.decode().strip()
    commit = git(["commit-tree", tree, "-m", "base"], source, extra_env=env).stdout.decode().strip()
    git(["update-ref", "refs/heads/main", commit], source, extra_env=env)
    return commit

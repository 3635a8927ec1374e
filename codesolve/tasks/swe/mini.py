"""The bundled mini SWE set: plain source trees made into local git mirrors, the same commit every time.

``problems/swe/repos/<owner>__<name>/`` holds each repository's files at its
base commit; :func:`materialise` commits each into a bare mirror with a fixed
author, committer and date, so the commit id is a function of the files alone
and matches the ``base_commit`` of ``problems/swe/instances.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

from codesolve.tasks.swe.checkout import git

FIXED_DATE = "2024-01-01T00:00:00+00:00"


def materialise(repos: Path, dest: Path) -> dict[str, str]:
    """A bare mirror ``dest/<folder>.git`` of each folder of ``repos``; their commit ids by folder."""
    dest.mkdir(parents=True, exist_ok=True)
    return {p.name: commit_tree(p, dest / f"{p.name}.git") for p in sorted(repos.iterdir()) if p.is_dir()}


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

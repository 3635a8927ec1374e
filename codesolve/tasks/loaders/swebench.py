"""SWE-bench instances from JSON (a list), JSONL or CSV.

``FAIL_TO_PASS`` and ``PASS_TO_PASS`` are stored as JSON text in the dataset;
they are decoded into lists (lists are accepted as they are). The
repositories themselves are not part of the data: ``repo_source`` defaults
to the GitHub clone URL, and callers with a local mirror replace it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.models import SweInstance

NAME = "swebench"
LICENCE = "MIT (SWE-bench); code under each repository's licence"


def detect(record: Mapping[str, Any]) -> bool:
    """Instance id, base commit and the two test lists."""
    return {"instance_id", "base_commit", "FAIL_TO_PASS"} <= record.keys()


def test_ids(record: Mapping[str, Any], key: str, required: bool) -> list[str]:
    """A test-id list, decoded from JSON text when the dataset stores it that way."""
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise FieldError(key, "missing")
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError(key, f"not a JSON list of test ids: {exc.msg}") from exc
    return f.string_list(value, key)


_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")


def convert(record: Mapping[str, Any], _path: Path) -> SweInstance:
    """One SWE-bench instance (``repo`` must be ``owner/name``: it becomes the clone URL)."""
    repo = f.nonempty_text(record, "repo")
    if not _REPO.fullmatch(repo) or ".." in repo:
        raise FieldError("repo", "expected owner/name (letters, digits, '.', '_', '-')")
    return SweInstance(
        instance_id=f.nonempty_text(record, "instance_id"),
        repo=repo,
        base_commit=f.nonempty_text(record, "base_commit"),
        problem_statement=f.text(record, "problem_statement"),
        FAIL_TO_PASS=test_ids(record, "FAIL_TO_PASS", required=True),
        PASS_TO_PASS=test_ids(record, "PASS_TO_PASS", required=False),
        test_patch=f.text(record, "test_patch", ""),
        patch=f.text(record, "patch", ""),
        version=f.text(record, "version", ""),
        environment_setup_commit=f.text(record, "environment_setup_commit", ""),
        hints_text=f.text(record, "hints_text", ""),
        created_at=f.text(record, "created_at", ""),
        repo_source=f"https://github.com/{repo}.git",
        source="SWE-bench",
        licence=LICENCE,
    )

"""Prompt text for SWE issues. Stable headings: scripted scenarios match on them
(``# Pick the files``, ``# Write a reproduction test``, ``# Resolve the issue``,
``Your patch does not resolve the issue yet``, ``Propose tests``, ``distinguishing test``,
``(real execution)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from codesolve.llm import Message
from codesolve.tasks.base import DebugTurn, Evidence, recent_rounds
from codesolve.tasks.feedback import clip
from codesolve.tasks.fences import UNTRUSTED, fenced

SYSTEM = "You are an expert software engineer. You resolve repository issues with small, correct patches."
JUDGE_SYSTEM = f"You are a careful reviewer. You reason from the issue, the patches and real test results. {UNTRUSTED}"
FILE_CHARS = 12_000
RULES = (
    "Reply with search/replace edits, each in this form:\n"
    "path/to/file.py\n<<<<<<< SEARCH\nexact lines now in the file\n=======\nthe new lines\n>>>>>>> REPLACE\n"
    "The SEARCH lines must match the file exactly, once. Do not edit tests."
)


def _files(files: Mapping[str, str]) -> str:
    return "\n\n".join(f"`{path}`:\n{fenced(clip(text, FILE_CHARS), 'python')}" for path, text in files.items())


def _patches(patch_a: str, patch_b: str) -> str:
    return f"Patch A:\n{fenced(clip(patch_a, 3000), 'diff')}\n\nPatch B:\n{fenced(clip(patch_b, 3000), 'diff')}"


def pick_files(issue: str, repo_map: str) -> list[Message]:
    """Ask which files (and functions) of the ranked map the fix belongs in."""
    user = (
        f"# Pick the files\nThe issue:\n{clip(issue, 6000)}\n\nThe repository's files most related to it, with "
        f"their classes and functions:\n{fenced(repo_map)}\n\nList the (at most 3) files to edit, one path per line, "
        "each followed by the classes or functions to look at."
    )
    return [Message("system", SYSTEM), Message("user", user)]


def reproduction(issue: str, files: Mapping[str, str]) -> list[Message]:
    """Ask for a pytest module that fails while the issue is there and passes once it is fixed."""
    user = (
        f"# Write a reproduction test\nThe issue:\n{clip(issue, 6000)}\n\n{_files(files)}\n\n"
        "Write one pytest module (one ```python block) whose tests fail now because of the issue and pass "
        "once it is resolved. Import the project as its users do."
    )
    return [Message("system", SYSTEM), Message("user", user)]


def generation(issue: str, repo_map: str, files: Mapping[str, str], failures: str) -> list[Message]:
    """The first prompt: the issue, the map, the chosen files, what the reproduction test shows."""
    shown = f"\nThe reproduction test fails now:\n{fenced(clip(failures, 4000))}\n" if failures else ""
    user = (
        f"# Resolve the issue\n{clip(issue, 6000)}\n\nRelated files and their symbols:\n{fenced(repo_map)}\n\n"
        f"{_files(files)}\n{shown}\n{RULES}"
    )
    return [Message("system", SYSTEM), Message("user", user)]


def debug(first: list[Message], history: Sequence[DebugTurn], max_chars: int) -> list[Message]:
    """The first prompt, then each attempt and what really happened (oldest rounds dropped past a cap)."""
    turns: list[Message] = []
    for turn in recent_rounds(history, max_chars):
        turns += [
            Message("assistant", turn.code),
            Message("user", f"Your patch does not resolve the issue yet.\n{fenced(turn.report.feedback)}\n{RULES}"),
        ]
    return [*first, *turns]


def synthesis(issue: str, patches: Sequence[str], count: int) -> list[Message]:
    """Ask for pytest modules on which the patches may disagree."""
    shown = "\n\n".join(f"Patch {i + 1}:\n{fenced(clip(p, 3000), 'diff')}" for i, p in enumerate(patches[:4]))
    user = (
        f"Propose tests for this issue on which these patches may disagree.\n\nThe issue:\n{clip(issue, 3000)}"
        f"\n\n{shown}\n\nGive up to {count} tests, each a whole pytest module in its own ```python block."
    )
    return [Message("system", SYSTEM), Message("user", user)]


def distinguish(issue: str, patch_a: str, patch_b: str) -> list[Message]:
    """Ask the judge for one test on which two patches differ."""
    user = (
        f"The issue:\n{clip(issue, 3000)}\n\n{_patches(patch_a, patch_b)}\n\n"
        "Write one distinguishing test: a pytest module in one ```python block "
        "that passes with one patch and fails with the other."
    )
    return [Message("system", JUDGE_SYSTEM), Message("user", user)]


def judge(issue: str, patch_a: str, patch_b: str, evidence: Sequence[Evidence]) -> list[Message]:
    """Ask which patch resolves the issue, shown what the tests REALLY did with each."""
    rows = "\n\n".join(
        f"Test:\n{fenced(clip(e.input.text, 1500), 'python')}\nWith A (real execution):\n{fenced(e.a.shown)}\n"
        f"With B (real execution):\n{fenced(e.b.shown)}"
        for e in evidence
    )
    user = (
        f"Which patch resolves the issue?\n\nThe issue:\n{clip(issue, 4000)}\n\n"
        f"{_patches(patch_a, patch_b)}\n\n{rows}\n\n"
        "Both pass the reproduction and regression tests. "
        "Reason briefly, then end with a last line holding only A or B."
    )
    return [Message("system", JUDGE_SYSTEM), Message("user", user)]

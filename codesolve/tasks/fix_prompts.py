"""Prompt text for repository fixes. Stable headings: scripted scenarios match on them
(``# Fix the failing tests``, ``Your fix still fails``, ``Propose inputs``,
``distinguishing input``, ``(real execution)``)."""

from __future__ import annotations

from collections.abc import Sequence

from codesolve.llm import Message
from codesolve.tasks.base import DebugTurn, Evidence, recent_rounds
from codesolve.tasks.feedback import clip
from codesolve.tasks.fences import UNTRUSTED, fenced

SYSTEM = "You are an expert Python engineer. You fix bugs with small, correct changes."
JUDGE_SYSTEM = (
    f"You are a careful judge of code. You reason from the code, the tests and real execution results. {UNTRUSTED}"
)
CODE_CHARS = 8000
"""The code around the targets in the first prompt (the task clips each file to its share)."""
CONTEXT_CHARS = 4000
"""The same for the judge."""


def _answer_rules(targets: Sequence[str]) -> str:
    names = ", ".join(f"`{t}`" for t in targets)
    return (
        f"Reply with the corrected version of {names} in one ```python block: only the function(s), "
        "with the same name and signature (a method may be written alone or inside its class). "
        "Do not change anything else; put any new import inside the function."
    )


def _versions(code_a: str, code_b: str) -> str:
    return f"A:\n{fenced(clip(code_a, 3000), 'python')}\n\nB:\n{fenced(clip(code_b, 3000), 'python')}"


def generation(context: str, failures: str, targets: Sequence[str], description: str) -> list[Message]:
    """The first prompt: the code to fix (``context``, fenced and sized by the task), the failing
    tests' real output, the rules."""
    issue = f"\nWhat is wrong, as reported:\n{clip(description, 3000)}\n" if description.strip() else ""
    user = (
        f"# Fix the failing tests\n{issue}\nThese tests fail now:\n{fenced(failures)}\n\n"
        f"The code (the function(s) to fix are {', '.join(targets)}):\n{context}\n\n"
        f"{_answer_rules(targets)}"
    )
    return [Message("system", SYSTEM), Message("user", user)]


def debug(first: list[Message], history: Sequence[DebugTurn], targets: Sequence[str], max_chars: int) -> list[Message]:
    """The first prompt, then each attempt and what the tests said (oldest rounds dropped past a cap)."""
    turns: list[Message] = []
    for turn in recent_rounds(history, max_chars):
        turns += [
            Message("assistant", fenced(turn.code, "python")),
            Message("user", f"Your fix still fails.\n{fenced(turn.report.feedback)}\n{_answer_rules(targets)}"),
        ]
    return [*first, *turns]


def synthesis(signature: str, codes: Sequence[str], count: int) -> list[Message]:
    """Ask for argument lists on which versions of the function may disagree."""
    shown = "\n\n".join(f"Version {i + 1}:\n{fenced(clip(c, 3000), 'python')}" for i, c in enumerate(codes[:4]))
    user = (
        f"Propose inputs that test `{signature}` where these versions may disagree.\n\n{shown}\n\n"
        f"Give up to {count} inputs, each in its own ```input block holding a Python list literal "
        "of the positional arguments, e.g. ```input\n[3, 'abc']\n```."
    )
    return [Message("system", SYSTEM), Message("user", user)]


def distinguish(signature: str, code_a: str, code_b: str) -> list[Message]:
    """Ask the judge for one input on which two versions differ."""
    user = (
        f"Two versions of `{signature}`:\n\n{_versions(code_a, code_b)}\n\n"
        "Give one distinguishing input on which they return different results: "
        "one ```input block holding a Python list literal of the positional arguments."
    )
    return [Message("system", JUDGE_SYSTEM), Message("user", user)]


def judge(signature: str, context: str, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
    """Ask which version is right, shown what each REALLY returned."""
    rows = "\n\n".join(
        f"Input:\n{fenced(clip(e.input.text, 300))}\nResult of A (real execution):\n{fenced(e.a.shown)}\n"
        f"Result of B (real execution):\n{fenced(e.b.shown)}"
        for e in evidence
    )
    user = (
        f"Which version of `{signature}` is correct?\n\nThe code around it:\n{context}\n\n"
        f"{_versions(code_a, code_b)}\n\n{rows}\n\n"
        "Both pass the tests. Reason briefly, then end with a last line holding only A or B."
    )
    return [Message("system", JUDGE_SYSTEM), Message("user", user)]

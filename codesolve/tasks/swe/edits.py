"""Search/replace edits: parsed from a reply, applied to a checked-out tree, refused with the nearest lines.

The format (Aider's, which models know)::

    path/to/file.py
    <<<<<<< SEARCH
    exact lines now in the file
    =======
    the lines to put instead
    >>>>>>> REPLACE

A SEARCH text must occur exactly once in its file (or be empty, to create a
new file). When it does not, the edit is refused with the file's lines most
like it, so the next debugging round can quote them exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesolve.tasks.swe.blocks import edit_blocks, most_like
from codesolve.tasks.swe.patches import PatchRefused, check_path, is_test_path, through_symlink

NEAREST_LINES = 8


class EditError(ValueError):
    """An edit that cannot be applied; the message, for the model, shows the nearest lines."""


@dataclass(frozen=True)
class Edit:
    """One search/replace block."""

    path: str
    search: str
    replace: str


def parse_edits(text: str) -> list[Edit]:
    """Every search/replace block in ``text``, in order."""
    return [Edit(path, search, replace) for path, search, replace in edit_blocks(text)]


def render_edits(edits: Sequence[Edit]) -> str:
    """The edits in the canonical format (a candidate's code, comparable across samples)."""
    return "\n".join(f"{e.path}\n<<<<<<< SEARCH\n{e.search}=======\n{e.replace}>>>>>>> REPLACE\n" for e in edits)


def nearest(text: str, search: str, count: int = NEAREST_LINES) -> str:
    """The window of ``text`` most like ``search`` (line numbers shown), for the model to quote."""
    lines = text.splitlines()
    size = max(1, min(len(search.splitlines() or [""]), len(lines)))
    best_at = most_like(lines, search, size)
    first, last = max(0, best_at - 1), min(len(lines), best_at + max(size, count) + 1)
    return "\n".join(f"{n + 1:5}| {lines[n]}" for n in range(first, last))


def edited_files(tree: Path, edits: Sequence[Edit], explain: bool = True) -> dict[str, str]:
    """The new text of every file the edits touch, read from ``tree`` and edited in memory, in order.

    EditError (for the model, with the nearest lines unless ``explain`` is False: a caller that
    only asks whether the edits apply need not pay for them) at the first edit that does not apply.
    """
    current: dict[str, str] = {}
    for edit in edits:
        try:
            check_path(edit.path)
        except PatchRefused as exc:
            raise EditError(str(exc)) from None
        if is_test_path(edit.path):
            raise EditError(f"{edit.path} is a test file: resolve the issue in the code, not in the tests")
        if through_symlink(tree, edit.path):
            raise EditError(f"{edit.path} goes through a symbolic link")
        if edit.path not in current:
            target = tree / edit.path
            if target.is_file():
                current[edit.path] = target.read_text(encoding="utf-8", errors="surrogateescape")
            elif edit.search.strip() or target.exists():
                raise EditError(f"{edit.path} does not exist (an empty SEARCH creates a new file)")
            else:
                current[edit.path] = ""
        current[edit.path] = _replace(current[edit.path], edit, explain)
    return current


def _replace(text: str, edit: Edit, explain: bool = True) -> str:
    if not text and not edit.search.strip():
        return edit.replace
    found = occurrences(text, edit.search) if edit.search else 0
    if found == 1:
        return text.replace(edit.search, edit.replace, 1)
    why = "occurs more than once" if found > 1 else "is not in the file"
    if not explain:
        raise EditError(f"The SEARCH text for {edit.path} {why}.")
    raise EditError(
        f"The SEARCH text for {edit.path} {why}. The lines of {edit.path} most like it are:\n"
        f"{nearest(text, edit.search)}\nQuote them exactly (without the line numbers)."
    )


def write_files(tree: Path, files: Mapping[str, str]) -> None:
    """Write edited files into a checkout (paths were checked by :func:`edited_files`)."""
    for path, text in files.items():
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", errors="surrogateescape")


def canonical_edits(originals: Mapping[str, str], files: Mapping[str, str]) -> list[Edit]:
    """One edit per changed file, a function of (original, new) alone: equal results → equal edits.

    The SEARCH is the changed span of lines, widened by a line on each side until it
    occurs exactly once in the original (an empty original: the new file whole).
    """
    edits = []
    for path in sorted(files):
        old, new = originals.get(path, ""), files[path]
        if old == new:
            continue
        if not old:
            edits.append(Edit(path, "", new))
            continue
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        lo, hi = _unique_span(old, a, *changed_span(a, b))
        edits.append(Edit(path, "".join(a[lo:hi]), "".join(b[lo : len(b) - (len(a) - hi)])))
    return edits


def changed_span(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """The lines ``lo:hi`` of ``a`` that ``b`` changes: all but the lines the two begin and end with."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, len(a) - tail


def _unique_span(old: str, a: Sequence[str], lo: int, hi: int) -> tuple[int, int]:
    """Lines ``lo:hi`` of ``a`` (``old``'s lines) widened by the fewest lines on each side after
    which they are not empty and occur in ``old`` only there (or are the whole file).

    Widening can only keep a span unique (a wider one found elsewhere would carry the narrower
    along), so the fewest lines are found by halving, not a line at a time: on a file of
    repeated lines that was a search of the whole text per line (1.5 s at 16,000 lines).
    """
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))

    def span(k: int) -> tuple[int, int]:
        return max(0, lo - k), min(len(a), hi + k)

    def done(k: int) -> bool:
        first, last = span(k)
        whole = first == 0 and last == len(a)
        return whole or (first != last and _only_at(old, old[starts[first] : starts[last]], starts[first]))

    low, high = 0, max(lo, len(a) - hi)  # done(high): the whole file
    while low < high:
        middle = (low + high) // 2
        if done(middle):
            high = middle
        else:
            low = middle + 1
    return span(low)


def occurrences(text: str, search: str, cap: int = 2) -> int:
    """How many times ``search`` occurs in ``text``, overlapping ones included (counting stops at ``cap``)."""
    count, at = 0, text.find(search)
    while at >= 0 and count < cap:
        count += 1
        at = text.find(search, at + 1)
    return count


def _only_at(text: str, search: str, offset: int) -> bool:
    return text.find(search) == offset and text.find(search, offset + 1) < 0

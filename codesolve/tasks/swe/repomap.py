"""Localisation without a model: a compact map of the repository ranked by the issue text (BM25).

Each non-test Python file becomes one document: its path, the names of its
classes and functions (qualified) and the first line of their docstrings.
Identifiers are split (``snake_case``, ``CamelCase``, dotted paths) so the
issue's words meet the code's. The map shown to the model is the top files
with their symbols and line numbers; the model picks files and functions
from it.
"""

from __future__ import annotations

import ast
import glob
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codesolve.tasks import pyparse
from codesolve.tasks.swe.patches import is_test_path

MAX_FILE_BYTES = 1 << 20
REGRESSION_FILES = 2
K1, B = 1.2, 0.75
_WORD = re.compile(r"[A-Za-z][a-z0-9]*|[A-Z]+(?![a-z])|\d+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "is",
        "it",
        "be",
        "for",
        "on",
        "with",
        "this",
        "that",
        "as",
        "are",
        "was",
        "not",
        "by",
        "if",
        "at",
        "from",
    ]
)


@dataclass(frozen=True)
class Symbol:
    """A class or function in a file."""

    qualname: str
    line: int
    doc: str


@dataclass(frozen=True)
class FileEntry:
    """One file of the map."""

    path: str
    symbols: tuple[Symbol, ...]

    def text(self) -> str:
        """What BM25 indexes: the path, every symbol and docstring line."""
        return " ".join([self.path, *(f"{s.qualname} {s.doc}" for s in self.symbols)])


def tokens(text: str) -> list[str]:
    """Lower-case word pieces (identifiers split), stop words dropped."""
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 1]


def _symbols(tree: ast.Module) -> list[Symbol]:
    found: list[Symbol] = []

    def walk(body: Sequence[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = (ast.get_docstring(node) or "").strip().splitlines()
                found.append(Symbol(prefix + node.name, node.lineno, doc[0][:120] if doc else ""))
                if isinstance(node, ast.ClassDef):
                    walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body, "")
    return found


def build_map(tree: Path) -> list[FileEntry]:
    """Every parseable non-test ``.py`` file under ``tree`` (``.git`` and hidden folders left out)."""
    entries = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        if any(part.startswith(".") for part in path.relative_to(tree).parts) or is_test_path(rel):
            continue
        if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            module = pyparse.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        entries.append(FileEntry(rel, tuple(_symbols(module))))
    return entries


def rank(entries: Sequence[FileEntry], query: str) -> list[tuple[float, FileEntry]]:
    """BM25 scores of the files for ``query``, best first (ties by path)."""
    docs = [Counter(tokens(e.text())) for e in entries]
    if not docs:
        return []
    average = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    frequency = Counter(word for d in docs for word in d)
    terms = Counter(tokens(query))
    scored = []
    for entry, doc in zip(entries, docs, strict=True):
        length = sum(doc.values())
        score = 0.0
        for word in terms:
            tf = doc.get(word, 0)
            if not tf:
                continue
            idf = math.log(1 + (len(docs) - frequency[word] + 0.5) / (frequency[word] + 0.5))
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        scored.append((score, entry))
    scored.sort(key=lambda pair: (-pair[0], pair[1].path))
    return scored


def render_map(ranked: Sequence[tuple[float, FileEntry]], files: int = 15, symbols: int = 40) -> str:
    """The top files with their symbols and line numbers, compact."""
    lines = []
    for _score, entry in ranked[:files]:
        lines.append(entry.path)
        for s in entry.symbols[:symbols]:
            lines.append(f"  {s.line}: {s.qualname}" + (f"  # {s.doc}" if s.doc else ""))
        if len(entry.symbols) > symbols:
            lines.append(f"  … {len(entry.symbols) - symbols} more")
    return "\n".join(lines)


def named_symbols(reply: str, entry: FileEntry) -> list[Symbol]:
    """The file's symbols the reply names (``Class.method`` or a bare name as a word of its own)."""
    words = {w.strip(".") for w in re.findall(r"[A-Za-z_][\w.]*", reply)}
    return [s for s in entry.symbols if s.qualname in words or s.qualname.rsplit(".", 1)[-1] in words]


def excerpt(text: str, symbols: Sequence[Symbol], limit: int) -> str:
    """``text`` whole when short; else the named symbols' own lines (numbered), within ``limit``."""
    if len(text) <= limit or not symbols:
        return text
    try:
        module = pyparse.parse(text)
    except (SyntaxError, ValueError):
        return text
    spans = {}
    for node in ast.walk(module):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            spans[node.lineno] = node.end_lineno or node.lineno
    lines = text.splitlines()
    parts, used = [], 0
    for symbol in sorted(symbols, key=lambda s: s.line):
        end = spans.get(symbol.line, symbol.line)
        body = "\n".join(f"{n + 1:5}| {lines[n]}" for n in range(symbol.line - 1, min(end, len(lines))))
        if used + len(body) > limit:
            break
        parts.append(body)
        used += len(body)
    return "# excerpts, with line numbers (quote lines without the numbers)\n" + "\n# ...\n".join(parts)


def nearby_tests(tree: Path, paths: Sequence[str], limit: int = REGRESSION_FILES) -> list[str]:
    """Test files named after the picked files (``test_<stem>.py``), closest folders first."""
    found: list[tuple[int, str]] = []
    for path in paths:
        stem = PurePosixPath(path).stem
        parts = PurePosixPath(path).parts
        for test in sorted(tree.rglob(f"test_{glob.escape(stem)}.py")):
            rel = test.relative_to(tree).as_posix()
            if ".git" in test.relative_to(tree).parts or test.is_symlink():
                continue
            shared = sum(1 for a, b in zip(parts, PurePosixPath(rel).parts, strict=False) if a == b)
            found.append((-shared, rel))
    return [rel for _, rel in sorted(set(found))][:limit]

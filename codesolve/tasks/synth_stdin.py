"""LLM-free inputs for stdin problems: the public inputs, mutated but keeping their structure.

Every numeric token is perturbed near its own value, within the range the
public inputs show (integers stay integers, decimals keep their digits).
Where a count header is detectable, the count and what it counts change
together:

a line holding one integer ``n`` followed by exactly ``n`` lines (a list of
records, regrown from the records seen), or by one line of exactly ``n``
tokens (an array, regrown from its items).

Lines that are not numbers are kept as they are. Draws come from a seeded
``random.Random``: the same inputs and seed give the same mutations.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

_INT = re.compile(r"[+-]?\d+")
_DEC = re.compile(r"[+-]?\d+\.(\d+)")
MAX_COUNT = 40
"""Largest count a mutation grows a list to (inputs stay small enough to read and to run)."""
MAX_DIGITS = 4000
"""Longest numeric token read as a number (``int()`` refuses more than 4,300 digits, and a
big-number problem's 10^5-digit operand is kept as it is, not perturbed)."""


def _numeric(token: str) -> bool:
    """An integer or a decimal short enough to read as one."""
    return len(token) <= MAX_DIGITS and bool(_INT.fullmatch(token) or _DEC.fullmatch(token))


@dataclass(frozen=True)
class Header:
    """A count at line ``line`` counting the ``count`` lines after it, or the tokens of the next line."""

    line: int
    count: int
    per_line: bool


def headers(lines: Sequence[str]) -> list[Header]:
    """Count headers found in one input, outermost first, non-overlapping."""
    found: list[Header] = []
    # The last blank line: the lines after ``i`` are all records when it is at or before ``i``
    # (testing them afresh for every ``i`` was quadratic in the input's lines).
    last_blank = max((k for k, line in enumerate(lines) if not line.strip()), default=-1)
    i = 0
    while i < len(lines) - 1:
        tokens = lines[i].split()
        if len(tokens) == 1 and _numeric(tokens[0]) and _INT.fullmatch(tokens[0]) and 0 < int(tokens[0]) <= 10_000:
            n = int(tokens[0])
            if i + 1 + n == len(lines) and last_blank <= i:
                found.append(Header(i, n, per_line=True))  # the rest is n records: the likelier reading
                break
            if len(lines[i + 1].split()) == n and (n > 1 or i + 2 == len(lines)):
                found.append(Header(i, n, per_line=False))
                i += 2
                continue
        i += 1
    return found


def ranges(inputs: Sequence[str]) -> tuple[float, float]:
    """The numeric range the public inputs' tokens show (integers and decimals alike)."""
    values = [float(t) for text in inputs for t in text.split() if _numeric(t)]
    finite = [v for v in values if math.isfinite(v)]  # (a 400-digit integer reads as inf)
    return (min(finite), max(finite)) if finite else (0.0, 10.0)


def perturb(token: str, lo: float, hi: float, rng: random.Random) -> str:
    """A numeric token replaced by one near it (within ``[lo, hi]``, the edges often); others kept.

    Near its own value, because a small number beside large ones is usually a
    size or an index: growing it to the largest value seen breaks the input.
    """
    if len(token) > MAX_DIGITS:
        return token
    if _INT.fullmatch(token):
        value = int(token)
        near = rng.randint(int(lo), max(int(lo), min(int(hi), 2 * abs(value) + 2)))
        choices = [int(lo), value, value + 1, value - 1, value // 2, 2 * value, near, near]
        if abs(value) * 10 >= hi:  # a value near the top: its range's top is fair too
            choices.append(int(hi))
        return str(max(int(lo), min(int(hi), rng.choice(choices))))
    decimal = _DEC.fullmatch(token)
    if decimal:
        return f"{rng.uniform(lo, hi):.{len(decimal.group(1))}f}"
    return token


def mutate(text: str, lo: float, hi: float, rng: random.Random) -> str:
    """One mutation of one input: counts regrown where headers are found, numbers perturbed elsewhere."""
    lines = text.splitlines()
    found = {h.line: h for h in headers(lines)}
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = found.get(i)
        if header is None:
            out.append(" ".join(perturb(t, lo, hi, rng) for t in lines[i].split()))
            i += 1
            continue
        n = rng.choice([1, 1, 2, header.count, min(MAX_COUNT, header.count * 2 + 1), rng.randint(1, MAX_COUNT)])
        if header.per_line:
            body = [" ".join(perturb(t, lo, hi, rng) for t in rng.choice(lines[i + 1 :]).split()) for _ in range(n)]
            out += [str(n), *body]
            break
        items = lines[i + 1].split()
        out += [str(n), " ".join(perturb(rng.choice(items), lo, hi, rng) for _ in range(n))]
        i += 2
    return "\n".join(out) + "\n"


def stdin_inputs(public: Sequence[str], count: int, seed: str) -> list[str]:
    """Up to ``count`` distinct mutations of the public inputs (none of them a public input itself)."""
    public = [p for p in public if p.strip()]
    if not public or count <= 0:
        return []
    lo, hi = ranges(public)
    rng = random.Random(seed)
    seen = {p.strip() for p in public}
    out: list[str] = []
    for attempt in range(count * 6):
        mutated = mutate(public[attempt % len(public)], lo, hi, rng)
        if mutated.strip() not in seen:
            seen.add(mutated.strip())
            out.append(mutated)
            if len(out) == count:
                break
    return out

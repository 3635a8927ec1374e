"""The linear scanners that replaced backtracking patterns read exactly what the patterns read.

Each old pattern is kept here as an oracle and compared with its
replacement on short texts made of the tokens that matter (on such texts the
old patterns are fast). The speed on long texts is the hostile corpus's job.
"""

from __future__ import annotations

import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from codesolve.tasks.loaders._python import _arrow_example, _example, split_arrow
from codesolve.tasks.loaders._statement import io_examples, labelled_pairs
from codesolve.tasks.loaders.humaneval import _names_before_parens

_OLD_EXAMPLES = re.compile(
    r"^\s*-*\s*(?:Examples?|Samples?|Sample tests?)\s*-*\s*:?\s*$", re.MULTILINE | re.IGNORECASE
)
_OLD_HEADING = re.compile(
    r"^\s*-*\s*(Input|Output|Note|Notes|Explanation|Hint|Scoring|Interaction)\b\s*-*\s*:?\s*(.*)$"
)
_OLD_LEETCODE = re.compile(r"^\s*Input:\s*(?P<input>.+?)\s*\n\s*Output:\s*(?P<output>.+?)\s*$", re.MULTILINE)
_OLD_ARROW = re.compile(
    r"^\s*(?:[*-]\s+)?(?P<call>.+?\))\s*(?:==>|=>|==|->|➞|→|should return|returns)\s*(?P<result>.+?)\s*$"
)


def _old_body(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(line.rstrip() for line in lines) + "\n" if lines else ""


def _old_blocks(text: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    kind: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        match = _OLD_HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        if kind in ("Input", "Output"):
            blocks.append((kind, _old_body(lines)))
        kind, lines = match.group(1), [match.group(2)] if match.group(2) else []
        if kind not in ("Input", "Output"):
            break
    else:
        if kind in ("Input", "Output"):
            blocks.append((kind, _old_body(lines)))
    return blocks


def _old_io_examples(statement: str) -> tuple[list[tuple[str, str]], int]:
    headings = list(_OLD_EXAMPLES.finditer(statement))
    if not headings:
        return [], 0
    blocks = _old_blocks(statement[headings[-1].end() :])
    inputs = [body for kind, body in blocks if kind == "Input"]
    outputs = [body for kind, body in blocks if kind == "Output"]
    kinds = [kind for kind, _ in blocks]
    alternating = kinds == ["Input", "Output"] * (len(kinds) // 2)
    if not blocks or not alternating or any(not body.strip() for _, body in blocks):
        return [], len(inputs)
    return list(zip(inputs, outputs, strict=True)), 0


STATEMENT_TOKENS = [
    "Example", "Examples", "examples", "Sample tests", "Sample", "SAMPLES", "Input", "Output", "Note", "Notes",
    "Inputs", "Hint", "-", "---", ":", " ", "  ", "\n", "\n", "\n", "\t", "\xa0", "1", "x", "2 3",
]
LEETCODE_TOKENS = ["Input:", "Output:", "Input", " ", "\n", "\n", "a = 1", "[1]", "x", "\t", ":"]
ARROW_TOKENS = [
    "f(1)", "f([1, 2])", "f('a')", "[3]", "None", "f(", ")", "(", " ", "==>", "=>", "==", "->", "→",
    "returns", "should return", "*", "- ", "2", "x", "\t", "=", ">",
]
WORD_TOKENS = ["a", "b_1", "(", " ", "\t", "é", ")", ".", "=", "x"]


def _texts(tokens: list[str], size: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens), max_size=size).map("".join)


@settings(max_examples=500, deadline=None)
@given(_texts(STATEMENT_TOKENS))
def test_statement_examples_match_the_old_patterns(text: str) -> None:
    assert io_examples(text) == _old_io_examples(text)


@settings(max_examples=500, deadline=None)
@given(_texts(LEETCODE_TOKENS))
def test_leetcode_examples_match_the_old_pattern(text: str) -> None:
    old = [(m.group("input"), m.group("output")) for m in _OLD_LEETCODE.finditer(text)]
    # Deliberate difference: the old pattern could backtrack into taking a lone blank as the
    # input ("Input:\t" then "Output: x"); the scanner never makes an example of a blank.
    assume(all(a.strip() and b.strip() for a, b in old))
    assert labelled_pairs(text, "Input:", "Output:") == old


@settings(max_examples=500, deadline=None)
@given(_texts(ARROW_TOKENS, 16))
def test_docstring_arrows_match_the_old_pattern(line: str) -> None:
    # Compared on what the loader keeps: the split can differ only where the old pattern backtracked
    # into a blank (a call of a blank and a bare ")", or a result that is one blank): never a literal.
    line = line.replace("\n", " ")
    match = _OLD_ARROW.match(line)
    old = None if match is None else _example(match.group("call"), match.group("result"), "f")
    assert _arrow_example(line, "f") == old
    found = split_arrow(line)
    blank = match is not None and (match.group("call")[:1].isspace() or not match.group("result").strip())
    if found is not None and match is not None and not blank:
        assert found == (match.group("call"), match.group("result"))


@settings(max_examples=300, deadline=None)
@given(_texts(WORD_TOKENS, 20))
def test_called_names_match_the_old_pattern(line: str) -> None:
    assert _names_before_parens(line) == re.findall(r"(\w+)\s*\(", line)


def test_real_shapes() -> None:
    text = "Story.\n\n-----Examples-----\nInput\n3\n\nOutput\n9\n\n-----Note-----\nEasy."
    assert io_examples(text) == ([("3\n", "9\n")], 0)
    assert labelled_pairs("Input: n = 1\nOutput: 2\n\nInput:\n  n = 3\n\nOutput:\n 4", "Input:", "Output:") == [
        ("n = 1", "2"),
        ("n = 3", "4"),
    ]
    assert split_arrow("* f(1, (2)) ==> [3]  ") == ("f(1, (2))", "[3]")

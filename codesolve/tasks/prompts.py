"""Prompt text for competitive problems. Plain functions of the problem: easy to read and to script.

The layouts are stable on purpose: scripted scenarios (tests, the demo) match
on their headings, e.g. ``Output of program A (real execution):``.
"""

from __future__ import annotations

from collections.abc import Sequence

from codesolve.llm import Message
from codesolve.tasks.base import DebugTurn, Evidence, recent_rounds
from codesolve.tasks.fences import UNTRUSTED, fenced
from codesolve.tasks.models import PublicProblem

SYSTEM = "You are an expert competitive programmer. You write correct, efficient Python 3 programs."
SYSTEM_CPP = "You are an expert competitive programmer. You write correct, efficient C++17 programs."
FENCE = {"python": "python", "cpp": "cpp"}
"""The fence tag each solution language is asked for."""


def system(lang: str) -> str:
    """The system message for solving in ``lang``."""
    return SYSTEM_CPP if lang == "cpp" else SYSTEM


JUDGE_SYSTEM = (
    "You are a careful judge of programs. You reason from the problem statement and real execution results. "
    f"{UNTRUSTED}"
)
CODE_CHARS = 6000


def _programs(code_a: str, code_b: str) -> str:
    return (
        f"Program A:\n{fenced(code_a[:CODE_CHARS].rstrip(), 'python')}\n\n"
        f"Program B:\n{fenced(code_b[:CODE_CHARS].rstrip(), 'python')}"
    )


def io_contract(problem: PublicProblem) -> str:
    """How the program must read input and give its answer."""
    if problem.input_mode == "call":
        code = problem.starter_code.rstrip()
        starter = f"\nStart from this code:\n{fenced(code, 'python')}" if code else ""
        return (
            f"Implement `{problem.function_name}` (it is called with the test's arguments; return the answer).{starter}"
        )
    return "Read from standard input and write to standard output. Print nothing else."


def problem_block(problem: PublicProblem) -> str:
    """The statement with its limits."""
    title = f"# {problem.title}\n\n" if problem.title else ""
    limits = f"Time limit: {problem.time_limit_s:g} s per test. Memory limit: {problem.memory_mb} MB."
    return f"{title}{problem.statement.strip()}\n\n{limits}"


def generation(problem: PublicProblem, lang: str = "python") -> list[Message]:
    """Prompt for one fresh solution in ``lang``."""
    ask = (
        f"Solve the following problem.\n\n{problem_block(problem)}\n\n{io_contract(problem)}\n\n"
        f"Think briefly, then give the complete program in one ```{FENCE[lang]} code block."
    )
    return [Message.system(system(lang)), Message.user(ask)]


def debug(problem: PublicProblem, history: Sequence[DebugTurn], max_chars: int, lang: str = "python") -> list[Message]:
    """The whole debugging conversation, oldest rounds dropped past ``max_chars``."""
    turns = recent_rounds(history, max_chars)
    messages = generation(problem, lang)
    if len(turns) < len(history):
        messages.append(Message.user(f"({len(history) - len(turns)} earlier attempt(s) omitted.)"))
    name = problem.title or problem.id
    for turn in turns:
        messages.append(Message.assistant(fenced(turn.code.rstrip(), FENCE[lang])))
        messages.append(
            Message.user(
                f"Your program failed on the public tests of “{name}”.\n\n{turn.report.feedback}\n\n"
                f"Fix the program. Give the complete corrected program in one ```{FENCE[lang]} code block."
            )
        )
    return messages


def input_format(problem: PublicProblem) -> str:
    """What one test input looks like for this problem."""
    if problem.input_mode == "call":
        return "one Python list literal of the arguments, e.g. [[1, 2, 3], 4]"
    return "the exact text given on standard input"


def synthesis(problem: PublicProblem, codes: Sequence[str], count: int) -> list[Message]:
    """Prompt for inputs that may separate the candidates."""
    shown = "\n\n".join(
        f"Candidate {i + 1}:\n{fenced(c[:CODE_CHARS].rstrip(), 'python')}" for i, c in enumerate(codes[:4])
    )
    ask = (
        f"{problem_block(problem)}\n\nThese candidate solutions all pass the examples:\n\n{shown}\n\n"
        f"Write {count} new, VALID test inputs (respect every constraint) that are likely to make the candidates "
        f"disagree: edge cases, extremes, tricky structure. Each input is {input_format(problem)}. "
        "Put each input in its own ```input code block. For an input too large to write out, instead give a "
        "Python program that prints it, in a ```generator code block. Do not give expected outputs."
        f"\n\n{validator_ask(problem)}"
    )
    return [Message.system(SYSTEM), Message.user(ask)]


def validator_ask(problem: PublicProblem) -> str:
    """The optional request for an output validator (many-answer problems), in the synthesis prompt."""
    if problem.input_mode == "call":
        what = "`input` is the list of arguments and `output` the value the function returned"
    else:
        what = "`input` and `output` are the full texts of standard input and standard output"
    return (
        'Only if the statement accepts more than one correct output for some input (e.g. "return any root", '
        '"print any valid arrangement"): also write a Python function `valid(input, output) -> bool`, where '
        f"{what}, that checks from the statement alone (without solving the problem) whether the output is a "
        "correct answer, in a ```validator code block."
    )


def distinguish(problem: PublicProblem, code_a: str, code_b: str) -> list[Message]:
    """Ask for one input on which two programs differ."""
    ask = (
        f"{problem_block(problem)}\n\n{_programs(code_a, code_b)}\n\n"
        "These programs behave differently on some inputs. Write ONE small, valid input on which their outputs "
        f"differ, as {input_format(problem)}, in a single ```input code block."
    )
    return [Message.system(JUDGE_SYSTEM), Message.user(ask)]


def tests(problem: PublicProblem, codes: Sequence[str], count: int) -> list[Message]:
    """Prompt for test cases with expected outputs (CodeT's dual execution agreement)."""
    shown = "\n\n".join(f"Candidate {i + 1}:\n{fenced(c[:CODE_CHARS].rstrip())}" for i, c in enumerate(codes[:2]))
    if problem.input_mode == "call":
        form = (
            f"Write each test as one line `assert {problem.function_name}(<arguments>) == <expected value>` "
            "with literal arguments and value, all in one ```python code block."
        )
    else:
        form = "Give each test as an ```input code block followed by an ```output code block with its expected output."
    ask = (
        f"{problem_block(problem)}\n\nSome candidate solutions:\n\n{shown}\n\n"
        f"Write {count} small, VALID test cases for this problem, with the correct expected outputs worked out "
        f"from the statement (not from the candidates). {form}"
    )
    return [Message.system(SYSTEM), Message.user(ask)]


def judge(problem: PublicProblem, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
    """Ask which program is right, showing real outputs (never predicted ones)."""
    runs = "\n\n".join(
        f"Input {i + 1}:\n{fenced(e.input.text[:1500])}\n"
        f"Output of program A (real execution):\n{fenced(e.a.shown)}\n"
        f"Output of program B (real execution):\n{fenced(e.b.shown)}"
        for i, e in enumerate(evidence)
    )
    ask = (
        f"{problem_block(problem)}\n\n{_programs(code_a, code_b)}\n\n"
        "Both pass the examples. They were run on these inputs; the outputs are real:\n\n"
        f"{runs or '(no differing input found)'}\n\n"
        "Work out what the correct output is for each input from the statement, and decide which program is "
        "correct. End your answer with a line holding only A or B."
    )
    return [Message.system(JUDGE_SYSTEM), Message.user(ask)]

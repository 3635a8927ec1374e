"""One grammar for every command: the problem file first, ``--id`` to pick, ``--format`` to
override detection, and the same language names (with the same aliases) wherever a language
is asked for. Checked on the parser every command registers, so a new command that strays fails."""

from __future__ import annotations

import argparse

import pytest

from codesolve.cli import build_parser
from codesolve.commands.batch import run_config

PROBLEM = "problems/examples/examples.yaml"
MODEL = ["--model", "m"]

# The commands that read problem files, with what each needs beside the file to parse.
TAKES_A_PROBLEM_FILE = {
    "solve": MODEL,
    "judge": ["--program", "p.py"],
    "validate": [],
    "batch": MODEL,
}
# The commands with --lang (the first argument is parsed, not opened: a repository for fix).
TAKES_A_LANGUAGE = {**TAKES_A_PROBLEM_FILE, "fix": ["--test", "t.py", *MODEL], "swe": ["--repos", "r", *MODEL]}
del TAKES_A_LANGUAGE["validate"]


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def positional_dests(command: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a.dest for a in sub.choices[command]._actions if not a.option_strings]


@pytest.mark.parametrize("command", sorted(TAKES_A_PROBLEM_FILE))
def test_the_problem_file_comes_first_and_format_overrides_detection(command: str) -> None:
    args = parse(command, PROBLEM, "--format", "yaml", *TAKES_A_PROBLEM_FILE[command])
    [dest] = positional_dests(command)  # the file (or files) is the only positional argument
    given = getattr(args, dest)
    assert [str(p) for p in given] == [PROBLEM] if isinstance(given, list) else str(given) == PROBLEM
    assert args.format == "yaml"


@pytest.mark.parametrize("command", ["solve", "judge"])
def test_id_picks_one_problem(command: str) -> None:
    assert parse(command, PROBLEM, "--id", "examples/mean", *TAKES_A_PROBLEM_FILE[command]).id == "examples/mean"


def test_batch_and_swe_take_several_ids_the_same_way() -> None:
    batch = parse("batch", PROBLEM, *MODEL, "--id", "b", "a", "--id", "c,d")
    assert run_config(batch).ids == ["a", "b", "c", "d"]
    assert run_config(parse("batch", PROBLEM, *MODEL, "--ids", "x,y")).ids == ["x", "y"]  # the old spelling
    swe = parse("swe", "instances.jsonl", "--repos", "r", "--gold", "--id", "b", "a", "--id", "c")
    assert swe.id == ["b", "a", "c"]


@pytest.mark.parametrize("command", sorted(TAKES_A_LANGUAGE))
@pytest.mark.parametrize(("given", "name"), [("python", "python"), ("py", "python"), ("cpp", "cpp"), ("c++", "cpp")])
def test_language_names_and_aliases_are_the_same_everywhere(command: str, given: str, name: str) -> None:
    assert parse(command, PROBLEM, "--lang", given, *TAKES_A_LANGUAGE[command]).lang == name


@pytest.mark.parametrize("command", sorted(TAKES_A_LANGUAGE))
def test_an_unknown_language_is_one_line_and_exit_2(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(command, PROBLEM, "--lang", "rust", *TAKES_A_LANGUAGE[command])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("codesolve: error: argument --lang: ")
    assert "rust" in line


def test_every_command_that_reads_problems_is_listed_here() -> None:
    # A new command with a problem file (or a language) must join the tables above.
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    with_format = {name for name, p in sub.choices.items() if any("--format" in a.option_strings for a in p._actions)}
    with_lang = {name for name, p in sub.choices.items() if any("--lang" in a.option_strings for a in p._actions)}
    assert with_format == set(TAKES_A_PROBLEM_FILE)
    assert with_lang == set(TAKES_A_LANGUAGE)


def test_a_reply_s_fence_tags_are_the_language_names_the_cli_takes() -> None:
    from codesolve.tasks.extract import LANGUAGE_TAGS
    from sandbox import get_language, languages

    assert set(LANGUAGE_TAGS) == set(languages())
    for name, tags in LANGUAGE_TAGS.items():
        assert {get_language(tag).name for tag in tags} == {name}  # each tag is a --lang name or alias

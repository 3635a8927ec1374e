"""The pieces that keep untrusted problem files in bounds, one by one.

The hostile corpus (``test_hostile_inputs.py``) checks the end-to-end rule;
these pin each mechanism: the package reader, record paths, the decode
budget, the YAML pre-scan, excerpts in messages and surrogate scrubbing.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

import pytest

from codesolve.errors import ProblemFormatError
from codesolve.tasks import CompetitiveProblem, dump_problems, load_problem, load_problems
from codesolve.tasks.loaders import _yaml
from codesolve.tasks.loaders._limits import MIN_INFLATE, InflateError, decode_budget, excerpt, inflate, one_line
from codesolve.tasks.loaders._package import Package, check_record_path, check_repo_source
from tests.tasks.conftest import lcb_compress, lcb_record, make_package, write_jsonl
from tests.tasks.hostile_corpus import CANARY, _alias_bomb


def _secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside.txt"
    path.write_text(CANARY)
    return path


def test_links_inside_the_package_are_read_and_links_out_refused(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    (package / "data" / "sample" / "2.in").symlink_to(package / "data" / "sample" / "1.in")
    (package / "data" / "sample" / "2.ans").symlink_to("1.ans")  # relative, inside
    problem = load_problem(package)
    assert isinstance(problem, CompetitiveProblem)
    assert [t.name for t in problem.public_tests] == ["sample/1", "sample/2"]
    assert problem.public_tests[1].expected == "3\n"

    (package / "data" / "sample" / "3.in").write_text("1\n")
    (package / "data" / "sample" / "3.ans").symlink_to(_secret(tmp_path))
    with pytest.raises(ProblemFormatError) as err:
        load_problems(package)
    message = str(err.value)
    assert message == f"{package}/data/sample/3.ans: refused: a link to outside the package"
    assert CANARY not in message


def test_a_link_that_climbs_out_and_back_in_is_fine(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    answer = package / "data" / "sample" / "1.ans"
    answer.unlink()
    answer.symlink_to(f"../../../{package.name}/data/secret/b.ans")  # resolves inside the package
    assert load_problem(package).public_tests[0].expected == "7\n"  # type: ignore[union-attr]


def test_the_package_may_itself_be_reached_through_a_link(tmp_path: Path) -> None:
    package = make_package(tmp_path / "real")
    (tmp_path / "alias").symlink_to(package, target_is_directory=True)
    assert load_problem(tmp_path / "alias").id == "real"


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    reader = Package(package)
    (package / "data" / "sample" / "again.ans").symlink_to("1.ans")
    first = reader.read_text("data/sample/1.ans")
    assert reader.read_text("data/sample/again.ans") is first


@pytest.mark.parametrize("target", ["/proc/self/environ", "/dev/zero", "/etc/passwd"])
def test_reader_refuses_host_files(tmp_path: Path, target: str) -> None:
    package = make_package(tmp_path / "pkg")
    (package / "leak").symlink_to(target)
    reader = Package(package)
    with pytest.raises(ProblemFormatError, match="refused"):
        reader.read_text("leak")
    with pytest.raises(ProblemFormatError, match="refused"):
        reader.read_text("../pkg/leak")
    with pytest.raises(ProblemFormatError, match="outside the package"):
        reader.read_text("../outside")


def test_fifo_and_device_like_files_are_never_opened(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    os.mkfifo(package / "pipe")
    reader = Package(package)
    assert reader.kind("pipe") == "other"
    with pytest.raises(ProblemFormatError, match="not a regular file"):
        reader.read_text("pipe")  # would block forever if it were opened for reading


def test_record_paths_stay_in_the_problem_files_directory(tmp_path: Path) -> None:
    (tmp_path / "repos" / "calc").mkdir(parents=True)
    assert check_record_path(tmp_path, "repos/calc", "repo_path") == "repos/calc"
    (tmp_path / "repos" / "out").symlink_to("/etc")
    for bad in ("/etc", "../x", "repos/../../x", "repos/out"):
        with pytest.raises(ValueError, match="repo_path"):
            check_record_path(tmp_path, bad, "repo_path")
    assert check_repo_source(tmp_path, "https://github.com/a/b.git") == "https://github.com/a/b.git"
    for bad in ("file:///etc", "ext::sh -c id", "git@github.com:a/b", "ssh://h/r", "/srv/repo", "https://a b"):
        with pytest.raises(ValueError, match="repo_source"):
            check_repo_source(tmp_path, bad)


def test_decode_budget_is_charged_as_data_streams() -> None:
    small = zlib.compress(b"x" * (MIN_INFLATE + 1))
    with decode_budget(len(small)), pytest.raises(InflateError, match="decompresses to more than"):
        inflate(small)
    with decode_budget(len(small)) as budget:
        inflate(zlib.compress(b"x" * 1000))
        assert budget.used == 1000
    with pytest.raises(InflateError) as err:
        inflate(b"not zlib")
    assert err.value.corrupt


def test_the_budget_spans_the_whole_file(tmp_path: Path) -> None:
    # Each record's pickle is small, together they pass what a 1x gzip of this size may decode.
    fields = [lcb_compress(json.dumps([{"input": "1" * 100, "output": "1"}] * 40_000)) for _ in range(2)]
    records = [lcb_record(question_id=f"q{i}", private_test_cases=f) for i, f in enumerate(fields)]
    path = write_jsonl(tmp_path / "lcb.jsonl", records)
    with pytest.raises(ProblemFormatError, match="decompresses to more than"):
        load_problems(path)
    assert len(load_problems(write_jsonl(tmp_path / "one.jsonl", records[:1]))) == 1


def test_gzip_multi_member_files_still_load(tmp_path: Path) -> None:
    line = json.dumps({"kind": "competitive", "id": "a", "public_tests": [{"name": "t"}]}) + "\n"
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(line.encode()) + gzip.compress(line.replace('"a"', '"b"').encode()))
    assert [p.id for p in load_problems(path)] == ["a", "b"]


def test_yaml_prescan_bounds_aliases_but_our_dumps_load(tmp_path: Path) -> None:
    with pytest.raises(_yaml.YamlLimitError, match="aliases expand"):
        _yaml.load(_alias_bomb(levels=7, width=9))
    assert _yaml.load("a: &x [1, 2]\nb: *x\n") == {
        "a": [1, 2],
        "b": [1, 2],
    }
    problems = load_problems(Path(__file__).resolve().parents[2] / "problems" / "examples" / "examples.yaml")
    dump_problems(problems, tmp_path / "again.yaml")
    assert load_problems(tmp_path / "again.yaml") == problems


def test_yaml_non_string_keys_are_counted() -> None:
    assert _yaml.load("{1: a, 2: b}") == {1: "a", 2: "b"}
    assert _yaml.load('{"1": a}') == {"1": "a"}
    with pytest.raises(_yaml.YamlLimitError, match="not strings"):
        _yaml.load("{" + ", ".join(f"{i}: 0" for i in range(_yaml.MAX_PLAIN_KEYS + 1)) + "}")


def test_excerpts_are_bounded_whatever_the_value() -> None:
    nested: list[object] = []
    for _ in range(30):
        nested = [nested] * 10  # 10**30 leaves once expanded
    assert len(excerpt(nested)) < 1000
    assert len(excerpt("x" * 10_000_000)) < 100
    assert excerpt(10**5000).startswith("<int") or len(excerpt(10**5000)) < 100
    assert one_line("a\n" * 10_000_000).endswith("…")
    assert len(one_line("a\n" * 10_000_000)) <= 201


def test_lone_surrogates_become_replacement_characters(tmp_path: Path) -> None:
    statement = json.dumps("bad \ud800 text")  # the escape \\ud800 in the file
    line = '{"kind": "competitive", "id": "s", "statement": ' + statement + ', "public_tests": [{"name": "t"}]}'
    (tmp_path / "s.jsonl").write_text(line + "\n")
    problem = load_problem(tmp_path / "s.jsonl")
    assert problem.statement == "bad \ufffd text"  # type: ignore[union-attr]
    problem.model_dump_json()
    lcb = lcb_record(private_test_cases=lcb_compress(json.dumps([{"input": "\udfff", "output": "1"}])))
    loaded = load_problem(write_jsonl(tmp_path / "lcb.jsonl", [lcb]))
    assert loaded.hidden_tests[0].stdin == "\ufffd"  # type: ignore[union-attr]

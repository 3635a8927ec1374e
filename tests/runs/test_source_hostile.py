"""The batch's own problem stream holds the loaders' rules for untrusted files.

A batch streams JSONL line by line instead of going through the loaders' whole-file
reader, so each rule of that reader is checked here again: regular files only, the
decode budget charged while a .gz streams, bounded records, and text scrubbed at load.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from codesolve.errors import ProblemFormatError
from codesolve.tasks import stream_problems
from tests.runs.batchkit import sum_problem, write_problems


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "problems.jsonl"
    os.mkfifo(fifo)
    done = threading.Event()

    def load() -> None:
        with pytest.raises(ProblemFormatError, match="not a regular file"):
            list(stream_problems([fifo]))
        done.set()

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(5)
    assert done.is_set(), "reading a FIFO blocked"


def test_a_gzip_bomb_stops_at_the_decode_budget(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    record = json.loads(sum_problem(0).model_dump_json())
    with gzip.open(bomb, "wt") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.write("\n" * (64 << 20))  # 64 MiB of blank lines: a few KiB on disk
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ProblemFormatError, match="decompresses to more than"):
        list(stream_problems([bomb]))


def test_an_oversized_record_is_that_records_error(tmp_path: Path) -> None:
    path = write_problems(tmp_path / "p.jsonl", 1)
    with path.open("a") as handle:
        handle.write('{"id": "' + "x" * (65 << 20) + '"}\n')
        handle.write(sum_problem(1).model_dump_json() + "\n")
    items = list(stream_problems([path]))
    assert [item.problem is not None for item in items] == [True, False, True]
    assert "longer than" in items[1].error


def test_a_lone_surrogate_is_scrubbed_at_load(tmp_path: Path) -> None:
    record = json.loads(sum_problem(0).model_dump_json())
    record["statement"] = "add two numbers \\ud800 please"
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(record).replace("\\\\ud800", "\\ud800") + "\n")
    [item] = list(stream_problems([path]))
    assert item.problem is not None
    assert "\ud800" not in item.problem.statement
    item.problem.model_dump_json()  # writable as UTF-8

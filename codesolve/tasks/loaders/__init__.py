"""Problem loaders: one small module per input format, and one entry point for all of them.

:func:`load_problems` detects the format (or takes ``format=``), reads
gzip transparently, and raises :class:`codesolve.errors.ProblemFormatError`
naming the file, the record and the field for anything malformed.
"""

from __future__ import annotations

from codesolve.tasks.loaders._registry import ALIASES, FORMATS, Format, LoadResult, detect_format, read_problems
from codesolve.tasks.loaders.load import load_problem, load_problems
from codesolve.tasks.loaders.native import dump_problems, dumps_jsonl, dumps_yaml, problem_record
from codesolve.tasks.loaders.stream import Item, check_sources, count_records, stream_problems

__all__ = [
    "ALIASES",
    "FORMATS",
    "Format",
    "Item",
    "LoadResult",
    "check_sources",
    "count_records",
    "detect_format",
    "dump_problems",
    "dumps_jsonl",
    "dumps_yaml",
    "load_problem",
    "load_problems",
    "problem_record",
    "read_problems",
    "stream_problems",
]

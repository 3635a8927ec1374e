"""Loading untrusted YAML in bounded time and memory.

PyYAML's safe loader already refuses object tags, but it still lets a
470-byte document of nested aliases stand for billions of nodes (anything
that walks or prints the result expands it), and it builds mapping keys of
any type, so integer keys chosen to collide in Python's hash make a dict cost
quadratic time. Before constructing anything, one linear pass over the
parser's events bounds:

* the nodes written (:data:`MAX_NODES`; YAML is for hand-written problems:
  JSONL holds large sets, and reads about ten times faster);
* the nodes the document stands for once every alias is expanded
  (:data:`MAX_EXPANDED`), so an alias bomb is refused, while our own dumps'
  few shared aliases still load;
* mapping keys that are not strings (:data:`MAX_PLAIN_KEYS`): string hashes
  are randomised, numbers' are not.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_NODES = 100_000
"""Most nodes (scalars, sequences, mappings, aliases) in one YAML problem file."""
MAX_EXPANDED = 1_000_000
"""Most nodes a YAML file may stand for with its aliases expanded."""
MAX_PLAIN_KEYS = 1_000
"""Most non-string mapping keys in one YAML file."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # never yaml.Loader: no object tags
_STR = "tag:yaml.org,2002:str"


class YamlLimitError(yaml.YAMLError):
    """The document is valid YAML but too costly to load."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class _Frame:
    __slots__ = ("anchor", "is_map", "key_next", "size")

    def __init__(self, anchor: str | None, is_map: bool) -> None:
        self.anchor = anchor
        self.is_map = is_map
        self.key_next = is_map
        self.size = 1


class _Scan:
    """The event pass: counts written and expanded nodes, and non-string keys."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.nodes = 0
        self.extra = 0
        self.plain_keys = 0
        self.anchors: dict[str, int] = {}
        self.stack: list[_Frame] = []

    def fail(self, problem: str, event: yaml.Event) -> YamlLimitError:
        mark = event.start_mark
        return YamlLimitError(problem, mark.line + 1 if mark is not None else None)

    def _is_key(self) -> bool:
        if not self.stack or not self.stack[-1].is_map:
            return False
        frame = self.stack[-1]
        frame.key_next = not frame.key_next
        return not frame.key_next

    def _done(self, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = size
        if self.stack:
            self.stack[-1].size += size

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise self.fail(f"more than {MAX_NODES} YAML nodes; use JSONL for large problem sets", event)
            is_key = self._is_key()
        if isinstance(event, yaml.ScalarEvent):
            if is_key and self._resolves_to_non_str(event):
                self.plain_keys += 1
                if self.plain_keys > MAX_PLAIN_KEYS:
                    raise self.fail(f"more than {MAX_PLAIN_KEYS} mapping keys that are not strings", event)
            self._done(1, event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            size = self.anchors.get(event.anchor or "", 1)
            self.extra += size - 1
            self._done(size, None)
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if is_key:
                self.plain_keys += 1  # a collection as a key is never a string
            self.stack.append(_Frame(event.anchor, isinstance(event, yaml.MappingStartEvent)))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)) and self.stack:
            frame = self.stack.pop()
            self._done(frame.size, frame.anchor)
        if self.nodes + self.extra > MAX_EXPANDED:
            raise self.fail(f"aliases expand to more than {MAX_EXPANDED} nodes", event)

    def _resolves_to_non_str(self, event: yaml.ScalarEvent) -> bool:
        if event.tag not in (None, "!"):
            return event.tag != _STR
        if not event.implicit[0]:  # quoted: always a string
            return False
        tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        return bool(tag != _STR)


def check_events(text: str) -> None:
    """Raise :class:`YamlLimitError` (or a parse error) when ``text`` is too costly to construct."""
    loader = _Loader(text)
    try:
        scan = _Scan(loader)
        while loader.check_event():
            scan.event(loader.get_event())  # type: ignore[no-untyped-call]
    finally:
        loader.dispose()


def load_all(text: str) -> list[Any]:
    """Every document of ``text``, after :func:`check_events` found it safe to build."""
    check_events(text)
    return list(yaml.load_all(text, Loader=_Loader))


def load(text: str) -> Any:
    """The single document of ``text`` (``None`` when empty), bounded like :func:`load_all`."""
    check_events(text)
    return yaml.load(text, Loader=_Loader)

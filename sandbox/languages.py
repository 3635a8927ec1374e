"""The language table, loaded from ``languages.toml`` beside this module."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal

from sandbox.errors import InvalidRequest

if TYPE_CHECKING:
    from sandbox.runtime.wire import LanguageWire


@dataclass(frozen=True)
class Language:
    """How to compile and run one language inside the sandbox."""

    name: str
    aliases: tuple[str, ...]
    source_name: str
    run: tuple[str, ...]
    runner: Literal["fork", "exec"]
    compile: tuple[str, ...] | None = None
    oom_markers: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    """File name endings of the language's sources, all compiled together (``{sources}``)."""

    def to_wire(self, entry: str, files: tuple[str, ...] = ()) -> LanguageWire:
        """The JSON form the driver reads, with ``{entry}`` and ``{sources}`` filled in."""
        sources = [entry, *(name for name in files if name != entry and name.endswith(self.sources or ("\0",)))]

        def fill(cmd: tuple[str, ...]) -> list[str]:
            return [
                out for part in cmd for out in (sources if part == "{sources}" else [part.replace("{entry}", entry)])
            ]

        return {
            "name": self.name,
            "compile": None if self.compile is None else fill(self.compile),
            "run": fill(self.run),
            "runner": self.runner,
            "oom_markers": list(self.oom_markers),
        }


@cache
def languages() -> dict[str, Language]:
    """Every known language by canonical name."""
    raw = tomllib.loads(resources.files("sandbox").joinpath("languages.toml").read_text())
    table: dict[str, Language] = {}
    for name, spec in raw.items():
        compile_cmd = spec.get("compile")
        table[name] = Language(
            name=name,
            aliases=tuple(spec.get("aliases", ())),
            source_name=spec["source_name"],
            run=tuple(spec["run"]),
            runner=spec["runner"],
            compile=tuple(compile_cmd) if compile_cmd else None,
            oom_markers=tuple(spec.get("oom_markers", ())),
            sources=tuple(spec.get("sources", ())),
        )
    return table


def get_language(name: str) -> Language:
    """Look a language up by name or alias (case-insensitive)."""
    key = name.lower()
    for lang in languages().values():
        if key == lang.name or key in lang.aliases:
            return lang
    raise InvalidRequest(f"unknown language {name!r}; known: {', '.join(sorted(languages()))}")

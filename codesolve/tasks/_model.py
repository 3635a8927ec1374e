"""The base of every persisted problem model, and the error a cross-field rule raises."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InvalidField(ValueError):
    """A cross-field rule failed; ``field`` names the offending field (a dotted path)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(problem)


class FrozenModel(BaseModel):
    """Frozen, and strict about unknown fields: the base of every persisted problem record."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

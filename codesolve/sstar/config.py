"""Engine configuration and budgets (pydantic, ``extra="forbid"``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Selector = Literal["sstar", "codet", "majority", "first", "random"]
"""How the final program is chosen among public-passing candidates."""
Synth = Literal["llm", "hypothesis", "both"]
"""Where selection's inputs come from: the model, LLM-free synthesis, or both."""
DEFAULT_SYNTH: dict[str, Synth] = {"sstar": "both", "majority": "hypothesis", "codet": "hypothesis"}


class Budget(BaseModel):
    """Caps per problem. ``None`` means no cap. On a cap the engine returns the best so far."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_tokens: int | None = Field(default=None, gt=0)
    """Total prompt + completion tokens across every role."""
    max_usd: float | None = Field(default=None, gt=0)
    """Dollars, from the price table (unknown prices count as zero and are reported as unknown)."""
    max_wall_s: float | None = Field(default=None, gt=0)
    """Wall-clock seconds for the whole problem."""
    max_judge_calls: int = Field(default=24, ge=0)
    """Judge calls (distinguishing inputs + verdicts) in the selection phase."""


class EngineConfig(BaseModel):
    """Everything the S* loop needs besides the model and the sandbox."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    n: int = Field(default=8, ge=1, le=128)
    """Candidates generated in parallel."""
    rounds: int = Field(default=2, ge=0, le=10)
    """Debugging rounds per candidate against the public tests."""
    temperature: float = Field(default=0.7, ge=0, le=2)
    """Sampling temperature of generation."""
    debug_temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature of debugging."""
    max_tokens: int = Field(default=4096, gt=0)
    """Completion cap of one call."""
    selector: Selector = "sstar"
    """``sstar`` (synthesis + grounded judge), ``codet`` (dual execution agreement), ``majority``,
    ``first`` or ``random``."""
    synth_inputs: int = Field(default=8, ge=0, le=64)
    """Inputs to ask the synthesizer for."""
    synth: Synth | None = None
    """Input sources; ``None``: ``both`` for ``sstar``, ``hypothesis`` for ``majority`` (and ``codet``'s clusters)."""
    free_inputs: int = Field(default=24, ge=0, le=256)
    """LLM-free inputs made per selection (edge cases first)."""
    codet_tests: int = Field(default=10, ge=1, le=100)
    """Test cases (with expected outputs) to ask the model for, for ``codet``."""
    lang: Literal["python", "cpp"] = "python"
    """The language candidates are written in (``cpp``: stdin problems only)."""
    adaptive: bool = False
    """Sample in waves: stop early when the survivors agree, sample more when none survive."""
    judge_ahead: bool = True
    """Ask the judge's first distinguishing input beside synthesis when the LLM-free rows already
    split the survivors (:mod:`codesolve.sstar.ahead`): a model latency sooner, at the price of a
    call dropped when the whole table names another pair."""
    first_wave: int = Field(default=4, ge=1, le=128)
    """Candidates in the first wave of an adaptive run."""
    seed: int = 0
    """Seed of the ``random`` selector (combined with the task id)."""
    history_chars: int = Field(default=24_000, gt=0)
    """Cap on the debug history kept in a prompt; the latest rounds are kept."""
    budget: Budget = Field(default_factory=Budget)
    """Caps per problem."""


def synth_sources(config: EngineConfig) -> Synth:
    """The input sources in effect for a config (its ``synth``, else the selector's default)."""
    return config.synth or DEFAULT_SYNTH.get(config.selector, "both")

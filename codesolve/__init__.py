"""codesolve: S*-style test-time scaling for code generation.

Generate N candidates, debug them against public tests in Docker sandboxes,
then select among survivors by adaptive input synthesis and a judge grounded
on real execution output.

The library in one screen::

    problem = load_problem("problems/examples/examples.yaml", id="examples/mean")
    llm = LLMConfig(default=EndpointConfig(model="gpt-4o-mini"))
    result = anyio.run(solve, problem, llm, EngineConfig(n=8))
    print(result.solution.code)

Everything here is the public API; the exception tree is in :mod:`codesolve.errors`, and
``SandboxError`` (the root of :mod:`sandbox.errors`) is here too, since ``solve`` opens a
sandbox. Anything else may change.
"""

from codesolve.errors import (
    BudgetExceeded,
    CodesolveError,
    LLMConfigError,
    LLMError,
    LLMRequestError,
    LLMUnreachable,
    ProblemFormatError,
    StoreError,
    UsageError,
)
from codesolve.llm import EndpointConfig, LLMConfig, Price, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.single import SolveResult, solve, solve_one
from codesolve.sstar import Budget, EngineConfig, Solution, StopReason, Trace
from codesolve.tasks import (
    CompetitiveProblem,
    FunctionFixTask,
    Problem,
    PublicProblem,
    SweInstance,
    TestSpec,
    load_problem,
    load_problems,
)
from sandbox import DockerConfig, LocalConfig, SandboxConfig, SandboxError

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "BudgetExceeded",
    "CodesolveError",
    "CompetitiveProblem",
    "DockerConfig",
    "EndpointConfig",
    "EngineConfig",
    "FunctionFixTask",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMRequestError",
    "LLMUnreachable",
    "LocalConfig",
    "Price",
    "Problem",
    "ProblemFormatError",
    "PublicProblem",
    "SandboxConfig",
    "SandboxError",
    "Scenario",
    "ScriptedServer",
    "Solution",
    "SolveResult",
    "StopReason",
    "StoreError",
    "SweInstance",
    "TestSpec",
    "Trace",
    "UsageError",
    "__version__",
    "load_problem",
    "load_problems",
    "scripted_endpoint",
    "solve",
    "solve_one",
]

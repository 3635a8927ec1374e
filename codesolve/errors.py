"""The codesolve exception tree, documented in one place.

::

    CodesolveError                 anything codesolve raises on purpose
    ├── UsageError                 a bad flag, option or config value        (exit 2)
    ├── ProblemFormatError         a malformed problem file: file, record, field (exit 2)
    ├── LLMError                   talking to the model failed
    │   ├── LLMConfigError         no API key, bad base URL, unknown role    (exit 2)
    │   ├── LLMUnreachable         the endpoint does not answer              (exit 2)
    │   └── LLMRequestError        the endpoint refused: auth, context length, bad request (exit 2)
    ├── BudgetExceeded             a cap (tokens, dollars, wall time, calls) was hit
    ├── RepositoryError            a repository fix cannot go on: tests already pass, no report, apply refused (exit 2)
    └── StoreError                 the results store is unusable             (exit 2)

Sandbox errors live in :mod:`sandbox.errors` (the sandbox imports nothing from
codesolve); the CLI maps ``sandbox.errors.SandboxUnavailable`` to exit 2 too.
"""

from __future__ import annotations


class CodesolveError(Exception):
    """Base of every error codesolve raises on purpose."""


class UsageError(CodesolveError):
    """A command-line flag, option or config value is wrong."""


class ProblemFormatError(CodesolveError):
    """A problem file is malformed. The message names the file, the record and the field."""

    def __init__(self, path: str, record: str | None, field: str | None, problem: str) -> None:
        self.path = path
        self.record = record
        self.field = field
        self.problem = problem
        where = path
        if record is not None:
            where += f": record {record}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {problem}")


class LLMError(CodesolveError):
    """Talking to the model failed."""


class LLMConfigError(LLMError):
    """The model configuration is unusable (missing key, bad URL, unknown role)."""


class LLMUnreachable(LLMError):
    """The endpoint did not answer within the deadline and retries."""


class LLMRequestError(LLMError):
    """The endpoint refused the request (auth, context length, bad request, unknown model)."""


class RepositoryError(CodesolveError):
    """A repository fix cannot go on (the tests already pass, pytest cannot run them, an apply is refused)."""


class BudgetExceeded(CodesolveError):
    """A budget cap was hit; the engine returns the best candidate so far with this reason."""


class StoreError(CodesolveError):
    """The results store (SQLite) cannot be opened or written."""

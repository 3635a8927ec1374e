"""In-sandbox probe (stdlib only; shipped as text): call one repo function on literal inputs.

Run as ``python3 .codesolve/probe.py SPEC.json``. Each input is a Python list
literal of positional arguments; each call gets its own alarm. What each call
returned (its ``repr``) or raised (the exception's type) is written as JSON to
the spec's ``out`` file, which the host reads back.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import sys
from types import FrameType
from typing import Any

ROOT = os.getcwd()
SHOWN = 2000


class CallTimeout(BaseException):
    """The call ran past its alarm (a BaseException: the function cannot swallow it with ``except Exception``)."""


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise CallTimeout()


def _resolve(module: str, qualname: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _one(function: Any, text: str, timeout: float) -> dict[str, str]:
    try:
        args = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return {"kind": "bad-input", "text": "not a Python literal"}
    if not isinstance(args, list):
        return {"kind": "bad-input", "text": "not a list of arguments"}
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        value = function(*args)
        if hasattr(value, "__next__"):
            value = list(value)  # a generator's behaviour is what it yields
        return {"kind": "value", "text": repr(value)[:SHOWN]}
    except CallTimeout:
        return {"kind": "timeout", "text": f"no result within {timeout}s"}
    except RecursionError:
        return {"kind": "crash", "text": "RecursionError"}
    except Exception as exc:
        return {"kind": "raise", "text": f"{type(exc).__name__}: {str(exc)[:300]}", "type": type(exc).__name__}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main() -> None:
    """Call the spec's function on each input; write what happened."""
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    sys.path[0] = ROOT
    for extra in spec.get("paths", []):
        sys.path.insert(0, os.path.join(ROOT, extra))
    signal.signal(signal.SIGALRM, _alarm)
    try:
        function = _resolve(spec["module"], spec["qualname"])
        rows = [_one(function, text, spec["timeout"]) for text in spec["inputs"]]
    except BaseException as exc:
        rows = [{"kind": "crash", "text": f"import failed: {type(exc).__name__}"} for _ in spec["inputs"]]
    with open(spec["out"], "w") as out:
        json.dump(rows, out)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

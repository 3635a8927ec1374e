"""How a forked test child runs Python: as a script, a call, or a check. Standard library only.

The fork server (:mod:`sandbox.runtime.forkserver`) gets this as code the driver compiled at
start-up (it imports nothing from disk once candidates run). Three modes:

* **script**: the program runs as ``__main__``, as ``python3 main.py`` would.
* **call** (``function`` set): the call arguments are read from stdin first,
  then stdin is left empty; the module runs under the name ``solution`` (so an
  ``if __name__ == "__main__":`` demo block stays quiet and cannot read the
  test's input, as in the reference harnesses, which import or ``exec`` it);
  then the function is called and the ``repr`` of its result is the answer.
* **check** (``check`` source set): the check (a dataset's asserts) runs in this
  process and the program in a child forked before any of its code runs, as the
  module ``solution``; the check reaches the module's names across the two
  processes (:mod:`sandbox.runtime.crossing`); completing is passing.

The answer (a call's result, a check's completion) travels on the **result
channel**, a descriptor of its own (:data:`RESULT_FD`), never on stdout: what
the program prints is captured output, shown in feedback, never mixed into the
answer. Each record carries the test's nonce, which only this harness holds
(it is not in the program's namespace), so a program that writes the channel
on purpose, or exits early, cannot forge a call's result (code in the same
interpreter could still dig the nonce out of the harness's frames, but it would
have to write the very value the call should return). A check's program never
holds the channel at all.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from sandbox.runtime.wire import Run

RESULT_FD = 200
"""Where the result channel sits in a test child: far above the descriptors a program opens."""
COMPILED_FD = 199
"""With ``compile_first``: where the child says that the program compiled, then closes it before
any of the program's code runs (so the program can never write it, nor forge a pass there)."""
MODULE_NAME = "solution"
"""The program's module name in call and check mode (anything but ``__main__``)."""


def run(req: Run, stdio: tuple[IO[str], IO[str], IO[str]], home: str, code: types.CodeType | None) -> int:
    """Run the test ``req`` describes in this (forked, limited) process; the exit status."""
    nonce = str(req.pop("nonce", ""))  # kept here only, out of the program's reach by name
    entry = req["entry"]
    sys.stdin, sys.stdout, sys.stderr = stdio
    sys.argv = [entry]
    sys.path[0] = home
    try:
        return _execute(req, nonce, code)
    finally:
        # The caller leaves with os._exit, which flushes nothing: without this a
        # traceback (or output printed before a crash) would be lost.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass  # e.g. past the output limit: the verdict says so


def load_code(entry: str, path: str = "") -> types.CodeType:
    """Compile the entry file under its bare name (tracebacks, hence debug prompts, stay stable),
    read from ``path`` (the same file, reached another way) when one is given."""
    with open(path or entry, encoding="utf-8") as fh:
        return compile(fh.read(), os.path.basename(entry), "exec")


def _execute(req: Run, nonce: str, code: types.CodeType | None) -> int:
    entry, function, check = req["entry"], req.get("function"), req.get("check")
    try:
        code = code or load_code(entry)
        if req.get("compile_first"):
            # The syntax check, done by the first test itself instead of a child of its own.
            os.write(COMPILED_FD, b"1")
            os.close(COMPILED_FD)
        if check is not None:
            # sandbox.runtime.crossing.split_check: its code runs after ours, in this namespace
            # (forkclient.HARNESS_SOURCE); looked up here, so that neither module imports the other's.
            split_check: Any = globals()["split_check"]
            return int(split_check(req, nonce, code, check))
        args = _take_call_args() if function is not None else []
        module = _load(entry, code, function is not None)
        if function is not None:
            _deliver(nonce, repr(plain(_target(module, function)(*args))))
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException as exc:
        _show(exc)
        return 1


def _load(entry: str, code: types.CodeType, imported: bool) -> types.ModuleType:
    """Run the program as a module: ``__main__``, or (``imported``) under :data:`MODULE_NAME`."""
    module = types.ModuleType(MODULE_NAME if imported else "__main__")
    module.__file__ = entry
    module.__dict__["__builtins__"] = builtins
    sys.modules[module.__name__] = module
    exec(code, module.__dict__)
    return module


def _show(exc: BaseException) -> None:
    """Print ``exc`` as ``python3 main.py`` would, without this module's frames on top, with the
    interpreter's own (C) printer: the traceback module is not imported here."""
    ours = _execute.__code__.co_filename
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == ours:
        tb = tb.tb_next
    last = None  # the innermost frame not ours: where a check met the program's exception
    step = tb
    while step is not None:
        last = step if step.tb_frame.f_code.co_filename != ours else last
        step = step.tb_next
    if last is not None:
        last.tb_next = None
    sys.__excepthook__(type(exc), exc.with_traceback(tb), tb)


def _take_call_args() -> Any:
    """The call arguments, read before any program code runs; stdin is then left empty,
    so module-level code (a demo block, a stray ``input()``) finds nothing to read."""
    text = sys.stdin.read()
    empty, writer = os.pipe()
    os.close(writer)
    os.dup2(empty, 0)
    os.close(empty)
    return literal(text)


def literal(text: str) -> Any:
    """What ``ast.literal_eval(text)`` gives (Python 3.11's rules), without importing :mod:`ast`.

    ``ast`` pulls in ``enum``, ``contextlib`` and more: ~7 ms of every call-based batch, in
    the fork server that imported it for its children, against ~0.1 ms for the tree alone from
    ``compile`` and the built-in ``_ast`` node types. Anything but a literal raises ValueError.
    """
    import _ast

    tree: Any = compile(text.lstrip(" \t"), "<unknown>", "eval", _ast.PyCF_ONLY_AST)
    return _value(tree.body, _ast)


def _value(node: Any, nodes: Any) -> Any:
    if isinstance(node, nodes.Constant):
        return node.value
    if isinstance(node, (nodes.Tuple, nodes.List, nodes.Set)):
        items = [_value(item, nodes) for item in node.elts]
        return tuple(items) if isinstance(node, nodes.Tuple) else items if isinstance(node, nodes.List) else set(items)
    if isinstance(node, nodes.Dict):
        if len(node.keys) != len(node.values) or any(key is None for key in node.keys):
            raise _malformed(node)
        return {_value(key, nodes): _value(item, nodes) for key, item in zip(node.keys, node.values)}
    if isinstance(node, nodes.Call) and isinstance(node.func, nodes.Name) and node.func.id == "set":
        if not node.args and not node.keywords:
            return set()  # the one call a literal may hold: the empty set has no display
        raise _malformed(node)
    if isinstance(node, nodes.BinOp) and isinstance(node.op, (nodes.Add, nodes.Sub)):
        left, right = _signed_number(node.left, nodes), _number(node.right, nodes)
        if isinstance(left, (int, float)) and isinstance(right, complex):  # a complex literal: 1+2j
            return left + right if isinstance(node.op, nodes.Add) else left - right
        raise _malformed(node)
    return _signed_number(node, nodes)


def _number(node: Any, nodes: Any) -> Any:
    if isinstance(node, nodes.Constant) and type(node.value) in (int, float, complex):
        return node.value
    raise _malformed(node)


def _signed_number(node: Any, nodes: Any) -> Any:
    if isinstance(node, nodes.UnaryOp) and isinstance(node.op, (nodes.UAdd, nodes.USub)):
        operand = _number(node.operand, nodes)
        return +operand if isinstance(node.op, nodes.UAdd) else -operand
    return _number(node, nodes)


def _malformed(node: Any) -> ValueError:
    return ValueError(f"malformed node or string on line {getattr(node, 'lineno', '?')}: {node!r}")


def _target(module: types.ModuleType, function: str) -> Any:
    head, _, method = function.partition(".")
    target: Any = getattr(module, head)
    return getattr(target(), method) if method else target


def _deliver(nonce: str, answer: str) -> None:
    """One record on the result channel: ``<nonce> <length>\\n<answer>``."""
    body = answer.encode("utf-8", "surrogateescape")
    data = f"{nonce} {len(body)}\n".encode() + body
    while data:
        data = data[os.write(RESULT_FD, data) :]


def plain(value: Any, depth: int = 0) -> Any:
    """Mapping and sequence subclasses (Counter, defaultdict, deque…) as plain literals.

    Their own ``repr`` is not a Python literal, so a result that ``==`` the
    expected dict or list would otherwise fail the value checker.
    """
    # The C half of collections, built in: ``collections`` itself is ~2 ms to import in a test child.
    deque = __import__("_collections").deque  # (no stubs of its own)

    if depth > 200:
        return value
    if isinstance(value, dict):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, deque) or type(value) is list:
        return [plain(v, depth + 1) for v in value]
    if type(value) is tuple:
        return tuple(plain(v, depth + 1) for v in value)
    return value


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def read_record(data: bytes, nonce: str) -> tuple[str | None, str]:
    """The answer in a result channel's bytes, or ``(None, why)`` when there is no genuine one.

    Used by the driver: exactly one record, with this test's nonce and the
    length it announces, and nothing else (a program that wrote the channel
    itself, before or after the harness, spoils it).
    """
    if not data:
        return None, "no result: the program exited before the call or check finished"
    head, newline, body = data.partition(b"\n")
    parts = head.split(b" ")
    if not newline or len(parts) != 2 or parts[0] != nonce.encode() or not parts[1].isdigit():
        return None, "the result channel holds something the harness did not write (the program wrote to it)"
    if int(parts[1]) != len(body):
        return None, "the result channel holds more than the harness wrote (the program wrote to it)"
    return body.decode("utf-8", "surrogateescape"), ""

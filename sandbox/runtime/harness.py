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
  processes (:func:`_split_check`); completing is passing.

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

_signal: Any = __import__("_signal")  # the C core of `signal` (whose enums pull in more)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, NoReturn

    from sandbox.runtime.wire import Run

RESULT_FD = 200
"""Where the result channel sits in a test child: far above the descriptors a program opens."""
COMPILED_FD = 199
"""With ``compile_first``: where the child says that the program compiled, then closes it before
any of the program's code runs (so the program can never write it, nor forge a pass there)."""
MODULE_NAME = "solution"
"""The program's module name in call and check mode (anything but ``__main__``)."""

_MARK = "\x00codesolve"
"""First item of a tuple that stands for something plain data cannot say (see :func:`_out`)."""
_DEPTH = 100
"""Nesting past which a value crosses as a handle (self-referencing lists, deep trees)."""
_PR_SET_DUMPABLE = 4
_NO_MIRROR = ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "StopIteration", "StopAsyncIteration")


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
            return _split_check(req, nonce, code, check)
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


# ============================================================== a check beside the program
#
# A check (a dataset's asserts) runs in the test child; the program runs in a child of its own,
# forked before any of its code runs. The check meets the program's values only as plain data
# rebuilt here from their text (never the program's objects: no ``__eq__`` of theirs answers
# ``f(x) == y``), or as handles on objects that stay there (a tree's nodes, a class's instance),
# whose operations run there. Nothing of the program's runs in this process: the builtins the
# check reads, the check's code and the result channel are out of its reach (this process is not
# dumpable while the program runs, so /proc gives it neither our memory nor our descriptors).


def _split_check(req: Run, nonce: str, code: types.CodeType, check: str) -> int:
    """Run ``check`` here against the program run in a child: 0 and a pass record once it completes."""
    check_code = compile(check, "<check>", "exec")
    _dumpable(0)
    asks, asked = os.pipe()
    answered, answers = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(RESULT_FD)
        os.close(asked)
        os.close(answered)
        _dumpable(1)
        os._exit(_program_side(req["entry"], code, asks, answers))
    os.close(asks)
    os.close(answers)
    # Nothing the program's process can write may be imported here: not its directory.
    sys.path[:] = [p for p in sys.path[1:] if p]
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # (no KeyboardInterrupt the program could send us)
    _no_digit_limit()
    link = _Link(asked, answered, pid)
    link.expect("ready")
    names = _read_names(check_code) - (set(_BUILTIN_NAMES) - {str(req.get("function") or "").partition(".")[0]})
    namespace: dict[str, Any] = {"__name__": "__check__", "__builtins__": builtins}
    namespace.update(link.names(sorted(names)))
    exec(check_code, namespace)
    _deliver(nonce, "pass")
    link.close()
    return 0


_BUILTIN_NAMES = frozenset(builtins.__dict__)


def _dumpable(flag: int) -> None:
    __import__("ctypes").CDLL(None).prctl(_PR_SET_DUMPABLE, flag, 0, 0, 0)


def _read_names(code: types.CodeType) -> set[str]:
    """Every global name the check's code (and the code it defines) may read."""
    names = {n for n in code.co_names if not n.startswith("__")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _read_names(const)
    return names


class _Link:
    """Our end of the two pipes to the program's process: a request, then its answer."""

    def __init__(self, out: int, inbox: int, pid: int) -> None:
        self.out, self.inbox, self.pid = out, inbox, pid

    def ask(self, *message: Any) -> Any:
        """Send ``message``; the answer (``("raise", ...)`` is raised here as the program's exception)."""
        _send(self.out, message)
        answer = _receive(self.inbox)
        if answer is None:
            self.ended()
        if not isinstance(answer, tuple) or not answer:
            raise _ProgramError("the program's process broke the check's channel")
        if answer[0] == "raise":
            raise _mirror(answer)
        return answer

    def expect(self, word: str) -> None:
        """Wait for the program's first word (its module has run)."""
        answer = _receive(self.inbox)
        if answer is None:
            self.ended()
        if answer != (word,):
            raise _ProgramError("the program's process broke the check's channel")

    def names(self, wanted: list[str]) -> dict[str, Any]:
        """The program's module-level values of ``wanted`` (those it has)."""
        found = self.ask("names", wanted)[1]
        return {str(name): _in(value, self) for name, value in found if name in wanted}

    def value(self, *message: Any) -> Any:
        """The value an operation on the program's side gave."""
        return _in(self.ask(*message)[1], self)

    def call(self, index: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call one of the program's objects; lists, dicts and sets passed are updated as it left them."""
        answer = self.ask("call", index, _wire(list(args)), _wire(kwargs))
        for given, now in zip(args, answer[2]):
            _update(given, _in(now, self))
        return _in(answer[1], self)

    def ended(self) -> NoReturn:
        """The program's process is gone before the check finished: end as it did, never with a pass."""
        _, status = os.waitpid(self.pid, 0)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            _signal.signal(sig, _signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
        os.write(2, f"the program exited (status {code}) before the check finished\n".encode())
        os._exit(code)

    def close(self) -> None:
        """Let the program's process go (it is killed if it does not leave at once)."""
        os.close(self.out)
        os.close(self.inbox)
        try:
            os.kill(self.pid, _signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


class _ProgramError(Exception):
    """An exception the program raised whose type the check cannot name here (or a broken channel)."""


def _mirror(answer: tuple[Any, ...]) -> BaseException:
    name, message = str(answer[1]), str(answer[2])
    kind = _BUILTIN_EXCEPTIONS.get(name)
    if kind is not None and name not in _NO_MIRROR:
        try:
            return kind(message)
        except Exception:
            pass
    return _ProgramError(f"{name}: {message}")


_BUILTIN_EXCEPTIONS = {
    k: v for k, v in builtins.__dict__.items() if isinstance(v, type) and issubclass(v, BaseException)
}


def _update(given: Any, now: Any) -> None:
    # In place, as the program left it (a check may read an argument the function sorted).
    if type(given) is list and type(now) is list:
        given[:] = now
    elif type(given) in (dict, set) and type(now) is type(given):
        given.clear()
        given.update(now)


class _Remote:
    """One of the program's objects, as the check sees it: its operations run in the program's
    process, and compared with anything but another of its objects it equals nothing (a result
    that is not plain data cannot be equal to whatever a check expects)."""

    __slots__ = ("_index", "_kind", "_link")

    def __init__(self, link: _Link, index: int, kind: str) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_kind", kind)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._link.call(self._index, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return self._link.value("getattr", self._index, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._link.ask("setattr", self._index, name, _wire(value))

    def __getitem__(self, key: Any) -> Any:
        return self._link.value("op", self._index, "getitem", _wire(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._link.ask("setitem", self._index, _wire(key), _wire(value))

    def __len__(self) -> int:
        return int(self._link.value("op", self._index, "len", None))

    def __iter__(self) -> Any:
        return self._link.value("op", self._index, "iter", None)

    def __next__(self) -> Any:
        answer = self._link.ask("next", self._index)
        if answer[0] == "stop":
            raise StopIteration
        return _in(answer[1], self._link)

    def __contains__(self, item: Any) -> bool:
        return any(item == each for each in self)  # decided here, on what iterating it gives

    def __hash__(self) -> int:
        return int(self._link.value("op", self._index, "hash", None))

    def __bool__(self) -> bool:
        # Its own word, which gains a program nothing: an object true for every check is no more
        # than `return True` (an object equal to every answer would be; see _compare).
        truth = self._link.value("op", self._index, "bool", None)
        if type(truth) is not bool:
            raise TypeError(f"the truth value of a {self._kind} object of the program is not a bool")
        return truth

    def __str__(self) -> str:
        return str(self._link.value("op", self._index, "str", None))

    def __repr__(self) -> str:
        return f"<the program's {self._kind} object>"

    def _compare(self, op: str, other: Any) -> Any:
        if not isinstance(other, _Remote):
            return NotImplemented
        return self._link.value("op", self._index, op, _wire(other))

    def __eq__(self, other: object) -> Any:
        return self._compare("eq", other)

    def __ne__(self, other: object) -> Any:
        return self._compare("ne", other)

    def __lt__(self, other: Any) -> Any:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Any:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Any:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Any:
        return self._compare("ge", other)


# ---------------------------------------------------------------- the program's side


def _program_side(entry: str, code: types.CodeType, inbox: int, out: int) -> int:
    """In the program's process: run the module, then answer the check until it is done."""
    try:
        module = _load(entry, code, True)
    except SystemExit as exc:
        return _leave(_exit_code(exc))
    except BaseException as exc:
        _show(exc)
        return _leave(1)
    _flush()
    objects: list[Any] = []
    _send(out, ("ready",))
    while True:
        message = _receive(inbox)
        if message is None:
            return _leave(0)
        try:
            answer = _answer(module, objects, message)
        except SystemExit as exc:
            return _leave(_exit_code(exc))
        except BaseException as exc:
            answer = _raised(exc)
        _flush()
        _send(out, answer)


def _leave(status: int) -> int:
    _flush()
    return status


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _raised(exc: BaseException) -> tuple[str, str, str]:
    """The program's exception as the check's side will raise it (its traceback goes to stderr)."""
    try:
        _show(exc)
        message = str(exc)[:2000] if type(str(exc)) is str else ""
    except BaseException:
        message = ""
    return ("raise", type(exc).__name__, message)


_OPS: dict[str, Any] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "getitem": lambda a, b: a[b],
    "len": lambda a, _b: len(a),
    "iter": lambda a, _b: iter(a),
    "hash": lambda a, _b: hash(a),
    "bool": lambda a, _b: bool(a),
    "str": lambda a, _b: str(a),
}


def _answer(module: types.ModuleType, objects: list[Any], message: Any) -> tuple[Any, ...]:
    op = message[0]
    if op == "names":
        return ("names", [(n, _out(module.__dict__[n], objects)) for n in message[1] if n in module.__dict__])
    target = objects[int(message[1])]
    if op == "call":
        args, kwargs = _resolve(message[2], objects), _resolve(message[3], objects)
        result = target(*args, **kwargs)
        after = [_out(a, objects) if type(a) in (list, dict, set) else None for a in args]
        return ("value", _out(result, objects), after)
    if op == "getattr":
        return ("value", _out(getattr(target, str(message[2])), objects))
    if op == "setattr":
        setattr(target, str(message[2]), _resolve(message[3], objects))
        return ("value", None)
    if op == "setitem":
        target[_resolve(message[2], objects)] = _resolve(message[3], objects)
        return ("value", None)
    if op == "next":
        try:
            return ("value", _out(next(target), objects))
        except StopIteration:
            return ("stop",)
    return ("value", _out(_OPS[str(message[2])](target, _resolve(message[3], objects)), objects))


# ---------------------------------------------------------------- values across the boundary

_SCALARS = (int, str, bytes, bool, type(None))


def _out(value: Any, objects: list[Any], depth: int = 0) -> Any:
    """A program's value as plain data (read through the base types' own methods, so no override
    of the program's decides it), or a handle on it (kept in ``objects``)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float or kind is complex:
        return value if value - value == 0 else (_MARK, kind.__name__, repr(value))
    if depth > _DEPTH:
        return _handle(value, objects)
    if kind is list or kind is tuple:
        items = [_out(v, objects, depth + 1) for v in value]
        return items if kind is list else tuple(items)
    if kind is dict:
        return {_out(k, objects, depth + 1): _out(v, objects, depth + 1) for k, v in value.items()}
    if kind is set or kind is frozenset:
        return (_MARK, kind.__name__, [_out(v, objects, depth + 1) for v in value])
    if kind is types.ModuleType and type(value.__name__) is str:
        return (_MARK, "module", value.__name__)  # the check's own import of it, not the program's copy
    base = _base_value(value)
    return _handle(value, objects) if base is _NOTHING else _out(base, objects, depth + 1)


_NOTHING = object()


def _base_value(value: Any) -> Any:
    """What a subclass of a plain type, or a number or array type, holds as plain data."""
    deque = __import__("_collections").deque
    for base, read in _BASES:
        if isinstance(value, base):
            return read(value)
    if isinstance(value, deque):
        return list(value)
    if callable(getattr(type(value), "tolist", None)):  # numpy's arrays and scalars
        return value.tolist()
    if hasattr(type(value), "__index__"):
        return __import__("_operator").index(value)
    numbers = sys.modules.get("numbers")  # (Fraction, Decimal, numpy: registered with it)
    if numbers is not None and isinstance(value, numbers.Complex):
        return float(value) if isinstance(value, numbers.Real) else complex(value)
    return _NOTHING


_BASES: tuple[tuple[type, Any], ...] = (
    (int, int.__int__),
    (float, float.__float__),
    (str, str.__str__),
    (bytes, lambda v: bytes.__getitem__(v, slice(None))),
    (dict, dict.copy),
    (list, lambda v: list.__getitem__(v, slice(None))),
    (tuple, lambda v: tuple.__getitem__(v, slice(None))),
    (set, set.copy),
    (frozenset, frozenset.copy),
)


def _handle(value: Any, objects: list[Any]) -> tuple[Any, ...]:
    objects.append(value)
    name = getattr(type(value), "__qualname__", "")
    return (_MARK, "object", len(objects) - 1, name[:100] if type(name) is str else "")


def _wire(value: Any, depth: int = 0) -> Any:
    """A check's value as the program's side can rebuild it: plain data, handles, builtins, modules."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float or kind is complex:
        return value if value - value == 0 else (_MARK, kind.__name__, repr(value))
    if kind is _Remote:
        return (_MARK, "object", value._index, "")
    if depth > _DEPTH:
        raise ValueError("a value nested too deep for the check to hand to the program")
    if isinstance(value, (list, tuple)):
        items = [_wire(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {_wire(k, depth + 1): _wire(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        name = "frozenset" if isinstance(value, frozenset) else "set"
        return (_MARK, name, [_wire(v, depth + 1) for v in value])
    if kind is types.ModuleType:
        return (_MARK, "module", value.__name__)
    called = getattr(value, "__name__", None)
    if isinstance(called, str) and builtins.__dict__.get(called) is value:
        return (_MARK, "builtin", called)
    raise TypeError(f"a check cannot hand the program a {kind.__name__}: only plain data and its own objects cross")


def _in(value: Any, link: _Link) -> Any:
    """Rebuild what the program's side sent: plain data as our own objects, handles as :class:`_Remote`."""
    kind = type(value)
    if kind is tuple and value and value[0] == _MARK:
        what = value[1]
        if what == "object":
            return _Remote(link, int(value[2]), str(value[3]))
        if what in ("float", "complex"):
            return (float if what == "float" else complex)(str(value[2]))
        if what in ("set", "frozenset"):
            return (set if what == "set" else frozenset)(_in(v, link) for v in value[2])
        if what == "module":  # imported here, from the standard places only (see _split_check)
            return __import__(str(value[2]))
        raise _ProgramError("the program's process broke the check's channel")
    if kind is list or kind is tuple:
        items = [_in(v, link) for v in value]
        return items if kind is list else tuple(items)
    if kind is dict:
        return {_in(k, link): _in(v, link) for k, v in value.items()}
    return value


def _resolve(value: Any, objects: list[Any]) -> Any:
    """On the program's side: what the check sent, with handles back to the objects they stand for."""
    kind = type(value)
    if kind is tuple and value and value[0] == _MARK:
        what = value[1]
        if what == "object":
            return objects[int(value[2])]
        if what in ("float", "complex"):
            return (float if what == "float" else complex)(str(value[2]))
        if what in ("set", "frozenset"):
            return (set if what == "set" else frozenset)(_resolve(v, objects) for v in value[2])
        if what == "module":
            return __import__(str(value[2]))
        return getattr(builtins, str(value[2]))
    if kind is list or kind is tuple:
        items = [_resolve(v, objects) for v in value]
        return items if kind is list else tuple(items)
    if kind is dict:
        return {_resolve(k, objects): _resolve(v, objects) for k, v in value.items()}
    return value


def _no_digit_limit() -> None:
    # Our own repr and parse of a big int (Python 3.11 refuses past 4,300 digits by default).
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


def _send(fd: int, message: Any) -> None:
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    _no_digit_limit()
    try:
        body = repr(message).encode("utf-8", "surrogateescape")
    finally:
        if limit is not None:
            sys.set_int_max_str_digits(limit)
    data = len(body).to_bytes(8, "big") + body
    while data:
        data = data[os.write(fd, data) :]


def _receive(fd: int) -> Any:
    """The next message, or ``None`` at the end of the pipe."""
    head = _read_exactly(fd, 8)
    if head is None:
        return None
    body = _read_exactly(fd, int.from_bytes(head, "big"))
    if body is None:
        return None
    try:
        return literal(body.decode("utf-8", "surrogateescape"))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise _ProgramError("the program's process broke the check's channel") from exc


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

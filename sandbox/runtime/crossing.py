"""A check beside the program: the check runs in the test child, the program in a child of it.

Standard library only; in the fork server this source runs after :mod:`sandbox.runtime.harness`
in the same namespace (``forkclient.HARNESS_SOURCE``).

The test child forks the program's process before any of the program's code runs, runs the
dataset's check itself, and reaches the module's names across two pipes. Each side hands the
other plain data, rebuilt there from its text, or a *handle* on one of its own objects, whose
operations then run on its side (:class:`Remote`):

* a value the program returns is read through the base types' own methods (a ``Counter``, a
  namedtuple, an ``IntEnum`` arrive as dict, tuple, int), so no ``__eq__`` of the program's
  answers ``f(x) == y``; the program's own objects (a tree's nodes, a ``Solution``, a
  generator, a ``re.Match``) stay there, and a handle on one equals nothing but another of its
  objects;
* the check's own objects (QuixBugs' graph nodes) stay here: the program reads and sets their
  public attributes and calls their methods, never a name that starts with ``_`` nor a frame,
  traceback or code object (no way from a node or a generator to the check's globals, its
  builtins or this module's classes);
* lists, dicts and sets a call's arguments hold come back as the function left them.

Nothing of the program's runs in this process: the builtins the check reads, its code and the
result channel are out of the program's reach (this process is not dumpable while the program
runs: ``/proc`` gives it neither our memory nor our descriptors), and modules are imported
here from the standard places only, never from the program's directory.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

_signal: Any = __import__("_signal")  # the C core of `signal` (whose enums pull in more)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from sandbox.runtime.wire import Run
if __name__ != "_sandbox_harness":  # in the fork server this runs after the harness, in its namespace
    from sandbox.runtime.harness import RESULT_FD, _deliver, _exit_code, _load, _show, literal
    from sandbox.runtime.remote import OPS, Remote, Values, broken, mirror, raised, update_in_place

_PR_SET_DUMPABLE = 4
_BUILTIN_NAMES = frozenset(builtins.__dict__)
_INTERNALS = (types.FrameType, types.TracebackType, types.CodeType)
"""Where public names lead from a generator or a traceback of the check's (``gi_frame``,
``f_back``, ``f_globals``...) into its process: never handed to the program."""


def split_check(req: Run, nonce: str, code: types.CodeType, check: str) -> int:
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
        os._exit(_program_side(req["entry"], code, Side(asks, answers, program=True)))
    os.close(asks)
    os.close(answers)
    # Nothing the program's process can write may be imported here: not its directory.
    sys.path[:] = [p for p in sys.path[1:] if p]
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # (no KeyboardInterrupt the program could send us)
    _no_digit_limit()
    side = Side(answered, asked, program=False, peer=pid)
    side.expect_ready()
    entry = str(req.get("function") or "").partition(".")[0]
    names = _read_names(check_code) - (_BUILTIN_NAMES - {entry})
    namespace: dict[str, Any] = {"__name__": "__check__", "__builtins__": builtins}
    namespace.update(side.names(sorted(names)))
    exec(check_code, namespace)
    _deliver(nonce, "pass")
    side.close()
    return 0


def _dumpable(flag: int) -> None:
    __import__("ctypes").CDLL(None).prctl(_PR_SET_DUMPABLE, flag, 0, 0, 0)


def _read_names(code: types.CodeType) -> set[str]:
    """Every global name the check's code (and the code it defines) may read."""
    names = {n for n in code.co_names if not n.startswith("__")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _read_names(const)
    return names


def _program_side(entry: str, code: types.CodeType, side: Side) -> int:
    """In the program's process: run the module, then answer the check until it is done."""
    try:
        side.module = _load(entry, code, True)
    except SystemExit as exc:
        return _leave(_exit_code(exc))
    except BaseException as exc:
        _show(exc)
        return _leave(1)
    _flush()
    side.send(("ready",))
    try:
        side.serve_until_closed()
    except _Exit as leaving:
        return _leave(leaving.status)
    return _leave(0)


def _leave(status: int) -> int:
    _flush()
    return status


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


class _Exit(BaseException):
    """The program called ``exit`` while answering: its process ends with that status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Side(Values):
    """One process's end of the two pipes: requests out, answers in, and the other side's
    requests served meanwhile (a call of the program's may read a node of the check's)."""

    def __init__(self, inbox: int, out: int, *, program: bool, peer: int = 0) -> None:
        self.inbox, self.out, self.program, self.peer = inbox, out, program, peer
        # Buffered: a whole message (or several) per read; opened before any of the program's code runs.
        self.reader = open(inbox, "rb", closefd=False) if inbox >= 0 else None  # noqa: SIM115 (lives as long as the side)
        self.module: types.ModuleType | None = None
        self.objects: list[Any] = []
        """Our objects the other side holds handles on, by index."""
        self.index_of: dict[int, int] = {}
        self.remotes: dict[int, Remote] = {}
        """The other side's objects, one handle each (so ``is`` works on them)."""

    # ------------------------------------------------------------ the wire

    def send(self, message: Any) -> None:
        """Write one message (its text, after its length)."""
        body = _unlimited(repr, message).encode("utf-8", "surrogateescape")
        data = len(body).to_bytes(8, "big") + body
        while data:
            data = data[os.write(self.out, data) :]

    def receive(self) -> Any:
        """The next message, or ``None`` once the other side is gone."""
        if self.reader is None:
            return None
        head = self.reader.read(8)
        if len(head) != 8:
            return None
        # A megabyte at a time: the length is the other side's word, not an allocation to make.
        size, body = int.from_bytes(head, "big"), bytearray()
        while len(body) < size:
            chunk = self.reader.read(min(size - len(body), 1 << 20))
            if not chunk:
                return None  # (the other side left mid-message)
            body += chunk
        try:
            message = _unlimited(literal, body.decode("utf-8", "surrogateescape"))
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise broken() from exc
        if type(message) is not tuple or not message:
            raise broken()
        return message

    # ------------------------------------------------------------ asking

    def request(self, *message: Any) -> tuple[Any, ...]:
        """Ask the other side; serve what it asks meanwhile; raise what it raised."""
        self.send(("ask", *message))
        while True:
            got = self.receive()
            if got is None:
                self.gone()
            if got[0] == "ask":
                self.send(self.answer(got[1:]))
                continue
            if got[0] != "answer" or len(got) < 2:
                raise broken()
            if got[1] == "raise":
                raise mirror(got)
            return tuple(got[1:])

    def value(self, *message: Any) -> Any:
        """The value an operation on the other side gave."""
        answer = self.request(*message)
        return self.decode(answer[1]) if len(answer) > 1 else None

    def call(self, index: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call one of the other side's objects; lists, dicts and sets passed come back as it left them."""
        answer = self.request("call", index, self.encode(list(args)), self.encode(kwargs))
        if len(answer) != 3 or type(answer[2]) is not list:
            raise broken()
        for given, now in zip(args, answer[2]):
            if now is not None:
                update_in_place(given, self.decode(now))
        return self.decode(answer[1])

    def expect_ready(self) -> None:
        """Wait for the program's first word (its module has run)."""
        got = self.receive()
        if got is None:
            self.gone()
        if got != ("ready",):
            raise broken()

    def names(self, wanted: list[str]) -> dict[str, Any]:
        """The program's module-level values of ``wanted`` (those it has)."""
        found = self.request("names", wanted)[1]
        if type(found) is not list:
            raise broken()
        return {n: self.decode(v) for n, v in found if type(n) is str and n in wanted}

    def gone(self) -> NoReturn:
        """The other side is gone: the program ends here; the check ends as the program did."""
        if self.program:
            raise _Exit(0)
        _, status = os.waitpid(self.peer, 0)
        _flush()
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            _signal.signal(sig, _signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
        os.write(2, f"the program exited (status {code}) before the check finished\n".encode())
        os._exit(code)

    def close(self) -> None:
        """The check is done: let the program's process go."""
        os.close(self.out)
        os.close(self.inbox)
        try:
            os.kill(self.peer, _signal.SIGKILL)
            os.waitpid(self.peer, 0)
        except OSError:
            pass

    # ------------------------------------------------------------ answering

    def serve_until_closed(self) -> None:
        """The program's side: answer the check until it closes the pipes."""
        while True:
            got = self.receive()
            if got is None:
                return
            if got[0] != "ask":
                raise broken()
            self.send(self.answer(got[1:]))

    def answer(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        """Our answer to one request (what it raised, as the other side will raise it)."""
        try:
            return ("answer", *self.serve(message))
        except SystemExit as exc:
            if self.program:
                raise _Exit(_exit_code(exc)) from None
            return ("answer", *raised(exc))
        except (_Exit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # (the traceback of a call of the program's: feedback; not of a probe)
            return ("answer", *raised(exc, show=self.program and message[0] == "call"))
        finally:
            _flush()

    def serve(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        """Carry out one request on our objects."""
        op = message[0]
        if op == "names" and self.module is not None:
            found = self.module.__dict__
            return ("value", [(n, self.encode(found[n])) for n in message[1] if type(n) is str and n in found])
        target = self.objects[int(message[1])]
        if op == "call":
            args, kwargs = self.decode(message[2]), self.decode(message[3])
            result = target(*args, **kwargs)
            after = [self.encode(a) if type(a) in (list, dict, set) else None for a in args]
            return ("value", self.encode(result), after)
        if op in ("getattr", "setattr"):
            name = str(message[2])
            if not self.program and name.startswith("_"):
                raise AttributeError(f"the program may not read {name!r} of the check's objects")
            if op == "getattr":
                found = getattr(target, name)
                if not self.program and isinstance(found, _INTERNALS):
                    raise AttributeError(f"the program may not read {name!r}: it leads into the check's process")
                return ("value", self.encode(found))
            setattr(target, name, self.decode(message[3]))
            return ("value", None)
        if op == "setitem":
            target[self.decode(message[2])] = self.decode(message[3])
            return ("value", None)
        if op == "next":
            try:
                return ("value", self.encode(next(target)))
            except StopIteration:
                return ("stop",)
        return ("value", self.encode(OPS[str(op)](target, self.decode(message[2]))))


def _no_digit_limit() -> None:
    # Our own text of a big int (Python 3.11 refuses past 4,300 digits by default).
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


def _unlimited(work: Any, text: Any) -> Any:
    """``work(text)`` with no limit on an int's digits, the process's own limit kept around it
    (the program's side: its code still meets the limit it set, or the default)."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    _no_digit_limit()
    try:
        return work(text)
    finally:
        if limit is not None:
            sys.set_int_max_str_digits(limit)

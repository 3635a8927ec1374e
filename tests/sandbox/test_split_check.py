"""A check runs in a process of its own, beside the program's (``sandbox/runtime/harness.py``).

The dataset's asserts meet the program's values only as plain data rebuilt on the check's
side, or as handles on objects that stay in the program's process. So: what an honest
program does with a check (sorts an argument in place, raises what the check expects,
returns a generator, a tree, a ``re.Match``...) passes as before, and what a hostile one does
to the check's process (an object equal to everything, patched modules, a module planted
where the check imports from, the result channel reached through ``/proc``, signals) fails.
"""

from __future__ import annotations

import pytest

from sandbox import Limits, Program, Sandbox, TestCase, TestOutcome, Verdict
from tests.sandbox.test_hostile import LIMITS, describe

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


async def judge(box: Sandbox, source: str, check: str, limits: Limits = LIMITS) -> TestOutcome:
    [outcome] = await box.run_tests(Program.single("python", source), [TestCase(check=check, name="c")], limits)
    return outcome


# ============================================================ what honest programs do

HONEST = [
    pytest.param(
        "def sort_in_place(a):\n    a.sort()\n",
        "x = [3, 1, 2]\nsort_in_place(x)\nassert x == [1, 2, 3]\n",
        id="an-argument-sorted-in-place",
    ),
    pytest.param(
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n",
        "try:\n    root(-1)\nexcept ValueError as e:\n    assert 'negative' in str(e)\n"
        "else:\n    raise AssertionError\nassert root(4) == 2.0\n",
        id="the-exception-the-check-expects",
    ),
    pytest.param(
        "class Node:\n    def __init__(self, v):\n        self.v, self.left, self.right = v, None, None\n\n"
        "def height(n):\n    return 0 if n is None else 1 + max(height(n.left), height(n.right))\n",
        "root = Node(1)\nroot.left = Node(2)\nroot.left.right = Node(3)\nassert height(root) == 3\n"
        "assert root.left.v == 2\n",
        id="a-tree-of-the-programs-nodes",
    ),
    pytest.param(
        "class Solution:\n    def twoSum(self, nums, target):\n"
        "        seen = {}\n        for i, n in enumerate(nums):\n"
        "            if target - n in seen:\n                return [seen[target - n], i]\n            seen[n] = i\n",
        "def check(candidate):\n    assert candidate([2, 7, 11, 15], 9) == [0, 1]\n\ncheck(Solution().twoSum)\n",
        id="a-method-of-an-instance",
    ),
    pytest.param(
        "from collections import deque\n\n"
        "def reachable(start, goal):\n    seen, todo = {start}, deque([start])\n    while todo:\n"
        "        node = todo.popleft()\n        if node is goal:\n            return True\n"
        "        for nxt in node.successors:\n            if nxt not in seen:\n"
        "                seen.add(nxt)\n                todo.append(nxt)\n    return False\n\n"
        "def reverse(node):\n    prev = None\n    while node:\n"
        "        node.successor, prev, node = prev, node, node.successor\n    return prev\n",
        "class Node:\n    def __init__(self, value, successors=()):\n"
        "        self.value, self.successors, self.successor = value, list(successors), None\n\n"
        "c = Node('c')\nb = Node('b', [c])\na = Node('a', [b, c])\nassert reachable(a, c) is True\n"
        "assert reachable(c, a) is False\n"
        "a.successor, b.successor = b, c\nhead = reverse(a)\n"
        "assert head is c and c.successor is b and b.successor is a and a.successor is None\n",
        id="the-checks-own-graph-nodes",  # (QuixBugs' checks build their graphs themselves)
    ),
    pytest.param(
        "def upto(n):\n    yield from range(n)\n",
        "assert list(upto(3)) == [0, 1, 2]\nassert 2 in upto(3)\nassert 5 not in upto(3)\n",
        id="a-generator",
    ),
    pytest.param(
        "import re\n\ndef matches(s):\n    return re.search('a.c', s)\n",
        "assert matches('xabc')\nassert not matches('xyz')\n",
        id="a-match-object-taken-for-its-truth",
    ),
    pytest.param(
        "import collections, enum\n\nclass Color(enum.IntEnum):\n    RED = 1\n\n"
        "def counts(s):\n    return collections.Counter(s)\n\n"
        "def point():\n    return collections.namedtuple('P', 'x y')(1, 2)\n\n"
        "def red():\n    return Color.RED\n",
        "assert counts('aab') == {'a': 2, 'b': 1}\nassert point() == (1, 2)\nassert red() == 1\n",
        id="subclasses-of-plain-types",
    ),
    pytest.param(
        "import math\n\ndef weird():\n    return [math.inf, -math.inf, math.nan, frozenset({1}), {2}, 1 + 2j, -0.0]\n",
        "import math\nw = weird()\nassert w[0] == math.inf and w[1] == -math.inf and math.isnan(w[2])\n"
        "assert w[3] == frozenset({1}) and type(w[3]) is frozenset and w[4] == {2} and w[5] == 1 + 2j\n"
        "assert str(w[6]) == '-0.0'\n",
        id="floats-sets-and-complex-numbers",
    ),
    pytest.param(
        "def keep(items, kind):\n    return [i for i in items if isinstance(i, kind)]\n\nLIMIT = 5\n",
        "assert keep([1, 'a', 2.5], int) == [1]\nassert LIMIT == 5\n",
        id="a-builtin-type-handed-over-and-a-constant",
    ),
    pytest.param(
        "import math\n\ndef hyp(a, b):\n    return math.sqrt(a * a + b * b)\n",
        "assert math.isclose(hyp(3, 4), 5.0)\n",  # `math` is the program's name: the check gets its own
        id="a-module-the-program-imported",
    ),
    pytest.param(
        "def big():\n    return 7 ** 10000\n",
        "assert big() == 7 ** 10000\n",
        id="an-int-of-thousands-of-digits",
    ),
    pytest.param(
        "def last(n):\n    return n % 10\n",
        "assert last(7 ** 10000) == 1\n",  # (7 ** 4 ends in 1)
        id="an-int-of-thousands-of-digits-handed-over",
    ),
]


@pytest.mark.parametrize(("source", "check"), HONEST)
async def test_what_honest_programs_do_passes(docker_box: Sandbox, source: str, check: str) -> None:
    outcome = await judge(docker_box, source, check)
    assert outcome.verdict is Verdict.AC, describe([outcome])


async def test_a_failing_check_shows_its_line_and_the_programs_traceback(docker_box: Sandbox) -> None:
    source = "def f(x):\n    print('working on', x)\n    return {}[x]\n"
    outcome = await judge(docker_box, source, "assert f(1) == 2\n")
    assert outcome.verdict is Verdict.RE, describe([outcome])
    assert "working on 1" in outcome.stdout.text
    err = outcome.stderr.text
    assert "return {}[x]" in err  # the program's own frame, printed where it raised
    assert 'File "<check>", line 1' in err
    assert "KeyError" in err
    assert "harness" not in err  # none of the sandbox's frames


async def test_a_call_over_the_cpu_limit_is_tle(docker_box: Sandbox) -> None:
    source = "def spin():\n    while True:\n        pass\n"
    outcome = await judge(docker_box, source, "spin()\n")
    assert outcome.verdict is Verdict.TLE, describe([outcome])


async def test_an_exit_inside_a_call_is_no_pass(docker_box: Sandbox) -> None:
    source = "import sys\n\ndef f():\n    sys.exit(0)\n"
    outcome = await judge(docker_box, source, "try:\n    f()\nexcept BaseException:\n    pass\n")
    assert outcome.verdict is Verdict.RE, describe([outcome])
    assert "before the check finished" in outcome.stderr.text


# ============================================================ what hostile programs try

ALWAYS = """
class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    def __contains__(self, item):
        return True

    def __iter__(self):
        return iter(())

    __hash__ = object.__hash__


def f(*args):
    return Anything()
"""

MATH_PATCHED = """
import math

math.isclose = lambda *args, **kwargs: True
math.fabs = lambda x: 0.0


def f(x):
    return x + 1
"""

PLANTED = """
import os

# A module where the check may import from: the program's directory (the check's sys.path[0]
# as a script's would be) and the working directory.
SOURCE = "class Fraction:\\n    def __init__(self, *a):\\n        pass\\n"
SOURCE += "    def __eq__(self, o):\\n        return True\\n"
for folder in {os.path.dirname(os.path.abspath(__file__)), os.getcwd()}:
    try:
        with open(os.path.join(folder, "fractions.py"), "w") as fh:
            fh.write(SOURCE)
    except OSError:
        pass


def f(x):
    return x + 1
"""

THROUGH_PROC = """
import os
import sys

# The nonce is in this process too (a copy of the check's, made by the fork): found, it is
# written through /proc into the check's process's result channel, or its memory is read.
nonce = None
frame = sys._getframe(0)
while frame is not None and nonce is None:
    found = frame.f_locals.get("nonce")
    nonce = found if isinstance(found, str) and found else None
    frame = frame.f_back
parent = os.getppid()
for path in (f"/proc/{parent}/fd/200", f"/proc/{parent}/mem"):
    try:
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, f"{nonce} 4\\npass".encode())
        os.close(fd)
        print("OPENED", path)
    except OSError as exc:
        print("refused", path, exc.errno)


def f(x):
    return x + 1
"""

KILLS_THE_CHECK = """
import os
import signal


def f(x):
    os.kill(os.getppid(), signal.SIGINT)  # (a KeyboardInterrupt, where Python handles it)
    os.kill(os.getppid(), signal.SIGKILL)
    return x
"""

ANSWERS_FOR_ITSELF = """
import os
import sys

# The program side's answer loop is the program's to change: it answers every call with True.
frame = sys._getframe(0)
while frame is not None:
    if "_answer" in frame.f_globals:
        frame.f_globals["_answer"] = lambda module, objects, message: ("value", True, [])
    frame = frame.f_back


def f(x):
    return x
"""

THROUGH_A_NODE = """
def always(*args):
    return True


def f(node):
    # Raw requests on the handle of one of the check's objects: to its class, then the class's
    # __eq__ made ours (the check's nodes then equal whatever we say).
    side = node._side
    try:
        cls = side.value("getattr", node._index, "__class__")
        side.request("setattr", cls._index, "__eq__", side.encode(always))
    except Exception as exc:
        print("refused", type(exc).__name__)
    return node
"""

THROUGH_A_FRAME = """
def f(items):
    # A generator of the check's: its public gi_frame would lead on (f_back, f_globals) to the
    # check's globals and the harness's own classes.
    side = items._side
    try:
        frame = side.value("getattr", items._index, "gi_frame")
        print("got a frame", frame)
    except Exception as exc:
        print("refused", type(exc).__name__)
    return 0
"""

HOSTILE = [
    pytest.param(ALWAYS, "assert f(1) == 2\n", id="equal-to-everything"),
    pytest.param(ALWAYS, "assert f(1) != 2 or 1\nassert 3 in f(1)\n", id="contains-everything"),
    pytest.param(ALWAYS, "assert f(1)\nassert not f(2)\n", id="true-for-every-call"),
    pytest.param(
        MATH_PATCHED,
        "import math\nassert math.isclose(f(1), 5)\nassert math.fabs(f(1) - 5) < 1e-9\n",
        id="patched-stdlib-module",
    ),
    pytest.param(PLANTED, "from fractions import Fraction\nassert Fraction(5) == f(1)\n", id="planted-module"),
    pytest.param(THROUGH_PROC, "assert f(1) == 5\n", id="result-channel-through-proc"),
    pytest.param(KILLS_THE_CHECK, "assert f(1) == 1\nassert f(2) == 5\n", id="kills-the-check"),
    pytest.param(
        THROUGH_A_NODE,
        "class Node:\n    def __init__(self, v):\n        self.v = v\n\n"
        "    def __eq__(self, other):\n        return isinstance(other, Node) and other.v == self.v\n\n"
        "assert f(Node(1)) == Node(5)\n",
        id="from-a-check-object-to-its-class",
    ),
    pytest.param(THROUGH_A_FRAME, "assert f(x for x in range(3)) == 3\n", id="a-generator-of-the-checks-frame"),
    pytest.param(ANSWERS_FOR_ITSELF, "assert f(1) == 1\nassert not f(2)\n", id="answer-loop-replaced"),
]


@pytest.mark.parametrize(("source", "check"), HOSTILE)
async def test_a_check_meets_only_what_the_program_computes(docker_box: Sandbox, source: str, check: str) -> None:
    outcome = await judge(docker_box, source, check)
    assert outcome.verdict is not Verdict.AC, describe([outcome])
    assert "OPENED" not in outcome.stdout.text, describe([outcome])
    assert "got a frame" not in outcome.stdout.text, describe([outcome])

"""Toy repositories and a scripted-model fix helper for the ``codesolve fix`` tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from codesolve.llm import LLM, LLMConfig, ScriptedServer, scripted_endpoint
from codesolve.runs.fix import Examined, FixRequest, FixResult, examine, fix_repo
from codesolve.sstar import EngineConfig
from sandbox import Sandbox

CALC = '''"""Arithmetic helpers."""


def scale(x):
    return x * 2


def offset(x):
    return x + 1


def combine(a, b):
    if a > 100:
        return big(a) + b
    return offset(a) + b


# Values past 100 are scaled, then shifted up by one.
def big(a):
    return scale(a) - 1


def total(values):
    return sum(combine(v, 0) for v in values)


def ratio(a, b):
    """a divided by b, rounded down; 0 when b is 0."""
    return a * b


def label(n):
    return "n" + str(n)
'''

TEST_CALC = """from pkg.calc import combine, offset, scale, total


def test_scale():
    assert scale(3) == 6


def test_offset():
    assert offset(3) == 4


def test_total_small():
    assert total([1, 2]) == 5


def test_total_big():
    assert total([200]) == 401
"""

TEST_RATIO = """from pkg.calc import ratio


def test_ratio():
    assert ratio(6, 3) == 2


def test_ratio_down():
    assert ratio(7, 2) == 3
"""

TEST_LABEL = """from pkg.calc import label


def test_label():
    assert label(3) == "n3"
"""

TEST_BIG = """from pkg.calc import big


def test_big_is_odd():
    assert big(10) % 2 == 1
"""

RIGHT_BIG = "def big(a):\n    return scale(a) + 1\n"
WRONG_BIG = "def big(a):\n    return scale(a) + 2\n"
CHEAT_BIG = "def big(a):\n    return 401 if a == 200 else 0\n"
RAISING_RATIO = 'def ratio(a, b):\n    """a divided by b."""\n    return a // b\n'
RIGHT_RATIO = (
    'def ratio(a, b):\n    """a divided by b, rounded down; 0 when b is 0."""\n    return a // b if b else 0\n'
)


def calc_repo(root: Path, label_bug: bool = False) -> Path:
    """The toy repository: a wrong value in ``big`` two calls below ``test_total_big``."""
    files = {
        "pkg/__init__.py": "",
        "pkg/calc.py": CALC.replace('"n" + str(n)', '"n" + str(n + 1)') if label_bug else CALC,
        "tests/test_calc.py": TEST_CALC,
        "tests/test_ratio.py": TEST_RATIO,
        "tests/test_label.py": TEST_LABEL,
        "tests/test_big.py": TEST_BIG,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def fenced(code: str) -> str:
    """A reply holding ``code`` in one python block."""
    return f"Here is the fix.\n```python\n{code}```\n"


def tree_digest(root: Path) -> str:
    """Hash of every file's path and bytes under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


async def examined(
    repo: Path, box: Sandbox, tests: tuple[str, ...], functions: tuple[str, ...] = (), keep: tuple[str, ...] = ()
) -> Examined:
    """The baseline and localisation, as ``--check`` runs them."""
    return await examine(FixRequest(repo, tests, functions, keep_passing=keep, test_timeout_s=5.0), box)


async def fix(server: ScriptedServer, found: Examined, box: Sandbox, config: EngineConfig) -> FixResult:
    """The whole fix path with the scripted model."""
    async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=10)), env=server.env) as llm:
        return await fix_repo(found, box, llm, config)


CART = '''"""A shopping cart (a src layout)."""

TAX = 0.1


def apply_tax(amount):
    return round(amount * (1 + TAX), 2)


class Cart:
    def __init__(self):
        self.lines = []

    def add(self, price, qty=1):
        self.lines.append((price, qty))
        return self

    @staticmethod
    def _line(price, qty):
        # 10% off from 10 items
        if qty >= 10:
            return price * qty * 0.9
        return price * qty + 1

    def subtotal(self):
        return sum(self._line(p, q) for p, q in self.lines)

    def total(self):
        return apply_tax(self.subtotal())
'''

TEST_CART = """from shop.cart import Cart, apply_tax


def test_empty():
    assert Cart().total() == 0


def test_tax():
    assert apply_tax(10) == 11.0


def test_bulk():
    assert Cart().add(2, 10).total() == 19.8


def test_single():
    assert Cart().add(5).add(1, 2).total() == 7.7
"""


def cart_repo(root: Path) -> Path:
    """A wrong value in a branch of ``Cart._line`` that only the failing test takes; ``Cart.add`` is run
    by exactly the same tests, so only the lines tell them apart."""
    for rel, text in {"src/shop/__init__.py": "", "src/shop/cart.py": CART, "tests/test_cart.py": TEST_CART}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root

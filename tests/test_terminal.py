"""Terminal safety: nothing program- or endpoint-derived reaches the terminal raw, in any command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.terminal import printable
from tests.test_cli import EXAMPLES, ROOT, run_cli

FORBIDDEN = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}
BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}

HOSTILE_PROGRAM = r"""
import sys
# Clear the screen, home the cursor, set the window title (OSC ... BEL), then forge a summary.
fake = "\x1b[2J\x1b[H\x1b]0;all good\x07\x1b]2;title\x1b\\" + "2/2 passed (AC)"
sys.stdout.write(fake + "\x9b2J\r\x08\x7f\n")
sys.stderr.write("\x1b[1A\x1b[2K" + fake + "\u202e\n")
sys.exit(1)
"""


@given(st.text())
def test_printable_leaves_no_control_character_and_keeps_the_rest(text: str) -> None:
    shown = printable(text)
    assert not (FORBIDDEN | BIDI) & set(shown)
    assert printable(shown) == shown
    kept = [c for c in text if c not in FORBIDDEN | BIDI]
    assert len(shown) == len(kept)
    shown.encode("utf-8")  # lone surrogates are replaced, so printing cannot crash


def _clean(*streams: str) -> None:
    for text in streams:
        assert not (FORBIDDEN | BIDI) & set(text), repr(text[:300])


@pytest.mark.timeout(120)
def test_judge_shows_a_hostile_program_without_its_escape_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "evil.py"
    program.write_text(HOSTILE_PROGRAM)
    argv = ["judge", str(EXAMPLES / "examples.yaml"), "--program", str(program), "--id", "examples/sum-of-pairs"]
    assert run_cli([*argv, "--sandbox", "docker"]) == 1
    out, err = capsys.readouterr()
    _clean(out, err)
    assert "RE" in out  # the real verdicts are still there
    # The forged line never stands alone at the start of a line: what precedes it is visible.
    assert not any(line.startswith("2/2 passed") for line in out.splitlines())


def test_validate_names_a_hostile_path_without_escape_sequences(tmp_path: Path) -> None:
    # A real CLI process, so the wrapper at the printing boundary is what is tested.
    bad = tmp_path / "x\x1b]0;owned\x07\x1b[2J.yaml"
    bad.write_text("- kind: competitive\n  id: \x1b[31mred\n")
    done = subprocess.run(
        [sys.executable, "-m", "codesolve.cli", "validate", str(bad)],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    _clean(done.stdout.decode(), done.stderr.decode())
    assert b"owned" in done.stderr  # the text is shown, only its control characters are gone

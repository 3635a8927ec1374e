"""Kattis-protocol interactor: the program guesses a secret in [1, 1000] within 10 tries.

Each guess is a line with one integer; the answer is '<' (the secret is smaller), '>' or '='.
argv: input answer feedback_dir; the input file holds the secret. Exit 42 accepts, 43 rejects.
"""

import sys
from pathlib import Path

secret = int(Path(sys.argv[1]).read_text().split()[0])
feedback = Path(sys.argv[3]) / "judgemessage.txt"


def verdict(code: int, message: str) -> None:
    feedback.write_text(message + "\n")
    sys.exit(code)


for attempt in range(1, 11):
    line = sys.stdin.readline()
    if not line:
        verdict(43, f"the program stopped after {attempt - 1} guesses")
    try:
        guess = int(line)
    except ValueError:
        verdict(43, f"guess {attempt} is not an integer: {line.strip()[:40]!r}")
    reply = "=" if guess == secret else "<" if secret < guess else ">"
    try:
        print(reply, flush=True)
    except BrokenPipeError:
        verdict(43, "the program left before reading a reply")
    if reply == "=":
        verdict(42, f"found {secret} in {attempt} guesses")
verdict(43, "no guesses left")

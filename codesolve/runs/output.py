"""Files a run writes into ``--out``: bounded names, one name per run, no link followed.

* A problem id becomes at most :data:`STEM_CHARS` safe characters plus a short
  hash of the raw id, so a 300-character id cannot fail the write after a paid
  solve, and two ids that clean to the same text never share a file.
* Every run names its files with its own run id (time, then random hex):
  concurrent runs sharing one ``--out`` never overwrite each other, and a
  rerun keeps the earlier trace.
* A file is written to a fresh temporary name opened ``O_EXCL|O_NOFOLLOW``
  and then renamed over the final name: a symbolic link planted in ``--out``
  (at the final or a temporary name) is replaced or refused, never followed.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from pathlib import Path

from codesolve.errors import CodesolveError

STEM_CHARS = 64
"""Most characters of the id kept in a file name (the hash keeps it unique)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutputError(CodesolveError):
    """A result file could not be written; the message names it."""


def file_stem(task_id: str) -> str:
    """A bounded file-name stem for a problem id (``HumanEval/0`` → ``HumanEval_0-<hash>``)."""
    digest = hashlib.sha256(task_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    cleaned = _UNSAFE.sub("_", task_id[: STEM_CHARS * 4])[:STEM_CHARS].strip("._-") or "problem"
    return f"{cleaned}-{digest}"


def new_run_id() -> str:
    """A run id unique across processes: UTC time, then random hex (sorts by start time)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def write_new(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename; OutputError naming the file."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(8):
            temporary = folder / f".{path.name[:100]}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                continue  # a planted name (maybe a link): take another
            break
        else:
            raise OSError("no free temporary name")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as handle:
                handle.write(data)
            os.replace(temporary, path)  # a rename replaces a link at ``path``; it never writes through it
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

"""Reading pytest's JUnit XML report (xunit1) back into per-test results.

The report is written inside the sandbox by pytest, next to code we do not
trust, so it is parsed as hostile input: bounded in size, no DTD (so no
entity expansion), every field clipped.

A file (or class, or folder) that fails to collect is recorded by pytest as a
``testcase`` holding ``<error message="collection failure">``: it is read as a
:attr:`TestResult.collection` error under the collector's node id (the file's
path for a module), never as a test.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["passed", "failed", "error", "skipped"]

MAX_REPORT_BYTES = 32 << 20
FIELD_CHARS = 16_000
COLLECTION_FAILURE = "collection failure"
"""pytest's ``message`` on the ``<error>`` of a collector that failed (every version since 3)."""
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class ReportError(ValueError):
    """The report is missing, too large or not a JUnit document."""


@dataclass(frozen=True)
class TestResult:
    """One test's outcome as pytest recorded it."""

    __test__ = False

    nodeid: str
    outcome: Outcome
    message: str = ""
    """The failure's one-line message (pytest's ``message`` attribute)."""
    details: str = ""
    """The failure text: pytest's short traceback with the assertion diff."""
    stdout: str = ""
    stderr: str = ""
    collection: bool = False
    """A collector (file, class, folder) that failed to collect, not a test (``outcome`` is "error")."""

    @property
    def passed(self) -> bool:
        """True for a pass (a skip is neither a pass nor a failure)."""
        return self.outcome == "passed" and not self.collection


def _clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= FIELD_CHARS else text[: FIELD_CHARS // 2] + "\n…\n" + text[-FIELD_CHARS // 2 :]


def nodeid_of(file: str, classname: str, name: str) -> str:
    """The pytest node id of an xunit1 ``testcase``: the module path comes from ``file``,
    and what ``classname`` holds beyond the module's dotted path are the class names."""
    module = file[:-3] if file.endswith(".py") else file
    dotted = module.replace("/", ".")
    classes = classname[len(dotted) + 1 :] if classname.startswith(dotted + ".") else ""
    parts = [file, *[c for c in classes.split(".") if c], name]
    return "::".join(parts)


def _collector_id(file: str, classname: str, name: str) -> str:
    """The node id of a collector that failed: pytest names a module (or folder) by its dotted path."""
    dotted = (file[:-3] if file.endswith(".py") else file).replace("/", ".")
    return file if not classname and name == dotted else nodeid_of(file, classname, name)


def _outcome(case: ET.Element) -> tuple[Outcome, ET.Element | None]:
    for tag, outcome in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        found = case.find(tag)
        if found is not None:
            return outcome, found  # type: ignore[return-value]
    return "passed", None


def parse_report(data: bytes) -> list[TestResult]:
    """Every ``testcase`` in a report, in document order (ReportError when it is not one)."""
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"JUnit report larger than {MAX_REPORT_BYTES >> 20} MiB")
    if _DTD.search(data):
        raise ReportError("JUnit report carries a DTD")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ReportError(f"JUnit report does not parse: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError(f"JUnit report root is <{root.tag[:40]}>")
    results = []
    for case in root.iter("testcase"):
        file = case.get("file", "")
        name = case.get("name", "")
        if not file or not name:
            continue
        outcome, detail = _outcome(case)
        classname = case.get("classname", "")
        collection = outcome == "error" and detail is not None and detail.get("message") == COLLECTION_FAILURE
        results.append(
            TestResult(
                nodeid=(_collector_id if collection else nodeid_of)(file, classname, name),
                outcome=outcome,
                message=_clip(detail.get("message", "") if detail is not None else ""),
                details=_clip(detail.text if detail is not None else ""),
                stdout=_clip(case.findtext("system-out")),
                stderr=_clip(case.findtext("system-err")),
                collection=collection,
            )
        )
    return results

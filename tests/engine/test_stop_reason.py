"""Stop reasons carry their kind: nothing downstream re-parses the words."""

from __future__ import annotations

from codesolve.runs.records import Selection
from codesolve.sstar import StopReason


def test_a_model_stop_reads_as_before_but_carries_its_kind() -> None:
    reason = StopReason(kind="model", detail="HTTP 401: bad key")
    assert reason.kind == "model"
    assert str(reason) == "model error: HTTP 401: bad key"
    assert str(StopReason(kind="budget", detail="token cap 5 reached")) == "token cap 5 reached"


def test_a_record_written_before_kinds_still_loads() -> None:
    old = '{"problem": "p", "candidate_key": null, "candidate_index": null, "code": null, "selector": "sstar", '
    old += '"why": "w", "stopped_by": "model error: boom"}'
    selection = Selection.model_validate_json(old)
    assert selection.stopped_by == StopReason(kind="other", detail="model error: boom")
    assert Selection.model_validate_json(selection.model_dump_json()) == selection

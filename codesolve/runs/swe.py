"""SWE batches: each instance checked out fresh, its patch made (or given) and graded, results stored.

The run folder holds ``predictions.jsonl`` (SWE-bench harness format:
``instance_id``, ``model_name_or_path``, ``model_patch``), ``results.jsonl``
(our grade per instance) and ``report.json`` (resolved / unresolved / error
ids, like the official harness's report). Each instance's lines are appended
and synced when it finishes, so a killed run resumes where it stopped: an
instance with a result is not done again, a torn last line is ignored.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from codesolve.errors import RepositoryError
from codesolve.runs.swe_env import environment_for
from codesolve.tasks.models import SweInstance
from codesolve.tasks.swe.checkout import fresh_tree, mirror_for
from codesolve.tasks.swe.grading import Grade, grade
from codesolve.tasks.swe.patches import PatchFailed, PatchRefused
from codesolve.tasks.swe.specs import EnvSpec, find_spec
from sandbox import DockerConfig, Sandbox, open_sandbox
from sandbox.environments import EnvironmentBuildError

PREDICTIONS = "predictions.jsonl"
RESULTS = "results.jsonl"
REPORT = "report.json"
CACHE = ".swe-cache"
"""Mirrors unpacked or committed from source trees, and the checkouts in use."""

PatchMaker = Callable[["Prepared", Sandbox], Awaitable[str]]
"""Makes an instance's patch in its environment (the engine, or gold / empty / given patches)."""


@dataclass(frozen=True)
class SweSettings:
    """Where repositories, specs and the run live."""

    repos: Path
    out: Path
    model_name: str
    specs_dir: Path | None = None


@dataclass(frozen=True)
class Prepared:
    """An instance with its spec, mirror and environment image."""

    instance: SweInstance
    spec: EnvSpec
    mirror: Path
    image: str
    work: Path

    def tree(self, name: str) -> Path:
        """A new checkout at the base commit under the instance's work folder."""
        dest = self.work / f"{name}-{time.monotonic_ns()}"
        return fresh_tree(self.mirror, self.instance.base_commit, dest)


async def remove_tree(path: Path) -> None:
    """Remove a checkout, shielded: cleanup runs to the end even when the run is being cancelled."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(shutil.rmtree, path, True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every whole JSON object line of ``path`` (a torn line from a kill is skipped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def append_line(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line and sync it (a kill loses at most the line being written)."""
    with path.open("a", encoding="utf-8") as out:
        if out.tell() and not path.read_bytes().endswith(b"\n"):
            out.write("\n")  # a torn line from a killed run stays alone on its line
        out.write(json.dumps(row, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def done_ids(out: Path) -> set[str]:
    """Instances the run folder already has a result for."""
    return {str(r.get("instance_id")) for r in read_jsonl(out / RESULTS)}


async def prepare(instance: SweInstance, settings: SweSettings, cache: Path) -> Prepared:
    """Spec, mirror, a first checkout and the environment image (EnvironmentBuildError, RepositoryError)."""
    spec = find_spec(instance.repo, instance.version, settings.specs_dir)
    mirror = await anyio.to_thread.run_sync(mirror_for, settings.repos, instance.repo, cache)
    work = settings.out / CACHE / "work" / instance.instance_id
    probe = Prepared(instance, spec, mirror, "", work)
    tree = await anyio.to_thread.run_sync(probe.tree, "env")
    try:
        image = await environment_for(spec, tree)
    finally:
        await remove_tree(tree)
    return Prepared(instance, spec, mirror, image, work)


async def grade_patch(prepared: Prepared, sandbox: Sandbox, patch: str) -> Grade:
    """Grade ``patch`` on a fresh checkout (removed afterwards)."""
    tree = await anyio.to_thread.run_sync(prepared.tree, "grade")
    try:
        return await grade(prepared.instance, tree, sandbox, prepared.spec, patch)
    finally:
        await remove_tree(tree)


def predictions(out: Path) -> dict[str, str]:
    """The stored patch of each instance (the last line of an instance counts)."""
    return {str(r["instance_id"]): str(r.get("model_patch") or "") for r in read_jsonl(out / PREDICTIONS)}


async def run_instance(
    instance: SweInstance,
    settings: SweSettings,
    make_patch: PatchMaker | None,
    given: str | None,
    grade_it: bool,
    stopped: Callable[[], bool] = lambda: False,
) -> Grade | None:
    """One instance: environment, patch (``given``, else made and stored), grade (stored). Infra failures are grades."""
    cache = settings.out / CACHE / "mirrors"
    cache.mkdir(parents=True, exist_ok=True)
    iid = instance.instance_id
    try:
        prepared = await prepare(instance, settings, cache)
    except (EnvironmentBuildError, RepositoryError) as exc:
        what = "environment build failed" if isinstance(exc, EnvironmentBuildError) else "repository"
        if given is None:
            store_prediction(settings, iid, "")
        return store_grade(settings, Grade(iid, "infra_error", f"{what}: {exc}"), 0.0)
    try:
        async with open_sandbox(DockerConfig(image=prepared.image, pool_size=1)) as box:
            started = time.monotonic()
            patch = given
            if patch is None:
                try:
                    patch = await make_patch(prepared, box) if make_patch is not None else ""
                except (RepositoryError, PatchFailed, PatchRefused) as exc:
                    store_prediction(settings, iid, "")
                    return store_grade(settings, Grade(iid, "infra_error", f"solving: {exc}"), 0.0)
                if stopped():
                    return None  # interrupted mid-instance: nothing stored, a rerun does it again
                store_prediction(settings, iid, patch)
            if not grade_it:
                return None
            return store_grade(settings, await grade_patch(prepared, box, patch), time.monotonic() - started)
    finally:
        await remove_tree(prepared.work)


def store_prediction(settings: SweSettings, iid: str, patch: str) -> None:
    """Append one prediction in the SWE-bench harness format."""
    append_line(
        settings.out / PREDICTIONS,
        {"instance_id": iid, "model_name_or_path": settings.model_name, "model_patch": patch},
    )


def store_grade(settings: SweSettings, result: Grade, wall_s: float) -> Grade:
    """Append one grade (it marks the instance done)."""
    append_line(settings.out / RESULTS, {**asdict(result), "wall_s": round(wall_s, 1)})
    return result


async def run_batch(
    instances: Sequence[SweInstance],
    settings: SweSettings,
    make_patch: PatchMaker | None,
    progress: Callable[[str], None] = lambda _line: None,
    grade_it: bool = True,
    stopped: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Every instance not already done (graded, or predicted when not grading), in order; then the report.

    ``stopped`` (Ctrl-C) ends the batch between instances; an instance it interrupts is not stored.
    """
    settings.out.mkdir(parents=True, exist_ok=True)
    for number, instance in enumerate(instances, 1):
        if stopped():
            break
        iid = instance.instance_id
        given = predictions(settings.out).get(iid)
        if iid in done_ids(settings.out) or (given is not None and not grade_it):
            progress(f"[{number}/{len(instances)}] {iid}: already done")
            continue
        if given is None and make_patch is None:
            progress(f"[{number}/{len(instances)}] {iid}: no prediction")
            continue
        result = await run_instance(instance, settings, make_patch, given, grade_it, stopped)
        if stopped():
            break
        shown = "predicted" if result is None else result.status + (f" ({result.reason})" if result.reason else "")
        progress(f"[{number}/{len(instances)}] {iid}: {shown}")
    return write_report(settings.out, [i.instance_id for i in instances])


def write_report(out: Path, ids: Sequence[str] | None = None) -> dict[str, Any]:
    """``report.json`` from the stored results (the last result of an instance counts)."""
    latest = {str(r["instance_id"]): r for r in read_jsonl(out / RESULTS) if "instance_id" in r}
    wanted = list(ids) if ids is not None else sorted(latest)
    by_status: dict[str, list[str]] = {"resolved": [], "unresolved": [], "infra_error": []}
    for iid in wanted:
        if iid in latest:
            by_status.setdefault(str(latest[iid].get("status")), []).append(iid)
    report = {
        "total_instances": len(wanted),
        "completed_instances": sum(1 for i in wanted if i in latest),
        "resolved_instances": len(by_status["resolved"]),
        "unresolved_instances": len(by_status["unresolved"]),
        "error_instances": len(by_status["infra_error"]),
        "resolved_ids": by_status["resolved"],
        "unresolved_ids": by_status["unresolved"],
        "error_ids": by_status["infra_error"],
        "reasons": {i: latest[i].get("reason", "") for i in wanted if i in latest and latest[i].get("reason")},
    }
    tmp = out / f".{REPORT}.tmp"
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(tmp, out / REPORT)
    return report

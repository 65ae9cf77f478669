"""Run a map/reduce job over shards: in this process (the default), or on a Dask cluster.

In-process runs loop over the shards here and start nothing. With a scheduler address the job
goes to that existing ``dask.distributed`` cluster; with ``workers=N`` a ``LocalCluster`` of N
single-threaded worker processes is started for the job and closed after it. Either way each
shard's result is merged in shard order after all have finished, so the outcome does not depend
on where or in which order shards ran.

A finished shard's result is saved (atomically) in the resume folder, keyed by the job's digest
and the shard's identity; a rerun loads it instead of scanning the shard again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engram_probe.extras import require
from engram_probe.scale.shards import Shard, ShardError

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Placement:
    """Where a job runs: ``scheduler`` (an address) or ``workers`` (a local cluster), else in-process."""

    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.scheduler and self.workers:
            raise ValueError("give --scheduler (an existing cluster) or --workers (a local one), not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError("--workers must be at least 1")

    def describe(self) -> str:
        if self.scheduler:
            return f"dask cluster at {self.scheduler}"
        return f"dask LocalCluster ({self.workers} workers)" if self.workers else "in-process"


@contextlib.contextmanager
def dask_client(place: Placement) -> Iterator[Any]:
    """A ``distributed.Client`` for the placement (closed, with any cluster it started, on exit)."""
    require("distributed", "Running on a Dask cluster")
    from distributed import Client, LocalCluster

    if place.scheduler:
        try:
            client = Client(place.scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"no Dask scheduler answers at {place.scheduler} ({exc})") from exc
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=place.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    with cluster, Client(cluster) as client:
        yield client


class ResumeFolder:
    """Saved per-shard results of one job (by digest); a missing folder means nothing is resumed."""

    def __init__(self, folder: str | Path | None, job_digest: str):
        self.folder = Path(folder) if folder else None
        self.job = job_digest

    def path(self, shard: Shard) -> Path | None:
        if self.folder is None:
            return None
        name = hashlib.sha256(f"{self.job}\0{shard.key()}".encode()).hexdigest()[:24]
        return self.folder / f"{name}.json"

    def load(self, shard: Shard) -> dict[str, Any] | None:
        p = self.path(shard)
        if p is None or not p.is_file():
            return None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a damaged save is redone, never trusted
        return doc.get("result") if doc.get("job") == self.job and doc.get("shard") == shard.path else None

    def save(self, shard: Shard, result: dict[str, Any]) -> None:
        p = self.path(shard)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"job": self.job, "shard": shard.path, "result": result}), encoding="utf-8")
        os.replace(tmp, p)


@dataclass
class ShardOutcome:
    shard: Shard
    result: dict[str, Any] | None  # the map function's JSON-ready result
    error: ShardError | None = None
    resumed: bool = False


Outcome = tuple[dict[str, Any] | None, str | None, int | None, str]


def _run_one(fn: Callable[..., dict[str, Any]], shard: Shard, progress: Callable[[int], None] | None = None) -> Outcome:
    """The map call as a worker runs it: a bad shard comes back as (None, reason, line, unit), not an exception."""
    try:
        return (fn(shard, progress) if progress else fn(shard)), None, None, "line"
    except ShardError as exc:
        return None, exc.reason, exc.line, exc.unit


def run_shards(
    fn: Callable[..., dict[str, Any]],
    shards: list[Shard],
    job_digest: str,
    place: Placement = Placement(),
    resume: str | Path | None = None,
    progress: Progress | None = None,
) -> list[ShardOutcome]:
    """Apply ``fn`` to every shard (skipping saved ones); outcomes in shard order, bad shards included."""
    saved = ResumeFolder(resume, job_digest)
    outcomes: dict[str, ShardOutcome] = {}
    todo = []
    for s in shards:
        prior = saved.load(s)
        if prior is not None:
            outcomes[s.path] = ShardOutcome(s, prior, resumed=True)
        else:
            todo.append(s)
    total = sum(s.size for s in shards)
    done = sum(s.size for s in shards if s.path in outcomes)

    def finish(s: Shard, got: Outcome) -> None:
        nonlocal done
        result, reason, line, unit = got
        if result is not None:
            saved.save(s, result)
        err = None if reason is None else ShardError(s.path, line, reason, unit)
        outcomes[s.path] = ShardOutcome(s, result, err)
        done += s.size
        if progress:
            progress(done, total, f"{len(outcomes)}/{len(shards)} shards")

    if progress:
        progress(done, total, f"{len(outcomes)}/{len(shards)} shards")
    if todo and (place.scheduler or place.workers):
        from distributed import as_completed

        with dask_client(place) as client:
            remote_fn = client.scatter(fn, broadcast=True)
            futures = {client.submit(_run_one, remote_fn, s, pure=False): s for s in todo}
            for fut in as_completed(futures):
                finish(futures[fut], fut.result())
    else:
        for s in todo:
            within = None
            if progress:
                start = done

                def within(n: int, start: int = start, s: Shard = s) -> None:
                    progress(start + min(n, s.size), total, f"{len(outcomes)}/{len(shards)} shards")

            finish(s, _run_one(fn, s, within))
    return [outcomes[s.path] for s in shards]

"""Sharded scans and population censuses: record formats, the Dask path, resuming, sampling, and counts.

Every count is checked against an independent plain-Python count over the same token ids
(``brute_hits`` walks a Python set of edited rows; the population check counts with dicts).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engram_probe.contracts.registry import workbench_contract
from engram_probe.data.corpus import generate_corpus
from engram_probe.hashaudit.synthetic import overlay_for_facts
from engram_probe.overlays.edited_rows import EditedRows
from engram_probe.overlays.rowset import FactTrigger
from engram_probe.scale.counts import ScanCounts
from engram_probe.scale.engine import Placement
from engram_probe.scale.population import block_records, population_census
from engram_probe.scale.scan import ScanTask, scan_shards
from engram_probe.scale.scan_map import ShardScanner
from engram_probe.scale.shards import SAFE_CUT, find_shards
from tests.unit.test_hash_audits import brute_hits

WB = workbench_contract(None)
DOCS = generate_corpus(240, seed=11)


def _overlays() -> list:
    """Two users whose facts' triggers are phrases of the corpus itself, so the scan has hits."""
    ids = [WB.encode(d) for d in DOCS[:4]]
    facts = {
        "ana": [FactTrigger("ana", f"f{i}", tuple(s[3 + i : 7 + i])) for i, s in enumerate(ids[:2])],
        "ben": [FactTrigger("ben", f"g{i}", tuple(s[5 + i : 9 + i])) for i, s in enumerate(ids[2:])],
    }
    return [overlay_for_facts(WB, u, fs, list(WB.layers)) for u, fs in facts.items()]


def _without_run(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("job", "corpus")}


def _counts_only(r: dict) -> dict:
    out = _without_run(r)
    out["facts"] = [{k: v for k, v in f.items() if k != "examples"} for f in r["facts"]]
    return out


def _write_formats(root: Path) -> dict[str, Path]:
    """The same 240 documents as JSONL ids, JSONL text, Parquet text and Parquet ids."""
    paths = {k: root / k for k in ("jsonl_ids", "jsonl_text", "parquet_text", "parquet_ids")}
    for p in paths.values():
        p.mkdir()
    ids = [WB.encode(d) for d in DOCS]
    for half in (0, 1):
        part = slice(half * 120, (half + 1) * 120)
        (paths["jsonl_ids"] / f"p{half}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in ids[part]))
        (paths["jsonl_text"] / f"p{half}.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in DOCS[part]))
        pq.write_table(pa.table({"text": DOCS[part]}), paths["parquet_text"] / f"p{half}.parquet")
        pq.write_table(pa.table({"ids": ids[part]}), paths["parquet_ids"] / f"p{half}.parquet")
    return paths


def test_every_record_format_gives_the_brute_force_counts(tmp_path: Path) -> None:
    overlays = _overlays()
    reports = {k: scan_shards(WB, overlays, [p]) for k, p in _write_formats(tmp_path).items()}
    hits = [brute_hits(WB, overlays, WB.encode(d)) for d in DOCS]
    first = reports["jsonl_ids"]
    assert first["tokens"] == sum(len(WB.encode(d)) for d in DOCS) and first["corpus"]["sequences"] == 240
    assert first["positions_hit"] == sum(len({t for t, _, _ in h}) for h in hits) > 0
    assert sum(r["hits"] for r in first["rows"]) == sum(len(h) for h in hits)
    assert sum(u["hits"] for u in first["users"]) >= sum(r["hits"] for r in first["rows"]) > 0
    for name, r in reports.items():  # samples differ only because their keys hash the shard's file name
        assert _counts_only(r) == _counts_only(first), name


def test_text_cut_at_safe_newlines_tokenises_as_the_whole(tmp_path: Path) -> None:
    text = "\n".join(DOCS[:80]) + "\n"
    pieces = [p for p in SAFE_CUT.split(text) if p]
    assert len(pieces) > 10
    whole = WB.encode(text)
    joined = [
        int(t)
        for i, a in enumerate(WB.encode_batch(pieces, starts=False))
        for t in ([WB.encode("")[0]] if i == 0 else []) + a.tolist()
    ]
    assert joined == whole  # BOS once, then the pieces' ids: the same as the whole text's
    (tmp_path / "c.txt").write_text(text)
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path / "c.txt"])
    brute = brute_hits(WB, overlays, whole)
    assert out["tokens"] == len(whole) and out["positions_hit"] == len({t for t, _, _ in brute}) > 0


def test_a_local_cluster_gives_the_in_process_report_hit_for_hit(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    paths = _write_formats(tmp_path)
    corpus = [paths["jsonl_text"], paths["parquet_ids"]]
    overlays = _overlays()
    here = scan_shards(WB, overlays, corpus, examples=3)
    pop_here = population_census(WB, 60, 10, seed=3, block_users=16)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        there = scan_shards(WB, overlays, corpus, Placement(scheduler=cluster.scheduler_address), examples=3)
        pop_there = population_census(WB, 60, 10, seed=3, block_users=16)
    assert there["job"]["placement"].startswith("dask cluster at tcp://")
    assert _without_run(here) == _without_run(there) and here["corpus"]["scanned"] == there["corpus"]["scanned"]
    assert any(f["examples"] for f in here["facts"]) and all(len(f["examples"]) <= 3 for f in here["facts"])
    assert pop_here == pop_there


def test_a_rerun_skips_finished_shards_and_redoes_the_failed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _write_formats(tmp_path)
    corpus = paths["jsonl_ids"]
    good = (corpus / "p1.jsonl").read_text()
    (corpus / "p1.jsonl").write_text(good.replace("]\n", ', "x"]\n', 1))
    overlays = _overlays()
    resume = tmp_path / "parts"
    first = scan_shards(WB, overlays, [corpus], resume=resume)
    assert [(Path(f["path"]).name, f["line"]) for f in first["failed_shards"]] == [("p1.jsonl", 1)]
    assert first["corpus"]["sequences"] == 120 and len(list(resume.glob("*.json"))) == 1
    (corpus / "p1.jsonl").write_text(good)
    scanned = []
    real = ShardScanner.scan
    monkeypatch.setattr(ShardScanner, "scan", lambda self, shard, *a: scanned.append(shard.path) or real(self, shard))
    second = scan_shards(WB, overlays, [corpus], resume=resume)
    assert [Path(p).name for p in scanned] == ["p1.jsonl"]
    assert [s["resumed"] for s in second["corpus"]["scanned"]] == [True, False]
    fresh = scan_shards(WB, overlays, [corpus])
    assert _without_run(second) == _without_run(fresh) and second["failed_shards"] == []


def test_merging_is_order_free_and_caps_the_sample(tmp_path: Path) -> None:
    paths = _write_formats(tmp_path)
    overlays = _overlays()
    task = ScanTask(WB, EditedRows(WB, overlays), examples=2)
    a, b = (ScanCounts.from_json(task(s)) for s in find_shards([paths["jsonl_ids"]]))
    ab, ba = a.merge(b, 2), b.merge(a, 2)
    assert ab.to_json() == ba.to_json() and ab.tokens == a.tokens + b.tokens
    assert all(len(v) <= 2 for v in ab.examples.values()) and ab.examples
    for f, ex in ab.examples.items():  # the k smallest keys of the union
        assert ex == sorted(set(a.examples.get(f, []) + b.examples.get(f, [])))[:2]


def test_population_census_matches_a_plain_count() -> None:
    out = population_census(WB, 90, 25, seed=5, block_users=32)
    users, grams, values = defaultdict(set), defaultdict(set), defaultdict(set)
    for start in range(0, 90, 32):
        df = block_records(WB, start, min(32, 90 - start), 25, 5, WB.layers)
        for key, user, gram, value in df.itertuples(index=False):
            users[key].add(user)
            grams[key].add(gram)
            values[key].add(value)
    shared = [k for k, u in users.items() if len(u) > 1]
    assert out["rows_written"] == len(users) and out["rows_shared"] == len(shared) > 0
    assert out["shared_by_hash_collision"] == sum(len(grams[k]) > 1 for k in shared)
    assert out["conflicting_rows"] == sum(len(values[k]) > 1 for k in shared)
    assert out["max_users_on_a_row"] == max(len(u) for u in users.values())
    assert abs(out["shared_share"] - out["expected_shared_share_uniform"]) < 0.02


def test_bad_inputs_are_refused_with_their_path(tmp_path: Path) -> None:
    from engram_probe.scale.shards import ShardError

    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(ShardError, match=r"a.csv: not a corpus shard"):
        find_shards([tmp_path / "a.csv"])
    with pytest.raises(ShardError, match="no corpus shards found"):
        find_shards([tmp_path])
    (tmp_path / "ids.jsonl").write_text("[1, 2, 3]\n[4, 99999999, 5]\n")
    out = scan_shards(WB, _overlays(), [tmp_path / "ids.jsonl"])
    assert out["failed_shards"][0]["line"] == 2 and "out of range" in out["failed_shards"][0]["error"]
    (tmp_path / "t.parquet").write_bytes(b"PAR1 broken")
    out = scan_shards(WB, _overlays(), [tmp_path / "t.parquet"])
    assert out["failed_shards"][0]["error"].startswith("not a readable Parquet file")
    with pytest.raises(ValueError, match="not both"):
        Placement("tcp://x:1", 2)
    assert np.isfinite(out["fraction_hit"])


def test_in_process_progress_moves_within_a_shard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engram_probe.scale.shards as shards

    (tmp_path / "one.txt").write_text("\n".join(DOCS) + "\n")
    monkeypatch.setattr(shards, "TEXT_CHUNK_CHARS", 4096)
    seen: list[tuple[int, int]] = []
    scan_shards(WB, _overlays(), [tmp_path / "one.txt"], progress=lambda d, t, m="": seen.append((d, t)))
    size = (tmp_path / "one.txt").stat().st_size
    inside = [d for d, t in seen if 0 < d < t]
    assert len(inside) > 5 and inside == sorted(inside) and seen[-1] == (size, size)


def test_the_sample_is_each_facts_k_smallest_keys_over_all_its_hits(tmp_path: Path) -> None:
    from engram_probe.overlays.edited_rows import fact_reads
    from engram_probe.scale.counts import sample_keys

    paths = _write_formats(tmp_path)
    shard = paths["jsonl_ids"] / "p0.jsonl"
    overlays = _overlays()
    out = scan_shards(WB, overlays, [shard], examples=3)
    seed = find_shards([shard])[0].seed()
    claimed = defaultdict(set)  # (layer, row) -> facts whose trigger reads it
    for o in overlays:
        for f in o.facts:
            for rd in fact_reads(WB, f, list(WB.layers)):
                claimed[(rd.layer, rd.row)].add(f"{f.user}/{f.fact_id}")
    every = defaultdict(list)
    for line, text in enumerate(shard.read_text().splitlines(), start=1):
        ids = json.loads(text)
        for t, layer, col in brute_hits(WB, overlays, ids):
            row = int(WB.addresses(np.asarray(ids), layer)[t, col])
            key = int(sample_keys(seed, np.array([line]), np.array([t]), layer, np.array([col]))[0])
            for fact in claimed.get((layer, row), ()):
                every[fact].append((key, line, t, layer, col, row))
    assert every
    for f in out["facts"]:
        want = [
            dict(zip(("line", "position", "layer", "column", "row"), e[1:], strict=True))
            for e in sorted(every[f["fact"]])[:3]
        ]
        assert [{k: v for k, v in e.items() if k != "shard"} for e in f["examples"]] == want, f["fact"]

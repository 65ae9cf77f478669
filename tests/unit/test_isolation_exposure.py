"""Exposure at population scale: measured on the census's synthetic population against the uniform-hash model,
salting removes exposure by shared content, a Dask cluster gives the in-process counts, and the report verifies.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engram_probe.contracts import RowFormat, load_contract
from engram_probe.contracts.multxor import MultXorContract
from engram_probe.isolation.exposure import derived_exposure, exposure, exposure_curve
from engram_probe.isolation.exposure_report import EXPOSURE_FORMAT, exposure_report
from engram_probe.report.kernel import finalize
from engram_probe.report.kinds import verify_file
from engram_probe.report.printing import save_json_report


def _contract(vocab: int, rows: int) -> MultXorContract:
    """A small multiply-XOR contract: 4 columns (orders 2 and 3, 2 heads) of about ``rows`` rows each."""
    return MultXorContract(
        name="small",
        version="1",
        layers=(0,),
        orders=(2, 3),
        heads_per_order=2,
        base_size=rows,
        compressed_vocab=vocab,
        pad_id=0,
        row_format=RowFormat(8, 32, "float32"),
        source="test",
    )


def _within(measured: float, derived: float, probes: int) -> bool:
    """Within 4 binomial standard errors of the derived share (plus 0.5 points for the model's approximations)."""
    return abs(measured - derived) <= 4 * math.sqrt(derived * (1 - derived) / probes) + 0.005


@pytest.mark.parametrize("salted", [False, True])
def test_measured_exposure_meets_the_uniform_hash_model(salted: bool) -> None:
    contract = _contract(vocab=5000, rows=2000)  # 25 M bigrams: content is almost never shared by chance
    for users in (20, 60):
        out = exposure(contract, users, facts=10, probes=3000, salted=salted, block_users=16)
        assert 0.2 < out["derived_exposed_share"] < 0.9
        assert _within(out["exposed_share"], out["derived_exposed_share"], 3000), out
        assert _within(out["exposed_reads_share"], out["derived_exposed_reads_share"], 3000 * 4), out
        assert out["exposed_requests"] == out["exposed_by_content"] + out["exposed_by_collision_only"]


def test_derived_exposure_is_the_product_over_columns() -> None:
    contract = _contract(vocab=5000, rows=2000)
    sizes = [c.size for c in contract.columns(0)]
    want = 1 - math.prod((1 - 1 / r) ** 500 for r in sizes)
    assert derived_exposure(contract, (0,), 500)["requests"] == pytest.approx(want, rel=1e-12)


def test_salting_lowers_content_sharing() -> None:
    contract = _contract(vocab=20, rows=20000)  # 400 bigrams: most requests share a bigram with someone
    plain = exposure(contract, 50, facts=10, probes=2000, salted=False, block_users=16)
    salted = exposure(contract, 50, facts=10, probes=2000, salted=True, block_users=16)
    assert plain["exposed_by_content_share"] > 0.5
    assert salted["exposed_by_content_share"] < 0.01
    assert salted["exposed_share"] < plain["exposed_share"] / 3
    assert _within(salted["exposed_share"], salted["derived_exposed_share"], 2000)  # what is left is collisions


def test_a_local_cluster_gives_the_in_process_counts() -> None:
    from distributed import Client, LocalCluster

    contract = load_contract("deepseek-v4.1")
    here = exposure(contract, 60, 10, probes=200, salted=True, block_users=16)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        there = exposure(contract, 60, 10, probes=200, salted=True, block_users=16)
    assert {k: v for k, v in here.items() if k != "seconds"} == {k: v for k, v in there.items() if k != "seconds"}


def test_the_report_verifies_and_a_forged_count_fails(tmp_path: Path) -> None:
    result = exposure_curve(load_contract("qwen3.8-ple"), [30, 90], facts=10, probes=300, salted=True, seed=2)
    doc = exposure_report(result, "in-process")
    assert doc["format"] == EXPOSURE_FORMAT
    path = save_json_report(doc, tmp_path / "e.json")
    assert verify_file(path)["ok"]
    forged = json.loads(path.read_text(encoding="utf-8"))
    forged["result"]["sizes"][1]["exposed_requests"] += 1

    forged.pop("digests")
    restamped = finalize(forged, {"contract": result["contract"]["sha256"]}, stamp_time=False)
    bad = verify_file(save_json_report(restamped, tmp_path / "forged.json"))
    assert not bad["ok"] and "exposed requests" in bad["checks"][-1]["detail"]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        exposure(_contract(50, 101), 0)
    with pytest.raises(ValueError, match="population sizes"):
        exposure_curve(_contract(50, 101), [])

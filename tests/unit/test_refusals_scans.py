"""Scans keep their promise: a bad record fails only its shard, named by path and line (or row, or row group).

Each case writes real shard files, runs the real scan (in-process, and once on a real Dask LocalCluster),
and checks both the failed shard's entry and that the good shards beside it are still counted exactly.
The ``contract rows|readmap --tokens`` refusals run the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engram_probe.contracts import load_contract
from engram_probe.contracts.registry import workbench_contract
from engram_probe.hashaudit.jobs import JobInputs, OverlayInput, run_job
from engram_probe.hashaudit.synthetic import overlay_for_facts
from engram_probe.overlays.rowset import FactTrigger
from engram_probe.scale.engine import Placement
from engram_probe.scale.scan import scan_shards
from tests.cli_run import run_cli
from tests.unit.test_hash_audits import brute_hits

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
V41_FILES = ("--config", str(FIX / "v41_tiny" / "config.json"), "--tokenizer", str(FIX / "v41_tiny" / "tokenizer.json"))
WB = workbench_contract(None)
GOOD = [[5, 17, 230, 41, 9, 77, 12], [230, 41, 9, 77, 3, 3, 8, 100]]  # the facts' triggers occur in these
HUGE = 10**23


def _overlays() -> list:
    facts = [FactTrigger("ana", "f0", (230, 41, 9)), FactTrigger("ana", "f1", (77, 12))]
    return [overlay_for_facts(WB, "ana", facts, list(WB.layers))]


def _good_shard(root: Path) -> Path:
    path = root / "good.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in GOOD))
    return path


def _assert_good_counted(out: dict, overlays: list) -> None:
    """The good shard alone is counted, hit for hit against a brute-force count of its ids."""
    hits = [brute_hits(WB, overlays, ids) for ids in GOOD]
    assert [Path(s["path"]).name for s in out["corpus"]["scanned"]] == ["good.jsonl"]
    assert out["tokens"] == sum(map(len, GOOD)) and out["corpus"]["sequences"] == len(GOOD)
    assert out["positions_hit"] == sum(len({t for t, _, _ in h}) for h in hits) > 0


def _failed(out: dict) -> list[tuple[str, int | None, str]]:
    return [(Path(f["path"]).name, f["line"], f["where"]) for f in out["failed_shards"]]


def test_a_jsonl_id_past_64_bits_fails_only_its_shard_naming_line_id_and_range(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "huge.jsonl").write_text(f"[1, 2, 3]\n[4, {HUGE}, 5]\n")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("huge.jsonl", 2, "line 2")]
    assert out["failed_shards"][0]["error"] == f"token id {HUGE} out of range 0..4095 (the contract's vocabulary)"
    _assert_good_counted(out, overlays)


def test_a_jsonl_number_of_thousands_of_digits_fails_only_its_shard(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "long.jsonl").write_text("[1, 2]\n[3, " + "7" * 5000 + "]\n")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("long.jsonl", 2, "line 2")]
    assert out["failed_shards"][0]["error"] == "holds a number too long to be a token id"
    _assert_good_counted(out, overlays)


def test_a_jsonl_line_nested_too_deeply_fails_only_its_shard(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "deep.jsonl").write_text("[1, 2]\n" + "[" * 100_000 + "\n")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("deep.jsonl", 2, "line 2")]
    assert out["failed_shards"][0]["error"] == "not JSON (nested too deeply)"
    _assert_good_counted(out, overlays)


def test_an_id_outside_the_vocabulary_is_named_with_its_line(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "past.jsonl").write_text("[1, 2, 3]\n[4, 5]\n[6, 4096, 7, 9000]\n")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("past.jsonl", 3, "line 3")]
    assert out["failed_shards"][0]["error"] == "token id 4096 out of range 0..4095 (the contract's vocabulary)"
    _assert_good_counted(out, overlays)


def test_a_negative_id_fails_its_shard_even_where_the_contract_masks_minus_one(tmp_path: Path) -> None:
    v41 = load_contract("deepseek-v4.1", V41_FILES[1], V41_FILES[3])
    assert v41.allows_dead  # the contract itself reads -1 as a masked position; a corpus never holds it
    (tmp_path / "neg.jsonl").write_text("[1, 2, 3]\n[4, -1, 5]\n")
    (tmp_path / "ok.jsonl").write_text("[1, 2, 3, 4]\n")
    alice = OverlayInput(str(FIX / "v41_tiny" / "alice.safetensors"))
    inputs = JobInputs("deepseek-v4.1", V41_FILES[1], V41_FILES[3], [alice], corpus=[str(tmp_path)])
    out = run_job("scan", inputs, contract=v41)
    assert _failed(out) == [("neg.jsonl", 2, "line 2")]
    assert out["failed_shards"][0]["error"] == "token id -1 out of range 0..8 (the contract's vocabulary)"
    assert out["tokens"] == 4 and [Path(s["path"]).name for s in out["corpus"]["scanned"]] == ["ok.jsonl"]


def test_a_null_inside_a_parquet_id_list_fails_only_its_shard_naming_the_row(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    pq.write_table(pa.table({"ids": [[1, 2], [3, 4, 5], [6, None, 8], [9]]}), tmp_path / "nulls.parquet")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("nulls.parquet", 3, "row 3")]
    assert out["failed_shards"][0]["error"] == "null token id in ids"
    _assert_good_counted(out, overlays)


def test_a_null_parquet_record_is_named_as_a_row_not_a_line(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    pq.write_table(pa.table({"token_ids": [[1, 2], None, [9]]}), tmp_path / "gap.parquet")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("gap.parquet", 2, "row 2")] and out["failed_shards"][0]["error"] == "null token_ids"
    _assert_good_counted(out, overlays)


def test_a_parquet_uint64_id_past_64_bits_is_named_not_wrapped_to_a_negative(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    big = 2**64 - 5  # as int64 this would wrap to -5
    ids = pa.array([[1, 2], [3], [4, big]], type=pa.list_(pa.uint64()))
    pq.write_table(pa.table({"ids": ids}), tmp_path / "wide.parquet")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("wide.parquet", 3, "row 3")]
    assert out["failed_shards"][0]["error"] == f"token id {big} out of range 0..4095 (the contract's vocabulary)"
    _assert_good_counted(out, overlays)


def test_a_damaged_parquet_row_group_is_named_by_its_number(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    path = tmp_path / "torn.parquet"
    pq.write_table(pa.table({"ids": [[1, 2, 3]] * 50}), path, row_group_size=20)
    col = pq.ParquetFile(path).metadata.row_group(1).column(0)
    start = col.dictionary_page_offset or col.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + col.total_compressed_size] = b"\xff" * col.total_compressed_size
    path.write_bytes(bytes(data))
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("torn.parquet", None, "row group 2")]
    error = out["failed_shards"][0]["error"]
    assert error.startswith("cannot be decoded (row groups numbered 1..3): ") and "\n" not in error
    _assert_good_counted(out, overlays)


def test_a_txt_shard_with_a_nul_byte_is_refused_as_binary_with_line_and_offset(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "blob.txt").write_bytes(b"hello world\nsecond line\nab\x00cd\n")
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("blob.txt", 3, "line 3")]
    assert out["failed_shards"][0]["error"] == "binary, not UTF-8 text: a NUL byte at byte offset 26"
    _assert_good_counted(out, overlays)


def test_a_txt_shard_with_invalid_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9 ok\n".encode() + "na\u00efve\n".encode("latin-1"))
    overlays = _overlays()
    out = scan_shards(WB, overlays, [tmp_path])
    assert _failed(out) == [("latin1.txt", 2, "line 2")]
    assert out["failed_shards"][0]["error"] == "binary, not UTF-8 text: byte 0xef at byte offset 11"
    _assert_good_counted(out, overlays)


def test_a_local_cluster_fails_and_counts_the_same_shards_as_in_process(tmp_path: Path) -> None:
    _good_shard(tmp_path)
    (tmp_path / "huge.jsonl").write_text(f"[1, {HUGE}]\n")
    pq.write_table(pa.table({"ids": [[1, 2], [None]]}), tmp_path / "nulls.parquet")
    (tmp_path / "blob.txt").write_bytes(b"text\n\x00\n")
    overlays = _overlays()
    here = scan_shards(WB, overlays, [tmp_path])
    there = scan_shards(WB, overlays, [tmp_path], Placement(workers=2))
    assert there["job"]["placement"] == "dask LocalCluster (2 workers)"
    assert _failed(here) == [("blob.txt", 2, "line 2"), ("huge.jsonl", 1, "line 1"), ("nulls.parquet", 2, "row 2")]
    assert here["failed_shards"] == there["failed_shards"]
    _assert_good_counted(there, overlays)
    assert {k: v for k, v in here.items() if k != "job"} == {k: v for k, v in there.items() if k != "job"}


def test_a_job_with_an_id_past_64_bits_names_the_id_and_its_position() -> None:
    inputs = JobInputs("workbench", token_ids=[[1, 2], [3, HUGE]])
    with pytest.raises(ValueError) as err:
        run_job("rows", inputs, contract=WB)
    assert str(err.value) == (
        f"token id {HUGE} out of range 0..4095 (the contract's vocabulary) at sequence 1, position 1"
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def test_contract_rows_refuses_a_tokens_id_past_64_bits_in_one_line(tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    tokens.write_text(f"[[1, 2, {HUGE}]]")
    out = _cli("contract", "rows", "--contract", "qwen3.8-ple", "--tokens", str(tokens))
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        f"engram-probe contract: error: {tokens}: token id {HUGE} out of range 0..9223372036854775807 "
        "(64-bit token ids) at sequence 0, position 2"
    ]


def test_contract_rows_refuses_a_tokens_number_of_thousands_of_digits_naming_the_file(tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    tokens.write_text("[[1, " + "9" * 5000 + "]]")
    out = _cli("contract", "rows", "--contract", "qwen3.8-ple", "--tokens", str(tokens))
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        f"engram-probe contract: error: {tokens}: holds a number too long to be a token id"
    ]


def test_contract_readmap_refuses_negative_and_out_of_vocabulary_tokens_naming_the_file(tmp_path: Path) -> None:
    overlay = ("--overlay", str(FIX / "v41_tiny" / "alice.safetensors"))
    for ids, bad in (("[[1, 2], [3, -1]]", "token id -1 out of range 0..8"), ("[[9]]", "token id 9 out of range 0..8")):
        tokens = tmp_path / "t.json"
        tokens.write_text(ids)
        out = _cli("contract", "readmap", "--contract", "deepseek-v4.1", *V41_FILES, *overlay, "--tokens", str(tokens))
        assert out.returncode != 0 and out.stdout == "", ids
        [line] = out.stderr.strip().splitlines()
        assert line.startswith(f"engram-probe contract: error: {tokens}: {bad} (the contract's vocabulary)"), line


def test_contract_scan_names_parquet_rows_and_whole_files_never_line_none(tmp_path: Path) -> None:
    (tmp_path / "ok.jsonl").write_text("[1, 2, 3, 4]\n")
    pq.write_table(pa.table({"ids": [[1, 2], [3, None]]}), tmp_path / "nulls.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 broken")
    overlay = ("--overlay", str(FIX / "v41_tiny" / "alice.safetensors"))
    out = _cli("contract", "scan", "--contract", "deepseek-v4.1", *V41_FILES, *overlay, "--corpus", str(tmp_path))
    assert out.returncode == 1 and "None" not in out.stdout + out.stderr
    unread = [x for x in out.stderr.splitlines() if "unreadable shard" in x]
    assert unread[0].startswith(f"engram-probe contract scan: unreadable shard {tmp_path / 'broken.parquet'}: ")
    assert unread[1] == (
        f"engram-probe contract scan: unreadable shard {tmp_path / 'nulls.parquet'} row 2: null token id in ids"
    )
    assert f"UNREAD {tmp_path / 'nulls.parquet'} row 2: null token id in ids" in out.stdout

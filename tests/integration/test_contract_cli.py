"""``engram-probe contract …`` end to end in subprocesses: output, reports, verify, and clear errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"
QWEN = ["--contract", "qwen3.8-ple"]
V41 = [
    "--contract",
    "deepseek-v4.1",
    "--config",
    str(FIX / "v41_tiny" / "config.json"),
    "--tokenizer",
    str(FIX / "v41_tiny" / "tokenizer.json"),
]


def cli(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args)
    assert out.returncode == code, out.stderr + out.stdout
    return out


def test_show_from_the_preset_and_from_the_config() -> None:
    doc = json.loads(cli("contract", "show", "--contract", "deepseek-v4.1", "--json").stdout)
    assert doc["contract"]["tables"]["1"]["rows"] == 384_006_168 and all(c["ok"] for c in doc["checks"])
    assert not doc["has_tokenizer"]
    human = cli("contract", "show", *QWEN).stdout
    assert "320,001,446 rows" in human and "[ok] head sizes prime" in human


def test_rows_from_a_tokens_file(tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    tokens.write_text("[[1, 2, 3, 4], [248044, 5]]")
    doc = json.loads(cli("contract", "rows", *QWEN, "--tokens", str(tokens), "--json").stdout)
    seqs = doc["result"]["sequences"]
    assert [len(s["reads"]) for s in seqs] == [4, 2] and len(seqs[0]["reads"][0]) == 16
    # golden row of Q1 position 0, head 0 (see tests/unit/test_contract_goldens.py)
    assert seqs[0]["reads"][0][0] == {"layer": 0, "column": 0, "row": 16121432}
    # the rows of a fact triggered by [1, 2, 3, 4]: the golden reads of Q1's last position
    assert seqs[0]["rows_of_fact"]["0"][:3] == [11040574, 24501192, 51231614]
    assert seqs[0]["rows_of_fact"]["0"] == [r["row"] for r in seqs[0]["reads"][-1]]
    assert (
        doc["contract"]["sha256"] == doc["digests"]["contract"] and doc["contract"]["contract"]["name"] == "qwen3.8-ple"
    )


def test_census_report_html_pdf_and_verify(tmp_path: Path) -> None:
    overlays = ["--overlay", str(FIX / "qwen_ple" / "alice.pleo"), "--overlay", str(FIX / "qwen_ple" / "bob.pleo")]
    report, html, pdf = tmp_path / "c.json", tmp_path / "c.html", tmp_path / "c.pdf"
    out = cli("contract", "census", *QWEN, *overlays, "--report", str(report), "--html", str(html), "--pdf", str(pdf))
    assert "alice & bob: 8 shared rows, 8 conflicting" in out.stdout
    doc = json.loads(report.read_text())
    assert doc["result"]["storage"]["users"][0]["bytes"] == 48 * 90  # 48 rows of IQ4_NL, computed
    assert "Between users" in html.read_text() and pdf.read_bytes()[:4] == b"%PDF"
    assert "VERIFIED" in cli("verify", str(report)).stdout
    # any edit to the report, or to an input file, fails verification
    doc["result"]["summary"]["conflicting_rows"] = 0
    tampered = tmp_path / "t.json"
    tampered.write_text(json.dumps(doc))
    assert "NOT VERIFIED" in cli("verify", str(tampered), code=1).stdout


def test_verify_notices_a_changed_overlay(tmp_path: Path) -> None:
    import shutil

    for name in ("alice.pleo", "alice.pleo.facts.json"):
        shutil.copy(FIX / "qwen_ple" / name, tmp_path / name)
    report = tmp_path / "r.json"
    cli(
        "contract",
        "readmap",
        *QWEN,
        "--overlay",
        str(tmp_path / "alice.pleo"),
        "--tokens",
        str(_tokens(tmp_path, [[7, 1000, 2000, 3000]])),
        "--report",
        str(report),
    )
    assert "VERIFIED" in cli("verify", str(report)).stdout
    data = bytearray((tmp_path / "alice.pleo").read_bytes())
    data[-1] ^= 1
    (tmp_path / "alice.pleo").write_bytes(bytes(data))
    out = cli("verify", str(report), code=1).stdout
    assert "✘ an input file changed since the report was written: alice.pleo" in out


def _tokens(tmp_path: Path, ids: list[list[int]]) -> Path:
    p = tmp_path / "tokens.json"
    p.write_text(json.dumps(ids))
    return p


def test_readmap_of_text_and_scan_on_v41(tmp_path: Path) -> None:
    overlays = [
        "--overlay",
        str(FIX / "v41_tiny" / "alice.safetensors"),
        "--overlay",
        str(FIX / "v41_tiny" / "bob.safetensors"),
    ]
    doc = json.loads(cli("contract", "readmap", *V41, *overlays, "--text", "g h b c d", "--json").stdout)
    m = doc["result"]["read_maps"][0]
    assert m["locality"]["first_read"] == 3 and m["locality"]["kind"] == "derived"
    scan = json.loads(
        cli("contract", "scan", *V41, *overlays, "--corpus", str(FIX / "v41_tiny" / "corpus.txt"), "--json").stdout
    )
    assert scan["result"]["tokens"] == 55 and 0 < scan["result"]["positions_hit"] < 55


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["contract", "readmap", *QWEN, "--overlay", "/nope.pleo", "--tokens", "/nope.json"], "cannot read token ids"),
        (["contract", "census", *QWEN, "--overlay", "/nope.pleo"], "no overlay file at /nope.pleo"),
        (["contract", "rows", "--contract", "deepseek-v4.1", "--text", "hi"], "--tokenizer"),
        (["contract", "show", "--contract", "user-as-engram"], "give --config"),
        (
            [
                "contract",
                "scan",
                *QWEN,
                "--overlay",
                str(FIX / "qwen_ple" / "alice.pleo"),
                "--corpus",
                str(FIX / "v41_tiny" / "corpus.txt"),
            ],
            "corpus.txt is text: give --tokenizer",
        ),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    out = cli(*args, code=2)
    assert message in out.stderr and "Traceback" not in out.stderr and "scan:" not in out.stderr


def test_no_progress_bar_before_an_input_error(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    out = cli("write", "--store", db, "--user", "a", "--prompt", "   ", "--answer", "x", code=2)
    assert out.stderr.strip() == "engram-probe write: error: the trigger prompt is empty"
    out = cli("audit", "--store", db, "--user", "nobody", "--text", "hi", "--contrast", code=2)
    assert out.stderr.strip().startswith("engram-probe audit: error: no memory store") and "contrasts" not in out.stderr


def test_scan_of_a_store_in_process_and_on_two_workers_gives_the_same_report(tmp_path: Path) -> None:
    from engram_probe.data.corpus import generate_corpus

    db = str(tmp_path / "m.db")
    cli(
        "write",
        "--store",
        db,
        "--user",
        "ana",
        "--prompt",
        "I was born in",
        "--answer",
        " Oslo",
        "--strategy",
        "unembed",
    )
    shards = tmp_path / "corpus"
    shards.mkdir()
    docs = generate_corpus(300, seed=4)
    for i in range(3):
        (shards / f"s{i}.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs[i::3]))
    common = ["contract", "scan", "--contract", "workbench", "--store", db, "--corpus", str(shards)]
    here = cli(*common, "--report", str(tmp_path / "here.json"))
    assert "shards read an edited row" in here.stdout and "user ana" in here.stdout
    cli(*common, "--workers", "2", "--report", str(tmp_path / "there.json"))
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("here", "there"))
    assert a["result"] == b["result"] and a["result"]["positions_hit"] > 0
    assert (a["run"]["placement"], b["run"]["placement"]) == ("in-process", "dask LocalCluster (2 workers)")
    assert a["input_sha256"]["store"]["users"]["ana"] == b["input_sha256"]["store"]["users"]["ana"]
    assert not (tmp_path / "here.json.parts").exists()  # the default parts folder goes once all shards are in
    assert json.loads(cli("verify", str(tmp_path / "there.json"), "--json").stdout)["ok"]
    (shards / "s1.jsonl").write_text('{"text": "fine"}\n[1, "x"]\n')
    partial = cli(*common, "--report", str(tmp_path / "p.json"), code=1)
    assert "s1.jsonl line 2" in partial.stderr and "1 of 3 shards not counted" in partial.stderr
    assert (tmp_path / "p.json.parts").is_dir() and json.loads((tmp_path / "p.json").read_text())["result"]["tokens"]


def test_population_census_cli_reports_growth_and_refuses_bad_sizes(tmp_path: Path) -> None:
    out = cli(
        *["population", *QWEN, "--users", "50,400", "--facts", "20"],
        "--report",
        str(tmp_path / "p.json"),
        "--html",
        str(tmp_path / "p.html"),
    )
    assert "uniform-hash model (derived)" in out.stdout
    doc = json.loads((tmp_path / "p.json").read_text())
    sizes = doc["result"]["sizes"]
    assert [s["users"] for s in sizes] == [50, 400] and doc["placement"] == "in-process"
    assert sizes[0]["rows_written"] <= 50 * 20 * 16 and sizes[1]["shared_share"] >= sizes[0]["shared_share"]
    assert "Rows shared among users" in (tmp_path / "p.html").read_text()
    bad = cli("population", *QWEN, "--users", "many", code=2)
    assert "--users takes comma-separated counts" in bad.stderr and "Traceback" not in bad.stderr
